// Check and timing program for native/media (decoding, faces, crop), run outside
// the addon. Builds with native/tests/media/CMakeLists.txt.
//
//   ops_main [--shared DIR] [--quick] [--parity-dir DIR]
//   ops_main --dump-indices FILE | --probe FILE... | --seek-bench VIDEO...
//
// --shared      the team's shared folder ($LAA_SHARED_DIR, else /work/shared)
// --quick       skip the detection-rate sweep over all clips
// --parity-dir  also write frames, face boxes and our crops/tensors there, then
//               run `python3 official_preprocess_check.py DIR` (python3-opencv)
//               to compare them with the official preprocessing
// --dump-indices  write sample_indices for many (N, n) to FILE
// --probe       probe each file and read 32 sampled frames
// --seek-bench  time reading 32 frames with seeking forced at several gaps
//
// Ends with "N passed, N failed"; exit status 1 when anything failed.
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>
#include <torch/torch.h>

#include "core/errors.h"
#include "media/crop.h"
#include "media/faces.h"
#include "media/media.h"

using namespace laa::ops;
using Clock = std::chrono::steady_clock;

namespace {

int g_passed = 0, g_failed = 0;

void check(bool ok, const std::string& what) {
  (ok ? g_passed : g_failed)++;
  std::printf("  [%s] %s\n", ok ? "ok" : "FAIL", what.c_str());
}

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

std::string join(const std::vector<int64_t>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
  return s;
}

std::vector<std::string> list_dir(const std::string& dir, const std::string& ext) {
  std::vector<std::string> out;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      std::string n = e->d_name;
      if (n.size() > ext.size() && n.compare(n.size() - ext.size(), ext.size(), ext) == 0) out.push_back(dir + "/" + n);
    }
    closedir(d);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string basename_of(const std::string& p) { return p.substr(p.find_last_of('/') + 1); }

// Runs f and returns the laa::Error code it throws ("" when it succeeds).
std::string error_code_of(const std::function<void()>& f, std::string* message = nullptr) {
  try {
    f();
    return "";
  } catch (const laa::Error& e) {
    if (message) *message = e.what();
    return e.code;
  } catch (const std::exception& e) {
    if (message) *message = e.what();
    return std::string("LEAKED:") + typeid(e).name();
  }
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

std::string read_prefix(const std::string& path, size_t n) {
  std::ifstream in(path, std::ios::binary);
  std::string s(n, '\0');
  in.read(&s[0], static_cast<std::streamsize>(n));
  s.resize(static_cast<size_t>(in.gcount()));
  return s;
}

// A valid 1-bit grayscale PNG of w×h black pixels: ~110 KB on disk for
// 30000×30000, but 2.7 GB once cv::imread expands it to BGR.
void write_bomb_png(const std::string& path, uint32_t w, uint32_t h) {
  auto be = [](uint32_t v) {
    std::string s(4, '\0');
    for (int i = 0; i < 4; ++i) s[i] = static_cast<char>((v >> (24 - 8 * i)) & 0xFF);
    return s;
  };
  auto chunk = [&](const std::string& type, const std::string& data) {
    std::string td = type + data;
    uLong crc = crc32(0, reinterpret_cast<const Bytef*>(td.data()), static_cast<uInt>(td.size()));
    return be(static_cast<uint32_t>(data.size())) + td + be(static_cast<uint32_t>(crc));
  };
  std::string ihdr = be(w) + be(h) + std::string("\x01\x00\x00\x00\x00", 5);  // 1-bit gray
  const size_t row = 1 + (w + 7) / 8;
  z_stream zs{};
  deflateInit(&zs, 9);
  std::vector<unsigned char> in(row * 256, 0), out(1 << 20);
  std::string idat;
  for (uint32_t y = 0; y < h; y += 256) {
    uint32_t rows = std::min<uint32_t>(256, h - y);
    zs.next_in = in.data();
    zs.avail_in = static_cast<uInt>(row * rows);
    int flush = y + rows >= h ? Z_FINISH : Z_NO_FLUSH;
    do {
      zs.next_out = out.data();
      zs.avail_out = static_cast<uInt>(out.size());
      deflate(&zs, flush);
      idat.append(reinterpret_cast<char*>(out.data()), out.size() - zs.avail_out);
    } while (zs.avail_out == 0);
  }
  deflateEnd(&zs);
  write_file(path, "\x89PNG\r\n\x1a\n" + chunk("IHDR", ihdr) + chunk("IDAT", idat) + chunk("IEND", ""));
}

std::string tensor_stats(const torch::Tensor& t) {
  char buf[200];
  std::snprintf(buf, sizeof buf, "shape [%lld,%lld,%lld] %s min %.4f max %.4f mean %.4f",
                (long long)t.size(0), (long long)t.size(1), (long long)t.size(2),
                std::string(c10::toString(t.scalar_type())).c_str(), t.min().item<double>(),
                t.max().item<double>(), t.mean().item<double>());
  return buf;
}

std::string box_str(const FaceBox& b) {
  char buf[120];
  std::snprintf(buf, sizeof buf, "[%d,%d,%d,%d] %dx%d score %.2f", b.left, b.top, b.right, b.bottom, b.width(),
                b.height(), b.score);
  return buf;
}

// Every frame of a clip, read plainly in order: the reference for the reader.
std::vector<cv::Mat> read_all_frames(const std::string& path) {
  std::vector<cv::Mat> frames;
  cv::VideoCapture cap(path, cv::CAP_FFMPEG);
  cv::Mat m;
  while (frames.size() < 100000 && cap.read(m)) frames.push_back(m.clone());
  return frames;
}

bool same(const cv::Mat& a, const cv::Mat& b) {
  return a.size() == b.size() && a.type() == b.type() && cv::norm(a, b, cv::NORM_INF) == 0;
}

// ---------------------------------------------------------------------------

void test_sample_indices() {
  std::puts("\n== sample_indices (np.linspace(0, N-1, n).astype(int64))");
  check(join(sample_indices(78, 32)) ==
            "0,2,4,7,9,12,14,17,19,22,24,27,29,32,34,37,39,42,44,47,49,52,54,57,59,62,64,67,69,72,74,77",
        "N=78 n=32 matches NumPy");
  check(join(sample_indices(33, 32)) ==
            "0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,32",
        "N=33 n=32 skips frame 31 like NumPy");
  auto big = sample_indices(1000001, 32);
  check(big.size() == 32 && big[1] == 32258 && big[16] == 516129 && big[31] == 1000000, "N=1000001 n=32");
  check(join(sample_indices(2, 32)) == "0,1", "N=2 n=32: every frame once");
  check(join(sample_indices(5, 1)) == "0", "n=1: frame 0");
  check(sample_indices(0, 32).empty() && sample_indices(10, 0).empty(), "N=0 or n=0: none");
  check(error_code_of([] { sample_indices(10, -1); }) == "EINVAL", "n<0: EINVAL");
}

void test_reader_correctness(const std::string& path, int64_t seek_threshold, bool force) {
  auto all = read_all_frames(path);
  VideoReader r(path);
  r.set_seek_threshold(seek_threshold, force);
  auto idx = sample_indices(r.info().frame_count, 32);
  auto frames = r.read(idx);
  bool ok = frames.size() == std::min<size_t>(idx.size(), all.size());
  for (auto& f : frames) ok = ok && f.index < (int64_t)all.size() && same(f.bgr, all[f.index]);
  const auto& s = r.stats();
  check(ok, basename_of(path) + " seek threshold " + std::to_string(seek_threshold) + ": " +
                std::to_string(frames.size()) + " frames identical to a sequential read (seeks " +
                std::to_string(s.seeks) + ", failed " + std::to_string(s.failed_seeks) + ", grabs " +
                std::to_string(s.grabs) + ", retrieves " + std::to_string(s.retrieves) + ")");
  // A second read going backwards must still return the right frames.
  auto again = r.read({5, 1});
  check(again.size() == 2 && same(again[0].bgr, all[1]) && same(again[1].bgr, all[5]),
        basename_of(path) + ": a later read going backwards");
}

struct Split {
  double decode = 0, detect = 0, crop = 0;
  int frames = 0, with_face = 0;
};

// decode + detect + crop + tensor for 32 sampled frames, the per-video work
// before the network.
Split run_clip(const std::string& path, int max_side, bool verbose, FaceDetector& det) {
  Split s;
  auto t0 = Clock::now();
  VideoReader r(path);
  auto idx = sample_indices(r.info().frame_count, 32);
  auto frames = r.read(idx);
  s.decode = ms_since(t0);
  s.frames = static_cast<int>(frames.size());
  for (auto& f : frames) {
    auto t1 = Clock::now();
    auto faces = det.detect(f.bgr, max_side);
    s.detect += ms_since(t1);
    if (verbose)
      std::printf("    frame %3lld t=%.2fs faces %zu%s%s\n", (long long)f.index, f.time_sec, faces.size(),
                  faces.empty() ? "" : " largest ", faces.empty() ? "" : box_str(faces[0]).c_str());
    if (faces.empty()) continue;
    ++s.with_face;
    auto t2 = Clock::now();
    cv::Mat crop = face_crop_256(f.bgr, expand_box(faces[0], f.bgr.cols, f.bgr.rows));
    torch::Tensor x = to_network_input(crop);
    s.crop += ms_since(t2);
    if (verbose && f.index == frames.front().index) std::printf("    input: %s\n", tensor_stats(x).c_str());
  }
  return s;
}

void test_video(const std::string& shared) {
  const std::string d0 = shared + "/data/videos/real-talking-heads/liveportrait_driving_d0.mp4";
  std::puts("\n== video: liveportrait_driving_d0.mp4");
  MediaInfo info = probe(d0);
  std::printf("  probe: video=%d frames=%lld fps=%.3f duration=%.3fs %dx%d codec=%s\n", info.is_video,
              (long long)info.frame_count, info.fps, info.duration_sec, info.width, info.height, info.codec.c_str());
  check(info.is_video && info.frame_count == 78 && info.width == 512 && info.height == 512, "probe d0");
  auto idx = sample_indices(info.frame_count, 32);
  std::printf("  indices: %s\n", join(idx).c_str());
  FaceDetector det;
  Split s = run_clip(d0, 640, true, det);
  std::printf("  32 frames of 512x512: decode %.1f ms, detect %.1f ms (%.1f/frame), crop+tensor %.1f ms; faces in %d/%d\n",
              s.decode, s.detect, s.detect / std::max(1, s.frames), s.crop, s.with_face, s.frames);
  check(s.frames == 32 && s.with_face == 32, "d0: 32 frames, a face in each");

  std::puts("\n== reader: sampled frames equal a plain sequential read");
  for (const char* clip : {"liveportrait_driving_d0.mp4", "liveportrait_driving_d13.mp4", "liveportrait_driving_d6.mp4"}) {
    std::string p = shared + "/data/videos/real-talking-heads/" + clip;
    test_reader_correctness(p, 48, false);
    test_reader_correctness(p, 4, true);  // a seek before nearly every frame
  }
}

void test_timing_720p(const std::string& shared) {
  const std::string clip = shared + "/data/videos/real-talking-heads/liveportrait_driving_d13.mp4";
  std::puts("\n== timing: 32 frames of liveportrait_driving_d13.mp4 (720x1280, 352 frames)");
  FaceDetector det;
  run_clip(clip, 640, false, det);  // warm-up (page cache, codec init)
  for (int side : {320, 480, 640}) {
    Split best;
    for (int rep = 0; rep < 3; ++rep) {
      Split s = run_clip(clip, side, false, det);
      if (rep == 0 || s.decode + s.detect + s.crop < best.decode + best.detect + best.crop) best = s;
    }
    std::printf("  max_side %3d: decode %6.1f ms, detect %6.1f ms (%5.1f/frame), crop+tensor %5.1f ms, total %6.1f ms; faces %d/%d\n",
                side, best.decode, best.detect, best.detect / std::max(1, best.frames), best.crop,
                best.decode + best.detect + best.crop, best.with_face, best.frames);
    if (side == 640)
      std::printf("  (goal: under 2-3 s for 32 frames of 720p; %s)\n",
                  best.decode + best.detect + best.crop < 3000 ? "met" : "NOT met on this run");
  }
}

void test_detection_rates(const std::string& shared) {
  std::puts("\n== detection rate over 32 sampled frames per clip (frames with >= 1 face)");
  std::vector<std::string> clips = list_dir(shared + "/data/videos/real-talking-heads", ".mp4");
  for (auto& c : list_dir(shared + "/data/dev-eval/real", ".mp4")) clips.push_back(c);
  for (auto& c : list_dir(shared + "/data/dev-eval/fake", ".mp4")) clips.push_back(c);
  FaceDetector det;
  std::map<int, std::pair<int, int>> total;  // side -> (with face, frames)
  std::map<int, double> detect_ms;
  std::printf("  %-40s %9s %9s %9s %9s\n", "clip", "size", "320", "480", "640");
  for (auto& clip : clips) {
    VideoReader r(clip);
    auto frames = r.read(sample_indices(r.info().frame_count, 32));
    std::printf("  %-40s %4dx%-4d", basename_of(clip).c_str(), r.info().width, r.info().height);
    for (int side : {320, 480, 640}) {
      int hit = 0;
      auto t0 = Clock::now();
      for (auto& f : frames) hit += !det.detect(f.bgr, side).empty();
      detect_ms[side] += ms_since(t0);
      total[side].first += hit;
      total[side].second += static_cast<int>(frames.size());
      std::printf(" %4d/%-4zu", hit, frames.size());
    }
    std::puts("");
  }
  for (int side : {320, 480, 640})
    std::printf("  max_side %d: %d/%d frames with a face (%.1f%%), %.1f ms per frame\n", side, total[side].first,
                total[side].second, 100.0 * total[side].first / std::max(1, total[side].second),
                detect_ms[side] / std::max(1, total[side].second));
}

void test_images(const std::string& shared) {
  std::puts("\n== images");
  FaceDetector det;
  LandmarkPredictor lm;
  for (auto& path : list_dir(shared + "/data/images", ".jpg")) {
    MediaInfo info = probe(path);
    auto t0 = Clock::now();
    cv::Mat img = read_image(path, kDefaultMaxImagePixels);
    double t_read = ms_since(t0);
    std::printf("  %s: probe %dx%d %s; decoded %dx%d in %.1f ms\n", basename_of(path).c_str(), info.width,
                info.height, info.codec.c_str(), img.cols, img.rows, t_read);
    check(!info.is_video && info.width == img.cols && info.height == img.rows, basename_of(path) + ": probe size = decoded size");
    for (int side : {640, 1280}) {
      auto t1 = Clock::now();
      auto faces = det.detect(img, side);
      double t_det = ms_since(t1);
      std::printf("    max_side %4d: %zu face(s) in %.1f ms", side, faces.size(), t_det);
      for (auto& f : faces) std::printf("  %s", box_str(f).c_str());
      std::puts("");
      if (basename_of(path) == "obama-biden-two-faces.jpg" && side == 640) check(faces.size() == 2, "two-faces image: 2 faces");
      if (side == 640 && !faces.empty()) {
        auto t2 = Clock::now();
        auto pts = lm.predict(img, faces[0]);
        double t_lm = ms_since(t2);
        bool inside = std::all_of(pts.begin(), pts.end(), [&](const cv::Point2f& p) {
          const FaceBox& b = faces[0];
          return p.x > b.left - b.width() / 2 && p.x < b.right + b.width() / 2 && p.y > b.top - b.height() / 2 &&
                 p.y < b.bottom + b.height() / 2;
        });
        check(pts.size() == 68 && inside, basename_of(path) + ": 68 landmarks around the face (" +
                                              std::to_string(t_lm).substr(0, 4) + " ms)");
        cv::Mat crop = face_crop_256(img, expand_box(faces[0], img.cols, img.rows));
        torch::Tensor x = to_network_input(crop);
        std::printf("    input: %s\n", tensor_stats(x).c_str());
      }
    }
  }
}

void test_crop_math() {
  std::puts("\n== crop arithmetic");
  // Box 101 wide: pad int(25.25) = 25; clamped on the left at 0.
  FaceBox b{10, 20, 111, 141, 1.0};
  cv::Rect r = expand_box(b, 200, 150);
  check(r == cv::Rect(0, 0, 136, 150), "expand_box: int() padding and clamping");
  check(expand_box(FaceBox{-50, -50, -10, -10, 0}, 100, 100).empty(), "expand_box: box outside the frame -> empty");
  check(error_code_of([] { face_crop_256(cv::Mat(10, 10, CV_8UC3), cv::Rect()); }) == "EINVAL", "face_crop_256: empty box -> EINVAL");

  // The matrix maps pixel 0 -> 0 and S-1 -> D-1 on the longer side, centres the other.
  cv::Mat m = align_corners_matrix(246, 246, 384);
  double a = 383.0 / 245.0;
  check(m.type() == CV_64F && std::abs(m.at<double>(0, 0) - a) < 1e-12 && std::abs(m.at<double>(0, 2)) < 1e-9 &&
            std::abs(m.at<double>(1, 1) - a) < 1e-12 && std::abs(m.at<double>(0, 1)) < 1e-15,
        "align_corners_matrix(246, 246, 384) = diag(383/245), no shift");
  cv::Mat m2 = align_corners_matrix(200, 100, 96);
  double s2 = 95.0 / 199.0;
  check(std::abs(m2.at<double>(1, 2) - (47.5 - 49.5 * s2)) < 1e-9, "align_corners_matrix: the short side is centred");

  // A constant crop gives a constant input; RGB order; exact normalisation.
  cv::Mat crop(256, 256, CV_8UC3, cv::Scalar(0, 128, 255));  // B=0 G=128 R=255
  torch::Tensor x = to_network_input(crop);
  check(x.sizes() == torch::IntArrayRef({3, 384, 384}) && x.dtype() == torch::kFloat32, "to_network_input shape/dtype");
  check(x[0].eq(1.0f).all().item<bool>() && x[2].eq(-1.0f).all().item<bool>() &&
            x[1].eq(static_cast<float>((128 / 255.0 - 0.5) / 0.5)).all().item<bool>(),
        "to_network_input: RGB, (x/255-0.5)/0.5, no black border for a square crop");
  torch::Tensor x64 = to_network_input(crop, torch::kFloat64);
  check(x64.dtype() == torch::kFloat64 && x64[1][7][9].item<double>() == (128 / 255.0 - 0.5) / 0.5, "float64 input");

  cv::Mat overlay = overlay_heatmap(cv::Mat(384, 384, CV_8UC3, cv::Scalar(0, 0, 0)), torch::rand({1, 96, 96}));
  check(overlay.size() == cv::Size(384, 384) && overlay.type() == CV_8UC3, "overlay_heatmap");
  check(error_code_of([] { overlay_heatmap(cv::Mat(384, 384, CV_8UC3), torch::rand({2, 96, 96})); }) == "ESHAPE",
        "overlay_heatmap: two maps -> ESHAPE");
}

void test_image_formats() {
  std::puts("\n== image formats (header dims = decoded dims)");
  const std::string dir = "/tmp/laa_ops_formats";
  std::system(("rm -rf " + dir + " && mkdir -p " + dir).c_str());
  cv::Mat img(30, 50, CV_8UC3);
  cv::randu(img, 0, 256);
  for (const char* ext : {"png", "jpg", "bmp", "webp", "tiff", "ppm", "pgm", "ras"}) {
    std::string path = dir + "/a." + ext;
    bool written = false;
    try {
      written = cv::imwrite(path, std::string(ext) == "pgm" ? cv::Mat(30, 50, CV_8UC1, cv::Scalar(7)) : img);
    } catch (const cv::Exception&) {
    }
    if (!written) {
      std::printf("  (OpenCV cannot write .%s here)\n", ext);
      continue;
    }
    std::string msg;
    MediaInfo info;
    cv::Mat out;
    std::string code = error_code_of([&] {
      info = probe(path);
      out = read_image(path, kDefaultMaxImagePixels);
    }, &msg);
    check(code.empty() && !info.is_video && info.width == 50 && info.height == 30 && out.cols == 50 && out.rows == 30 &&
              out.type() == CV_8UC3,
          std::string(".") + ext + ": probe " + info.codec + " " + std::to_string(info.width) + "x" +
              std::to_string(info.height) + ", decoded " + std::to_string(out.cols) + "x" + std::to_string(out.rows) +
              (code.empty() ? "" : " " + code + " " + msg));
  }
  // A JPEG whose Exif orientation (6: rotate 90° clockwise) swaps the sides.
  std::vector<uchar> jpg;
  cv::imencode(".jpg", img, jpg);
  const std::string exif_tiff("II*\0\x08\0\0\0\x01\0\x12\x01\x03\0\x01\0\0\0\x06\0\0\0\0\0\0\0", 26);
  std::string app1 = "Exif" + std::string("\0\0", 2) + exif_tiff;
  std::string seg = std::string("\xFF\xE1") + char((app1.size() + 2) >> 8) + char((app1.size() + 2) & 0xFF) + app1;
  std::string bytes(jpg.begin(), jpg.end());
  write_file(dir + "/rotated.jpg", bytes.substr(0, 2) + seg + bytes.substr(2));
  MediaInfo info = probe(dir + "/rotated.jpg");
  cv::Mat out = read_image(dir + "/rotated.jpg", kDefaultMaxImagePixels);
  check(info.width == 30 && info.height == 50 && out.cols == 30 && out.rows == 50,
        "JPEG with Exif orientation 6: probe " + std::to_string(info.width) + "x" + std::to_string(info.height) +
            ", decoded " + std::to_string(out.cols) + "x" + std::to_string(out.rows));
}

// Damaged copies of valid files: every outcome must be a decoded image or a
// laa::Error (run under -DLAA_SANITIZE=ON to check the header parsers too).
void test_fuzz() {
  std::puts("\n== fuzz: mutated and truncated images and videos");
  const std::string dir = "/tmp/laa_ops_fuzz";
  std::system(("rm -rf " + dir + " && mkdir -p " + dir).c_str());
  cv::Mat img(24, 40, CV_8UC3);
  cv::randu(img, 0, 256);
  std::vector<std::string> seeds;
  for (const char* ext : {".png", ".jpg", ".bmp", ".webp", ".tiff", ".ppm"}) {
    std::vector<uchar> buf;
    try {
      if (cv::imencode(ext, img, buf)) seeds.emplace_back(buf.begin(), buf.end());
    } catch (const cv::Exception&) {
    }
  }
  seeds.push_back(read_prefix("/tmp/laa_ops_bad/faststart.mp4", 1 << 16));
  cv::RNG rng(20261125);
  int runs = 0, decoded = 0, leaked = 0;
  std::map<std::string, int> codes;
  for (size_t k = 0; k < seeds.size(); ++k) {
    for (int it = 0; it < 60; ++it) {
      std::string b = seeds[k];
      if (b.empty()) continue;
      if (it % 3 == 0) b.resize(static_cast<size_t>(rng.uniform(0, static_cast<int>(b.size()))));
      int flips = rng.uniform(1, 8);
      for (int f = 0; f < flips && !b.empty(); ++f) {
        // Bias towards the header, where the parsers look.
        int limit = std::min<int>(static_cast<int>(b.size()), rng.uniform(0, 2) ? 64 : static_cast<int>(b.size()));
        b[static_cast<size_t>(rng.uniform(0, limit))] = static_cast<char>(rng.uniform(0, 256));
      }
      std::string path = dir + "/f" + std::to_string(k) + "_" + std::to_string(it);
      write_file(path, b);
      const bool video = k + 1 == seeds.size();
      std::string code = error_code_of([&] {
        MediaInfo info = probe(path);
        if (video) {
          VideoReader r(path);
          r.read(sample_indices(info.frame_count, 32));
        } else if (read_image(path, 1 << 22).empty()) {
          throw std::runtime_error("empty Mat without error");
        }
      });
      ++runs;
      if (code.empty()) ++decoded;
      if (code.rfind("LEAKED", 0) == 0) ++leaked;
      codes[code.empty() ? "decoded" : code]++;
    }
  }
  std::string summary;
  for (auto& [c, n] : codes) summary += " " + c + ":" + std::to_string(n);
  check(leaked == 0, std::to_string(runs) + " damaged files, only laa::Error escapes (" + summary + " )");
}

void test_bad_inputs(const std::string& shared) {
  std::puts("\n== bad inputs");
  const std::string dir = "/tmp/laa_ops_bad";
  std::system(("rm -rf " + dir + " && mkdir -p " + dir + "/a_directory.mp4").c_str());
  const std::string d0 = shared + "/data/videos/real-talking-heads/liveportrait_driving_d0.mp4";
  const std::string d0_bytes = read_prefix(d0, 1 << 26);

  write_file(dir + "/x.mp4", "this is not a video, just some text\n");
  write_file(dir + "/truncated_10k.mp4", d0_bytes.substr(0, 10240));
  write_file(dir + "/empty.mp4", "");
  write_file(dir + "/empty.jpg", "");
  write_file(dir + "/text.jpg", "hello\n");
  write_file(dir + "/random.mp4", std::string(4096, '\x5a'));
  cv::imwrite(dir + "/one_pixel.png", cv::Mat(1, 1, CV_8UC3, cv::Scalar(1, 2, 3)));
  {
    cv::Mat gray_alpha(64, 48, CV_8UC4, cv::Scalar(10, 20, 30, 0));
    cv::imwrite(dir + "/bgra.png", gray_alpha);
    cv::imwrite(dir + "/gray16.png", cv::Mat(32, 32, CV_16UC1, cv::Scalar(65535)));
  }
  write_bomb_png(dir + "/bomb_30000.png", 30000, 30000);
  {
    std::string png = read_prefix(dir + "/one_pixel.png", 1 << 20);
    write_file(dir + "/png_cut.png", png.substr(0, png.size() / 2));
    std::string jpg = read_prefix(shared + "/data/images/obama-720p.jpg", 1 << 24);
    write_file(dir + "/jpeg_cut_half.jpg", jpg.substr(0, jpg.size() / 2));
    write_file(dir + "/jpeg_cut_header.jpg", jpg.substr(0, 300));
  }
  // A faststart MP4 (index first) cut in half: it opens, and its metadata
  // promises more frames than decode.
  std::system(("ffmpeg -v error -y -i " + d0 + " -c copy -movflags +faststart " + dir + "/faststart.mp4").c_str());
  {
    std::string fs = read_prefix(dir + "/faststart.mp4", 1 << 26);
    write_file(dir + "/faststart_half.mp4", fs.substr(0, fs.size() / 2));
  }
  mkfifo((dir + "/fifo.mp4").c_str(), 0600);

  struct Case {
    std::string name, path, expect_probe;
  };
  std::vector<Case> cases = {
      {"nonexistent path", dir + "/nope.mp4", "ENOENT"},
      {"directory", dir + "/a_directory.mp4", "EINVAL"},
      {"FIFO (would block a reader)", dir + "/fifo.mp4", "EINVAL"},
      {"0-byte .mp4", dir + "/empty.mp4", "EUNSUPPORTED"},
      {"0-byte .jpg", dir + "/empty.jpg", "EUNSUPPORTED"},
      {"text file named x.mp4", dir + "/x.mp4", "EUNSUPPORTED"},
      {"text file named .jpg", dir + "/text.jpg", "EUNSUPPORTED"},
      {"4 KB of one byte as .mp4", dir + "/random.mp4", "EUNSUPPORTED"},
      {"first 10 KB of an MP4", dir + "/truncated_10k.mp4", "ECORRUPT"},
      {"faststart MP4 cut in half", dir + "/faststart_half.mp4", ""},
      {"1x1 PNG", dir + "/one_pixel.png", ""},
      {"BGRA PNG", dir + "/bgra.png", ""},
      {"16-bit gray PNG", dir + "/gray16.png", ""},
      {"30000x30000 PNG (110 KB)", dir + "/bomb_30000.png", ""},
      {"PNG cut in half", dir + "/png_cut.png", ""},
      {"JPEG cut in half", dir + "/jpeg_cut_half.jpg", ""},
      {"JPEG cut after 300 bytes", dir + "/jpeg_cut_header.jpg", "ECORRUPT"},
  };
  for (auto& c : cases) {
    std::string msg;
    auto t0 = Clock::now();
    std::string code = error_code_of([&] { probe(c.path); }, &msg);
    double t = ms_since(t0);
    std::printf("  %-28s probe: %-12s %6.1f ms  %s\n", c.name.c_str(), code.empty() ? "ok" : code.c_str(), t,
                msg.c_str());
    check(code == c.expect_probe, c.name + ": probe -> " + (c.expect_probe.empty() ? "ok" : c.expect_probe));
  }

  // Reading what probes fine.
  std::string msg;
  std::vector<Frame> frames;
  std::string code = error_code_of([&] {
    VideoReader r(dir + "/faststart_half.mp4");
    std::printf("  faststart_half: metadata says %lld frames\n", (long long)r.info().frame_count);
    frames = r.read(sample_indices(r.info().frame_count, 32));
    std::printf("  faststart_half: the stream ended after %lld frames\n", (long long)r.stats().frames_in_stream);
  }, &msg);
  std::printf("  faststart_half: read %zu of 32 sampled frames, last index %lld\n", frames.size(),
              frames.empty() ? -1LL : (long long)frames.back().index);
  check(code.empty() && !frames.empty() && frames.size() < 32, "faststart MP4 cut in half: fewer frames, no error");

  cv::Mat img;
  check(error_code_of([&] { img = read_image(dir + "/one_pixel.png", kDefaultMaxImagePixels); }).empty() &&
            img.size() == cv::Size(1, 1) && img.type() == CV_8UC3,
        "1x1 PNG decodes to 1x1 BGR");
  FaceDetector det;
  check(det.detect(img).empty(), "1x1 image: no face, no error");
  check(error_code_of([&] { img = read_image(dir + "/bgra.png", kDefaultMaxImagePixels); }).empty() &&
            img.type() == CV_8UC3 && img.at<cv::Vec3b>(0, 0) == cv::Vec3b(10, 20, 30),
        "BGRA PNG -> BGR, alpha dropped");
  check(error_code_of([&] { img = read_image(dir + "/gray16.png", kDefaultMaxImagePixels); }).empty() &&
            img.type() == CV_8UC3 && img.at<cv::Vec3b>(0, 0) == cv::Vec3b(255, 255, 255),
        "16-bit gray PNG -> 8-bit BGR");
  auto t0 = Clock::now();
  code = error_code_of([&] { read_image(dir + "/bomb_30000.png", kDefaultMaxImagePixels); }, &msg);
  check(code == "ETOOLARGE", "30000x30000 PNG: ETOOLARGE before decoding (" + std::to_string(ms_since(t0)).substr(0, 4) +
                                 " ms): " + msg);
  code = error_code_of([&] { read_image(dir + "/one_pixel.png", 0); });
  check(code == "EINVAL", "max_pixels 0: EINVAL");
  code = error_code_of([&] { read_image(dir + "/png_cut.png", kDefaultMaxImagePixels); }, &msg);
  check(code == "ECORRUPT", "PNG cut in half: ECORRUPT (" + msg + ")");
  code = error_code_of([&] { img = read_image(dir + "/jpeg_cut_half.jpg", kDefaultMaxImagePixels); }, &msg);
  std::printf("  JPEG cut in half: read_image -> %s (libjpeg fills the missing rows with grey)\n",
              code.empty() ? ("ok " + std::to_string(img.cols) + "x" + std::to_string(img.rows)).c_str() : code.c_str());
  code = error_code_of([&] { read_image(dir + "/x.mp4", kDefaultMaxImagePixels); });
  check(code == "EUNSUPPORTED", "read_image on a text file: EUNSUPPORTED");
  code = error_code_of([&] { read_image(d0, kDefaultMaxImagePixels); });
  check(code == "EUNSUPPORTED", "read_image on a video: EUNSUPPORTED");
  code = error_code_of([&] { VideoReader r(dir + "/x.mp4"); });
  check(code == "EUNSUPPORTED", "VideoReader on a text file: EUNSUPPORTED");

  // Landmark model errors.
  check(error_code_of([&] { LandmarkPredictor p(dir + "/nope.dat"); }) == "ENOENT", "landmark model missing: ENOENT");
  code = error_code_of([&] { LandmarkPredictor p(dir + "/x.mp4"); }, &msg);
  check(code == "ECORRUPT", "landmark model not a model: ECORRUPT (" + msg.substr(0, 90) + ")");
  write_file(dir + "/cut.dat", read_prefix(kDefaultLandmarkModel, 4096));
  check(error_code_of([&] { LandmarkPredictor p(dir + "/cut.dat"); }) == "ECORRUPT", "landmark model truncated: ECORRUPT");

  // Bad Mats.
  check(error_code_of([&] { det.detect(cv::Mat()); }) == "EINVAL", "detect on an empty Mat: EINVAL");
  check(error_code_of([&] { det.detect(cv::Mat(10, 10, CV_32FC3)); }) == "EINVAL", "detect on a float Mat: EINVAL");
  check(error_code_of([&] { to_network_input(cv::Mat(8, 8, CV_8UC3)); }) == "EINVAL", "to_network_input on 8x8: EINVAL");
}

// Writes a frame, the face box we pick and our intermediate results for
// official_preprocess_check.py.
void write_parity(const std::string& shared, const std::string& out_dir) {
  std::puts("\n== parity files");
  std::system(("mkdir -p " + out_dir).c_str());
  std::vector<std::pair<std::string, cv::Mat>> inputs;
  VideoReader r(shared + "/data/videos/real-talking-heads/liveportrait_driving_d13.mp4");
  auto frames = r.read({100});
  inputs.push_back({"d13_f100", frames.at(0).bgr});
  inputs.push_back({"two_faces", read_image(shared + "/data/images/obama-biden-two-faces.jpg")});
  inputs.push_back({"portrait", read_image(shared + "/data/images/biden-white-house.jpg")});
  FaceDetector det;
  std::ofstream list(out_dir + "/cases.txt");
  for (auto& [name, img] : inputs) {
    auto faces = det.detect(img, 640);
    if (faces.empty()) continue;
    for (size_t k = 0; k < faces.size(); ++k) {
      const FaceBox& b = faces[k];
      std::string id = name + "_" + std::to_string(k);
      cv::imwrite(out_dir + "/" + name + ".png", img);
      cv::Mat crop = face_crop_256(img, expand_box(b, img.cols, img.rows));
      cv::imwrite(out_dir + "/" + id + "_crop256.png", crop);
      torch::Tensor x = to_network_input(crop, torch::kFloat64);
      std::ofstream(out_dir + "/" + id + "_input_f64.bin", std::ios::binary)
          .write(reinterpret_cast<const char*>(x.data_ptr<double>()), x.numel() * sizeof(double));
      cv::imwrite(out_dir + "/" + id + "_overlay.png",
                  overlay_heatmap(affine_align_corners(crop(cv::Rect(5, 5, 246, 246)), 384), torch::rand({96, 96})));
      list << id << " " << name << ".png " << b.left << " " << b.top << " " << b.right << " " << b.bottom << "\n";
      std::printf("  %s: box %s\n", id.c_str(), box_str(b).c_str());
    }
  }
  // Letter-boxing: non-square inputs through the warp alone.
  for (auto sz : {cv::Size(200, 120), cv::Size(97, 301)}) {
    cv::Mat img(sz, CV_8UC3);
    cv::randu(img, 0, 256);
    std::string id = "warp_" + std::to_string(sz.width) + "x" + std::to_string(sz.height);
    cv::imwrite(out_dir + "/" + id + ".png", img);
    cv::imwrite(out_dir + "/" + id + "_warp384.png", affine_align_corners(img, 384));
    cv::imwrite(out_dir + "/" + id + "_warp96.png", affine_align_corners(img, 96));
  }
}

// Times reading 32 evenly spaced frames with different seek thresholds.
void seek_bench(const std::vector<std::string>& files) {
  for (auto& f : files) {
    std::printf("\n== seek bench: %s\n", f.c_str());
    for (int64_t th : {-1, 0, 16, 48, 125, 250}) {
      double best = 1e18;
      VideoReader::Stats st;
      size_t n = 0;
      for (int rep = 0; rep < 2; ++rep) {
        auto t0 = Clock::now();
        VideoReader r(f);
        if (th >= 0) r.set_seek_threshold(th, true);  // -1: the default, adaptive
        auto frames = r.read(sample_indices(r.info().frame_count, 32));
        double t = ms_since(t0);
        if (t < best) { best = t; st = r.stats(); n = frames.size(); }
      }
      std::printf("  %s %4lld: %7.1f ms, %zu frames, seeks %lld, grabs %lld\n", th < 0 ? "adaptive " : "forced at", (long long)th, best, n,
                  (long long)st.seeks, (long long)st.grabs);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string shared, parity_dir, dump;
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--shared" && i + 1 < argc) shared = argv[++i];
    else if (a == "--parity-dir" && i + 1 < argc) parity_dir = argv[++i];
    else if (a == "--dump-indices" && i + 1 < argc) dump = argv[++i];
    else if (a == "--quick") quick = true;
    else if (a == "--probe") {  // probe and read 32 frames of each file
      for (int k = i + 1; k < argc; ++k) {
        std::string msg;
        std::string code = error_code_of([&] {
          auto t0 = Clock::now();
          MediaInfo m = probe(argv[k]);
          std::printf("%s: video=%d frames=%lld fps=%.2f %dx%d codec=%s (%.1f ms)", argv[k], m.is_video,
                      (long long)m.frame_count, m.fps, m.width, m.height, m.codec.c_str(), ms_since(t0));
          if (m.is_video) {
            VideoReader r(argv[k]);
            auto fr = r.read(sample_indices(m.frame_count, 32));
            std::printf("; read %zu frames, last %lld at %.2fs, %dx%d", fr.size(), fr.empty() ? -1LL : (long long)fr.back().index,
                        fr.empty() ? 0.0 : fr.back().time_sec, fr.empty() ? 0 : fr[0].bgr.cols, fr.empty() ? 0 : fr[0].bgr.rows);
          }
          std::puts("");
        }, &msg);
        if (!code.empty()) std::printf("%s: %s %s\n", argv[k], code.c_str(), msg.c_str());
      }
      return 0;
    } else if (a == "--seek-bench") {
      seek_bench(std::vector<std::string>(argv + i + 1, argv + argc));
      return 0;
    }
    else {
      std::fprintf(stderr, "usage: %s [--shared DIR] [--quick] [--parity-dir DIR] [--dump-indices FILE]\n", argv[0]);
      return 2;
    }
  }
  if (!dump.empty()) {
    std::ofstream out(dump);
    for (int64_t n_frames = 0; n_frames <= 3000; ++n_frames)
      for (int n : {1, 2, 3, 8, 32, 128}) out << n_frames << " " << n << " " << join(sample_indices(n_frames, n)) << "\n";
    return 0;
  }
  if (shared.empty()) shared = std::getenv("LAA_SHARED_DIR") ? std::getenv("LAA_SHARED_DIR") : "/work/shared";
  std::printf("OpenCV %s, threads %d\n", CV_VERSION, cv::getNumThreads());
  try {
    test_sample_indices();
    test_crop_math();
    test_image_formats();
    test_bad_inputs(shared);
    test_fuzz();
    test_video(shared);
    test_images(shared);
    test_timing_720p(shared);
    if (!quick) test_detection_rates(shared);
    if (!parity_dir.empty()) write_parity(shared, parity_dir);
  } catch (const laa::Error& e) {
    std::printf("  [FAIL] uncaught laa::Error %s: %s\n", e.code.c_str(), e.what());
    ++g_failed;
  } catch (const std::exception& e) {
    std::printf("  [FAIL] uncaught %s\n", e.what());
    ++g_failed;
  }
  std::printf("\n%d passed, %d failed\n", g_passed, g_failed);
  return g_failed ? 1 : 0;
}

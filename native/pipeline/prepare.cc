#include "pipeline/prepare.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/errors.h"
#include "media/crop.h"
#include "core/guard.h"

namespace laa::ops {

namespace {

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

constexpr int kLeftInnerEye = 39, kRightInnerEye = 42;  // iBUG 68: inner corners of the eyes

// The detection box in the coordinates of the 256x256 crop of `rect` (the
// resize maps pixel edge e to (e - rect.x) * 256 / rect.width). The official
// script detects the face again in the crop (dlib HOG, upsample 1); mapping the
// box we already have saves that second detection (the slowest step) and
// gives the predictor the same detector's framing it was trained on.
FaceBox box_in_crop(const FaceBox& b, const cv::Rect& rect) {
  const double sx = double(kCropSize) / rect.width, sy = double(kCropSize) / rect.height;
  auto fit = [](double v) { return int(std::lround(std::clamp(v, 0.0, double(kCropSize)))); };
  FaceBox out;
  out.left = fit((b.left - rect.x) * sx);
  out.right = fit((b.right - rect.x) * sx);
  out.top = fit((b.top - rect.y) * sy);
  out.bottom = fit((b.bottom - rect.y) * sy);
  out.score = b.score;
  return out;
}

}  // namespace

double eye_line_angle(const std::vector<cv::Point2f>& lms) {
  if (lms.size() <= size_t(kRightInnerEye))
    throw laa::Error(laa::codes::kArg, "eye alignment needs the 68-point landmarks (points 39 and 42), got " +
                                           std::to_string(lms.size()) + " points");
  // The official code divides NumPy ints: a zero dx gives ±inf (atan = ±90°)
  // or NaN for 0/0, which would rotate by NaN; that case keeps the crop as is.
  const double dy = double(lms[kLeftInnerEye].y) - lms[kRightInnerEye].y;
  const double dx = double(lms[kLeftInnerEye].x) - lms[kRightInnerEye].x;
  if (dx == 0) return dy == 0 ? 0.0 : std::copysign(90.0, dy);
  return std::atan(dy / dx) * (180.0 / M_PI);
}

AlignedCrop align_on_eyes(const cv::Mat& crop, const std::vector<cv::Point2f>& lms) {
  if (crop.empty()) throw laa::Error(laa::codes::kArg, "empty image");
  AlignedCrop out;
  out.angle_deg = eye_line_angle(lms);
  // Centre (w/2, h/2), not ((w-1)/2, (h-1)/2): the official np.array(shape[1::-1]) / 2.
  const cv::Point2f centre(float(crop.cols / 2.0), float(crop.rows / 2.0));
  return guarded(laa::codes::kInternal, "eye alignment", [&] {
    out.rotation = cv::getRotationMatrix2D(centre, out.angle_deg, 1.0);
    cv::warpAffine(crop, out.image, out.rotation, crop.size(), cv::INTER_LINEAR, cv::BORDER_CONSTANT, cv::Scalar());
    const double* m = out.rotation.ptr<double>();
    out.landmarks.reserve(lms.size());
    for (const auto& p : lms)
      out.landmarks.emplace_back(m[0] * p.x + m[1] * p.y + m[2], m[3] * p.x + m[4] * p.y + m[5]);
    return out;
  });
}

void write_png_synced(const std::string& path, const cv::Mat& img) {
  std::vector<uchar> png;
  guarded(laa::codes::kInternal, "PNG encoding", [&] {
    if (!cv::imencode(".png", img, png)) throw laa::Error(laa::codes::kInternal, "PNG encoding failed");
  });
  auto fail = [&](const char* what) {
    return laa::Error(laa::codes::kNotFound, std::string("cannot ") + what + " '" + path + "': " + std::strerror(errno));
  };
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw fail("create");
  size_t off = 0;
  while (off < png.size()) {
    const ssize_t n = ::write(fd, png.data() + off, png.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const auto e = fail("write");
      ::close(fd);
      throw e;
    }
    off += size_t(n);
  }
  if (::fsync(fd) != 0) {
    const auto e = fail("sync");
    ::close(fd);
    throw e;
  }
  if (::close(fd) != 0) throw fail("close");
}

PrepareResult prepare_media(const std::string& path, const std::string& frames_dir, const PrepareOptions& opts,
                            FaceDetector& detector, const std::function<void(int, int)>& progress,
                            const std::atomic<bool>& aborted) {
  if (opts.frames < 1) throw laa::Error(laa::codes::kArg, "frames per video must be at least 1, got " + std::to_string(opts.frames));
  if (!opts.landmarks) throw laa::Error(laa::codes::kArg, "a landmark predictor is required");
  PrepareResult out;
  const auto started = Clock::now();
  double work_ms = 0;  // time spent outside decoding
  OpenedMedia media = open_media(path);
  out.info = media.info;

  auto handle = [&](Frame& f, int total) {
    ++out.sampled;
    auto t = Clock::now();
    auto boxes = detector.detect(f.bgr, opts.detect_max_side);
    out.detect_ms += ms_since(t);
    t = Clock::now();
    // The largest face (the official images_crop.py keeps one face per frame;
    // see FaceDetector::detect).
    const cv::Rect rect = boxes.empty() ? cv::Rect() : expand_box(boxes[0], f.bgr.cols, f.bgr.rows);
    const FaceBox in_crop = rect.empty() ? FaceBox() : box_in_crop(boxes[0], rect);
    if (rect.empty() || in_crop.width() <= 0 || in_crop.height() <= 0) {
      ++out.no_face;
    } else {
      cv::Mat crop = face_crop_256(f.bgr, rect);
      PreparedFrame pf;
      pf.index = f.index;
      pf.time_sec = f.time_sec;
      pf.faces_found = int(boxes.size());
      pf.box = boxes[0];
      pf.crop = rect;
      pf.orig_landmarks = opts.landmarks->predict(crop, in_crop);
      // Whole pixels, as dlib's predictor gives them and the official landmark files hold them (FaceMesh's
      // points are fractional): the prepared data has one format whichever model made it.
      for (auto& p : pf.orig_landmarks) p = cv::Point2f(std::round(p.x), std::round(p.y));
      AlignedCrop aligned = align_on_eyes(crop, pf.orig_landmarks);
      pf.angle_deg = aligned.angle_deg;
      pf.landmarks = std::move(aligned.landmarks);
      out.align_ms += ms_since(t);
      t = Clock::now();
      char name[32];
      std::snprintf(name, sizeof name, "/%04lld.png", static_cast<long long>(f.index));
      write_png_synced(frames_dir + name, aligned.image);
      out.write_ms += ms_since(t);
      out.frames.push_back(std::move(pf));
    }
    f.bgr.release();
    progress(out.sampled, total);
  };

  if (out.info.is_video) {
    const auto wanted = sample_indices(out.info.frame_count, opts.frames);
    VideoReader& reader = *media.video;  // the reader that probed it
    // Frames are handled as they decode, so memory holds one frame at a time.
    reader.read(wanted, [&](Frame& f) {
      if (aborted.load()) return false;
      const auto t = Clock::now();
      handle(f, int(wanted.size()));
      work_ms += ms_since(t);
      return !aborted.load();
    });
  } else if (!aborted.load()) {
    Frame f;
    auto t = Clock::now();
    f.bgr = read_image(path);
    out.decode_ms = ms_since(t);
    t = Clock::now();
    handle(f, 1);
    work_ms += ms_since(t);
  }
  if (aborted.load()) throw laa::Error(laa::codes::kAborted, "the operation was aborted");
  if (out.sampled == 0) throw laa::Error(laa::codes::kUnsupported, "'" + path + "' has no decodable frames");
  if (out.info.is_video) out.decode_ms = ms_since(started) - work_ms;
  return out;
}

}  // namespace laa::ops

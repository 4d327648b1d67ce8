#include "media/media.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <system_error>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/videoio.hpp>

#include "core/errors.h"
#include "core/files.h"
#include "core/guard.h"
#include "media/image_header.h"

namespace laa::ops {
namespace {

namespace fs = std::filesystem;

// Refuses what would make a decoder fail confusingly or block: a FIFO or a
// device would make FFmpeg wait forever for data.
void check_input_file(const std::string& path) {
  if (path.empty()) throw laa::Error(laa::codes::kArg, "empty path");
  laa::require_regular_file(path, "media file");
  std::error_code ec;
  if (fs::file_size(path, ec) == 0 && !ec) throw laa::Error(laa::codes::kUnsupported, "empty file: " + path);
}

// What FFmpeg is given for a local path: an absolute "file:" URL, so that no
// part of the name is read as a protocol ("concat:a.mp4|b.mp4", "subfile,,...:",
// "http:/host/x" as a folder path). FFmpeg may still open nested resources
// (playlists, concat scripts); OPENCV_FFMPEG_CAPTURE_OPTIONS, set by the
// binding before the first capture, whitelists the file protocol and the
// video containers for those (ffmpeg_input_options()).
std::string ffmpeg_url(const std::string& path) {
  std::error_code ec;
  fs::path abs = fs::absolute(path, ec);
  if (ec) throw laa::Error(laa::codes::kArg, "cannot make an absolute path of " + path + ": " + ec.message());
  return "file:" + abs.lexically_normal().string();
}

// Only formats whose header gives the dimensions can be size-checked before
// decoding; OpenCV's own cap (OPENCV_IO_MAX_IMAGE_PIXELS, 2^30 by default =
// 3 GB of BGR) is far too high to rely on.
ImageHeader checked_image_header(const std::string& path, int64_t max_pixels) {
  ImageHeader h = read_image_header(path);
  if (h.format.empty()) throw laa::Error(laa::codes::kUnsupported, "not a supported image: " + path);
  if (!h.has_dims()) throw laa::Error(laa::codes::kCorrupt, h.format + " header is damaged or cut short: " + path);
  if (!h.damage.empty()) throw laa::Error(laa::codes::kCorrupt, h.format + " file is damaged (" + h.damage + "): " + path);
  if (h.largest_ancillary > kMaxPngAncillaryBytes)
    throw laa::Error(laa::codes::kTooLarge, h.format + " file has an ancillary chunk of " + std::to_string(h.largest_ancillary) +
                                    " bytes, above the limit of " + std::to_string(kMaxPngAncillaryBytes) + ": " + path);
  if (max_pixels > 0 && h.width > max_pixels / h.height)
    throw laa::Error(laa::codes::kTooLarge, h.format + " image of " + std::to_string(h.width) + "x" + std::to_string(h.height) +
                                    " px is above the limit of " + std::to_string(max_pixels) + " px: " + path);
  return h;
}

bool is_image_file(const std::string& path) {
  if (!read_image_header(path).format.empty()) return true;
  // A format OpenCV reads but whose header we do not parse (JPEG 2000, EXR,
  // HDR, PAM): still an image, refused later by checked_image_header.
  try {
    return cv::haveImageReader(path);
  } catch (const cv::Exception&) {
    return false;
  }
}

std::string fourcc_string(double v) {
  auto code = static_cast<uint32_t>(static_cast<int64_t>(v));
  std::string s;
  for (int i = 0; i < 4; ++i) {
    char c = static_cast<char>((code >> (8 * i)) & 0xFF);
    if (c >= 32 && c < 127 && c != ' ') s += c;
  }
  return s.empty() ? "unknown" : s;
}

}  // namespace

std::string ffmpeg_input_options() {
  // protocol_whitelist: nested opens too stay local files. format_whitelist:
  // the video containers (no HLS or concat playlists, no image sequences that
  // read sibling files by a %d pattern).
  return "protocol_whitelist;file|format_whitelist;mov,mp4,matroska,webm,avi,mpegts,mpeg,mpegvideo,flv,asf,ogg,"
         "h264,hevc,m4v,gif,mjpeg,dv,yuv4mpegpipe,rawvideo";
}

std::vector<int64_t> sample_indices(int64_t frame_count, int n) {
  if (n < 0) throw laa::Error(laa::codes::kArg, "sample count must be >= 0");
  std::vector<int64_t> out;
  if (frame_count <= 0 || n == 0) return out;
  if (frame_count <= n) {
    for (int64_t i = 0; i < frame_count; ++i) out.push_back(i);
    return out;
  }
  if (n == 1) return {0};
  // NumPy: step = (stop - start) / (num - 1); y = arange(num) * step; y[-1] = stop;
  // then the integer cast truncates. Same double arithmetic here.
  const double step = static_cast<double>(frame_count - 1) / static_cast<double>(n - 1);
  for (int i = 0; i < n - 1; ++i) out.push_back(static_cast<int64_t>(static_cast<double>(i) * step));
  out.push_back(frame_count - 1);
  return out;
}

// ---------------------------------------------------------------------------
// VideoReader

struct VideoReader::Impl {
  std::string path;
  cv::VideoCapture cap;
  int64_t pos = 0;         // index of the frame the next grab() decodes
  bool eof = false;        // grab() failed: nothing further can be read
  bool can_seek = true;    // cleared after the first seek that misses
  Frame first;             // frame 0, decoded at open to prove the file decodes
  // Measured costs that decide between seeking and grabbing.
  double grab_ms = 0, seek_ms = 0;
  int64_t grab_n = 0, seek_n = 0;

  bool open() {
    // Timeouts keep a stalled read from blocking a worker thread forever.
    const std::vector<int> params = {cv::CAP_PROP_OPEN_TIMEOUT_MSEC, 15000, cv::CAP_PROP_READ_TIMEOUT_MSEC, 15000};
    cap.release();
    pos = 0;
    eof = false;
    return cap.open(ffmpeg_url(path), cv::CAP_FFMPEG, params) && cap.isOpened();
  }

  double frame_time(int64_t index, double fps) {
    double ms = cap.get(cv::CAP_PROP_POS_MSEC);
    if (std::isfinite(ms) && ms >= 0 && (ms > 0 || index == 0)) return ms / 1000.0;
    return fps > 0 ? static_cast<double>(index) / fps : 0.0;
  }
};

VideoReader::VideoReader(const std::string& path) : impl_(std::make_unique<Impl>()) {
  check_input_file(path);
  impl_->path = path;
  // Not-a-video (EUNSUPPORTED) versus a damaged video (ECORRUPT): decided by
  // whether the bytes start like a known container.
  auto fail = [&](const std::string& why) -> laa::Error {
    bool container = looks_like_video_container(path);
    return laa::Error(container ? laa::codes::kCorrupt : laa::codes::kUnsupported,
                      (container ? "damaged or truncated video (" : "not a readable video (") + why + "): " + path);
  };
  guarded(laa::codes::kCorrupt, "opening " + path, [&] {
    Impl& m = *impl_;
    if (!m.open()) throw fail("FFmpeg cannot open it");
    double fps = m.cap.get(cv::CAP_PROP_FPS);
    info_.is_video = true;
    info_.fps = std::isfinite(fps) && fps > 0 && fps < 1000 ? fps : 0;
    double n = m.cap.get(cv::CAP_PROP_FRAME_COUNT);
    info_.frame_count = std::isfinite(n) && n > 0 ? static_cast<int64_t>(n) : 0;
    // Without a frame count in the container (MPEG-TS, Matroska, raw
    // streams) OpenCV derives one from duration x fps; with a bogus fps (an
    // MPEG-4 TS reports 90000) that count is off by orders of magnitude and
    // sampling over it would miss nearly every frame. Count those by decoding.
    if (info_.fps == 0) info_.frame_count = 0;
    info_.codec = fourcc_string(m.cap.get(cv::CAP_PROP_FOURCC));
    // The stream's size before any frame is decoded: a huge one is refused
    // before FFmpeg allocates its buffers (about 1 GB for one 8000×8000 frame).
    const double w = m.cap.get(cv::CAP_PROP_FRAME_WIDTH), h = m.cap.get(cv::CAP_PROP_FRAME_HEIGHT);
    if (std::isfinite(w) && std::isfinite(h) && w * h > double(kMaxVideoFramePixels))
      throw laa::Error(laa::codes::kTooLarge, "video frames of " + std::to_string(int64_t(w)) + "x" + std::to_string(int64_t(h)) +
                                      " px are above the limit of " + std::to_string(kMaxVideoFramePixels) +
                                      " px (8K UHD, 7680x4320): " + path);

    // Decode frame 0 now: a file that opens but yields no picture (zero
    // frames, unknown codec, garbage after a valid header) fails here, at
    // the cost of one frame that sample_indices always asks for anyway.
    if (!m.cap.grab()) throw fail("no frame decodes");
    m.pos = 1;
    m.first.index = 0;
    m.first.time_sec = m.frame_time(0, info_.fps);
    if (!m.cap.retrieve(m.first.bgr) || m.first.bgr.empty()) throw fail("first frame does not decode");
    ++stats_.retrieves;
    // The decoded frame, not the stream header, gives the size (rotation metadata may swap it).
    info_.width = m.first.bgr.cols;
    info_.height = m.first.bgr.rows;

    if (info_.frame_count <= 0) {
      // No usable count: count by decoding, bounded (an hour at 30 fps; about
      // a minute of decoding for 720p on 2 cores).
      constexpr int64_t kMaxCount = 108000;
      int64_t count = 1;
      while (count < kMaxCount && m.cap.grab()) ++count;
      info_.frame_count = count;
      stats_.grabs += count - 1;
      if (!m.open()) throw fail("cannot reopen");
      m.cap.grab();  // back to the state "frame 0 consumed"
      m.pos = 1;
      ++stats_.reopens;
    }
    info_.duration_sec = info_.fps > 0 ? static_cast<double>(info_.frame_count) / info_.fps : 0;
  });
}

VideoReader::~VideoReader() = default;

std::vector<Frame> VideoReader::read(const std::vector<int64_t>& indices) {
  std::vector<Frame> out;
  read(indices, [&](Frame& f) {
    out.push_back(std::move(f));
    return true;
  });
  return out;
}

int64_t VideoReader::read(const std::vector<int64_t>& indices, const std::function<bool(Frame&)>& on_frame) {
  std::vector<int64_t> wanted;
  for (int64_t i : indices)
    if (i >= 0) wanted.push_back(i);
  std::sort(wanted.begin(), wanted.end());
  wanted.erase(std::unique(wanted.begin(), wanted.end()), wanted.end());

  Impl& m = *impl_;
  int64_t delivered = 0;

  // The one fallback after a missed seek: reopen and decode forward from
  // frame 0. Seeking stays off afterwards, so this happens at most once and
  // every later step is a bounded run of grab() calls.
  auto restart = [&] {
    m.can_seek = false;
    ++stats_.reopens;
    if (!m.open()) m.eof = true;
  };

  // After a clean sequential run, pos is the number of frames that decode.
  auto end_of_stream = [&] {
    m.eof = true;
    stats_.frames_in_stream = m.pos;
  };

  using Clock = std::chrono::steady_clock;
  auto ms_since = [](Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); };

  auto try_seek = [&](int64_t target) {
    auto t0 = Clock::now();
    bool ok = m.cap.set(cv::CAP_PROP_POS_FRAMES, static_cast<double>(target));
    double landed = m.cap.get(cv::CAP_PROP_POS_FRAMES);
    if (ok && landed == static_cast<double>(target)) {
      m.pos = target;
      m.seek_ms += ms_since(t0);
      ++m.seek_n;
      ++stats_.seeks;
      return true;
    }
    ++stats_.failed_seeks;
    restart();  // the decoder's position is unknown now
    return false;
  };

  // Seek across a gap when it is long enough to consider, and either no seek
  // has been timed yet (the one trial) or the mean seek beats grabbing the gap.
  auto worth_seeking = [&](int64_t gap) {
    if (!m.can_seek || seek_threshold_ <= 0 || gap <= seek_threshold_) return false;
    if (force_seek_ || m.seek_n == 0 || m.grab_n == 0) return true;
    return m.seek_ms / m.seek_n < gap * (m.grab_ms / m.grab_n);
  };

  // Leaves the capture so that the next grab() decodes `target`; false at end of stream.
  auto advance_to = [&](int64_t target) {
    if (target < m.pos) {  // backwards: only on a second read() call
      if (m.can_seek && try_seek(target)) return true;
      if (m.pos > target) restart();  // a failed try_seek has already restarted at 0
    } else if (worth_seeking(target - m.pos)) {
      if (try_seek(target)) return true;
    }
    auto t0 = Clock::now();
    int64_t n = 0;
    while (!m.eof && m.pos < target) {
      if (m.cap.grab()) { ++m.pos; ++n; }
      else end_of_stream();
    }
    if (n > 0) {
      m.grab_ms += ms_since(t0);
      m.grab_n += n;
      stats_.grabs += n;
    }
    return !m.eof;
  };

  // Decodes one wanted frame; false when the stream has ended before it.
  auto decode = [&](int64_t target, Frame& f) {
    if (target == 0 && !m.first.bgr.empty()) {
      f = m.first;
      f.bgr = m.first.bgr.clone();
      return true;
    }
    if (m.eof || !advance_to(target)) return false;
    auto t0 = Clock::now();
    if (!m.cap.grab()) {
      end_of_stream();
      return false;
    }
    m.grab_ms += ms_since(t0);  // the wanted frame's decode is a grab's cost too
    ++m.grab_n;
    ++m.pos;
    f.index = target;
    f.time_sec = m.frame_time(target, info_.fps);
    if (!m.cap.retrieve(f.bgr)) f.bgr.release();
    ++stats_.retrieves;
    return true;
  };

  for (int64_t target : wanted) {
    Frame f;
    if (!guarded(laa::codes::kCorrupt, "reading " + m.path, [&] { return decode(target, f); })) break;
    if (f.bgr.empty()) continue;  // decoded but did not convert: skip that frame only
    ++delivered;
    // Outside guarded(): the caller's exceptions pass through untouched.
    if (!on_frame(f)) break;
  }
  return delivered;
}

// ---------------------------------------------------------------------------
// Still images and probing

cv::Mat read_image(const std::string& path, int64_t max_pixels) {
  check_input_file(path);
  if (max_pixels <= 0) throw laa::Error(laa::codes::kArg, "max_pixels must be > 0");
  ImageHeader h = checked_image_header(path, max_pixels);
  return guarded(laa::codes::kCorrupt, "decoding " + path, [&] {
    // IMREAD_COLOR: gray -> BGR, alpha dropped, 16-bit -> 8-bit, EXIF orientation applied.
    cv::Mat img = cv::imread(path, cv::IMREAD_COLOR);
    if (img.empty()) throw laa::Error(laa::codes::kCorrupt, h.format + " image does not decode: " + path);
    if (img.type() != CV_8UC3) throw laa::Error(laa::codes::kCorrupt, "unexpected pixel type after decode: " + path);
    // The header could lie (a second, bigger frame in a TIFF): check what came out too.
    if (static_cast<int64_t>(img.total()) > max_pixels)
      throw laa::Error(laa::codes::kTooLarge, "decoded image is above the limit of " + std::to_string(max_pixels) + " px: " + path);
    return img;
  });
}

OpenedMedia open_media(const std::string& path) {
  check_input_file(path);
  OpenedMedia out;
  if (is_image_file(path)) {
    // Any size is fine for probing: nothing is decoded.
    ImageHeader h = checked_image_header(path, 0);
    out.info.is_video = false;
    out.info.frame_count = 1;
    out.info.width = static_cast<int>(std::min<int64_t>(h.display_width(), INT32_MAX));
    out.info.height = static_cast<int>(std::min<int64_t>(h.display_height(), INT32_MAX));
    out.info.codec = h.format;
    return out;
  }
  try {
    out.video = std::make_unique<VideoReader>(path);
  } catch (const laa::Error& e) {
    if (e.code != laa::codes::kUnsupported) throw;
    throw laa::Error(laa::codes::kUnsupported, std::string("neither an image nor a video: ") + e.what());
  }
  out.info = out.video->info();
  return out;
}

MediaInfo probe(const std::string& path) { return open_media(path).info; }

}  // namespace laa::ops

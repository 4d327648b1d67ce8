// Media input: probing, frame sampling, frame reading and still-image decode.
// Every function throws only laa::Error: ENOENT (missing file), EINVAL (bad
// argument, a directory), EUNSUPPORTED (not an image or video we can read,
// no frames), ECORRUPT (a recognised container/image that fails to decode),
// ETOOLARGE (above a pixel limit).
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

namespace laa::ops {

// Default decode limit for still images (pixels): 64 Mpx is a 8000×8000
// photo, about 200 MB once decoded to BGR.
inline constexpr int64_t kDefaultMaxImagePixels = int64_t(64) << 20;
// Video frames above 8K UHD are refused (ETOOLARGE) before the first decode.
inline constexpr int64_t kMaxVideoFramePixels = int64_t(7680) * 4320;

struct MediaInfo {
  bool is_video = false;
  int64_t frame_count = 0;  // videos: container metadata (may exceed the frames that decode); images: 1
  double fps = 0;           // 0 for images or when the container does not say
  double duration_sec = 0;  // frame_count / fps; 0 when unknown
  int width = 0, height = 0;
  std::string codec;        // images: "jpeg", "png", ...; videos: the FourCC, e.g. "avc1", "h264"
};

// Images are recognised by their header (format magic, or any decoder OpenCV
// has); everything else is opened as a video with the FFmpeg backend. Cheap:
// decodes no pixels, except one frame of a video whose frame count is unknown.
MediaInfo probe(const std::string& path);  // open_media(path).info

// The FFmpeg input options every capture of this package needs (local files
// and video containers only), in OPENCV_FFMPEG_CAPTURE_OPTIONS syntax
// ("key;value|key;value"); the JavaScript loader sets that variable before the
// addon loads. Videos are opened as absolute "file:" URLs.
std::string ffmpeg_input_options();

// The official frame choice, np.linspace(0, N-1, n).astype(int64): evenly
// spaced, first and last frame included. For N < n that repeats frames; the
// official extraction writes each frame once, so this returns 0..N-1 then.
std::vector<int64_t> sample_indices(int64_t frame_count, int n);

struct Frame {
  int64_t index = 0;    // frame number, 0-based, in decode order
  double time_sec = 0;  // presentation time from the stream, else index / fps
  cv::Mat bgr;          // 8-bit, 3 channels
};

// Reads selected frames of one video, opened once. Not thread-safe: use one
// reader per thread. Decoding, not colour conversion, is the cost: frames
// between wanted ones are grabbed (decoded, not converted), and a long gap is
// crossed by seeking (CAP_PROP_POS_FRAMES) only when that is cheaper. A seek
// restarts decoding at the keyframe before the target, so its cost depends
// on the GOP length, which containers do not tell: the reader tries one seek
// once a gap exceeds the seek threshold, then seeks only when the measured
// mean seek time is below the gap times the measured time per grab
// (measured: 32 of 3520 720p frames, GOP 30: 1.8 s seeking vs 5.7 s
// grabbing; GOP 250: seeking 15% slower than grabbing).
class VideoReader {
 public:
  explicit VideoReader(const std::string& path);
  ~VideoReader();
  VideoReader(const VideoReader&) = delete;
  VideoReader& operator=(const VideoReader&) = delete;

  const MediaInfo& info() const { return info_; }

  // Reads the frames at `indices` (any order; duplicates and negatives are
  // dropped) and returns them in ascending order. Frames past the real end of
  // the stream (metadata often over-counts, truncated files) are simply
  // missing from the result: check result.size(). Throws ECORRUPT only when
  // not a single wanted frame decodes.
  std::vector<Frame> read(const std::vector<int64_t>& indices);

  // Streaming form: calls on_frame for each frame as soon as it is decoded
  // (the Mat is the caller's to keep); on_frame returning false stops early.
  // Returns the number of frames delivered.
  int64_t read(const std::vector<int64_t>& indices, const std::function<bool(Frame&)>& on_frame);

  // Counters for tests and benchmarks.
  struct Stats {
    int64_t seeks = 0;          // CAP_PROP_POS_FRAMES seeks that landed on the wanted frame
    int64_t failed_seeks = 0;   // seeks that failed or landed elsewhere (seeking is then disabled)
    int64_t reopens = 0;        // fallbacks that reopened the file and read from frame 0
    int64_t grabs = 0;          // frames decoded and skipped
    int64_t retrieves = 0;      // frames decoded and converted
    int64_t frames_in_stream = -1;  // the real frame count, once a read hit the end; else -1
  };
  const Stats& stats() const { return stats_; }

  // Smallest gap (in frames) for which a seek is considered (default 48);
  // 0 disables seeking. With force, every such gap is seeked, whatever the
  // measured costs (tests).
  void set_seek_threshold(int64_t frames, bool force = false) {
    seek_threshold_ = frames;
    force_seek_ = force;
  }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  MediaInfo info_;
  Stats stats_;
  int64_t seek_threshold_ = 48;
  bool force_seek_ = false;
};

// A file opened once: what it is, and for a video the reader that probed it
// (scoring and preparation read their frames from it; nothing is reopened).
struct OpenedMedia {
  MediaInfo info;
  std::unique_ptr<VideoReader> video;  // null for a still image
};
// Images: the header only (no pixels); videos: a VideoReader (frame 0 decoded, kept for reading).
OpenedMedia open_media(const std::string& path);

// Decodes a still image to 8-bit BGR (grayscale expanded, alpha dropped,
// 16-bit scaled down, EXIF orientation applied as cv::imread does). The
// dimensions are read from the file header first and anything above
// `max_pixels` is refused with ETOOLARGE before any pixel is decoded; formats
// whose header this module cannot read are refused (EUNSUPPORTED) for the
// same reason (see read_image_header for the list).
cv::Mat read_image(const std::string& path, int64_t max_pixels = kDefaultMaxImagePixels);

}  // namespace laa::ops

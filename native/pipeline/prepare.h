// Offline training-data preparation (official `package_utils/images_crop.py` +
// `geo_landmarks_extraction.py`): sampled frames -> largest
// face -> 1.5x box crop at 256x256 -> 68 landmarks -> eye-line alignment ->
// PNG. The bookkeeping (index, done markers, resuming) lives in src/data/prepare.ts;
// this is the per-file pixel work.
#pragma once
#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "media/faces.h"
#include "media/media.h"

namespace laa::ops {

// The angle, in degrees, that levels the line through the inner eye corners
// 39 and 42 (iBUG 68 order): atan((y39 - y42) / (x39 - x42)), as the official
// geo_landmarks_extraction.py computes it. Points that coincide in
// x give ±90 (NumPy's ±inf ratio), or 0 when they coincide entirely.
double eye_line_angle(const std::vector<cv::Point2f>& landmarks);

struct AlignedCrop {
  cv::Mat image;                       // the crop rotated about its centre, same size
  cv::Mat rotation;                    // 2x3 CV_64F, cv::getRotationMatrix2D(centre, angle, 1)
  double angle_deg = 0;
  std::vector<cv::Point2d> landmarks;  // the input landmarks through `rotation`
};

// Rotates the whole crop about (w/2, h/2) by eye_line_angle (warpAffine,
// linear, zero border) and the landmarks with the same matrix, as the official
// _align_face does. The official code stores the rotated points as ints
// (truncated); here they stay float64 (the caller rounds for storage).
AlignedCrop align_on_eyes(const cv::Mat& crop, const std::vector<cv::Point2f>& landmarks);

// Writes `img` as PNG (OpenCV's default compression, as cv2.imwrite) and
// fsyncs it, so a done marker written afterwards never outlives its frames.
// Throws ENOENT when the file cannot be created or written.
void write_png_synced(const std::string& path, const cv::Mat& img);

struct PreparedFrame {
  int64_t index = 0;
  double time_sec = 0;
  int faces_found = 0;
  FaceBox box;                              // the detection, in source frame pixels
  cv::Rect crop;                            // the expanded box that was cropped (official PADDING, 25 % per side)
  double angle_deg = 0;
  std::vector<cv::Point2f> orig_landmarks;  // in the 256x256 crop, before alignment
  std::vector<cv::Point2d> landmarks;       // in the aligned crop (the PNG)
};

struct PrepareOptions {
  int frames = 32;            // sampled evenly per video (official: 32 val/test, 128 train)
  int detect_max_side = 640;  // see FaceDetector::detect
  const LandmarkPredictor* landmarks = nullptr;
};

struct PrepareResult {
  MediaInfo info;
  int sampled = 0;   // frames that decoded (metadata may over-count)
  int no_face = 0;   // sampled frames without a usable face
  std::vector<PreparedFrame> frames;
  double decode_ms = 0, detect_ms = 0, align_ms = 0, write_ms = 0;
};

// One video (sample_indices(frame_count, frames)) or one still image (frame
// 0): for each frame with a face, writes `<frames_dir>/<index:04d>.png` (the
// aligned 256x256 crop, BGR) and returns its landmarks and boxes. frames_dir
// must exist. `progress(done, total)` runs after each frame; `aborted` is
// checked between frames (ABORT_ERR). Media errors are media.h's.
PrepareResult prepare_media(const std::string& path, const std::string& frames_dir, const PrepareOptions& opts,
                            FaceDetector& detector, const std::function<void(int, int)>& progress,
                            const std::atomic<bool>& aborted);

}  // namespace laa::ops

// Face detection (dlib HOG frontal-face detector, no weights file) and
// 68-point landmarks (dlib shape predictor). dlib stays out of this header.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

namespace laa::ops {

// A face in frame pixels. right/bottom are exclusive (width = right - left),
// the convention of RetinaFace's boxes that the official crop arithmetic was
// written for. A box may reach outside the frame; expand_box clamps.
struct FaceBox {
  int left = 0, top = 0, right = 0, bottom = 0;
  double score = 0;  // dlib detection confidence (SVM margin; > 0 = detected at the default threshold)
  int width() const { return right - left; }
  int height() const { return bottom - top; }
  int64_t area() const { return int64_t(width()) * height(); }
};

// Not thread-safe: dlib's scanner keeps per-call buffers in the detector.
// Use one instance per thread (construction is cheap: the HOG model is
// compiled into dlib) or serialise calls.
class FaceDetector {
 public:
  FaceDetector();
  ~FaceDetector();
  FaceDetector(FaceDetector&&) noexcept;
  FaceDetector& operator=(FaceDetector&&) noexcept;

  // Detects on a grayscale copy shrunk so its longest side is at most
  // max_side (never enlarged; max_side <= 0 keeps the full size), enlarged
  // 2^upsample times on top of that (dlib's upsample: finds faces half as
  // big, ~4x slower per step). HOG finds faces of about 80 px and more at the
  // detection scale, so max_side trades small-face recall for speed.
  // Boxes are in the coordinates of `img` (8-bit gray, BGR or BGRA), sorted
  // by area, largest first; adjust_threshold < 0 also returns weaker
  // candidates. The official pipeline keeps one face per frame: in effect
  // RetinaFace's most confident one (images_crop.py takes a face only if both
  // its area and its score beat the faces before it, and RetinaFace lists
  // faces by descending score). HOG scores are poorly calibrated across
  // sizes, so the largest box stands in for it here. HOG boxes come from a
  // fixed window over an image pyramid with 5/6 steps, so their size jumps
  // in ~20% steps from frame to frame on a steady face (259 vs 216 px on
  // liveportrait_driving_d0), and they are framed tighter than RetinaFace's.
  std::vector<FaceBox> detect(const cv::Mat& img, int max_side = 640, int upsample = 0,
                               double adjust_threshold = 0.0);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

inline constexpr const char* kDefaultLandmarkModel = "/usr/share/dlib/shape_predictor_68_face_landmarks.dat";

// Loading throws ENOENT (missing file) or ECORRUPT (not a shape predictor).
// predict() is const and does not modify the model: one instance may be
// shared between threads.
class LandmarkPredictor {
 public:
  explicit LandmarkPredictor(const std::string& model_path = kDefaultLandmarkModel);
  ~LandmarkPredictor();
  LandmarkPredictor(LandmarkPredictor&&) noexcept;
  LandmarkPredictor& operator=(LandmarkPredictor&&) noexcept;

  // Landmarks (68 for the default model, iBUG order) in `img` coordinates,
  // predicted on the grayscale image as the official landmark script does.
  std::vector<cv::Point2f> predict(const cv::Mat& img, const FaceBox& face) const;
  int num_parts() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace laa::ops

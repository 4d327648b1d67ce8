// Face detection and 68-point landmarks. Two of each:
// - detectors: MediaPipe BlazeFace full-range (a CNN, OpenCV dnn on an ONNX
//   file; the default) and dlib's HOG frontal-face detector (no weights file);
// - landmarks: MediaPipe FaceMesh (468 points, OpenCV dnn; the 68 iBUG points
//   taken from it by a fitted index map, plus the forehead) and dlib's shape
//   predictor (the official 68-point model, whose terms exclude commercial use).
// dlib and OpenCV dnn stay out of this header.
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

// Which detector: "hog" (dlib) or "blazeface" (its ONNX file in `model`).
struct FaceDetectorSpec {
  std::string kind = "hog";
  std::string model;
};

// Not thread-safe: dlib's scanner and OpenCV's nets keep per-call buffers.
// Use one instance per thread or serialise calls.
class FaceDetector {
 public:
  explicit FaceDetector(const FaceDetectorSpec& spec = {});
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
  //
  // BlazeFace sees the frame letterboxed into a 192² square (max_side and
  // upsample do not apply); its boxes are mapped to RetinaFace's geometry
  // (kBlazeToRetina) so that the official crop arithmetic sees the boxes it
  // was written for; score is the detection probability.
  std::vector<FaceBox> detect(const cv::Mat& img, int max_side = 640, int upsample = 0,
                               double adjust_threshold = 0.0);
  const FaceDetectorSpec& spec() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

inline constexpr const char* kDefaultLandmarkModel = "/usr/share/dlib/shape_predictor_68_face_landmarks.dat";

// A `.dat` file is a dlib shape predictor, an `.onnx` file FaceMesh.
// Loading throws ENOENT (missing file) or ECORRUPT (not a model of that kind).
// predict() is const; the dlib model may be shared between threads, FaceMesh
// runs under a lock of its own.
class LandmarkPredictor {
 public:
  explicit LandmarkPredictor(const std::string& model_path = kDefaultLandmarkModel);
  ~LandmarkPredictor();
  LandmarkPredictor(LandmarkPredictor&&) noexcept;
  LandmarkPredictor& operator=(LandmarkPredictor&&) noexcept;

  // Landmarks (68 for the default model, iBUG order) in `img` coordinates,
  // predicted on the grayscale image as the official landmark script does.
  // FaceMesh: the 68 points mapped from the mesh, then (with forehead) the
  // forehead part of the face oval, left to right.
  std::vector<cv::Point2f> predict(const cv::Mat& img, const FaceBox& face, bool forehead = false) const;
  int num_parts() const;
  bool is_mesh() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace laa::ops

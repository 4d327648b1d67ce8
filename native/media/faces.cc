#include "media/faces.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <system_error>

#include <dlib/image_processing/frontal_face_detector.h>
#include <dlib/image_processing/shape_predictor.h>
#include <dlib/opencv/cv_image.h>
#include <dlib/serialize.h>
#include <opencv2/imgproc.hpp>

#include "core/errors.h"
#include "core/guard.h"

namespace laa::ops {
namespace {

cv::Mat to_gray(const cv::Mat& img) {
  if (img.empty() || img.depth() != CV_8U)
    throw laa::Error(laa::codes::kArg, "expected a non-empty 8-bit image");
  cv::Mat gray;
  switch (img.channels()) {
    case 1: gray = img; break;
    case 3: cv::cvtColor(img, gray, cv::COLOR_BGR2GRAY); break;
    case 4: cv::cvtColor(img, gray, cv::COLOR_BGRA2GRAY); break;
    default: throw laa::Error(laa::codes::kArg, "expected 1, 3 or 4 channels");
  }
  return gray;
}

}  // namespace

// ---------------------------------------------------------------------------
// FaceDetector

struct FaceDetector::Impl {
  dlib::frontal_face_detector detector = dlib::get_frontal_face_detector();
};

FaceDetector::FaceDetector()
    : impl_(guarded(laa::codes::kInternal, "creating the face detector", [] { return std::make_unique<Impl>(); })) {}
FaceDetector::~FaceDetector() = default;
FaceDetector::FaceDetector(FaceDetector&&) noexcept = default;
FaceDetector& FaceDetector::operator=(FaceDetector&&) noexcept = default;

std::vector<FaceBox> FaceDetector::detect(const cv::Mat& img, int max_side, int upsample, double adjust_threshold) {
  if (upsample < 0 || upsample > 3) throw laa::Error(laa::codes::kArg, "upsample must be 0..3");
  return guarded(laa::codes::kInternal, "face detection", [&] {
    // Gray before resizing: one channel to resample instead of three.
    cv::Mat gray = to_gray(img);
    double scale = 1.0;
    const int longest = std::max(img.cols, img.rows);
    if (max_side > 0 && longest > max_side) scale = static_cast<double>(max_side) / longest;
    scale *= static_cast<double>(1 << upsample);

    cv::Mat det = gray;
    if (scale != 1.0) {
      cv::Size size(std::max(1, static_cast<int>(std::lround(img.cols * scale))),
                    std::max(1, static_cast<int>(std::lround(img.rows * scale))));
      // INTER_AREA when shrinking avoids the aliasing that hides HOG edges.
      cv::resize(gray, det, size, 0, 0, scale < 1.0 ? cv::INTER_AREA : cv::INTER_LINEAR);
    }
    // Per-axis factors: the rounded size makes them differ slightly.
    const double sx = static_cast<double>(det.cols) / img.cols;
    const double sy = static_cast<double>(det.rows) / img.rows;

    std::vector<dlib::rect_detection> dets;
    dlib::cv_image<unsigned char> view(det);
    impl_->detector(view, dets, adjust_threshold);

    std::vector<FaceBox> faces;
    faces.reserve(dets.size());
    for (const auto& d : dets) {
      // dlib rectangles are inclusive; the pixel edges are left and right + 1.
      FaceBox b;
      b.left = static_cast<int>(std::lround(d.rect.left() / sx));
      b.top = static_cast<int>(std::lround(d.rect.top() / sy));
      b.right = static_cast<int>(std::lround((d.rect.right() + 1) / sx));
      b.bottom = static_cast<int>(std::lround((d.rect.bottom() + 1) / sy));
      b.score = d.detection_confidence;
      if (b.right > b.left && b.bottom > b.top) faces.push_back(b);
    }
    std::stable_sort(faces.begin(), faces.end(), [](const FaceBox& a, const FaceBox& b) {
      return a.area() != b.area() ? a.area() > b.area() : a.score > b.score;
    });
    return faces;
  });
}

// ---------------------------------------------------------------------------
// LandmarkPredictor

struct LandmarkPredictor::Impl {
  dlib::shape_predictor model;
};

LandmarkPredictor::LandmarkPredictor(const std::string& model_path) : impl_(std::make_unique<Impl>()) {
  namespace fs = std::filesystem;
  std::error_code ec;
  auto st = fs::status(model_path, ec);
  if (ec || st.type() == fs::file_type::not_found)
    throw laa::Error(laa::codes::kNotFound, "landmark model not found: " + model_path);
  if (st.type() != fs::file_type::regular)
    throw laa::Error(laa::codes::kArg, "landmark model is not a regular file: " + model_path);
  try {
    dlib::deserialize(model_path) >> impl_->model;
  } catch (const std::bad_alloc&) {
    // A damaged size field asks for an absurd allocation.
    throw laa::Error(laa::codes::kCorrupt, "landmark model is damaged: " + model_path);
  } catch (const std::exception& e) {  // dlib::serialization_error and friends
    throw laa::Error(laa::codes::kCorrupt, "not a dlib shape predictor: " + model_path + ": " + e.what());
  }
  if (impl_->model.num_parts() == 0) throw laa::Error(laa::codes::kCorrupt, "empty shape predictor: " + model_path);
}

LandmarkPredictor::~LandmarkPredictor() = default;
LandmarkPredictor::LandmarkPredictor(LandmarkPredictor&&) noexcept = default;
LandmarkPredictor& LandmarkPredictor::operator=(LandmarkPredictor&&) noexcept = default;

int LandmarkPredictor::num_parts() const { return static_cast<int>(impl_->model.num_parts()); }

std::vector<cv::Point2f> LandmarkPredictor::predict(const cv::Mat& img, const FaceBox& face) const {
  if (face.right <= face.left || face.bottom <= face.top) throw laa::Error(laa::codes::kArg, "empty face box");
  return guarded(laa::codes::kInternal, "landmark prediction", [&] {
    cv::Mat gray = to_gray(img);
    dlib::cv_image<unsigned char> view(gray);
    dlib::rectangle rect(face.left, face.top, face.right - 1, face.bottom - 1);
    dlib::full_object_detection shape = impl_->model(view, rect);
    std::vector<cv::Point2f> pts;
    pts.reserve(shape.num_parts());
    for (unsigned long i = 0; i < shape.num_parts(); ++i)
      pts.emplace_back(static_cast<float>(shape.part(i).x()), static_cast<float>(shape.part(i).y()));
    return pts;
  });
}

}  // namespace laa::ops

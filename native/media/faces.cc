#include "media/faces.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <system_error>

#include <dlib/image_processing/frontal_face_detector.h>
#include <dlib/image_processing/shape_predictor.h>
#include <dlib/opencv/cv_image.h>
#include <dlib/serialize.h>
#include <opencv2/dnn.hpp>
#include <opencv2/imgproc.hpp>

#include <array>
#include <mutex>

#include "core/errors.h"
#include "core/files.h"
#include "core/guard.h"
#include "media/face_mesh_map.h"

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

namespace {

// An OpenCV dnn network read from an ONNX file, one thread (the callers run
// several detectors on their own threads).
cv::dnn::Net read_onnx(const std::string& path, const char* what) {
  laa::require_regular_file(path, what);
  cv::dnn::Net net;
  try {
    net = cv::dnn::readNetFromONNX(path);
  } catch (const cv::Exception& e) {
    throw laa::Error(laa::codes::kCorrupt, std::string(what) + " '" + path + "' is not an ONNX model OpenCV can run: " + e.err);
  }
  if (net.empty()) throw laa::Error(laa::codes::kCorrupt, std::string(what) + " '" + path + "' holds no network");
  net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
  net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
  return net;
}

float sigmoid_clipped(float x) { return 1.f / (1.f + std::exp(-std::clamp(x, -80.f, 80.f))); }

// BlazeFace full-range (MediaPipe face_detection_full_range): 192² input, one
// anchor per cell of a 48×48 grid, 16 regressors per anchor (box centre offset
// and size, six keypoints) in input pixels.
constexpr int kBlazeInput = 192, kBlazeGrid = 48;
constexpr float kBlazeMinScore = 0.5f, kBlazeNmsIou = 0.3f;

struct Detection {
  float x0, y0, x1, y1, score;
};

float iou(const Detection& a, const Detection& b) {
  const float ix = std::max(0.f, std::min(a.x1, b.x1) - std::max(a.x0, b.x0));
  const float iy = std::max(0.f, std::min(a.y1, b.y1) - std::max(a.y0, b.y0));
  const float inter = ix * iy, u = (a.x1 - a.x0) * (a.y1 - a.y0) + (b.x1 - b.x0) * (b.y1 - b.y0) - inter;
  return u > 0 ? inter / u : 0.f;
}

// MediaPipe's weighted non-maximum suppression: each kept box is the
// score-weighted mean of the boxes it suppresses; its score the best one's.
std::vector<Detection> weighted_nms(std::vector<Detection> d) {
  std::sort(d.begin(), d.end(), [](const Detection& a, const Detection& b) { return a.score > b.score; });
  std::vector<Detection> out;
  std::vector<bool> used(d.size(), false);
  for (size_t i = 0; i < d.size(); ++i) {
    if (used[i]) continue;
    Detection acc{0, 0, 0, 0, d[i].score};
    float w = 0;
    for (size_t j = i; j < d.size(); ++j) {
      if (used[j] || iou(d[i], d[j]) <= kBlazeNmsIou) continue;
      used[j] = true;
      acc.x0 += d[j].x0 * d[j].score, acc.y0 += d[j].y0 * d[j].score;
      acc.x1 += d[j].x1 * d[j].score, acc.y1 += d[j].y1 * d[j].score;
      w += d[j].score;
    }
    acc.x0 /= w, acc.y0 /= w, acc.x1 /= w, acc.y1 /= w;
    out.push_back(acc);
  }
  return out;
}

}  // namespace

struct FaceDetector::Impl {
  FaceDetectorSpec spec;
  std::unique_ptr<dlib::frontal_face_detector> hog;
  cv::dnn::Net blaze;

  std::vector<FaceBox> detect_blaze(const cv::Mat& img) {
    cv::Mat bgr;
    switch (img.channels()) {
      case 3: bgr = img; break;
      case 1: cv::cvtColor(img, bgr, cv::COLOR_GRAY2BGR); break;
      case 4: cv::cvtColor(img, bgr, cv::COLOR_BGRA2BGR); break;
      default: throw laa::Error(laa::codes::kArg, "expected 1, 3 or 4 channels");
    }
    // The frame centred in a black square, shrunk to 192² (area averaging), as
    // MediaPipe letterboxes. Frames above 2048 px are first shrunk by an
    // integer factor, so that the padded square stays small.
    const int factor = std::max(1, (std::max(bgr.cols, bgr.rows) + 2047) / 2048);
    cv::Mat src = bgr;
    if (factor > 1) cv::resize(bgr, src, cv::Size(bgr.cols / factor, bgr.rows / factor), 0, 0, cv::INTER_AREA);
    const int side = std::max(src.cols, src.rows), px = (side - src.cols) / 2, py = (side - src.rows) / 2;
    cv::Mat square, small;
    cv::copyMakeBorder(src, square, py, side - src.rows - py, px, side - src.cols - px, cv::BORDER_CONSTANT, cv::Scalar::all(0));
    cv::resize(square, small, cv::Size(kBlazeInput, kBlazeInput), 0, 0, cv::INTER_AREA);
    cv::Mat blob = cv::dnn::blobFromImage(small, 1.0 / 127.5, cv::Size(kBlazeInput, kBlazeInput),
                                          cv::Scalar(127.5, 127.5, 127.5), /*swapRB=*/true, /*crop=*/false);
    blaze.setInput(blob, "input");
    std::vector<cv::Mat> outs;
    blaze.forward(outs, std::vector<cv::String>{"reshaped_regressor_face_4", "reshaped_classifier_face_4"});
    const float* reg = outs[0].ptr<float>();
    const float* cls = outs[1].ptr<float>();
    std::vector<Detection> cands;
    for (int k = 0; k < kBlazeGrid * kBlazeGrid; ++k) {
      const float score = sigmoid_clipped(cls[k]);
      if (score <= kBlazeMinScore) continue;
      const float ax = ((k % kBlazeGrid) + 0.5f) / kBlazeGrid, ay = ((k / kBlazeGrid) + 0.5f) / kBlazeGrid;
      const float* r = reg + 16 * k;
      const float cx = ax + r[0] / kBlazeInput, cy = ay + r[1] / kBlazeInput, w = r[2] / kBlazeInput, h = r[3] / kBlazeInput;
      if (w <= 0 || h <= 0) continue;
      cands.push_back({cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2, score});
    }
    std::vector<FaceBox> faces;
    for (const Detection& d : weighted_nms(std::move(cands))) {
      // Square-normalised -> frame pixels, then RetinaFace's framing.
      const double x0 = (d.x0 * side - px) * factor, y0 = (d.y0 * side - py) * factor;
      const double x1 = (d.x1 * side - px) * factor, y1 = (d.y1 * side - py) * factor;
      const double w = x1 - x0, h = y1 - y0, cx = (x0 + x1) / 2 + kBlazeToRetina[0] * w, cy = (y0 + y1) / 2 + kBlazeToRetina[1] * h;
      const double rw = kBlazeToRetina[2] * w, rh = kBlazeToRetina[3] * h;
      FaceBox b;
      b.left = int(std::lround(cx - rw / 2));
      b.top = int(std::lround(cy - rh / 2));
      b.right = int(std::lround(cx + rw / 2));
      b.bottom = int(std::lround(cy + rh / 2));
      b.score = d.score;
      if (b.right > b.left && b.bottom > b.top) faces.push_back(b);
    }
    return faces;
  }
};

FaceDetector::FaceDetector(const FaceDetectorSpec& spec)
    : impl_(guarded(laa::codes::kInternal, "creating the face detector", [&] {
        auto impl = std::make_unique<Impl>();
        impl->spec = spec;
        if (spec.kind == "hog") impl->hog = std::make_unique<dlib::frontal_face_detector>(dlib::get_frontal_face_detector());
        else if (spec.kind == "blazeface") impl->blaze = read_onnx(spec.model, "face detector model");
        else throw laa::Error(laa::codes::kArg, "Expected face detector 'blazeface' or 'hog' but received '" + spec.kind + "'");
        return impl;
      })) {}
FaceDetector::~FaceDetector() = default;
FaceDetector::FaceDetector(FaceDetector&&) noexcept = default;
FaceDetector& FaceDetector::operator=(FaceDetector&&) noexcept = default;

const FaceDetectorSpec& FaceDetector::spec() const { return impl_->spec; }

std::vector<FaceBox> FaceDetector::detect(const cv::Mat& img, int max_side, int upsample, double adjust_threshold) {
  if (upsample < 0 || upsample > 3) throw laa::Error(laa::codes::kArg, "upsample must be 0..3");
  if (img.empty() || img.depth() != CV_8U) throw laa::Error(laa::codes::kArg, "expected a non-empty 8-bit image");
  if (impl_->blaze.empty() == false) {
    return guarded(laa::codes::kInternal, "face detection", [&] {
      auto faces = impl_->detect_blaze(img);
      std::stable_sort(faces.begin(), faces.end(), [](const FaceBox& a, const FaceBox& b) {
        return a.area() != b.area() ? a.area() > b.area() : a.score > b.score;
      });
      return faces;
    });
  }
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
    (*impl_->hog)(view, dets, adjust_threshold);

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

// FaceMesh (MediaPipe face_landmark): a rotated square crop around the face,
// 192² RGB in [0, 1]; 468 points (x, y, z) in crop pixels and a face logit.
constexpr int kMeshInput = 192;

struct LandmarkPredictor::Impl {
  dlib::shape_predictor model;
  cv::dnn::Net mesh;
  mutable std::mutex mesh_mutex;  // cv::dnn::Net::forward is not const

  // The 468 points in `img` pixels for a crop of side `side` around `centre`,
  // turned by `angle` (radians, image y down); empty when the face flag says no face.
  std::vector<cv::Point2f> run_mesh(const cv::Mat& bgr, cv::Point2d centre, double side, double angle, float* flag) const {
    const double c = std::cos(angle), s = std::sin(angle), k = side / kMeshInput, h = kMeshInput / 2.0;
    // crop (u, v) -> image: centre + R(angle)·((u − 96)k, (v − 96)k)
    cv::Matx23d m(c * k, -s * k, centre.x - (c * h - s * h) * k, s * k, c * k, centre.y - (s * h + c * h) * k);
    cv::Mat crop;
    cv::warpAffine(bgr, crop, m, cv::Size(kMeshInput, kMeshInput), cv::INTER_LINEAR | cv::WARP_INVERSE_MAP,
                   cv::BORDER_CONSTANT, cv::Scalar::all(0));
    cv::Mat blob = cv::dnn::blobFromImage(crop, 1.0 / 255.0, cv::Size(kMeshInput, kMeshInput), cv::Scalar(), true, false);
    std::vector<cv::Mat> outs;
    {
      std::lock_guard<std::mutex> lock(mesh_mutex);
      auto& net = const_cast<cv::dnn::Net&>(mesh);
      net.setInput(blob, "input_1");
      net.forward(outs, std::vector<cv::String>{"conv2d_20", "conv2d_30"});
    }
    *flag = sigmoid_clipped(outs[1].ptr<float>()[0]);
    const float* p = outs[0].ptr<float>();
    std::vector<cv::Point2f> pts(kMeshPoints);
    for (int i = 0; i < kMeshPoints; ++i) {
      const double u = p[3 * i], v = p[3 * i + 1];
      pts[size_t(i)] = cv::Point2f(float(m(0, 0) * u + m(0, 1) * v + m(0, 2)), float(m(1, 0) * u + m(1, 1) * v + m(1, 2)));
    }
    return pts;
  }
};

namespace {
cv::Point2f mean_of(const std::vector<cv::Point2f>& pts, int from, int to) {
  cv::Point2f m(0, 0);
  for (int i = from; i <= to; ++i) m += pts[size_t(i)];
  return m / float(to - from + 1);
}
}  // namespace

LandmarkPredictor::LandmarkPredictor(const std::string& model_path) : impl_(std::make_unique<Impl>()) {
  if (model_path.size() >= 5 && model_path.compare(model_path.size() - 5, 5, ".onnx") == 0) {
    impl_->mesh = read_onnx(model_path, "landmark model");
    return;
  }
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

int LandmarkPredictor::num_parts() const { return is_mesh() ? 68 : static_cast<int>(impl_->model.num_parts()); }
bool LandmarkPredictor::is_mesh() const { return !impl_->mesh.empty(); }

std::vector<cv::Point2f> LandmarkPredictor::predict(const cv::Mat& img, const FaceBox& face, bool forehead) const {
  if (face.right <= face.left || face.bottom <= face.top) throw laa::Error(laa::codes::kArg, "empty face box");
  if (is_mesh()) {
    return guarded(laa::codes::kInternal, "landmark prediction", [&] {
      cv::Mat bgr;
      if (img.channels() == 3) bgr = img;
      else cv::cvtColor(img, bgr, img.channels() == 1 ? cv::COLOR_GRAY2BGR : cv::COLOR_BGRA2BGR);
      // The crop MediaPipe takes around a BlazeFace box (1.5 × its longer side),
      // from the box in RetinaFace's framing. Upright first; when the eyes show
      // a roll, once more turned by it, as MediaPipe turns by its keypoints.
      const cv::Point2d centre((face.left + face.right) / 2.0 - kBlazeToRetina[0] * face.width() / kBlazeToRetina[2],
                               (face.top + face.bottom) / 2.0 - kBlazeToRetina[1] * face.height() / kBlazeToRetina[3]);
      const double side = kMeshCropScale * std::max(face.width() / kBlazeToRetina[2], face.height() / kBlazeToRetina[3]);
      float flag = 0;
      auto mesh = impl_->run_mesh(bgr, centre, side, 0.0, &flag);
      auto points68 = mesh_to_68(mesh);
      const cv::Point2f le = mean_of(points68, 36, 41), re = mean_of(points68, 42, 47);
      const double roll = std::atan2(double(re.y - le.y), double(re.x - le.x));
      if (std::abs(roll) > 8.0 * CV_PI / 180.0) {
        mesh = impl_->run_mesh(bgr, centre, side, roll, &flag);
        points68 = mesh_to_68(mesh);
      }
      if (forehead)
        for (int i : kMeshForehead) points68.push_back(mesh[size_t(i)]);
      return points68;
    });
  }
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

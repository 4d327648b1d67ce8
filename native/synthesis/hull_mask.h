// Face-region masks from the 68 dlib landmarks (SBI step 4b: `random_get_hull`
// in the official `package_utils/deepfake_mask.py`, from the SBI / Face X-ray
// code, built on faceswap's mask classes). We have only dlib's 68-point
// predictor, so every mask is made from the 68 points (the official SBI path
// also does so with p 0.25; the 81-point forehead set would only change
// `facehull`).
#pragma once
#include <vector>

#include <opencv2/core.hpp>

namespace laa::synth {

enum class HullType {
  kDflFull = 0,     // 3 convex hulls: jaw + mouth, nose ridge, brows + eyes
  kExtended = 1,    // `components` with the brows pushed up by half the eye–brow distance
  kComponents = 2,  // 8 convex parts
  kFaceHull = 3,    // convex hull of all points
};
inline constexpr int kHullTypes = 4;

// CV_8UC1 of `size`, 255 inside the chosen hulls, 0 elsewhere. Points are
// truncated to int like `landmark.astype('int32')`; polygons are filled
// without anti-aliasing (the official masks are float32, for which OpenCV
// ignores LINE_AA, so `facehull` is aliased too).
cv::Mat hull_mask(cv::Size size, const std::vector<cv::Point2f>& landmarks68, HullType type);

}  // namespace laa::synth

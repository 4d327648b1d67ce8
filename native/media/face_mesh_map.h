// Fitted maps between MediaPipe's face models and the official pipeline's
// conventions (fitted on real faces of ../shared/data: 299 portraits, 102
// talking-head frames and 166 dev-eval frames; models/faces/README.md).
#pragma once
#include <array>
#include <vector>

#include <opencv2/core.hpp>

namespace laa::ops {

// BlazeFace box (centre cx, cy, size w, h) -> RetinaFace MobileNet-0.25's box
// on the same face: cx + a·w, cy + b·h, c·w, d·h (least squares on 570 faces;
// IoU with RetinaFace's box, median 0.724 before, 0.870 after).
inline constexpr std::array<double, 4> kBlazeToRetina = {-0.0008, -0.0628, 0.8378, 1.1742};

// FaceMesh's crop around a BlazeFace box: this many times its longer side.
inline constexpr double kMeshCropScale = 1.5;
inline constexpr int kMeshPoints = 468;

// The 68 iBUG points (dlib's order) from the 468 mesh vertices: vertex i, or
// the midpoint of i and j. Fitted against dlib's 68-point predictor on the
// faces above: mean distance 0.0364 of the inter-ocular distance
// (jaw 0.06, brows 0.04, eyes, nose and mouth 0.02–0.03); fitted on portraits
// and tested on video frames 0.0414. A pair only where its vertices lie
// within 0.25 of the inter-ocular distance and it beats the best vertex by 10 %.
inline constexpr std::array<std::array<int, 2>, 68> kMeshTo68 = {{
    {127, -1}, {234, -1}, {132, 137}, {215, -1}, {172, -1}, {136, 150}, {149, -1}, {148, 176},
    {152, -1}, {377, -1}, {378, -1}, {365, 379}, {397, -1}, {435, -1}, {361, 366}, {454, 366},
    {356, -1}, {70, 124}, {105, 70}, {105, 66}, {65, 107}, {55, -1}, {285, -1}, {295, 336},
    {334, 296}, {300, 334}, {300, 383}, {168, 6}, {197, -1}, {281, 3}, {4, -1}, {75, -1},
    {97, -1}, {164, 94}, {326, -1}, {327, 290}, {7, -1}, {161, 158}, {155, 27}, {155, -1},
    {153, -1}, {160, 230}, {382, -1}, {382, 257}, {249, 258}, {249, -1}, {373, -1}, {380, -1},
    {61, -1}, {76, 37}, {37, -1}, {11, -1}, {267, 302}, {409, 302}, {291, -1}, {406, 319},
    {314, -1}, {17, -1}, {84, -1}, {182, 89}, {183, 146}, {82, -1}, {13, -1}, {312, -1},
    {407, 375}, {317, -1}, {14, -1}, {87, -1}}};

// The forehead part of the face oval (vertices above the eyebrows), from the
// image-left end over the top of the head (vertex 10) to the image-right end.
inline constexpr std::array<int, 11> kMeshForehead = {21, 54, 103, 67, 109, 10, 338, 297, 332, 284, 251};

inline std::vector<cv::Point2f> mesh_to_68(const std::vector<cv::Point2f>& mesh) {
  std::vector<cv::Point2f> out;
  out.reserve(68);
  for (const auto& e : kMeshTo68)
    out.push_back(e[1] < 0 ? mesh[size_t(e[0])] : (mesh[size_t(e[0])] + mesh[size_t(e[1])]) * 0.5f);
  return out;
}

}  // namespace laa::ops

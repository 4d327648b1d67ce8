#include "synthesis/hull_mask.h"

#include <initializer_list>
#include <utility>

#include <opencv2/imgproc.hpp>

#include "core/errors.h"

namespace laa::synth {

namespace {

using Points = std::vector<cv::Point>;
// A part is a list of [first, last) index ranges into the 68 points.
using Part = std::initializer_list<std::pair<int, int>>;

// Python's // on ints (floor division), used by `extended`.
int floor_div2(int v) { return v >= 0 ? v / 2 : -((-v + 1) / 2); }
cv::Point floor_half(cv::Point p) { return {floor_div2(p.x), floor_div2(p.y)}; }

void fill_parts(cv::Mat& mask, const Points& pts, std::initializer_list<Part> parts) {
  Points merged, hull;
  for (const Part& part : parts) {
    merged.clear();
    for (auto [a, b] : part)
      for (int i = a; i < b; ++i) merged.push_back(pts[size_t(i)]);
    cv::convexHull(merged, hull);
    cv::fillConvexPoly(mask, hull, cv::Scalar(255), cv::LINE_8);
  }
}

// The 8 parts of faceswap's `components` mask.
void fill_components(cv::Mat& mask, const Points& p) {
  fill_parts(mask, p,
             {
                 {{0, 9}, {17, 18}},                      // right jaw
                 {{8, 17}, {26, 27}},                     // left jaw
                 {{17, 20}, {8, 9}},                      // right cheek
                 {{24, 27}, {8, 9}},                      // left cheek
                 {{19, 25}, {8, 9}},                      // nose ridge
                 {{17, 22}, {27, 28}, {31, 36}, {8, 9}},  // right eye
                 {{22, 27}, {27, 28}, {31, 36}, {8, 9}},  // left eye
                 {{27, 31}, {31, 36}},                    // nose
             });
}

}  // namespace

cv::Mat hull_mask(cv::Size size, const std::vector<cv::Point2f>& landmarks68, HullType type) {
  if (landmarks68.size() < 68) throw laa::Error(laa::codes::kArg, "hull_mask needs 68 landmarks");
  Points p(68);
  for (int i = 0; i < 68; ++i) p[size_t(i)] = cv::Point(int(landmarks68[size_t(i)].x), int(landmarks68[size_t(i)].y));

  cv::Mat mask = cv::Mat::zeros(size, CV_8UC1);
  switch (type) {
    case HullType::kDflFull:
      fill_parts(mask, p,
                 {
                     {{0, 17}, {48, 68}, {0, 1}, {8, 9}, {16, 17}},            // jaw + mouth
                     {{27, 31}, {33, 34}},                                      // nose ridge
                     {{17, 27}, {0, 1}, {27, 28}, {16, 17}, {33, 34}},          // brows + eyes
                 });
      break;
    case HullType::kExtended: {
      // Move each brow point up by half its distance to the eye point below
      // it (the outer ones to a point a quarter of the way to the face side).
      const cv::Point ml = floor_half(p[36] + p[0]), mr = floor_half(p[16] + p[45]);
      const cv::Point ql = floor_half(p[36] + ml), qr = floor_half(p[45] + mr);
      const cv::Point bot_l[5] = {ql, p[36], p[37], p[38], p[39]};
      const cv::Point bot_r[5] = {p[42], p[43], p[44], p[45], qr};
      Points q = p;
      for (int i = 0; i < 5; ++i) {
        q[size_t(17 + i)] = p[size_t(17 + i)] + floor_half(p[size_t(17 + i)] - bot_l[i]);
        q[size_t(22 + i)] = p[size_t(22 + i)] + floor_half(p[size_t(22 + i)] - bot_r[i]);
      }
      fill_components(mask, q);
      break;
    }
    case HullType::kComponents:
      fill_components(mask, p);
      break;
    case HullType::kFaceHull:
      fill_parts(mask, p, {{{0, 68}}});
      break;
    default:
      throw laa::Error(laa::codes::kArg, "unknown hull type " + std::to_string(int(type)));
  }
  return mask;
}

}  // namespace laa::synth

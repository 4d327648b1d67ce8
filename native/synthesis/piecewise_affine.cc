#include "synthesis/piecewise_affine.h"

#include <algorithm>
#include <array>

#include <opencv2/imgproc.hpp>

#include "synthesis/synthesis_internal.h"

namespace laa::synth {

cv::Mat piecewise_affine_mask(const cv::Mat& mask, Rng& rng) {
  constexpr int kN = 4;  // imgaug's nb_rows = nb_cols = 4
  const int H = mask.rows, W = mask.cols;
  const double s = rng.uniform(0.01, 0.15);
  // Jittered positions of the regular grid points (linspace(0, H/W, 4)).
  std::array<cv::Point2f, kN * kN> jit;
  for (int i = 0; i < kN; ++i)
    for (int j = 0; j < kN; ++j) {
      const double gy = double(H) * i / (kN - 1), gx = double(W) * j / (kN - 1);
      const double y = std::clamp(gy + normal(rng) * s * H, 0.0, double(H - 1));
      const double x = std::clamp(gx + normal(rng) * s * W, 0.0, double(W - 1));
      jit[size_t(i * kN + j)] = cv::Point2f(float(x), float(y));
    }
  const double cw = double(W) / (kN - 1), ch = double(H) / (kN - 1);
  cv::Mat map_x(H, W, CV_32F), map_y(H, W, CV_32F);
  for (int y = 0; y < H; ++y) {
    const double fy = y / ch;
    const int i = std::min(int(fy), kN - 2);
    const double v = fy - i;
    float* mx = map_x.ptr<float>(y);
    float* my = map_y.ptr<float>(y);
    for (int x = 0; x < W; ++x) {
      const double fx = x / cw;
      const int j = std::min(int(fx), kN - 2);
      const double u = fx - j;
      const cv::Point2f p00 = jit[size_t(i * kN + j)], p10 = jit[size_t(i * kN + j + 1)];
      const cv::Point2f p01 = jit[size_t((i + 1) * kN + j)], p11 = jit[size_t((i + 1) * kN + j + 1)];
      cv::Point2d q;
      if (u + v <= 1.0) q = cv::Point2d(p00) + u * cv::Point2d(p10 - p00) + v * cv::Point2d(p01 - p00);
      else q = cv::Point2d(p11) + (1 - u) * cv::Point2d(p01 - p11) + (1 - v) * cv::Point2d(p10 - p11);
      mx[x] = float(q.x);
      my[x] = float(q.y);
    }
  }
  cv::Mat warped;
  cv::remap(mask, warped, map_x, map_y, cv::INTER_LINEAR, cv::BORDER_CONSTANT, cv::Scalar());
  cv::Mat out;
  cv::compare(warped, 255, out, cv::CMP_GE);
  return out;
}

}  // namespace laa::synth

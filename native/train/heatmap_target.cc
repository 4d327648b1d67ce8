#include "train/heatmap_target.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <vector>

#include "core/errors.h"

namespace laa {

namespace {

struct Map {  // row-major view of the square grid T (96×96 at 384 px input)
  const uint8_t* p;
  int64_t N;
  uint8_t at(int64_t row, int64_t col) const {
    // Python indexing: negative indices wrap around (cal_mask_wh).
    return p[((row % N + N) % N) * N + (col % N + N) % N];
  }
};

// `cal_mask_wh`: w = run of T > 128 pixels up plus the run down from
// (row, col), h = the same left and right; the centre counts in both runs.
// The loop bounds (-N, N) are those of the official code, which lets the
// upward/leftward runs wrap around through negative indices.
void mask_wh(const Map& t, int64_t row, int64_t col, int64_t& w, int64_t& h) {
  const int64_t N = t.N;
  w = h = 0;
  for (int step : {-1, 1}) {
    for (int64_t s = 0; row + s > -N && row + s < N && t.at(row + s, col) > 128; s += step) ++w;
    for (int64_t s = 0; col + s > -N && col + s < N && t.at(row, col + s) > 128; s += step) ++h;
  }
}

// Draws one Gaussian with element-wise max into `hm` (96×96 float32), with the
// official index arithmetic (docs/IMPLEMENTATION.md, Training targets): the kernel has ceil(2t+1) samples centred
// at floor((2t+1)/2), and the window starts at trunc(col - t), so the peak is
// often one pixel up-left of the point. That shift is part of the target.
void draw_gaussian(float* hm, int64_t N, int64_t row, int64_t col, double sigma) {
  const double t = 3 * sigma, size = 2 * t + 1;
  const int64_t ul_x = int64_t(double(col) - t), ul_y = int64_t(double(row) - t);  // int(): trunc toward 0
  const int64_t br_x = int64_t(double(col) + t + 1), br_y = int64_t(double(row) + t + 1);
  if (ul_x >= N || ul_y >= N || br_x < 0 || br_y < 0) return;
  const int64_t len = int64_t(std::ceil(size));  // numpy arange(0, size)
  const double centre = std::floor(size / 2);
  // All in float32 as in the official code: np.arange(..., np.float32) keeps
  // the whole expression (and its exp) in float32 under numpy's scalar casting.
  std::vector<float> g(size_t(len * len));
  const float denom = float(2 * sigma * sigma);
  for (int64_t y = 0; y < len; ++y)
    for (int64_t x = 0; x < len; ++x) {
      const float dx = float(x) - float(centre), dy = float(y) - float(centre);
      g[size_t(y * len + x)] = std::exp(-(dx * dx + dy * dy) / denom);
    }
  const int64_t gx0 = std::max<int64_t>(0, -ul_x), gx1 = std::min<int64_t>(std::min(br_x, N) - ul_x, len);
  const int64_t gy0 = std::max<int64_t>(0, -ul_y), gy1 = std::min<int64_t>(std::min(br_y, N) - ul_y, len);
  for (int64_t gy = gy0; gy < gy1; ++gy)
    for (int64_t gx = gx0; gx < gx1; ++gx) {
      float& dst = hm[(ul_y + gy) * N + (ul_x + gx)];
      dst = std::max(dst, g[size_t(gy * len + gx)]);
    }
}

}  // namespace

double gaussian_radius(double height, double width, double min_overlap) {
  const double o = min_overlap;
  const double b1 = height + width, c1 = width * height * (1 - o) / (1 + o);
  const double r1 = (b1 + std::sqrt(b1 * b1 - 4 * c1)) / 2;
  const double b2 = 2 * (height + width), c2 = (1 - o) * width * height;
  const double r2 = (b2 + std::sqrt(b2 * b2 - 4 * 4 * c2)) / 2;
  const double a3 = 4 * o, b3 = -2 * o * (height + width), c3 = (o - 1) * width * height;
  const double r3 = (b3 + std::sqrt(b3 * b3 - 4 * a3 * c3)) / 2;
  return std::min({r1, r2, r3});
}

Targets encode_targets(const torch::Tensor& boundary) {
  if (boundary.scalar_type() != torch::kUInt8)
    throw Error(codes::kArg, "the blending boundary must be uint8");
  // Any even square grid (96 for the released 384 px input; input/4 in general).
  const int64_t N = boundary.dim() >= 2 ? boundary.size(-1) : 0;
  const bool ok_shape = N >= 2 && N % 2 == 0 && boundary.size(-2) == N &&
                        (boundary.dim() == 2 || (boundary.dim() == 3 && boundary.size(0) == 1));
  if (!ok_shape)
    throw Error(codes::kShape, "the blending boundary must have shape [S, S] or [1, S, S] with S even (96 for 384 px input), got " +
                                   c10::str(boundary.sizes()));
  auto src = boundary.contiguous().cpu();
  const Map t{src.data_ptr<uint8_t>(), N};

  Targets out;
  out.heatmap = torch::zeros({1, N, N}, torch::kFloat32);
  out.consistency = torch::zeros({1, N, N}, torch::kFloat32);
  float* hm = out.heatmap.data_ptr<float>();
  float* cs = out.consistency.data_ptr<float>();

  const uint8_t b_max = *std::max_element(t.p, t.p + N * N);
  const int64_t half = N / 2;
  // The official encoder's quadrant order, (x-frac, y-frac) = (0,0), (0,½), (½,0), (½,½).
  const std::array<std::array<int64_t, 2>, 4> quadrants{{{0, 0}, {0, half}, {half, 0}, {half, half}}};
  for (const auto& q : quadrants) {
    const int64_t x1 = q[0], y1 = q[1];
    int q_max = 0;
    for (int64_t r = y1; r < y1 + half; ++r)
      for (int64_t c = x1; c < x1 + half; ++c) q_max = std::max<int>(q_max, t.p[r * N + c]);
    if (q_max == 0) q_max = 1;  // official: an empty quadrant looks for value 1 (usually none)
    bool any = false;
    for (int64_t r = y1; r < y1 + half; ++r)
      for (int64_t c = x1; c < x1 + half; ++c) {
        if (t.p[r * N + c] != q_max) continue;  // every tie is a vulnerable point
        any = true;
        int64_t w, h;
        mask_wh(t, r, c, w, h);
        // Adaptive σ = r/3 + 1e-4, recomputed per point.
        const double sigma = gaussian_radius(double(h), double(w)) / 3 + 1e-4;
        draw_gaussian(hm, N, r, c, sigma);
      }
    // Self-consistency target: C = 255 − |B_max − T| on quadrants that produced points, then / 255.
    if (any)
      for (int64_t r = y1; r < y1 + half; ++r)
        for (int64_t c = x1; c < x1 + half; ++c)
          cs[r * N + c] = float(255 - std::abs(int(b_max) - int(t.p[r * N + c]))) / 255.0f;
  }
  return out;
}

}  // namespace laa

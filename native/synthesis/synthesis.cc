// Rng and sample_seed of the synthesis contract (synthesis.h), plus the
// checks and helpers sbi.cc and bi.cc share (synthesis_internal.h).
#include "synthesis/synthesis.h"

#include <cmath>
#include <mutex>
#include <string>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "core/errors.h"
#include "synthesis/synthesis_internal.h"

namespace laa::synth {

namespace {

uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

}  // namespace

Rng::Rng(uint64_t seed) {
  uint64_t x = seed;
  for (auto& s : s_) s = splitmix64(x);  // never all zero: splitmix64 is a bijection of distinct inputs
}

uint64_t Rng::next_u64() {
  const uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

double Rng::uniform() { return double(next_u64() >> 11) * 0x1.0p-53; }

double Rng::uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }

int Rng::randint(int lo, int hi_exclusive) {
  if (hi_exclusive <= lo)
    throw laa::Error(laa::codes::kArg, "randint needs lo < hi but got [" + std::to_string(lo) + ", " +
                                           std::to_string(hi_exclusive) + ")");
  // Lemire's multiply-and-reject: unbiased for every range.
  const uint64_t range = uint64_t(int64_t(hi_exclusive) - lo);
  __uint128_t m = __uint128_t(next_u64()) * range;
  uint64_t low = uint64_t(m);
  if (low < range) {
    const uint64_t threshold = (0 - range) % range;
    while (low < threshold) {
      m = __uint128_t(next_u64()) * range;
      low = uint64_t(m);
    }
  }
  return int(int64_t(lo) + int64_t(m >> 64));
}

bool Rng::chance(double p) { return uniform() < p; }

uint64_t sample_seed(uint64_t run_seed, int64_t epoch, int64_t index) {
  // Three chained splitmix64 steps: every input bit reaches every output bit,
  // and (run, epoch, index) triples that differ give unrelated streams.
  uint64_t x = run_seed;
  uint64_t h = splitmix64(x);
  x = h ^ uint64_t(epoch);
  h = splitmix64(x);
  x = h ^ uint64_t(index);
  return splitmix64(x);
}

double normal(Rng& rng) {
  // Box–Muller; 1 − u keeps the log argument in (0, 1].
  const double u1 = 1.0 - rng.uniform(), u2 = rng.uniform();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

void serial_opencv() {
  // The trainer makes samples on its own loader threads; OpenCV's TBB pool
  // would add a second layer of threads on the same cores (and OpenCV runs
  // only one parallel_for_ at a time process-wide anyway). Process-wide
  // setting, made once: the other OpenCV users here (frame decoding, the
  // 384-px crop warp) are small images too.
  static std::once_flag once;
  std::call_once(once, [] { cv::setNumThreads(0); });
}

std::vector<cv::Point2f> check_face(const cv::Mat& rgb, const std::vector<cv::Point2f>& landmarks, const char* what) {
  const std::string w(what);
  if (rgb.empty()) throw laa::Error(laa::codes::kArg, "Expected " + w + " to be a non-empty RGB image but it is empty");
  if (rgb.type() != CV_8UC3)
    throw laa::Error(laa::codes::kArg, "Expected " + w + " to be 8-bit 3-channel (CV_8UC3) but got type " +
                                           std::to_string(rgb.type()));
  if (rgb.cols < kMinFaceSide || rgb.rows < kMinFaceSide || rgb.cols > kMaxFaceSide || rgb.rows > kMaxFaceSide)
    throw laa::Error(laa::codes::kArg, "Expected " + w + " to be between " + std::to_string(kMinFaceSide) + " and " +
                                           std::to_string(kMaxFaceSide) + " px on each side but it is " +
                                           std::to_string(rgb.cols) + "x" + std::to_string(rgb.rows));
  if (landmarks.size() < 68)
    throw laa::Error(laa::codes::kArg, "Expected at least 68 landmarks for " + w + " but got " +
                                           std::to_string(landmarks.size()));
  // 81-point sets carry the 68 dlib points first (official
  // geo_landmarks_extraction.py); only those are used.
  std::vector<cv::Point2f> lms(landmarks.begin(), landmarks.begin() + 68);
  for (const auto& p : lms)
    if (!std::isfinite(p.x) || !std::isfinite(p.y) || std::abs(p.x) > 1e6f || std::abs(p.y) > 1e6f)
      throw laa::Error(laa::codes::kArg, "Expected finite landmark coordinates for " + w);
  return lms;
}

void check_options(const PairOptions& opt) {
  auto ok = [](int s) { return s >= 2 && s <= kMaxOutputSize; };
  if (!ok(opt.input_size) || !ok(opt.target_size))
    throw laa::Error(laa::codes::kArg, "Expected inputSize and targetSize between 2 and " +
                                           std::to_string(kMaxOutputSize) + " but got " +
                                           std::to_string(opt.input_size) + " and " + std::to_string(opt.target_size));
  if (!(opt.bi_fake_probability >= 0 && opt.bi_fake_probability <= 1))
    throw laa::Error(laa::codes::kArg, "Expected the BI fake probability to be in [0, 1]");
}

cv::Mat boundary_u8(const cv::Mat& m) {
  // `datasets/sbi/utils.py::gen_target`: B = 4M(1 − M) in float32, stored as
  // uint8 = trunc(255·B).
  cv::Mat b(m.size(), CV_8UC1);
  for (int y = 0; y < m.rows; ++y) {
    const float* s = m.ptr<float>(y);
    uint8_t* d = b.ptr<uint8_t>(y);
    for (int x = 0; x < m.cols; ++x) {
      const float v = 4.0f * s[x] * (1.0f - s[x]) * 255.0f;
      d[x] = v <= 0.0f ? 0 : v >= 255.0f ? 255 : uint8_t(v);
    }
  }
  return b;
}

cv::Mat final_warp(const cv::Mat& src, const cv::Mat& matrix, int size) {
  // Official `package_utils/transform.py` warp: cv2.warpAffine, INTER_LINEAR,
  // constant-0 border.
  cv::Mat out;
  cv::warpAffine(src, out, matrix, cv::Size(size, size), cv::INTER_LINEAR, cv::BORDER_CONSTANT, cv::Scalar());
  return out;
}

}  // namespace laa::synth

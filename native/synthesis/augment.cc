#include "synthesis/augment.h"

#include <algorithm>
#include <array>
#include <cmath>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/errors.h"
#include "synthesis/synthesis_internal.h"

namespace laa::synth {

namespace {

// uint8 value of a float32 LUT entry after np.clip(·, 0, 255).astype(uint8).
inline uint8_t clip_trunc(float v) { return v <= 0.0f ? 0 : v >= 255.0f ? 255 : uint8_t(v); }

// Applies per-channel look-up tables (3 × 256) in place.
void apply_lut3(cv::Mat& img, const std::array<std::array<uint8_t, 256>, 3>& t) {
  cv::Mat lut(1, 256, CV_8UC3);
  auto* p = lut.ptr<cv::Vec3b>(0);
  for (int i = 0; i < 256; ++i) p[i] = {t[0][size_t(i)], t[1][size_t(i)], t[2][size_t(i)]};
  cv::LUT(img, lut, img);
}

void apply_lut1(cv::Mat& img, const std::array<uint8_t, 256>& t) {
  cv::Mat lut(1, 256, CV_8UC1, const_cast<uint8_t*>(t.data()));
  cv::LUT(img, lut, img);
}

// albumentations `_shift_image_uint8`: float32 arange + shift, clip, truncate.
std::array<uint8_t, 256> shift_lut(double shift) {
  std::array<uint8_t, 256> t{};
  for (int i = 0; i < 256; ++i) t[size_t(i)] = clip_trunc(float(i) + float(shift));
  return t;
}

// Python's float % for a positive modulus.
double py_mod(double a, double m) {
  double r = std::fmod(a, m);
  return r < 0 ? r + m : r;
}

// HSV round trip with a hue LUT (OpenCV 8-bit hue is 0..179) and sat/val LUTs.
void hsv_luts(cv::Mat& img, const std::array<uint8_t, 256>& h, const std::array<uint8_t, 256>& s,
              const std::array<uint8_t, 256>& v) {
  cv::cvtColor(img, img, cv::COLOR_RGB2HSV);
  apply_lut3(img, {h, s, v});
  cv::cvtColor(img, img, cv::COLOR_HSV2RGB);
}

std::array<uint8_t, 256> hue_lut(double shift) {
  std::array<uint8_t, 256> t{};
  for (int i = 0; i < 256; ++i) t[size_t(i)] = uint8_t(py_mod(i + shift, 180.0));
  return t;
}

std::array<uint8_t, 256> identity_lut() {
  std::array<uint8_t, 256> t{};
  for (int i = 0; i < 256; ++i) t[size_t(i)] = uint8_t(i);
  return t;
}

// --- ColorJitter (torchvision semantics, albumentations 1.1 uint8 code) -------
void jitter_brightness(cv::Mat& img, double f) {
  std::array<uint8_t, 256> t{};
  for (int i = 0; i < 256; ++i) t[size_t(i)] = clip_trunc(float(i * f));
  apply_lut1(img, t);
}

void jitter_contrast(cv::Mat& img, double f) {
  cv::Mat gray;
  cv::cvtColor(img, gray, cv::COLOR_RGB2GRAY);
  const double mean = cv::mean(gray)[0];
  std::array<uint8_t, 256> t{};
  for (int i = 0; i < 256; ++i) t[size_t(i)] = clip_trunc(float(i * f + mean * (1 - f)));
  apply_lut1(img, t);
}

void jitter_saturation(cv::Mat& img, double f) {
  cv::Mat gray, gray3;
  cv::cvtColor(img, gray, cv::COLOR_RGB2GRAY);
  cv::cvtColor(gray, gray3, cv::COLOR_GRAY2RGB);
  cv::addWeighted(img, f, gray3, 1 - f, 0, img);
}

void jitter_hue(cv::Mat& img, double f) {
  const auto id = identity_lut();
  hsv_luts(img, hue_lut(180.0 * f), id, id);
}

}  // namespace

std::vector<cv::Point2f> hflip_landmarks68(const std::vector<cv::Point2f>& lms, int width) {
  if (lms.size() < 68) throw laa::Error(laa::codes::kArg, "hflip_landmarks68 needs 68 landmarks");
  // kMirror[i]: which original point lands at index i of the mirrored face.
  static const std::array<int, 68> kMirror = [] {
    std::array<int, 68> m{};
    auto reversed = [&](int dst, int src_first, int src_last) {  // dst.. = src_last..src_first
      for (int k = 0; k <= src_last - src_first; ++k) m[size_t(dst + k)] = src_last - k;
    };
    reversed(0, 0, 16);    // jaw
    reversed(17, 17, 26);  // brows
    for (int i = 27; i < 31; ++i) m[size_t(i)] = i;  // nose ridge
    reversed(31, 31, 35);  // nose base
    reversed(36, 42, 45);  // right eye <- left eye (corners and upper lid)
    reversed(40, 46, 47);  //   lower lid
    reversed(42, 36, 39);  // left eye <- right eye
    reversed(46, 40, 41);
    reversed(48, 48, 54);  // outer lips, upper
    reversed(55, 55, 59);  //   lower
    reversed(60, 60, 64);  // inner lips, upper
    reversed(65, 65, 67);  //   lower
    return m;
  }();
  std::vector<cv::Point2f> out(68);
  for (size_t i = 0; i < 68; ++i) {
    const cv::Point2f& p = lms[size_t(kMirror[i])];
    out[i] = {float(width) - p.x, p.y};
  }
  return out;
}

void rgb_shift(cv::Mat& img, double dr, double dg, double db) {
  apply_lut3(img, {shift_lut(dr), shift_lut(dg), shift_lut(db)});
}

void hsv_shift(cv::Mat& img, double dh, double ds, double dv) {
  // `_shift_hsv_uint8`: hue (x + dh) mod 180, sat/val clip(x + d), all truncated.
  hsv_luts(img, hue_lut(dh), shift_lut(ds), shift_lut(dv));
}

void brightness_contrast(cv::Mat& img, double alpha, double beta) {
  std::array<uint8_t, 256> t{};
  for (int i = 0; i < 256; ++i) t[size_t(i)] = clip_trunc(float(i) * float(alpha) + float(beta * 255.0));
  apply_lut1(img, t);
}

void jpeg(cv::Mat& img, int quality) {
  // albumentations hands the RGB array to cv2.imencode as is (OpenCV takes it
  // for BGR), so the chroma planes are those of the swapped image; kept.
  std::vector<uchar> buf;
  if (!cv::imencode(".jpg", img, buf, {cv::IMWRITE_JPEG_QUALITY, quality}))
    throw laa::Error(laa::codes::kInternal, "JPEG encoding failed");
  cv::Mat out = cv::imdecode(buf, cv::IMREAD_UNCHANGED);
  if (out.empty()) throw laa::Error(laa::codes::kInternal, "JPEG decoding failed");
  img = out;
}

void sharpen(cv::Mat& img, double alpha, double lightness) {
  // (1 − α)·identity + α·[[-1 -1 -1], [-1 8+L -1], [-1 -1 -1]]
  cv::Mat k(3, 3, CV_32F, cv::Scalar(float(-alpha)));
  k.at<float>(1, 1) = float((1 - alpha) + alpha * (8 + lightness));
  cv::Mat out;
  cv::filter2D(img, out, -1, k);
  img = out;
}

void random_downscale(cv::Mat& img, int ratio) {
  cv::Mat small;
  cv::resize(img, small, cv::Size(int(img.cols / double(ratio)), int(img.rows / double(ratio))), 0, 0,
             cv::INTER_NEAREST);
  cv::resize(small, img, img.size(), 0, 0, cv::INTER_LINEAR);
}

void source_transforms(cv::Mat& img, Rng& rng) {
  if (rng.chance(0.3)) {
    const double r = rng.uniform(-20, 20), g = rng.uniform(-20, 20), b = rng.uniform(-20, 20);
    rgb_shift(img, r, g, b);
  }
  {
    const double h = rng.uniform(-0.3, 0.3), s = rng.uniform(-0.3, 0.3), v = rng.uniform(-0.3, 0.3);
    hsv_shift(img, h, s, v);
  }
  {
    const double alpha = 1.0 + rng.uniform(-0.1, 0.1), beta = rng.uniform(-0.1, 0.1);
    brightness_contrast(img, alpha, beta);
  }
  if (rng.randint(0, 2) == 0) {
    random_downscale(img, rng.randint(0, 2) == 0 ? 2 : 4);
  } else {
    const double alpha = rng.uniform(0.2, 0.5), lightness = rng.uniform(0.5, 1.0);
    sharpen(img, alpha, lightness);
  }
}

void pair_colour(const std::vector<cv::Mat*>& images, Rng& rng) {
  if (rng.chance(0.3)) {
    const double r = rng.uniform(-20, 20), g = rng.uniform(-20, 20), b = rng.uniform(-20, 20);
    for (cv::Mat* m : images) rgb_shift(*m, r, g, b);
  }
  if (rng.chance(0.3)) {
    const double h = rng.uniform(-0.3, 0.3), s = rng.uniform(-0.3, 0.3), v = rng.uniform(-0.3, 0.3);
    for (cv::Mat* m : images) hsv_shift(*m, h, s, v);
  }
  if (rng.chance(0.3)) {
    const double alpha = 1.0 + rng.uniform(-0.3, 0.3), beta = rng.uniform(-0.3, 0.3);
    for (cv::Mat* m : images) brightness_contrast(*m, alpha, beta);
  }
  if (rng.chance(0.5)) {
    const int q = rng.randint(40, 101);
    for (cv::Mat* m : images) jpeg(*m, q);
  }
}

void bi_colour_jitter(cv::Mat& img, Rng& rng) {
  // CLAHE and RandomContrast are configured with p 0: left out.
  if (rng.chance(0.3)) {  // ColorJitter(0.2, 0.2, 0.2, 0.2), the four in random order
    const double b = rng.uniform(0.8, 1.2), c = rng.uniform(0.8, 1.2), s = rng.uniform(0.8, 1.2),
                 h = rng.uniform(-0.2, 0.2);
    std::array<int, 4> order = {0, 1, 2, 3};
    for (int i = 3; i > 0; --i) std::swap(order[size_t(i)], order[size_t(rng.randint(0, i + 1))]);
    for (int op : order) {
      if (op == 0) jitter_brightness(img, b);
      else if (op == 1) jitter_contrast(img, c);
      else if (op == 2) jitter_saturation(img, s);
      else jitter_hue(img, h);
    }
  }
  if (rng.chance(0.5)) jpeg(img, rng.randint(40, 101));
  if (rng.chance(0.3)) {
    const double r = rng.uniform(-20, 20), g = rng.uniform(-20, 20), b = rng.uniform(-20, 20);
    rgb_shift(img, r, g, b);
  }
  if (rng.chance(0.5)) {  // RandomGamma(80, 120)
    const double gamma = rng.uniform(80, 120) / 100.0;
    std::array<uint8_t, 256> t{};
    for (int i = 0; i < 256; ++i) t[size_t(i)] = uint8_t(std::pow(i / 255.0, gamma) * 255.0);
    apply_lut1(img, t);
  }
  if (rng.chance(0.5)) {
    if (rng.randint(0, 2) == 0) {  // GaussianBlur, k in {3, 5, 7}, sigma from k
      const int k = 3 + 2 * rng.randint(0, 3);
      cv::GaussianBlur(img, img, cv::Size(k, k), 0);
    } else {  // GaussNoise(var 10–50, per channel)
      const double sigma = std::sqrt(rng.uniform(10, 50));
      for (int y = 0; y < img.rows; ++y) {
        uint8_t* p = img.ptr<uint8_t>(y);
        for (int x = 0; x < img.cols * 3; ++x) p[x] = clip_trunc(float(p[x]) + float(sigma * normal(rng)));
      }
    }
  }
  if (rng.chance(0.5)) {
    if (rng.randint(0, 2) == 0) {
      const double alpha = 1.0 + rng.uniform(-0.1, 0.1), beta = rng.uniform(-0.1, 0.1);
      brightness_contrast(img, alpha, beta);
    } else {
      const double h = rng.uniform(-20, 20), s = rng.uniform(-20, 20), v = rng.uniform(-20, 20);
      hsv_shift(img, h, s, v);
    }
  }
}

void random_affine(cv::Mat& img, cv::Mat& mask, Rng& rng) {
  const cv::Size size = img.empty() ? mask.size() : img.size();
  const double tx = rng.uniform(-0.03, 0.03) * size.width, ty = rng.uniform(-0.015, 0.015) * size.height;
  const double sx = rng.uniform(0.95, 1 / 0.95), sy = rng.uniform(0.95, 1 / 0.95);
  // albumentations Affine: to top-left, scale, back to the centre (w/2 − 0.5), translate.
  const double cx = size.width / 2.0 - 0.5, cy = size.height / 2.0 - 0.5;
  const cv::Matx23d m(sx, 0, cx - sx * cx + tx, 0, sy, cy - sy * cy + ty);
  cv::Mat out;
  if (!img.empty()) {
    cv::warpAffine(img, out, m, size, cv::INTER_LINEAR, cv::BORDER_CONSTANT, cv::Scalar());
    img = out;
  }
  if (!mask.empty()) {
    cv::Mat mout;
    cv::warpAffine(mask, mout, m, size, cv::INTER_NEAREST, cv::BORDER_CONSTANT, cv::Scalar());
    mask = mout;
  }
}

void elastic_mask(cv::Mat& mask, Rng& rng, double alpha, double sigma) {
  const int radius = int(4.0 * sigma + 0.5);  // scipy gaussian_filter, truncate 4
  const cv::Size k(2 * radius + 1, 2 * radius + 1);
  cv::Mat dx(mask.size(), CV_32F), dy(mask.size(), CV_32F);
  for (cv::Mat* d : {&dx, &dy}) {
    float* p = d->ptr<float>(0);
    for (size_t i = 0, n = d->total(); i < n; ++i) p[i] = float(rng.uniform() * 2 - 1);
    cv::GaussianBlur(*d, *d, k, sigma, sigma, cv::BORDER_REFLECT);
  }
  for (int y = 0; y < mask.rows; ++y) {
    float* px = dx.ptr<float>(y);
    float* py = dy.ptr<float>(y);
    for (int x = 0; x < mask.cols; ++x) {
      px[x] = float(x) + float(alpha) * px[x];
      py[x] = float(y) + float(alpha) * py[x];
    }
  }
  cv::Mat out;
  cv::remap(mask, out, dx, dy, cv::INTER_NEAREST, cv::BORDER_REFLECT_101);
  mask = out;
}

void geometry_transform(const std::vector<cv::Mat*>& images, const std::vector<cv::Mat*>& masks, Rng& rng) {
  const cv::Mat& ref = images.empty() ? *masks.at(0) : *images[0];
  const int H = ref.rows, W = ref.cols;
  auto each = [&](auto&& f) {
    for (cv::Mat* m : images) f(*m, true);
    for (cv::Mat* m : masks) f(*m, false);
  };
  if (rng.chance(0.5)) each([](cv::Mat& m, bool) { cv::flip(m, m, 1); });
  if (!rng.chance(0.5)) return;
  switch (rng.randint(0, 3)) {
    case 0: {  // RandomCrop((1 − c_h)·H, (1 − c_w)·W), c in {0.00, …, 0.14}
      const int ch = int((1.0 - rng.randint(0, 15) / 100.0) * H);
      const int cw = int((1.0 - rng.randint(0, 15) / 100.0) * W);
      const double hs = rng.uniform(), ws = rng.uniform();
      const cv::Rect r(int((W - cw) * ws), int((H - ch) * hs), cw, ch);
      each([&](cv::Mat& m, bool) { m = m(r).clone(); });
      break;
    }
    case 1: {  // RandomScale(0.15): int(side·s), images linear, masks nearest
      const double s = rng.uniform(0.85, 1.15);
      const cv::Size to(int(W * s), int(H * s));
      if (to.width < 1 || to.height < 1 || to == cv::Size(W, H)) break;
      each([&](cv::Mat& m, bool image) {
        cv::Mat out;
        cv::resize(m, out, to, 0, 0, image ? cv::INTER_LINEAR : cv::INTER_NEAREST);
        m = out;
      });
      break;
    }
    default: {  // RandomErasing: one zero rectangle, sized on a nominal 257×257 frame
      constexpr int kNominal = 257;
      for (int attempt = 0; attempt < 10; ++attempt) {
        const double area = rng.uniform(0.02, 1.0 / 3.0) * kNominal * kNominal;
        const double aspect = std::exp(rng.uniform(std::log(0.3), std::log(3.33)));
        const int h = int(std::nearbyint(std::sqrt(area * aspect)));
        const int w = int(std::nearbyint(std::sqrt(area / aspect)));
        if (h >= kNominal || w >= kNominal) continue;
        const int top = rng.randint(0, kNominal - h + 1), left = rng.randint(0, kNominal - w + 1);
        const cv::Rect r = cv::Rect(left, top, w, h) & cv::Rect(0, 0, W, H);
        if (!r.empty()) each([&](cv::Mat& m, bool) { m(r).setTo(cv::Scalar::all(0)); });
        break;
      }
      break;
    }
  }
}

}  // namespace laa::synth

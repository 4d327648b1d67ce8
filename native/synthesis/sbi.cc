// Self-blended images (official `SBIFaceForensic.__getitem__` and
// `datasets/sbi/utils.py::gen_SBI`; steps 2–9 of docs/IMPLEMENTATION.md,
// SBI online synthesis): a real face and a fake made by
// blending a slightly transformed copy of the same face into itself.
#include <array>

#include <opencv2/imgproc.hpp>

#include "core/errors.h"
#include "synthesis/augment.h"
#include "media/crop.h"
#include "core/guard.h"
#include "synthesis/hull_mask.h"
#include "synthesis/synthesis.h"
#include "synthesis/synthesis_internal.h"

namespace laa::synth {

namespace {

// Divides by the maximum like numpy's `m / m.max()` (a true float32
// division, so the maximum becomes exactly 1). Returns false for an all-zero mask.
bool normalise_by_max(cv::Mat& m) {
  double mx = 0;
  cv::minMaxLoc(m, nullptr, &mx);
  if (!(mx > 0)) return false;
  const float d = float(mx);
  for (int y = 0; y < m.rows; ++y) {
    float* p = m.ptr<float>(y);
    for (int x = 0; x < m.cols; ++x) p[x] /= d;
  }
  return true;
}

// `get_blend_mask` (`package_utils/deepfake_mask.py`) as LAA-Net changed it
// from the SBI original (docs/IMPLEMENTATION.md, step 4e): the binary mask
// is resized to a random size relative to the frame, blurred, cut down to
// its fully-inside core (value == max), blurred again with a wide sigma,
// normalised and resized back. float32 in [0, 1].
cv::Mat blend_mask(const cv::Mat& mask8, Rng& rng) {
  const int H = mask8.rows, W = mask8.cols;
  const int h = rng.randint(int(0.8 * H), int(H / 0.8));
  const int w = rng.randint(int(0.8 * W), int(W / 0.8));
  const int k1 = 5 + 2 * rng.randint(0, 11);  // random.randrange(5, 26, 2)
  const int k2 = 5 + 2 * rng.randint(0, 11);
  const int sigma2 = rng.randint(5, 46);

  cv::Mat m, resized;
  mask8.convertTo(m, CV_32F, 1.0 / 255.0);
  cv::resize(m, resized, cv::Size(w, h), 0, 0, cv::INTER_LINEAR);
  cv::GaussianBlur(resized, m, cv::Size(k1, k1), 0);
  if (!normalise_by_max(m)) throw laa::Error(laa::codes::kArg, "the face mask is empty (landmarks outside the image?)");
  // mask[mask < 1] = 0 on the normalised mask keeps exactly the pixels equal to the maximum.
  for (int y = 0; y < m.rows; ++y) {
    float* p = m.ptr<float>(y);
    for (int x = 0; x < m.cols; ++x) p[x] = p[x] >= 1.0f ? 1.0f : 0.0f;
  }
  cv::GaussianBlur(m, m, cv::Size(k2, k2), sigma2);
  normalise_by_max(m);
  cv::Mat out;
  cv::resize(m, out, cv::Size(W, H), 0, 0, cv::INTER_LINEAR);
  return out;
}

// fake = (r·M)·source + (1 − r·M)·target in float32, truncated to uint8
// (`dynamic_blend` + `.astype(np.uint8)`).
cv::Mat blend(const cv::Mat& source, const cv::Mat& target, const cv::Mat& m, float ratio) {
  cv::Mat out(target.size(), CV_8UC3);
  for (int y = 0; y < target.rows; ++y) {
    const uint8_t* s = source.ptr<uint8_t>(y);
    const uint8_t* t = target.ptr<uint8_t>(y);
    const float* a = m.ptr<float>(y);
    uint8_t* o = out.ptr<uint8_t>(y);
    for (int x = 0; x < target.cols; ++x) {
      const float w = a[x] * ratio;
      for (int c = 0; c < 3; ++c) {
        const float v = w * float(s[3 * x + c]) + (1.0f - w) * float(t[3 * x + c]);
        o[3 * x + c] = v <= 0.0f ? 0 : v >= 255.0f ? 255 : uint8_t(v);
      }
    }
  }
  return out;
}

constexpr std::array<float, 6> kBlendRatios = {0.25f, 0.5f, 0.75f, 1.0f, 1.0f, 1.0f};

}  // namespace

TrainingPair make_sbi_pair(const cv::Mat& rgb, const std::vector<cv::Point2f>& landmarks, Rng& rng,
                           const PairOptions& opt) {
  check_options(opt);
  std::vector<cv::Point2f> lms = check_face(rgb, landmarks, "the face crop");
  serial_opencv();
  return ops::guarded(laa::codes::kInternal, "SBI synthesis", [&] {
    // Step 2: flip image and landmarks together (train only).
    cv::Mat img;
    if (opt.train && rng.chance(0.5)) {
      cv::flip(rgb, img, 1);
      lms = hflip_landmarks68(lms, rgb.cols);
    } else {
      img = rgb.clone();
    }
    // Step 3.
    const int margin = rng.randint(5, 25);

    // Step 4 (gen_SBI). a: only 68 points here, so the "first 68 with p 0.25" choice is moot.
    cv::Mat mask8 = hull_mask(img.size(), lms, HullType(rng.randint(0, kHullTypes)));
    // c: the colour/blur transforms go to the source or, as often, to the target.
    cv::Mat source = img.clone();
    if (rng.chance(0.5)) source_transforms(source, rng);
    else source_transforms(img, rng);
    // d: affine on source and mask, elastic on the mask only.
    random_affine(source, mask8, rng);
    elastic_mask(mask8, rng);
    // e: soft mask, blend with a random ratio; M stays unscaled (`dynamic_blend`).
    const cv::Mat M = blend_mask(mask8, rng);
    const float ratio = kBlendRatios[size_t(rng.randint(0, int(kBlendRatios.size())))];
    cv::Mat fake = blend(source, img, M, ratio);
    cv::Mat real = img;

    // Step 5: B, then the margin crop of everything.
    const cv::Rect inner(margin, margin, img.cols - 2 * margin, img.rows - 2 * margin);
    cv::Mat b_fake = boundary_u8(M(inner));
    real = real(inner).clone();
    fake = fake(inner).clone();
    cv::Mat m_dbg = opt.debug ? M(inner).clone() : cv::Mat();

    // Step 6: the warp's centre/scale come from the cropped size, before geometry.
    const cv::Mat to_input = ops::align_corners_matrix(inner.width, inner.height, opt.input_size);
    const cv::Mat to_target = ops::align_corners_matrix(inner.width, inner.height, opt.target_size);

    // Step 7 (train). The real image's boundary is all zeros whatever happens to it.
    if (opt.train) {
      std::vector<cv::Mat*> masks = {&b_fake};
      if (opt.debug) masks.push_back(&m_dbg);
      geometry_transform({&real, &fake}, masks, rng);
    }

    // Step 8.
    TrainingPair out;
    out.real = final_warp(real, to_input, opt.input_size);
    out.fake = final_warp(fake, to_input, opt.input_size);
    out.boundary_fake = final_warp(b_fake, to_target, opt.target_size);
    out.boundary_real = cv::Mat::zeros(opt.target_size, opt.target_size, CV_8UC1);
    if (opt.debug) {
      out.mask = final_warp(m_dbg, to_input, opt.input_size);
      out.mask_target = final_warp(m_dbg, to_target, opt.target_size);
    }

    // Step 9 (the official code also runs it for val; the contract keeps it to train).
    if (opt.train) pair_colour({&out.real, &out.fake}, rng);
    return out;
  });
}

}  // namespace laa::synth

// Blended images, Face X-ray style (official `datasets/face_forensic_hm.py` +
// `package_utils/bi_online_generation.py`): with p 0.5 the background
// face as it is (real), else a similar-looking partner face blended into it
// through a deformed hull mask with feathered edges (fake).
#include <algorithm>

#include <opencv2/imgproc.hpp>

#include "core/errors.h"
#include "synthesis/augment.h"
#include "media/crop.h"
#include "core/guard.h"
#include "synthesis/hull_mask.h"
#include "synthesis/piecewise_affine.h"
#include "synthesis/synthesis.h"
#include "synthesis/synthesis_internal.h"

namespace laa::synth {

namespace {

constexpr int kWork = 317;                           // the BI code's working size
const cv::Rect kCrop(30, 60, 257, 257);              // face_img[60:317, 30:287]

// skimage.transform.resize stand-in: it anti-aliases when shrinking
// (INTER_AREA here) and is bilinear otherwise. (skimage's float result is
// truncated to uint8 by the official code; cv::resize rounds.)
cv::Mat resize_to(const cv::Mat& src, int side) {
  cv::Mat out;
  const bool shrink = side < src.cols || side < src.rows;
  cv::resize(src, out, cv::Size(side, side), 0, 0, shrink ? cv::INTER_AREA : cv::INTER_LINEAR);
  return out;
}

// `random_erode_dilate`: with p 0.5 erode with an odd k in [1, 21], else
// dilate with an odd k in [1, 5] (randint, then even k + 1), square kernel.
void random_erode_dilate(cv::Mat& mask, Rng& rng) {
  const bool erode = rng.chance(0.5);
  int k = erode ? rng.randint(1, 22) : rng.randint(1, 6);
  if (k % 2 == 0) ++k;
  const cv::Mat kernel = cv::Mat::ones(k, k, CV_8U);
  if (erode) cv::erode(mask, mask, kernel);
  else cv::dilate(mask, mask, kernel);
}

// `colorTransfer(background, foreground, mask)`: moves the foreground's mean
// colour inside the mask onto the background's (clip, truncate).
void colour_transfer(const cv::Mat& bg, cv::Mat& fg, const cv::Mat& mask) {
  const cv::Scalar mean_bg = cv::mean(bg, mask), mean_fg = cv::mean(fg, mask);
  for (int y = 0; y < fg.rows; ++y) {
    const uint8_t* m = mask.ptr<uint8_t>(y);
    uint8_t* p = fg.ptr<uint8_t>(y);
    for (int x = 0; x < fg.cols; ++x) {
      if (!m[x]) continue;
      for (int c = 0; c < 3; ++c) {
        const double v = std::clamp(p[3 * x + c] - mean_fg[c] + mean_bg[c], 0.0, 255.0);
        p[3 * x + c] = uint8_t(v);
      }
    }
  }
}

// `blendImages(fg, bg, mask, 0.2)`: inside the mask, w = clip(d / (0.2 ·
// largest side of the mask's bounding box), 0, 1) with d the distance to the
// convex hull of the mask's pixels; image = w·fg + (1 − w)·bg (truncated),
// M = w. The official code calls pointPolygonTest for every pixel; here the
// distance transform of the filled hull, minus the one pixel it counts to
// the first outside pixel, gives d (within about half a pixel) in O(pixels).
void feathered_blend(const cv::Mat& fg, const cv::Mat& bg, const cv::Mat& mask, cv::Mat& out, cv::Mat& m) {
  std::vector<cv::Point> pts, hull;
  cv::findNonZero(mask, pts);
  const cv::Rect box = cv::boundingRect(pts);
  const float feather = 0.2f * float(std::max(box.width, box.height) - 1);
  cv::convexHull(pts, hull);
  cv::Mat filled = cv::Mat::zeros(mask.size(), CV_8UC1), dist;
  cv::fillConvexPoly(filled, hull, cv::Scalar(255), cv::LINE_8);
  cv::distanceTransform(filled, dist, cv::DIST_L2, cv::DIST_MASK_PRECISE);

  out = bg.clone();
  m = cv::Mat::zeros(mask.size(), CV_32F);
  for (int y = 0; y < mask.rows; ++y) {
    const uint8_t* k = mask.ptr<uint8_t>(y);
    const float* d = dist.ptr<float>(y);
    const uint8_t* f = fg.ptr<uint8_t>(y);
    uint8_t* o = out.ptr<uint8_t>(y);
    float* w = m.ptr<float>(y);
    for (int x = 0; x < mask.cols; ++x) {
      if (!k[x]) continue;
      const float a = feather > 0 ? std::clamp((d[x] - 1.0f) / feather, 0.0f, 1.0f) : 1.0f;
      w[x] = a;
      for (int c = 0; c < 3; ++c) {
        const float v = a * float(f[3 * x + c]) + (1.0f - a) * float(o[3 * x + c]);
        o[3 * x + c] = uint8_t(std::clamp(v, 0.0f, 255.0f));
      }
    }
  }
}

}  // namespace

TrainingSample make_bi_sample(const cv::Mat& rgb, const std::vector<cv::Point2f>& landmarks,
                              const cv::Mat& partner_rgb, const std::vector<cv::Point2f>& partner_landmarks,
                              Rng& rng, const PairOptions& opt) {
  check_options(opt);
  const std::vector<cv::Point2f> lms = check_face(rgb, landmarks, "the face crop");
  // The partner's landmarks only serve to pick it (nearest landmarks, the
  // official `best_match`); the blend uses the background's hull. Checked
  // when given.
  if (partner_landmarks.empty()) check_face(partner_rgb, std::vector<cv::Point2f>(68), "the partner face");
  else check_face(partner_rgb, partner_landmarks, "the partner face");
  serial_opencv();
  return ops::guarded(laa::codes::kInternal, "BI synthesis", [&] {
    // Step 2: colour jitter of the background frame, before blending (train only).
    cv::Mat bg = rgb.clone();
    if (opt.train) bi_colour_jitter(bg, rng);

    TrainingSample out;
    out.label = rng.chance(opt.bi_fake_probability) ? 1 : 0;
    cv::Mat image, M, background;  // kWork²
    if (out.label == 1) {
      // Step 3: both faces at a random size, hull from the background's landmarks
      // (scaled by their true size; the official code assumes 317-px inputs).
      const int aug = rng.randint(128, kWork + 1);
      const cv::Mat bg_a = resize_to(bg, aug);
      cv::Mat fg_a = resize_to(partner_rgb, aug);
      std::vector<cv::Point2f> lms_a(lms);
      for (auto& p : lms_a) p = {p.x * float(aug) / float(rgb.cols), p.y * float(aug) / float(rgb.rows)};
      // The official loader redraws another sample when the deformed mask is
      // empty; we redraw the mask a few times instead.
      cv::Mat mask;
      for (int attempt = 0; attempt < 4 && cv::countNonZero(mask) == 0; ++attempt) {
        mask = hull_mask(bg_a.size(), lms_a, HullType(rng.randint(0, kHullTypes)));
        mask = piecewise_affine_mask(mask, rng);
        random_erode_dilate(mask, rng);
      }
      if (cv::countNonZero(mask) == 0)
        throw laa::Error(laa::codes::kArg, "the blending mask is empty (landmarks outside the image?)");
      colour_transfer(bg_a, fg_a, mask);
      cv::Mat blended, w;
      feathered_blend(fg_a, bg_a, mask, blended, w);
      image = resize_to(blended, kWork);
      cv::resize(w, M, cv::Size(kWork, kWork), 0, 0, cv::INTER_LINEAR);
      if (opt.debug) background = resize_to(bg_a, kWork);
    } else {
      image = resize_to(bg, kWork);
      M = cv::Mat::zeros(kWork, kWork, CV_32F);
      if (opt.debug) background = image.clone();
    }
    cv::Mat b = boundary_u8(M);

    // Step 4: with p 0.5 down to randint(64, 317) px (bilinear — anti-aliased
    // like PIL's — or nearest), back up to 317 bilinear.
    if (rng.chance(0.5)) {
      const int side = rng.randint(64, kWork + 1);
      const int interp = rng.chance(0.5) ? cv::INTER_AREA : cv::INTER_NEAREST;
      for (cv::Mat* m : {&image, &background}) {
        if (m->empty()) continue;
        cv::Mat small;
        cv::resize(*m, small, cv::Size(side, side), 0, 0, interp);
        cv::resize(small, *m, cv::Size(kWork, kWork), 0, 0, cv::INTER_LINEAR);
      }
    }

    // Step 5: the fixed crop to 257×257.
    image = image(kCrop).clone();
    b = b(kCrop).clone();
    cv::Mat m_dbg = opt.debug ? M(kCrop).clone() : cv::Mat();
    if (opt.debug) background = background(kCrop).clone();

    // Step 6: geometry (train), then the centre/scale of the augmented size.
    if (opt.train) {
      std::vector<cv::Mat*> images = {&image}, masks = {&b};
      if (opt.debug) {
        images.push_back(&background);
        masks.push_back(&m_dbg);
      }
      geometry_transform(images, masks, rng);
    }
    const cv::Mat to_input = ops::align_corners_matrix(image.cols, image.rows, opt.input_size);
    const cv::Mat to_target = ops::align_corners_matrix(image.cols, image.rows, opt.target_size);
    out.image = final_warp(image, to_input, opt.input_size);
    out.boundary = final_warp(b, to_target, opt.target_size);
    if (opt.debug) {
      out.background = final_warp(background, to_input, opt.input_size);
      out.mask = final_warp(m_dbg, to_input, opt.input_size);
      out.mask_target = final_warp(m_dbg, to_target, opt.target_size);
    }
    return out;  // step 7: no second colour pass
  });
}

}  // namespace laa::synth

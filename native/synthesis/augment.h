// Image augmentations of the LAA-Net training pipeline (official
// `datasets/sbi/utils.py`, `package_utils/transform.py::randaffine`,
// `datasets/pipelines/geo_transform.py` and `color_transform.py`; the steps
// are listed in docs/IMPLEMENTATION.md, Data pipeline and synthesis), written
// after the albumentations 1.1 / SBI transforms the official code configures: same parameter distributions and
// the same uint8 arithmetic (look-up tables, truncation) where it is cheap to
// match. Every random draw comes from the Rng passed in; images are RGB
// CV_8UC3 and are changed in place unless a function returns a new one.
#pragma once
#include <vector>

#include <opencv2/core.hpp>

#include "synthesis/synthesis.h"

namespace laa::synth {

// --- landmarks ---------------------------------------------------------------
// SBI's `hflip`: the iBUG-68 mirror permutation (jaw, brows, nose base, eyes,
// mouth reversed; the nose ridge kept) and x' = W − x (the official formula,
// not W − 1 − x).
std::vector<cv::Point2f> hflip_landmarks68(const std::vector<cv::Point2f>& lms, int width);

// --- colour primitives (albumentations 1.1, uint8 paths) ----------------------
void rgb_shift(cv::Mat& img, double dr, double dg, double db);            // RGBShift
void hsv_shift(cv::Mat& img, double dh, double ds, double dv);            // HueSaturationValue
void brightness_contrast(cv::Mat& img, double alpha, double beta);        // RandomBrightnessContrast (by max)
void jpeg(cv::Mat& img, int quality);                                     // ImageCompression
void sharpen(cv::Mat& img, double alpha, double lightness);               // Sharpen
void random_downscale(cv::Mat& img, int ratio);                           // SBI RandomDownScale

// --- composed colour transforms ------------------------------------------------
// SBI step 4c, `get_source_transforms`: RGBShift(±20, p .3), HSV(±0.3), brightness/
// contrast(±0.1), then one of {down-scale ×2/×4, Sharpen}.
void source_transforms(cv::Mat& img, Rng& rng);
// SBI step 9, `get_transforms`: RGBShift(±20, p .3), HSV(±0.3, p .3),
// brightness/contrast(±0.3, p .3), JPEG q 40–100 (p .5), drawn once and
// applied with the same parameters to every image.
void pair_colour(const std::vector<cv::Mat*>& images, Rng& rng);
// BI step 2, `ColorJitterTransform` (train only).
void bi_colour_jitter(cv::Mat& img, Rng& rng);

// --- geometry ------------------------------------------------------------------
// SBI step 4d, `randaffine`, affine part: translate x ±3 %, y ±1.5 %, scale x and y
// each in [0.95, 1/0.95] about the centre; `img` linear, `mask` nearest,
// constant-0 border. Either may be empty.
void random_affine(cv::Mat& img, cv::Mat& mask, Rng& rng);
// SBI step 4d, ElasticTransform(alpha 50, sigma 7, alpha_affine 0) on a mask:
// uniform [−1, 1] displacement fields smoothed by a Gaussian (σ 7, radius 28
// like scipy's gaussian_filter, reflect border), scaled by alpha, then
// cv::remap with nearest sampling and reflect-101 border.
void elastic_mask(cv::Mat& mask, Rng& rng, double alpha = 50, double sigma = 7);
// `geo_transform.py` GeometryTransform (train): hflip p 0.5, then with p 0.5 one of
// {RandomCrop ≤ 14 %, RandomScale ±15 %, RandomErasing}, the same draw for
// all targets. Images (linear) and masks (nearest) must share one size.
void geometry_transform(const std::vector<cv::Mat*>& images, const std::vector<cv::Mat*>& masks, Rng& rng);

}  // namespace laa::synth

// A small piecewise-affine warp standing in for imgaug's
// PiecewiseAffine(scale=(0.01, 0.15)) of the Face X-ray mask deformation
// (BI step 3, official `face_forensic_hm.py`): a regular 4×4 control grid
// spanning the image, each point jittered by N(0, s)·height / N(0, s)·width
// with one s ~ U(0.01, 0.15) per call and clipped to the image; every grid
// cell is split into two triangles and each output pixel samples the input at
// the affine image of its position in the jittered triangle (skimage's
// PiecewiseAffineTransform used as the inverse map, as imgaug does). The
// regular grid's Delaunay triangulation is ambiguous; we always split cells
// along the same diagonal.
#pragma once
#include <opencv2/core.hpp>

#include "synthesis/synthesis.h"

namespace laa::synth {

// Warps a binary uint8 mask (0/255). Sampling is bilinear and only pixels
// that stay fully inside (255) are kept, like the official float mask that is
// then cast to uint8 (values below 1.0 become 0).
cv::Mat piecewise_affine_mask(const cv::Mat& mask, Rng& rng);

}  // namespace laa::synth

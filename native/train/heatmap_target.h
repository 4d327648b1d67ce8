// LAA-Net training targets from an S×S uint8 blending-boundary map B (S = 96
// for the released 384 px input, input/4 in general)
// (official `datasets/common.py::CommonDataset._new_encode_target`, version 1;
// details in docs/IMPLEMENTATION.md, Training targets).
#pragma once
#include <torch/torch.h>

namespace laa {

inline constexpr int64_t kTargetSize = 96;  // HEATMAP_SIZE of the released configs

struct Targets {
  torch::Tensor heatmap;      // float32 (1, 96, 96): max-superposed adaptive Gaussians at the vulnerable points
  torch::Tensor consistency;  // float32 (1, 96, 96): self-consistency target C, already / 255
};

// `boundary`: uint8, shape (S, S) or (1, S, S), S even; the targets have shape (1, S, S).
// Throws laa::Error(ESHAPE / EINVAL) otherwise.
Targets encode_targets(const torch::Tensor& boundary);

// CornerNet's gaussian_radius with min_overlap 0.7, as written in the
// CornerNet/CenterNet code (the "/2 instead of /(2a)" quirk kept), as in the
// official `package_utils/image_utils.py`.
double gaussian_radius(double height, double width, double min_overlap = 0.7);

}  // namespace laa

// The three LAA-Net heads on the 112×96×96 decoder output (the `heads` of
// the official `models/networks/pose_efficientNet.py`).
// Sequential indices match the official keys (`hm.0`, `hm.1`, `hm.3`,
// `cls.5`, ...).
#pragma once
#include <torch/torch.h>

namespace laa {

inline constexpr int64_t kHeadConv = 64;

// Conv3×3(bias) -> BN -> ReLU -> Conv1×1(bias): `hm` (1 map) and `cstency` (256-d embeddings).
torch::nn::Sequential dense_head(int64_t in, int64_t out);

// Conv3×3(bias) -> BN -> ReLU -> AdaptiveAvgPool(1) -> Flatten -> Linear: `cls`.
torch::nn::Sequential cls_head(int64_t in, int64_t out);

}  // namespace laa

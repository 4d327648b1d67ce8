// EfficientNet-B4 backbone as vendored by the official LAA-Net code (the
// lukemelas `efficientnet_pytorch` layout: `_conv_stem`, `_bn0`, `_blocks.N`,
// `_conv_head`, `_bn1`). Spec §2.2–§2.4.
#pragma once
#include <torch/torch.h>

#include <array>
#include <vector>

namespace laa {

// Zero padding (left, right, top, bottom) applied before a convolution.
using Pad4 = std::array<int64_t, 4>;

// The lukemelas "static same" padding, computed once for the preset image
// size (380 for B4) rather than for the real input. At 384 this differs from
// TF-SAME in block 6 only (spec §2.3), and the released weights depend on it.
Pad4 static_same_padding(int64_t image_size, int64_t kernel, int64_t stride);

struct MBConvArgs {
  int64_t index;        // 0..31, sets the drop-connect rate
  int64_t kernel;
  int64_t stride;
  int64_t expand;
  int64_t in_ch;
  int64_t out_ch;
  int64_t se_ch;
  Pad4 dw_pad;
};

// The 32 blocks of B4 after width (1.4) and depth (1.8) scaling.
std::vector<MBConvArgs> efficientnet_b4_blocks();

struct BackboneBN {  // lukemelas BN: momentum 1-0.99, eps 1e-3
  static constexpr double kMomentum = 0.01;
  static constexpr double kEps = 1e-3;
};

class MBConvBlockImpl : public torch::nn::Module {
 public:
  MBConvBlockImpl(const MBConvArgs& args, double drop_connect_rate);
  torch::Tensor forward(torch::Tensor x);

  const MBConvArgs args;
  const double drop_connect_p;  // 0.2 * idx / 32
  torch::nn::Conv2d _expand_conv{nullptr};
  torch::nn::BatchNorm2d _bn0{nullptr};
  torch::nn::Conv2d _depthwise_conv{nullptr};
  torch::nn::BatchNorm2d _bn1{nullptr};
  torch::nn::Conv2d _se_reduce{nullptr};
  torch::nn::Conv2d _se_expand{nullptr};
  torch::nn::Conv2d _project_conv{nullptr};
  torch::nn::BatchNorm2d _bn2{nullptr};
};
TORCH_MODULE(MBConvBlock);

// Stochastic depth per sample: keep = floor(1 - p + U[0,1)), x / (1 - p) * keep.
torch::Tensor drop_connect(const torch::Tensor& x, double p);

// Backbone features consumed by the E-FPN (spec §2.4).
struct Endpoints {
  torch::Tensor reduction_3;  // block 9 output, 56 @ 48²  (x4)
  torch::Tensor reduction_4;  // block 21 output, 160 @ 24² (x3)
  torch::Tensor reduction_5;  // block 31 output, 448 @ 12² (x2)
  torch::Tensor reduction_6;  // head features, 1792 @ 12² (x1)
};

// Indices of the blocks whose outputs are endpoints 3, 4, 5.
inline constexpr int64_t kEndpointBlocks[3] = {9, 21, 31};

}  // namespace laa

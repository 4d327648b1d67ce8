// The EfficientNet MBConv block and backbone endpoints, in the lukemelas
// `efficientnet_pytorch` layout the official LAA-Net code vendors (`_conv_stem`,
// `_bn0`, `_blocks.N`, `_conv_head`, `_bn1`; see docs/IMPLEMENTATION.md,
// Network). The members of the family (B4, Lite0/1/2) are described in backbones.h.
#pragma once
#include <torch/torch.h>

#include "net/backbones.h"
#include "net/batch_norm.h"

namespace laa {

struct BackboneBN {  // lukemelas BN: momentum 1-0.99, eps 1e-3
  static constexpr double kMomentum = 0.01;
  static constexpr double kEps = 1e-3;
};

class MBConvBlockImpl : public torch::nn::Module {
 public:
  // drop_connect_p: the spec's rate × index / block count (0.2 × idx / 32 for B4).
  MBConvBlockImpl(const MBConvArgs& args, double drop_connect_p);
  torch::Tensor forward(torch::Tensor x);

  const MBConvArgs args;
  const double drop_connect_p;
  torch::nn::Conv2d _expand_conv{nullptr};
  BatchNorm2d _bn0{nullptr};
  torch::nn::Conv2d _depthwise_conv{nullptr};
  BatchNorm2d _bn1{nullptr};
  torch::nn::Conv2d _se_reduce{nullptr};  // absent without squeeze-excite (Lite)
  torch::nn::Conv2d _se_expand{nullptr};
  torch::nn::Conv2d _project_conv{nullptr};
  BatchNorm2d _bn2{nullptr};

 private:
  bool pad_in_conv_ = false;
};
TORCH_MODULE(MBConvBlock);

// Stochastic depth per sample: keep = floor(1 - p + U[0,1)), x / (1 - p) * keep
// (U drawn for the global batch in data-parallel training: batch_share.h).
torch::Tensor drop_connect(const torch::Tensor& x, double p);

// The block's activation: swish (B4) or ReLU6 (Lite; in place on `x`, which
// must be a temporary such as a BatchNorm output).
torch::Tensor activate(const torch::Tensor& x, Activation act);

// Backbone features consumed by the E-FPN (`models/networks/
// pose_efficientNet.py`, `extract_endpoints`); B4 at 384 in brackets.
struct Endpoints {
  torch::Tensor reduction_3;  // stride-8 stage output  (x4; block 9, 56 @ 48²)
  torch::Tensor reduction_4;  // stride-16 stage output (x3; block 21, 160 @ 24²)
  torch::Tensor reduction_5;  // last stage output      (x2; block 31, 448 @ 12²)
  torch::Tensor reduction_6;  // head features          (x1; 1792 @ 12²)
};

}  // namespace laa

// Inference plan: the eval-mode network with every BatchNorm folded into the
// convolution before it, channels-last activations and only the requested
// heads. Same function as LaaNetImpl::forward in eval mode (parity-tested),
// about half the memory traffic. Folding is done in float64, then cast.
#pragma once
#include <torch/torch.h>

#include <vector>

#include "net/laanet.h"

namespace laa {

struct FoldedConv {
  torch::Tensor weight, bias;
  int64_t stride = 1, padding = 0, groups = 1;
  Pad4 explicit_pad{0, 0, 0, 0};  // asymmetric static padding, applied before the conv
  // A ConvTranspose2d(k4, s2, p1) rewritten as a 2×2 convolution (padding 1)
  // with 4× the output channels, one per output phase, interleaved back into
  // the 2× grid (sub-pixel convolution): the same function and FLOPs, faster
  // on CPU than LibTorch 1.13's transposed conv, whose bfloat16 CPU kernel is
  // also wrong (it computes a strided convolution).
  bool subpixel = false;
  // The same ConvTranspose2d(k4, s2, p1) + BN run as one transposed conv with
  // the BN folded in (the CUDA default: cuDNN's transposed conv is correct in
  // every dtype, and it skips the phase interleave copy).
  bool transposed = false;

  torch::Tensor operator()(const torch::Tensor& x) const;
};

// How the plan runs the E-FPN's 2× upsampling layers.
enum class Upsample {
  kAuto,       // sub-pixel on the CPU, transposed conv elsewhere
  kSubpixel,
  kTransposed,
};

// ConvTranspose2d(k4, s2, p1) followed by eval BatchNorm, folded (in float64)
// into one layer of the given dtype; kAuto picks by the weights' device.
FoldedConv fold_upsample(const torch::nn::ConvTranspose2dImpl& conv, const BatchNorm2dImpl& bn,
                         torch::ScalarType dtype, bool channels_last, Upsample mode = Upsample::kAuto);

struct FusedBlock {
  MBConvArgs args;
  bool has_expand = false;
  FoldedConv expand, depthwise, project;
  bool has_se = false;
  torch::Tensor se_reduce_w, se_reduce_b, se_expand_w, se_expand_b;  // as linear layers
};

class FusedLaaNet {
 public:
  // The plan lives on the device of `net`'s weights.
  FusedLaaNet(LaaNetImpl& net, torch::ScalarType dtype, bool channels_last, Upsample upsample = Upsample::kAuto);
  LaaNetOutput forward(const torch::Tensor& x, const HeadSet& heads) const;
  torch::ScalarType dtype() const { return dtype_; }

 private:
  torch::Tensor backbone_block(const FusedBlock& b, const torch::Tensor& x) const;

  const BackboneSpec& spec_;
  torch::ScalarType dtype_;
  bool channels_last_;
  FoldedConv stem_, head_conv_;
  std::vector<FusedBlock> blocks_;
  FoldedConv d1_, d2_conv_, d2_up_, d3_conv_, d3_up_, d4_up_;
  FoldedConv inc_pw_, inc_conv3_, inc_conv5_;
  FoldedConv hm_conv_, hm_out_, cst_conv_, cst_out_, cls_conv_;
  torch::Tensor cls_linear_w_, cls_linear_b_;
};

}  // namespace laa

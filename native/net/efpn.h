// E-FPN decoder of LAA-Net (`models/networks/pose_efficientNet.py` with
// efpn = True): three gated top-down stages and an Inception block before
// the last 2x upsampling.
#pragma once
#include <torch/torch.h>

#include "net/batch_norm.h"

namespace laa {

struct DecoderBN {  // nn.BatchNorm2d defaults in the decoder and heads
  static constexpr double kMomentum = 0.1;
  static constexpr double kEps = 1e-5;
};

BatchNorm2d decoder_bn(int64_t c);

// conv_block(i, o, k): Conv kxk (no bias, 'same' padding) -> BN -> ReLU, as a
// Sequential ("0", "1", "2") with a plain forward so it can nest in another.
class ConvBlockImpl : public torch::nn::SequentialImpl {
 public:
  ConvBlockImpl(int64_t in, int64_t out, int64_t kernel = 3);
  torch::Tensor forward(torch::Tensor x) { return SequentialImpl::forward(x); }
};
TORCH_MODULE(ConvBlock);

// ConvTranspose2d(c, c, 4, stride 2, padding 1, no bias): an exact 2x upsampling.
torch::nn::ConvTranspose2d upsample2x(int64_t channels);

// That layer's function computed as a sub-pixel convolution: a 2×2 conv
// (padding 1) with 4× the output channels, one per output phase, interleaved
// into the 2× grid (fused.cc derives the same kernel). Differentiable in the
// layer's own weight, so training keeps the official parameter. On the CPU
// LibTorch 1.13 runs transposed convs on a slow path (fwd+bwd of the 80-channel
// Lite0 layer at 32² → 64², batch 16: 666 ms vs ~100 ms as a convolution) and
// its bfloat16 transposed conv is wrong; the convolution has neither problem.
torch::Tensor upsample2x_subpixel(const torch::nn::ConvTranspose2dImpl& layer, const torch::Tensor& x);

// Sequential [ConvBlock, ConvTranspose2d, BatchNorm2d] (deconv_2, deconv_3)
// with the upsampling run as upsample2x_subpixel.
torch::Tensor decoder_stage(torch::nn::Sequential& stage, const torch::Tensor& x);

// InceptionBlock(112 -> 112). One shared 1x1 block `pw_block` feeds all four
// branches, including the max-pooled one.
class InceptionBlockImpl : public torch::nn::Module {
 public:
  InceptionBlockImpl(int64_t in, int64_t out);
  torch::Tensor forward(const torch::Tensor& x);

  ConvBlock pw_block{nullptr}, conv3_block{nullptr}, conv5_block{nullptr};
};
TORCH_MODULE(InceptionBlock);

// `deconv_4`: [InceptionBlock, ConvT, BN]. The official model registers the
// Inception block twice (`inception_block` and `deconv_4.0`); here it is
// registered once, as `inception_block`, and `deconv_4` only points at it so
// that an optimizer never sees its parameters twice.
class Deconv4Impl : public torch::nn::Module {
 public:
  Deconv4Impl(InceptionBlock inception, int64_t channels);
  torch::Tensor forward(const torch::Tensor& x);

  InceptionBlock inception;  // not registered here
  torch::nn::ConvTranspose2d up{nullptr};  // "1"
  BatchNorm2d bn{nullptr};                 // "2"
};
TORCH_MODULE(Deconv4);

// The weight map of the paper's E-FPN (γ_w = 1): concat[D, (1 − σ(D)) ⊙ lateral].
torch::Tensor efpn_gate(const torch::Tensor& decoder, const torch::Tensor& lateral);

}  // namespace laa

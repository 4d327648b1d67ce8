#include "laanet/efpn.h"

namespace laa {

namespace F = torch::nn::functional;

torch::nn::BatchNorm2d decoder_bn(int64_t c) {
  return torch::nn::BatchNorm2d(
      torch::nn::BatchNorm2dOptions(c).momentum(DecoderBN::kMomentum).eps(DecoderBN::kEps));
}

ConvBlockImpl::ConvBlockImpl(int64_t in, int64_t out, int64_t kernel) {
  push_back(torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, kernel).padding(kernel / 2).bias(false)));
  push_back(decoder_bn(out));
  push_back(torch::nn::ReLU());
}

torch::nn::ConvTranspose2d upsample2x(int64_t c) {
  return torch::nn::ConvTranspose2d(
      torch::nn::ConvTranspose2dOptions(c, c, 4).stride(2).padding(1).output_padding(0).bias(false));
}

InceptionBlockImpl::InceptionBlockImpl(int64_t in, int64_t out) {
  const int64_t branch = out / 4;
  pw_block = register_module("pw_block", ConvBlock(in, branch, 1));
  conv3_block = register_module("conv3_block", ConvBlock(branch, branch, 3));
  conv5_block = register_module("conv5_block", ConvBlock(branch, branch, 5));
}

torch::Tensor InceptionBlockImpl::forward(const torch::Tensor& x) {
  // The official block calls pw_block once per branch. In train mode every
  // call updates its BN running statistics, so the calls stay separate there
  // (G, G, G, then the max-pooled G; spec §2.5); in eval they are identical.
  auto b1 = pw_block->forward(x);
  auto b2 = conv3_block->forward(is_training() ? pw_block->forward(x) : b1);
  auto b3 = conv5_block->forward(is_training() ? pw_block->forward(x) : b1);
  auto pooled = F::max_pool2d(x, F::MaxPool2dFuncOptions(3).stride(1).padding(1));
  auto b4 = pw_block->forward(pooled);
  return torch::cat({b1, b2, b3, b4}, 1);
}

Deconv4Impl::Deconv4Impl(InceptionBlock inc, int64_t c) : inception(std::move(inc)) {
  up = register_module("1", upsample2x(c));
  bn = register_module("2", decoder_bn(c));
}

torch::Tensor Deconv4Impl::forward(const torch::Tensor& x) {
  return bn(up(inception(x)));
}

torch::Tensor efpn_gate(const torch::Tensor& d, const torch::Tensor& lateral) {
  return torch::cat({d, (1 - torch::sigmoid(d)) * lateral}, 1);
}

}  // namespace laa

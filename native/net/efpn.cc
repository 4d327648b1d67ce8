#include "net/efpn.h"

namespace laa {

namespace F = torch::nn::functional;

BatchNorm2d decoder_bn(int64_t c) {
  return BatchNorm2d(
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

torch::Tensor upsample2x_subpixel(const torch::nn::ConvTranspose2dImpl& layer, const torch::Tensor& x) {
  // Output row 2m+a reads input rows m-1, m (a = 0; kernel taps 3, 1) or
  // m, m+1 (a = 1; taps 2, 0); a 2×2 conv with padding 1 sees rows m-1, m at
  // its output row m and m, m+1 at row m+1. Same for columns.
  const auto& w = layer.weight;  // (in, out, 4, 4)
  const int64_t cin = w.size(0), cout = w.size(1);
  auto taps = [&](int64_t a) {
    return torch::tensor({a == 0 ? int64_t(3) : int64_t(2), a == 0 ? int64_t(1) : int64_t(0)},
                         torch::TensorOptions().dtype(torch::kLong).device(w.device()));
  };
  std::vector<torch::Tensor> phases;  // index a·2 + b: (out, in, 2, 2)
  for (int64_t a = 0; a < 2; ++a)
    for (int64_t b = 0; b < 2; ++b)
      phases.push_back(w.index_select(2, taps(a)).index_select(3, taps(b)).transpose(0, 1));
  // Output channel c·4 + a·2 + b holds phase (a, b) of channel c.
  auto kernel = torch::stack(phases, 1).reshape({cout * 4, cin, 2, 2});
  if (x.suggest_memory_format() == at::MemoryFormat::ChannelsLast)
    kernel = kernel.contiguous(at::MemoryFormat::ChannelsLast);
  auto z = torch::conv2d(x, kernel, {}, 1, 1);  // (n, 4·out, h+1, w+1)
  const int64_t n = x.size(0), h = x.size(2), wd = x.size(3);
  std::vector<torch::Tensor> rows;  // a
  for (int64_t a = 0; a < 2; ++a) {
    std::vector<torch::Tensor> cols;  // b
    for (int64_t b = 0; b < 2; ++b)
      cols.push_back(z.slice(1, a * 2 + b, 4 * cout, 4).slice(2, a, a + h).slice(3, b, b + wd));
    rows.push_back(torch::stack(cols, -1));  // (n, out, h, w, 2)
  }
  // (n, out, h, 2, w, 2) -> (n, out, 2h, 2w)
  auto y = torch::stack(rows, 3).reshape({n, cout, 2 * h, 2 * wd});
  return x.suggest_memory_format() == at::MemoryFormat::ChannelsLast ? y.contiguous(at::MemoryFormat::ChannelsLast) : y;
}

torch::Tensor decoder_stage(torch::nn::Sequential& stage, const torch::Tensor& x) {
  auto y = stage->ptr(0)->as<ConvBlockImpl>()->forward(x);
  y = upsample2x_subpixel(*stage->ptr(1)->as<torch::nn::ConvTranspose2dImpl>(), y);
  return stage->ptr(2)->as<BatchNorm2dImpl>()->forward(y);
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
  // (G, G, G, then the max-pooled G; official
  // `models/networks/common.py::InceptionBlock`); in eval they are identical.
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
  return bn(upsample2x_subpixel(*up, inception(x)));
}

torch::Tensor efpn_gate(const torch::Tensor& d, const torch::Tensor& lateral) {
  return torch::cat({d, (1 - torch::sigmoid(d)) * lateral}, 1);
}

}  // namespace laa

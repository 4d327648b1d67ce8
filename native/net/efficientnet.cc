#include "net/efficientnet.h"

#include "net/global_batch.h"

namespace laa {

namespace F = torch::nn::functional;

torch::Tensor drop_connect(const torch::Tensor& x, double p) {
  const double keep = 1.0 - p;
  auto u = draw_for_rows({x.size(0), 1, 1, 1}, [&](torch::IntArrayRef shape) { return torch::rand(shape, x.options()); });
  auto mask = torch::floor(u + keep);
  return x / keep * mask;
}

namespace {
torch::nn::Conv2d conv(int64_t in, int64_t out, int64_t k, int64_t stride = 1, int64_t groups = 1,
                       bool bias = false) {
  return torch::nn::Conv2d(
      torch::nn::Conv2dOptions(in, out, k).stride(stride).groups(groups).bias(bias));
}
BatchNorm2d backbone_bn(int64_t c) {
  return BatchNorm2d(
      torch::nn::BatchNorm2dOptions(c).momentum(BackboneBN::kMomentum).eps(BackboneBN::kEps));
}
}  // namespace

torch::Tensor activate(const torch::Tensor& x, Activation act) {
  if (act == Activation::kSwish) return torch::silu(x);
  // nn.ReLU6 is hardtanh(0, 6). LibTorch 1.13 has no bfloat16 CPU kernel for
  // hardtanh's backward, so bfloat16 takes relu then clamp: the same values,
  // and the same gradient except at exactly 6 (1 there, 0 for hardtanh).
  if (x.scalar_type() == torch::kBFloat16) return torch::relu(x).clamp_max(6);
  // In place: callers pass a fresh BatchNorm output, and hardtanh_'s backward
  // needs only its result.
  torch::Tensor y = x;
  return torch::hardtanh_(y, 0, 6);
}

MBConvBlockImpl::MBConvBlockImpl(const MBConvArgs& a, double drop_connect_p)
    : args(a), drop_connect_p(drop_connect_p) {
  const int64_t mid = a.in_ch * a.expand;
  // Registration order fixes the state_dict order of the official code.
  if (a.expand != 1) {
    _expand_conv = register_module("_expand_conv", conv(a.in_ch, mid, 1));
    _bn0 = register_module("_bn0", backbone_bn(mid));
  }
  // A symmetric static padding goes into the conv (one op less per block);
  // an asymmetric one is applied in forward.
  const auto& p = a.dw_pad;
  pad_in_conv_ = p[0] == p[1] && p[2] == p[3] && p[0] == p[2];
  _depthwise_conv = register_module(
      "_depthwise_conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(mid, mid, a.kernel)
                                               .stride(a.stride).groups(mid).bias(false)
                                               .padding(pad_in_conv_ ? p[0] : 0)));
  _bn1 = register_module("_bn1", backbone_bn(mid));
  if (a.se_ch > 0) {
    _se_reduce = register_module("_se_reduce", conv(mid, a.se_ch, 1, 1, 1, true));
    _se_expand = register_module("_se_expand", conv(a.se_ch, mid, 1, 1, 1, true));
  }
  _project_conv = register_module("_project_conv", conv(mid, a.out_ch, 1));
  _bn2 = register_module("_bn2", backbone_bn(a.out_ch));
}

torch::Tensor MBConvBlockImpl::forward(torch::Tensor inputs) {
  torch::Tensor x = inputs;
  if (_expand_conv) x = activate(_bn0(_expand_conv(x)), args.act);
  const auto& p = args.dw_pad;
  if (!pad_in_conv_) x = F::pad(x, F::PadFuncOptions({p[0], p[1], p[2], p[3]}));
  x = activate(_bn1(_depthwise_conv(x)), args.act);
  if (_se_reduce) {
    // Squeeze-excite, squeeze width taken from the block input channels.
    auto s = F::adaptive_avg_pool2d(x, F::AdaptiveAvgPool2dFuncOptions(1));
    s = _se_expand(activate(_se_reduce(s), args.act));
    x = torch::sigmoid(s) * x;
  }
  x = _bn2(_project_conv(x));
  if (args.stride == 1 && args.in_ch == args.out_ch) {
    if (is_training() && drop_connect_p > 0) x = drop_connect(x, drop_connect_p);
    x = x + inputs;
  }
  return x;
}

}  // namespace laa

#include "laanet/efficientnet.h"

#include <cmath>

namespace laa {

namespace F = torch::nn::functional;

Pad4 static_same_padding(int64_t image_size, int64_t kernel, int64_t stride) {
  const int64_t out = (image_size + stride - 1) / stride;
  const int64_t total = std::max<int64_t>((out - 1) * stride + kernel - image_size, 0);
  return {total / 2, total - total / 2, total / 2, total - total / 2};
}

namespace {

// B0 stage strings (k, s, e, in, out, repeats) scaled for B4.
struct Stage { int64_t k, s, e, in, out, repeats; };
constexpr Stage kB0Stages[] = {
    {3, 1, 1, 32, 16, 1}, {3, 2, 6, 16, 24, 2}, {5, 2, 6, 24, 40, 2}, {3, 2, 6, 40, 80, 3},
    {5, 1, 6, 80, 112, 3}, {5, 2, 6, 112, 192, 4}, {3, 1, 6, 192, 320, 1}};
constexpr double kWidth = 1.4, kDepth = 1.8;
constexpr int64_t kDivisor = 8;
constexpr int64_t kPresetImageSize = 380;  // B4's preset; never the real input size

int64_t round_filters(int64_t filters) {
  const double f = filters * kWidth;
  int64_t n = std::max<int64_t>(kDivisor, (int64_t(f + kDivisor / 2.0) / kDivisor) * kDivisor);
  if (n < 0.9 * f) n += kDivisor;
  return n;
}

int64_t round_repeats(int64_t r) { return int64_t(std::ceil(kDepth * r)); }

}  // namespace

std::vector<MBConvArgs> efficientnet_b4_blocks() {
  std::vector<MBConvArgs> blocks;
  // The stem (stride 2) halves the preset size before the first block.
  int64_t image = (kPresetImageSize + 1) / 2;
  for (const Stage& st : kB0Stages) {
    const int64_t in = round_filters(st.in), out = round_filters(st.out);
    for (int64_t r = 0; r < round_repeats(st.repeats); ++r) {
      MBConvArgs a;
      a.index = int64_t(blocks.size());
      a.kernel = st.k;
      a.stride = r == 0 ? st.s : 1;
      a.expand = st.e;
      a.in_ch = r == 0 ? in : out;
      a.out_ch = out;
      a.se_ch = std::max<int64_t>(1, int64_t(a.in_ch * 0.25));
      a.dw_pad = static_same_padding(image, a.kernel, a.stride);
      blocks.push_back(a);
      // lukemelas updates the size after the first block of a stage, so the
      // repeats are padded for the reduced size.
      if (r == 0) image = (image + st.s - 1) / st.s;
    }
  }
  return blocks;
}

torch::Tensor drop_connect(const torch::Tensor& x, double p) {
  const double keep = 1.0 - p;
  auto u = torch::rand({x.size(0), 1, 1, 1}, x.options());
  auto mask = torch::floor(u + keep);
  return x / keep * mask;
}

namespace {
torch::nn::Conv2d conv(int64_t in, int64_t out, int64_t k, int64_t stride = 1, int64_t groups = 1,
                       bool bias = false) {
  return torch::nn::Conv2d(
      torch::nn::Conv2dOptions(in, out, k).stride(stride).groups(groups).bias(bias));
}
torch::nn::BatchNorm2d backbone_bn(int64_t c) {
  return torch::nn::BatchNorm2d(
      torch::nn::BatchNorm2dOptions(c).momentum(BackboneBN::kMomentum).eps(BackboneBN::kEps));
}
}  // namespace

MBConvBlockImpl::MBConvBlockImpl(const MBConvArgs& a, double drop_connect_rate)
    : args(a), drop_connect_p(drop_connect_rate * double(a.index) / 32.0) {
  const int64_t mid = a.in_ch * a.expand;
  // Registration order fixes the state_dict order of the official code.
  if (a.expand != 1) {
    _expand_conv = register_module("_expand_conv", conv(a.in_ch, mid, 1));
    _bn0 = register_module("_bn0", backbone_bn(mid));
  }
  _depthwise_conv = register_module("_depthwise_conv", conv(mid, mid, a.kernel, a.stride, mid));
  _bn1 = register_module("_bn1", backbone_bn(mid));
  _se_reduce = register_module("_se_reduce", conv(mid, a.se_ch, 1, 1, 1, true));
  _se_expand = register_module("_se_expand", conv(a.se_ch, mid, 1, 1, 1, true));
  _project_conv = register_module("_project_conv", conv(mid, a.out_ch, 1));
  _bn2 = register_module("_bn2", backbone_bn(a.out_ch));
}

torch::Tensor MBConvBlockImpl::forward(torch::Tensor inputs) {
  torch::Tensor x = inputs;
  if (_expand_conv) x = torch::silu(_bn0(_expand_conv(x)));
  const auto& p = args.dw_pad;
  x = F::pad(x, F::PadFuncOptions({p[0], p[1], p[2], p[3]}));
  x = torch::silu(_bn1(_depthwise_conv(x)));
  // Squeeze-excite, squeeze width taken from the block input channels.
  auto s = F::adaptive_avg_pool2d(x, F::AdaptiveAvgPool2dFuncOptions(1));
  s = _se_expand(torch::silu(_se_reduce(s)));
  x = torch::sigmoid(s) * x;
  x = _bn2(_project_conv(x));
  if (args.stride == 1 && args.in_ch == args.out_ch) {
    if (is_training() && drop_connect_p > 0) x = drop_connect(x, drop_connect_p);
    x = x + inputs;
  }
  return x;
}

}  // namespace laa

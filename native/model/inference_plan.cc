#include "model/inference_plan.h"

#include <ATen/Config.h>

namespace laa {

namespace F = torch::nn::functional;

namespace {
// at::conv2d sends small single-image convolutions (groups 1, kernel ≤ 3,
// under 20480 input elements: the /16 and /32 layers of a Lite net at 256²)
// to LibTorch's slow im2col kernel, which on channels-last input costs more
// than the rest of the network (Lite0 at 256², batch 1: 30 of 86 ms). oneDNN
// is faster for every layer of the plan, so the CPU plan calls it directly.
torch::Tensor convolve(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b, int64_t stride,
                       int64_t padding, int64_t groups) {
#if AT_MKLDNN_ENABLED()
  if (x.device().is_cpu() && (x.scalar_type() == torch::kFloat32 || x.scalar_type() == torch::kBFloat16) &&
      at::globalContext().userEnabledMkldnn())
    return at::mkldnn_convolution(x, w, b, {padding, padding}, {stride, stride}, {1, 1}, groups);
#endif
  return at::conv2d(x, w, b, stride, padding, 1, groups);
}
}  // namespace

torch::Tensor FoldedConv::operator()(const torch::Tensor& input) const {
  torch::Tensor x = input;
  if (explicit_pad != Pad4{0, 0, 0, 0})
    x = F::pad(x, F::PadFuncOptions({explicit_pad[0], explicit_pad[1], explicit_pad[2], explicit_pad[3]}));
  if (subpixel) {
    // z[:, c·4 + a·2 + b, m + a, n + b] is output pixel (2m + a, 2n + b).
    auto z = convolve(x, weight, bias, 1, 1, 1);
    const int64_t n = x.size(0), c = z.size(1) / 4, h = x.size(2), w = x.size(3);
    auto y = at::empty({n, c, 2 * h, 2 * w}, x.options().memory_format(x.suggest_memory_format()));
    auto phases = y.view({n, c, h, 2, w, 2});
    for (int64_t a = 0; a < 2; ++a)
      for (int64_t b = 0; b < 2; ++b)
        phases.select(5, b).select(3, a).copy_(
            z.slice(1, a * 2 + b, 4 * c, 4).slice(2, a, a + h).slice(3, b, b + w));
    return y;
  }
  if (transposed) return at::conv_transpose2d(x, weight, bias, 2, 1);
  return convolve(x, weight, bias, stride, padding, groups);
}

namespace {

// Conv options hold their padding in a variant: c10::variant in LibTorch 1.13,
// std::variant from 2.x on. A visible get_if template makes `get_if<T>(&v)` a
// template call, so argument-dependent lookup picks c10:: or std::get_if.
namespace variant_compat {
struct Unused {};
template <typename T>
void get_if(Unused*);
}  // namespace variant_compat

template <typename Options>
int64_t symmetric_padding(const Options& o) {
  using variant_compat::get_if;
  const auto* p = get_if<torch::ExpandingArray<2>>(&o.padding());
  return p ? (**p)[0] : 0;
}

// In-place activations on temporaries (the at:: in-place functions want lvalues);
// ReLU6 is hardtanh(0, 6), as nn.ReLU6.
torch::Tensor act_(torch::Tensor x, Activation act) {
  return act == Activation::kReLU6 ? at::hardtanh_(x, 0, 6) : at::silu_(x);
}
torch::Tensor relu_(torch::Tensor x) { return x.relu_(); }
torch::Tensor sigmoid_(torch::Tensor x) { return x.sigmoid_(); }

// efpn_gate without autograd: 1 − σ(d) = σ(−d), computed in place.
torch::Tensor gate(const torch::Tensor& d, const torch::Tensor& lateral) {
  return torch::cat({d, d.neg().sigmoid_().mul_(lateral)}, 1);
}

struct Target {
  torch::ScalarType dtype;
  bool channels_last;
  torch::Tensor weight(const torch::Tensor& w) const {
    auto t = w.to(dtype);
    return channels_last && t.dim() == 4 ? t.contiguous(at::MemoryFormat::ChannelsLast) : t.contiguous();
  }
};

// w' = w·γ/√(σ²+ε), b' = β − μ·γ/√(σ²+ε) (+ conv bias·γ/√(σ²+ε)), in float64.
FoldedConv fold(const torch::nn::Conv2dImpl& conv, const BatchNorm2dImpl* bn, const Target& t) {
  FoldedConv f;
  auto w = conv.weight.detach().to(torch::kFloat64);
  auto b = conv.options.bias() ? conv.bias.detach().to(torch::kFloat64)
                               : torch::zeros({w.size(0)}, w.options());
  if (bn) {
    auto scale = bn->weight.detach().to(torch::kFloat64) /
                 torch::sqrt(bn->running_var.detach().to(torch::kFloat64) + bn->options.eps());
    w = w * scale.view({-1, 1, 1, 1});
    b = (b - bn->running_mean.detach().to(torch::kFloat64)) * scale + bn->bias.detach().to(torch::kFloat64);
  }
  f.weight = t.weight(w);
  f.bias = b.to(t.dtype);
  const auto& o = conv.options;
  f.stride = (*o.stride())[0];
  f.groups = o.groups();
  f.padding = symmetric_padding(o);
  return f;
}

// Symmetric padding goes into the conv; asymmetric padding stays explicit.
void set_static_padding(FoldedConv& f, const Pad4& p) {
  if (p[0] == p[1] && p[2] == p[3] && p[0] == p[2]) f.padding = p[0];
  else f.explicit_pad = p;
}

template <typename M>
const M& child(torch::nn::Sequential& seq, size_t i) {
  return *seq->ptr(i)->as<M>();
}

FoldedConv fold_conv_block(ConvBlockImpl& block, const Target& t) {
  return fold(*block.ptr(0)->as<torch::nn::Conv2dImpl>(), block.ptr(1)->as<BatchNorm2dImpl>(), t);
}

FoldedConv fold_conv_block(torch::nn::Module& module, const Target& t) {
  return fold_conv_block(*module.as<ConvBlockImpl>(), t);
}

}  // namespace

// kTransposed keeps the layer as it is, with the BN folded into it.
// kSubpixel: ConvTranspose2d(k4, s2, p1) + BN as a sub-pixel convolution. Output row
// 2m+a reads input rows m-1, m (a = 0; kernel taps 3, 1) or m, m+1 (a = 1;
// taps 2, 0), the same for columns. A 2×2 conv with padding 1 sees rows
// m-1, m at output row m and rows m, m+1 at row m+1, so phase a uses
// tap[a] = {3, 1} or {2, 0} and is read at offset a. Phase (a, b) sits at
// output channel c·4 + a·2 + b. ConvTranspose2d weights are (in, out, k, k),
// so the BN scale runs along dim 1.
FoldedConv fold_upsample(const torch::nn::ConvTranspose2dImpl& conv, const BatchNorm2dImpl& bn,
                         torch::ScalarType dtype, bool channels_last, Upsample mode) {
  torch::NoGradGuard no_grad;
  const Target t{dtype, channels_last};
  const torch::Device device = conv.weight.device();
  if (mode == Upsample::kAuto) mode = device.is_cpu() ? Upsample::kSubpixel : Upsample::kTransposed;
  auto scale = bn.weight.detach().to(torch::kFloat64).cpu() /
               torch::sqrt(bn.running_var.detach().to(torch::kFloat64).cpu() + bn.options.eps());
  auto w = conv.weight.detach().to(torch::kFloat64).cpu() * scale.view({1, -1, 1, 1});
  auto b = bn.bias.detach().to(torch::kFloat64).cpu() - bn.running_mean.detach().to(torch::kFloat64).cpu() * scale;
  if (mode == Upsample::kTransposed) {
    FoldedConv f;
    f.transposed = true;
    f.weight = t.weight(w.to(device));
    f.bias = b.to(device).to(t.dtype);
    return f;
  }
  const int64_t cin = w.size(0), cout = w.size(1);
  const int64_t tap[2][2] = {{3, 1}, {2, 0}};
  auto k = torch::zeros({cout, 2, 2, cin, 2, 2}, w.options());
  for (int a = 0; a < 2; ++a)
    for (int bb = 0; bb < 2; ++bb)
      for (int u = 0; u < 2; ++u)
        for (int v = 0; v < 2; ++v)
          k.select(1, a).select(1, bb).select(2, u).select(2, v).copy_(w.select(2, tap[a][u]).select(2, tap[bb][v]).t());
  FoldedConv f;
  f.subpixel = true;
  f.weight = t.weight(k.reshape({cout * 4, cin, 2, 2}).to(device));
  f.bias = b.repeat_interleave(4).to(device).to(t.dtype);
  return f;
}

FusedLaaNet::FusedLaaNet(LaaNetImpl& net, torch::ScalarType dtype, bool channels_last, Upsample upsample)
    : spec_(net.spec), dtype_(dtype), channels_last_(channels_last) {
  torch::NoGradGuard no_grad;
  const Target t{dtype, channels_last};
  stem_ = fold(*net._conv_stem, net._bn0.get(), t);
  set_static_padding(stem_, spec_.stem_pad);
  for (auto& blk : net.blocks) {
    FusedBlock b;
    b.args = blk->args;
    b.has_expand = !blk->_expand_conv.is_empty();
    if (b.has_expand) b.expand = fold(*blk->_expand_conv, blk->_bn0.get(), t);
    b.depthwise = fold(*blk->_depthwise_conv, blk->_bn1.get(), t);
    set_static_padding(b.depthwise, blk->args.dw_pad);
    b.project = fold(*blk->_project_conv, blk->_bn2.get(), t);
    b.has_se = !blk->_se_reduce.is_empty();
    if (b.has_se) {
      b.se_reduce_w = blk->_se_reduce->weight.detach().flatten(1).to(dtype).contiguous();
      b.se_reduce_b = blk->_se_reduce->bias.detach().to(dtype);
      b.se_expand_w = blk->_se_expand->weight.detach().flatten(1).to(dtype).contiguous();
      b.se_expand_b = blk->_se_expand->bias.detach().to(dtype);
    }
    blocks_.push_back(std::move(b));
  }
  head_conv_ = fold(*net._conv_head, net._bn1.get(), t);

  d1_ = fold_conv_block(*net.deconv_1->ptr(0), t);
  d2_conv_ = fold_conv_block(*net.deconv_2->ptr(0), t);
  d2_up_ = fold_upsample(child<torch::nn::ConvTranspose2dImpl>(net.deconv_2, 1),
                         child<BatchNorm2dImpl>(net.deconv_2, 2), dtype, channels_last, upsample);
  d3_conv_ = fold_conv_block(*net.deconv_3->ptr(0), t);
  d3_up_ = fold_upsample(child<torch::nn::ConvTranspose2dImpl>(net.deconv_3, 1),
                         child<BatchNorm2dImpl>(net.deconv_3, 2), dtype, channels_last, upsample);
  inc_pw_ = fold_conv_block(*net.inception_block->pw_block, t);
  inc_conv3_ = fold_conv_block(*net.inception_block->conv3_block, t);
  inc_conv5_ = fold_conv_block(*net.inception_block->conv5_block, t);
  d4_up_ = fold_upsample(*net.deconv_4->up, *net.deconv_4->bn, dtype, channels_last, upsample);

  auto head = [&](torch::nn::Sequential& seq, FoldedConv& conv, FoldedConv* out) {
    conv = fold(child<torch::nn::Conv2dImpl>(seq, 0), seq->ptr(1)->as<BatchNorm2dImpl>(), t);
    if (out) *out = fold(child<torch::nn::Conv2dImpl>(seq, 3), nullptr, t);
  };
  head(net.hm, hm_conv_, &hm_out_);
  head(net.cstency, cst_conv_, &cst_out_);
  head(net.cls, cls_conv_, nullptr);
  const auto& linear = child<torch::nn::LinearImpl>(net.cls, 5);
  cls_linear_w_ = linear.weight.detach().to(dtype).contiguous();
  cls_linear_b_ = linear.bias.detach().to(dtype);
}

torch::Tensor FusedLaaNet::backbone_block(const FusedBlock& b, const torch::Tensor& inputs) const {
  torch::Tensor x = inputs;
  const Activation act = b.args.act;
  if (b.has_expand) x = act_(b.expand(x), act);
  x = act_(b.depthwise(x), act);
  if (b.has_se) {
    // Squeeze-excite on [N, C] vectors: the 1×1 convs are linear layers.
    auto s = x.mean({2, 3});
    s = act_(at::linear(s, b.se_reduce_w, b.se_reduce_b), act);
    s = sigmoid_(at::linear(s, b.se_expand_w, b.se_expand_b));
    x.mul_(s.unsqueeze(-1).unsqueeze(-1));
  }
  x = b.project(x);
  if (b.args.stride == 1 && b.args.in_ch == b.args.out_ch) x.add_(inputs);
  return x;
}

LaaNetOutput FusedLaaNet::forward(const torch::Tensor& input, const HeadSet& heads) const {
  auto x = input.to(dtype_);
  if (channels_last_) x = x.contiguous(at::MemoryFormat::ChannelsLast);
  x = act_(stem_(x), spec_.act);
  torch::Tensor x2, x3, x4;
  const auto& ends = spec_.endpoint_blocks;
  for (const auto& b : blocks_) {
    x = backbone_block(b, x);
    if (b.args.index == ends[0]) x4 = x;
    if (b.args.index == ends[1]) x3 = x;
    if (b.args.index == ends[2]) x2 = x;
  }
  auto x1 = act_(head_conv_(x), spec_.act);

  auto d = relu_(d1_(x1));
  d = d2_up_(relu_(d2_conv_(gate(d, x2))));
  d = d3_up_(relu_(d3_conv_(gate(d, x3))));
  auto g = gate(d, x4);
  auto pw = relu_(inc_pw_(g));
  auto pooled = torch::max_pool2d(g, {3, 3}, {1, 1}, {1, 1});
  auto inc = torch::cat({pw, relu_(inc_conv3_(pw)), relu_(inc_conv5_(pw)),
                         relu_(inc_pw_(pooled))}, 1);
  auto d4 = relu_(d4_up_(inc));

  LaaNetOutput out;
  if (heads.hm) out.hm = hm_out_(relu_(hm_conv_(d4)));
  if (heads.cstency) out.cstency = cst_out_(relu_(cst_conv_(d4)));
  if (heads.cls) {
    auto pooled_cls = relu_(cls_conv_(d4)).mean({2, 3});
    out.cls = at::linear(pooled_cls, cls_linear_w_, cls_linear_b_);
  }
  return out;
}

}  // namespace laa

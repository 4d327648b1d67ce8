#include "laanet/laanet.h"

#include "laanet/heads.h"

namespace laa {

namespace F = torch::nn::functional;
namespace nn = torch::nn;

LaaNetImpl::LaaNetImpl() {
  stem_pad = static_same_padding(380, 3, 2);
  _conv_stem = register_module("_conv_stem",
                               nn::Conv2d(nn::Conv2dOptions(3, 48, 3).stride(2).bias(false)));
  _bn0 = register_module("_bn0", nn::BatchNorm2d(nn::BatchNorm2dOptions(48)
                                                     .momentum(BackboneBN::kMomentum)
                                                     .eps(BackboneBN::kEps)));
  _blocks = register_module("_blocks", nn::ModuleList());
  for (const auto& args : efficientnet_b4_blocks()) {
    blocks.emplace_back(args, kDropConnectRate);
    _blocks->push_back(blocks.back());
  }
  _conv_head = register_module("_conv_head",
                               nn::Conv2d(nn::Conv2dOptions(448, 1792, 1).bias(false)));
  _bn1 = register_module("_bn1", nn::BatchNorm2d(nn::BatchNorm2dOptions(1792)
                                                     .momentum(BackboneBN::kMomentum)
                                                     .eps(BackboneBN::kEps)));
  inception_block = register_module("inception_block", InceptionBlock(112, 112));
  deconv_1 = register_module("deconv_1", nn::Sequential(ConvBlock(1792, 448)));
  deconv_2 = register_module(
      "deconv_2", nn::Sequential(ConvBlock(896, 160), upsample2x(160), decoder_bn(160)));
  deconv_3 = register_module(
      "deconv_3", nn::Sequential(ConvBlock(320, 56), upsample2x(56), decoder_bn(56)));
  deconv_4 = register_module("deconv_4", Deconv4(inception_block, 112));
  hm = register_module("hm", dense_head(112, 1));
  cls = register_module("cls", cls_head(112, 1));
  cstency = register_module("cstency", dense_head(112, kEmbeddingDim));
}

Endpoints LaaNetImpl::extract_endpoints(const torch::Tensor& input) {
  Endpoints ep;
  const auto& p = stem_pad;
  auto x = F::pad(input, F::PadFuncOptions({p[0], p[1], p[2], p[3]}));
  x = torch::silu(_bn0(_conv_stem(x)));
  for (auto& block : blocks) {
    x = block->forward(x);
    const int64_t i = block->args.index;
    if (i == kEndpointBlocks[0]) ep.reduction_3 = x;
    if (i == kEndpointBlocks[1]) ep.reduction_4 = x;
    if (i == kEndpointBlocks[2]) ep.reduction_5 = x;
  }
  ep.reduction_6 = torch::silu(_bn1(_conv_head(x)));
  return ep;
}

LaaNetOutput LaaNetImpl::forward(const torch::Tensor& x, const HeadSet& heads,
                                 bool keep_intermediates) {
  LaaNetOutput out;
  Endpoints ep = extract_endpoints(x);
  const bool train = is_training();
  auto drop = [&](const torch::Tensor& t) { return F::dropout(t, F::DropoutFuncOptions().p(kEfpnDropout).training(train)); };

  auto d1 = deconv_1->forward(drop(ep.reduction_6));
  auto d2 = deconv_2->forward(efpn_gate(d1, drop(ep.reduction_5)));
  auto d3 = deconv_3->forward(efpn_gate(d2, drop(ep.reduction_4)));
  auto d4 = torch::relu(deconv_4->forward(efpn_gate(d3, drop(ep.reduction_3))));

  if (heads.hm) out.hm = hm->forward(d4);
  if (heads.cls) out.cls = cls->forward(d4);
  if (heads.cstency) out.cstency = cstency->forward(d4);
  if (keep_intermediates) {
    out.endpoints = ep;
    out.deconv[0] = d1;
    out.deconv[1] = d2;
    out.deconv[2] = d3;
    out.deconv[3] = d4;
  }
  return out;
}

}  // namespace laa

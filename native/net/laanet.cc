#include "net/laanet.h"

#include "net/global_batch.h"
#include "net/heads.h"

namespace laa {

namespace F = torch::nn::functional;
namespace nn = torch::nn;

bool is_backbone_key(const std::string& name) {
  for (const char* p : {"_conv_stem.", "_bn0.", "_blocks.", "_conv_head.", "_bn1."})
    if (name.rfind(p, 0) == 0) return true;
  return false;
}

namespace {
BatchNorm2d backbone_bn(int64_t c) {
  return BatchNorm2d(nn::BatchNorm2dOptions(c).momentum(BackboneBN::kMomentum).eps(BackboneBN::kEps));
}
}  // namespace

LaaNetImpl::LaaNetImpl(const BackboneSpec& backbone) : spec(backbone) {
  _conv_stem = register_module("_conv_stem",
                               nn::Conv2d(nn::Conv2dOptions(3, spec.stem_ch, 3).stride(2).bias(false)));
  _bn0 = register_module("_bn0", backbone_bn(spec.stem_ch));
  _blocks = register_module("_blocks", nn::ModuleList());
  const double n_blocks = double(spec.blocks.size());
  for (const auto& args : spec.blocks) {
    blocks.emplace_back(args, spec.drop_connect * double(args.index) / n_blocks);
    _blocks->push_back(blocks.back());
  }
  const int64_t c3 = spec.endpoint_ch[0], c4 = spec.endpoint_ch[1], c5 = spec.endpoint_ch[2],
                c6 = spec.endpoint_ch[3], heads_in = spec.head_input_ch();
  _conv_head = register_module("_conv_head", nn::Conv2d(nn::Conv2dOptions(c5, c6, 1).bias(false)));
  _bn1 = register_module("_bn1", backbone_bn(c6));
  // B4: inception 112, deconv_1 1792→448, deconv_2 896→160, deconv_3 320→56.
  inception_block = register_module("inception_block", InceptionBlock(heads_in, heads_in));
  deconv_1 = register_module("deconv_1", nn::Sequential(ConvBlock(c6, c5)));
  deconv_2 = register_module(
      "deconv_2", nn::Sequential(ConvBlock(2 * c5, c4), upsample2x(c4), decoder_bn(c4)));
  deconv_3 = register_module(
      "deconv_3", nn::Sequential(ConvBlock(2 * c4, c3), upsample2x(c3), decoder_bn(c3)));
  deconv_4 = register_module("deconv_4", Deconv4(inception_block, heads_in));
  hm = register_module("hm", dense_head(heads_in, 1));
  cls = register_module("cls", cls_head(heads_in, 1));
  cstency = register_module("cstency", dense_head(heads_in, kEmbeddingDim));
}

Endpoints LaaNetImpl::extract_endpoints(const torch::Tensor& input) {
  Endpoints ep;
  const auto& p = spec.stem_pad;
  auto x = F::pad(input, F::PadFuncOptions({p[0], p[1], p[2], p[3]}));
  x = activate(_bn0(_conv_stem(x)), spec.act);
  for (auto& block : blocks) {
    x = block->forward(x);
    const int64_t i = block->args.index;
    if (i == spec.endpoint_blocks[0]) ep.reduction_3 = x;
    if (i == spec.endpoint_blocks[1]) ep.reduction_4 = x;
    if (i == spec.endpoint_blocks[2]) ep.reduction_5 = x;
  }
  ep.reduction_6 = activate(_bn1(_conv_head(x)), spec.act);
  return ep;
}

LaaNetOutput LaaNetImpl::forward(const torch::Tensor& x, const HeadSet& heads,
                                 bool keep_intermediates) {
  LaaNetOutput out;
  Endpoints ep = extract_endpoints(x);
  const bool train = is_training();
  auto drop = [&](const torch::Tensor& t) { return dropout_rows(t, spec.dropout, train); };

  auto d1 = deconv_1->forward(drop(ep.reduction_6));
  auto d2 = decoder_stage(deconv_2, efpn_gate(d1, drop(ep.reduction_5)));
  auto d3 = decoder_stage(deconv_3, efpn_gate(d2, drop(ep.reduction_4)));
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

// LAA-Net: an EfficientNet backbone + E-FPN + {hm, cls, cstency} heads
// (official `models/networks/pose_efficientNet.py::PoseEfficientNet`).
// Module names reproduce the official state_dict keys, so loading an official
// checkpoint is a name-for-name copy. The official model is the B4 member;
// the decoder and heads of any other take their widths from its endpoints.
#pragma once
#include <torch/torch.h>

#include "net/efficientnet.h"
#include "net/efpn.h"
#include "core/defaults.h"
#include "core/state_dict.h"

namespace laa {

inline constexpr int64_t kEmbeddingDim = 256;

struct HeadSet {
  bool hm = true, cls = true, cstency = true;
};

struct LaaNetOutput {
  torch::Tensor hm;       // N×1×H/4×W/4 logits
  torch::Tensor cls;      // N×1 logit
  torch::Tensor cstency;  // N×256×H/4×W/4 embeddings
  // Filled only when asked for (parity checks, research).
  Endpoints endpoints;
  torch::Tensor deconv[4];  // D1 (after ReLU), D2, D3 (before gating), D4 (after ReLU)
};

class LaaNetImpl : public torch::nn::Module {
 public:
  explicit LaaNetImpl(const BackboneSpec& backbone = backbone_spec(kDefaultBackbone));
  LaaNetOutput forward(const torch::Tensor& x, const HeadSet& heads = {},
                       bool keep_intermediates = false);
  Endpoints extract_endpoints(const torch::Tensor& x);

  torch::nn::Conv2d _conv_stem{nullptr};
  BatchNorm2d _bn0{nullptr};
  torch::nn::ModuleList _blocks{nullptr};
  torch::nn::Conv2d _conv_head{nullptr};
  BatchNorm2d _bn1{nullptr};
  InceptionBlock inception_block{nullptr};
  torch::nn::Sequential deconv_1{nullptr}, deconv_2{nullptr}, deconv_3{nullptr};
  Deconv4 deconv_4{nullptr};
  torch::nn::Sequential hm{nullptr}, cls{nullptr}, cstency{nullptr};

  const BackboneSpec& spec;
  std::vector<MBConvBlock> blocks;  // typed views of _blocks
};
TORCH_MODULE(LaaNet);

// Whether a state_dict key belongs to the backbone (`_conv_stem` .. `_bn1`):
// what the official code freezes during warm-up (`models/utils.py::
// freeze_backbone`; for B4 the parameter tensors 0..415).
bool is_backbone_key(const std::string& name);

}  // namespace laa

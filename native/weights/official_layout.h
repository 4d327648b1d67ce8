// Mapping between a LaaNet module and the official state_dict (for B4: 803
// keys in the order of `../shared/fixtures/parity/keys.json`; the other
// backbones follow the same layout with their own blocks).
#pragma once
#include <cstdint>
#include <map>
#include <string>

#include "net/laanet.h"
#include "core/state_dict.h"

namespace laa {

// The module's own tensors, in state_dict order (per module: parameters, then
// buffers; modules in pre-order). The shared Inception block appears once.
StateDict module_state(torch::nn::Module& module);

// The official layout: module_state plus the `deconv_4.0.*` alias of
// `inception_block.*`, inserted where the official code has it.
StateDict official_state_dict(LaaNetImpl& net);

// Name-for-name copy of an official state_dict (a leading `module.` is
// already stripped). Missing, unexpected or wrongly shaped keys raise
// laa::Error(EWEIGHTS) naming them; `inception_block.*` and `deconv_4.0.*` may
// both be present (then they must agree) or either one alone.
void load_official(LaaNetImpl& net, const StateDict& weights);

// The backbone a state_dict was made for, read from its keys and shapes (stem,
// block count, squeeze-excite, head conv): files without an `architecture`
// entry (official .pth checkpoints) are recognised this way. EWEIGHTS saying
// what each known member expects and what was found when none fits.
const BackboneSpec& infer_backbone(const StateDict& weights);
// infer_backbone whose error also lists the keys that differ from the official
// B4 layout (missing, unexpected, wrongly shaped): what an official-checkpoint
// user needs to see.
const BackboneSpec& infer_backbone_or_diff(const StateDict& weights);
// The same without throwing: nullptr and `why` (found vs expected) when none fits.
const BackboneSpec* match_backbone(const StateDict& weights, std::string* why);

// The backbone named by a weights file's `architecture` metadata entry
// (EWEIGHTS for an unknown name), else the one its tensors fit.
const BackboneSpec& backbone_of(const std::map<std::string, std::string>& metadata, const StateDict& weights,
                                const std::string& path);

// The backbone tensors of an EfficientNet state dict with lukemelas names
// (`_conv_stem`, `_bn0`, `_blocks.N.*`, `_conv_head`, `_bn1`; a leading
// `module.` dropped), in the module's order, each checked against `spec`
// (EWEIGHTS for a missing or mis-shaped tensor). The ImageNet classifier
// `_fc.{weight,bias}` follows when `keep_classifier` and the file has it.
StateDict backbone_tensors(const BackboneSpec& spec, const StateDict& weights, bool keep_classifier);

// Writes a backbone-only weights file (safetensors, floating tensors cast to
// `dtype`, `kind` "backbone" and `backbone` in the metadata). Atomic.
void save_backbone(const BackboneSpec& spec, const StateDict& tensors, const std::string& path,
                   torch::ScalarType dtype, std::map<std::string, std::string> metadata);

// Writes `net` as a weights file: the official layout as safetensors, floating
// tensors cast to `dtype`, `metadata` plus the architecture, format and dtype
// entries (and input_size 384 unless the metadata gives one). Atomic.
void save_weights(LaaNetImpl& net, const std::string& path, torch::ScalarType dtype,
                  std::map<std::string, std::string> metadata);

// The deterministic weights of the fixture fill rule (fixtures/README.md),
// computed in float64 and cast to the module's dtype.
void fill_reference_weights(LaaNetImpl& net, uint64_t seed);

inline const std::string kInceptionPrefix = "inception_block.";
inline const std::string kDeconv4InceptionPrefix = "deconv_4.0.";

}  // namespace laa

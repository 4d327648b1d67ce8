// Mapping between a LaaNet module and the official state_dict (803 keys in
// the order of `../shared/fixtures/parity/keys.json`).
#pragma once
#include <cstdint>
#include <map>
#include <string>

#include "laanet/laanet.h"
#include "laanet/state_dict.h"

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

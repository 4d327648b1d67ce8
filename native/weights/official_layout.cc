#include "weights/official_layout.h"

#include <cmath>
#include <cstdlib>
#include <map>
#include <sstream>
#include <unordered_map>

#include "core/errors.h"
#include "core/fill_rule.h"
#include "core/dtypes.h"
#include "weights/metadata.h"
#include "weights/safetensors.h"

namespace laa {

StateDict module_state(torch::nn::Module& module) {
  StateDict out;
  for (const auto& item : module.named_modules("", /*include_self=*/true)) {
    const std::string prefix = item.key().empty() ? "" : item.key() + ".";
    for (const auto& p : item.value()->named_parameters(/*recurse=*/false))
      out.emplace_back(prefix + p.key(), p.value());
    for (const auto& b : item.value()->named_buffers(/*recurse=*/false))
      out.emplace_back(prefix + b.key(), b.value());
  }
  return out;
}

namespace {
bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

std::string shape_str(const torch::Tensor& t) {
  std::ostringstream os;
  os << t.sizes();
  return os.str();
}

std::string join_limited(const std::vector<std::string>& names, size_t limit = 12) {
  std::ostringstream os;
  for (size_t i = 0; i < names.size() && i < limit; ++i) os << (i ? ", " : "") << names[i];
  if (names.size() > limit) os << ", ... (" << names.size() << " in all)";
  return os.str();
}
}  // namespace

StateDict official_state_dict(LaaNetImpl& net) {
  StateDict own = module_state(net), out;
  StateDict inception;
  for (const auto& kv : own)
    if (starts_with(kv.first, kInceptionPrefix)) inception.push_back(kv);
  bool inserted = false;
  for (const auto& kv : own) {
    if (!inserted && starts_with(kv.first, "deconv_4.")) {
      for (const auto& inc : inception)
        out.emplace_back(kDeconv4InceptionPrefix + inc.first.substr(kInceptionPrefix.size()),
                         inc.second);
      inserted = true;
    }
    out.push_back(kv);
  }
  return out;
}

void load_official(LaaNetImpl& net, const StateDict& weights) {
  std::unordered_map<std::string, torch::Tensor> given;
  std::vector<std::string> duplicated;
  for (const auto& kv : weights)
    if (!given.emplace(kv.first, kv.second).second) duplicated.push_back(kv.first);
  if (!duplicated.empty())
    throw Error(codes::kWeights, "the checkpoint repeats keys: " + join_limited(duplicated));

  // Fold the alias onto the one Inception module.
  for (const auto& kv : weights) {
    if (!starts_with(kv.first, kDeconv4InceptionPrefix)) continue;
    const std::string twin = kInceptionPrefix + kv.first.substr(kDeconv4InceptionPrefix.size());
    auto it = given.find(twin);
    if (it == given.end()) {
      given.emplace(twin, kv.second);
    } else if (!(it->second.sizes() == kv.second.sizes() &&
                 torch::equal(it->second.to(torch::kFloat64), kv.second.to(torch::kFloat64)))) {
      throw Error(codes::kWeights, "'" + kv.first + "' differs from '" + twin +
                                       "'; the official model registers one Inception block "
                                       "under both names, so they must be identical");
    }
    given.erase(kv.first);
  }

  std::vector<std::string> missing, wrong_shape;
  StateDict own = module_state(net);
  for (const auto& kv : own) {
    auto it = given.find(kv.first);
    if (it == given.end()) {
      missing.push_back(kv.first);
    } else if (it->second.sizes() != kv.second.sizes()) {
      wrong_shape.push_back(kv.first + " (expected " + shape_str(kv.second) + ", got " +
                            shape_str(it->second) + ")");
    }
  }
  std::vector<std::string> unexpected;
  std::unordered_map<std::string, bool> known;
  for (const auto& kv : own) known[kv.first] = true;
  for (const auto& kv : weights) {
    const std::string& k = kv.first;
    if (starts_with(k, kDeconv4InceptionPrefix)) {
      if (!known.count(kInceptionPrefix + k.substr(kDeconv4InceptionPrefix.size())))
        unexpected.push_back(k);
    } else if (!known.count(k)) {
      unexpected.push_back(k);
    }
  }
  if (!missing.empty() || !unexpected.empty() || !wrong_shape.empty()) {
    std::ostringstream os;
    os << "the weights do not fit the LAA-Net (" << net.spec.name << " + E-FPN) architecture:";
    if (!missing.empty()) os << " missing keys: " << join_limited(missing) << ";";
    if (!unexpected.empty()) os << " unexpected keys: " << join_limited(unexpected) << ";";
    if (!wrong_shape.empty()) os << " wrong shapes: " << join_limited(wrong_shape) << ";";
    throw Error(codes::kWeights, os.str());
  }

  torch::NoGradGuard no_grad;
  for (auto& kv : own) {
    const auto& src = given.at(kv.first);
    if (src.is_floating_point() != kv.second.is_floating_point())
      throw Error(codes::kWeights, "'" + kv.first + "' has dtype " +
                                       std::string(c10::toString(src.scalar_type())) +
                                       ", expected a " +
                                       (kv.second.is_floating_point() ? "floating point" : "integer") +
                                       " tensor");
    kv.second.copy_(src.to(kv.second.device()));
  }
}

StateDict backbone_tensors(const BackboneSpec& spec, const StateDict& weights, bool keep_classifier) {
  std::map<std::string, const torch::Tensor*> by_name;
  for (const auto& kv : weights) {
    std::string k = kv.first;
    if (k.rfind("module.", 0) == 0) k = k.substr(7);
    by_name[k] = &kv.second;
  }
  LaaNet shapes(spec);  // the expected names and shapes
  StateDict out;
  std::vector<std::string> missing;
  for (const auto& kv : module_state(*shapes)) {
    if (!is_backbone_key(kv.first)) continue;
    auto it = by_name.find(kv.first);
    if (it == by_name.end()) {
      missing.push_back(kv.first);
      continue;
    }
    if (it->second->sizes() != kv.second.sizes())
      throw Error(codes::kWeights, "backbone tensor '" + kv.first + "' has shape " + shape_str(*it->second) +
                                       ", expected " + shape_str(kv.second) + " (" + spec.name + ")");
    if (it->second->is_floating_point() != kv.second.is_floating_point())
      throw Error(codes::kWeights, "backbone tensor '" + kv.first + "' has dtype " +
                                       std::string(c10::toString(it->second->scalar_type())) + ", expected a " +
                                       (kv.second.is_floating_point() ? "floating point" : "integer") + " tensor");
    out.emplace_back(kv.first, *it->second);
  }
  if (out.empty() && !missing.empty())
    throw Error(codes::kWeights, "no " + spec.name + " backbone tensors found; expected a state dict with "
                                 "lukemelas efficientnet_pytorch names (_conv_stem.weight, _blocks.0..., _conv_head.weight)");
  if (!missing.empty())
    throw Error(codes::kWeights, "the backbone weights lack " + std::to_string(missing.size()) + " " + spec.name +
                                     " tensors (" + join_limited(missing) +
                                     "); expected a state dict with lukemelas efficientnet_pytorch names");
  if (keep_classifier) {
    auto w = by_name.find("_fc.weight"), b = by_name.find("_fc.bias");
    if (w != by_name.end() && b != by_name.end()) {
      const auto& fw = *w->second;
      if (fw.dim() != 2 || fw.size(1) != spec.head_ch || b->second->dim() != 1 || b->second->size(0) != fw.size(0))
        throw Error(codes::kWeights, "classifier '_fc.weight' has shape " + shape_str(fw) + ", expected [classes, " +
                                         std::to_string(spec.head_ch) + "] with a matching '_fc.bias'");
      out.emplace_back("_fc.weight", fw);
      out.emplace_back("_fc.bias", *b->second);
    }
  }
  return out;
}

void save_backbone(const BackboneSpec& spec, const StateDict& tensors, const std::string& path,
                   torch::ScalarType dtype, std::map<std::string, std::string> metadata) {
  StateDict sd;
  for (const auto& kv : tensors) {
    auto t = kv.second.detach().cpu().contiguous();
    sd.emplace_back(kv.first, t.is_floating_point() ? t.to(dtype) : t);
  }
  metadata["kind"] = "backbone";
  metadata["backbone"] = spec.name;
  metadata["format_version"] = "1";
  metadata["dtype"] = dtype_name(dtype);
  write_safetensors(path, sd, metadata);
}

namespace {
std::string dims(const std::vector<int64_t>& v) { return c10::str(c10::IntArrayRef(v)); }
}  // namespace

const BackboneSpec& infer_backbone(const StateDict& weights) {
  std::string why;
  if (const BackboneSpec* s = match_backbone(weights, &why)) return *s;
  throw Error(codes::kWeights, why);
}

const BackboneSpec* match_backbone(const StateDict& weights, std::string* why) {
  std::vector<int64_t> stem, head;
  int64_t blocks = 0;
  bool se = false;
  for (const auto& kv : weights) {
    const std::string& k = kv.first;
    if (k == "_conv_stem.weight") stem = kv.second.sizes().vec();
    if (k == "_conv_head.weight") head = kv.second.sizes().vec();
    if (k.find("._se_reduce.") != std::string::npos) se = true;
    if (starts_with(k, "_blocks.")) {
      const int64_t n = std::atoll(k.c_str() + 8);
      if (n >= 0 && n < (1 << 20)) blocks = std::max(blocks, n + 1);
    }
  }
  std::ostringstream expected;
  for (const auto& name : backbone_names()) {
    const BackboneSpec& s = backbone_spec(name);
    const std::vector<int64_t> s_stem{s.stem_ch, 3, 3, 3}, s_head{s.head_ch, s.endpoint_ch[2], 1, 1};
    const bool s_se = s.blocks.front().se_ch > 0;
    if (stem == s_stem && head == s_head && blocks == int64_t(s.blocks.size()) && se == s_se) return &s;
    expected << (expected.tellp() > 0 ? "; " : "") << name << ": stem " << dims(s_stem) << ", " << s.blocks.size()
             << " blocks" << (s_se ? " with" : " without") << " squeeze-excite, head " << dims(s_head);
  }
  std::ostringstream found;
  found << "stem " << (stem.empty() ? std::string("(none)") : dims(stem)) << ", " << blocks << " blocks"
        << (se ? " with" : " without") << " squeeze-excite, head " << (head.empty() ? std::string("(none)") : dims(head));
  if (why) *why = "the weights fit no known LAA-Net backbone: found " + found.str() + "; expected one of " + expected.str();
  return nullptr;
}

const BackboneSpec& infer_backbone_or_diff(const StateDict& weights) {
  std::string why;
  if (const BackboneSpec* s = match_backbone(weights, &why)) return *s;
  // Say also how the file differs from the official layout: usually the most useful list.
  LaaNet official(backbone_spec(kDefaultBackbone));
  try {
    load_official(*official, weights);
  } catch (const Error& e) {
    throw Error(codes::kWeights, why + ". Against the official " + kDefaultBackbone + " layout, " + e.what());
  }
  throw Error(codes::kWeights, why);
}

const BackboneSpec& backbone_of(const std::map<std::string, std::string>& metadata, const StateDict& weights,
                                const std::string& path) {
  auto arch = metadata.find("architecture");
  if (arch == metadata.end()) return infer_backbone_or_diff(weights);
  if (const BackboneSpec* s = backbone_for_architecture(arch->second)) return *s;
  std::string known;
  for (const auto& name : backbone_names()) known += (known.empty() ? "'" : ", '") + backbone_spec(name).architecture + "'";
  throw Error(codes::kWeights, "'" + path + "' holds weights for architecture '" + arch->second +
                                   "', expected one of " + known);
}

namespace {
bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}
}  // namespace

void fill_reference_weights(LaaNetImpl& net, uint64_t seed) {
  torch::NoGradGuard no_grad;
  StateDict official = official_state_dict(net);
  for (size_t t = 0; t < official.size(); ++t) {
    const std::string& name = official[t].first;
    // The alias keeps the values of inception_block.* (they are one module).
    if (starts_with(name, kDeconv4InceptionPrefix)) continue;
    torch::Tensor& dst = official[t].second;
    if (ends_with(name, ".num_batches_tracked")) {
      dst.zero_();
      continue;
    }
    const int64_t n = dst.numel();
    auto values = torch::empty({n}, torch::kFloat64);
    double* v = values.data_ptr<double>();
    const bool bn_weight = ends_with(name, ".weight") && dst.dim() == 1;
    const double fan_in = dst.dim() > 0 ? double(n) / double(dst.size(0)) : 1.0;
    const double scale = 1.3 * std::sqrt(3.0 / fan_in);
    for (int64_t i = 0; i < n; ++i) {
      const double u = fill_uniform(seed, t, uint64_t(i)), s = 2 * u - 1;
      if (ends_with(name, ".running_var")) v[i] = 0.5 + u;
      else if (ends_with(name, ".running_mean") || ends_with(name, ".bias")) v[i] = 0.1 * s;
      else if (bn_weight) v[i] = 1 + 0.25 * s;
      else v[i] = s * scale;
    }
    dst.copy_(values.view(dst.sizes()));
  }
}

void save_weights(LaaNetImpl& net, const std::string& path, torch::ScalarType dtype,
                  std::map<std::string, std::string> metadata) {
  StateDict sd = official_state_dict(net);
  for (auto& kv : sd) {
    kv.second = kv.second.detach().cpu().contiguous();
    if (kv.second.is_floating_point()) kv.second = kv.second.to(dtype);
  }
  metadata["architecture"] = net.spec.architecture;
  if (!metadata.count("input_size")) metadata["input_size"] = std::to_string(kInputSize);  // a trained size stays
  metadata["format_version"] = "1";
  metadata["dtype"] = dtype_name(dtype);
  write_safetensors(path, sd, metadata);
}

}  // namespace laa

#include "laanet/checkpoint.h"

#include <cmath>
#include <map>
#include <sstream>
#include <unordered_map>

#include "laanet/errors.h"
#include "laanet/fill_rule.h"
#include "laanet/model.h"
#include "laanet/safetensors.h"

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
    os << "the weights do not fit the LAA-Net (EfficientNet-B4 + E-FPN) architecture:";
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
  metadata["architecture"] = "laa-net-efficientnet-b4-efpn";
  if (!metadata.count("input_size")) metadata["input_size"] = std::to_string(kInputSize);  // a trained size stays
  metadata["format_version"] = "1";
  metadata["dtype"] = dtype_name(dtype);
  write_safetensors(path, sd, metadata);
}

}  // namespace laa

#include "train/sam.h"

#include <cmath>
#include <map>

#include "core/errors.h"

namespace laa {

SamAdam::SamAdam(std::vector<torch::Tensor> params, std::vector<std::string> names, double rho, AdamOptions adam)
    : rho_(rho), adam_(adam) {
  if (params.size() != names.size()) throw Error(codes::kInternal, "SamAdam: one name per parameter expected");
  for (size_t i = 0; i < params.size(); ++i) {
    Slot s;
    s.param = params[i];
    s.name = names[i];
    slots_.push_back(std::move(s));
  }
}

double SamAdam::grad_norm() const {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> norms;
  for (const auto& s : slots_)
    if (s.param.grad().defined()) norms.push_back(s.param.grad().norm(2));
  if (norms.empty()) return 0;
  return torch::stack(norms).norm(2).item<double>();
}

double SamAdam::first_step() {
  torch::NoGradGuard no_grad;
  const double g = grad_norm();  // 0 without gradients: then nothing below moves
  if (!std::isfinite(g)) {
    for (auto& s : slots_) s.e_w = torch::Tensor();
    return g;
  }
  const double scale = rho_ / (g + 1e-12);
  for (auto& s : slots_) {
    if (!s.param.grad().defined()) {
      s.e_w = torch::Tensor();
      continue;
    }
    s.e_w = s.param.grad() * scale;
    s.param.add_(s.e_w);
  }
  return g;
}

void SamAdam::second_step() {
  torch::NoGradGuard no_grad;
  const double b1 = adam_.beta1, b2 = adam_.beta2;
  for (auto& s : slots_) {
    if (s.e_w.defined()) {
      s.param.sub_(s.e_w);  // back to the point where the first pass ran
      s.e_w = torch::Tensor();
    }
    const auto& grad0 = s.param.grad();
    if (!grad0.defined()) continue;
    // torch.optim.Adam (PyTorch 1.8, the official environment): L2 decay added to the gradient.
    auto grad = adam_.weight_decay != 0 ? grad0.add(s.param, adam_.weight_decay) : grad0;
    if (!s.exp_avg.defined()) {
      s.exp_avg = torch::zeros_like(s.param, torch::MemoryFormat::Preserve);
      s.exp_avg_sq = torch::zeros_like(s.param, torch::MemoryFormat::Preserve);
    }
    ++s.step;
    const double bc1 = 1 - std::pow(b1, double(s.step));
    const double bc2 = 1 - std::pow(b2, double(s.step));
    s.exp_avg.mul_(b1).add_(grad, 1 - b1);
    s.exp_avg_sq.mul_(b2).addcmul_(grad, grad, 1 - b2);
    auto denom = (s.exp_avg_sq.sqrt() / std::sqrt(bc2)).add_(adam_.eps);
    s.param.addcdiv_(s.exp_avg, denom, -adam_.lr / bc1);
  }
}

SamAdam::StepOutcome SamAdam::step(const std::function<double(bool first)>& pass) {
  StepOutcome r;
  zero_grad();
  if (!std::isfinite(pass(true))) {
    zero_grad();
    r.skipped = true;
    return r;
  }
  if (rho_ == 0) {
    r.grad_norm = grad_norm();
    if (!std::isfinite(r.grad_norm)) {
      zero_grad();
      r.skipped = true;
      return r;
    }
  } else {
    r.grad_norm = first_step();  // ascend to w + e(w)
    zero_grad();
    if (!std::isfinite(r.grad_norm)) {  // nothing moved
      r.skipped = true;
      return r;
    }
    if (!std::isfinite(pass(false))) {
      restore();
      zero_grad();
      r.skipped = true;
      return r;
    }
  }
  second_step();  // back to w, Adam with the (sharpness-aware) gradient
  zero_grad();
  return r;
}

void SamAdam::restore() {
  torch::NoGradGuard no_grad;
  for (auto& s : slots_)
    if (s.e_w.defined()) {
      s.param.sub_(s.e_w);
      s.e_w = torch::Tensor();
    }
}

void SamAdam::zero_grad() {
  for (auto& s : slots_) {
    auto& g = s.param.mutable_grad();
    if (g.defined()) {
      g.detach_();
      g.zero_();
    }
  }
}

StateDict SamAdam::state(const std::string& prefix) const {
  StateDict out;
  for (const auto& s : slots_) {
    if (!s.exp_avg.defined()) continue;
    out.emplace_back(prefix + "exp_avg." + s.name, s.exp_avg.detach().cpu().contiguous());
    out.emplace_back(prefix + "exp_avg_sq." + s.name, s.exp_avg_sq.detach().cpu().contiguous());
    out.emplace_back(prefix + "step." + s.name, torch::tensor(s.step, torch::kInt64));
  }
  return out;
}

void SamAdam::broadcast_state(const std::function<void(std::vector<torch::Tensor>&)>& broadcast) {
  std::vector<torch::Tensor> steps{torch::empty({int64_t(slots_.size())}, torch::kInt64)};
  for (size_t i = 0; i < slots_.size(); ++i) steps[0][int64_t(i)] = slots_[i].step;
  broadcast(steps);
  std::vector<torch::Tensor> moments;
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < slots_.size(); ++i) {
    auto& s = slots_[i];
    s.step = steps[0][int64_t(i)].item<int64_t>();
    if (s.step == 0) {
      s.exp_avg = s.exp_avg_sq = torch::Tensor();
      continue;
    }
    if (!s.exp_avg.defined()) {
      s.exp_avg = torch::zeros_like(s.param, torch::MemoryFormat::Preserve);
      s.exp_avg_sq = torch::zeros_like(s.param, torch::MemoryFormat::Preserve);
    }
    moments.push_back(s.exp_avg);
    moments.push_back(s.exp_avg_sq);
  }
  broadcast(moments);
}

void SamAdam::load_state(const StateDict& all, const std::string& prefix) {
  std::map<std::string, const torch::Tensor*> by_name;
  for (const auto& kv : all)
    if (kv.first.rfind(prefix, 0) == 0) by_name[kv.first.substr(prefix.size())] = &kv.second;
  size_t used = 0;
  torch::NoGradGuard no_grad;
  for (auto& s : slots_) {
    auto m = by_name.find("exp_avg." + s.name), v = by_name.find("exp_avg_sq." + s.name),
         st = by_name.find("step." + s.name);
    const int found = (m != by_name.end()) + (v != by_name.end()) + (st != by_name.end());
    if (found == 0) {
      s.exp_avg = s.exp_avg_sq = torch::Tensor();
      s.step = 0;
      continue;
    }
    if (found != 3)
      throw Error(codes::kWeights, "optimizer state for '" + s.name + "' is incomplete in the checkpoint");
    if (m->second->sizes() != s.param.sizes() || v->second->sizes() != s.param.sizes())
      throw Error(codes::kWeights, "optimizer state for '" + s.name + "' has shape " +
                                       c10::str(m->second->sizes()) + ", expected " + c10::str(s.param.sizes()));
    s.exp_avg = m->second->to(s.param.device(), s.param.scalar_type()).clone();
    s.exp_avg_sq = v->second->to(s.param.device(), s.param.scalar_type()).clone();
    s.step = st->second->item<int64_t>();
    used += 3;
  }
  if (used != by_name.size())
    throw Error(codes::kWeights, "the checkpoint holds optimizer state for parameters this model does not have");
}

}  // namespace laa

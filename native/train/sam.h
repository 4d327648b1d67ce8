// SAM (Sharpness-Aware Minimisation, Foret et al. 2021) wrapped around Adam,
// as the official training uses it (`scripts/train.py`, `lib/optimizers/sam.py` +
// torch.optim.Adam): ρ = 0.05, non-adaptive; Adam with classic L2 weight
// decay (added to the gradient, not AdamW).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "core/state_dict.h"

namespace laa {

struct AdamOptions {
  double lr = 5e-5;
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  double weight_decay = 1e-4;
};

class SamAdam {
 public:
  // `names` label the parameters in checkpoints (the official state_dict keys).
  SamAdam(std::vector<torch::Tensor> params, std::vector<std::string> names, double rho, AdamOptions adam);

  // SAM ascent: with g = ‖(‖∇p‖₂)_p‖₂ over the parameters that have a gradient,
  // e_p = ∇p·ρ/(g + 1e-12) and p ← p + e_p. Returns g.
  double first_step();
  // g alone, without moving anything (plain Adam when ρ = 0).
  double grad_norm() const;
  // A non-finite g leaves the parameters untouched (the caller skips the step).
  // p ← p − e_p, then one Adam step with the current gradients (the second
  // pass's; with no first_step, a plain Adam step).
  void second_step();
  // p ← p − e_p without an update (the second pass went non-finite).
  void restore();
  // Zeroes the gradients (keeps them defined, like PyTorch 1.8's zero_grad()).
  void zero_grad();

  // One whole optimiser step (official `lib/core_function.py::train`).
  // `pass(first)` runs a forward pass, back-propagates its loss if it is
  // finite, and returns the loss value; it
  // runs at w (first = true) and, unless ρ = 0, again at w + e(w). With ρ = 0
  // the ascent is zero, so the second pass would repeat the first: plain Adam
  // on the first gradient, at half the cost. A non-finite loss or gradient
  // norm leaves the parameters as they were (skipped).
  struct StepOutcome {
    double grad_norm = 0;
    bool skipped = false;
  };
  StepOutcome step(const std::function<double(bool first)>& pass);

  void set_lr(double lr) { adam_.lr = lr; }
  double lr() const { return adam_.lr; }
  double rho() const { return rho_; }

  // Adam state for checkpoints: `<prefix>exp_avg.<name>`, `<prefix>exp_avg_sq.<name>`,
  // `<prefix>step.<name>` (int64 scalar); parameters never stepped are absent.
  StateDict state(const std::string& prefix) const;
  // Restores what state() wrote; unknown or wrongly shaped entries are an EWEIGHTS error.
  void load_state(const StateDict& all, const std::string& prefix);
  // Data-parallel training: makes every rank's Adam state rank 0's, through
  // `broadcast` (in place, from rank 0): the step counts, then the moments.
  void broadcast_state(const std::function<void(std::vector<torch::Tensor>&)>& broadcast);

 private:
  struct Slot {
    torch::Tensor param, exp_avg, exp_avg_sq, e_w;
    int64_t step = 0;
    std::string name;
  };
  std::vector<Slot> slots_;
  double rho_;
  AdamOptions adam_;
};

}  // namespace laa

// The network's view of a pass that holds only some rows of a larger, global
// batch: which rows, and a sum over the other holders that BatchNorm uses for
// global statistics ("SyncBN"). The network knows only this interface; data-
// parallel training (train/distributed.h) implements the sum over processes
// and sets the share for the length of a training pass (BatchShareScope).
// Inactive everywhere else (inference, one process).
//
// The random layers draw their masks for the whole global batch and keep
// this process's rows, so every rank draws from the same stream in the same
// order and a rank's masks are exactly those one process training on the
// whole batch would apply to the same rows.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include <torch/torch.h>

namespace laa {

// A sum over all processes of a run, in place (c10d all-reduce; distributed.h).
class Collective {
 public:
  virtual ~Collective() = default;
  virtual void all_reduce_sum(std::vector<torch::Tensor>& tensors) = 0;
};

struct BatchShare {
  int64_t offset = 0;              // first global row held here
  int64_t total = 0;               // rows of the global batch; 0: inactive (the local batch is the batch)
  Collective* batch_norm = nullptr;  // set: train-mode BatchNorm normalises with global statistics
};

// The calling thread's share (the compute thread runs the passes).
const BatchShare& current_batch_share();

class BatchShareScope {
 public:
  explicit BatchShareScope(const BatchShare& share);
  ~BatchShareScope();
  BatchShareScope(const BatchShareScope&) = delete;
  BatchShareScope& operator=(const BatchShareScope&) = delete;

 private:
  BatchShare previous_;
};

// A random tensor of `local_shape` (rows first): `draw(shape)` for the whole
// global batch, narrowed to this process's rows; `draw(local_shape)` when no
// share is active.
torch::Tensor draw_for_rows(torch::IntArrayRef local_shape, const std::function<torch::Tensor(torch::IntArrayRef)>& draw);

// at::dropout (x · bernoulli(1 − p) / (1 − p), the mask in x's memory format)
// with its mask drawn by draw_for_rows.
torch::Tensor dropout_rows(const torch::Tensor& x, double p, bool train);

}  // namespace laa

// One training batch, as the loader makes it and the Trainer consumes it.
#pragma once
#include <cstdint>

#include <torch/torch.h>

namespace laa {

// A batch as the loss wants it (lib/core_function.py): inputs normalised to [−1, 1].
struct TrainBatch {
  torch::Tensor input;        // (N, 3, S, S) float32
  torch::Tensor heatmap;      // (N, 1, S/4, S/4) float32
  torch::Tensor consistency;  // (N, 1, S/4, S/4) float32
  torch::Tensor labels;       // (N, 1) float32, 1 = fake
  // Data-parallel training: these N rows are rows [offset, offset + N) of a
  // global batch of `total` rows (0: the batch is the whole batch).
  int64_t offset = 0, total = 0;
};

}  // namespace laa

// BatchNorm2d of the network: torch::nn::BatchNorm2d's parameters, buffers,
// options and train/eval behaviour (same names, so state dicts are
// unchanged), plus synchronised batch statistics for data-parallel training.
// Inside a BatchShareScope with a collective (batch_share.h), a train-mode
// pass normalises with the mean and (biased) variance of the whole global
// batch, all-reduced over the processes, and updates the running statistics
// with them (unbiased over the global count), as one process holding the
// whole batch would; its backward pass all-reduces the two gradient sums the
// normalisation couples. (Its own module rather than a subclass of LibTorch's:
// LibTorch 1.13 does not export all of that template's virtual members.)
#pragma once
#include <torch/torch.h>

namespace laa {

class BatchNorm2dImpl : public torch::nn::Cloneable<BatchNorm2dImpl> {
 public:
  explicit BatchNorm2dImpl(const torch::nn::BatchNormOptions& options);
  void reset() override;
  void reset_parameters();
  void reset_running_stats();
  torch::Tensor forward(const torch::Tensor& x);
  void pretty_print(std::ostream& stream) const override;

  torch::nn::BatchNormOptions options;
  torch::Tensor weight, bias, running_mean, running_var, num_batches_tracked;
};
TORCH_MODULE(BatchNorm2d);

}  // namespace laa

#include "net/batch_norm.h"

#include <cstdint>

#include "net/global_batch.h"
#include "core/errors.h"

namespace laa {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// Sums over (N, H, W) per channel, accumulated in float32 whatever x is.
torch::Tensor channel_sums(const torch::Tensor& x) { return x.sum({0, 2, 3}, false, torch::kFloat32); }

Collective* collective_of(AutogradContext* ctx) {
  return reinterpret_cast<Collective*>(static_cast<intptr_t>(ctx->saved_data["collective"].toInt()));
}

// y = (x − μ) / sqrt(σ² + eps) · γ + β with μ, σ² over the global batch.
// Two passes as LibTorch's CPU kernel does (the mean, then the centred
// squares), each all-reduced in float64.
struct SyncBatchNormFn : public torch::autograd::Function<SyncBatchNormFn> {
  static torch::Tensor forward(AutogradContext* ctx, torch::Tensor x, torch::Tensor weight, torch::Tensor bias,
                               torch::Tensor running_mean, torch::Tensor running_var, double factor, double eps,
                               int64_t collective) {
    auto* group = reinterpret_cast<Collective*>(static_cast<intptr_t>(collective));
    const int64_t c = x.size(1);
    auto xf = x.to(torch::kFloat32);
    std::vector<torch::Tensor> first{torch::cat({channel_sums(xf).to(torch::kFloat64),
                                                 torch::full({1}, double(x.numel() / c), torch::kFloat64)})};
    group->all_reduce_sum(first);
    const double count = first[0][c].item<double>();
    auto mean = (first[0].narrow(0, 0, c) / count).to(torch::kFloat32);
    auto centred = xf - mean.view({1, c, 1, 1});
    std::vector<torch::Tensor> second{channel_sums(centred * centred).to(torch::kFloat64)};
    group->all_reduce_sum(second);
    auto var = second[0] / count;
    auto invstd = (1.0 / (var + eps).sqrt()).to(torch::kFloat32);
    if (running_mean.defined()) {
      torch::NoGradGuard no_grad;
      running_mean.mul_(1 - factor).add_(mean.to(running_mean.scalar_type()), factor);
      const double unbiased = count > 1 ? count / (count - 1) : 1.0;
      running_var.mul_(1 - factor).add_((var * unbiased).to(running_var.scalar_type()), factor);
    }
    auto xhat = centred * invstd.view({1, c, 1, 1});
    auto y = weight.defined() ? xhat * weight.to(torch::kFloat32).view({1, c, 1, 1}) +
                                    bias.to(torch::kFloat32).view({1, c, 1, 1})
                              : xhat;
    ctx->save_for_backward({xhat, invstd, weight});
    ctx->saved_data["count"] = count;
    ctx->saved_data["collective"] = collective;
    ctx->saved_data["dtype"] = static_cast<int64_t>(x.scalar_type());
    return y.to(x.scalar_type()).contiguous(x.suggest_memory_format());
  }

  // ∂x = γ·invstd·(g − Σg/n − x̂·Σ(g·x̂)/n) with the sums over the global batch;
  // ∂γ = Σ(g·x̂), ∂β = Σg over this process's rows (the Trainer sums the
  // parameter gradients over the processes afterwards).
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto saved = ctx->get_saved_variables();
    auto xhat = saved[0], invstd = saved[1], weight = saved[2];
    const double count = ctx->saved_data["count"].toDouble();
    const auto dtype = static_cast<at::ScalarType>(ctx->saved_data["dtype"].toInt());
    const int64_t c = xhat.size(1);
    auto g = grads[0].to(torch::kFloat32);
    auto sum_g = channel_sums(g), sum_gx = channel_sums(g * xhat);
    std::vector<torch::Tensor> sums{torch::cat({sum_g, sum_gx}).to(torch::kFloat64)};
    collective_of(ctx)->all_reduce_sum(sums);
    auto mean_g = (sums[0].narrow(0, 0, c) / count).to(torch::kFloat32).view({1, c, 1, 1});
    auto mean_gx = (sums[0].narrow(0, c, c) / count).to(torch::kFloat32).view({1, c, 1, 1});
    auto scale = weight.defined() ? weight.to(torch::kFloat32) * invstd : invstd;
    auto dx = (g - mean_g - xhat * mean_gx) * scale.view({1, c, 1, 1});
    torch::Tensor dw, db;
    if (weight.defined()) {
      dw = sum_gx.to(weight.scalar_type());
      db = sum_g.to(weight.scalar_type());
    }
    return {dx.to(dtype), dw, db, torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

BatchNorm2dImpl::BatchNorm2dImpl(const torch::nn::BatchNormOptions& o) : options(o) { reset(); }

// As torch::nn::BatchNorm2d: weight, bias, then the three buffers, in that order.
void BatchNorm2dImpl::reset() {
  const int64_t c = options.num_features();
  if (options.affine()) {
    weight = register_parameter("weight", torch::empty({c}));
    bias = register_parameter("bias", torch::empty({c}));
  }
  if (options.track_running_stats()) {
    running_mean = register_buffer("running_mean", torch::zeros({c}));
    running_var = register_buffer("running_var", torch::ones({c}));
    num_batches_tracked = register_buffer("num_batches_tracked", torch::tensor(0, torch::kLong));
  }
  reset_parameters();
}

void BatchNorm2dImpl::reset_running_stats() {
  if (!options.track_running_stats()) return;
  torch::NoGradGuard no_grad;
  running_mean.zero_();
  running_var.fill_(1);
  num_batches_tracked.zero_();
}

void BatchNorm2dImpl::reset_parameters() {
  reset_running_stats();
  if (!options.affine()) return;
  torch::NoGradGuard no_grad;
  weight.fill_(1);
  bias.zero_();
}

void BatchNorm2dImpl::pretty_print(std::ostream& stream) const {
  stream << "laa::BatchNorm2d(" << options.num_features() << ", eps=" << options.eps() << ", momentum=";
  if (options.momentum()) stream << *options.momentum();
  else stream << "None";
  stream << ", affine=" << (options.affine() ? "true" : "false") << ")";
}

torch::Tensor BatchNorm2dImpl::forward(const torch::Tensor& x) {
  if (x.dim() != 4) throw Error(codes::kShape, "BatchNorm2d expects a 4-d input, got " + c10::str(x.sizes()));
  // BatchNormImplBase::forward: the momentum, or the cumulative average when it is unset.
  double factor = options.momentum().value_or(0.0);
  const bool track = options.track_running_stats();
  if (is_training() && track && num_batches_tracked.defined()) {
    num_batches_tracked += 1;
    if (!options.momentum()) factor = 1.0 / num_batches_tracked.item<double>();
  }
  Collective* group = current_batch_share().batch_norm;
  if (!is_training() || group == nullptr) {
    if (is_training() && x.numel() / std::max<int64_t>(1, x.size(1)) == 1)
      throw Error(codes::kShape, "BatchNorm2d needs more than 1 value per channel when training, got input size " +
                                     c10::str(x.sizes()));
    return torch::batch_norm(x, weight, bias, running_mean, running_var, is_training() || !track, factor,
                             options.eps(), at::globalContext().userEnabledCuDNN());
  }
  return SyncBatchNormFn::apply(x, weight, bias, track ? running_mean : torch::Tensor(),
                                track ? running_var : torch::Tensor(), factor, options.eps(),
                                static_cast<int64_t>(reinterpret_cast<intptr_t>(group)));
}

}  // namespace laa

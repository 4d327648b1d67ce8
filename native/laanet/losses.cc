#include "laanet/losses.h"

#include <cmath>

#include "laanet/errors.h"

namespace laa {

namespace {

torch::ScalarType compute_type(const torch::Tensor& logits) {
  if (!logits.is_floating_point()) throw Error(codes::kArg, "loss inputs must be floating point");
  return logits.scalar_type() == torch::kFloat64 ? torch::kFloat64 : torch::kFloat32;
}

// nn.BCELoss on probabilities: each log is clamped at −100 (so p = 0 or 1 stays finite).
torch::Tensor bce_mean(const torch::Tensor& p, const torch::Tensor& y) {
  auto log_p = torch::clamp_min(torch::log(p), -100);
  auto log_1mp = torch::clamp_min(torch::log(1 - p), -100);
  return -(y * log_p + (1 - y) * log_1mp).mean();
}

std::string shape_of(const torch::Tensor& t) { return c10::str(t.sizes()); }

}  // namespace

double heatmap_focal(const torch::Tensor& logits, const torch::Tensor& target) {
  const auto type = compute_type(logits);
  if (logits.sizes() != target.sizes())
    throw Error(codes::kShape, "heatmap logits " + shape_of(logits) + " and target " + shape_of(target) +
                                   " must have the same shape");
  torch::NoGradGuard no_grad;
  auto x = logits.to(torch::kCPU, type);
  auto gt = target.to(torch::kCPU, type);
  auto pred = torch::clamp(torch::sigmoid(x), 1e-4, 1 - 1e-4);
  auto pos = gt.eq(1).to(type);
  auto neg = gt.lt(1).to(type);
  // Label smoothing of the positives: (1 − ε) + ε·0.2 with ε = 0.35 → 0.72 (§4.1).
  const double pos_factor = (1 - 0.35) + 0.35 * 0.2;
  auto pos_loss = (torch::log(pred) * torch::pow(1 - pred, 2) * pos).sum() * pos_factor;
  auto neg_loss = (torch::log(1 - pred) * torch::pow(pred, 2) * torch::pow(1 - gt, 4) * neg).sum();
  const double n_pos = pos.sum().item<double>();
  if (n_pos == 0) return -neg_loss.item<double>();
  return -(pos_loss + neg_loss).item<double>() / n_pos;
}

double classification_bce(const torch::Tensor& logits, const torch::Tensor& labels) {
  const auto type = compute_type(logits);
  if (logits.numel() != labels.numel() || logits.numel() == 0 || logits.dim() > 2 || labels.dim() > 2)
    throw Error(codes::kShape, "classification logits " + shape_of(logits) + " and labels " + shape_of(labels) +
                                   " must both be [N] or [N, 1] with the same N > 0");
  torch::NoGradGuard no_grad;
  auto p = torch::sigmoid(logits.to(torch::kCPU, type).reshape({-1}));
  return bce_mean(p, labels.to(torch::kCPU, type).reshape({-1})).item<double>();
}

double consistency_bce(const torch::Tensor& embeddings, const torch::Tensor& target) {
  const auto type = compute_type(embeddings);
  if (embeddings.dim() != 4 || embeddings.size(0) == 0 || embeddings.size(1) == 0)
    throw Error(codes::kShape, "consistency embeddings must be [N, D, H, W], got " + shape_of(embeddings));
  const int64_t n = embeddings.size(0), d = embeddings.size(1), h = embeddings.size(2), w = embeddings.size(3);
  const bool ok = (target.dim() == 4 && target.size(0) == n && target.size(1) == 1 && target.size(2) == h &&
                   target.size(3) == w) ||
                  (target.dim() == 3 && target.size(0) == n && target.size(1) == h && target.size(2) == w);
  if (!ok || h * w == 0)
    throw Error(codes::kShape, "consistency target " + shape_of(target) + " must be [N, 1, H, W] matching embeddings " +
                                   shape_of(embeddings));
  torch::NoGradGuard no_grad;
  auto e = embeddings.to(torch::kCPU, type).reshape({n, d, h * w});
  auto c = target.to(torch::kCPU, type).reshape({n, h * w});
  std::vector<torch::Tensor> preds;
  for (int64_t i = 0; i < n; ++i) {
    // First maximum in row-major order (an all-zero C gives pixel 0, §3.7).
    auto ci = c[i];
    const int64_t anchor = ci.eq(ci.max()).nonzero()[0][0].item<int64_t>();
    auto ei = e[i];                                              // (D, HW)
    auto dots = torch::matmul(ei.select(1, anchor), ei);         // (HW)
    preds.push_back(torch::sigmoid(dots / std::sqrt(double(d))));  // sqrt(256) = 16
  }
  return bce_mean(torch::stack(preds), c).item<double>();
}

}  // namespace laa

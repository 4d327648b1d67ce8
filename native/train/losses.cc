#include "train/losses.h"

#include <cmath>

#include "core/errors.h"

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

// The same loss from logits: log σ(z) = −softplus(−z), log(1 − σ(z)) = −softplus(z),
// each clamped at −100 like nn.BCELoss. Equal to bce_mean(σ(z), y) wherever
// σ(z) does not round to 0 or 1; where it does, the probability form has
// infinite log-gradients (0·∞ = NaN after the clamp) and this one stays finite.
torch::Tensor bce_logits_mean(const torch::Tensor& z, const torch::Tensor& y) {
  auto log_p = torch::clamp_min(-torch::softplus(-z), -100);
  auto log_1mp = torch::clamp_min(-torch::softplus(z), -100);
  return -(y * log_p + (1 - y) * log_1mp).mean();
}

std::string shape_of(const torch::Tensor& t) { return c10::str(t.sizes()); }

}  // namespace

namespace {

void check_focal(const torch::Tensor& logits, const torch::Tensor& target) {
  compute_type(logits);
  if (logits.sizes() != target.sizes())
    throw Error(codes::kShape, "heatmap logits " + shape_of(logits) + " and target " + shape_of(target) +
                                   " must have the same shape");
}

void check_cls(const torch::Tensor& logits, const torch::Tensor& labels) {
  compute_type(logits);
  if (logits.numel() != labels.numel() || logits.numel() == 0 || logits.dim() > 2 || labels.dim() > 2)
    throw Error(codes::kShape, "classification logits " + shape_of(logits) + " and labels " + shape_of(labels) +
                                   " must both be [N] or [N, 1] with the same N > 0");
}

void check_consistency(const torch::Tensor& embeddings, const torch::Tensor& target) {
  compute_type(embeddings);
  if (embeddings.dim() != 4 || embeddings.size(0) == 0 || embeddings.size(1) == 0)
    throw Error(codes::kShape, "consistency embeddings must be [N, D, H, W], got " + shape_of(embeddings));
  const int64_t n = embeddings.size(0), h = embeddings.size(2), w = embeddings.size(3);
  const bool ok = (target.dim() == 4 && target.size(0) == n && target.size(1) == 1 && target.size(2) == h &&
                   target.size(3) == w) ||
                  (target.dim() == 3 && target.size(0) == n && target.size(1) == h && target.size(2) == w);
  if (!ok || h * w == 0)
    throw Error(codes::kShape, "consistency target " + shape_of(target) + " must be [N, 1, H, W] matching embeddings " +
                                   shape_of(embeddings));
}

}  // namespace

torch::Tensor heatmap_focal_loss(const torch::Tensor& logits, const torch::Tensor& target, double positives) {
  check_focal(logits, target);
  const auto type = compute_type(logits);
  auto gt = target.to(logits.device(), type);
  auto pred = torch::clamp(torch::sigmoid(logits.to(type)), 1e-4, 1 - 1e-4);
  auto pos = gt.eq(1).to(type);
  auto neg = gt.lt(1).to(type);
  // Label smoothing of the positives: (1 − ε) + ε·0.2 with ε = 0.35 → 0.72 (losses/losses.py; docs/IMPLEMENTATION.md, Losses).
  const double pos_factor = (1 - 0.35) + 0.35 * 0.2;
  auto pos_loss = (torch::log(pred) * torch::pow(1 - pred, 2) * pos).sum() * pos_factor;
  auto neg_loss = (torch::log(1 - pred) * torch::pow(pred, 2) * torch::pow(1 - gt, 4) * neg).sum();
  // N_pos over the whole batch; a batch without positives (all real) keeps only −neg.
  if (positives >= 0) return positives > 0 ? -(pos_loss + neg_loss) / positives : -neg_loss;
  auto n_pos = pos.sum();
  return torch::where(n_pos > 0, -(pos_loss + neg_loss) / n_pos.clamp_min(1), -neg_loss);
}

torch::Tensor classification_bce_loss(const torch::Tensor& logits, const torch::Tensor& labels, bool stable) {
  check_cls(logits, labels);
  const auto type = compute_type(logits);
  auto z = logits.to(type).reshape({-1});
  auto y = labels.to(logits.device(), type).reshape({-1});
  return stable ? bce_logits_mean(z, y) : bce_mean(torch::sigmoid(z), y);
}

torch::Tensor consistency_bce_loss(const torch::Tensor& embeddings, const torch::Tensor& target, bool stable) {
  check_consistency(embeddings, target);
  const auto type = compute_type(embeddings);
  const int64_t n = embeddings.size(0), d = embeddings.size(1), h = embeddings.size(2), w = embeddings.size(3);
  auto e = embeddings.to(type).reshape({n, d, h * w});
  auto c = target.to(embeddings.device(), type).reshape({n, h * w});
  // Anchor: first maximum of C_n in row-major order (an all-zero C gives pixel 0, as the official encoder).
  std::vector<int64_t> anchors(static_cast<size_t>(n), 0);
  {
    torch::NoGradGuard no_grad;
    auto cc = c.detach().cpu();
    for (int64_t i = 0; i < n; ++i) {
      auto ci = cc[i];
      anchors[size_t(i)] = ci.eq(ci.max()).nonzero()[0][0].item<int64_t>();
    }
  }
  auto idx = torch::tensor(anchors, torch::kInt64).to(e.device()).view({n, 1, 1}).expand({n, d, 1});
  auto anchor = e.gather(2, idx);                               // (N, D, 1)
  auto dots = torch::bmm(anchor.transpose(1, 2), e).squeeze(1);  // (N, HW)
  auto z = dots / std::sqrt(double(d));                          // sqrt(256) = 16
  return stable ? bce_logits_mean(z, c) : bce_mean(torch::sigmoid(z), c);
}

LossTerms combined_loss(const LaaNetOutputView& out, const LossTargets& t, const LossWeights& w) {
  LossTerms r;
  r.hm = heatmap_focal_loss(out.hm, t.heatmap);
  r.cls = classification_bce_loss(out.cls, t.labels);
  r.cst = consistency_bce_loss(out.cstency, t.consistency);
  // CombinedFocalLoss: summed in this order, no further normalisation.
  r.total = w.hm * r.hm + w.cls * r.cls + w.cst * r.cst;
  return r;
}

LossTerms combined_loss(const LaaNetOutputView& out, const LossTargets& t, const LossWeights& w,
                        const GlobalBatch& global) {
  if (!(global.images > 0)) throw Error(codes::kInternal, "a global batch needs rows");
  const double share = double(out.cls.size(0)) / global.images;  // the local means become sums / global rows
  LossTerms r;
  r.hm = heatmap_focal_loss(out.hm, t.heatmap, global.hm_positives);
  r.cls = classification_bce_loss(out.cls, t.labels) * share;
  r.cst = consistency_bce_loss(out.cstency, t.consistency) * share;
  r.total = w.hm * r.hm + w.cls * r.cls + w.cst * r.cst;
  return r;
}

double heatmap_focal(const torch::Tensor& logits, const torch::Tensor& target) {
  check_focal(logits, target);
  torch::NoGradGuard no_grad;
  return heatmap_focal_loss(logits.cpu(), target.cpu()).item<double>();
}

double classification_bce(const torch::Tensor& logits, const torch::Tensor& labels) {
  check_cls(logits, labels);
  torch::NoGradGuard no_grad;
  return classification_bce_loss(logits.cpu(), labels.cpu(), /*stable=*/false).item<double>();
}

double consistency_bce(const torch::Tensor& embeddings, const torch::Tensor& target) {
  check_consistency(embeddings, target);
  torch::NoGradGuard no_grad;
  return consistency_bce_loss(embeddings.cpu(), target.cpu(), /*stable=*/false).item<double>();
}

}  // namespace laa

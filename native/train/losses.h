// LAA-Net training losses (official `losses/losses.py::CombinedFocalLoss`),
// unweighted (multiply by hm_lmda / cls_lmda / cstency_lmda yourself).
// All take logits; the computation runs in float64 when the logits are
// float64, else float32. Shape errors throw laa::Error(ESHAPE).
#pragma once
#include <torch/torch.h>

namespace laa {

// Heatmap, `_neg_loss` with ε 0.35, noise 0.2, α 2, β 4: ĥ = clamp(sigmoid(logits), 1e-4, 1 − 1e-4);
// positives are target == 1.0 exactly, N_pos counted over the whole batch.
// logits and target: same shape (N, 1, H, W).
double heatmap_focal(const torch::Tensor& logits, const torch::Tensor& target);

// Classification, nn.BCELoss(sigmoid(logits), labels), mean, log clamped at −100.
// logits and labels: same number of elements (N or N×1).
double classification_bce(const torch::Tensor& logits, const torch::Tensor& labels);

// Consistency, `f_cstency`: anchor a_n = first argmax of target_n (row-major),
// Ĉ_n(u) = sigmoid(⟨E_n[:, a_n], E_n[:, u]⟩ / sqrt(D)) (D = 256 → 16),
// then BCE mean over N·H·W. embeddings (N, D, H, W); target (N, 1, H, W) or (N, H, W).
double consistency_bce(const torch::Tensor& embeddings, const torch::Tensor& target);

// Differentiable versions of the three, computed on the inputs' device in
// their dtype (float64 stays float64, anything else float32). With `stable`
// (training) the two BCEs are evaluated from logits: the same values unless
// σ rounds to 0 or 1, where the official probability form (stable = false,
// what the double versions above reproduce) has NaN gradients in float32.
// `positives` ≥ 0 replaces N_pos by that count (the global batch's, in data-parallel training).
torch::Tensor heatmap_focal_loss(const torch::Tensor& logits, const torch::Tensor& target, double positives = -1);
torch::Tensor classification_bce_loss(const torch::Tensor& logits, const torch::Tensor& labels, bool stable = true);
torch::Tensor consistency_bce_loss(const torch::Tensor& embeddings, const torch::Tensor& target, bool stable = true);

// λ weights (docs/IMPLEMENTATION.md, Losses). The defaults are the paper's and
// the released SBI checkpoint's (hm 10); the SBI YAML uses hm 100.
struct LossWeights {
  double cls = 1, hm = 10, cst = 100;
};
struct LaaNetOutputView {
  torch::Tensor hm, cls, cstency;
};
struct LossTargets {
  torch::Tensor heatmap, consistency, labels;  // (N,1,S,S), (N,1,S,S), (N,1)
};
struct LossTerms {
  torch::Tensor total, cls, hm, cst;  // cls/hm/cst unweighted; total = Σ λ·term (as `CombinedFocalLoss` sums them)
};
LossTerms combined_loss(const LaaNetOutputView& out, const LossTargets& targets, const LossWeights& weights);

// Data-parallel training: the rows here are part of a global batch of
// `images` rows with `hm_positives` heatmap positives. Each term is then this
// share of the global batch's term (the BCE means divided by the global row
// count, the focal sums by the global N_pos), so the shares' terms, and their
// gradients, sum over the processes to those of the whole batch.
struct GlobalBatch {
  double images = 0;
  double hm_positives = 0;
};
LossTerms combined_loss(const LaaNetOutputView& out, const LossTargets& targets, const LossWeights& weights,
                        const GlobalBatch& global);

}  // namespace laa

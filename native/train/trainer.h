// One LAA-Net training run's model and optimiser state: the SAM(Adam) step
// on a prepared batch, the warm-up backbone freeze, and checkpoints that
// resume exactly (weights, Adam moments, the LibTorch RNG that drives dropout
// and drop-connect). Data loading lives in native/train/loader.*; the epoch
// loop and the LR schedule are driven from TypeScript (src/train/trainer.ts).
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include <torch/torch.h>

#include "train/batch.h"
#include "train/distributed.h"
#include "net/laanet.h"
#include "train/losses.h"
#include "train/sam.h"
#include "core/tensor_arena.h"

namespace laa {

// The addon sets every field from src/train/options.ts (where the defaults and
// checks live); the initialisers here are the official values for C++ callers
// such as native/tests/gpu.
struct TrainerOptions {
  int64_t input_size = kInputSize;
  std::string backbone = kDefaultBackbone;  // a member of backbones.h
  std::string init = "scratch";  // "scratch" | "weights" (a LAA-Net checkpoint) | "backbone" (an EfficientNet state dict)
  std::string init_path;
  uint64_t seed = 317;           // the official SEED (configs/*.yaml)
  double rho = 0.05;
  AdamOptions adam;
  LossWeights loss;
  std::string device = "auto";
  bool channels_last = true;
  // "float32", or "bfloat16": autocast for the forward passes (convolutions and
  // matrix products in bfloat16, weights, gradients, Adam state and losses in
  // float32). Not in the official recipe; off by default.
  std::string precision = "float32";
  // bfloat16 on a CPU without native bfloat16 trains in float32 (precision_note
  // says why) unless strict, which makes it an error (EUNSUPPORTED).
  bool strict = false;
  int threads = 0;
  // Data-parallel training over several processes (distributed.h): rank 0's
  // initial weights and random stream go to every rank, each rank trains on
  // its rows of every global batch, the gradients of both SAM passes are
  // summed over the ranks, and every rank takes the same step.
  bool distributed = false;
  DistributedOptions dist;
};

struct StepResult {
  double total = 0, cls = 0, hm = 0, cst = 0;  // first-pass losses (the official logs use them)
  double grad_norm = 0;                        // ‖∇‖ at the first pass (SAM's g)
  double accuracy = 0;                         // first-pass cls accuracy at 0.5
  int64_t images = 0;                          // of the global batch when distributed
  bool skipped = false;                        // a non-finite loss: no update was made
  bool stopped = false;                        // a rank asked to stop: no step was taken (distributed)
  uint64_t bytes_reduced = 0;                  // all-reduced by this step (distributed)
};

class Trainer {
 public:
  explicit Trainer(const TrainerOptions& opts);

  // One SAM step (two forward/backward passes). Distributed, every rank
  // passes its share of the same global batch; `stop` on any rank makes all
  // of them return `stopped` without a step, at the same step.
  StepResult step(const TrainBatch& batch, bool stop = false);
  StepResult evaluate(const TrainBatch& batch);  // eval mode, no update

  // "Precise BN": recompute every BatchNorm's running mean/variance as the plain
  // average over `batches` train-mode forward passes with the current weights
  // (no update). After a short run from scratch the exponential running
  // averages (momentum 0.01 in the backbone) still remember early weights.
  void recalibrate_batchnorm(const std::vector<TrainBatch>& batches);

  void set_lr(double lr) { opt_->set_lr(lr); }
  double lr() const { return opt_->lr(); }
  // lib/core_function.py: the whole EfficientNet (B4: parameters 0..415) frozen during
  // warm-up; its BatchNorms stay in train mode.
  void set_backbone_frozen(bool frozen);
  bool backbone_frozen() const { return frozen_; }

  // One safetensors file (written atomically): "model.<official key>",
  // "optim.*" (Adam), "rng.cpu" plus the caller's metadata.
  void save_checkpoint(const std::string& path, const std::map<std::string, std::string>& metadata);
  std::map<std::string, std::string> load_checkpoint(const std::string& path);
  // The plain weights file (B4: the 803 official keys) that LaaNet.load / Detector use.
  void export_weights(const std::string& path, const std::string& dtype,
                      const std::map<std::string, std::string>& metadata);
  // export_weights with precise-BN statistics over `batches`, for evaluating a
  // run mid-way; the run keeps its own statistics and random stream (the
  // passes draw dropout masks), so evaluating does not change what it trains.
  void export_recalibrated(const std::string& path, const std::vector<TrainBatch>& batches, const std::string& dtype,
                           const std::map<std::string, std::string>& metadata);

  LaaNet& net() { return net_; }
  // The run's process group (nullptr in a single process). Files are written by rank 0 only.
  ProcessGroup* group() const { return group_.get(); }
  int rank() const { return group_ ? group_->rank() : 0; }
  int world_size() const { return group_ ? group_->world_size() : 1; }
  const TrainerOptions& options() const { return opts_; }  // precision: what the passes run in
  const std::string& precision_note() const { return precision_note_; }
  int64_t parameter_count() const;

 private:
  LossTerms run(const TrainBatch& b, torch::Tensor* cls_logits, const GlobalBatch* global);
  void init_weights();
  GlobalBatch global_batch(const TrainBatch& b, bool stop, bool* stopped);
  double reduce_pass(StepResult* r, double local_total, const LossTerms& l, const TrainBatch& b, const GlobalBatch& g,
                     bool gradients);
  void broadcast_state(bool optimizer);
  bool writes_files() const { return rank() == 0; }
  std::map<std::string, std::string> read_checkpoint(const std::string& path);

  TrimTensorArenaLast trim_arena_;
  TrainerOptions opts_;
  LaaNet net_{nullptr};  // built in the constructor, after the seed is set
  torch::Device device_ = torch::kCPU;
  std::unique_ptr<SamAdam> opt_;
  std::vector<torch::Tensor> backbone_params_;
  bool frozen_ = false;
  std::string precision_note_;
  torch::Tensor rng_;  // the run's CPU random stream (RunRng in trainer.cc)
  std::unique_ptr<ProcessGroup> group_;
  int64_t steps_done_ = 0;
};

// PoseEfficientNet.init_weights (models/), steps 2–3: decoder ConvTranspose ~ N(0, sqrt(2/(16·C))), decoder
// BatchNorms 1/0, hm.3 bias −2.19, cstency.3 ~ N(0, sqrt(2/256)) with bias 0.
void init_decoder_and_heads(LaaNetImpl& net);

// Copies an EfficientNet state dict with lukemelas names (`_conv_stem`,
// `_blocks.N.*`, `_conv_head`, `_bn1`; `_fc.*` ignored) into the backbone.
// Every backbone tensor must be present with the right shape (EWEIGHTS).
void load_backbone(LaaNetImpl& net, const StateDict& weights);

}  // namespace laa

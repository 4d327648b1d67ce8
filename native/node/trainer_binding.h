// `NativeTrainer`: the JavaScript handle on a training run (laa::Trainer plus
// its TrainLoader). Steps run on the LibTorch compute thread; the epoch loop,
// schedule and checkpoint cadence live in src/train/trainer.ts.
#pragma once
#include <napi.h>

#include <memory>
#include <mutex>

#include "train/trainer.h"
#include "train/loader.h"

namespace laa_node {

struct TrainRun {
  std::unique_ptr<laa::Trainer> trainer;
  std::unique_ptr<laa::TrainLoader> loader;  // absent when batches come from JavaScript
  std::mutex mutex;
};

class TrainerWrap : public Napi::ObjectWrap<TrainerWrap> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit TrainerWrap(const Napi::CallbackInfo& info);

  std::shared_ptr<TrainRun> run;

 private:
  static Napi::Value Create(const Napi::CallbackInfo& info);
  Napi::Value Step(const Napi::CallbackInfo& info);
  Napi::Value StepBatch(const Napi::CallbackInfo& info);
  Napi::Value MakeBatch(const Napi::CallbackInfo& info);
  Napi::Value RecalibrateBatchNorm(const Napi::CallbackInfo& info);
  Napi::Value EvaluateSynthetic(const Napi::CallbackInfo& info);
  Napi::Value BeginEpoch(const Napi::CallbackInfo& info);
  Napi::Value SetSchedule(const Napi::CallbackInfo& info);
  Napi::Value SaveCheckpoint(const Napi::CallbackInfo& info);
  Napi::Value LoadCheckpoint(const Napi::CallbackInfo& info);
  Napi::Value ExportWeights(const Napi::CallbackInfo& info);
  Napi::Value Barrier(const Napi::CallbackInfo& info);
  Napi::Value ShareString(const Napi::CallbackInfo& info);
  Napi::Value Info(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);

  std::shared_ptr<TrainRun> live(Napi::Env env) const;
};

// samStep(w0, x, y, rho, lr, weightDecay, steps) -> Float64Array: runs the
// trainer's SamAdam on loss = mean((x·w − y)²) in float64 (tests check it
// against a hand computation).
Napi::Value SamStepLinear(const Napi::CallbackInfo& info);

}  // namespace laa_node

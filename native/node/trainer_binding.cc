#include "node/trainer_binding.h"

#include <chrono>
#include <functional>

#include "node/addon_data.h"
#include "core/errors.h"
#include "model/model.h"
#include "train/sam.h"
#include "node/napi_worker.h"
#include "node/tensor_io.h"

namespace laa_node {

namespace {

// The options come complete from src/train/options.ts (every default and check
// lives there): a missing or mistyped one is a bug of the caller, not a default.
Napi::Value need(const Napi::Object& o, const char* key, bool (Napi::Value::*is)() const, const char* what) {
  Napi::Value v = o.Has(key) ? o.Get(key) : o.Env().Undefined();
  if (!(v.*is)())
    throw laa::Error(laa::codes::kArg, std::string("trainer option '") + key + "': expected " + what + " (src/train/options.ts fills every option)");
  return v;
}
double num(const Napi::Object& o, const char* key) { return need(o, key, &Napi::Value::IsNumber, "a number").As<Napi::Number>().DoubleValue(); }
std::string str(const Napi::Object& o, const char* key) { return need(o, key, &Napi::Value::IsString, "a string").As<Napi::String>().Utf8Value(); }
bool flag(const Napi::Object& o, const char* key) { return need(o, key, &Napi::Value::IsBoolean, "a boolean").As<Napi::Boolean>().Value(); }
// samLinear (a test hook for the SAM step on a linear model) keeps its own small defaults.
double num_or(const Napi::Object& o, const char* key, double fallback) {
  return o.Has(key) && o.Get(key).IsNumber() ? o.Get(key).As<Napi::Number>().DoubleValue() : fallback;
}

std::map<std::string, std::string> string_map(const Napi::Value& v) {
  std::map<std::string, std::string> out;
  if (!v.IsObject()) return out;
  Napi::Object o = v.As<Napi::Object>();
  Napi::Array keys = o.GetPropertyNames();
  for (uint32_t i = 0; i < keys.Length(); ++i) {
    std::string k = keys.Get(i).ToString().Utf8Value();
    out[k] = o.Get(k).ToString().Utf8Value();
  }
  return out;
}

Napi::Object step_to_js(Napi::Env env, const laa::StepResult& r, double data_ms, double step_ms) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("total", r.total);
  o.Set("cls", r.cls);
  o.Set("hm", r.hm);
  o.Set("cst", r.cst);
  o.Set("gradNorm", r.grad_norm);
  o.Set("accuracy", r.accuracy);
  o.Set("images", Napi::Number::New(env, double(r.images)));
  o.Set("skipped", r.skipped);
  o.Set("stopped", r.stopped);
  o.Set("bytesReduced", Napi::Number::New(env, double(r.bytes_reduced)));
  o.Set("dataWaitMs", data_ms);
  o.Set("stepMs", step_ms);
  return o;
}

// [{ image: absolute path, video, landmarks: Float32Array(136) }], validated by readPreparedIndex.
std::vector<laa::PreparedRecord> records_from_js(Napi::Env env, const Napi::Value& v) {
  std::vector<laa::PreparedRecord> out;
  if (v.IsUndefined()) return out;
  if (!v.IsArray()) throw_failure(env, {laa::codes::kArg, "records must be an array"});
  Napi::Array a = v.As<Napi::Array>();
  out.reserve(a.Length());
  for (uint32_t i = 0; i < a.Length(); ++i) {
    Napi::Object r = a.Get(i).As<Napi::Object>();
    Napi::Value lm = r.Get("landmarks");
    if (!lm.IsTypedArray() || lm.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array ||
        lm.As<Napi::Float32Array>().ElementLength() != 136)
      throw_failure(env, {laa::codes::kArg, "record " + std::to_string(i) + ": landmarks must be a Float32Array of 68 (x, y) pairs"});
    auto pts = lm.As<Napi::Float32Array>();
    laa::PreparedRecord p;
    p.image = r.Get("image").ToString().Utf8Value();
    p.video = r.Get("video").ToString().Utf8Value();
    for (size_t k = 0; k < 68; ++k) p.landmarks.emplace_back(pts[2 * k], pts[2 * k + 1]);
    out.push_back(std::move(p));
  }
  return out;
}

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

class CreateWorker : public PromiseWorker {
 public:
  CreateWorker(Napi::Env env, laa::TrainerOptions topts, std::vector<laa::PreparedRecord> records,
               laa::LoaderOptions lopts)
      : PromiseWorker(env), topts_(std::move(topts)), records_(std::move(records)), lopts_(std::move(lopts)) {}

 protected:
  void Run() override {
    run_ = std::make_shared<TrainRun>();
    if (!records_.empty()) {
      lopts_.input_size = topts_.input_size;
      lopts_.seed = topts_.seed;
      run_->loader = std::make_unique<laa::TrainLoader>(std::move(records_), lopts_);
    }
    run_->trainer = std::make_unique<laa::Trainer>(topts_);
  }
  Napi::Value Result(Napi::Env env) override {
    auto* data = env.GetInstanceData<AddonData>();
    Napi::Object obj = data->trainer_ctor.New({});
    TrainerWrap::Unwrap(obj)->run = run_;
    Napi::MemoryManagement::AdjustExternalMemory(env, run_->trainer->parameter_count() * 4 * 4);
    return obj;
  }

 private:
  laa::TrainerOptions topts_;
  std::vector<laa::PreparedRecord> records_;
  laa::LoaderOptions lopts_;
  std::shared_ptr<TrainRun> run_;
};

// One SAM step: from the loader (batch undefined) or from JavaScript tensors.
class StepWorker : public PromiseWorker {
 public:
  StepWorker(Napi::Env env, std::shared_ptr<TrainRun> run, laa::TrainBatch batch, bool evaluate, bool stop = false)
      : PromiseWorker(env), run_(std::move(run)), batch_(std::move(batch)), evaluate_(evaluate), stop_(stop) {}

 protected:
  void Run() override {
    std::lock_guard<std::mutex> lock(run_->mutex);
    auto t0 = Clock::now();
    if (!batch_.input.defined()) {
      if (!run_->loader) throw laa::Error(laa::codes::kArg, "this trainer has no data; pass a batch");
      batch_ = run_->loader->next();
    }
    data_ms_ = ms_since(t0);
    auto t1 = Clock::now();
    result_ = evaluate_ ? run_->trainer->evaluate(batch_) : run_->trainer->step(batch_, stop_);
    step_ms_ = ms_since(t1);
    batch_ = laa::TrainBatch();
  }
  Napi::Value Result(Napi::Env env) override { return step_to_js(env, result_, data_ms_, step_ms_); }

 private:
  std::shared_ptr<TrainRun> run_;
  laa::TrainBatch batch_;
  bool evaluate_, stop_;
  laa::StepResult result_;
  double data_ms_ = 0, step_ms_ = 0;
};

// Batches [0, steps) of the pseudo-epoch `epoch` (a fixed, reproducible set), one at a time; the caller holds the run's lock.
void for_each_fixed_batch(TrainRun& run, int64_t epoch, int64_t steps, const std::function<void(laa::TrainBatch)>& fn) {
  if (!run.loader) throw laa::Error(laa::codes::kArg, "this trainer has no data");
  const int64_t n = std::min(steps, run.loader->steps_per_epoch());
  for (int64_t s = 0; s < n; ++s) fn(run.loader->make_batch(epoch, s));
}

// Evaluates batches [0, steps) of a fixed pseudo-epoch (synthetic validation pairs).
class EvalSyntheticWorker : public PromiseWorker {
 public:
  EvalSyntheticWorker(Napi::Env env, std::shared_ptr<TrainRun> run, int64_t epoch, int64_t steps)
      : PromiseWorker(env), run_(std::move(run)), epoch_(epoch), steps_(steps) {}

 protected:
  void Run() override {
    std::lock_guard<std::mutex> lock(run_->mutex);
    for_each_fixed_batch(*run_, epoch_, steps_, [this](laa::TrainBatch b) {
      auto r = run_->trainer->evaluate(b);
      sum_.total += r.total * double(r.images);
      sum_.cls += r.cls * double(r.images);
      sum_.hm += r.hm * double(r.images);
      sum_.cst += r.cst * double(r.images);
      sum_.accuracy += r.accuracy * double(r.images);
      sum_.images += r.images;
    });
    if (sum_.images > 0) {
      const double k = double(sum_.images);
      sum_.total /= k, sum_.cls /= k, sum_.hm /= k, sum_.cst /= k, sum_.accuracy /= k;
    }
  }
  Napi::Value Result(Napi::Env env) override { return step_to_js(env, sum_, 0, 0); }

 private:
  std::shared_ptr<TrainRun> run_;
  int64_t epoch_, steps_;
  laa::StepResult sum_;
};

// Precise BN over batches [0, steps) of a fixed pseudo-epoch: on the run itself,
// or (with a path) into an exported weights file, the run left as it was.
class RecalibrateWorker : public PromiseWorker {
 public:
  RecalibrateWorker(Napi::Env env, std::shared_ptr<TrainRun> run, int64_t epoch, int64_t steps, std::string path = "",
                    std::map<std::string, std::string> meta = {})
      : PromiseWorker(env), run_(std::move(run)), epoch_(epoch), steps_(steps), path_(std::move(path)),
        meta_(std::move(meta)) {}

 protected:
  void Run() override {
    std::lock_guard<std::mutex> lock(run_->mutex);
    std::vector<laa::TrainBatch> batches;
    for_each_fixed_batch(*run_, epoch_, steps_, [&](laa::TrainBatch b) { batches.push_back(std::move(b)); });
    if (path_.empty()) run_->trainer->recalibrate_batchnorm(batches);
    else run_->trainer->export_recalibrated(path_, batches, "float32", meta_);
  }
  Napi::Value Result(Napi::Env env) override { return env.Undefined(); }

 private:
  std::shared_ptr<TrainRun> run_;
  int64_t epoch_, steps_;
  std::string path_;
  std::map<std::string, std::string> meta_;
};

class FileWorker : public PromiseWorker {
 public:
  enum Kind { kSave, kLoad, kExport };
  FileWorker(Napi::Env env, std::shared_ptr<TrainRun> run, Kind kind, std::string path,
             std::map<std::string, std::string> meta, std::string dtype)
      : PromiseWorker(env), run_(std::move(run)), kind_(kind), path_(std::move(path)), meta_(std::move(meta)),
        dtype_(std::move(dtype)) {}

 protected:
  void Run() override {
    std::lock_guard<std::mutex> lock(run_->mutex);
    if (kind_ == kSave) run_->trainer->save_checkpoint(path_, meta_);
    else if (kind_ == kLoad) meta_ = run_->trainer->load_checkpoint(path_);
    else run_->trainer->export_weights(path_, dtype_, meta_);
  }
  Napi::Value Result(Napi::Env env) override {
    if (kind_ != kLoad) return env.Undefined();
    Napi::Object o = Napi::Object::New(env);
    for (const auto& kv : meta_) o.Set(kv.first, kv.second);
    return o;
  }

 private:
  std::shared_ptr<TrainRun> run_;
  Kind kind_;
  std::string path_;
  std::map<std::string, std::string> meta_;
  std::string dtype_;
};

// barrier() / shareString(value): the run's process group, between steps.
class GroupWorker : public PromiseWorker {
 public:
  GroupWorker(Napi::Env env, std::shared_ptr<TrainRun> run, bool share, std::string value)
      : PromiseWorker(env), run_(std::move(run)), share_(share), value_(std::move(value)) {}

 protected:
  void Run() override {
    std::lock_guard<std::mutex> lock(run_->mutex);
    laa::ProcessGroup* g = run_->trainer->group();
    if (!g) return;  // one process: nothing to wait for, the value is its own
    if (share_) value_ = g->share_string(value_);
    else g->barrier();
  }
  Napi::Value Result(Napi::Env env) override {
    return share_ ? Napi::String::New(env, value_) : env.Undefined();
  }

 private:
  std::shared_ptr<TrainRun> run_;
  bool share_;
  std::string value_;
};

class MakeBatchWorker : public PromiseWorker {
 public:
  MakeBatchWorker(Napi::Env env, std::shared_ptr<TrainRun> run, int64_t epoch, int64_t step)
      : PromiseWorker(env, /*compute_thread=*/false), run_(std::move(run)), epoch_(epoch), step_(step) {}

 protected:
  void Run() override {
    if (!run_->loader) throw laa::Error(laa::codes::kArg, "this trainer has no data");
    batch_ = run_->loader->make_batch(epoch_, step_);  // the loader is thread-safe; no run lock needed
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("input", tensor_to_js(env, batch_.input));
    o.Set("heatmap", tensor_to_js(env, batch_.heatmap));
    o.Set("consistency", tensor_to_js(env, batch_.consistency));
    o.Set("labels", tensor_to_js(env, batch_.labels));
    return o;
  }

 private:
  std::shared_ptr<TrainRun> run_;
  int64_t epoch_, step_;
  laa::TrainBatch batch_;
};

laa::TrainBatch batch_from_js(Napi::Env env, const Napi::Object& b) {
  auto get = [&](const char* k) {
    if (!b.Has(k) || !b.Get(k).IsObject())
      throw_failure(env, {laa::codes::kArg, std::string("the batch lacks '") + k + "' ({ data, shape })"});
    Napi::Object t = b.Get(k).As<Napi::Object>();
    return tensor_from_js(env, t.Get("data"), t.Get("shape")).to(torch::kFloat32);
  };
  laa::TrainBatch out;
  out.input = get("input");
  out.heatmap = get("heatmap");
  out.consistency = get("consistency");
  out.labels = get("labels");
  return out;
}

}  // namespace

Napi::Function TrainerWrap::Define(Napi::Env env) {
  return DefineClass(env, "NativeTrainer",
                     {StaticMethod("create", &TrainerWrap::Create), InstanceMethod("step", &TrainerWrap::Step),
                      InstanceMethod("stepBatch", &TrainerWrap::StepBatch),
                      InstanceMethod("makeBatch", &TrainerWrap::MakeBatch),
                      InstanceMethod("recalibrateBatchNorm", &TrainerWrap::RecalibrateBatchNorm),
                      InstanceMethod("evaluateSynthetic", &TrainerWrap::EvaluateSynthetic),
                      InstanceMethod("beginEpoch", &TrainerWrap::BeginEpoch),
                      InstanceMethod("setSchedule", &TrainerWrap::SetSchedule),
                      InstanceMethod("saveCheckpoint", &TrainerWrap::SaveCheckpoint),
                      InstanceMethod("loadCheckpoint", &TrainerWrap::LoadCheckpoint),
                      InstanceMethod("exportWeights", &TrainerWrap::ExportWeights),
                      InstanceMethod("barrier", &TrainerWrap::Barrier),
                      InstanceMethod("shareString", &TrainerWrap::ShareString),
                      InstanceMethod("info", &TrainerWrap::Info), InstanceMethod("dispose", &TrainerWrap::Dispose)});
}

TrainerWrap::TrainerWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TrainerWrap>(info) {}

std::shared_ptr<TrainRun> TrainerWrap::live(Napi::Env env) const {
  if (!run) throw_failure(env, {laa::codes::kDisposed, "this Trainer has been disposed"});
  return run;
}

// create(options) -> Promise<NativeTrainer>. Options are complete and validated (src/train/options.ts).
Napi::Value TrainerWrap::Create(const Napi::CallbackInfo& info) {
  Napi::Object o = info[0].As<Napi::Object>();
  laa::TrainerOptions t;
  laa::LoaderOptions l;
  try {
    t.input_size = int64_t(num(o, "inputSize"));
    t.backbone = str(o, "backbone");
    t.init = str(o, "init");
    t.init_path = str(o, "initPath");
    t.seed = uint64_t(num(o, "seed"));
    t.rho = num(o, "rho");
    t.adam.lr = num(o, "lr");
    t.adam.weight_decay = num(o, "weightDecay");
    t.adam.eps = num(o, "adamEps");
    t.loss.cls = num(o, "lambdaCls");
    t.loss.hm = num(o, "lambdaHm");
    t.loss.cst = num(o, "lambdaCst");
    t.device = str(o, "device");
    t.precision = str(o, "precision");
    t.strict = flag(o, "strict");
    t.threads = int(num(o, "threads"));
    l.synthesis = str(o, "synthesis");
    l.batch_items = int64_t(num(o, "batchSize"));
    l.frames_per_video = int64_t(num(o, "framesPerVideo"));
    l.workers = int(num(o, "workers"));
    l.prefetch = int(num(o, "prefetch"));
    l.augment = flag(o, "augment");
    l.gain_start = num(o, "artifactGain");
    l.gain_epochs = int64_t(num(o, "artifactGainEpochs"));
    l.degrade = num(o, "degrade");
    // distributed: { backend, rank, worldSize, masterAddr, masterPort, timeoutMs, syncBatchNorm } (src/train/distributed.ts)
    if (o.Has("distributed") && o.Get("distributed").IsObject()) {
      Napi::Object d = o.Get("distributed").As<Napi::Object>();
      t.distributed = true;
      t.dist.backend = str(d, "backend");
      t.dist.rank = int(num(d, "rank"));
      t.dist.world_size = int(num(d, "worldSize"));
      t.dist.master_addr = str(d, "masterAddr");
      t.dist.master_port = int(num(d, "masterPort"));
      t.dist.timeout_ms = int64_t(num(d, "timeoutMs"));
      t.dist.sync_batch_norm = flag(d, "syncBatchNorm");
      l.rank = t.dist.rank;
      l.world = t.dist.world_size;
    }
  } catch (const laa::Error& e) {
    throw_failure(info.Env(), {e.code, e.what()});
  }
  return PromiseWorker::start(new CreateWorker(info.Env(), t, records_from_js(info.Env(), o.Get("records")), l));
}

// step(stop?): `stop` asks every rank to stop at this step (distributed; alone, it stops this one).
Napi::Value TrainerWrap::Step(const Napi::CallbackInfo& info) {
  return PromiseWorker::start(new StepWorker(info.Env(), live(info.Env()), laa::TrainBatch(), false,
                                             info.Length() > 0 && info[0].ToBoolean()));
}

Napi::Value TrainerWrap::Barrier(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return PromiseWorker::start(new GroupWorker(env, live(env), false, ""));
}

// shareString(value) -> Promise<rank 0's value>
Napi::Value TrainerWrap::ShareString(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return PromiseWorker::start(new GroupWorker(env, live(env), true, info[0].ToString().Utf8Value()));
}

// stepBatch({input, heatmap, consistency, labels}, evaluate?) -> Promise<step result>
Napi::Value TrainerWrap::StepBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto r = live(env);
  return PromiseWorker::start(new StepWorker(env, r, batch_from_js(env, info[0].As<Napi::Object>()),
                                             info.Length() > 1 && info[1].ToBoolean()));
}

// makeBatch(epoch, step) -> Promise<batch>: exactly what step() would train on.
Napi::Value TrainerWrap::MakeBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return PromiseWorker::start(new MakeBatchWorker(env, live(env), info[0].As<Napi::Number>().Int64Value(),
                                                  info[1].As<Napi::Number>().Int64Value()));
}

// recalibrateBatchNorm(epoch, steps[, exportPath, metadata]) -> Promise<void>
Napi::Value TrainerWrap::RecalibrateBatchNorm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const bool to_file = info.Length() > 2 && info[2].IsString();
  return PromiseWorker::start(new RecalibrateWorker(env, live(env), info[0].As<Napi::Number>().Int64Value(),
                                                    info[1].As<Napi::Number>().Int64Value(),
                                                    to_file ? info[2].As<Napi::String>().Utf8Value() : "",
                                                    to_file ? string_map(info[3]) : std::map<std::string, std::string>{}));
}

Napi::Value TrainerWrap::EvaluateSynthetic(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return PromiseWorker::start(new EvalSyntheticWorker(env, live(env), int64_t(info[0].As<Napi::Number>().Int64Value()),
                                                      int64_t(info[1].As<Napi::Number>().Int64Value())));
}

// beginEpoch(epoch, firstStep) -> stepsPerEpoch (the loader starts making batches).
Napi::Value TrainerWrap::BeginEpoch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto r = live(env);
  NativeFailure f;
  int64_t steps = 0;
  if (!capture([&] {
        std::lock_guard<std::mutex> lock(r->mutex);
        if (!r->loader) throw laa::Error(laa::codes::kArg, "this trainer has no data");
        r->loader->begin_epoch(info[0].As<Napi::Number>().Int64Value(), info[1].As<Napi::Number>().Int64Value());
        steps = r->loader->steps_per_epoch();
      }, f))
    throw_failure(env, f);
  return Napi::Number::New(env, double(steps));
}

// setSchedule(lr, backboneFrozen): between steps only (src/train/trainer.ts serialises calls).
Napi::Value TrainerWrap::SetSchedule(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto r = live(env);
  NativeFailure f;
  if (!capture([&] {
        std::lock_guard<std::mutex> lock(r->mutex);
        r->trainer->set_lr(info[0].As<Napi::Number>().DoubleValue());
        r->trainer->set_backbone_frozen(info[1].ToBoolean());
      }, f))
    throw_failure(env, f);
  return env.Undefined();
}

Napi::Value TrainerWrap::SaveCheckpoint(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return PromiseWorker::start(new FileWorker(env, live(env), FileWorker::kSave, info[0].As<Napi::String>().Utf8Value(),
                                             string_map(info[1]), ""));
}

Napi::Value TrainerWrap::LoadCheckpoint(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return PromiseWorker::start(new FileWorker(env, live(env), FileWorker::kLoad, info[0].As<Napi::String>().Utf8Value(),
                                             {}, ""));
}

Napi::Value TrainerWrap::ExportWeights(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return PromiseWorker::start(new FileWorker(env, live(env), FileWorker::kExport,
                                             info[0].As<Napi::String>().Utf8Value(), string_map(info[2]),
                                             info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : ""));
}

Napi::Value TrainerWrap::Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto r = live(env);
  Napi::Object o = Napi::Object::New(env);
  o.Set("parameters", Napi::Number::New(env, double(r->trainer->parameter_count())));
  o.Set("lr", r->trainer->lr());
  o.Set("backboneFrozen", r->trainer->backbone_frozen());
  o.Set("precision", r->trainer->options().precision);
  o.Set("rank", r->trainer->rank());
  o.Set("worldSize", r->trainer->world_size());
  if (!r->trainer->precision_note().empty()) o.Set("precisionNote", r->trainer->precision_note());
  if (r->loader) {
    o.Set("stepsPerEpoch", Napi::Number::New(env, double(r->loader->steps_per_epoch())));
    o.Set("videos", Napi::Number::New(env, double(r->loader->videos())));
    o.Set("frames", Napi::Number::New(env, double(r->loader->records())));
  }
  return o;
}

Napi::Value TrainerWrap::Dispose(const Napi::CallbackInfo& info) {
  if (run) {
    if (run->loader) run->loader->stop();
    Napi::MemoryManagement::AdjustExternalMemory(info.Env(), -run->trainer->parameter_count() * 4 * 4);
    run.reset();
  }
  return info.Env().Undefined();
}

namespace {
class SamLinearWorker : public PromiseWorker {
 public:
  SamLinearWorker(Napi::Env env, torch::Tensor w, torch::Tensor x, torch::Tensor y, double rho, laa::AdamOptions a,
                  int steps)
      : PromiseWorker(env), w_(std::move(w)), x_(std::move(x)), y_(std::move(y)), rho_(rho), a_(a), steps_(steps) {}

 protected:
  void Run() override {
    auto w = w_.to(torch::kFloat64).clone().set_requires_grad(true);
    auto x = x_.to(torch::kFloat64), y = y_.to(torch::kFloat64).reshape({-1});
    laa::SamAdam opt({w}, {"w"}, rho_, a_);
    auto loss = [&] { return (torch::matmul(x, w) - y).pow(2).mean(); };
    for (int s = 0; s < steps_; ++s)
      opt.step([&](bool) {
        auto l = loss();
        l.backward();
        return l.item<double>();
      });
    out_ = w.detach();
  }
  Napi::Value Result(Napi::Env env) override { return tensor_to_js(env, out_); }

 private:
  torch::Tensor w_, x_, y_, out_;
  double rho_;
  laa::AdamOptions a_;
  int steps_;
};
}  // namespace

Napi::Value SamStepLinear(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = info[0].As<Napi::Object>();
  auto tensor = [&](const char* k) {
    Napi::Object t = o.Get(k).As<Napi::Object>();
    return tensor_from_js(env, t.Get("data"), t.Get("shape"));
  };
  laa::AdamOptions a;
  a.lr = num_or(o, "lr", 1e-3);
  a.weight_decay = num_or(o, "weightDecay", 0);
  return PromiseWorker::start(new SamLinearWorker(env, tensor("w"), tensor("x"), tensor("y"), num_or(o, "rho", 0.05), a,
                                                  int(num_or(o, "steps", 1))));
}

}  // namespace laa_node

#include "node/model_binding.h"

#include <cstring>

#include "core/errors.h"
#include "media/crop.h"
#include "media/media.h"
#include "node/napi_worker.h"
#include "node/tensor_io.h"

namespace laa_node {

namespace {

laa::ModelOptions parse_model_options(const Napi::Object& o) {
  laa::ModelOptions opts;
  if (o.Has("dtype")) opts.dtype = o.Get("dtype").As<Napi::String>().Utf8Value();
  if (o.Has("device")) opts.device = o.Get("device").As<Napi::String>().Utf8Value();
  if (o.Has("threads")) opts.threads = o.Get("threads").As<Napi::Number>().Int32Value();
  if (o.Has("backbone")) opts.backbone = o.Get("backbone").As<Napi::String>().Utf8Value();
  if (o.Has("strict")) opts.strict = o.Get("strict").ToBoolean();
  return opts;
}

std::vector<std::string> calibration_files(const Napi::Object& o) {
  std::vector<std::string> files;
  if (!o.Has("calibration")) return files;
  Napi::Array a = o.Get("calibration").As<Napi::Array>();
  for (uint32_t i = 0; i < a.Length(); ++i) files.push_back(a.Get(i).As<Napi::String>().Utf8Value());
  return files;
}

// The calibration batch of dtype 'auto': face crops (256² PNGs) as network inputs at the model's size.
torch::Tensor calibration_batch(const std::vector<std::string>& files, int64_t size) {
  std::vector<torch::Tensor> xs;
  for (const auto& f : files) xs.push_back(laa::ops::to_network_input(laa::ops::read_image(f), torch::kFloat32, int(size)));
  return torch::stack(xs);
}

// Builds the JS handle for a model made on a worker thread.
Napi::Value wrap_model(Napi::Env env, std::unique_ptr<laa::Model>& model, int threads) {
  auto* data = env.GetInstanceData<AddonData>();
  Napi::Object obj = data->laanet_ctor.New({});
  LaaNetWrap* w = LaaNetWrap::Unwrap(obj);
  w->model = std::shared_ptr<laa::Model>(std::move(model));
  w->threads = threads;
  // Let V8 know roughly how much native memory this object holds.
  Napi::MemoryManagement::AdjustExternalMemory(env, w->model->parameter_count() * 4);
  return obj;
}

class LoadWorker : public PromiseWorker {
 public:
  LoadWorker(Napi::Env env, std::string path, laa::ModelOptions opts, bool reference, uint64_t seed,
             std::vector<std::string> calibration)
      : PromiseWorker(env), path_(std::move(path)), opts_(std::move(opts)), reference_(reference), seed_(seed),
        calibration_(std::move(calibration)) {}

 protected:
  void Run() override {
    laa::apply_threads(opts_.threads);
    if (reference_) model_ = laa::Model::reference(seed_, opts_);
    else model_ = laa::Model::load(path_, opts_);
    if (opts_.dtype == "auto") {
      if (calibration_.empty()) throw laa::Error(laa::codes::kArg, "dtype 'auto' needs calibration faces");
      model_->choose_auto_dtype(calibration_batch(calibration_, model_->input_size()));
    }
  }
  Napi::Value Result(Napi::Env env) override { return wrap_model(env, model_, opts_.threads); }

 private:
  std::string path_;
  laa::ModelOptions opts_;
  bool reference_;
  uint64_t seed_;
  std::vector<std::string> calibration_;
  std::unique_ptr<laa::Model> model_;
};

class ForwardWorker : public PromiseWorker {
 public:
  ForwardWorker(Napi::Env env, std::shared_ptr<laa::Model> model, laa::ForwardRequest req, int threads)
      : PromiseWorker(env), model_(std::move(model)), req_(std::move(req)), threads_(threads) {}

 protected:
  void Run() override {
    laa::apply_threads(threads_);
    std::lock_guard<std::mutex> lock(model_->mutex());
    out_ = model_->forward(req_);
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    auto put = [&](const char* name, const torch::Tensor& t) {
      if (t.defined()) o.Set(name, tensor_to_js(env, t));
    };
    put("hm", out_.hm);
    put("cls", out_.cls);
    put("cstency", out_.cstency);
    if (req_.intermediates) {
      Napi::Object f = Napi::Object::New(env);
      f.Set("reduction_3", tensor_to_js(env, out_.endpoints.reduction_3));
      f.Set("reduction_4", tensor_to_js(env, out_.endpoints.reduction_4));
      f.Set("reduction_5", tensor_to_js(env, out_.endpoints.reduction_5));
      f.Set("reduction_6", tensor_to_js(env, out_.endpoints.reduction_6));
      for (int i = 0; i < 4; ++i) f.Set("deconv_" + std::to_string(i + 1), tensor_to_js(env, out_.deconv[i]));
      o.Set("features", f);
    }
    return o;
  }

 private:
  std::shared_ptr<laa::Model> model_;
  laa::ForwardRequest req_;
  int threads_;
  laa::LaaNetOutput out_;
};

class SaveWorker : public PromiseWorker {
 public:
  SaveWorker(Napi::Env env, std::shared_ptr<laa::Model> model, std::string path, std::string dtype,
             std::map<std::string, std::string> meta)
      : PromiseWorker(env), model_(std::move(model)), path_(std::move(path)), dtype_(std::move(dtype)),
        meta_(std::move(meta)) {}

 protected:
  void Run() override {
    std::lock_guard<std::mutex> lock(model_->mutex());
    model_->save(path_, dtype_, meta_);
  }
  Napi::Value Result(Napi::Env env) override { return env.Undefined(); }

 private:
  std::shared_ptr<laa::Model> model_;
  std::string path_, dtype_;
  std::map<std::string, std::string> meta_;
};

}  // namespace

Napi::Function LaaNetWrap::Define(Napi::Env env) {
  return DefineClass(env, "NativeLaaNet",
                     {StaticMethod("load", &LaaNetWrap::Load), StaticMethod("reference", &LaaNetWrap::Reference),
                      InstanceMethod("forward", &LaaNetWrap::Forward), InstanceMethod("save", &LaaNetWrap::Save),
                      InstanceMethod("info", &LaaNetWrap::Info), InstanceMethod("dispose", &LaaNetWrap::Dispose)});
}

LaaNetWrap::LaaNetWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<LaaNetWrap>(info) {}

std::shared_ptr<laa::Model> LaaNetWrap::live(Napi::Env env) const {
  if (!model) throw_failure(env, {laa::codes::kDisposed, "this LaaNet has been disposed"});
  return model;
}

// load(path, options) -> Promise<NativeLaaNet>
Napi::Value LaaNetWrap::Load(const Napi::CallbackInfo& info) {
  auto o = info[1].As<Napi::Object>();
  return PromiseWorker::start(new LoadWorker(info.Env(), info[0].As<Napi::String>().Utf8Value(),
                                             parse_model_options(o), false, 0, calibration_files(o)));
}

// reference(seed, options) -> Promise<NativeLaaNet>; seed is a BigInt (u64).
Napi::Value LaaNetWrap::Reference(const Napi::CallbackInfo& info) {
  bool lossless = false;
  uint64_t seed = info[0].As<Napi::BigInt>().Uint64Value(&lossless);
  auto o = info[1].As<Napi::Object>();
  return PromiseWorker::start(new LoadWorker(info.Env(), "", parse_model_options(o), true, seed, calibration_files(o)));
}

// forward(data, shape, heads{hm,cls,cstency}, intermediates) -> Promise<outputs>
Napi::Value LaaNetWrap::Forward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto m = live(env);
  laa::ForwardRequest req;
  req.input = tensor_from_js(env, info[0], info[1]);
  Napi::Object heads = info[2].As<Napi::Object>();
  req.heads.hm = heads.Get("hm").ToBoolean();
  req.heads.cls = heads.Get("cls").ToBoolean();
  req.heads.cstency = heads.Get("cstency").ToBoolean();
  req.intermediates = info[3].ToBoolean();
  return PromiseWorker::start(new ForwardWorker(env, m, std::move(req), threads));
}

// save(path, dtype, metadata?) -> Promise<void>; metadata: string values added to the file's __metadata__.
Napi::Value LaaNetWrap::Save(const Napi::CallbackInfo& info) {
  auto m = live(info.Env());
  std::map<std::string, std::string> meta;
  if (info.Length() > 2 && info[2].IsObject()) {
    Napi::Object o = info[2].As<Napi::Object>();
    Napi::Array keys = o.GetPropertyNames();
    for (uint32_t i = 0; i < keys.Length(); ++i) {
      const std::string k = keys.Get(i).ToString().Utf8Value();
      meta[k] = o.Get(k).ToString().Utf8Value();
    }
  }
  return PromiseWorker::start(new SaveWorker(info.Env(), m, info[0].As<Napi::String>().Utf8Value(),
                           info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "", std::move(meta)));
}

Napi::Value LaaNetWrap::Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto m = live(env);
  Napi::Object o = Napi::Object::New(env);
  o.Set("dtype", laa::dtype_name(m->dtype()));
  o.Set("requestedDtype", m->requested_dtype());
  if (!m->dtype_note().empty()) o.Set("dtypeNote", m->dtype_note());
  o.Set("inputSize", Napi::Number::New(env, double(m->input_size())));
  o.Set("device", m->device().str());
  o.Set("source", m->source());
  o.Set("parameters", Napi::Number::New(env, double(m->parameter_count())));
  o.Set("backbone", m->backbone().name);
  o.Set("architecture", m->backbone().architecture);
  Napi::Object meta = Napi::Object::New(env);
  for (const auto& kv : m->metadata()) meta.Set(kv.first, kv.second);
  o.Set("metadata", meta);
  return o;
}

Napi::Value LaaNetWrap::Dispose(const Napi::CallbackInfo& info) {
  if (model) {
    Napi::MemoryManagement::AdjustExternalMemory(info.Env(), -model->parameter_count() * 4);
    model.reset();  // in-flight work keeps its own reference until it ends
  }
  return info.Env().Undefined();
}

}  // namespace laa_node

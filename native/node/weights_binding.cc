// readWeights(path): the raw tensors of a .safetensors or official .pth file,
// without building a model (inspection, conversion scripts, tests).
#include "node/weights_binding.h"

#include "weights/official_layout.h"
#include "core/errors.h"
#include "model/model.h"
#include "weights/pth_reader.h"
#include "weights/safetensors.h"
#include "weights/weights_file.h"
#include "node/napi_worker.h"
#include "node/tensor_io.h"

namespace laa_node {

namespace {

class ReadWorker : public PromiseWorker {
 public:
  ReadWorker(Napi::Env env, std::string path) : PromiseWorker(env), path_(std::move(path)) {}

 protected:
  void Run() override {
    laa::WeightsFile file = laa::read_weights(path_);
    tensors_ = std::move(file.tensors);
    metadata_ = std::move(file.metadata);
    format_ = std::move(file.format);
    epoch_ = file.epoch;
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("format", format_);
    if (epoch_ >= 0) o.Set("epoch", Napi::Number::New(env, double(epoch_)));
    Napi::Object meta = Napi::Object::New(env);
    for (const auto& kv : metadata_) meta.Set(kv.first, kv.second);
    o.Set("metadata", meta);
    Napi::Array list = Napi::Array::New(env, tensors_.size());
    for (size_t i = 0; i < tensors_.size(); ++i) {
      Napi::Object t = tensor_to_js(env, tensors_[i].second, /*keep_integers=*/true);
      t.Set("name", tensors_[i].first);
      t.Set("dtype", laa::dtype_name(tensors_[i].second.scalar_type()));
      list.Set(uint32_t(i), t);
    }
    o.Set("tensors", list);
    return o;
  }

 private:
  std::string path_, format_;
  laa::StateDict tensors_;
  std::map<std::string, std::string> metadata_;
  int64_t epoch_ = -1;
};

class ConvertBackboneWorker : public PromiseWorker {
 public:
  ConvertBackboneWorker(Napi::Env env, std::string src, std::string dst, std::string backbone, std::string dtype,
                        std::map<std::string, std::string> meta)
      : PromiseWorker(env), src_(std::move(src)), dst_(std::move(dst)), backbone_(std::move(backbone)),
        dtype_(std::move(dtype)), meta_(std::move(meta)) {}

 protected:
  void Run() override {
    const laa::BackboneSpec& spec = laa::backbone_spec(backbone_);
    const torch::ScalarType dtype = laa::parse_dtype(dtype_);
    laa::StateDict all = laa::read_weights(src_).tensors;
    laa::StateDict kept = laa::backbone_tensors(spec, all, /*keep_classifier=*/true);
    for (const auto& kv : kept) {
      parameters_ += kv.second.is_floating_point() && kv.first.find("running_") == std::string::npos
                         ? kv.second.numel() : 0;
      classifier_ = classifier_ || kv.first == "_fc.weight";
    }
    tensors_ = int64_t(kept.size());
    laa::save_backbone(spec, kept, dst_, dtype, meta_);
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("tensors", Napi::Number::New(env, double(tensors_)));
    o.Set("parameters", Napi::Number::New(env, double(parameters_)));
    o.Set("classifier", Napi::Boolean::New(env, classifier_));
    return o;
  }

 private:
  std::string src_, dst_, backbone_, dtype_;
  std::map<std::string, std::string> meta_;
  int64_t tensors_ = 0, parameters_ = 0;
  bool classifier_ = false;
};

}  // namespace

Napi::Value ConvertBackbone(const Napi::CallbackInfo& info) {
  std::map<std::string, std::string> meta;
  if (info.Length() > 4 && info[4].IsObject()) {
    Napi::Object o = info[4].As<Napi::Object>();
    Napi::Array keys = o.GetPropertyNames();
    for (uint32_t i = 0; i < keys.Length(); ++i) {
      const std::string k = keys.Get(i).As<Napi::String>().Utf8Value();
      meta[k] = o.Get(k).As<Napi::String>().Utf8Value();
    }
  }
  return PromiseWorker::start(new ConvertBackboneWorker(
      info.Env(), info[0].As<Napi::String>().Utf8Value(), info[1].As<Napi::String>().Utf8Value(),
      info[2].As<Napi::String>().Utf8Value(), info[3].As<Napi::String>().Utf8Value(), std::move(meta)));
}

Napi::Value ReadWeights(const Napi::CallbackInfo& info) {
  return PromiseWorker::start(new ReadWorker(info.Env(), info[0].As<Napi::String>().Utf8Value()));
}

}  // namespace laa_node

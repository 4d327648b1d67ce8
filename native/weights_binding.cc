// readWeights(path): the raw tensors of a .safetensors or official .pth file,
// without building a model (inspection, conversion scripts, tests).
#include "weights_binding.h"

#include "laanet/errors.h"
#include "laanet/model.h"
#include "laanet/pth_reader.h"
#include "laanet/safetensors.h"
#include "napi_worker.h"
#include "tensor_io.h"

namespace laa_node {

namespace {

class ReadWorker : public PromiseWorker {
 public:
  ReadWorker(Napi::Env env, std::string path) : PromiseWorker(env), path_(std::move(path)) {}

 protected:
  void Run() override {
    if (laa::looks_like_safetensors(path_)) {
      auto file = laa::read_safetensors(path_);
      tensors_ = std::move(file.tensors);
      metadata_ = std::move(file.metadata);
      format_ = "safetensors";
    } else {
      auto ckpt = laa::read_pth(path_);
      tensors_ = std::move(ckpt.state_dict);
      epoch_ = ckpt.epoch;
      format_ = "pytorch-checkpoint";
    }
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

}  // namespace

Napi::Value ReadWeights(const Napi::CallbackInfo& info) {
  return PromiseWorker::start(new ReadWorker(info.Env(), info[0].As<Napi::String>().Utf8Value()));
}

}  // namespace laa_node

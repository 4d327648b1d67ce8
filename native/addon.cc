// Entry point of the laa-native addon.
#include <napi.h>
#include <opencv2/core/version.hpp>
#include <torch/torch.h>

#include "model_binding.h"
#include "weights_binding.h"

namespace laa_node {

namespace {

Napi::Value Versions(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("libtorch", LAA_TORCH_VERSION);
  o.Set("libtorchRuntime", TORCH_VERSION);
  o.Set("opencv", CV_VERSION);
  o.Set("dlib", LAA_DLIB_VERSION);
  o.Set("cuda", torch::cuda::is_available());
  o.Set("cudaDevices", Napi::Number::New(env, double(torch::cuda::device_count())));
  o.Set("mkldnn", at::hasMKLDNN());
  o.Set("threads", Napi::Number::New(env, at::get_num_threads()));
  o.Set("parallel", at::get_parallel_info());
  return o;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto* data = new AddonData();
  data->laanet_ctor = Napi::Persistent(LaaNetWrap::Define(env));
  env.SetInstanceData<AddonData>(data);
  exports.Set("NativeLaaNet", data->laanet_ctor.Value());
  exports.Set("versions", Napi::Function::New(env, Versions));
  exports.Set("readWeights", Napi::Function::New(env, ReadWeights));
  return exports;
}

}  // namespace

NODE_API_MODULE(laa_native, Init)

}  // namespace laa_node

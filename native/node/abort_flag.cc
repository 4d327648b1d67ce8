#include "node/abort_flag.h"

#include "node/addon_data.h"

namespace laa_node {

Napi::Function AbortFlag::Define(Napi::Env env) {
  return DefineClass(env, "AbortFlag", {InstanceMethod("abort", &AbortFlag::Abort)});
}

AbortFlag::AbortFlag(const Napi::CallbackInfo& info) : Napi::ObjectWrap<AbortFlag>(info) {}

Napi::Value AbortFlag::Abort(const Napi::CallbackInfo& info) {
  flag->store(true);
  return info.Env().Undefined();
}

std::shared_ptr<std::atomic<bool>> abort_flag_of(const Napi::Value& v) {
  if (v.IsObject()) {
    auto* data = v.Env().GetInstanceData<AddonData>();
    Napi::Object o = v.As<Napi::Object>();
    if (o.InstanceOf(data->abort_flag_ctor.Value())) return AbortFlag::Unwrap(o)->flag;
  }
  return std::make_shared<std::atomic<bool>>(false);
}

}  // namespace laa_node

// `NativeLaaNet`: the JavaScript handle on a laa::Model. Every method that
// touches the network returns a Promise and runs on a worker thread.
#pragma once
#include <napi.h>

#include <memory>

#include "node/addon_data.h"
#include "model/model.h"

namespace laa_node {

class LaaNetWrap : public Napi::ObjectWrap<LaaNetWrap> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit LaaNetWrap(const Napi::CallbackInfo& info);

  std::shared_ptr<laa::Model> model;
  int threads = 0;

 private:
  static Napi::Value Load(const Napi::CallbackInfo& info);
  static Napi::Value Reference(const Napi::CallbackInfo& info);
  Napi::Value Forward(const Napi::CallbackInfo& info);
  Napi::Value Save(const Napi::CallbackInfo& info);
  Napi::Value Info(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);

  std::shared_ptr<laa::Model> live(Napi::Env env) const;
};

}  // namespace laa_node

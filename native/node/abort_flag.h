// AbortFlag: a JS object the TypeScript layer flips when an AbortSignal fires;
// native jobs hold the shared flag and check it between frames and batches.
#pragma once
#include <napi.h>

#include <atomic>
#include <memory>

namespace laa_node {

class AbortFlag : public Napi::ObjectWrap<AbortFlag> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit AbortFlag(const Napi::CallbackInfo& info);
  std::shared_ptr<std::atomic<bool>> flag = std::make_shared<std::atomic<bool>>(false);

 private:
  Napi::Value Abort(const Napi::CallbackInfo& info);
};

// The flag behind a JS AbortFlag, or a fresh never-set one for undefined.
std::shared_ptr<std::atomic<bool>> abort_flag_of(const Napi::Value& v);

}  // namespace laa_node

// Progress from a worker thread to an optional JavaScript callback, called
// with numbers (after a stage name, when given) on the main thread. Calls are queued, never block the worker,
// and are dropped once the environment is going away.
#pragma once
#include <napi.h>

#include <initializer_list>
#include <string>
#include <vector>

namespace laa_node {

class ProgressReporter {
 public:
  // `callback` may be anything; only a function is called.
  ProgressReporter(Napi::Env env, const Napi::Value& callback, const char* name) {
    if (callback.IsFunction()) fn_ = Napi::ThreadSafeFunction::New(env, callback.As<Napi::Function>(), name, 0, 1);
  }
  ~ProgressReporter() {
    if (fn_) fn_.Release();
  }
  ProgressReporter(const ProgressReporter&) = delete;
  ProgressReporter& operator=(const ProgressReporter&) = delete;

  void report(std::initializer_list<double> values) { report(nullptr, values); }
  // The stage name goes first: callback(stage, ...values).
  void report(const char* stage, std::initializer_list<double> values) {
    if (!fn_) return;
    fn_.NonBlockingCall([name = std::string(stage ? stage : ""), named = stage != nullptr,
                         args = std::vector<double>(values)](Napi::Env env, Napi::Function fn) {
      std::vector<napi_value> js;
      if (named) js.push_back(Napi::String::New(env, name));
      for (double v : args) js.push_back(Napi::Number::New(env, v));
      fn.Call(js);
    });
  }

 private:
  Napi::ThreadSafeFunction fn_;
};

}  // namespace laa_node

// A promise-returning AsyncWorker whose failures keep the core's error code.
// Native exceptions (laa::Error, c10::Error, std::exception) are caught on the
// worker thread and turned into JavaScript errors with a stable `code`.
#pragma once
#include <napi.h>

#include <functional>
#include <string>

namespace laa_node {

struct NativeFailure {
  std::string code, message;
};

// Runs `fn`, converting any exception into a NativeFailure. Returns true on success.
bool capture(const std::function<void()>& fn, NativeFailure& failure);

Napi::Error make_error(Napi::Env env, const NativeFailure& f);

// Throws a JS error for `f` (used by synchronous entry points).
[[noreturn]] void throw_failure(Napi::Env env, const NativeFailure& f);

class PromiseWorker : public Napi::AsyncWorker {
 public:
  // Queues a heap-allocated worker (it deletes itself) and returns its promise.
  static Napi::Value start(PromiseWorker* worker) {
    Napi::Promise p = worker->promise();
    worker->Queue();
    return p;
  }

  // compute_thread: run Run() on the LibTorch compute thread (see
  // compute_thread.h); jobs that only partly use LibTorch pass false and send
  // those parts there themselves.
  explicit PromiseWorker(Napi::Env env, bool compute_thread = true)
      : Napi::AsyncWorker(env, "laa-native"), deferred_(Napi::Promise::Deferred::New(env)),
        compute_thread_(compute_thread) {}
  Napi::Promise promise() { return deferred_.Promise(); }

 protected:
  virtual void Run() = 0;                              // worker thread
  virtual Napi::Value Result(Napi::Env env) = 0;       // main thread

 private:
  void Execute() final;
  void OnOK() final;
  void OnError(const Napi::Error&) final;

  Napi::Promise::Deferred deferred_;
  NativeFailure failure_;
  bool failed_ = false;
  bool compute_thread_;
};

}  // namespace laa_node

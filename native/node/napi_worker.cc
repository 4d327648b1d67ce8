#include "node/napi_worker.h"

#include <torch/torch.h>

#include <cstdlib>

#include "node/compute_thread.h"
#include "core/errors.h"

namespace laa_node {

bool capture(const std::function<void()>& fn, NativeFailure& failure) {
  try {
    fn();
    return true;
  } catch (const Napi::Error&) {
    throw;
  } catch (const laa::Error& e) {
    failure = {e.code, e.what()};
  } catch (const c10::Error& e) {
    // what_without_backtrace keeps the message a user can act on;
    // LAA_NATIVE_DEBUG=1 adds LibTorch's C++ backtrace for bug reports.
    static const bool debug = std::getenv("LAA_NATIVE_DEBUG") != nullptr;
    failure = {laa::codes::kInternal, std::string("LibTorch: ") + (debug ? e.what() : e.what_without_backtrace())};
  } catch (const std::bad_alloc&) {
    failure = {laa::codes::kNoMemory, "out of memory"};
  } catch (const std::exception& e) {
    failure = {laa::codes::kInternal, e.what()};
  } catch (...) {
    failure = {laa::codes::kInternal, "unknown native exception"};
  }
  return false;
}

Napi::Error make_error(Napi::Env env, const NativeFailure& f) {
  Napi::Error err = Napi::Error::New(env, f.message);
  err.Set("code", Napi::String::New(env, f.code));
  return err;
}

void throw_failure(Napi::Env env, const NativeFailure& f) { throw make_error(env, f); }

void PromiseWorker::Execute() {
  failed_ = !capture([this] { compute_thread_ ? run_on_compute_thread([this] { Run(); }) : Run(); }, failure_);
}

void PromiseWorker::OnOK() {
  Napi::Env env = Env();
  // Every N-API call below throws Napi::Error once the environment is being
  // torn down (a Worker terminated while this job ran); then there is nobody
  // left to resolve, and letting the exception escape would abort the process.
  try {
    Napi::HandleScope scope(env);
    if (failed_) {
      deferred_.Reject(make_error(env, failure_).Value());
      return;
    }
    Napi::Value result;
    NativeFailure f;
    if (capture([&] { result = Result(env); }, f)) deferred_.Resolve(result);
    else deferred_.Reject(make_error(env, f).Value());
  } catch (const Napi::Error& e) {
    try {
      deferred_.Reject(e.Value());
    } catch (const Napi::Error&) {
    }
  }
}

void PromiseWorker::OnError(const Napi::Error& e) { deferred_.Reject(e.Value()); }

}  // namespace laa_node

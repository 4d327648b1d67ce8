// `NativeDetector`: scores media files with a shared laa::Model. Decoding and
// face detection run on a libuv worker; the network runs on the compute thread.
#pragma once
#include <napi.h>

#include <memory>
#include <mutex>

#include "laanet/model.h"
#include "ops/faces.h"

namespace laa_node {

class DetectorWrap : public Napi::ObjectWrap<DetectorWrap> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit DetectorWrap(const Napi::CallbackInfo& info);

 private:
  Napi::Value ScoreMedia(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);

  // What a scoring job needs; jobs keep it alive past dispose().
  struct State {
    std::shared_ptr<laa::Model> model;
    laa::ops::FaceDetector faces;  // not thread-safe: guarded by `mutex`
    std::mutex mutex;
    int threads = 0;
  };
  std::shared_ptr<State> state_;
};

}  // namespace laa_node

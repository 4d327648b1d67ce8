// `NativeDetector`: scores media files with a shared laa::Model. Decoding and
// face detection run on a libuv worker; the network runs on the compute thread.
#pragma once
#include <napi.h>

#include <memory>
#include <mutex>
#include <string>

#include "model/model.h"
#include "media/faces.h"

namespace laa_node {

// What a scoring job needs; jobs keep it alive past dispose().
struct DetectorState {
  std::shared_ptr<laa::Model> model;
  std::unique_ptr<laa::ops::FaceDetector> faces;  // not thread-safe: guarded by `mutex`
  std::unique_ptr<laa::ops::LandmarkPredictor> landmarks;
  std::string landmarks_path;
  std::mutex mutex;
  int threads = 0;

  // The predictor for `path`, loaded on first use (caller holds `mutex`).
  const laa::ops::LandmarkPredictor& landmarks_for(const std::string& path) {
    if (!landmarks || landmarks_path != path) {
      landmarks = std::make_unique<laa::ops::LandmarkPredictor>(path);
      landmarks_path = path;
    }
    return *landmarks;
  }
};

class DetectorWrap : public Napi::ObjectWrap<DetectorWrap> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit DetectorWrap(const Napi::CallbackInfo& info);

 private:
  Napi::Value ScoreMedia(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);

  std::shared_ptr<DetectorState> state_;
};

}  // namespace laa_node

#include "core/errors.h"
#include "node/prepare_binding.h"

#include <memory>
#include <mutex>
#include <vector>

#include "node/abort_flag.h"
#include "node/media_js.h"
#include "node/napi_worker.h"
#include "node/progress.h"
#include "pipeline/prepare.h"

namespace laa_node {

namespace {

// The shape predictor file is ~100 MB and takes a second to load: keep the
// last one for the process (predict() is const, so jobs on several threads
// share it).
std::shared_ptr<const laa::ops::LandmarkPredictor> shared_predictor(const std::string& path) {
  static std::mutex mutex;
  static std::shared_ptr<const laa::ops::LandmarkPredictor> cached;
  static std::string cached_path;
  std::lock_guard<std::mutex> lock(mutex);
  if (!cached || cached_path != path) {
    cached = std::make_shared<const laa::ops::LandmarkPredictor>(path);
    cached_path = path;
  }
  return cached;
}

// dlib builds its HOG detector by decoding a serialized model (0.5-1 s on a
// busy 2-core VM, as long as a dozen frames take): reuse them. A detector
// is not thread-safe, so each job borrows one and gives it back.
class DetectorPool {
 public:
  std::unique_ptr<laa::ops::FaceDetector> take(const laa::ops::FaceDetectorSpec& spec) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      for (auto it = free_.begin(); it != free_.end(); ++it) {
        if ((*it)->spec().kind != spec.kind || (*it)->spec().model != spec.model) continue;
        auto d = std::move(*it);
        free_.erase(it);
        return d;
      }
    }
    return std::make_unique<laa::ops::FaceDetector>(spec);
  }
  void give(std::unique_ptr<laa::ops::FaceDetector> d) {
    std::lock_guard<std::mutex> lock(mutex_);
    free_.push_back(std::move(d));
  }

 private:
  std::mutex mutex_;
  std::vector<std::unique_ptr<laa::ops::FaceDetector>> free_;
};

DetectorPool& detector_pool() {
  static DetectorPool* pool = new DetectorPool();  // never destroyed: jobs may outlive static destruction order
  return *pool;
}

Napi::Value points_to_js(Napi::Env env, const laa::ops::PreparedFrame& f, bool aligned) {
  // Flat [x0, y0, x1, y1, ...] in a Float64Array; the TS layer rounds and pairs them.
  const size_t n = aligned ? f.landmarks.size() : f.orig_landmarks.size();
  auto a = Napi::Float64Array::New(env, n * 2);
  for (size_t k = 0; k < n; ++k) {
    a[2 * k] = aligned ? f.landmarks[k].x : f.orig_landmarks[k].x;
    a[2 * k + 1] = aligned ? f.landmarks[k].y : f.orig_landmarks[k].y;
  }
  return a;
}

Napi::Array rect_to_js(Napi::Env env, int x, int y, int w, int h) {
  Napi::Array a = Napi::Array::New(env, 4);
  a.Set(0u, x);
  a.Set(1u, y);
  a.Set(2u, w);
  a.Set(3u, h);
  return a;
}

class PrepareWorker : public PromiseWorker {
 public:
  PrepareWorker(Napi::Env env, std::string path, std::string frames_dir, laa::ops::PrepareOptions opts,
                std::string landmarks_path, laa::ops::FaceDetectorSpec spec, std::shared_ptr<std::atomic<bool>> aborted,
                Napi::Value on_progress)
      : PromiseWorker(env, /*compute_thread=*/false), path_(std::move(path)), frames_dir_(std::move(frames_dir)),
        opts_(opts), landmarks_path_(std::move(landmarks_path)), spec_(std::move(spec)), aborted_(std::move(aborted)),
        progress_(env, on_progress, "laa-native prepare progress") {}

 protected:
  void Run() override {
    auto predictor = shared_predictor(landmarks_path_);
    opts_.landmarks = predictor.get();
    auto detector = detector_pool().take(spec_);
    struct Return {
      std::unique_ptr<laa::ops::FaceDetector>& d;
      ~Return() { detector_pool().give(std::move(d)); }
    } give_back{detector};
    auto progress = [this](int done, int total) { progress_.report({double(done), double(total)}); };
    result_ = laa::ops::prepare_media(path_, frames_dir_, opts_, *detector, progress, *aborted_);
  }

  Napi::Value Result(Napi::Env env) override {
    const auto& r = result_;
    Napi::Object o = Napi::Object::New(env);
    o.Set("info", media_info_to_js(env, r.info));
    o.Set("sampled", r.sampled);
    o.Set("noFace", r.no_face);
    Napi::Array frames = Napi::Array::New(env, r.frames.size());
    for (size_t i = 0; i < r.frames.size(); ++i) {
      const auto& f = r.frames[i];
      Napi::Object fo = Napi::Object::New(env);
      fo.Set("index", Napi::Number::New(env, double(f.index)));
      fo.Set("timeSec", f.time_sec);
      fo.Set("facesFound", f.faces_found);
      fo.Set("box", rect_to_js(env, f.box.left, f.box.top, f.box.width(), f.box.height()));
      fo.Set("crop", rect_to_js(env, f.crop.x, f.crop.y, f.crop.width, f.crop.height));
      fo.Set("angle", f.angle_deg);
      fo.Set("landmarks", points_to_js(env, f, true));
      fo.Set("origLandmarks", points_to_js(env, f, false));
      frames.Set(uint32_t(i), fo);
    }
    o.Set("frames", frames);
    Napi::Object t = Napi::Object::New(env);
    t.Set("decodeMs", r.decode_ms);
    t.Set("detectMs", r.detect_ms);
    t.Set("alignMs", r.align_ms);
    t.Set("writeMs", r.write_ms);
    o.Set("timings", t);
    return o;
  }

 private:
  std::string path_, frames_dir_;
  laa::ops::PrepareOptions opts_;
  std::string landmarks_path_;
  laa::ops::FaceDetectorSpec spec_;
  std::shared_ptr<std::atomic<bool>> aborted_;
  ProgressReporter progress_;
  laa::ops::PrepareResult result_;
};

}  // namespace

Napi::Value PrepareMedia(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString() || !info[1].IsString() || !info[2].IsObject())
    throw_failure(env, {laa::codes::kArg, "prepareMedia(path, framesDir, options, onProgress?, abortFlag?): bad arguments"});
  Napi::Object o = info[2].As<Napi::Object>();
  laa::ops::PrepareOptions opts;
  opts.frames = o.Get("frames").As<Napi::Number>().Int32Value();
  opts.detect_max_side = o.Get("detectMaxSide").As<Napi::Number>().Int32Value();
  laa::ops::FaceDetectorSpec spec;
  spec.kind = o.Get("faceDetector").As<Napi::String>().Utf8Value();
  spec.model = o.Get("faceModel").As<Napi::String>().Utf8Value();
  return PromiseWorker::start(new PrepareWorker(env, info[0].As<Napi::String>().Utf8Value(),
                                                info[1].As<Napi::String>().Utf8Value(), opts,
                                                o.Get("landmarks").As<Napi::String>().Utf8Value(), std::move(spec),
                                                abort_flag_of(info[4]), info[3]));
}

}  // namespace laa_node

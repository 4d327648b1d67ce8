#include "core/errors.h"
#include "node/detector_binding.h"

#include <cstring>

#include "node/abort_flag.h"
#include "node/compute_thread.h"
#include "node/model_binding.h"
#include "node/media_js.h"
#include "node/napi_worker.h"
#include "node/progress.h"
#include "node/synthesis_binding.h"
#include "pipeline/scorer.h"

namespace laa_node {

namespace {

Napi::Object face_to_js(Napi::Env env, const laa::FaceScore& f) {
  Napi::Object fo = Napi::Object::New(env);
  Napi::Object box = Napi::Object::New(env);
  box.Set("left", f.box.left);
  box.Set("top", f.box.top);
  box.Set("right", f.box.right);
  box.Set("bottom", f.box.bottom);
  fo.Set("box", box);
  fo.Set("logit", f.logit);
  fo.Set("score", f.score);
  fo.Set("person", f.person);
  // Maps go out with their shape: { data, shape }.
  auto shaped = [&](const torch::Tensor& t, Napi::Value data) {
    Napi::Object m = Napi::Object::New(env);
    Napi::Array shape = Napi::Array::New(env, size_t(t.dim()));
    for (int64_t d = 0; d < t.dim(); ++d) shape.Set(uint32_t(d), double(t.size(d)));
    m.Set("data", data);
    m.Set("shape", shape);
    return m;
  };
  if (f.heatmap.defined()) {
    auto h = f.heatmap.contiguous().reshape({f.heatmap.size(-2), f.heatmap.size(-1)});
    auto a = Napi::Float32Array::New(env, size_t(h.numel()));
    std::memcpy(a.Data(), h.data_ptr<float>(), size_t(h.numel()) * sizeof(float));
    fo.Set("heatmap", shaped(h, a));
  }
  if (f.crop.defined()) {
    auto c = f.crop.contiguous();
    auto a = Napi::Uint8Array::New(env, size_t(c.numel()));
    std::memcpy(a.Data(), c.data_ptr<uint8_t>(), size_t(c.numel()));
    fo.Set("crop", shaped(c, a));
  }
  if (!f.landmarks.empty()) {
    auto a = Napi::Float32Array::New(env, f.landmarks.size() * 2);
    for (size_t k = 0; k < f.landmarks.size(); ++k) {
      a[2 * k] = f.landmarks[k].x;
      a[2 * k + 1] = f.landmarks[k].y;
    }
    fo.Set("landmarks", a);
  }
  return fo;
}

class ScoreWorker : public PromiseWorker {
 public:
  ScoreWorker(Napi::Env env, std::shared_ptr<DetectorState> state, std::string path, laa::ScoreOptions opts,
              std::string landmarks_path, std::shared_ptr<std::atomic<bool>> aborted, Napi::Value on_progress)
      : PromiseWorker(env, /*compute_thread=*/false), state_(std::move(state)), path_(std::move(path)),
        opts_(opts), landmarks_path_(std::move(landmarks_path)), aborted_(std::move(aborted)),
        progress_(env, on_progress, "laa-native progress") {}

 protected:
  void Run() override {
    std::lock_guard<std::mutex> lock(state_->mutex);
    if (!landmarks_path_.empty()) opts_.landmarks = &state_->landmarks_for(landmarks_path_);
    auto progress = [this](const char* stage, int done, int total) { progress_.report(stage, {double(done), double(total)}); };
    auto compute = [this](const std::function<void()>& job) {
      run_on_compute_thread([&] {
        laa::apply_threads(state_->threads);
        job();
      });
    };
    result_ = laa::score_media(*state_->model, *state_->faces, path_, opts_, progress, *aborted_, compute);
  }

  Napi::Value Result(Napi::Env env) override {
    const auto& r = result_;
    Napi::Object o = Napi::Object::New(env);
    o.Set("info", media_info_to_js(env, r.info));
    Napi::Array frames = Napi::Array::New(env, r.frames.size());
    for (size_t i = 0; i < r.frames.size(); ++i) {
      const auto& f = r.frames[i];
      Napi::Object fo = Napi::Object::New(env);
      fo.Set("index", Napi::Number::New(env, double(f.index)));
      fo.Set("timeSec", f.time_sec);
      fo.Set("facesFound", f.faces_found);
      Napi::Array faces = Napi::Array::New(env, f.faces.size());
      for (size_t j = 0; j < f.faces.size(); ++j) faces.Set(uint32_t(j), face_to_js(env, f.faces[j]));
      fo.Set("faces", faces);
      frames.Set(uint32_t(i), fo);
    }
    o.Set("frames", frames);
    o.Set("faces", r.faces);
    Napi::Array people = Napi::Array::New(env, r.people.size());
    for (size_t i = 0; i < r.people.size(); ++i) {
      Napi::Object p = Napi::Object::New(env);
      p.Set("id", r.people[i].id);
      p.Set("faces", r.people[i].faces);
      p.Set("logit", r.people[i].logit);
      p.Set("score", r.people[i].score);
      people.Set(uint32_t(i), p);
    }
    o.Set("people", people);
    o.Set("logit", r.logit);
    o.Set("score", r.score);
    Napi::Object t = Napi::Object::New(env);
    t.Set("decodeMs", r.decode_ms);
    t.Set("detectMs", r.detect_ms);
    t.Set("cropMs", r.crop_ms);
    t.Set("inferMs", r.infer_ms);
    o.Set("timings", t);
    return o;
  }

 private:
  std::shared_ptr<DetectorState> state_;
  std::string path_;
  laa::ScoreOptions opts_;
  std::string landmarks_path_;
  std::shared_ptr<std::atomic<bool>> aborted_;
  ProgressReporter progress_;
  laa::MediaScore result_;
};

}  // namespace

Napi::Function DetectorWrap::Define(Napi::Env env) {
  return DefineClass(env, "NativeDetector",
                     {InstanceMethod("scoreMedia", &DetectorWrap::ScoreMedia),
                      InstanceMethod("dispose", &DetectorWrap::Dispose)});
}

// new NativeDetector(nativeLaaNet)
DetectorWrap::DetectorWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<DetectorWrap>(info) {
  Napi::Env env = info.Env();
  auto* data = env.GetInstanceData<AddonData>();
  if (!info[0].IsObject() || !info[0].As<Napi::Object>().InstanceOf(data->laanet_ctor.Value()))
    throw_failure(env, {laa::codes::kArg, "Expected a LaaNet for the detector's model"});
  auto* net = LaaNetWrap::Unwrap(info[0].As<Napi::Object>());
  if (!net->model) throw_failure(env, {laa::codes::kDisposed, "the LaaNet given to the detector has been disposed"});
  // options: { faceDetector: 'blazeface' | 'hog', faceModel: the BlazeFace ONNX file } (src/model/faces.ts)
  laa::ops::FaceDetectorSpec spec;
  if (info[1].IsObject()) {
    Napi::Object o = info[1].As<Napi::Object>();
    if (o.Get("faceDetector").IsString()) spec.kind = o.Get("faceDetector").As<Napi::String>().Utf8Value();
    if (o.Get("faceModel").IsString()) spec.model = o.Get("faceModel").As<Napi::String>().Utf8Value();
  }
  state_ = std::make_shared<DetectorState>();
  state_->model = net->model;
  state_->threads = net->threads;
  try {
    state_->faces = std::make_unique<laa::ops::FaceDetector>(spec);
  } catch (const laa::Error& e) {
    state_.reset();
    throw_failure(env, {e.code, e.what()});
  }
}

// scoreMedia(path, {frames, heatmaps, batch, detectMaxSide, allFaces, landmarks, perturb?}, onProgress?, abortFlag) -> Promise
// landmarks: "" for none, else the dlib shape predictor file.
Napi::Value DetectorWrap::ScoreMedia(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!state_) throw_failure(env, {laa::codes::kDisposed, "this Detector has been disposed"});
  Napi::Object o = info[1].As<Napi::Object>();
  laa::ScoreOptions opts;
  opts.frames = o.Get("frames").As<Napi::Number>().Int32Value();
  opts.heatmaps = o.Get("heatmaps").ToBoolean();
  opts.batch = o.Get("batch").As<Napi::Number>().Int32Value();
  opts.detect_max_side = o.Get("detectMaxSide").As<Napi::Number>().Int32Value();
  opts.all_faces = o.Get("allFaces").ToBoolean();
  opts.detect_threads = std::max(1, state_->threads);
  if (o.Has("perturb") && o.Get("perturb").IsObject()) {
    try {
      opts.perturb = degradation_from_js(o.Get("perturb").As<Napi::Object>());
    } catch (const laa::Error& e) {
      throw_failure(env, {e.code, e.what()});
    }
  }
  return PromiseWorker::start(new ScoreWorker(env, state_, info[0].As<Napi::String>().Utf8Value(), opts,
                                              o.Get("landmarks").As<Napi::String>().Utf8Value(),
                                              abort_flag_of(info[3]), info[2]));
}

Napi::Value DetectorWrap::Dispose(const Napi::CallbackInfo& info) {
  state_.reset();
  return info.Env().Undefined();
}

}  // namespace laa_node

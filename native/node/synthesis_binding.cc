#include "node/synthesis_binding.h"

#include <cstring>
#include <string>
#include <vector>

#include <opencv2/imgproc.hpp>

#include "core/errors.h"
#include "node/napi_worker.h"
#include "media/media.h"
#include "synthesis/synthesis.h"

namespace laa_node {

namespace {

// A face given either as a file (decoded on the worker) or as RGB pixels.
struct FaceArg {
  std::string path;
  cv::Mat rgb;
  std::vector<cv::Point2f> landmarks;

  void load() {
    if (path.empty()) return;
    cv::Mat bgr = laa::ops::read_image(path);
    cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  }
};

FaceArg face_from_js(Napi::Env env, const Napi::Value& image, const Napi::Value& width, const Napi::Value& height,
                     const Napi::Value& landmarks, const char* what) {
  FaceArg f;
  const std::string w(what);
  if (image.IsString()) {
    f.path = image.As<Napi::String>().Utf8Value();
  } else if (image.IsTypedArray() && image.As<Napi::TypedArray>().TypedArrayType() == napi_uint8_array) {
    auto a = image.As<Napi::Uint8Array>();
    const double wd = width.IsNumber() ? width.As<Napi::Number>().DoubleValue() : -1;
    const double hd = height.IsNumber() ? height.As<Napi::Number>().DoubleValue() : -1;
    if (!(wd >= 0 && hd >= 0 && wd <= 65535 && hd <= 65535) || wd != int(wd) || hd != int(hd))
      throw_failure(env, {laa::codes::kArg, "Expected " + w + " width and height to be non-negative integers"});
    if (size_t(wd) * size_t(hd) * 3 != a.ElementLength())
      throw_failure(env, {laa::codes::kArg, "Expected " + w + " data to hold width*height*3 = " +
                                        std::to_string(size_t(wd) * size_t(hd) * 3) + " bytes but it holds " +
                                        std::to_string(a.ElementLength())});
    if (a.ElementLength() > 0) f.rgb = cv::Mat(int(hd), int(wd), CV_8UC3, a.Data()).clone();
  } else {
    throw_failure(env, {laa::codes::kArg, "Expected " + w + " to be a file path or a Uint8Array of RGB pixels"});
  }
  if (!landmarks.IsTypedArray() || landmarks.As<Napi::TypedArray>().TypedArrayType() != napi_float64_array)
    throw_failure(env, {laa::codes::kArg, "Expected " + w + " landmarks as a Float64Array of x, y pairs"});
  auto l = landmarks.As<Napi::Float64Array>();
  if (l.ElementLength() % 2 != 0) throw_failure(env, {laa::codes::kArg, "Expected an even number of landmark coordinates"});
  for (size_t i = 0; i + 1 < l.ElementLength(); i += 2) f.landmarks.emplace_back(float(l[i]), float(l[i + 1]));
  return f;
}

laa::synth::PairOptions options_from_js(Napi::Env env, const Napi::Value& v) {
  if (!v.IsObject()) throw_failure(env, {laa::codes::kArg, "Expected an options object"});
  auto o = v.As<Napi::Object>();
  laa::synth::PairOptions opt;
  auto num = [&](const char* key, double fallback) {
    Napi::Value x = o.Get(key);
    return x.IsNumber() ? x.As<Napi::Number>().DoubleValue() : fallback;
  };
  opt.input_size = int(num("inputSize", opt.input_size));
  opt.target_size = int(num("targetSize", opt.target_size));
  opt.bi_fake_probability = num("fakeProbability", opt.bi_fake_probability);
  if (o.Has("train")) opt.train = o.Get("train").ToBoolean();
  if (o.Has("debug")) opt.debug = o.Get("debug").ToBoolean();
  return opt;
}

// The Rng seed: `seed` itself, or with options.epoch and options.index the
// trainer's per-sample seed sample_seed(seed, epoch, index).
uint64_t seed_from_js(Napi::Env env, const Napi::Value& v, const Napi::Value& options) {
  if (!v.IsBigInt()) throw_failure(env, {laa::codes::kArg, "Expected the seed as a bigint"});
  bool lossless = true;
  const uint64_t s = v.As<Napi::BigInt>().Uint64Value(&lossless);
  if (!lossless) throw_failure(env, {laa::codes::kArg, "Expected the seed to fit in 64 unsigned bits"});
  if (!options.IsObject()) return s;
  const Napi::Value epoch = options.As<Napi::Object>().Get("epoch"), index = options.As<Napi::Object>().Get("index");
  if (!epoch.IsNumber() || !index.IsNumber()) return s;
  return laa::synth::sample_seed(s, epoch.As<Napi::Number>().Int64Value(), index.As<Napi::Number>().Int64Value());
}

Napi::Object image_to_js(Napi::Env env, const cv::Mat& m) {
  Napi::Object o = Napi::Object::New(env);
  auto a = Napi::Uint8Array::New(env, m.total() * m.elemSize());
  const cv::Mat c = m.isContinuous() ? m : m.clone();
  std::memcpy(a.Data(), c.data, a.ElementLength());
  o.Set("data", a);
  o.Set("width", m.cols);
  o.Set("height", m.rows);
  return o;
}

Napi::Object map_to_js(Napi::Env env, const cv::Mat& m) {
  Napi::Object o = Napi::Object::New(env);
  const cv::Mat c = m.isContinuous() ? m : m.clone();
  Napi::Array shape = Napi::Array::New(env, 2);
  shape.Set(0u, m.rows);
  shape.Set(1u, m.cols);
  if (m.depth() == CV_32F) {
    auto a = Napi::Float32Array::New(env, m.total());
    std::memcpy(a.Data(), c.data, m.total() * sizeof(float));
    o.Set("data", a);
  } else {
    auto a = Napi::Uint8Array::New(env, m.total());
    std::memcpy(a.Data(), c.data, m.total());
    o.Set("data", a);
  }
  o.Set("shape", shape);
  return o;
}

class SbiWorker : public PromiseWorker {
 public:
  SbiWorker(Napi::Env env, FaceArg face, uint64_t seed, laa::synth::PairOptions opt)
      : PromiseWorker(env, /*compute_thread=*/false), face_(std::move(face)), seed_(seed), opt_(opt) {}

 protected:
  void Run() override {
    face_.load();
    laa::synth::Rng rng(seed_);
    pair_ = laa::synth::make_sbi_pair(face_.rgb, face_.landmarks, rng, opt_);
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("real", image_to_js(env, pair_.real));
    o.Set("fake", image_to_js(env, pair_.fake));
    o.Set("boundaryReal", map_to_js(env, pair_.boundary_real));
    o.Set("boundaryFake", map_to_js(env, pair_.boundary_fake));
    if (!pair_.mask.empty()) o.Set("mask", map_to_js(env, pair_.mask));
    if (!pair_.mask_target.empty()) o.Set("maskTarget", map_to_js(env, pair_.mask_target));
    return o;
  }

 private:
  FaceArg face_;
  uint64_t seed_;
  laa::synth::PairOptions opt_;
  laa::synth::TrainingPair pair_;
};

class BiWorker : public PromiseWorker {
 public:
  BiWorker(Napi::Env env, FaceArg face, FaceArg partner, uint64_t seed, laa::synth::PairOptions opt)
      : PromiseWorker(env, /*compute_thread=*/false), face_(std::move(face)), partner_(std::move(partner)),
        seed_(seed), opt_(opt) {}

 protected:
  void Run() override {
    face_.load();
    partner_.load();
    laa::synth::Rng rng(seed_);
    sample_ = laa::synth::make_bi_sample(face_.rgb, face_.landmarks, partner_.rgb, partner_.landmarks, rng, opt_);
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("image", image_to_js(env, sample_.image));
    o.Set("boundary", map_to_js(env, sample_.boundary));
    o.Set("label", sample_.label);
    if (!sample_.mask.empty()) o.Set("mask", map_to_js(env, sample_.mask));
    if (!sample_.mask_target.empty()) o.Set("maskTarget", map_to_js(env, sample_.mask_target));
    if (!sample_.background.empty()) o.Set("background", image_to_js(env, sample_.background));
    return o;
  }

 private:
  FaceArg face_, partner_;
  uint64_t seed_;
  laa::synth::PairOptions opt_;
  laa::synth::TrainingSample sample_;
};

}  // namespace

laa::synth::Degradation degradation_from_js(const Napi::Object& o) {
  laa::synth::Degradation d;
  auto num = [&](const char* key, double fallback, double lo, double hi) {
    Napi::Value x = o.Get(key);
    if (x.IsUndefined()) return fallback;
    const double v = x.IsNumber() ? x.As<Napi::Number>().DoubleValue() : NAN;
    if (!(v >= lo && v <= hi))
      throw laa::Error(laa::codes::kArg, std::string("Expected degradation ") + key + " from " + std::to_string(lo) + " to " +
                                             std::to_string(hi) + " but received " + x.ToString().Utf8Value());
    return v;
  };
  Napi::Value gain = o.Get("gain");
  if (!gain.IsUndefined()) {
    if (!gain.IsArray() || gain.As<Napi::Array>().Length() != 3)
      throw laa::Error(laa::codes::kArg, "Expected degradation gain as [r, g, b]");
    double g[3];
    for (uint32_t i = 0; i < 3; ++i) {
      Napi::Value x = gain.As<Napi::Array>().Get(i);
      g[i] = x.IsNumber() ? x.As<Napi::Number>().DoubleValue() : NAN;
      if (!(g[i] >= 0.1 && g[i] <= 10)) throw laa::Error(laa::codes::kArg, "Expected degradation gains from 0.1 to 10");
    }
    d.gain_r = g[0], d.gain_g = g[1], d.gain_b = g[2];
  }
  d.gamma = num("gamma", 1, 0.1, 10);
  d.blur_sigma = num("blurSigma", 0, 0, 50);
  d.motion_length = int(num("motionLength", 0, 0, 101));
  d.motion_angle_deg = num("motionAngle", 0, -360, 360);
  d.noise_sigma = num("noiseSigma", 0, 0, 1);
  d.downscale = num("downscale", 1, 1, 64);
  d.h264_crf = int(num("h264Crf", 0, 0, 51));
  d.jpeg_quality = int(num("jpegQuality", 0, 0, 100));
  return d;
}

namespace {
class DegradeWorker : public PromiseWorker {
 public:
  DegradeWorker(Napi::Env env, cv::Mat rgb, laa::synth::Degradation d)
      : PromiseWorker(env, /*compute_thread=*/false), rgb_(std::move(rgb)), d_(d) {}

 protected:
  void Run() override { laa::synth::degrade(rgb_, d_); }
  Napi::Value Result(Napi::Env env) override { return image_to_js(env, rgb_); }

 private:
  cv::Mat rgb_;
  laa::synth::Degradation d_;
};
}  // namespace

Napi::Value DegradeImage(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  FaceArg face = face_from_js(env, info[0], info[1], info[2], Napi::Float64Array::New(env, 0), "the image");
  if (face.rgb.empty()) throw_failure(env, {laa::codes::kArg, "Expected a non-empty RGB image"});
  if (!info[3].IsObject()) throw_failure(env, {laa::codes::kArg, "Expected a degradation object"});
  laa::synth::Degradation d;
  try {
    d = degradation_from_js(info[3].As<Napi::Object>());
  } catch (const laa::Error& e) {
    throw_failure(env, {e.code, e.what()});
  }
  return PromiseWorker::start(new DegradeWorker(env, std::move(face.rgb), d));
}

Napi::Value DrawDegradation(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  laa::synth::Rng rng(seed_from_js(env, info[0], env.Undefined()));
  const double p = info[1].IsNumber() ? info[1].As<Napi::Number>().DoubleValue() : 1;
  const laa::synth::Degradation d = laa::synth::draw_degradation(rng, p);
  Napi::Object o = Napi::Object::New(env);
  Napi::Array gain = Napi::Array::New(env, 3);
  gain.Set(0u, d.gain_r), gain.Set(1u, d.gain_g), gain.Set(2u, d.gain_b);
  o.Set("gain", gain);
  o.Set("gamma", d.gamma);
  o.Set("blurSigma", d.blur_sigma);
  o.Set("motionLength", d.motion_length);
  o.Set("motionAngle", d.motion_angle_deg);
  o.Set("noiseSigma", d.noise_sigma);
  o.Set("downscale", d.downscale);
  o.Set("h264Crf", d.h264_crf);
  o.Set("jpegQuality", d.jpeg_quality);
  o.Set("description", d.describe());
  return o;
}

Napi::Value SynthesizeSbi(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  FaceArg face = face_from_js(env, info[0], info[1], info[2], info[3], "the image");
  const uint64_t seed = seed_from_js(env, info[4], info[5]);
  const auto opt = options_from_js(env, info[5]);
  return PromiseWorker::start(new SbiWorker(env, std::move(face), seed, opt));
}

Napi::Value SynthesizeBi(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  FaceArg face = face_from_js(env, info[0], info[1], info[2], info[3], "the image");
  FaceArg partner = face_from_js(env, info[4], info[5], info[6], info[7], "the partner image");
  const uint64_t seed = seed_from_js(env, info[8], info[9]);
  const auto opt = options_from_js(env, info[9]);
  return PromiseWorker::start(new BiWorker(env, std::move(face), std::move(partner), seed, opt));
}

}  // namespace laa_node

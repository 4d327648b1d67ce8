// writeHeatmapOverlay(file, crop, cropShape, heat, heatShape): a PNG of the
// face crop with its artifact heatmap overlaid (CLI --heatmap-dir, reports).
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "node/napi_worker.h"
#include "core/errors.h"
#include "media/crop.h"
#include "node/overlay_binding.h"

namespace laa_node {

namespace {

class OverlayWorker : public PromiseWorker {
 public:
  OverlayWorker(Napi::Env env, std::string file, cv::Mat rgb, torch::Tensor heat)
      : PromiseWorker(env, /*compute_thread=*/false), file_(std::move(file)), rgb_(std::move(rgb)), heat_(std::move(heat)) {}

 protected:
  void Run() override {
    cv::Mat bgr;
    cv::cvtColor(rgb_, bgr, cv::COLOR_RGB2BGR);
    cv::Mat out = laa::ops::overlay_heatmap(bgr, heat_);
    if (!cv::imwrite(file_, out)) throw laa::Error(laa::codes::kNotFound, "cannot write '" + file_ + "'");
  }
  Napi::Value Result(Napi::Env env) override { return env.Undefined(); }

 private:
  std::string file_;
  cv::Mat rgb_;
  torch::Tensor heat_;
};

}  // namespace

Napi::Value WriteHeatmapOverlay(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto crop = info[1].As<Napi::Uint8Array>();
  auto cs = info[2].As<Napi::Array>();
  auto heat = info[3].As<Napi::Float32Array>();
  auto hs = info[4].As<Napi::Array>();
  const int h = cs.Get(0u).As<Napi::Number>().Int32Value(), w = cs.Get(1u).As<Napi::Number>().Int32Value();
  const int hh = hs.Get(0u).As<Napi::Number>().Int32Value(), hw = hs.Get(1u).As<Napi::Number>().Int32Value();
  if (size_t(h) * size_t(w) * 3 != crop.ElementLength() || size_t(hh) * size_t(hw) != heat.ElementLength())
    throw_failure(env, {laa::codes::kShape, "crop or heatmap size does not match its shape"});
  cv::Mat rgb = cv::Mat(h, w, CV_8UC3, crop.Data()).clone();
  auto t = torch::from_blob(heat.Data(), {hh, hw}, torch::kFloat32).clone();
  return PromiseWorker::start(new OverlayWorker(env, info[0].As<Napi::String>().Utf8Value(), rgb, t));
}

}  // namespace laa_node

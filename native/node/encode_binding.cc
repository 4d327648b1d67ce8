// In-memory image encoding for reports and plots: the heatmap overlay of a
// face crop, and a small list of drawing commands rendered with OpenCV.
#include "node/encode_binding.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <cmath>
#include <vector>

#include "core/errors.h"
#include "node/napi_worker.h"
#include "media/crop.h"

namespace laa_node {

namespace {

constexpr int kShift = 4;  // sub-pixel bits for cv::polylines (1/16 px)
constexpr int kMaxSide = 8192;

std::string check_format(Napi::Env env, const Napi::Value& v) {
  std::string f = v.IsString() ? v.As<Napi::String>().Utf8Value() : "";
  if (f != ".png" && f != ".jpg") throw_failure(env, {laa::codes::kArg, "Expected '.png' or '.jpg' for format but received '" + f + "'"});
  return f;
}

std::vector<uint8_t> encode(const cv::Mat& bgr, const std::string& format, int quality) {
  std::vector<int> params;
  if (format == ".jpg") params = {cv::IMWRITE_JPEG_QUALITY, quality};
  std::vector<uint8_t> out;
  if (!cv::imencode(format, bgr, out, params)) throw laa::Error(laa::codes::kInternal, "OpenCV could not encode a " + format + " image");
  return out;
}

class BufferWorker : public PromiseWorker {
 public:
  explicit BufferWorker(Napi::Env env) : PromiseWorker(env, /*compute_thread=*/false) {}

 protected:
  Napi::Value Result(Napi::Env env) override { return Napi::Buffer<uint8_t>::Copy(env, bytes_.data(), bytes_.size()); }
  std::vector<uint8_t> bytes_;
};

class OverlayWorker : public BufferWorker {
 public:
  OverlayWorker(Napi::Env env, cv::Mat rgb, torch::Tensor heat, std::string format, int quality)
      : BufferWorker(env), rgb_(std::move(rgb)), heat_(std::move(heat)), format_(std::move(format)), quality_(quality) {}

 protected:
  void Run() override {
    cv::Mat bgr;
    cv::cvtColor(rgb_, bgr, cv::COLOR_RGB2BGR);
    bytes_ = encode(laa::ops::overlay_heatmap(bgr, heat_), format_, quality_);
  }

 private:
  cv::Mat rgb_;
  torch::Tensor heat_;
  std::string format_;
  int quality_;
};

struct DrawOp {
  enum Kind { kPolyline, kRect, kText } kind;
  std::vector<cv::Point> points;  // fixed point, kShift bits
  bool closed = false;
  cv::Scalar colour;              // BGR
  int thickness = 1;              // -1 fills a rectangle
  std::string text;
  double scale = 0.5;
  int align = 0;                  // text: -1 left, 0 centre, 1 right of x; baseline at y
};

class DrawWorker : public BufferWorker {
 public:
  DrawWorker(Napi::Env env, int w, int h, cv::Scalar bg, std::vector<DrawOp> ops, std::string format)
      : BufferWorker(env), w_(w), h_(h), bg_(bg), ops_(std::move(ops)), format_(std::move(format)) {}

 protected:
  void Run() override {
    cv::Mat img(h_, w_, CV_8UC3, bg_);
    for (const DrawOp& op : ops_) {
      if (op.kind == DrawOp::kPolyline) {
        cv::polylines(img, op.points, op.closed, op.colour, op.thickness, cv::LINE_AA, kShift);
      } else if (op.kind == DrawOp::kRect) {
        cv::rectangle(img, op.points[0], op.points[1], op.colour, op.thickness, cv::LINE_AA, kShift);
      } else {
        int base = 0;
        cv::Size size = cv::getTextSize(op.text, cv::FONT_HERSHEY_SIMPLEX, op.scale, op.thickness, &base);
        double x = op.points[0].x / double(1 << kShift), y = op.points[0].y / double(1 << kShift);
        if (op.align == 0) x -= size.width / 2.0;
        if (op.align == 1) x -= size.width;
        cv::putText(img, op.text, cv::Point(int(std::lround(x)), int(std::lround(y))), cv::FONT_HERSHEY_SIMPLEX, op.scale,
                    op.colour, op.thickness, cv::LINE_AA);
      }
    }
    bytes_ = encode(img, format_, 95);
  }

 private:
  int w_, h_;
  cv::Scalar bg_;
  std::vector<DrawOp> ops_;
  std::string format_;
};

[[noreturn]] void bad(Napi::Env env, const std::string& what) { throw_failure(env, {laa::codes::kArg, what}); }

double number(Napi::Env env, const Napi::Object& o, const char* key, double fallback, bool required = false) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() && !required) return fallback;
  if (!v.IsNumber() || !std::isfinite(v.As<Napi::Number>().DoubleValue()))
    bad(env, std::string("Expected a finite number for ") + key + " but received " + v.ToString().Utf8Value());
  return v.As<Napi::Number>().DoubleValue();
}

cv::Scalar colour(Napi::Env env, const Napi::Value& v) {
  if (v.IsUndefined()) return cv::Scalar(0, 0, 0);
  if (!v.IsArray() || v.As<Napi::Array>().Length() != 3) bad(env, "Expected [r, g, b] for a colour");
  auto a = v.As<Napi::Array>();
  double c[3];
  for (uint32_t k = 0; k < 3; ++k) {
    Napi::Value e = a.Get(k);
    if (!e.IsNumber()) bad(env, "Expected [r, g, b] numbers for a colour");
    c[k] = e.As<Napi::Number>().DoubleValue();
  }
  return cv::Scalar(c[2], c[1], c[0]);
}

cv::Point fixed(double x, double y) {
  return cv::Point(int(std::lround(x * (1 << kShift))), int(std::lround(y * (1 << kShift))));
}

}  // namespace

Napi::Value EncodeHeatmapOverlay(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsTypedArray() || !info[2].IsTypedArray() || !info[1].IsArray() || !info[3].IsArray())
    bad(env, "Expected (crop Uint8Array, [H, W, 3], heatmap Float32Array, [h, w], format, quality)");
  auto crop = info[0].As<Napi::Uint8Array>();
  auto cs = info[1].As<Napi::Array>();
  auto heat = info[2].As<Napi::Float32Array>();
  auto hs = info[3].As<Napi::Array>();
  std::string format = check_format(env, info[4]);
  const int quality = info[5].IsNumber() ? info[5].As<Napi::Number>().Int32Value() : 90;
  if (quality < 1 || quality > 100) bad(env, "Expected a JPEG quality from 1 to 100 but received " + std::to_string(quality));
  const int h = cs.Get(0u).As<Napi::Number>().Int32Value(), w = cs.Get(1u).As<Napi::Number>().Int32Value();
  const int hh = hs.Get(0u).As<Napi::Number>().Int32Value(), hw = hs.Get(1u).As<Napi::Number>().Int32Value();
  if (h < 1 || w < 1 || hh < 2 || hw < 2 || size_t(h) * size_t(w) * 3 != crop.ElementLength() ||
      size_t(hh) * size_t(hw) != heat.ElementLength())
    throw_failure(env, {laa::codes::kShape, "crop or heatmap size does not match its shape"});
  cv::Mat rgb = cv::Mat(h, w, CV_8UC3, crop.Data()).clone();
  auto t = torch::from_blob(heat.Data(), {hh, hw}, torch::kFloat32).clone();
  return PromiseWorker::start(new OverlayWorker(env, rgb, t, format, quality));
}

Napi::Value RenderDrawing(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject()) bad(env, "Expected a drawing { width, height, background, ops }");
  auto d = info[0].As<Napi::Object>();
  std::string format = check_format(env, info[1]);
  const double w = number(env, d, "width", 0, true), h = number(env, d, "height", 0, true);
  if (w < 1 || h < 1 || w > kMaxSide || h > kMaxSide || w != std::floor(w) || h != std::floor(h))
    bad(env, "Expected width and height integers from 1 to " + std::to_string(kMaxSide) + " but received " +
                 Napi::Number::New(env, w).ToString().Utf8Value() + " x " + Napi::Number::New(env, h).ToString().Utf8Value());
  Napi::Value ops_v = d.Get("ops");
  if (!ops_v.IsArray()) bad(env, "Expected an array for ops");
  auto ops_a = ops_v.As<Napi::Array>();
  std::vector<DrawOp> ops;
  ops.reserve(ops_a.Length());
  for (uint32_t i = 0; i < ops_a.Length(); ++i) {
    if (!ops_a.Get(i).IsObject()) bad(env, "Expected an object for ops[" + std::to_string(i) + "]");
    auto o = ops_a.Get(i).As<Napi::Object>();
    std::string kind = o.Get("kind").IsString() ? o.Get("kind").As<Napi::String>().Utf8Value() : "";
    DrawOp op;
    op.colour = colour(env, o.Get("color"));
    op.thickness = int(number(env, o, "thickness", 1));
    if (op.thickness < -1 || op.thickness == 0 || op.thickness > 64) bad(env, "Expected a thickness from 1 to 64 (or -1 to fill)");
    if (kind == "polyline") {
      op.kind = DrawOp::kPolyline;
      Napi::Value p = o.Get("points");
      if (!p.IsTypedArray() || p.As<Napi::TypedArray>().TypedArrayType() != napi_float64_array)
        bad(env, "Expected a Float64Array of x, y pairs for polyline points");
      auto pts = p.As<Napi::Float64Array>();
      if (pts.ElementLength() < 4 || pts.ElementLength() % 2)
        bad(env, "Expected at least two x, y pairs for a polyline but received " + std::to_string(pts.ElementLength()) + " numbers");
      for (size_t k = 0; k < pts.ElementLength(); k += 2) {
        if (!std::isfinite(pts[k]) || !std::isfinite(pts[k + 1]) || std::abs(pts[k]) > 1e5 || std::abs(pts[k + 1]) > 1e5)
          bad(env, "Expected finite polyline points within ±1e5");
        op.points.push_back(fixed(pts[k], pts[k + 1]));
      }
      op.closed = o.Get("closed").ToBoolean();
      if (op.thickness < 1) bad(env, "Expected a positive polyline thickness");
    } else if (kind == "rect") {
      op.kind = DrawOp::kRect;
      const double x = number(env, o, "x", 0, true), y = number(env, o, "y", 0, true);
      const double rw = number(env, o, "width", 0, true), rh = number(env, o, "height", 0, true);
      op.points = {fixed(x, y), fixed(x + rw, y + rh)};
    } else if (kind == "text") {
      op.kind = DrawOp::kText;
      if (!o.Get("text").IsString()) bad(env, "Expected a string for text");
      op.text = o.Get("text").As<Napi::String>().Utf8Value();
      op.points = {fixed(number(env, o, "x", 0, true), number(env, o, "y", 0, true))};
      op.scale = number(env, o, "scale", 0.5);
      if (op.scale <= 0 || op.scale > 20) bad(env, "Expected a text scale in (0, 20]");
      std::string align = o.Get("align").IsString() ? o.Get("align").As<Napi::String>().Utf8Value() : "left";
      op.align = align == "left" ? -1 : align == "center" ? 0 : align == "right" ? 1 : 2;
      if (op.align == 2) bad(env, "Expected 'left', 'center' or 'right' for align but received '" + align + "'");
      if (op.thickness < 1) bad(env, "Expected a positive text thickness");
    } else {
      bad(env, "Expected kind 'polyline', 'rect' or 'text' for ops[" + std::to_string(i) + "] but received '" + kind + "'");
    }
    ops.push_back(std::move(op));
  }
  cv::Scalar bg = d.Get("background").IsUndefined() ? cv::Scalar(255, 255, 255) : colour(env, d.Get("background"));
  return PromiseWorker::start(new DrawWorker(env, int(w), int(h), bg, std::move(ops), format));
}

}  // namespace laa_node

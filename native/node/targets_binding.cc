#include "node/targets_binding.h"

#include <cstring>

#include "core/errors.h"
#include "core/fill_rule.h"
#include "train/heatmap_target.h"
#include "train/losses.h"
#include "node/napi_worker.h"
#include "node/tensor_io.h"

namespace laa_node {

namespace {

std::vector<int64_t> shape_from_js(Napi::Env env, const Napi::Value& shape, int64_t& numel) {
  if (!shape.IsArray()) throw_failure(env, {laa::codes::kArg, "Expected shape to be an array of integers"});
  auto dims = shape.As<Napi::Array>();
  std::vector<int64_t> sizes;
  numel = 1;
  for (uint32_t i = 0; i < dims.Length(); ++i) {
    Napi::Value v = dims.Get(i);
    const double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1;
    if (!(d >= 0) || d != double(int64_t(d)) || d > 1e9)
      throw_failure(env, {laa::codes::kShape, "Expected shape[" + std::to_string(i) + "] to be a non-negative integer"});
    sizes.push_back(int64_t(d));
    numel *= int64_t(d);
  }
  return sizes;
}

// tensor_io's reader takes float arrays only; the boundary map is uint8.
torch::Tensor uint8_from_js(Napi::Env env, const Napi::Value& data, const Napi::Value& shape) {
  if (!data.IsTypedArray() || data.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
    throw_failure(env, {laa::codes::kArg, "Expected data to be a Uint8Array"});
  auto arr = data.As<Napi::Uint8Array>();
  int64_t numel;
  auto sizes = shape_from_js(env, shape, numel);
  if (numel != int64_t(arr.ElementLength()))
    throw_failure(env, {laa::codes::kShape, "shape " + c10::str(c10::IntArrayRef(sizes)) + " needs " + std::to_string(numel) +
                                      " values but data has " + std::to_string(arr.ElementLength())});
  auto t = torch::empty(sizes, torch::kUInt8);
  std::memcpy(t.data_ptr(), arr.Data(), size_t(numel));
  return t;
}

template <typename Fn>
void run_or_throw(Napi::Env env, Fn&& fn) {
  NativeFailure f;
  if (!capture(fn, f)) throw_failure(env, f);
}

}  // namespace

Napi::Value EncodeTargets(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto boundary = uint8_from_js(env, info[0], info[1]);
  laa::Targets targets;
  run_or_throw(env, [&] { targets = laa::encode_targets(boundary); });
  Napi::Object o = Napi::Object::New(env);
  o.Set("heatmap", tensor_to_js(env, targets.heatmap));
  o.Set("consistency", tensor_to_js(env, targets.consistency));
  return o;
}

Napi::Value Loss(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) throw_failure(env, {laa::codes::kArg, "Expected the loss kind to be a string"});
  const std::string kind = info[0].As<Napi::String>();
  auto a = tensor_from_js(env, info[1], info[2]);
  auto b = tensor_from_js(env, info[3], info[4]);
  double value = 0;
  run_or_throw(env, [&] {
    if (kind == "heatmapFocal") value = laa::heatmap_focal(a, b);
    else if (kind == "classification") value = laa::classification_bce(a, b);
    else if (kind == "consistency") value = laa::consistency_bce(a, b);
    else throw laa::Error(laa::codes::kArg, "unknown loss '" + kind + "'");
  });
  return Napi::Number::New(env, value);
}

Napi::Value FillRule(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsBigInt() || !info[1].IsNumber()) throw_failure(env, {laa::codes::kArg, "Expected fillRule(seed: bigint, t: number, shape)"});
  bool lossless = true;
  const uint64_t seed = info[0].As<Napi::BigInt>().Uint64Value(&lossless);
  const uint64_t t = uint64_t(info[1].As<Napi::Number>().Int64Value());
  int64_t numel;
  auto sizes = shape_from_js(env, info[2], numel);
  auto out = torch::empty(sizes, torch::kFloat64);
  double* v = out.data_ptr<double>();
  for (int64_t i = 0; i < numel; ++i) v[i] = 2 * laa::fill_uniform(seed, t, uint64_t(i)) - 1;
  return tensor_to_js(env, out);
}

}  // namespace laa_node

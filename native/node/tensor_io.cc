#include "core/errors.h"
#include "node/tensor_io.h"

#include <cstring>
#include <string>

namespace laa_node {

namespace {
[[noreturn]] void fail(Napi::Env env, bool range, const std::string& code, const std::string& msg) {
  Napi::Error e = range ? Napi::Error(Napi::RangeError::New(env, msg)) : Napi::Error(Napi::TypeError::New(env, msg));
  e.Set("code", Napi::String::New(env, code));
  throw e;
}
}  // namespace

torch::Tensor tensor_from_js(Napi::Env env, const Napi::Value& data, const Napi::Value& shape) {
  if (!data.IsTypedArray())
    fail(env, false, laa::codes::kArg, "Expected input.data to be a Float32Array or Float64Array");
  auto arr = data.As<Napi::TypedArray>();
  torch::ScalarType type;
  if (arr.TypedArrayType() == napi_float32_array) type = torch::kFloat32;
  else if (arr.TypedArrayType() == napi_float64_array) type = torch::kFloat64;
  else fail(env, false, laa::codes::kArg, "Expected input.data to be a Float32Array or Float64Array");
  if (!shape.IsArray()) fail(env, false, laa::codes::kArg, "Expected input.shape to be an array of integers");
  auto dims = shape.As<Napi::Array>();
  std::vector<int64_t> sizes;
  int64_t numel = 1;
  for (uint32_t i = 0; i < dims.Length(); ++i) {
    Napi::Value v = dims.Get(i);
    double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1;
    if (!(d >= 0) || d != double(int64_t(d)) || d > 1e9)
      fail(env, true, laa::codes::kShape, "Expected input.shape[" + std::to_string(i) + "] to be a non-negative integer");
    sizes.push_back(int64_t(d));
    numel *= int64_t(d);
  }
  if (numel != int64_t(arr.ElementLength()))
    fail(env, true, laa::codes::kShape, "input.shape " + c10::str(c10::IntArrayRef(sizes)) + " needs " + std::to_string(numel) +
                                  " values but input.data has " + std::to_string(arr.ElementLength()));
  auto t = torch::empty(sizes, torch::TensorOptions().dtype(type));
  const uint8_t* src = static_cast<const uint8_t*>(arr.ArrayBuffer().Data()) + arr.ByteOffset();
  std::memcpy(t.data_ptr(), src, size_t(numel) * t.element_size());
  return t;
}

Napi::Object tensor_to_js(Napi::Env env, const torch::Tensor& tensor, bool keep_integers) {
  auto t = tensor.detach().to(torch::kCPU);
  const bool integer = !t.is_floating_point();
  if (keep_integers && integer) t = t.to(t.scalar_type() == torch::kInt64 ? torch::kInt64 : torch::kInt32);
  else if (t.scalar_type() != torch::kFloat64) t = t.to(torch::kFloat32);
  t = t.contiguous();
  const size_t n = size_t(t.numel());
  Napi::Value data;
  if (t.scalar_type() == torch::kInt64) {
    auto a = Napi::BigInt64Array::New(env, n);
    std::memcpy(a.Data(), t.data_ptr(), n * sizeof(int64_t));
    data = a;
  } else if (t.scalar_type() == torch::kInt32) {
    auto a = Napi::Int32Array::New(env, n);
    std::memcpy(a.Data(), t.data_ptr(), n * sizeof(int32_t));
    data = a;
  } else if (t.scalar_type() == torch::kFloat64) {
    auto a = Napi::Float64Array::New(env, n);
    std::memcpy(a.Data(), t.data_ptr(), n * sizeof(double));
    data = a;
  } else {
    auto a = Napi::Float32Array::New(env, n);
    std::memcpy(a.Data(), t.data_ptr(), n * sizeof(float));
    data = a;
  }
  Napi::Array shape = Napi::Array::New(env, t.dim());
  for (int64_t i = 0; i < t.dim(); ++i) shape.Set(uint32_t(i), Napi::Number::New(env, double(t.size(i))));
  Napi::Object o = Napi::Object::New(env);
  o.Set("data", data);
  o.Set("shape", shape);
  return o;
}

}  // namespace laa_node

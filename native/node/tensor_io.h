// Copies between JavaScript `{ data: Float32Array | Float64Array, shape }`
// tensors and torch::Tensor. Results are copied into JS-owned buffers (no
// external ArrayBuffers, which Electron rejects).
#pragma once
#include <napi.h>
#include <torch/torch.h>

namespace laa_node {

// Throws a JS TypeError/RangeError (code EINVAL / ESHAPE) on bad input.
torch::Tensor tensor_from_js(Napi::Env env, const Napi::Value& data, const Napi::Value& shape);

// float64 stays Float64Array; every other floating type becomes Float32Array.
// With keep_integers, int64 becomes BigInt64Array and other integer types
// Int32Array; otherwise integers become Float32Array too.
Napi::Object tensor_to_js(Napi::Env env, const torch::Tensor& t, bool keep_integers = false);

}  // namespace laa_node

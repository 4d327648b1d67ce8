#pragma once
#include <napi.h>

namespace laa_node {
// readWeights(path) -> Promise<{ format, epoch?, metadata, tensors: [{ name, dtype, shape, data }] }>
Napi::Value ReadWeights(const Napi::CallbackInfo& info);
// convertBackbone(src, dst, backbone, dtype, metadata) -> Promise<{ tensors, parameters, classifier }>:
// an EfficientNet state dict (.pth read by the restricted unpickler, or .safetensors) checked against the
// backbone's names and shapes and written as a backbone-only safetensors file.
Napi::Value ConvertBackbone(const Napi::CallbackInfo& info);
}  // namespace laa_node

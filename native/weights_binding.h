#pragma once
#include <napi.h>

namespace laa_node {
// readWeights(path) -> Promise<{ format, epoch?, metadata, tensors: [{ name, dtype, shape, data }] }>
Napi::Value ReadWeights(const Napi::CallbackInfo& info);
}  // namespace laa_node

#pragma once
#include <napi.h>

namespace laa_node {
// writeHeatmapOverlay(file, crop u8 HxWx3 RGB, [H, W, 3], heat f32, [h, w]) -> Promise<void>
Napi::Value WriteHeatmapOverlay(const Napi::CallbackInfo& info);
}  // namespace laa_node

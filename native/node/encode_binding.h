#pragma once
#include <napi.h>

namespace laa_node {
// encodeHeatmapOverlay(crop u8 HxWx3 RGB, [H, W, 3], heat f32, [h, w], format '.jpg'|'.png', quality)
//   -> Promise<Buffer>: the crop with its heatmap overlaid, encoded in memory (HTML reports).
Napi::Value EncodeHeatmapOverlay(const Napi::CallbackInfo& info);
// renderDrawing({ width, height, background: [r, g, b], ops: [...] }, format) -> Promise<Buffer>:
// draws antialiased polylines, rectangles and text with OpenCV and encodes the image (ROC plots).
Napi::Value RenderDrawing(const Napi::CallbackInfo& info);
}  // namespace laa_node

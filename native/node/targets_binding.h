// Training targets and losses (docs/IMPLEMENTATION.md, Training targets and
// Losses), synchronous: they are small.
#pragma once
#include <napi.h>

namespace laa_node {
// encodeTargets(data: Uint8Array, shape: number[]) -> { heatmap, consistency } (each { data: Float32Array, shape: [1, 96, 96] })
Napi::Value EncodeTargets(const Napi::CallbackInfo& info);
// loss(kind: 'heatmapFocal' | 'classification' | 'consistency', a, aShape, b, bShape) -> number
Napi::Value Loss(const Napi::CallbackInfo& info);
// fillRule(seed: bigint, t: number, shape: number[]) -> { data: Float64Array, shape }: v = 2u − 1 of the
// fixtures' fill rule (shared/fixtures/README.md), for tests that rebuild the loss predictions.
Napi::Value FillRule(const Napi::CallbackInfo& info);
}  // namespace laa_node

// Training-sample synthesis for tests and research (SBI and BI; see
// docs/IMPLEMENTATION.md, Data pipeline and synthesis).
// Both run on a libuv worker (not the LibTorch compute thread).
#pragma once
#include <napi.h>

#include "synthesis/degrade.h"

namespace laa_node {
// synthesizeSbi(image: string | Uint8Array, width, height, landmarks: Float64Array (x0, y0, x1, ...),
//               seed: bigint, {inputSize, targetSize, train, debug, epoch?, index?})
//   (with epoch and index the Rng is seeded with sample_seed(seed, epoch, index), as the trainer does)
//   -> Promise<{ real, fake: {data: Uint8Array, width, height}, boundaryReal, boundaryFake: {data, shape},
//                mask?, maskTarget?: {data: Float32Array, shape} }>
Napi::Value SynthesizeSbi(const Napi::CallbackInfo& info);
// synthesizeBi(image, width, height, landmarks, partnerImage, partnerWidth, partnerHeight, partnerLandmarks,
//              seed, {inputSize, targetSize, train, debug, fakeProbability})
//   -> Promise<{ image, boundary, label, mask?, maskTarget?, background? }>
Napi::Value SynthesizeBi(const Napi::CallbackInfo& info);

// A Degradation from { gain: [r, g, b], gamma, blurSigma, motionLength, motionAngle, noiseSigma,
// downscale, h264Crf, jpegQuality } (absent fields: none); EINVAL for values outside their ranges.
laa::synth::Degradation degradation_from_js(const Napi::Object& o);
// degradeImage(rgb: Uint8Array, width, height, degradation) -> Promise<{ data, width, height }>
Napi::Value DegradeImage(const Napi::CallbackInfo& info);
// drawDegradation(seed: bigint, probability) -> { ...the fields above, description }: the trainer's draw.
Napi::Value DrawDegradation(const Napi::CallbackInfo& info);
}  // namespace laa_node

#pragma once
#include <napi.h>

namespace laa_node {
// prepareMedia(path, framesDir, {frames, detectMaxSide, landmarks}, onProgress?, abortFlag?) -> Promise
// One video or image of a training set (pipeline/prepare.h): writes the aligned
// crops into framesDir and resolves with their boxes and landmarks.
Napi::Value PrepareMedia(const Napi::CallbackInfo& info);
}  // namespace laa_node

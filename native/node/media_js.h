// A probed video or image as the JavaScript layer sees it.
#pragma once
#include <napi.h>

#include "media/media.h"

namespace laa_node {

inline Napi::Object media_info_to_js(Napi::Env env, const laa::ops::MediaInfo& m) {
  Napi::Object info = Napi::Object::New(env);
  info.Set("isVideo", m.is_video);
  info.Set("frameCount", Napi::Number::New(env, double(m.frame_count)));
  info.Set("fps", m.fps);
  info.Set("durationSec", m.duration_sec);
  info.Set("width", m.width);
  info.Set("height", m.height);
  return info;
}

}  // namespace laa_node

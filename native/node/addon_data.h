// Per-environment data: the addon may be loaded in several worker_threads,
// so constructors live here rather than in statics.
#pragma once
#include <napi.h>

namespace laa_node {

struct AddonData {
  Napi::FunctionReference laanet_ctor;
  Napi::FunctionReference abort_flag_ctor;
  Napi::FunctionReference trainer_ctor;
};

}  // namespace laa_node

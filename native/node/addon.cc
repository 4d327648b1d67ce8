// Entry point of the laa-native addon.
#include <dlfcn.h>
#include <napi.h>
#include <opencv2/core/version.hpp>
#include <torch/torch.h>

#include "node/abort_flag.h"
#include "node/detector_binding.h"
#include "node/encode_binding.h"
#include "core/cpu_features.h"
#include "core/errors.h"
#include "core/tensor_arena.h"
#include "media/media.h"
#include "node/libtorch_version.h"
#include "node/model_binding.h"
#include "node/overlay_binding.h"
#include "node/synthesis_binding.h"
#include "node/prepare_binding.h"
#include "node/targets_binding.h"
#include "node/trainer_binding.h"
#include "node/weights_binding.h"

namespace laa_node {

namespace {

// OpenBLAS (the BLAS behind Debian's LibTorch, and dlib's; Debian loads two
// copies, libopenblas.so.0 and libblas.so.3) keeps its own pthread pools,
// whose idle threads spin next to LibTorch's OpenMP team on the same cores.
// The BLAS calls here are small (squeeze-excite layers), so one BLAS thread
// loses nothing. Looked up at run time: other BLAS builds lack the symbol.
void single_threaded_blas() {
  using SetThreads = void (*)(int);
  for (const char* lib : {"libopenblas.so.0", "libblas.so.3", "libopenblas.so"}) {
    if (void* h = dlopen(lib, RTLD_LAZY | RTLD_NOLOAD)) {
      if (auto f = reinterpret_cast<SetThreads>(dlsym(h, "openblas_set_num_threads"))) f(1);
      dlclose(h);
    }
  }
}

Napi::Value Versions(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("libtorch", LAA_TORCH_VERSION);
  o.Set("libtorchRuntime", runtime_torch_version());
  o.Set("libtorchLibrary", loaded_torch_library());
  o.Set("libtorchSource", LAA_TORCH_SOURCE);  // debian | official | python: what the build found
  o.Set("cxx11Abi", Napi::Boolean::New(env, LAA_TORCH_CXX11_ABI != 0));
  o.Set("opencv", CV_VERSION);
  o.Set("dlib", LAA_DLIB_VERSION);
  o.Set("cuda", torch::cuda::is_available());
  o.Set("cudaDevices", Napi::Number::New(env, double(torch::cuda::device_count())));
  o.Set("cudaBuild", laa::cuda_support().compiled);  // built against a CUDA LibTorch
  o.Set("cudaVersion", laa::cuda_support().version);
  o.Set("mkldnn", at::hasMKLDNN());
  o.Set("threads", Napi::Number::New(env, at::get_num_threads()));
  o.Set("parallel", at::get_parallel_info());
  const laa::CpuFeatures& f = laa::cpu_features();
  Napi::Object cpu = Napi::Object::New(env);
  cpu.Set("vendor", f.vendor);
  cpu.Set("brand", f.brand);
  cpu.Set("flags", f.flags());
  cpu.Set("avx2", f.avx2);
  cpu.Set("avx512", f.avx512f);
  cpu.Set("avx512Bf16", f.avx512_bf16);
  cpu.Set("amx", f.amx_tile && f.amx_bf16);
  cpu.Set("nativeBf16", f.native_bf16());
  cpu.Set("onednnIsa", f.onednn_isa);
  cpu.Set("atenCapability", f.aten_capability);
  o.Set("cpu", cpu);
  const laa::TensorArenaStats a = laa::tensor_arena_stats();
  Napi::Object arena = Napi::Object::New(env);
  arena.Set("enabled", a.installed);
  arena.Set("cachedBytes", double(a.cached_bytes));
  arena.Set("inUseBytes", double(a.in_use_bytes));
  arena.Set("capBytes", double(a.cap_bytes));
  arena.Set("maps", double(a.maps));
  arena.Set("reuses", double(a.reuses));
  o.Set("tensorArena", arena);
  return o;
}

// Test hook: the message a given pair of versions would produce ("" = compatible).
Napi::Value TorchVersionMismatch(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), torch_version_mismatch(info[0].As<Napi::String>(), info[1].As<Napi::String>(),
                                                              info[2].As<Napi::String>()));
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  // Before anything touches LibTorch objects whose layout may differ.
  const std::string mismatch = torch_version_mismatch(LAA_TORCH_VERSION, runtime_torch_version(), loaded_torch_library());
  if (!mismatch.empty()) {
    Napi::Error e = Napi::Error::New(env, mismatch);
    e.Set("code", Napi::String::New(env, laa::codes::kBinding));
    throw e;
  }
  static const bool blas_once = (single_threaded_blas(), true);
  (void)blas_once;
  laa::install_tensor_arena();
  // FFmpeg opens local files and video containers only (ops::ffmpeg_input_options);
  // the user's own options come first, so ours win where they overlap.
  static const bool ffmpeg_once = [] {
    const char* mine = std::getenv("OPENCV_FFMPEG_CAPTURE_OPTIONS");
    std::string v = mine && *mine ? std::string(mine) + "|" : "";
    setenv("OPENCV_FFMPEG_CAPTURE_OPTIONS", (v + laa::ops::ffmpeg_input_options()).c_str(), 1);
    return true;
  }();
  (void)ffmpeg_once;
  auto* data = new AddonData();
  data->laanet_ctor = Napi::Persistent(LaaNetWrap::Define(env));
  env.SetInstanceData<AddonData>(data);
  data->abort_flag_ctor = Napi::Persistent(AbortFlag::Define(env));
  exports.Set("NativeLaaNet", data->laanet_ctor.Value());
  exports.Set("AbortFlag", data->abort_flag_ctor.Value());
  exports.Set("NativeDetector", DetectorWrap::Define(env));
  exports.Set("versions", Napi::Function::New(env, Versions));
  exports.Set("errorCodes", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
    Napi::Array out = Napi::Array::New(info.Env());
    uint32_t i = 0;
    for (const char* code : laa::codes::kAll) out.Set(i++, code);
    return out;
  }));
  exports.Set("torchVersionMismatch", Napi::Function::New(env, TorchVersionMismatch));
  exports.Set("readWeights", Napi::Function::New(env, ReadWeights));
  exports.Set("convertBackbone", Napi::Function::New(env, ConvertBackbone));
  exports.Set("writeHeatmapOverlay", Napi::Function::New(env, WriteHeatmapOverlay));
  exports.Set("encodeHeatmapOverlay", Napi::Function::New(env, EncodeHeatmapOverlay));
  exports.Set("renderDrawing", Napi::Function::New(env, RenderDrawing));
  exports.Set("encodeTargets", Napi::Function::New(env, EncodeTargets));
  exports.Set("loss", Napi::Function::New(env, Loss));
  exports.Set("fillRule", Napi::Function::New(env, FillRule));
  data->trainer_ctor = Napi::Persistent(TrainerWrap::Define(env));
  exports.Set("NativeTrainer", data->trainer_ctor.Value());
  exports.Set("samStepLinear", Napi::Function::New(env, SamStepLinear));
  exports.Set("synthesizeSbi", Napi::Function::New(env, SynthesizeSbi));
  exports.Set("synthesizeBi", Napi::Function::New(env, SynthesizeBi));
  exports.Set("degradeImage", Napi::Function::New(env, DegradeImage));
  exports.Set("drawDegradation", Napi::Function::New(env, DrawDegradation));
  exports.Set("prepareMedia", Napi::Function::New(env, PrepareMedia));
  return exports;
}

}  // namespace

NODE_API_MODULE(laa_native, Init)

}  // namespace laa_node

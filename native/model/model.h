// A loaded LAA-Net: the module plus its dtype and device, and the entry
// points the Node binding calls from worker threads.
#pragma once
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "core/dtypes.h"
#include "model/inference_plan.h"
#include "net/laanet.h"
#include "core/tensor_arena.h"
#include "weights/metadata.h"

namespace laa {

struct ModelOptions {
  // float32 | float64 | bfloat16 | float16 (CUDA only) | auto. bfloat16 on a CPU
  // without native bfloat16 runs float32 (dtype_note says so) unless strict;
  // auto starts as float32 and choose_auto_dtype() settles it.
  std::string dtype = "float32";
  bool strict = false;      // a dtype this CPU cannot run fast is an error (EUNSUPPORTED), not a fallback
  bool warm_up = true;      // one forward at load (the one-time work of the first call: kernels, page faults)
  std::string device = "auto";    // cpu | cuda | auto (CUDA when this build and machine have it)
  int threads = 0;                // 0: leave LibTorch's setting alone
  std::string backbone = kDefaultBackbone;  // for random and reference weights; a file names its own
};

struct ForwardRequest {
  torch::Tensor input;  // N×3×H×W, float32 or float64, CPU
  HeadSet heads;
  bool intermediates = false;
};

// Images per piece when a CPU batch is split (see Model::forward).
inline constexpr int64_t kCpuChunk = 1;

class Model {
 public:
  // Random (PyTorch default init) weights; the backbone of opts.backbone unless given.
  explicit Model(const ModelOptions& opts);
  Model(const ModelOptions& opts, const BackboneSpec& backbone);

  // Reads a .safetensors or an official .pth checkpoint.
  static std::unique_ptr<Model> load(const std::string& path, const ModelOptions& opts);
  // The fixture fill rule's deterministic weights (tests, demos).
  static std::unique_ptr<Model> reference(uint64_t seed, const ModelOptions& opts);

  // Outputs are CPU tensors whatever the device.
  LaaNetOutput forward(const ForwardRequest& req);
  // The same on the model's device, outputs left there (benchmarks, GPU checks).
  LaaNetOutput forward_on_device(const ForwardRequest& req);
  // Saves the official layout (803 keys for B4); dtype "" keeps the model's dtype.
  void save(const std::string& path, const std::string& dtype,
            const std::map<std::string, std::string>& extra_metadata = {});

  torch::ScalarType dtype() const { return dtype_; }
  // What was asked for ("auto", "bfloat16", ...) and, when the model runs
  // another dtype or chose one, why ("" when it runs what was asked).
  const std::string& requested_dtype() const { return requested_dtype_; }
  const std::string& dtype_note() const { return dtype_note_; }
  // dtype "auto": the fastest dtype whose P(fake) stays within 0.01 of
  // float32 on `calibration` (N×3×S×S inputs, e.g. a face and its mirror),
  // timed here; float32 when no faster dtype is native. No-op otherwise.
  void choose_auto_dtype(const torch::Tensor& calibration);
  torch::Device device() const { return device_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  std::string source() const { return source_; }
  int64_t parameter_count() const;
  const BackboneSpec& backbone() const { return net_->spec; }
  // The face-crop size the weights were trained at (`input_size` metadata, 64–1024, multiple of 32), else 384.
  int64_t input_size() const;
  LaaNet& net() { return net_; }
  std::mutex& mutex() { return mutex_; }

 private:
  void place();  // move to dtype/device after the weights are in
  void warm_up();
  // Reduced precision is an inference plan only; the module stays float32.
  torch::ScalarType module_dtype() const {
    return dtype_ == torch::kBFloat16 || dtype_ == torch::kFloat16 ? torch::kFloat32 : dtype_;
  }

  TrimTensorArenaLast trim_arena_;
  LaaNet net_;
  std::unique_ptr<FusedLaaNet> fused_;  // inference plan, rebuilt when weights change
  torch::ScalarType dtype_ = torch::kFloat32;
  std::string requested_dtype_, dtype_note_;
  bool auto_dtype_ = false, warm_up_ = true;
  torch::Device device_ = torch::kCPU;
  std::map<std::string, std::string> metadata_;
  std::string source_;
  mutable std::mutex mutex_;
};

// Why bfloat16 is not fast on this CPU ("" when it is native): for the fallback note and strict errors.
std::string bf16_not_native_reason();
torch::Device parse_device(const std::string& name);

// What this binary can do on a GPU: `compiled` is a build against a CUDA
// LibTorch (CMake defines LAA_WITH_CUDA), `available` whether LibTorch sees a
// usable GPU now.
struct CudaSupport {
  bool compiled = false;
  std::string version;  // the CUDA toolkit the build found, "" when none
  bool available = false;
  int64_t devices = 0;
};
CudaSupport cuda_support();

// Copies every defined tensor of `o` to the CPU.
LaaNetOutput to_cpu(const LaaNetOutput& o);

// at::set_num_threads is per OS thread under OpenMP, so worker threads call
// this before every piece of work. The first call in a thread (and after a
// change of count) also has every thread of its OpenMP team finish LibTorch's
// one-time setup, so that it does not happen inside a forward.
void apply_threads(int threads);

}  // namespace laa

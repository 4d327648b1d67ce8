#include "model/model.h"

#include <sys/stat.h>
#include <torch/cuda.h>
#include <torch/version.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <sstream>
#include <fstream>

#include "weights/official_layout.h"
#include "core/cpu_features.h"
#include "core/dtypes.h"
#include "core/errors.h"
#include "core/files.h"
#include "weights/metadata.h"
#include "weights/safetensors.h"
#include "weights/weights_file.h"

namespace laa {

CudaSupport cuda_support() {
  CudaSupport c;
#ifdef LAA_WITH_CUDA
  c.compiled = true;
#endif
#ifdef LAA_CUDA_VERSION
  c.version = LAA_CUDA_VERSION;
#endif
  c.available = torch::cuda::is_available();
  c.devices = c.available ? int64_t(torch::cuda::device_count()) : 0;
  return c;
}

torch::Device parse_device(const std::string& name) {
  if (name == "cpu") return torch::kCPU;
  if (name != "cuda" && name != "auto")
    throw Error(codes::kArg, "Expected device 'cpu', 'cuda' or 'auto' but received '" + name + "'");
  const CudaSupport cuda = cuda_support();
  if (cuda.available) return torch::Device(torch::kCUDA, 0);
  if (name == "auto") return torch::kCPU;
  std::string have, fix;
  if (!cuda.compiled) {
    have = "this laa-native binary was built against a CPU-only LibTorch " TORCH_VERSION
           " (no CUDA in the build; torch::cuda::is_available() is false)";
    fix = "build the CUDA variant (LAA_NATIVE_LIBTORCH=/path/to/libtorch-cuda npm run prebuild) and load it "
          "with LAA_NATIVE_VARIANT=cuda, or use device 'cpu' or 'auto'";
  } else {
    have = "this binary was built with CUDA " + (cuda.version.empty() ? std::string("(version unknown)") : cuda.version) +
           " (LibTorch " TORCH_VERSION "), but torch::cuda::is_available() is false: no GPU is visible, or the "
           "NVIDIA driver is missing or older than that CUDA";
    fix = "check nvidia-smi and CUDA_VISIBLE_DEVICES, or use device 'cpu' or 'auto'";
  }
  throw Error(codes::kDevice, "device 'cuda' was requested, but " + have + ". To use a GPU, " + fix + ".");
}

void apply_threads(int threads) {
  if (threads > 0 && at::get_num_threads() != threads) at::set_num_threads(threads);
  // LibTorch initialises its thread settings lazily in each OS thread, OpenMP
  // workers included, the first time one runs a parallel ATen loop; in 1.13
  // that calls at::set_num_threads, which recreates its pthreadpool (XNNPACK's),
  // whose new thread spins ~20 ms on one of our cores. Left alone, a worker does
  // so in the middle of the first forwards after load (measured on 2 cores: the
  // first call after load 1.9x the steady state). A row-wise reduction makes
  // every worker of the team run such a loop now, at load; a plain
  // at::parallel_for here would not: this file is built without OpenMP.
  static thread_local int team_ready_for = 0;
  const int n = at::get_num_threads();
  if (team_ready_for == n) return;
  team_ready_for = n;
  torch::NoGradGuard no_grad;
  (void)torch::ones({n, int64_t(1) << 18}).sum(1);
}

Model::Model(const ModelOptions& opts) : Model(opts, backbone_spec(opts.backbone)) {}

std::string bf16_not_native_reason() {
  const CpuFeatures& f = cpu_features();
  if (f.native_bf16()) return "";
  std::string why = (f.avx512_bf16 || f.amx_bf16)
                        ? "oneDNN is limited to ISA " + f.onednn_isa + " (ONEDNN_MAX_CPU_ISA?)"
                        : "this CPU has no native bfloat16 (no AVX512-BF16 or AMX; it has: " + f.flags() + ")";
  return why + ", so bfloat16 convolutions would run emulated or on reference kernels, several times to ~50x slower "
               "than float32";
}

Model::Model(const ModelOptions& opts, const BackboneSpec& backbone) : net_(backbone) {
  requested_dtype_ = opts.dtype;
  warm_up_ = opts.warm_up;
  auto_dtype_ = opts.dtype == "auto";
  dtype_ = auto_dtype_ ? torch::kFloat32 : parse_dtype(opts.dtype);
  device_ = parse_device(opts.device);
  if (dtype_ == torch::kBFloat16 && device_.is_cpu()) {
    const std::string why = bf16_not_native_reason();
    if (!why.empty()) {
      if (opts.strict)
        throw Error(laa::codes::kUnsupported, "dtype 'bfloat16' was requested with strict, but " + why +
                                        ". Use 'float32' (or 'auto'), or drop strict to fall back to float32");
      dtype_ = torch::kFloat32;
      dtype_note_ = "bfloat16 was requested, but " + why + "; running float32 instead";
    }
  }
  // LibTorch's CPU float16 convolutions are slow or missing; bfloat16 is the CPU's reduced precision.
  if (dtype_ == torch::kFloat16 && device_.is_cpu())
    throw Error(codes::kArg, "Expected dtype 'float16' only on a CUDA device but the model runs on the CPU "
                             "(device '" + opts.device + "'); use 'bfloat16' on the CPU");
  net_->eval();
  source_ = "random";
}

void Model::place() {
  if (device_.is_cuda()) {
    // 'float32' means float32: cuDNN would otherwise run float32 convolutions
    // in TF32, rounding operands to a 10-bit mantissa (~5e-4 relative), far
    // coarser than the fixtures' 1e-5 (not measured here; see bench/RESULTS.md).
    // The fast GPU options are 'bfloat16' and 'float16'.
    // These switches are process-wide in LibTorch; this addon owns its copy.
    at::globalContext().setAllowTF32CuDNN(false);
    at::globalContext().setAllowTF32CuBLAS(false);
  }
  net_->to(device_);
  // bfloat16/float16 are an inference plan only: the module (intermediates,
  // training) stays float32, also because LibTorch 1.13's bf16 CPU ConvTranspose is wrong.
  cast_floating(*net_, module_dtype());
  net_->eval();
  // On CUDA the plan keeps the transposed convs (Upsample::kAuto).
  fused_ = std::make_unique<FusedLaaNet>(*net_, dtype_, /*channels_last=*/true);
  if (warm_up_) warm_up();
}

int64_t Model::input_size() const { return input_size_of(metadata_); }

void Model::warm_up() {
  // The first forward of a process pays for oneDNN's kernel generation and
  // the first touch of every activation buffer (measured: ~1.5x a steady
  // forward); doing it here makes the caller's first call a steady one.
  if (!device_.is_cpu()) return;
  const int64_t s = input_size();
  ForwardRequest req;
  req.input = torch::zeros({1, 3, s, s});
  forward(req);
}

void Model::choose_auto_dtype(const torch::Tensor& calibration) {
  if (!auto_dtype_) return;
  auto_dtype_ = false;
  torch::ScalarType candidate = torch::kFloat32;
  if (device_.is_cuda()) candidate = torch::kBFloat16;
  else if (bf16_not_native_reason().empty()) candidate = torch::kBFloat16;
  if (candidate == torch::kFloat32) {
    dtype_note_ = "auto: float32 (" + bf16_not_native_reason() + ")";
    return;
  }
  ForwardRequest req;
  req.input = calibration;
  req.heads = HeadSet{false, true, false};
  auto timed = [&](double* p_fake) {
    forward(req);  // kernels and buffers for this size and dtype
    std::vector<double> t;
    LaaNetOutput o;
    for (int i = 0; i < 3; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      o = forward(req);
      t.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    auto p = torch::sigmoid(o.cls.to(torch::kFloat64)).reshape({-1});
    for (int64_t i = 0; i < p.numel(); ++i) p_fake[i] = p[i].item<double>();
    std::sort(t.begin(), t.end());
    return t[1];
  };
  const int64_t n = calibration.size(0);
  std::vector<double> p32(static_cast<size_t>(n)), pc(static_cast<size_t>(n));
  const double t32 = timed(p32.data());
  {
    torch::NoGradGuard no_grad;
    fused_ = std::make_unique<FusedLaaNet>(*net_, candidate, /*channels_last=*/true);
  }
  const double tc = timed(pc.data());
  double dev = 0;
  for (int64_t i = 0; i < n; ++i) dev = std::max(dev, std::abs(p32[size_t(i)] - pc[size_t(i)]));
  std::ostringstream os;
  os.precision(3);
  if (dev <= 0.01 && tc < 0.9 * t32) {
    dtype_ = candidate;
    os << "auto: " << dtype_name(candidate) << " (" << t32 / tc << "x faster than float32 here, P(fake) within " << dev
       << " of float32 on the calibration faces)";
  } else {
    fused_ = std::make_unique<FusedLaaNet>(*net_, torch::kFloat32, /*channels_last=*/true);
    os << "auto: float32 (" << dtype_name(candidate) << " " << (dev > 0.01 ? "moves P(fake) by " : "is not faster: ")
       << (dev > 0.01 ? dev : t32 / tc) << (dev > 0.01 ? " on the calibration faces" : "x") << ")";
  }
  dtype_note_ = os.str();
}

std::unique_ptr<Model> Model::load(const std::string& path, const ModelOptions& opts) {
  // The file says which backbone it holds (metadata, else its shapes).
  WeightsFile file = read_weights(path);
  std::unique_ptr<Model> model;
  const bool safetensors = file.format == "safetensors";
  const BackboneSpec& spec = safetensors ? backbone_of(file.metadata, file.tensors, path) : infer_backbone_or_diff(file.tensors);
  model = std::make_unique<Model>(opts, spec);
  cast_floating(*model->net_, torch::kFloat64);  // copy at full precision, then cast once
  load_official(*model->net_, file.tensors);
  if (safetensors) {
    check_metadata(file.metadata, path);
    model->metadata_ = std::move(file.metadata);
  } else {
    model->metadata_["format"] = file.format;
    if (file.epoch >= 0) model->metadata_["epoch"] = std::to_string(file.epoch);
  }
  model->source_ = path;
  model->place();
  return model;
}

std::unique_ptr<Model> Model::reference(uint64_t seed, const ModelOptions& opts) {
  auto model = std::make_unique<Model>(opts);
  cast_floating(*model->net_, torch::kFloat64);
  fill_reference_weights(*model->net_, seed);
  model->source_ = "fill-rule:" + std::to_string(seed);
  model->metadata_["weights"] = "fixture fill rule, seed " + std::to_string(seed) + " (untrained)";
  model->place();
  return model;
}

namespace {
void check_input(const torch::Tensor& x) {
  if (x.dim() != 4 || x.size(1) != 3)
    throw Error(codes::kShape, "Expected an input of shape [n, 3, height, width] but received " +
                                   c10::str(x.sizes()));
  if (x.size(0) < 1 || x.size(2) % 32 || x.size(3) % 32 || x.size(2) < 64 || x.size(3) < 64)
    throw Error(codes::kShape, "Expected a batch of at least 1 and height/width that are multiples of 32 "
                               "(at least 64; the official model uses 384) but received " + c10::str(x.sizes()));
}
}  // namespace

LaaNetOutput Model::forward(const ForwardRequest& req) {
  const auto& x = req.input;
  check_input(x);
  torch::InferenceMode guard;
  if (!device_.is_cpu()) return to_cpu(forward_on_device(req));
  // The folded plan serves plain inference; intermediates come from the module.
  if (fused_ && !req.intermediates) {
    if (x.size(0) <= kCpuChunk) return fused_->forward(x, req.heads);
    // On the CPU a batch runs fastest as a sequence of small ones: the
    // activations of one image stay in cache and the allocator reuses its
    // blocks instead of page-faulting fresh 100+ MB buffers (batch 8 measured
    // 168 ms/frame in one piece, ~113 ms/frame in pieces of one).
    std::vector<LaaNetOutput> parts;
    for (const auto& chunk : x.split(kCpuChunk)) parts.push_back(fused_->forward(chunk, req.heads));
    auto cat = [&](torch::Tensor LaaNetOutput::*field) {
      if (!(parts[0].*field).defined()) return torch::Tensor();
      std::vector<torch::Tensor> v;
      for (auto& p : parts) v.push_back(p.*field);
      return torch::cat(v, 0);
    };
    LaaNetOutput out;
    out.hm = cat(&LaaNetOutput::hm);
    out.cls = cat(&LaaNetOutput::cls);
    out.cstency = cat(&LaaNetOutput::cstency);
    return out;
  }
  return net_->forward(x.to(module_dtype()), req.heads, req.intermediates);
}

LaaNetOutput Model::forward_on_device(const ForwardRequest& req) {
  const auto& x = req.input;
  check_input(x);
  torch::InferenceMode guard;
  // One piece: a GPU wants the whole batch at once.
  if (fused_ && !req.intermediates) return fused_->forward(x.to(device_), req.heads);
  return net_->forward(x.to(device_, module_dtype()), req.heads, req.intermediates);
}

LaaNetOutput to_cpu(const LaaNetOutput& o) {
  auto cpu = [](const torch::Tensor& t) { return t.defined() ? t.to(torch::kCPU) : t; };
  LaaNetOutput out;
  out.hm = cpu(o.hm);
  out.cls = cpu(o.cls);
  out.cstency = cpu(o.cstency);
  out.endpoints.reduction_3 = cpu(o.endpoints.reduction_3);
  out.endpoints.reduction_4 = cpu(o.endpoints.reduction_4);
  out.endpoints.reduction_5 = cpu(o.endpoints.reduction_5);
  out.endpoints.reduction_6 = cpu(o.endpoints.reduction_6);
  for (int i = 0; i < 4; ++i) out.deconv[i] = cpu(o.deconv[i]);
  return out;
}

void Model::save(const std::string& path, const std::string& dtype,
                 const std::map<std::string, std::string>& extra_metadata) {
  const torch::ScalarType target = dtype.empty() ? dtype_ : parse_dtype(dtype);
  auto meta = metadata_;
  for (const auto& kv : extra_metadata) meta[kv.first] = kv.second;
  try {
    check_metadata(meta, path);
  } catch (const Error& e) {
    throw Error(codes::kArg, std::string("refusing to save: ") + e.what());
  }
  save_weights(*net_, path, target, std::move(meta));
}

int64_t Model::parameter_count() const {
  int64_t n = 0;
  for (const auto& p : net_->parameters()) n += p.numel();
  return n;
}

}  // namespace laa

#include "train/trainer.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/autocast_mode.h>
#include <torch/version.h>

#include <cmath>
#include <set>

#include "net/global_batch.h"
#include "weights/official_layout.h"
#include "core/errors.h"
#include "model/model.h"
#include "weights/pth_reader.h"
#include "weights/safetensors.h"
#include "weights/weights_file.h"

namespace laa {

namespace {

const char* const kModelPrefix = "model.";
const char* const kOptimPrefix = "optim.";
const char* const kRngKey = "rng.cpu";

torch::Tensor cpu_rng_state() {
  at::Generator gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  return gen.get_state();
}

void set_cpu_rng_state(const torch::Tensor& state) {
  at::Generator gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_state(state);
}

// The run's own random stream. Dropout and drop-connect draw from LibTorch's
// process-wide CPU generator, which anything else in the process draws from
// too: building any module does (loading a Detector for an evaluation between
// epochs), and so does another Trainer's seeding. The run's state is swapped
// in for the length of its passes and out again (the process's own state put
// back), so draws elsewhere between steps do not shift it: reruns and resumes
// stay bit-identical. Draws from another thread during a pass still would.
class RunRng {
 public:
  explicit RunRng(torch::Tensor& state) : state_(state), outer_(cpu_rng_state()) { set_cpu_rng_state(state_); }
  ~RunRng() {
    state_ = cpu_rng_state();
    set_cpu_rng_state(outer_);
  }
  RunRng(const RunRng&) = delete;
  RunRng& operator=(const RunRng&) = delete;

 private:
  torch::Tensor& state_;
  torch::Tensor outer_;
};

StateDict read_any(const std::string& path) { return read_weights(path).tensors; }

}  // namespace

void init_decoder_and_heads(LaaNetImpl& net) {
  torch::NoGradGuard no_grad;
  for (const auto& item : net.named_modules()) {
    const std::string& name = item.key();
    const bool decoder = name.rfind("deconv_", 0) == 0 || name.rfind("inception_block", 0) == 0;
    if (!decoder) continue;
    if (auto* ct = item.value()->as<torch::nn::ConvTranspose2d>()) {
      const auto c_out = ct->weight.size(1);  // ConvTranspose weight: (in, out, k, k)
      ct->weight.normal_(0, std::sqrt(2.0 / double(16 * c_out)));
    } else if (auto* bn = item.value()->as<BatchNorm2dImpl>()) {
      bn->weight.fill_(1);
      bn->bias.zero_();
    }
  }
  auto last_conv = [&](torch::nn::Sequential& head) { return head[3]->as<torch::nn::Conv2d>(); };
  if (auto* hm = last_conv(net.hm)) hm->bias.fill_(-2.19);
  if (auto* cs = last_conv(net.cstency)) {
    cs->weight.normal_(0, std::sqrt(2.0 / 256.0));
    cs->bias.zero_();
  }
}

void load_backbone(LaaNetImpl& net, const StateDict& weights) {
  const StateDict src = backbone_tensors(net.spec, weights, /*keep_classifier=*/false);
  std::map<std::string, torch::Tensor> own;
  for (auto& kv : module_state(net)) own.emplace(kv.first, kv.second);
  torch::NoGradGuard no_grad;
  for (const auto& kv : src) {
    auto& dst = own.at(kv.first);
    dst.copy_(kv.second.to(dst.device(), dst.scalar_type()));
  }
}

Trainer::Trainer(const TrainerOptions& opts) : opts_(opts) {
  if (opts.input_size < 64 || opts.input_size % 32)
    throw Error(codes::kArg, "Expected inputSize to be a multiple of 32 and at least 64 but received " +
                                 std::to_string(opts.input_size));
  if (opts.precision != "float32" && opts.precision != "bfloat16")
    throw Error(codes::kArg, "Expected precision 'float32' or 'bfloat16' but received '" + opts.precision + "'");
  device_ = parse_device(opts.device);
  if (opts.precision == "bfloat16" && device_.is_cpu()) {
    const std::string why = bf16_not_native_reason();
    if (!why.empty()) {
      if (opts.strict)
        throw Error(laa::codes::kUnsupported, "precision 'bfloat16' was requested with strict, but " + why +
                                        ". Use 'float32', or drop strict to fall back to float32");
      opts_.precision = "float32";
      precision_note_ = "bfloat16 was requested, but " + why + "; training in float32 instead";
    }
  }
  apply_threads(opts.threads);
  // The rendezvous first: a run that cannot start fails before building anything.
  if (opts.distributed) group_ = std::make_unique<ProcessGroup>(opts.dist);
  // PyTorch's default initialisers draw from the global generator: seeded for
  // this run inside its own stream (RunRng), the process's left as it was.
  rng_ = cpu_rng_state();
  {
    RunRng rng(rng_);
    torch::manual_seed(opts.seed);
    net_ = LaaNet(backbone_spec(opts.backbone));
    init_weights();
  }
  net_->to(device_);
  if (opts.channels_last) {
    // 4-d weights in channels-last make the mkldnn / cudnn convolutions skip layout conversions.
    torch::NoGradGuard no_grad;
    for (auto& p : net_->parameters())
      if (p.dim() == 4) p.set_data(p.contiguous(torch::MemoryFormat::ChannelsLast));
  }
  std::vector<torch::Tensor> params;
  std::vector<std::string> names;
  for (const auto& kv : net_->named_parameters()) {
    params.push_back(kv.value());
    names.push_back(kv.key());
    if (is_backbone_key(kv.key())) backbone_params_.push_back(kv.value());
  }
  // The official freeze is by position (the first 416 tensors for B4): the
  // backbone must come first for the two to agree.
  for (size_t i = 0; i < names.size(); ++i)
    if (is_backbone_key(names[i]) != (i < backbone_params_.size()))
      throw Error(codes::kInternal, "backbone parameters are not the first " +
                                        std::to_string(backbone_params_.size()) + " tensors ('" + names[i] + "')");
  opt_ = std::make_unique<SamAdam>(params, names, opts.rho, opts.adam);
  net_->train();
  if (group_) broadcast_state(/*optimizer=*/false);  // every rank starts from rank 0's weights and stream
}

void Trainer::broadcast_state(bool optimizer) {
  std::vector<torch::Tensor> state;
  for (auto& p : net_->parameters()) state.push_back(p);
  for (auto& b : net_->buffers()) state.push_back(b);
  group_->broadcast(state);
  std::vector<torch::Tensor> rng{rng_.contiguous()};
  group_->broadcast(rng);
  rng_ = rng[0];
  if (optimizer) opt_->broadcast_state([&](std::vector<torch::Tensor>& t) { group_->broadcast(t); });
}

void Trainer::init_weights() {
  if (opts_.init == "weights") {
    ModelOptions load;
    load.warm_up = false;
    auto m = Model::load(opts_.init_path, load);
    if (&m->backbone() != &net_->spec)
      throw Error(codes::kWeights, "'" + opts_.init_path + "' holds a LAA-Net with backbone " + m->backbone().name +
                                       ", but this run trains backbone " + net_->spec.name +
                                       " (set the backbone option to match)");
    torch::NoGradGuard no_grad;
    auto src = official_state_dict(*m->net());
    load_official(*net_, src);
  } else {
    init_decoder_and_heads(*net_);
    if (opts_.init == "backbone") load_backbone(*net_, read_any(opts_.init_path));
    else if (opts_.init != "scratch")
      throw Error(codes::kArg, "Expected init 'scratch', 'weights' or 'backbone' but received '" + opts_.init + "'");
  }
}

void Trainer::set_backbone_frozen(bool frozen) {
  for (auto& p : backbone_params_) {
    p.set_requires_grad(!frozen);
    if (frozen) p.mutable_grad() = torch::Tensor();
  }
  frozen_ = frozen;
}

namespace {
// LibTorch 2.4 replaced the per-backend autocast setters by ones taking the device type.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
bool autocast_enabled(bool cuda) { return at::autocast::is_autocast_enabled(cuda ? at::kCUDA : at::kCPU); }
at::ScalarType autocast_dtype(bool cuda) { return at::autocast::get_autocast_dtype(cuda ? at::kCUDA : at::kCPU); }
void set_autocast(bool cuda, bool on, at::ScalarType dtype) {
  at::autocast::set_autocast_dtype(cuda ? at::kCUDA : at::kCPU, dtype);
  at::autocast::set_autocast_enabled(cuda ? at::kCUDA : at::kCPU, on);
}
#else
bool autocast_enabled(bool cuda) { return cuda ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled(); }
at::ScalarType autocast_dtype(bool cuda) {
  return cuda ? at::autocast::get_autocast_gpu_dtype() : at::autocast::get_autocast_cpu_dtype();
}
void set_autocast(bool cuda, bool on, at::ScalarType dtype) {
  if (cuda) {
    at::autocast::set_autocast_gpu_dtype(dtype);
    at::autocast::set_enabled(on);
  } else {
    at::autocast::set_autocast_cpu_dtype(dtype);
    at::autocast::set_cpu_enabled(on);
  }
}
#endif

// Autocast is thread-local state of the calling thread (the compute thread);
// the scope restores it so inference on the same thread stays float32.
// bfloat16 on CUDA too: unlike float16 it needs no loss scaling.
class AutocastScope {
 public:
  AutocastScope(bool on, bool cuda) : on_(on), cuda_(cuda) {
    if (!on_) return;
    prev_ = autocast_enabled(cuda_);
    prev_dtype_ = autocast_dtype(cuda_);
    set_autocast(cuda_, true, at::kBFloat16);
    at::autocast::increment_nesting();
  }
  ~AutocastScope() {
    if (!on_) return;
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    set_autocast(cuda_, prev_, prev_dtype_);
  }
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool on_, cuda_, prev_ = false;
  at::ScalarType prev_dtype_ = at::kBFloat16;
};
}  // namespace

LossTerms Trainer::run(const TrainBatch& b, torch::Tensor* cls_logits, const GlobalBatch* global) {
  auto x = b.input.to(device_, torch::kFloat32);
  if (opts_.channels_last) x = x.contiguous(torch::MemoryFormat::ChannelsLast);
  LaaNetOutput out;
  {
    AutocastScope amp(opts_.precision == "bfloat16", device_.is_cuda());
    out = net_->forward(x);
  }
  // The losses (sigmoids, logs, the focal weights) in float32 whatever the passes ran in.
  out.hm = out.hm.to(torch::kFloat32);
  out.cls = out.cls.to(torch::kFloat32);
  out.cstency = out.cstency.to(torch::kFloat32);
  if (cls_logits) *cls_logits = out.cls.detach();
  LossTargets t{b.heatmap.to(device_), b.consistency.to(device_), b.labels.to(device_)};
  return global ? combined_loss({out.hm, out.cls, out.cstency}, t, opts_.loss, *global)
                : combined_loss({out.hm, out.cls, out.cstency}, t, opts_.loss);
}

namespace {
void check_batch(const TrainBatch& b, int64_t size) {
  const int64_t s = size / 4;
  auto bad = [&](const std::string& what, const torch::Tensor& t) {
    throw Error(codes::kShape, "training batch " + what + " has shape " +
                                   (t.defined() ? c10::str(t.sizes()) : std::string("(undefined)")));
  };
  if (!b.input.defined() || b.input.dim() != 4 || b.input.size(1) != 3 || b.input.size(2) != size ||
      b.input.size(3) != size)
    bad("input (expected [N, 3, " + std::to_string(size) + ", " + std::to_string(size) + "])", b.input);
  const int64_t n = b.input.size(0);
  if (!b.heatmap.defined() || b.heatmap.sizes() != torch::IntArrayRef({n, 1, s, s})) bad("heatmap", b.heatmap);
  if (!b.consistency.defined() || b.consistency.sizes() != torch::IntArrayRef({n, 1, s, s}))
    bad("consistency", b.consistency);
  if (!b.labels.defined() || b.labels.numel() != n) bad("labels", b.labels);
}

// The losses and the cls accuracy at 0.5 (sigmoid(z) > 0.5 ⇔ z > 0) of one pass.
void record(StepResult& r, const LossTerms& l, const torch::Tensor& logits, const TrainBatch& b) {
  r.images = b.input.size(0);
  r.total = l.total.item<double>();
  r.cls = l.cls.item<double>();
  r.hm = l.hm.item<double>();
  r.cst = l.cst.item<double>();
  auto pred = (logits.reshape({-1}).cpu() > 0).to(torch::kFloat32);
  r.accuracy = pred.eq(b.labels.reshape({-1}).cpu()).to(torch::kFloat64).mean().item<double>();
}
}  // namespace

// Distributed: one small all-reduce before the passes, of the stop requests
// and of what normalises the losses (the global batch's rows and heatmap positives).
GlobalBatch Trainer::global_batch(const TrainBatch& b, bool stop, bool* stopped) {
  const double rows = double(b.input.size(0));
  const double positives = b.heatmap.eq(1).sum().item<double>();
  std::vector<torch::Tensor> head{torch::tensor({stop ? 1.0 : 0.0, rows, positives}, torch::kFloat64)};
  group_->all_reduce_sum(head);
  if (stopped) *stopped = head[0][0].item<double>() > 0;
  return {head[0][1].item<double>(), head[0][2].item<double>()};
}

// Distributed, after each pass's backward: the trainable parameters'
// gradients and the pass's loss terms, summed over the ranks (the terms are
// shares of the global batch's, losses.h). Returns the global total; a
// non-finite total on any rank makes it non-finite on all, so every rank
// skips the same steps.
double Trainer::reduce_pass(StepResult* r, double local_total, const LossTerms& l, const TrainBatch& b,
                            const GlobalBatch& g, bool gradients) {
  std::vector<torch::Tensor> all;
  if (gradients)
    for (auto& p : net_->parameters()) {
      if (!p.requires_grad()) continue;  // the frozen backbone: the same on every rank
      if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
      all.push_back(p.mutable_grad());
    }
  const double correct = r ? r->accuracy * double(b.input.size(0)) : 0;  // r holds this rank's record()
  auto detached = [](const torch::Tensor& t) { return t.defined() ? t.detach().cpu().to(torch::kFloat64).item<double>() : 0.0; };
  all.push_back(torch::tensor({local_total, detached(l.cls), detached(l.hm), detached(l.cst), correct}, torch::kFloat64));
  group_->all_reduce_sum(all);
  const auto& s = all.back();
  if (r) {
    r->total = s[0].item<double>();
    r->cls = s[1].item<double>();
    r->hm = s[2].item<double>();
    r->cst = s[3].item<double>();
    r->accuracy = s[4].item<double>() / g.images;
    r->images = int64_t(g.images);
  }
  return s[0].item<double>();
}

StepResult Trainer::step(const TrainBatch& b, bool stop) {
  check_batch(b, opts_.input_size);
  apply_threads(opts_.threads);
  StepResult r;
  GlobalBatch global;
  const uint64_t bytes0 = group_ ? group_->bytes_reduced() : 0;
  if (group_) global = global_batch(b, stop, &r.stopped);
  else r.stopped = stop;
  if (r.stopped) return r;
  net_->train();
  RunRng rng(rng_);
  // The passes hold rows [offset, offset + N) of the global batch: dropout
  // masks are drawn for all its rows, BatchNorm statistics summed over the
  // ranks with syncBatchNorm.
  BatchShareScope share({b.offset, b.total, group_ && opts_.dist.sync_batch_norm ? group_.get() : nullptr});
  // lib/core_function.py: the first pass at w gives the reported losses and accuracy; the
  // second (fresh dropout masks) at w + e(w) gives the gradient Adam uses.
  auto outcome = opt_->step([&](bool first) {
    torch::Tensor logits;
    auto l = run(b, first ? &logits : nullptr, group_ ? &global : nullptr);
    if (first) record(r, l, logits, b);
    double total = first ? r.total : l.total.item<double>();
    if (std::isfinite(total)) l.total.backward();
    if (group_) total = reduce_pass(first ? &r : nullptr, total, l, b, global, /*gradients=*/true);
    return total;
  });
  r.grad_norm = outcome.grad_norm;
  r.skipped = outcome.skipped;
  if (group_) {
    r.bytes_reduced = group_->bytes_reduced() - bytes0;
    group_->report_progress(++steps_done_);
  }
  return r;
}

StepResult Trainer::evaluate(const TrainBatch& b) {
  check_batch(b, opts_.input_size);
  apply_threads(opts_.threads);
  GlobalBatch global;
  if (group_) global = global_batch(b, false, nullptr);
  net_->eval();
  torch::NoGradGuard no_grad;
  StepResult r;
  torch::Tensor logits;
  auto l = run(b, &logits, group_ ? &global : nullptr);
  record(r, l, logits, b);
  if (group_) reduce_pass(&r, r.total, l, b, global, /*gradients=*/false);
  net_->train();
  return r;
}

void Trainer::recalibrate_batchnorm(const std::vector<TrainBatch>& batches) {
  if (batches.empty()) throw Error(codes::kArg, "recalibration needs at least one batch");
  for (const auto& b : batches) check_batch(b, opts_.input_size);
  apply_threads(opts_.threads);
  std::vector<std::pair<BatchNorm2dImpl*, c10::optional<double>>> bns;
  for (auto& m : net_->modules(/*include_self=*/false))
    if (auto* bn = m->as<BatchNorm2dImpl>()) {
      bns.emplace_back(bn, bn->options.momentum());
      bn->options.momentum(c10::nullopt);  // cumulative average over the passes
      bn->reset_running_stats();
    }
  torch::NoGradGuard no_grad;
  net_->train();
  RunRng rng(rng_);
  AutocastScope amp(opts_.precision == "bfloat16", device_.is_cuda());  // the statistics training produces
  for (const auto& b : batches) {
    // Distributed, each rank passes its rows and the statistics are always
    // the global batch's (with or without syncBatchNorm): every rank ends
    // with the buffers one process would compute.
    BatchShareScope share({b.offset, b.total, group_.get()});
    auto x = b.input.to(device_, torch::kFloat32);
    if (opts_.channels_last) x = x.contiguous(torch::MemoryFormat::ChannelsLast);
    net_->forward(x);
  }
  for (auto& [bn, momentum] : bns) bn->options.momentum(momentum);
}

void Trainer::save_checkpoint(const std::string& path, const std::map<std::string, std::string>& metadata) {
  if (!writes_files()) return;  // every rank holds the same state; rank 0 writes it
  StateDict all;
  for (auto& kv : official_state_dict(*net_))
    all.emplace_back(kModelPrefix + kv.first, kv.second.detach().cpu().contiguous());
  for (auto& kv : opt_->state(kOptimPrefix)) all.push_back(std::move(kv));
  all.emplace_back(kRngKey, rng_.clone());
  auto meta = metadata;
  meta["laa_checkpoint"] = "1";
  meta["architecture"] = net_->spec.architecture;
  meta["input_size"] = std::to_string(opts_.input_size);
  meta["lr"] = c10::str(opt_->lr());
  meta["world_size"] = std::to_string(world_size());
  meta["sync_batch_norm"] = group_ && opts_.dist.sync_batch_norm ? "1" : "0";
  write_safetensors(path, all, meta);
}

std::map<std::string, std::string> Trainer::load_checkpoint(const std::string& path) {
  // Distributed: rank 0 reads the file (the others need not see it) and sends the state.
  if (!writes_files()) {
    broadcast_state(/*optimizer=*/true);
    return {};
  }
  auto meta = read_checkpoint(path);
  if (group_) broadcast_state(/*optimizer=*/true);
  return meta;
}

std::map<std::string, std::string> Trainer::read_checkpoint(const std::string& path) {
  SafetensorsFile file = read_safetensors(path);
  if (file.metadata["laa_checkpoint"] != "1")
    throw Error(codes::kWeights, "'" + path + "' is not a laa-native training checkpoint (no laa_checkpoint metadata)");
  // Checkpoints from before the backbone option hold B4.
  const auto arch = file.metadata.find("architecture");
  const std::string held = arch == file.metadata.end() ? backbone_spec(kDefaultBackbone).architecture : arch->second;
  if (held != net_->spec.architecture)
    throw Error(codes::kArg, "the checkpoint holds architecture '" + held + "', this run trains '" +
                                 net_->spec.architecture + "' (backbone " + net_->spec.name + ")");
  const auto size = file.metadata.find("input_size");
  if (size != file.metadata.end() && size->second != std::to_string(opts_.input_size))
    throw Error(codes::kArg, "the checkpoint was trained at inputSize " + size->second + ", this run uses " +
                                 std::to_string(opts_.input_size));
  StateDict model;
  const torch::Tensor* rng = nullptr;
  const std::string mp = kModelPrefix;
  for (const auto& kv : file.tensors) {
    if (kv.first.rfind(mp, 0) == 0) model.emplace_back(kv.first.substr(mp.size()), kv.second);
    else if (kv.first == kRngKey) rng = &kv.second;
  }
  {
    torch::NoGradGuard no_grad;
    load_official(*net_, model);
  }
  opt_->load_state(file.tensors, kOptimPrefix);
  if (rng) {
    const auto outer = cpu_rng_state();
    set_cpu_rng_state(*rng);  // throws unless it is a CPU generator state
    set_cpu_rng_state(outer);
    rng_ = rng->clone();
  }
  return file.metadata;
}

void Trainer::export_weights(const std::string& path, const std::string& dtype,
                             const std::map<std::string, std::string>& metadata) {
  if (!writes_files()) return;
  auto meta = metadata;
  meta["input_size"] = std::to_string(opts_.input_size);  // the scorer crops faces at this size
  save_weights(*net_, path, dtype.empty() ? torch::kFloat32 : parse_dtype(dtype), std::move(meta));
}

void Trainer::export_recalibrated(const std::string& path, const std::vector<TrainBatch>& batches,
                                  const std::string& dtype, const std::map<std::string, std::string>& metadata) {
  // BatchNorm updates its buffers in place, so copying the values back restores them.
  struct Restore {
    std::vector<std::pair<torch::Tensor, torch::Tensor>> buffers;
    torch::Tensor& rng;
    torch::Tensor saved_rng;
    ~Restore() {
      torch::NoGradGuard no_grad;
      for (auto& [live, saved] : buffers) live.copy_(saved);
      rng = saved_rng;
    }
  } restore{{}, rng_, rng_.clone()};
  for (auto& b : net_->buffers()) restore.buffers.emplace_back(b, b.clone());
  recalibrate_batchnorm(batches);
  export_weights(path, dtype, metadata);
}

int64_t Trainer::parameter_count() const {
  int64_t n = 0;
  for (const auto& p : net_->parameters()) n += p.numel();
  return n;
}

}  // namespace laa

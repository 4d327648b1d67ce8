// The processes of a data-parallel training run (issue 16): c10d's TCPStore
// rendezvous (served by rank 0 at MASTER_ADDR:MASTER_PORT) and a Gloo process
// group over TCP. Nothing of the transport is our own. Every failure of a
// collective (a peer that died, or did not answer within the timeout) becomes
// laa::Error EDISTRIBUTED naming this rank and the ranks whose heartbeat in
// the store stopped (or rank 0, when the store it serves is gone).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "net/global_batch.h"

namespace laa {

struct DistributedOptions {
  std::string backend = "gloo";  // the CPU backend; NCCL is not in the builds this package ships (CPU LibTorch)
  int rank = 0;
  int world_size = 1;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  int64_t timeout_ms = 30 * 60 * 1000;  // torch.distributed's default
  bool sync_batch_norm = false;
};

class ProcessGroup final : public Collective {
 public:
  // Blocks until all world_size processes have joined (or the timeout).
  explicit ProcessGroup(const DistributedOptions& options);
  ~ProcessGroup() override;

  int rank() const { return options_.rank; }
  int world_size() const { return options_.world_size; }
  const DistributedOptions& options() const { return options_; }

  // In place, over all processes: consecutive tensors of one dtype travel
  // flattened together, in buckets of at most 25 MB, one all-reduce each.
  void all_reduce_sum(std::vector<torch::Tensor>& tensors) override;
  // Rank 0's values, in place on every rank (same bucketing).
  void broadcast(std::vector<torch::Tensor>& tensors);
  void barrier();
  // Rank 0's `value` on every rank, through the store.
  std::string share_string(const std::string& value);
  // Records in the store that this rank finished `steps` steps (EDISTRIBUTED messages quote it).
  void report_progress(int64_t steps);

  uint64_t bytes_reduced() const { return bytes_reduced_; }

 private:
  struct Impl;
  [[noreturn]] void fail(const std::string& what, const std::exception& e);
  template <typename Fn>
  void guarded(const std::string& what, Fn&& fn);
  void bucketed(std::vector<torch::Tensor>& tensors, bool reduce);

  DistributedOptions options_;
  std::unique_ptr<Impl> impl_;
  uint64_t bytes_reduced_ = 0;
  int64_t shared_ = 0;  // share_string calls so far (the store key of the next)
  int64_t steps_ = 0;
};

}  // namespace laa

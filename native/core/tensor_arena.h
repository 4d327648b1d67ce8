// Keeps LibTorch's large CPU buffers mapped between calls, as onnxruntime's
// CPU memory arena does. Without it, in some processes every forward maps,
// page-faults and zeroes its activations afresh (measured on a 2-core AMD EPYC VM, batch 1, 2
// threads: 6,700 page faults per Lite0 forward at 256², 17,900 per B4 forward
// at 384²), and how much of that a process pays depended on glibc's per-thread
// arenas and its adaptive mmap threshold: one process ran a Lite0 forward in
// 44 ms, the next in 54, and 30-35 ms once the faults were gone
// (bench/RESULTS.md, issue #14).
#pragma once
#include <cstddef>
#include <cstdint>

namespace laa {

struct TensorArenaStats {
  size_t cached_bytes = 0;   // idle blocks kept for reuse
  size_t in_use_bytes = 0;   // large blocks held by live tensors
  size_t cap_bytes = 0;      // most idle bytes kept; a block freed beyond it is unmapped
  uint64_t maps = 0, reuses = 0, unmaps = 0;
  bool installed = false;
};

// Makes the arena LibTorch's CPU allocator (once per process; idempotent).
// Buffers under 64 KiB still come from LibTorch's default allocator.
void install_tensor_arena();

// Unmaps every idle block (called when a model or trainer is disposed).
void trim_tensor_arena();

TensorArenaStats tensor_arena_stats();

// A first member of what owns a network (Model, Trainer): declared first, it
// is destroyed last, after the network's tensors went back to the arena, and
// then returns the arena's idle blocks to the system.
struct TrimTensorArenaLast {
  TrimTensorArenaLast() = default;
  TrimTensorArenaLast(const TrimTensorArenaLast&) = delete;
  TrimTensorArenaLast& operator=(const TrimTensorArenaLast&) = delete;
  ~TrimTensorArenaLast() { trim_tensor_arena(); }
};

}  // namespace laa

#include "core/tensor_arena.h"

#include <c10/core/CPUAllocator.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace laa {

namespace {

constexpr size_t kMinBlock = size_t(64) << 10;  // smaller buffers: glibc reuses them without faults

// Size classes: 8 per power of two (at most 12.5 % slack), whole pages.
size_t size_class(size_t n) {
  size_t step = 4096;
  for (size_t top = size_t(1) << 63; top > 8 * 4096; top >>= 1)
    if (n > top) {
      step = top >> 3;
      break;
    }
  return (n + step - 1) / step * step;
}

size_t default_cap() {
  // An environment override, in MiB; 0 turns the arena off.
  if (const char* v = std::getenv("LAA_NATIVE_ARENA_MB")) {
    char* end = nullptr;
    const unsigned long long mb = std::strtoull(v, &end, 10);
    if (end != v && *end == '\0') return size_t(mb) << 20;
  }
  // Idle blocks kept: an eighth of the RAM, at most 4 GiB; beyond it a freed
  // block is unmapped at once, as without the arena.
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  const size_t ram = pages > 0 && page > 0 ? size_t(pages) * size_t(page) : size_t(8) << 30;
  return std::min(ram / 8, size_t(4) << 30);
}

class TensorArena final : public c10::Allocator {
 public:
  explicit TensorArena(c10::Allocator* fallback, size_t cap) : fallback_(fallback), cap_(cap) {}

  // LibTorch 1.13 declares `allocate` const, 2.x (checked: 2.11) non-const,
  // and 2.x adds a pure `copy_data`. All are written without `override`, so
  // that each overrides where the base declares it, whatever the version.
  c10::DataPtr allocate(size_t n) const { return allocate_block(n); }
  c10::DataPtr allocate(size_t n) { return allocate_block(n); }
  void copy_data(void* dest, const void* src, std::size_t count) const { std::memcpy(dest, src, count); }

  c10::DeleterFnPtr raw_deleter() const override { return &raw_release; }

  static TensorArena* instance;

  void trim() const {
    std::vector<std::pair<void*, size_t>> unmap;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      for (auto& [size, p] : idle_) unmap.emplace_back(p, size);
      idle_.clear();
      stats_.cached_bytes = 0;
      stats_.unmaps += unmap.size();
    }
    for (auto& [p, size] : unmap) munmap(p, size);
  }

  TensorArenaStats stats() const {
    std::lock_guard<std::mutex> lock(mutex_);
    TensorArenaStats s = stats_;
    s.cap_bytes = cap_;
    s.installed = true;
    return s;
  }

 private:
  c10::DataPtr allocate_block(size_t n) const {
    if (n < kMinBlock) return fallback_->allocate(n);
    void* p = take(size_class(n));
    return {p, p, &release, c10::Device(c10::DeviceType::CPU)};
  }

  void* take(size_t size) const {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      // Best fit among the idle blocks up to twice the size: a block freed
      // early in a forward serves a smaller buffer later in it, as glibc's
      // free lists would, so the arena's peak stays near the working set.
      auto it = idle_.lower_bound(size);
      if (it != idle_.end() && it->first <= 2 * size) {
        const size_t block = it->first;
        void* p = it->second;
        idle_.erase(it);
        live_[p] = block;
        stats_.cached_bytes -= block;
        stats_.in_use_bytes += block;
        ++stats_.reuses;
        return p;
      }
    }
    void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {  // give the idle blocks back first
      trim();
      p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    }
    if (p == MAP_FAILED) {
      // The same failure LibTorch's own allocator reports for a failed allocation.
      throw c10::Error({__func__, __FILE__, uint32_t(__LINE__)},
                       "DefaultCPUAllocator: can't allocate memory: you tried to allocate " + std::to_string(size) +
                           " bytes. Error code 12 (Cannot allocate memory)");
    }
    std::lock_guard<std::mutex> lock(mutex_);
    live_[p] = size;
    stats_.in_use_bytes += size;
    ++stats_.maps;
    return p;
  }

  // Returns false when `p` is not one of this arena's blocks.
  bool give_back(void* p) {
    size_t size = 0;
    bool keep = false;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = live_.find(p);
      if (it == live_.end()) return false;
      size = it->second;
      live_.erase(it);
      stats_.in_use_bytes -= size;
      keep = stats_.cached_bytes + size <= cap_;
      if (keep) {
        idle_.emplace(size, p);
        stats_.cached_bytes += size;
      } else {
        ++stats_.unmaps;
      }
    }
    if (!keep) munmap(p, size);
    return true;
  }

  static void release(void* p) { instance->give_back(p); }
  static void raw_release(void* p) {
    if (!instance->give_back(p)) instance->fallback_->raw_deleter()(p);
  }

  c10::Allocator* fallback_;
  const size_t cap_;
  mutable std::mutex mutex_;
  mutable std::multimap<size_t, void*> idle_;  // by size, for best fit
  mutable std::unordered_map<void*, size_t> live_;
  mutable TensorArenaStats stats_;
};

TensorArena* TensorArena::instance = nullptr;

}  // namespace

void install_tensor_arena() {
  static std::once_flag once;
  std::call_once(once, [] {
    const size_t cap = default_cap();
    if (cap == 0) return;
    // Never destroyed: tensors may be freed during static destruction.
    TensorArena::instance = new TensorArena(c10::GetDefaultCPUAllocator(), cap);
    c10::SetCPUAllocator(TensorArena::instance, /*priority=*/1);
  });
}

void trim_tensor_arena() {
  if (TensorArena::instance) TensorArena::instance->trim();
}

TensorArenaStats tensor_arena_stats() {
  return TensorArena::instance ? TensorArena::instance->stats() : TensorArenaStats{};
}

}  // namespace laa

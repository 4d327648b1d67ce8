#include "train/distributed.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <sstream>
#include <thread>

#include "core/errors.h"

// c10d's Gloo header includes Gloo's own (Debian: libgloo-dev, which libtorch-dev does not pull in).
#if defined(USE_C10D_GLOO) && __has_include(<gloo/config.h>)
#define LAA_HAVE_GLOO 1
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif

namespace laa {

namespace {
constexpr int64_t kBucketBytes = 25 << 20;  // torch DDP's default bucket_cap_mb
const char* const kDistributed = codes::kDistributed;

std::string first_line(const std::exception& e) {
  std::string m;
#if defined(LAA_HAVE_GLOO)
  if (auto* c = dynamic_cast<const c10::Error*>(&e)) m = c->what_without_backtrace();
  else
#endif
    m = e.what();
  const auto nl = m.find('\n');
  return nl == std::string::npos ? m : m.substr(0, nl);
}
}  // namespace

#if defined(USE_C10D_GLOO)

// Every rank counts up `laa/heartbeat/<rank>` in the store twice a second
// from a thread of its own (with its own store connection), so that a rank
// whose collective failed can tell a peer that died or was stopped (its
// count stands still) from one that is alive but slow.
constexpr auto kBeat = std::chrono::milliseconds(500);
std::string beat_key(int rank) { return "laa/heartbeat/" + std::to_string(rank); }

struct ProcessGroup::Impl {
  c10::intrusive_ptr<c10d::TCPStore> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group;
  c10::intrusive_ptr<c10d::TCPStore> beat_store;
  std::thread beat;
  std::mutex mutex;
  std::condition_variable wake;
  bool stopping = false;

  void start_heartbeat(const DistributedOptions& o) {
    c10d::TCPStoreOptions so;
    so.port = static_cast<uint16_t>(o.master_port);
    so.isServer = false;
    so.waitWorkers = false;
    so.timeout = std::chrono::milliseconds(5000);
    beat_store = c10::make_intrusive<c10d::TCPStore>(o.master_addr, so);
    const std::string key = beat_key(o.rank);
    beat = std::thread([this, key] {
      std::unique_lock<std::mutex> lock(mutex);
      while (!stopping) {
        try {
          beat_store->add(key, 1);
        } catch (const std::exception&) {
          return;  // the store (rank 0) is gone: the next collective reports it
        }
        wake.wait_for(lock, kBeat, [this] { return stopping; });
      }
    });
  }
  ~Impl() {
    {
      std::lock_guard<std::mutex> lock(mutex);
      stopping = true;
    }
    wake.notify_all();
    if (beat.joinable()) beat.join();
  }
};

ProcessGroup::ProcessGroup(const DistributedOptions& o) : options_(o), impl_(std::make_unique<Impl>()) {
  if (o.backend != "gloo")
    throw Error(laa::codes::kUnsupported, "Expected distributed backend 'gloo' but received '" + o.backend +
                                    "': this build of laa-native has no NCCL (its LibTorch is a CPU build)");
  if (o.world_size < 1 || o.rank < 0 || o.rank >= o.world_size)
    throw Error(codes::kArg, "Expected 0 ≤ rank < worldSize but received rank " + std::to_string(o.rank) +
                                 " of worldSize " + std::to_string(o.world_size));
  if (o.master_port < 1 || o.master_port > 65535)
    throw Error(codes::kArg, "Expected masterPort 1..65535 but received " + std::to_string(o.master_port));
  const auto timeout = std::chrono::milliseconds(o.timeout_ms);
  try {
    c10d::TCPStoreOptions so;
    so.port = static_cast<uint16_t>(o.master_port);
    so.isServer = o.rank == 0;
    so.numWorkers = static_cast<size_t>(o.world_size);
    so.waitWorkers = true;
    so.timeout = timeout;
    impl_->store = c10::make_intrusive<c10d::TCPStore>(o.master_addr, so);
  } catch (const std::exception& e) {
    throw Error(kDistributed, "rank " + std::to_string(o.rank) + " of " + std::to_string(o.world_size) +
                                  ": the rendezvous at " + o.master_addr + ":" + std::to_string(o.master_port) +
                                  (o.rank == 0 ? " (served by this rank)" : " (served by rank 0)") +
                                  " did not complete within " + std::to_string(o.timeout_ms) +
                                  " ms: " + first_line(e));
  }
  try {
    auto go = c10d::ProcessGroupGloo::Options::create(timeout);
    // Gloo binds to an interface: GLOO_SOCKET_IFNAME as torch.distributed
    // reads it; loopback for a run on one machine; else the host's address.
    const char* ifname = std::getenv("GLOO_SOCKET_IFNAME");
    const bool local = o.master_addr == "127.0.0.1" || o.master_addr == "localhost" || o.master_addr == "::1";
    if (ifname && *ifname) go->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
    else if (local) go->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
    else go->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
    go->threads = 2;
    auto prefixed = c10::make_intrusive<c10d::PrefixStore>("laa/gloo", impl_->store);
    impl_->group = c10::make_intrusive<c10d::ProcessGroupGloo>(prefixed, o.rank, o.world_size, go);
    impl_->start_heartbeat(o);
  } catch (const std::exception& e) {
    fail("joining the Gloo process group", e);
  }
}

ProcessGroup::~ProcessGroup() = default;

void ProcessGroup::fail(const std::string& what, const std::exception& e) {
  const auto& o = options_;
  std::ostringstream msg;
  msg << "rank " << o.rank << " of " << o.world_size << ": " << what << " failed: " << first_line(e);
  // Which rank failed: heartbeats that stand still over four beats belong to
  // ranks that died or were stopped; the steps each rank reported say how far
  // it got. The store lives in rank 0; if it is gone, so is rank 0.
  try {
    impl_->store->setTimeout(std::chrono::milliseconds(3000));
    std::vector<int64_t> before(size_t(o.world_size), 0), after(size_t(o.world_size), 0);
    for (int r = 0; r < o.world_size; ++r)
      if (r != o.rank) before[size_t(r)] = impl_->store->add(beat_key(r), 0);
    std::this_thread::sleep_for(4 * kBeat);
    std::vector<std::string> gone, alive;
    for (int r = 0; r < o.world_size; ++r) {
      if (r == o.rank) continue;
      after[size_t(r)] = impl_->store->add(beat_key(r), 0);
      std::string steps = "no step finished";
      const std::string key = "laa/progress/" + std::to_string(r);
      if (impl_->store->check({key})) {
        auto v = impl_->store->get(key);
        steps = std::string(v.begin(), v.end()) + " steps finished";
      }
      (after[size_t(r)] == before[size_t(r)] ? gone : alive).push_back("rank " + std::to_string(r) + " (" + steps + ")");
    }
    auto join = [](const std::vector<std::string>& v) {
      std::string s;
      for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + v[i];
      return s;
    };
    if (!gone.empty()) msg << ". No heartbeat from " << join(gone) << ": it died or was stopped";
    else msg << ". Every other rank is alive (" << join(alive) << "); one is slower than the timeout of "
             << o.timeout_ms << " ms or stuck";
    msg << "; this rank finished " << steps_ << " steps";
  } catch (const std::exception&) {
    msg << ". The rendezvous store of rank 0 (" << o.master_addr << ":" << o.master_port
        << ") is unreachable: rank 0 died or was stopped";
  }
  throw Error(kDistributed, msg.str());
}

template <typename Fn>
void ProcessGroup::guarded(const std::string& what, Fn&& fn) {
  try {
    fn();
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    fail(what, e);
  }
}

void ProcessGroup::bucketed(std::vector<torch::Tensor>& tensors, bool reduce) {
  torch::NoGradGuard no_grad;  // parameters are written in place
  size_t i = 0;
  while (i < tensors.size()) {
    // One bucket: consecutive tensors of one dtype and device, up to kBucketBytes.
    size_t j = i;
    int64_t bytes = 0;
    while (j < tensors.size() && tensors[j].scalar_type() == tensors[i].scalar_type() &&
           tensors[j].device() == tensors[i].device() &&
           (j == i || bytes + int64_t(tensors[j].nbytes()) <= kBucketBytes)) {
      bytes += int64_t(tensors[j].nbytes());
      ++j;
    }
    std::vector<torch::Tensor> flat_parts;
    for (size_t k = i; k < j; ++k) flat_parts.push_back(tensors[k].reshape({-1}));
    std::vector<torch::Tensor> one{j - i == 1 && tensors[i].is_contiguous() ? tensors[i] : torch::cat(flat_parts)};
    guarded(reduce ? "all-reduce" : "broadcast", [&] {
      auto work = reduce ? impl_->group->allreduce(one) : impl_->group->broadcast(one);
      work->wait();
    });
    if (reduce) bytes_reduced_ += uint64_t(one[0].nbytes());
    if (!one[0].is_same(tensors[i])) {
      int64_t at = 0;
      for (size_t k = i; k < j; ++k) {
        const int64_t n = tensors[k].numel();
        tensors[k].copy_(one[0].narrow(0, at, n).view(tensors[k].sizes()));
        at += n;
      }
    }
    i = j;
  }
}

void ProcessGroup::all_reduce_sum(std::vector<torch::Tensor>& tensors) { bucketed(tensors, true); }
void ProcessGroup::broadcast(std::vector<torch::Tensor>& tensors) { bucketed(tensors, false); }

void ProcessGroup::barrier() {
  guarded("barrier", [&] { impl_->group->barrier()->wait(); });
}

std::string ProcessGroup::share_string(const std::string& value) {
  const std::string key = "laa/shared/" + std::to_string(shared_++);
  std::string out = value;
  guarded("sharing rank 0's run state", [&] {
    if (options_.rank == 0) impl_->store->set(key, std::vector<uint8_t>(value.begin(), value.end()));
    else {
      auto v = impl_->store->get(key);  // waits for rank 0 (store timeout)
      out.assign(v.begin(), v.end());
    }
  });
  return out;
}

void ProcessGroup::report_progress(int64_t steps) {
  steps_ = steps;
  const std::string key = "laa/progress/" + std::to_string(options_.rank), v = std::to_string(steps);
  guarded("recording progress", [&] { impl_->store->set(key, std::vector<uint8_t>(v.begin(), v.end())); });
}

#else  // LibTorch without c10d's Gloo, or built without Gloo's headers

struct ProcessGroup::Impl {};
ProcessGroup::ProcessGroup(const DistributedOptions& o) : options_(o) {
  throw Error(laa::codes::kUnsupported,
              "this build of laa-native has no distributed backend (its LibTorch lacks c10d Gloo, or Gloo's headers "
              "were missing when it was built: install libgloo-dev and rebuild)");
}
ProcessGroup::~ProcessGroup() = default;
void ProcessGroup::fail(const std::string& what, const std::exception& e) { throw Error(kDistributed, what); }
void ProcessGroup::all_reduce_sum(std::vector<torch::Tensor>&) {}
void ProcessGroup::broadcast(std::vector<torch::Tensor>&) {}
void ProcessGroup::barrier() {}
std::string ProcessGroup::share_string(const std::string& value) { return value; }
void ProcessGroup::report_progress(int64_t) {}

#endif

}  // namespace laa

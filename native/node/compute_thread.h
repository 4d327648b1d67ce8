// One process-wide thread runs all LibTorch work. With OpenMP, every OS
// thread that starts parallel work gets its own thread team; spreading calls
// over the libuv pool would keep several teams spinning on the same cores
// (measured: 117 ms/frame on one thread vs 150-180 ms spread over the pool).
#pragma once
#include <functional>

namespace laa_node {

// Runs `job` on the compute thread and waits for it; exceptions are rethrown
// in the caller. Jobs run one at a time, in submission order.
void run_on_compute_thread(const std::function<void()>& job);

}  // namespace laa_node

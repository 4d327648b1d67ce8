#include "node/compute_thread.h"

#include <condition_variable>
#include <deque>
#include <exception>
#include <future>
#include <mutex>
#include <thread>

namespace laa_node {

namespace {

class ComputeThread {
 public:
  ComputeThread() { std::thread([this] { loop(); }).detach(); }

  void run(const std::function<void()>& job) {
    std::packaged_task<void()> task(job);
    auto done = task.get_future();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      jobs_.push_back(std::move(task));
    }
    cv_.notify_one();
    done.get();  // rethrows the job's exception
  }

 private:
  void loop() {
    for (;;) {
      std::packaged_task<void()> task;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        cv_.wait(lock, [this] { return !jobs_.empty(); });
        task = std::move(jobs_.front());
        jobs_.pop_front();
      }
      task();
    }
  }

  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::packaged_task<void()>> jobs_;
};

}  // namespace

void run_on_compute_thread(const std::function<void()>& job) {
  // Never destroyed: the detached thread may outlive static destruction.
  static ComputeThread* thread = new ComputeThread();
  thread->run(job);
}

}  // namespace laa_node

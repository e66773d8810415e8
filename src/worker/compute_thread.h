#pragma once
/// @brief One long-lived thread that runs a role's heavy work (the worker's task), one job at a
/// time, and hands each result back through a future. (A thread per batch, std::async, cost
/// ~30 % of the no-op throughput on 2 oversubscribed cores: each new thread had to win a core
/// before it could start.)
#include <condition_variable>
#include <functional>
#include <future>
#include <mutex>
#include <thread>
#include <utility>

namespace ride {

/// @brief Contract: every job runs on the same thread (never the caller's), in the order
/// submitted; a job's result or exception arrives through its future. One job at a time: submit
/// the next only after the last one's future is ready (a job submitted over one not yet started
/// replaces it, whose future then reports std::future_errc::broken_promise). While idle the
/// thread waits on a condition variable (no spinning). The destructor waits for a running job to
/// finish, then joins; a job not yet started is dropped (broken_promise).
template <typename Result>
class ComputeThread {
 public:
  ComputeThread() : thread_([this] { loop(); }) {}
  ~ComputeThread() {
    std::unique_lock lock(mu_);
    quit_ = true;
    lock.unlock();
    cv_.notify_one();
    thread_.join();
  }
  ComputeThread(const ComputeThread&) = delete;
  ComputeThread& operator=(const ComputeThread&) = delete;

  std::future<Result> submit(std::function<Result()> job) {
    std::packaged_task<Result()> task(std::move(job));
    auto f = task.get_future();
    {
      std::lock_guard lock(mu_);
      job_ = std::move(task);
      has_job_ = true;
    }
    cv_.notify_one();
    return f;
  }

 private:
  void loop() {
    std::unique_lock lock(mu_);
    for (;;) {
      cv_.wait(lock, [this] { return quit_ || has_job_; });
      if (quit_) return;
      auto job = std::move(job_);
      has_job_ = false;
      lock.unlock();
      job();
      lock.lock();
    }
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::packaged_task<Result()> job_;
  bool has_job_ = false, quit_ = false;
  std::thread thread_;  ///< last: started once the members it uses exist
};

}  // namespace ride

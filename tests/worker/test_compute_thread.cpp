/// The worker's compute thread (worker/compute_thread.h): one long-lived thread runs each job,
/// results and exceptions come back through futures, and an idle thread costs no CPU.
#include <gtest/gtest.h>
#include <pthread.h>
#include <time.h>

#include <chrono>
#include <future>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "worker/compute_thread.h"

namespace ride {
namespace {

TEST(ComputeThread, ResultsArriveThroughTheFutures) {
  ComputeThread<int> t;
  for (int i = 0; i < 100; ++i) {
    auto f = t.submit([i] { return i * i; });
    EXPECT_EQ(f.get(), i * i);
  }
}

TEST(ComputeThread, MoveOnlyResultsArrive) {
  ComputeThread<std::unique_ptr<std::string>> t;
  auto f = t.submit([] { return std::make_unique<std::string>("frame 7"); });
  const auto r = f.get();
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(*r, "frame 7");
}

TEST(ComputeThread, AnExceptionInTheJobReachesTheFuture) {
  ComputeThread<int> t;
  auto f = t.submit([]() -> int { throw std::runtime_error("task failed on frame 3"); });
  try {
    f.get();
    FAIL() << "the job's exception was lost";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "task failed on frame 3");
  }
  // The thread survives a failed job and runs the next one.
  EXPECT_EQ(t.submit([] { return 42; }).get(), 42);
}

TEST(ComputeThread, EveryJobRunsOnTheSameThreadWhichIsNotTheCallers) {
  ComputeThread<std::thread::id> t;
  const std::thread::id first = t.submit([] { return std::this_thread::get_id(); }).get();
  EXPECT_NE(first, std::this_thread::get_id());
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(t.submit([] { return std::this_thread::get_id(); }).get(), first);
  }
}

TEST(ComputeThread, TwoInstancesHaveTwoThreads) {
  ComputeThread<std::thread::id> a, b;
  EXPECT_NE(a.submit([] { return std::this_thread::get_id(); }).get(),
            b.submit([] { return std::this_thread::get_id(); }).get());
}

TEST(ComputeThread, DestroyedWithoutEverRunningAJobJoins) {
  for (int i = 0; i < 50; ++i) {
    ComputeThread<int> t;  // the destructor must wake the idle thread and join it
  }
  SUCCEED() << "50 idle compute threads were destroyed without hanging";
}

TEST(ComputeThread, DestroyedRightAfterAJobJoins) {
  for (int i = 0; i < 50; ++i) {
    std::future<int> f;
    {
      ComputeThread<int> t;
      f = t.submit([i] { return i + 1; });
      EXPECT_EQ(f.get(), i + 1);
    }  // destroyed at once, with the thread probably still between jobs
  }
}

TEST(ComputeThread, DestructionWaitsForARunningJob) {
  std::promise<void> started;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::future<int> f;
  std::thread releaser;
  {
    ComputeThread<int> t;
    f = t.submit([&started, released] {
      started.set_value();
      released.wait();
      return 7;
    });
    started.get_future().wait();  // the job is running now
    // Release it from another thread once the destructor is under way or soon after: the
    // destructor must join only after the job returned.
    releaser = std::thread([&release] { release.set_value(); });
  }
  releaser.join();
  ASSERT_EQ(f.wait_for(std::chrono::seconds(0)), std::future_status::ready);
  EXPECT_EQ(f.get(), 7);
}

/// CPU time the thread `id` has used so far, in seconds.
double thread_cpu_s(pthread_t id) {
  clockid_t clock{};
  EXPECT_EQ(pthread_getcpuclockid(id, &clock), 0);
  timespec ts{};
  EXPECT_EQ(clock_gettime(clock, &ts), 0);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

TEST(ComputeThread, AnIdleThreadSleepsInsteadOfSpinning) {
  ComputeThread<pthread_t> t;
  // Ask the compute thread for its own id (it stays alive as long as `t`).
  const pthread_t worker = t.submit([] { return pthread_self(); }).get();
  const double before = thread_cpu_s(worker);
  // A measurement window, not synchronization: the thread has nothing to do during it.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const double used = thread_cpu_s(worker) - before;
  // A spinning thread would use most of the 200 ms (even sharing a core); a waiting one ~0.
  EXPECT_LT(used, 0.010) << "the idle compute thread used " << used * 1e3 << " ms of CPU in 200 ms";
}

}  // namespace
}  // namespace ride

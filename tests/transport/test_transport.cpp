/// The pure part of the transport (transport/transport.h): IdleBackoff, the sleep every idle
/// loop of the job takes between probes. No MPI here.
#include <gtest/gtest.h>
#include <time.h>

#include <chrono>
#include <vector>

#include "transport/transport.h"

namespace ride::transport {
namespace {

double thread_cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

TEST(IdleBackoff, DoublesFrom20MicrosecondsTo1Millisecond) {
  IdleBackoff b;
  EXPECT_EQ(b.delay_us(), 0);
  std::vector<int> delays;
  for (int i = 0; i < 10; ++i) {
    b.wait();
    delays.push_back(b.delay_us());
  }
  EXPECT_EQ(delays, (std::vector<int>{20, 40, 80, 160, 320, 640, 1000, 1000, 1000, 1000}));
}

TEST(IdleBackoff, ResetStartsOverAt20Microseconds) {
  IdleBackoff b;
  for (int i = 0; i < 8; ++i) b.wait();
  ASSERT_EQ(b.delay_us(), 1000);
  b.reset();
  EXPECT_EQ(b.delay_us(), 0);
  b.wait();
  EXPECT_EQ(b.delay_us(), 20);
}

TEST(IdleBackoff, EachWaitSleepsAtLeastItsDelay) {
  IdleBackoff b;
  for (int i = 0; i < 9; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    b.wait();
    const auto slept = std::chrono::steady_clock::now() - t0;
    EXPECT_GE(slept, std::chrono::microseconds(b.delay_us())) << "wait " << i;
  }
}

TEST(IdleBackoff, WaitingSleepsRatherThanSpins) {
  IdleBackoff b;
  const double cpu0 = thread_cpu_s();
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 100; ++i) b.wait();  // ~94 ms of 1 ms sleeps
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double cpu = thread_cpu_s() - cpu0;
  EXPECT_GE(wall, 0.09);
  // A spinning wait would use about all of it; each real sleep costs a few µs of CPU.
  EXPECT_LT(cpu, 0.03) << cpu * 1e3 << " ms of CPU in " << wall * 1e3 << " ms of waiting";
}

}  // namespace
}  // namespace ride::transport

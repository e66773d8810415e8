#include <gtest/gtest.h>

#include <map>
#include <vector>

#include "ingest/synthetic_source.h"

namespace ride::ingest {
namespace {

TEST(SyntheticFrame, DeterministicPerKeyAndDistinctAcrossKeys) {
  std::vector<std::byte> a(1001), b(1001), c(1001), d(1001);
  fill_synthetic_frame(7, 1, 5, a.data(), a.size());
  fill_synthetic_frame(7, 1, 5, b.data(), b.size());
  fill_synthetic_frame(7, 1, 6, c.data(), c.size());
  fill_synthetic_frame(7, 2, 5, d.data(), d.size());
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_NE(a, d);
  // Roughly uniform bytes: the filter sees noise, as in RIDE's experiments.
  std::map<int, int> hist;
  std::vector<std::byte> big(1 << 16);
  fill_synthetic_frame(1, 0, 0, big.data(), big.size());
  for (auto x : big) hist[static_cast<int>(x) / 64]++;
  for (const auto& [bin, n] : hist) EXPECT_NEAR(n, 1 << 14, 1 << 11) << bin;
}

TEST(FrameSchedule, PacedStreamsInterleaveInTimeOrder) {
  FrameSchedule s({0, 1}, 2, 10.0, 3, true);
  std::vector<std::pair<std::uint32_t, std::uint64_t>> order;
  double last = -1;
  while (!s.done()) {
    const auto it = s.peek();
    EXPECT_GE(it.due_s, last);
    last = it.due_s;
    order.emplace_back(it.stream, it.sequence);
    s.pop();
  }
  EXPECT_EQ(order.size(), 6u);
  EXPECT_EQ(order[0], (std::pair<std::uint32_t, std::uint64_t>{0, 0}));
  EXPECT_EQ(order[1], (std::pair<std::uint32_t, std::uint64_t>{1, 0}));
  EXPECT_NEAR(last, 0.2 + 0.05, 1e-9);  // frame 2 of stream 1: 2/10 s + phase 1/(10*2)
  EXPECT_EQ(s.total(), 6u);
}

TEST(FrameSchedule, UnpacedIsDueAtOnceAndBalanced) {
  FrameSchedule s({4, 9, 2}, 12, 30.0, 2, false);
  std::map<std::uint32_t, int> count;
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(s.peek().due_s, 0.0);
    count[s.peek().stream]++;
    s.pop();
  }
  EXPECT_EQ(count.size(), 3u);  // each stream once before any twice
  while (!s.done()) s.pop();
}

TEST(Partitioner, RoundRobinAndKeyed) {
  Partitioner rr("round_robin", 3, 1);
  EXPECT_EQ(rr.next(0), 1);
  EXPECT_EQ(rr.next(0), 2);
  EXPECT_EQ(rr.next(5), 0);
  Partitioner key("key", 4, 0);
  EXPECT_EQ(key.next(6), 2);
  EXPECT_EQ(key.next(6), 2);
  EXPECT_EQ(key.next(3), 3);
}

}  // namespace
}  // namespace ride::ingest

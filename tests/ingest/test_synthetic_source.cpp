#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <vector>

#include "core/error.h"
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

TEST(Partitioner, RoundRobinAndKeyedArePureFunctionsOfTheKey) {
  Partitioner rr(Partitioning::round_robin, 3);
  EXPECT_EQ(rr.of(0, 0), 0);
  EXPECT_EQ(rr.of(0, 1), 1);
  EXPECT_EQ(rr.of(0, 2), 2);
  EXPECT_EQ(rr.of(5, 0), 2);
  EXPECT_EQ(rr.of(0, 1), 1) << "the same frame, the same partition (a copy sent again)";
  EXPECT_EQ(rr.of(0, 1, 1), 2) << "the next partition when the first stopped";
  // Evenly spread: every partition gets a third of a stream's frames, and of one tick's frames.
  std::vector<int> per(3, 0), tick(3, 0);
  for (std::uint64_t q = 0; q < 300; ++q) ++per[static_cast<std::size_t>(rr.of(7, q))];
  for (std::uint32_t s = 0; s < 30; ++s) ++tick[static_cast<std::size_t>(rr.of(s, 12))];
  EXPECT_EQ(per, (std::vector<int>{100, 100, 100}));
  EXPECT_EQ(tick, (std::vector<int>{10, 10, 10}));
  Partitioner key(Partitioning::key, 4);
  EXPECT_EQ(key.of(6, 0), 2);
  EXPECT_EQ(key.of(6, 99), 2);
  EXPECT_EQ(key.of(3, 1), 3);
}

TEST(FrameSchedule, AStreamTakenOverResumesAtItsSequence) {
  FrameSchedule s({0}, 2, 10.0, 5, false);
  s.add(1, 3);  // frames 3 and 4 of stream 1
  EXPECT_EQ(s.total(), 7u);
  std::vector<std::pair<std::uint32_t, std::uint64_t>> got;
  while (!s.done()) {
    got.emplace_back(s.peek().stream, s.peek().sequence);
    s.pop();
  }
  ASSERT_EQ(got.size(), 7u);
  EXPECT_EQ(std::count(got.begin(), got.end(), std::make_pair(1u, std::uint64_t{3})), 1);
  EXPECT_EQ(std::count(got.begin(), got.end(), std::make_pair(1u, std::uint64_t{4})), 1);
  EXPECT_EQ(std::count_if(got.begin(), got.end(), [](const auto& g) { return g.first == 1 && g.second < 3; }), 0);
  EXPECT_THROW(s.add(1, 0), Error);
  FrameSchedule paced({0}, 1, 10.0, 20, true);
  paced.add(3, 10);
  EXPECT_DOUBLE_EQ(paced.peek().due_s, 0.0) << "stream 0's first frame";
}

}  // namespace
}  // namespace ride::ingest

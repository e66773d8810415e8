// The scaling policy (master/scaling.h): CAM² Sec. 4.4's thresholds and preference order.
#include <gtest/gtest.h>

#include "master/scaling.h"

namespace ride {
namespace {

PartitionLoad part(int p, double rate, bool stateful = false, double pixels = 640 * 480,
                   double moved_at = -1e9) {
  PartitionLoad l;
  l.partition = p;
  l.rate_fps = rate;
  l.pixels = pixels;
  l.stateful = stateful;
  l.moved_at = moved_at;
  return l;
}

WorkerLoad worker(int rank, double cpu, std::vector<PartitionLoad> parts, double under_since = -1) {
  WorkerLoad w;
  w.rank = rank;
  w.cpu = cpu;
  w.partitions = std::move(parts);
  w.under_since = under_since;
  return w;
}

TEST(Scaling, BalancedWorkersAreLeftAlone) {
  const auto a = decide_scaling({worker(1, 0.6, {part(0, 10), part(1, 10)}),
                                 worker(2, 0.65, {part(2, 10), part(3, 10)})},
                                {}, ScalingThresholds{}, 100);
  EXPECT_TRUE(a.empty());
}

TEST(Scaling, OverUtilizedWorkerHandsItsPreferredPartitionToTheLeastLoaded) {
  // Rank 1 at 95 %: its stateful partition stays; among the independent-frame ones the lowest
  // rate goes first (CAM²: a short gap at a low rate matters least).
  const auto a = decide_scaling(
      {worker(1, 0.95, {part(0, 30, true), part(1, 20), part(2, 5)}),
       worker(2, 0.40, {part(3, 10)}), worker(3, 0.20, {part(4, 10)})},
      {}, ScalingThresholds{}, 100);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].kind, ScalingAction::Kind::migrate);
  EXPECT_EQ(a[0].from, 1);
  EXPECT_EQ(a[0].partition, 2);
  EXPECT_EQ(a[0].to, 3);
  EXPECT_FALSE(a[0].to_spare);
}

TEST(Scaling, PreferenceOrderAfterRateIsHeavyThenHighResolutionThenMostRecent) {
  ScalingThresholds t;
  // Same rate: the heavier (larger frames) goes first ...
  auto a = decide_scaling({worker(1, 0.91, {part(0, 10, false, 640 * 480), part(1, 10, false, 1280 * 720)}),
                           worker(2, 0.0, {})},
                          {}, t, 0);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].partition, 1);
  // ... unless it fits nowhere: then the next one that does.
  a = decide_scaling({worker(1, 0.95, {part(0, 10, false, 640 * 480), part(1, 10, false, 1280 * 720)}),
                      worker(2, 0.1, {})},
                     {}, t, 0);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].partition, 0);
  // Same rate and size: the most recently moved goes first.
  a = decide_scaling({worker(1, 0.95, {part(0, 10, false, 100, 5.0), part(1, 10, false, 100, 9.0)}),
                      worker(2, 0.1, {})},
                     {}, t, 10);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].partition, 1);
}

TEST(Scaling, NoRoomMeansASpareJoinsAndNoSpareMeansNothing) {
  const std::vector<WorkerLoad> w{worker(1, 0.95, {part(0, 10), part(1, 10)}),
                                  worker(2, 0.6, {part(2, 10)})};
  auto a = decide_scaling(w, {7}, ScalingThresholds{}, 0);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].to, 7);
  EXPECT_TRUE(a[0].to_spare);
  EXPECT_TRUE(decide_scaling(w, {}, ScalingThresholds{}, 0).empty());
}

TEST(Scaling, ASinglePartitionCannotBeSplit) {
  EXPECT_TRUE(decide_scaling({worker(1, 0.99, {part(0, 10)}), worker(2, 0.1, {})}, {5},
                             ScalingThresholds{}, 0)
                  .empty());
}

TEST(Scaling, UnderUtilizedLongEnoughIsConsolidatedAndReleased) {
  ScalingThresholds t;
  t.low_for_s = 10;
  const std::vector<WorkerLoad> w{worker(1, 0.2, {part(0, 10), part(1, 10)}, 80.0),
                                  worker(2, 0.3, {part(2, 10)}, 85.0)};
  EXPECT_TRUE(decide_scaling(w, {}, t, 89.0).empty());  // not long enough yet
  const auto a = decide_scaling(w, {}, t, 91.0);
  ASSERT_EQ(a.size(), 3u);  // both partitions of rank 1 move, then it is released
  EXPECT_EQ(a[0].to, 2);
  EXPECT_EQ(a[1].to, 2);
  EXPECT_EQ(a[2].kind, ScalingAction::Kind::release);
  EXPECT_EQ(a[2].from, 1);
}

TEST(Scaling, ConsolidationNeverPushesAnotherWorkerOverTheTarget) {
  ScalingThresholds t;
  t.low_for_s = 0;
  // Rank 1 at 45 % cannot go onto rank 2 at 60 % (would be 105 % > 70 %): it stays.
  EXPECT_TRUE(decide_scaling({worker(1, 0.45, {part(0, 10)}, 0.0), worker(2, 0.6, {part(1, 10)})},
                             {}, t, 1.0)
                  .empty());
  // The last worker is never released.
  EXPECT_TRUE(decide_scaling({worker(1, 0.1, {part(0, 10)}, 0.0)}, {}, t, 100.0).empty());
}

TEST(Scaling, MemoryCountsLikeCpu) {
  WorkerLoad hot = worker(1, 0.2, {part(0, 10), part(1, 10)});
  hot.mem = 0.95;
  const auto a = decide_scaling({hot, worker(2, 0.1, {})}, {}, ScalingThresholds{}, 0);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].from, 1);
}

}  // namespace
}  // namespace ride

#include <gtest/gtest.h>

#include "master/liveness.h"

namespace ride {
namespace {

TEST(Liveness, SilenceBeyondTheTimeoutIsDeathDeclaredOnce) {
  LivenessMonitor m(4, 0.3, 0.0);
  m.heard(1, 0.2);
  m.heard(2, 0.25);
  EXPECT_TRUE(m.newly_dead(0.29).empty());
  EXPECT_EQ(m.newly_dead(0.31), (std::vector<int>{3}));  // never heard after start
  EXPECT_TRUE(m.newly_dead(0.45).empty());
  EXPECT_EQ(m.newly_dead(0.51), (std::vector<int>{1}));
  EXPECT_TRUE(m.dead(1));
  EXPECT_FALSE(m.dead(2));
  EXPECT_FALSE(m.dead(0));  // the master never watches itself
  m.declare_dead(2);  // declared by other means (a straggler): never reported again
  EXPECT_TRUE(m.newly_dead(10).empty());
  EXPECT_DOUBLE_EQ(m.last_heard(2), 0.25);
}

TEST(LivenessMonitor, AddedRankGetsItsGraceThenIsWatched) {
  LivenessMonitor m(3, 0.3, 0.0);
  const int id = m.add(5.0);  // a spawned spare: five seconds to start
  EXPECT_EQ(id, 3);
  EXPECT_EQ(m.size(), 4);
  EXPECT_EQ(m.newly_dead(0.2), std::vector<int>{});
  EXPECT_EQ(m.newly_dead(1.0), (std::vector<int>{1, 2}));  // the others went silent
  EXPECT_FALSE(m.dead(id));
  m.heard(id, 5.1);
  EXPECT_EQ(m.newly_dead(5.3), std::vector<int>{});
  EXPECT_EQ(m.newly_dead(5.5), std::vector<int>{id});
}

TEST(ProgressWatch, OnlyPartitionsWithWaitingFramesStall) {
  ProgressWatch w;
  w.observe(0, 10, 10, 0.0);  // nothing waiting
  w.observe(1, 10, 4, 0.0);   // frames waiting
  EXPECT_TRUE(w.stalled(4.0, 5.0).empty());
  w.observe(1, 12, 4, 5.5);   // more frames, no commit
  EXPECT_EQ(w.stalled(5.5, 5.0), (std::vector<std::uint32_t>{1}));
  w.observe(1, 12, 6, 5.6);   // a commit: progress
  EXPECT_TRUE(w.stalled(6.0, 5.0).empty());
  EXPECT_TRUE(w.stalled(100.0, 5.0).size() == 1u);
  w.reset(1, 100.0);
  EXPECT_TRUE(w.stalled(104.0, 5.0).empty());
  w.observe(0, 11, 10, 200.0);  // work arrives at an idle partition: its clock starts now
  EXPECT_EQ(w.stalled(204.0, 5.0), (std::vector<std::uint32_t>{1}));  // only the old one
}

}  // namespace
}  // namespace ride

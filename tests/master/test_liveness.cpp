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

TEST(LivenessMonitor, StartingRanksGetTheGraceThenTheTimeout) {
  LivenessMonitor m(3, 0.3, 0.0, 10.0);
  EXPECT_TRUE(m.starting(1));
  EXPECT_DOUBLE_EQ(m.allowed_silence(1), 10.0);
  m.set_running(2);  // rank 2's heartbeat said its start-up is over
  EXPECT_DOUBLE_EQ(m.allowed_silence(2), 0.3);
  // A cold module load: rank 1 is silent for 5 s while starting, rank 2 is silent too.
  EXPECT_EQ(m.newly_dead(5.0), std::vector<int>{2});
  m.heard(1, 5.0);
  m.set_running(1);
  EXPECT_EQ(m.newly_dead(5.2), std::vector<int>{});
  EXPECT_EQ(m.newly_dead(5.4), std::vector<int>{1});
  // The grace is never shorter than the timeout.
  LivenessMonitor short_grace(2, 0.3, 0.0, 0.1);
  EXPECT_DOUBLE_EQ(short_grace.allowed_silence(1), 0.3);
}

HeartbeatBody computing(std::uint64_t batch_bytes, double for_s, std::uint64_t done_bytes, double done_s) {
  HeartbeatBody hb;
  hb.phase = RankPhase::running;
  hb.computing = 1;
  hb.partition = 7;
  hb.offset = 42;
  hb.batch_bytes = batch_bytes;
  hb.computing_for_s = for_s;
  hb.bytes_done = done_bytes;
  hb.frames_done = done_bytes > 0 ? 1 : 0;
  hb.compute_s = done_s;
  return hb;
}

TEST(StragglerRule, SlowOnABigFrameIsNotStuck) {
  const StragglerRule rule{5.0, 10.0, 30.0};
  // RIDE's 621 MB frame: the worker did one in 2 s; the next (two frames, 1.24 GB) may take
  // 10 x 4 s = 40 s before it counts as stuck.
  const std::uint64_t frame = 24160ull * 25720ull;
  EXPECT_NEAR(rule.allowance(computing(2 * frame, 0, frame, 2.0), 0), 40.0, 1e-9);
  EXPECT_FALSE(rule.stuck(computing(2 * frame, 12.0, frame, 2.0), 0));
  const auto stuck = rule.stuck(computing(2 * frame, 41.0, frame, 2.0), 0);
  ASSERT_TRUE(stuck);
  EXPECT_NE(stuck->find("partition 7 (offset 42) for 41.0 s, more than the 40.0 s allowed"), std::string::npos) << *stuck;
  // Its first batch: no rate of its own; the group's rate counts, else first_batch_s.
  EXPECT_NEAR(rule.allowance(computing(frame, 0, 0, 0), frame / 2.0), 20.0, 1e-9);
  EXPECT_DOUBLE_EQ(rule.allowance(computing(frame, 0, 0, 0), 0), 30.0);
  // A small batch is allowed at least the straggler timeout itself.
  EXPECT_DOUBLE_EQ(rule.allowance(computing(1000, 0, 1e9, 1.0), 0), 5.0);
  // A task that hangs on a small frame: stuck after the timeout.
  EXPECT_TRUE(rule.stuck(computing(307200, 5.5, 307200 * 1000, 1.0), 0));
}

TEST(StragglerRule, WaitingOnTheSinkOrABrokerIsNotStuckAnIdleLoopIs) {
  const StragglerRule rule{5.0, 10.0, 30.0};
  HeartbeatBody idle;
  idle.phase = RankPhase::running;
  const auto why = rule.stuck(idle, 0);
  ASSERT_TRUE(why);
  EXPECT_NE(why->find("neither computes nor fetches"), std::string::npos) << *why;
  HeartbeatBody sink = idle;
  sink.awaiting_results = 1;
  EXPECT_FALSE(rule.stuck(sink, 0));
  HeartbeatBody fetching = idle;
  fetching.fetching = 2;
  EXPECT_FALSE(rule.stuck(fetching, 0));
  // Whatever its compute thread does, a loop that stopped turning is stuck.
  HeartbeatBody wedged = computing(1000, 0.1, 1000, 0.01);
  wedged.loop_idle_s = 6.0;
  const auto w = rule.stuck(wedged, 0);
  ASSERT_TRUE(w);
  EXPECT_NE(w->find("loop has not turned for 6.0 s"), std::string::npos) << *w;
}

}  // namespace
}  // namespace ride

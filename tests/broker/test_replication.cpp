// The replication state machines (broker/replication.h): follower catch-up, ISR shrink and
// expand, leader change with a fenced stale leader, and a high watermark that never moves back.
#include "broker/replication.h"

#include <gtest/gtest.h>

#include <random>

namespace ride {
namespace {

ReplicationConfig three(double lag = 1.0, int min_insync = 1) {
  ReplicationConfig c;
  c.replicas = {1, 2, 3};  // leader broker 1, followers 2 and 3
  c.leader_epoch = 1;
  c.lag_time_max_s = lag;
  c.min_insync = min_insync;
  return c;
}

TEST(ReplicationLeader, ANewPartitionStartsWithEveryReplicaInSync) {
  ReplicationLeader l(1, three(), 0, 0, 0.0);
  EXPECT_EQ(l.isr(), (std::set<int>{1, 2, 3}));
  EXPECT_EQ(l.high_watermark(), 0u);
  EXPECT_TRUE(l.accepting());
}

TEST(ReplicationLeader, AProduceIsAcknowledgedOnlyOnceEveryInSyncReplicaHoldsIt) {
  ReplicationLeader l(1, three(), 0, 0, 0.0);
  l.on_append(5, 0.1);  // offsets 0..4 stored on the leader
  EXPECT_EQ(l.high_watermark(), 0u);
  EXPECT_FALSE(l.acknowledged(0));
  EXPECT_TRUE(l.on_follower_ack(2, 1, 5, 0.2));
  EXPECT_EQ(l.high_watermark(), 0u) << "follower 3 holds nothing yet";
  EXPECT_TRUE(l.on_follower_ack(3, 1, 3, 0.2));
  EXPECT_EQ(l.high_watermark(), 3u);
  EXPECT_TRUE(l.acknowledged(2));
  EXPECT_FALSE(l.acknowledged(3));
  EXPECT_TRUE(l.on_follower_ack(3, 1, 5, 0.3));
  EXPECT_EQ(l.high_watermark(), 5u);
  EXPECT_TRUE(l.acknowledged(4));
}

TEST(ReplicationLeader, AFollowerBehindLongerThanTheLagTimeLeavesTheIsrAndTheHwMovesOn) {
  ReplicationLeader l(1, three(1.0), 0, 0, 0.0);
  l.on_append(10, 0.1);
  l.on_follower_ack(2, 1, 10, 0.2);
  l.on_follower_ack(3, 1, 2, 0.2);  // follower 3 is slow
  EXPECT_EQ(l.high_watermark(), 2u);
  EXPECT_TRUE(l.tick(0.9).empty()) << "not behind for long yet";
  l.on_append(20, 1.0);
  l.on_follower_ack(2, 1, 20, 1.05);
  const auto changes = l.tick(1.5);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].kind, IsrChange::Kind::shrink);
  EXPECT_EQ(changes[0].replica, 3);
  EXPECT_EQ(l.isr(), (std::set<int>{1, 2}));
  EXPECT_EQ(l.high_watermark(), 2u) << "until the master has heard of it, the laggard still holds the HW";
  EXPECT_EQ(l.unconfirmed(), std::set<int>{3});
  l.confirm_shrink(3);
  EXPECT_TRUE(l.unconfirmed().empty());
  EXPECT_EQ(l.high_watermark(), 20u) << "the laggard no longer holds the HW back";
}

TEST(ReplicationLeader, AFollowerThatCatchesUpRejoinsTheIsr) {
  ReplicationLeader l(1, three(1.0), 0, 0, 0.0);
  l.on_append(10, 0.1);
  l.on_follower_ack(2, 1, 10, 0.2);
  l.tick(1.5);  // 3 never answered: out
  ASSERT_EQ(l.isr(), (std::set<int>{1, 2}));
  l.confirm_shrink(3);
  EXPECT_EQ(l.high_watermark(), 10u);
  std::vector<IsrChange> changes;
  EXPECT_TRUE(l.on_follower_ack(3, 1, 6, 1.6, &changes));
  EXPECT_TRUE(changes.empty()) << "below the HW: not back yet";
  EXPECT_EQ(l.follower_end(3), 6u);
  EXPECT_TRUE(l.on_follower_ack(3, 1, 10, 1.7, &changes));
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].kind, IsrChange::Kind::expand);
  EXPECT_EQ(l.isr(), (std::set<int>{1, 2, 3}));
  EXPECT_EQ(l.high_watermark(), 10u);
}

TEST(ReplicationLeader, AFollowerCatchingUpUnderContinuousAppendsRejoinsWithinTheLagWindow) {
  // The leader keeps appending; the follower never holds the leader's end at the moment it
  // acks, but it holds what the leader held a moment ago: in sync.
  ReplicationLeader l(1, three(1.0), 0, 0, 0.0);
  l.on_follower_ack(2, 1, 0, 0.0);
  double t = 0;
  std::uint64_t end = 0;
  for (int i = 0; i < 30; ++i) {  // 3 is silent for 3 s: out
    t += 0.1;
    end += 10;
    l.on_append(end, t);
    l.on_follower_ack(2, 1, end, t);
    l.tick(t);
  }
  ASSERT_FALSE(l.isr().count(3));
  for (int i = 0; i < 10; ++i) {  // 3 replicates, one message behind the leader
    t += 0.1;
    l.on_append(end + 10, t);
    l.on_follower_ack(3, 1, end, t);
    end += 10;
    l.on_follower_ack(2, 1, end, t);
    l.tick(t);
  }
  EXPECT_TRUE(l.isr().count(3));
}

TEST(ReplicationLeader, AnIdlePartitionKeepsItsFollowersInSync) {
  ReplicationLeader l(1, three(1.0), 0, 0, 0.0);
  l.on_append(4, 0.0);
  l.on_follower_ack(2, 1, 4, 0.1);
  l.on_follower_ack(3, 1, 4, 0.1);
  EXPECT_TRUE(l.tick(30.0).empty()) << "nothing to replicate is not falling behind";
  EXPECT_EQ(l.isr().size(), 3u);
}

TEST(ReplicationLeader, TheLeadersOwnAbsenceDoesNotCountAgainstItsFollowers) {
  ReplicationLeader l(1, three(1.0), 0, 0, 0.0);
  l.on_append(5, 0.1);
  l.on_follower_ack(2, 1, 4, 0.2);
  l.on_follower_ack(3, 1, 4, 0.2);
  l.forgive(2.0);  // the leader's loop stalled for 2 s: the acks that came meanwhile wait unread
  EXPECT_TRUE(l.tick(2.3).empty());
  EXPECT_EQ(l.isr().size(), 3u);
  EXPECT_EQ(l.tick(3.5).size(), 2u) << "behind for real afterwards";
}

TEST(ReplicationLeader, StaleEpochsUnknownReplicasAndImpossibleEndsAreRefused) {
  ReplicationConfig c = three();
  c.leader_epoch = 4;
  ReplicationLeader l(1, c, 0, 0, 0.0);
  l.on_append(5, 0.1);
  EXPECT_FALSE(l.on_follower_ack(2, 3, 5, 0.2)) << "an ack under an older leader epoch";
  EXPECT_FALSE(l.on_follower_ack(2, 5, 5, 0.2)) << "an epoch this leader does not lead";
  EXPECT_FALSE(l.on_follower_ack(9, 4, 5, 0.2)) << "not a replica";
  EXPECT_FALSE(l.on_follower_ack(2, 4, 6, 0.2)) << "more than the leader holds";
  EXPECT_FALSE(l.on_follower_ack(1, 4, 5, 0.2)) << "the leader itself";
  EXPECT_EQ(l.high_watermark(), 0u);
}

TEST(ReplicationLeader, MinInsyncHoldsProducesWhenTooFewReplicasAreInSync) {
  ReplicationLeader l(1, three(1.0, 2), 0, 0, 0.0);
  EXPECT_TRUE(l.accepting());
  l.remove_replica(2, 0.5);
  EXPECT_TRUE(l.accepting()) << "leader and 3";
  l.on_append(3, 0.6);
  l.tick(2.0);  // 3 never acked: out
  EXPECT_EQ(l.isr(), (std::set<int>{1}));
  EXPECT_FALSE(l.accepting());
}

TEST(ReplicationLeader, ADeadReplicaLeavesAndARebuiltOneCatchesUpIntoTheIsr) {
  ReplicationLeader l(1, three(), 0, 0, 0.0);
  l.on_append(8, 0.1);
  l.on_follower_ack(2, 1, 8, 0.2);
  l.on_follower_ack(3, 1, 5, 0.2);
  const auto gone = l.remove_replica(3, 0.3);
  ASSERT_EQ(gone.size(), 1u);
  EXPECT_EQ(l.replicas(), (std::vector<int>{1, 2}));
  EXPECT_EQ(l.high_watermark(), 8u);
  l.add_replica(4, 0.4);  // re-replication onto broker 4
  EXPECT_FALSE(l.isr().count(4));
  EXPECT_EQ(l.follower_end(4), 0u);
  l.on_follower_ack(4, 1, 4, 0.5);
  EXPECT_FALSE(l.isr().count(4));
  l.on_follower_ack(4, 1, 8, 0.6);
  EXPECT_TRUE(l.isr().count(4));
  EXPECT_EQ(l.replicas(), (std::vector<int>{1, 2, 4}));
}

TEST(ReplicationLeader, TheHighWatermarkNeverMovesBack) {
  std::mt19937 rng(7);
  ReplicationLeader l(1, three(0.5), 0, 0, 0.0);
  std::uint64_t end = 0, hw = 0;
  std::map<int, std::uint64_t> held{{2, 0}, {3, 0}};
  double t = 0;
  for (int step = 0; step < 5000; ++step) {
    t += 0.01 * static_cast<double>(rng() % 10);
    switch (rng() % 5) {
      case 0: end += rng() % 5; l.on_append(end, t); break;
      case 1:
      case 2: {
        const int f = rng() % 2 ? 2 : 3;
        // A follower acks anything up to the leader's end, sometimes out of order (older ack late).
        const std::uint64_t e = rng() % 4 == 0 ? held[f] / 2 : std::min<std::uint64_t>(end, held[f] + rng() % 8);
        held[f] = std::max(held[f], e);
        l.on_follower_ack(f, 1, e, t);
        break;
      }
      case 3:
        l.tick(t);
        if (rng() % 2) {
          for (int r : std::set<int>(l.unconfirmed())) l.confirm_shrink(r);
        }
        break;
      default: break;
    }
    ASSERT_GE(l.high_watermark(), hw) << "step " << step;
    ASSERT_LE(l.high_watermark(), l.leader_end());
    // Every in-sync follower holds everything below the HW... as far as the leader has heard.
    hw = l.high_watermark();
  }
  EXPECT_GT(hw, 0u);
}

TEST(ReplicationFollower, TakesMessagesInOrderAndAsksAgainAfterAGap) {
  ReplicationFollower f(1, 0);
  std::uint64_t from = 99;
  EXPECT_EQ(f.on_replicate(1, 0, 4, 0, &from), ReplicationFollower::Accept::ok);
  EXPECT_EQ(from, 0u);
  f.appended(4);
  EXPECT_EQ(f.end(), 4u);
  EXPECT_EQ(f.on_replicate(1, 6, 2, 4), ReplicationFollower::Accept::gap);
  EXPECT_EQ(f.on_replicate(1, 2, 5, 4, &from), ReplicationFollower::Accept::overlap);
  EXPECT_EQ(from, 4u) << "the part already held is skipped";
  f.appended(7);
  EXPECT_EQ(f.end(), 7u);
  EXPECT_EQ(f.leader_hw(), 4u);
}

TEST(ReplicationFollower, ARebuiltCopyStartsWhereTheLeadersLogStarts) {
  // A new follower (re-replication) holds nothing; its leader committed and released 0..40.
  ReplicationFollower f(3, 0);
  std::uint64_t from = 0;
  EXPECT_EQ(f.on_replicate(3, 40, 1, 45, &from, 40), ReplicationFollower::Accept::rebase);
  EXPECT_EQ(from, 40u);
  f.rebased(40);
  EXPECT_EQ(f.on_replicate(3, 40, 1, 45, &from, 40), ReplicationFollower::Accept::ok);
  f.appended(41);
  EXPECT_EQ(f.end(), 41u);
  // A frame past what it holds that is not committed yet is a real gap: asked again.
  EXPECT_EQ(f.on_replicate(3, 43, 1, 45, &from, 40), ReplicationFollower::Accept::gap);
}

TEST(ReplicationCursor, SendsFromTheCursorAtMostAWindowPastWhatTheFollowerHolds) {
  ReplicationCursor c(10);
  auto r = c.due(10, 100, 10, 8);
  EXPECT_EQ(r.first, 10u);
  EXPECT_EQ(r.last, 18u);
  for (std::uint64_t o = r.first; o < r.last; ++o) c.sent(o);
  EXPECT_TRUE(c.due(10, 100, 10, 8).empty()) << "the window is full until the follower acknowledges";
  r = c.due(10, 100, 15, 8);  // it holds 15 now
  EXPECT_EQ(r.first, 18u);
  EXPECT_EQ(r.last, 23u);
  // Nothing past the leader's log end.
  ReplicationCursor d(0);
  r = d.due(0, 3, 0, 64);
  EXPECT_EQ(r.first, 0u);
  EXPECT_EQ(r.last, 3u);
}

TEST(ReplicationCursor, ReleasedFramesAreSkipped) {
  ReplicationCursor c(0);
  for (std::uint64_t o = 0; o < 4; ++o) c.sent(o);
  const auto r = c.due(30, 40, 4, 64);  // the leader committed and released 0..30 meanwhile
  EXPECT_EQ(r.first, 30u);
  EXPECT_EQ(r.last, 40u);
}

TEST(ReplicationCursor, AGapRewindsAndTheFramesAreSentAgain) {
  ReplicationCursor c(0);
  for (std::uint64_t o = 0; o < 12; ++o) c.sent(o);
  c.rewind(5);
  auto r = c.due(0, 12, 5, 64);
  EXPECT_EQ(r.first, 5u);
  EXPECT_EQ(r.last, 12u);
  c.rewind(9);  // an older gap answer never moves the cursor forward
  EXPECT_EQ(c.next(), 5u);
}

TEST(ReplicationCursor, ARebuiltCopyThatAskedFromZeroIsSentTheLogAfterTheLeaderReleasedItsStart) {
  // A copy rebuilt after a broker's death (suite flake, mpi.ft.failover_two_brokers_one_after_another):
  // the new leader sent it frames before the master's map reached its broker, which dropped
  // them; the next frame found it empty and not committed below, so it asked from offset 0.
  // Meanwhile the leader released everything below 200. The window used to count from 0, so
  // nothing was ever sent again and the copy never caught up.
  ReplicationCursor c(55);
  for (std::uint64_t o = 55; o < 60; ++o) c.sent(o);
  c.rewind(0);
  const auto r = c.due(200, 210, 0, 64);
  EXPECT_EQ(r.first, 200u);
  EXPECT_EQ(r.last, 210u);
  // And the copy can take the first of them: everything below the leader's log start is committed.
  ReplicationFollower f(2, 0);
  std::uint64_t from = 0;
  EXPECT_EQ(f.on_replicate(2, 200, 1, 210, &from, 200), ReplicationFollower::Accept::rebase);
  EXPECT_EQ(from, 200u);
}

TEST(ReplicationFollower, AStaleLeaderIsFenced) {
  ReplicationFollower f(2, 10);
  EXPECT_EQ(f.on_replicate(1, 10, 3, 10), ReplicationFollower::Accept::stale_epoch);
  EXPECT_EQ(f.on_replicate(3, 10, 3, 10), ReplicationFollower::Accept::stale_epoch)
      << "a new leader's messages wait for the master's notice";
  EXPECT_EQ(f.end(), 10u);
}

TEST(ReplicationFollower, ANewLeaderTruncatesWhatWasNeverAcknowledged) {
  ReplicationFollower f(1, 12);
  EXPECT_EQ(f.on_new_leader(1, 8), std::nullopt) << "same epoch: nothing to do";
  EXPECT_EQ(f.on_new_leader(2, 8), std::optional<std::uint64_t>(8));
  EXPECT_EQ(f.end(), 8u);
  EXPECT_EQ(f.epoch(), 2u);
  EXPECT_EQ(f.on_new_leader(1, 0), std::nullopt) << "an older epoch";
  EXPECT_EQ(f.on_replicate(1, 8, 1, 8), ReplicationFollower::Accept::stale_epoch);
  EXPECT_EQ(f.on_replicate(2, 8, 1, 8), ReplicationFollower::Accept::ok);
  ReplicationFollower short_one(1, 5);
  EXPECT_EQ(short_one.on_new_leader(2, 8), std::optional<std::uint64_t>(5)) << "never grows by truncation";
}

TEST(ElectLeader, PromotesTheLiveInSyncReplicaHoldingMostUnderTheNextEpoch) {
  const auto e = elect_leader({1, 2, 3}, {1, 2, 3}, {1}, 4, {{2, 10}, {3, 12}});
  ASSERT_TRUE(e);
  EXPECT_EQ(e->leader, 3);
  EXPECT_EQ(e->epoch, 5u);
  EXPECT_EQ(e->replicas, (std::vector<int>{3, 2}));
  const auto tie = elect_leader({1, 2, 3}, {1, 2, 3}, {1}, 4);
  ASSERT_TRUE(tie);
  EXPECT_EQ(tie->leader, 2) << "ties: the first in the replica list";
}

TEST(ElectLeader, OnlyInSyncReplicasCanLead) {
  EXPECT_FALSE(elect_leader({1, 2, 3}, {1}, {1}, 1)) << "the followers were out of sync: no safe leader";
  EXPECT_FALSE(elect_leader({1}, {1}, {1}, 1)) << "replication 1";
  const auto e = elect_leader({1, 2, 3}, {1, 3}, {1}, 1, {{2, 50}, {3, 10}});
  ASSERT_TRUE(e);
  EXPECT_EQ(e->leader, 3) << "2 holds more but fell out of sync";
}

TEST(Replication, LeaderChangeEndToEndLosesNothingAcknowledged) {
  // Leader 1 with followers 2 and 3; frames acknowledged up to the HW; 1 dies; 2 is elected;
  // 3 truncates to the HW and replicates from 2; everything acknowledged is on both.
  ReplicationLeader l1(1, three(), 0, 0, 0.0);
  ReplicationFollower f2(1, 0), f3(1, 0);
  l1.on_append(10, 0.1);
  ASSERT_EQ(f2.on_replicate(1, 0, 10, 0), ReplicationFollower::Accept::ok);
  f2.appended(10);
  l1.on_follower_ack(2, 1, f2.end(), 0.2);
  ASSERT_EQ(f3.on_replicate(1, 0, 7, 0), ReplicationFollower::Accept::ok);
  f3.appended(7);
  l1.on_follower_ack(3, 1, f3.end(), 0.2);
  const std::uint64_t acked = l1.high_watermark();
  ASSERT_EQ(acked, 7u);
  const auto e = elect_leader(l1.replicas(), l1.isr(), {1}, l1.epoch(), {{2, f2.end()}, {3, f3.end()}});
  ASSERT_TRUE(e);
  ASSERT_EQ(e->leader, 2);
  ReplicationLeader l2(2, ReplicationConfig{e->replicas, e->epoch, 1.0, 1}, f2.end(), acked, 0.3);
  ASSERT_EQ(f3.on_new_leader(e->epoch, acked), std::optional<std::uint64_t>(7));
  // The dead leader's late message is fenced at the follower; its acks no longer count anywhere.
  EXPECT_EQ(f3.on_replicate(1, 7, 3, 10), ReplicationFollower::Accept::stale_epoch);
  EXPECT_FALSE(l2.on_follower_ack(3, 1, 7, 0.35));
  std::uint64_t from = 0;
  ASSERT_EQ(f3.on_replicate(e->epoch, f3.end(), l2.leader_end() - f3.end(), l2.high_watermark(), &from),
            ReplicationFollower::Accept::ok);
  f3.appended(l2.leader_end());
  EXPECT_TRUE(l2.on_follower_ack(3, e->epoch, f3.end(), 0.4));
  EXPECT_GE(l2.high_watermark(), acked);
  EXPECT_EQ(l2.high_watermark(), 10u);
  EXPECT_TRUE(l2.isr().count(3));
}

}  // namespace
}  // namespace ride

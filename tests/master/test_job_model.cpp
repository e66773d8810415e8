/// The job model and the decisions made over it (recovery, dynamic allocation), in one process.
#include <gtest/gtest.h>

#include <set>

#include "job_layouts.h"

#include "core/config.h"
#include "core/log_state.h"
#include "core/role_layout.h"
#include "master/allocation.h"
#include "master/job_model.h"
#include "master/model_json.h"
#include "master/recovery.h"

namespace ride {
namespace {

using test::layout_of;
using test::metrics;

JobModel model_of(int workers, int spares, int partitions) {
  const RoleLayout l = layout_of(workers, spares, partitions);
  return JobModel(l, PartitionMap::spread(partitions, l.brokers));
}

TEST(JobModel, RanksGroupAndPoolFollowTheLayout) {
  JobModel m = model_of(2, 1, 4);
  EXPECT_EQ(m.ranks(), 6);
  EXPECT_EQ(m.rank(1).role, Role::broker);
  EXPECT_EQ(m.workers(), (std::vector<int>{3, 4}));
  EXPECT_EQ(m.spares(), (std::vector<int>{5}));
  EXPECT_EQ(m.partition(3).broker, 1);
  EXPECT_TRUE(m.join_workers(5));
  EXPECT_FALSE(m.join_workers(5));
  EXPECT_EQ(m.rank(5).role, Role::worker);
  EXPECT_EQ(m.rank(5).started_as, Role::spare);
  m.release_to_spares(3);
  EXPECT_EQ(m.workers(), (std::vector<int>{4, 5}));
  EXPECT_EQ(m.spares(), (std::vector<int>{3}));
  m.declare_dead(3);
  EXPECT_TRUE(m.spares().empty());
  EXPECT_EQ(m.live_peers(), (std::vector<int>{1, 2, 4, 5}));
  const int id = m.add_spawned_spare();
  EXPECT_EQ(id, 6);
  EXPECT_TRUE(m.rank(6).spawned);
  EXPECT_EQ(m.spares(), (std::vector<int>{6}));
}

TEST(ModelJson, RanksTableAtStartAndAtEnd) {
  JobModel m = model_of(2, 1, 4);
  m.rank(3).host = "node7";
  m.rank(3).pid = 4242;
  const auto start = ranks_json(m, false);
  ASSERT_EQ(start.size(), 6u);
  EXPECT_EQ(start[3], (nlohmann::json{{"rank", 3}, {"role", "worker"}, {"host", "node7"}, {"pid", 4242}}));
  EXPECT_EQ(start[5]["role"], "spare");
  EXPECT_TRUE(m.join_workers(5));
  m.declare_dead(3);
  const auto end = ranks_json(m, true);
  EXPECT_EQ(end[5]["role"], "spare") << "the role it started as";
  EXPECT_EQ(end[5]["role_at_end"], "worker");
  EXPECT_EQ(end[3]["alive_at_end"], false);
  EXPECT_EQ(ranks_file_path("run/summary.json"), "run/summary.ranks.json");
  EXPECT_EQ(ranks_file_path("s"), "s.ranks.json");
  EXPECT_EQ(ranks_file_path(""), "");
}

TEST(JobModel, TotalsAndPeaksComeFromTheBrokersMetrics) {
  JobModel m = model_of(2, 0, 3);
  auto a = metrics(0, 100, 40);
  a.oldest_capture_ns = 1'000'000'000;
  a.as_of_ns = 3'000'000'000;  // the broker's clock when it took the numbers
  a.ring_bytes = 50;
  a.ring_capacity_bytes = 100;
  a.state = static_cast<std::uint32_t>(LogState::spilling);
  m.on_partition_metrics(a, 3'000'000'000);
  m.on_partition_metrics(metrics(2, 10, 10), 3'000'000'000);
  const JobTotals t = m.totals();
  EXPECT_EQ(t.ingested, 110u);
  EXPECT_EQ(t.committed, 50u);
  EXPECT_EQ(t.lag_frames, 60u);
  EXPECT_DOUBLE_EQ(t.lag_s, 2.0);  // as of the report (3 s - 1 s), whenever asked
  EXPECT_EQ(t.partition_states, "p0 spilling to disk (ring full)");
  EXPECT_EQ(m.partition(0).peaks.lag_frames, 60u);
  EXPECT_DOUBLE_EQ(m.partition(0).peaks.lag_s, 2.0);
  EXPECT_DOUBLE_EQ(m.partition(0).peaks.ring_fill, 0.5);
  m.on_partition_metrics(metrics(0, 100, 100), 5'000'000'000);  // caught up: peaks stay
  EXPECT_EQ(m.partition(0).lag_frames(), 0u);
  EXPECT_EQ(m.partition(0).peaks.lag_frames, 60u);
  m.on_partition_metrics(metrics(7, 1, 0), 0);  // not a partition of this topic: ignored
  m.mark_done(0);
  m.mark_done(0);
  EXPECT_EQ(m.partitions_done(), 1);
  EXPECT_FALSE(m.all_done());
}

TEST(Recovery, AWorkersPartitionsGoToTheFirstSpareUnderNewEpochs) {
  JobModel m = model_of(2, 1, 4);
  m.assignment().assign_round_robin(m.workers());  // 0,2 -> 3; 1,3 -> 4
  const auto d = plan_recovery(m, 3, "silent for 0.3 s", 10.0, 9.7);
  EXPECT_TRUE(d.fatal.empty());
  ASSERT_EQ(d.moved.size(), 2u);
  EXPECT_EQ(d.moved[0].partition, 0);
  EXPECT_EQ(d.moved[0].to, 5);
  EXPECT_EQ(d.moved[0].epoch, 2u);
  EXPECT_EQ(m.owner(2), 5);
  EXPECT_EQ(m.workers(), (std::vector<int>{4, 5}));
  EXPECT_TRUE(m.spares().empty());
  EXPECT_FALSE(m.rank(3).alive);
  ASSERT_EQ(m.failures().size(), 1u);
  EXPECT_NEAR(m.failures()[0].detected - m.failures()[0].last_heard, 0.3, 1e-9);
  // The replacement's first results for both partitions end the recovery.
  EXPECT_NE(m.on_results(0, 2, 5, 10.2), nullptr);
  EXPECT_LT(m.failures()[0].recovered, 0);
  m.on_results(2, 2, 5, 10.4);
  EXPECT_DOUBLE_EQ(m.failures()[0].recovered, 10.4);
  // Results of an older epoch are not a replay of that failure.
  EXPECT_EQ(m.on_results(1, 1, 4, 10.5), nullptr);
}

TEST(Recovery, WithoutSparesTheLeastLoadedSurvivorTakesOver) {
  JobModel m = model_of(3, 0, 6);
  m.assignment().assign_round_robin(m.workers());
  const auto d = plan_recovery(m, 4, "straggler", 1.0, 1.0);
  ASSERT_EQ(d.moved.size(), 2u);
  EXPECT_NE(d.moved[0].to, d.moved[1].to);  // spread: each survivor takes one
  EXPECT_EQ(m.assignment().count_of(3), 3u);
  EXPECT_EQ(m.assignment().count_of(5), 3u);
}

TEST(Recovery, BrokerIngestAndLastWorkerAreFatalSparesJustLeave) {
  JobModel m = model_of(1, 1, 1);
  m.assignment().assign_round_robin(m.workers());
  auto d = plan_recovery(m, 4, "silent", 1, 1);  // the spare
  EXPECT_TRUE(d.spare_lost);
  EXPECT_TRUE(d.fatal.empty());
  EXPECT_TRUE(m.spares().empty());
  d = plan_recovery(m, 3, "silent for 0.3 s", 2, 1.7);
  EXPECT_EQ(d.fatal, "rank 3 (worker) silent for 0.3 s and no worker or spare is left");
  JobModel n = model_of(1, 0, 1);
  d = plan_recovery(n, 1, "silent for 0.3 s", 2, 1.7);
  EXPECT_NE(d.fatal.find("rank 1 (broker) silent for 0.3 s: the loss of a broker rank is not tolerated"),
            std::string::npos)
      << d.fatal;
  n.init_streams(2, layout_of(1, 0, 1));
  d = plan_recovery(n, 2, "silent", 2, 1.7);
  EXPECT_NE(d.fatal.find("rank 2 (ingest) silent: no other ingest rank is alive"), std::string::npos) << d.fatal;
}

/// 3 brokers (1, 2, 3), ingest 4, workers 5 and 6; 4 partitions, two copies each.
JobModel replicated_model() {
  RoleLayout l;
  l.world = 7;
  l.brokers = {1, 2, 3};
  l.ingest = {4};
  l.workers = {5, 6};
  l.partitions = 4;
  JobModel m(l, PartitionMap::spread(4, l.brokers, 2));
  m.assignment().assign_round_robin(m.workers());
  return m;
}

TEST(Recovery, ABrokersDeathPromotesInSyncFollowersAndRebuildsLostCopies) {
  JobModel m = replicated_model();
  // p0: 1 leads, 2 follows; p1: 2, 3; p2: 3, 1; p3: 1, 2. Broker 1 dies.
  ASSERT_EQ(m.map().replicas(0), (std::vector<int>{1, 2}));
  ASSERT_EQ(m.map().replicas(2), (std::vector<int>{3, 1}));
  const std::uint32_t e0 = m.epoch(0);
  const auto d = plan_recovery(m, 1, "silent for 0.3 s", 10.0, 9.7, 2);
  ASSERT_TRUE(d.fatal.empty()) << d.fatal;
  ASSERT_TRUE(d.map.has_value());
  EXPECT_EQ(d.promoted, (std::vector<int>{0, 3}));
  // The promoted follower leads under the next leader epoch; the third broker rebuilds a copy.
  EXPECT_EQ(m.map().replicas(0), (std::vector<int>{2, 3}));
  EXPECT_EQ(m.map().leader_epoch(0), 2u);
  EXPECT_EQ(m.map().replicas(3), (std::vector<int>{2, 3}));
  // p2 lost its follower: same leader and epoch, a new copy on the live broker it lacked.
  EXPECT_EQ(m.map().replicas(2), (std::vector<int>{3, 2}));
  EXPECT_EQ(m.map().leader_epoch(2), 1u);
  EXPECT_EQ(m.map().replicas(1), (std::vector<int>{2, 3}));
  EXPECT_EQ(d.rebuilt, (std::vector<int>{0, 2, 3}));
  EXPECT_TRUE(d.under_replicated.empty());
  EXPECT_EQ(m.partition(0).broker, 2) << "the model's partitions follow the map";
  EXPECT_EQ(m.partition(0).isr, std::vector<int>{2}) << "followers rebuild: only the leader is in sync";
  // The owners of promoted partitions resume at the committed offset under a new epoch.
  ASSERT_EQ(d.moved.size(), 2u);
  EXPECT_EQ(d.moved[0].partition, 0);
  EXPECT_EQ(d.moved[0].to, m.owner(0));
  EXPECT_EQ(m.epoch(0), e0 + 1);
  EXPECT_FALSE(m.rank(1).alive);
  ASSERT_EQ(m.failures().size(), 1u);
  EXPECT_EQ(m.failures()[0].role, Role::broker);
  EXPECT_LT(m.failures()[0].recovered, 0) << "recovered at the first results after the failover";
  m.on_results(0, m.epoch(0), m.owner(0), 10.5);
  m.on_results(3, m.epoch(3), m.owner(3), 10.6);
  EXPECT_DOUBLE_EQ(m.failures()[0].recovered, 10.6);

  // A second broker dies (2): its partitions fail over to 3, which is left alone (no broker
  // for a second copy).
  m.partition(0).isr = {2, 3};
  m.partition(3).isr = {2, 3};
  m.partition(1).isr = {2, 3};
  const auto d2 = plan_recovery(m, 2, "silent for 0.3 s", 20.0, 19.7, 2);
  ASSERT_TRUE(d2.fatal.empty()) << d2.fatal;
  for (int p = 0; p < 4; ++p) EXPECT_EQ(m.map().replicas(p), std::vector<int>{3}) << p;
  EXPECT_EQ(d2.under_replicated, (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(m.map().leader_epoch(0), 3u);
  // And the last one: nothing left to elect.
  const auto d3 = plan_recovery(m, 3, "silent for 0.3 s", 30.0, 29.7, 2);
  EXPECT_NE(d3.fatal.find("rank 3 (broker) silent for 0.3 s: partition 0 had no other copy"), std::string::npos)
      << d3.fatal;
}

TEST(Recovery, ACopyBeingRebuiltIsNeverElected) {
  // Brokers 1 and 2 die together; 2 is noticed first. p0 (1 leads, 2 follows) gets a new copy
  // on 3 — still empty when 1's death is noticed: nothing in sync is left, a clear error (an
  // election of the empty copy lost frames in a SIGKILL test before).
  JobModel m = replicated_model();
  const auto d = plan_recovery(m, 2, "silent for 0.3 s", 10.0, 9.7, 2);
  ASSERT_TRUE(d.fatal.empty()) << d.fatal;
  EXPECT_EQ(m.map().replicas(0), (std::vector<int>{1, 3}));
  EXPECT_EQ(m.partition(0).isr, std::vector<int>{1}) << "the new copy is not in sync yet";
  const auto d2 = plan_recovery(m, 1, "silent for 0.3 s", 10.1, 9.7, 2);
  EXPECT_NE(d2.fatal.find("partition 0 has no in-sync copy left"), std::string::npos) << d2.fatal;
}

TEST(JobModel, EveryCopyIsInSyncAtTheStartAndANewOneOnlyOnceItsLeaderSaysSo) {
  JobModel m = replicated_model();
  EXPECT_EQ(m.partition(0).isr, (std::vector<int>{1, 2}));
  PartitionMap moved = m.map();
  moved.set_replicas(0, {1, 3}, 1);  // 2's copy replaced by a new one on 3
  m.set_map(moved);
  EXPECT_EQ(m.partition(0).isr, std::vector<int>{1});
  PartitionMap again = m.map();
  again.set_replicas(1, {2, 3, 1}, 1);
  m.set_map(again, true);  // the start: copies are empty, so in sync
  EXPECT_EQ(m.partition(1).isr, (std::vector<int>{2, 3, 1}));
}

TEST(Recovery, OnlyAnInSyncFollowerIsPromoted) {
  JobModel m = replicated_model();
  m.partition(0).isr = {1};  // 2 fell behind: out of the ISR when 1 died
  const auto d = plan_recovery(m, 1, "silent for 0.3 s", 10.0, 9.7, 2);
  EXPECT_NE(d.fatal.find("partition 0 has no in-sync copy left on a live broker"), std::string::npos) << d.fatal;
}

TEST(Recovery, NewCopiesGoToAnotherHostFirst) {
  RoleLayout l;
  l.world = 7;
  l.brokers = {1, 2, 3, 4};
  l.ingest = {5};
  l.workers = {6};
  l.partitions = 1;
  JobModel m(l, PartitionMap::spread(1, l.brokers, 2));  // p0 on 1 and 2
  m.assignment().assign_round_robin(m.workers());
  const std::string host_a = "a", host_b = "b";  // (a literal assigned in the loop trips GCC 12's -Wrestrict)
  for (int b : {1, 2, 3}) m.rank(b).host = host_a;
  m.rank(4).host = host_b;
  const auto d = plan_recovery(m, 1, "silent", 1.0, 1.0, 2);
  ASSERT_TRUE(d.fatal.empty()) << d.fatal;
  EXPECT_EQ(m.map().replicas(0), (std::vector<int>{2, 4})) << "host b before broker 3 on host a";
}

TEST(Recovery, ADeadIngestRanksStreamsResumeOnTheOthersAfterTheirAcknowledgedSequence) {
  RoleLayout l;
  l.world = 7;
  l.brokers = {1};
  l.ingest = {2, 3, 4};
  l.workers = {5, 6};
  l.partitions = 2;
  JobModel m(l, PartitionMap::spread(2, l.brokers));
  m.init_streams(6, l);  // stream s read by ingest rank 2 + s mod 3
  ASSERT_EQ(m.streams()[0].ingest_rank, 2);
  ASSERT_EQ(m.streams()[3].ingest_rank, 2);
  StreamReport r0;
  r0.stream = 0;
  r0.frames = 50;
  r0.acked = 44;  // 44..49 in flight when it died
  StreamReport r3 = r0;
  r3.stream = 3;
  r3.acked = 41;
  m.on_stream_reports(2, {r0, r3}, 1.0);
  StreamReport other;
  other.stream = 1;
  other.acked = 99;
  m.on_stream_reports(3, {other}, 1.0);
  const auto d = plan_recovery(m, 2, "silent for 0.3 s", 2.0, 1.7);
  ASSERT_TRUE(d.fatal.empty()) << d.fatal;
  // One stream each to ranks 3 and 4 (both read two streams: the first with fewest wins).
  ASSERT_EQ(d.takeovers.size(), 2u);
  EXPECT_EQ(d.takeovers.at(3), (std::vector<StreamTakeover>{{0, 44}}));
  EXPECT_EQ(d.takeovers.at(4), (std::vector<StreamTakeover>{{3, 41}}));
  EXPECT_EQ(m.streams()[0].ingest_rank, 3);
  EXPECT_EQ(m.streams()[3].ingest_rank, 4);
  ASSERT_EQ(m.failures().size(), 1u);
  EXPECT_EQ(m.failures()[0].role, Role::ingest);
  EXPECT_LT(m.failures()[0].recovered, 0);
  // A late report of the dead rank changes nothing; the new readers' reports settle it.
  r0.acked = 48;
  m.on_stream_reports(2, {r0}, 2.1);
  EXPECT_EQ(m.streams()[0].acked, 44u);
  StreamReport t0;
  t0.stream = 0;
  t0.acked = 46;
  t0.frames = 2;
  m.on_stream_reports(3, {t0}, 2.5);
  EXPECT_LT(m.failures()[0].recovered, 0);
  StreamReport t3;
  t3.stream = 3;
  m.on_stream_reports(4, {t3}, 2.55);
  EXPECT_LT(m.failures()[0].recovered, 0) << "taken, but no frame published yet";
  t3.frames = 1;
  m.on_stream_reports(4, {t3}, 2.6);
  EXPECT_DOUBLE_EQ(m.failures()[0].recovered, 2.6);
  EXPECT_EQ(m.streams()[0].acked, 46u);
  // A rank that had finished (INGEST_DONE) leaves nothing to resume.
  const auto d2 = plan_recovery(m, 3, "silent", 3.0, 2.7, 1, {3});
  EXPECT_TRUE(d2.fatal.empty());
  EXPECT_TRUE(d2.takeovers.empty());
  EXPECT_GE(m.failures().back().recovered, 0);
  // A rank that finished its own streams takes a dead one's: 4 dies, 2 and 3 are dead.
  JobModel n(l, PartitionMap::spread(2, l.brokers));
  n.init_streams(6, l);
  const auto e1 = plan_recovery(n, 2, "silent", 1.0, 0.7, 1, {3, 4});
  ASSERT_TRUE(e1.fatal.empty()) << e1.fatal;
  EXPECT_EQ(e1.takeovers.at(3).size() + e1.takeovers.at(4).size(), 2u) << "finished ranks read them";
  const auto e2 = plan_recovery(n, 3, "silent", 2.0, 1.7, 1, {4});
  ASSERT_TRUE(e2.fatal.empty()) << e2.fatal;
  EXPECT_EQ(n.streams()[1].ingest_rank, 4);
  const auto e3 = plan_recovery(n, 4, "silent", 3.0, 2.7, 1, {});
  EXPECT_NE(e3.fatal.find("no other ingest rank is alive"), std::string::npos) << e3.fatal;
}

void worker_rate(JobModel& m, int r, std::uint64_t frames, double secs, int computing_partition = -1) {
  HeartbeatBody& a = m.rank(r).activity;
  a.frames_done = frames;
  a.compute_s = secs;
  a.computing = computing_partition >= 0 ? 1 : 0;
  a.partition = static_cast<std::uint32_t>(std::max(0, computing_partition));
}

TEST(DynamicAllocator, BatchHandsOutOnePartitionPerWorkerThenTheNextAsEachFinishes) {
  JobModel m = model_of(2, 0, 5);
  DynamicAllocator a({true, 8, 2.0, 0.3});
  a.initial(m);
  EXPECT_EQ(m.owner(0), 3);
  EXPECT_EQ(m.owner(1), 4);
  EXPECT_EQ(m.owner(2), -1);
  for (int p = 0; p < 5; ++p) m.on_partition_metrics(metrics(p, 100, 0), 0);
  EXPECT_TRUE(a.step(m, 0.0, 100.0).empty());  // both busy
  m.mark_done(1);                             // rank 4 finished its partition
  worker_rate(m, 4, 100, 1.0);
  auto moves = a.step(m, 0.5, 100.5);
  ASSERT_EQ(moves.size(), 1u);
  EXPECT_EQ(moves[0].partition, 2);
  EXPECT_EQ(moves[0].to, 4);
  EXPECT_EQ(moves[0].from, -1);
  EXPECT_EQ(m.owner(2), 4);
  EXPECT_EQ(m.epoch(2), 1u);
  ASSERT_EQ(m.scaling().size(), 1u);
  EXPECT_EQ(m.scaling()[0].action, "move");
  EXPECT_NE(m.scaling()[0].reason.find("rank 4 idle; partition 2 unassigned with 100 frames stored"),
            std::string::npos)
      << m.scaling()[0].reason;
  EXPECT_NEAR(a.idle_while_work_waits_s(4), 0.5, 1e-9);  // from the last step to this one
  EXPECT_DOUBLE_EQ(a.idle_while_work_waits_s(3), 0.0);
  // Both idle at once: the faster one gets the next partition first, then the other.
  m.mark_done(0);
  m.mark_done(2);
  worker_rate(m, 3, 10, 1.0);
  worker_rate(m, 4, 300, 1.0);
  moves = a.step(m, 1.0, 101.0);
  ASSERT_EQ(moves.size(), 2u);
  EXPECT_EQ(moves[0].to, 4);
  EXPECT_EQ(moves[0].partition, 3);
  EXPECT_EQ(moves[1].to, 3);
  EXPECT_EQ(moves[1].partition, 4);
}

TEST(DynamicAllocator, AnIdleWorkerTakesAWaitingPartitionNotTheOneBeingComputed) {
  JobModel m = model_of(2, 0, 4);
  DynamicAllocator a({false, 8, 2.0, 0.3});
  a.initial(m);  // stream: all dealt, 0,2 -> 3; 1,3 -> 4
  EXPECT_EQ(m.owner(3), 4);
  m.assignment().reassign(1, 3);  // rank 3 holds 0, 1, 2; rank 4 holds 3
  m.on_partition_metrics(metrics(0, 100, 10), 0);
  m.on_partition_metrics(metrics(1, 100, 95), 0);  // 5 behind: less than a batch, not waiting
  m.on_partition_metrics(metrics(2, 100, 50), 0);
  m.on_partition_metrics(metrics(3, 100, 100), 0);  // rank 4 caught up: idle
  worker_rate(m, 3, 100, 1.0, 0);                   // rank 3 computes partition 0 now
  EXPECT_TRUE(a.step(m, 10.0, 10.0).empty());       // stream: idle for a moment first
  auto moves = a.step(m, 10.6, 10.6);
  ASSERT_EQ(moves.size(), 1u);
  EXPECT_EQ(moves[0].partition, 2);
  EXPECT_EQ(moves[0].from, 3);
  EXPECT_EQ(moves[0].to, 4);
  // Moved: not again within the cool-down, whatever the numbers say.
  m.on_partition_metrics(metrics(2, 200, 50), 0);
  m.on_partition_metrics(metrics(3, 100, 100), 0);
  m.assignment().reassign(3, 3);  // rank 4 left with partition 2 only; give it nothing to do
  m.mark_done(2);
  EXPECT_TRUE(a.step(m, 11.6, 11.6).empty());
}

TEST(DynamicAllocator, StreamPartitionsDoNotBounceBackToTheirLastOwner) {
  JobModel m = model_of(2, 0, 4);
  DynamicAllocator a({false, 8, 2.0, 0.3});
  a.initial(m);  // 0,2 -> 3; 1,3 -> 4
  m.assignment().reassign(3, 3);  // rank 3: 0, 2, 3 (all behind); rank 4: 1 (caught up)
  for (int p : {0, 2, 3}) m.on_partition_metrics(metrics(p, 100, 50), 0);
  m.on_partition_metrics(metrics(1, 100, 100), 0);
  EXPECT_TRUE(a.step(m, 1.0, 1.0).empty());
  auto moves = a.step(m, 1.6, 1.6);
  ASSERT_EQ(moves.size(), 1u);
  const int p = moves[0].partition;
  EXPECT_EQ(moves[0].to, 4);
  // Now rank 3 catches up and rank 4 falls behind on both of its partitions: rank 3 may take
  // partition 1, never the one just moved off it (for 4 cool-downs).
  for (int q : {0, 2, 3}) m.on_partition_metrics(metrics(q, 200, q == p ? 120 : 200), 0);
  m.on_partition_metrics(metrics(1, 200, 100), 0);
  m.on_partition_metrics(metrics(p, 300, 100), 0);  // the moved one is the furthest behind
  EXPECT_TRUE(a.step(m, 4.0, 4.0).empty());
  moves = a.step(m, 4.6, 4.6);
  ASSERT_EQ(moves.size(), 1u);
  EXPECT_EQ(moves[0].partition, 1);
  EXPECT_EQ(moves[0].to, 3);
}

TEST(DynamicAllocator, StreamMovesOnlyWhatTheIdleWorkerHasRoomFor) {
  JobModel m = model_of(2, 0, 3);
  DynamicAllocator a({false, 8, 2.0, 0.3});
  a.initial(m);  // 0,2 -> 3; 1 -> 4
  m.assignment().reassign(1, 3);  // rank 3: 0, 1, 2 behind; rank 4: nothing
  // Two samples 1 s apart give each partition its input rate: 0 at 30 fps, 1 at 4 fps, 2 at 20.
  const std::uint64_t per_s[3] = {30, 4, 20};
  for (int p = 0; p < 3; ++p) m.on_partition_metrics(metrics(p, 100, 0), 0);
  for (int p = 0; p < 3; ++p) m.on_partition_metrics(metrics(p, 100 + per_s[p], 0), 1'000'000'000);
  EXPECT_NEAR(m.partition(0).input_fps, 30, 1e-9);
  EXPECT_NEAR(m.partition(1).input_fps, 4, 1e-9);
  worker_rate(m, 4, 100, 10.0);  // rank 4 does 10 frames/s: room for 8 at 80 %
  EXPECT_TRUE(a.step(m, 1.0, 1.0).empty());
  auto moves = a.step(m, 1.6, 1.6);
  ASSERT_EQ(moves.size(), 1u);
  EXPECT_EQ(moves[0].partition, 1);  // the 4 fps one, though the others are further behind
  EXPECT_EQ(moves[0].to, 4);
}

TEST(DynamicAllocator, BatchEndGameMovesTheLastPartitionOfAMuchSlowerWorker) {
  JobModel m = model_of(2, 0, 2);
  DynamicAllocator a({true, 8, 2.0, 0.3});
  a.initial(m);
  m.on_partition_metrics(metrics(0, 400, 100), 0);  // rank 3: 300 frames left at 25 fps: 12 s
  m.on_partition_metrics(metrics(1, 400, 400), 0);
  m.mark_done(1);
  worker_rate(m, 3, 100, 4.0, 0);  // slow: 25 frames/s, computing partition 0
  worker_rate(m, 4, 400, 4.0);     // 100 frames/s
  // It is computing partition 0 now (a slow worker always is): the batch is done again there.
  auto moves = a.step(m, 5.0, 5.0);
  ASSERT_EQ(moves.size(), 1u);
  EXPECT_EQ(moves[0].partition, 0);
  EXPECT_EQ(moves[0].to, 4);
  EXPECT_NE(moves[0].reason.find("would need"), std::string::npos) << moves[0].reason;
  // Equal workers never steal from each other (no ping-pong).
  JobModel n = model_of(2, 0, 2);
  a.initial(n);
  n.on_partition_metrics(metrics(0, 400, 100), 0);
  n.mark_done(1);
  worker_rate(n, 3, 100, 1.0);
  worker_rate(n, 4, 110, 1.0);
  EXPECT_TRUE(a.step(n, 9.0, 9.0).empty());
}

}  // namespace
}  // namespace ride

namespace ride {
namespace {

/// Two stages: workers 3, 4 in stage 0 (partitions 0-1), worker 5 in stage 1 (partitions 2-4),
/// spare 6 shared.
JobModel two_stage_model() {
  RoleLayout l = test::layout_of(3, 1, 5);
  l.stage_first = {0, 2};
  l.stage_partitions = {2, 3};
  l.worker_stage = {0, 0, 1};
  JobModel m(l, PartitionMap::spread(5, l.brokers));
  m.set_stage_names({"first", "second"});
  return m;
}

TEST(Stages, GroupsAndAllocationKeepToTheirStage) {
  JobModel m = two_stage_model();
  EXPECT_EQ(m.workers_of(0), (std::vector<int>{3, 4}));
  EXPECT_EQ(m.workers_of(1), (std::vector<int>{5}));
  EXPECT_EQ(m.partition(1).stage, 0);
  EXPECT_EQ(m.partition(2).stage, 1);
  DynamicAllocator a({true, 8, 2.0, 0.3});
  a.initial(m);
  EXPECT_EQ(m.owner(0), 3);
  EXPECT_EQ(m.owner(1), 4);
  EXPECT_EQ(m.owner(2), 5);  // stage 1's own group
  EXPECT_EQ(m.owner(3), -1);
  for (int p = 0; p < 5; ++p) m.on_partition_metrics(metrics(p, 50, 0), 0);
  // Stage 0's workers finish: idle, but stage 1's waiting partitions are not theirs to take.
  m.mark_done(0);
  m.mark_done(1);
  EXPECT_TRUE(a.step(m, 0.0, 10.0).empty());
  // Stage 1's worker finishes its partition: it takes the next of its own stage.
  m.mark_done(2);
  const auto moves = a.step(m, 0.5, 10.5);
  ASSERT_EQ(moves.size(), 1u);
  EXPECT_EQ(moves[0].partition, 3);
  EXPECT_EQ(moves[0].to, 5);
  EXPECT_EQ(m.scaling().back().stage, "second");
  EXPECT_EQ(m.rank(5).stages_served, (std::set<int>{1}));
}

TEST(Stages, RecoveryUsesTheSharedSpareThenTheSameStagesSurvivors) {
  JobModel m = two_stage_model();
  m.assignment().assign_round_robin({3, 4, 5, 5, 5});  // 0->3, 1->4, 2..4 -> 5
  for (int p = 2; p < 5; ++p) m.assignment().reassign(p, 5);
  // Stage 1's only worker dies: the spare joins stage 1's group with all three partitions.
  auto d = plan_recovery(m, 5, "silent", 1.0, 0.7);
  ASSERT_EQ(d.moved.size(), 3u);
  for (const auto& mv : d.moved) EXPECT_EQ(mv.to, 6);
  EXPECT_EQ(m.rank(6).stage, 1);
  EXPECT_EQ(m.workers_of(1), (std::vector<int>{6}));
  // A stage 0 worker dies with no spare left: its partition goes to stage 0's survivor, not to
  // stage 1's worker.
  d = plan_recovery(m, 3, "silent", 2.0, 1.7);
  ASSERT_EQ(d.moved.size(), 1u);
  EXPECT_EQ(d.moved[0].to, 4);
  // The last worker of stage 0 dies: nobody of its stage is left, the job cannot go on.
  d = plan_recovery(m, 4, "silent", 3.0, 2.7);
  EXPECT_FALSE(d.fatal.empty());
}

TEST(Stages, ARecoveryIsOverWhenItsPartitionDrainsWithoutResults) {
  // A later stage's worker dies; the stage before forwards nothing more: its partitions drain
  // (sealed, nothing to commit) without a result from the new owner.
  JobModel m = two_stage_model();
  m.assignment().assign_round_robin({3, 4, 5, 5, 5});
  for (int p = 2; p < 5; ++p) m.assignment().reassign(p, 5);
  plan_recovery(m, 5, "silent", 1.0, 0.7);
  ASSERT_LT(m.failures()[0].recovered, 0);
  m.mark_done(2, 2.0);
  m.mark_done(3, 2.5);
  EXPECT_LT(m.failures()[0].recovered, 0);  // partition 4 still open
  m.mark_done(4, 3.0);
  EXPECT_DOUBLE_EQ(m.failures()[0].recovered, 3.0);
}

TEST(Stages, TotalsCountWhatEnteredTheJob) {
  JobModel m = two_stage_model();
  m.set_entry_stages({0});
  m.on_partition_metrics(metrics(0, 10, 8), 0);
  m.on_partition_metrics(metrics(1, 10, 10), 0);
  m.on_partition_metrics(metrics(2, 7, 3), 0);
  const JobTotals t = m.totals();
  EXPECT_EQ(t.ingested, 20u);   // stage 0's topic only
  EXPECT_EQ(t.committed, 18u);
  EXPECT_EQ(t.lag_frames, 6u);  // every topic's backlog: 2 + 4
}

}  // namespace
}  // namespace ride

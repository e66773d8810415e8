/// The master's use of CAM²'s scaling policy during a run (master/load_scaling.h): worker load
/// samples become busy fractions and partition rates, and the policy's decisions become
/// partition moves, releases to the spare pool and scaling events in the job model.
#include <gtest/gtest.h>

#include <algorithm>

#include "job_layouts.h"

#include "master/load_scaling.h"

namespace ride {
namespace {

using test::layout_of;
using test::metrics;

JobConfig config() {
  return parse_job_config({"--ingest.width=64", "--ingest.height=48", "--scaling.interval_s=1", "--scaling.high=0.9",
                           "--scaling.low=0.5", "--scaling.target=0.7", "--scaling.low_for_s=3"});
}

/// Two workers (ranks 3, 4) over four partitions (3 owns 0 and 2, 4 owns 1 and 3), one spare (5).
struct Job {
  RoleLayout layout = layout_of(2, 1, 4);
  JobModel model{layout, PartitionMap::spread(4, layout.brokers)};
  JobConfig cfg = config();
  LoadScaling scaling{cfg, true, 3};
  std::map<int, double> busy;
  std::uint64_t end = 0;
  Job() { model.assignment().assign_round_robin(model.workers()); }

  /// One interval of `fps` per partition, with each worker busy for the given fraction of it.
  std::vector<PartitionMove> interval(double t, std::map<int, double> busy_fraction, int fps = 10) {
    end += static_cast<std::uint64_t>(fps);
    for (int p = 0; p < 4; ++p) model.on_partition_metrics(metrics(p, end, end), static_cast<std::int64_t>(t * 1e9));
    for (const auto& [r, f] : busy_fraction) {
      busy[r] += f;
      WorkerMetrics m;
      m.busy_s = busy[r];
      scaling.on_worker_metrics(r, m);
    }
    return scaling.step(model, t, t);
  }
};

TEST(LoadScaling, FirstCallTakesTheBaselineAndDecisionsWaitForTheInterval) {
  Job job;
  EXPECT_TRUE(job.interval(1.0, {{3, 1.0}, {4, 1.0}}).empty());  // baseline only
  EXPECT_TRUE(job.interval(1.5, {{3, 1.0}, {4, 1.0}}).empty());  // before scaling.interval_s
  EXPECT_TRUE(job.model.scaling().empty());
}

TEST(LoadScaling, OverBusyWorkerMovesAPartitionToTheWorkerWithRoom) {
  Job job;
  job.interval(1.0, {{3, 0}, {4, 0}});
  // Rank 3 fully busy over two partitions (0.5 each), rank 4 at 10 %: one partition moves.
  const auto moves = job.interval(2.0, {{3, 1.0}, {4, 0.1}});
  ASSERT_EQ(moves.size(), 1u);
  const PartitionMove mv = moves[0];
  EXPECT_TRUE(mv.partition == 0 || mv.partition == 2);
  EXPECT_EQ(mv.from, 3);
  EXPECT_EQ(mv.to, 4);
  EXPECT_FALSE(mv.joins);  // rank 4 was already a worker
  EXPECT_EQ(job.model.assignment().at(mv.partition).owner, 4);
  EXPECT_EQ(job.model.assignment().partitions_of(4).size(), 3u);
  EXPECT_DOUBLE_EQ(job.model.partition(mv.partition).moved_at_s, 2.0);
  ASSERT_EQ(job.model.scaling().size(), 1u);
  const ScalingEvent& e = job.model.scaling()[0];
  EXPECT_EQ(e.action, "move");
  EXPECT_EQ(e.from, 3);
  EXPECT_EQ(e.worker, 4);
  EXPECT_EQ(e.partitions, std::vector<int>{mv.partition});
  EXPECT_EQ(e.reason, "rank 3 over 90 % busy");
}

TEST(LoadScaling, BothWorkersOverBusyBringInTheSpare) {
  Job job;
  job.interval(1.0, {{3, 0}, {4, 0}});
  const auto moves = job.interval(2.0, {{3, 1.0}, {4, 1.0}});
  ASSERT_FALSE(moves.empty());
  for (const auto& mv : moves) EXPECT_EQ(mv.to, 5);  // the spare is the new instance
  EXPECT_TRUE(moves[0].joins);
  const auto& workers = job.model.workers();
  EXPECT_NE(std::find(workers.begin(), workers.end(), 5), workers.end());
}

TEST(LoadScaling, LastingUnderUseReleasesAWorkerOnlyAfterTheHold) {
  Job job;
  job.interval(1.0, {{3, 0}, {4, 0}});
  for (double t = 2.0; t < 5.0; t += 1.0) {
    EXPECT_TRUE(job.interval(t, {{3, 0.1}, {4, 0.1}}).empty()) << "t=" << t;  // under, < 3 s
  }
  const auto moves = job.interval(5.0, {{3, 0.1}, {4, 0.1}});
  ASSERT_FALSE(moves.empty());
  const PartitionMove release = moves.back();
  EXPECT_EQ(release.partition, -1);  // a release, after the moves that empty the worker
  const int released = release.from;
  const int kept = released == 3 ? 4 : 3;
  for (std::size_t k = 0; k + 1 < moves.size(); ++k) {
    EXPECT_EQ(moves[k].from, released);
    EXPECT_EQ(moves[k].to, kept);
  }
  EXPECT_EQ(job.model.assignment().partitions_of(kept).size(), 4u);
  EXPECT_NE(std::find(job.model.spares().begin(), job.model.spares().end(), released), job.model.spares().end());
  EXPECT_EQ(job.model.scaling().back().action, "shrink");
  EXPECT_EQ(job.model.scaling().back().reason, "busy under 50 % for 3 s");
}

}  // namespace
}  // namespace ride

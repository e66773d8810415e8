/// The application topology resolved against the tasks (task/pipeline.h): readers, topics,
/// the scalars a stage's results carry, forward predicates, and the configuration errors that
/// need the tasks to be found.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "core/config.h"
#include "core/error.h"
#include "core/role_layout.h"
#include "task/pipeline.h"

namespace ride::task {
namespace {

Pipeline resolve(const std::vector<std::string>& args, int ranks = 8) {
  const JobConfig cfg = parse_job_config(args);
  static std::vector<JobConfig> keep;  // the pipeline points into its configuration
  keep.push_back(cfg);
  return Pipeline(registry_for(keep.back()), keep.back(), compute_role_layout(keep.back(), ranks));
}

std::string error_of(const std::vector<std::string>& args) {
  try {
    resolve(args);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

const std::vector<std::string> kChain = {"--job.stages=motion,objects,people",
                                         "--stage.motion.task=me",
                                         "--stage.motion.partitioning=key",
                                         "--stage.motion.forward=foreground_pct > 1",
                                         "--stage.objects.task=mod",
                                         "--stage.objects.partitioning=key",
                                         "--stage.objects.forward=objects >= 1 and motion.shadow_pct < 50",
                                         "--stage.people.task=hd"};

TEST(Pipeline, ChainCarriesEarlierScalarsNearestFirst) {
  const Pipeline p = resolve(kChain);
  ASSERT_EQ(p.stages(), 3);
  EXPECT_TRUE(p.multi_stage());
  EXPECT_EQ(p.ingest_readers(), (std::vector<int>{0}));
  EXPECT_EQ(p.stage(0).readers, (std::vector<int>{1}));
  EXPECT_EQ(p.stage(1).input, 0);
  EXPECT_EQ(p.stage(2).input, 1);
  EXPECT_TRUE(p.stage(2).readers.empty());
  EXPECT_EQ(p.stage(0).scalar_names, (std::vector<std::string>{"foreground_pct", "shadow_pct", "forwarded"}));
  EXPECT_EQ(p.stage(1).upstream_names, (std::vector<std::string>{"motion.foreground_pct", "motion.shadow_pct"}));
  EXPECT_EQ(p.stage(2).upstream_names,
            (std::vector<std::string>{"objects.objects", "motion.foreground_pct", "motion.shadow_pct"}));
  EXPECT_EQ(p.stage(2).scalar_names,
            (std::vector<std::string>{"people", "objects.objects", "motion.foreground_pct", "motion.shadow_pct"}));
  EXPECT_EQ(p.stage(1).upstream_at(), 2u);  // objects, forwarded, then motion's
  // Topics one after another: one partition per worker by default.
  EXPECT_EQ(p.stage(0).first_partition, 0);
  EXPECT_EQ(p.stage(1).first_partition, 1);
  EXPECT_EQ(p.stage(2).first_partition, 2);
  EXPECT_EQ(p.stage_of_partition(2), 2);
  // The forward predicate reads the record's layout: own scalars, then the carried ones.
  std::vector<double> rec = {3.0, std::nan(""), 10.0, 60.0};  // objects, forwarded, motion.*
  EXPECT_FALSE(p.stage(1).forward(rec.data()));  // shadow 60 >= 50
  rec[3] = 20.0;
  EXPECT_TRUE(p.stage(1).forward(rec.data()));
  EXPECT_TRUE(p.stage(2).forward.always_true());
}

TEST(Pipeline, FanOutAndOneStageJobs) {
  const Pipeline p = resolve({"--job.stages=a,b,c", "--stage.a.task=stddev", "--stage.b.task=hessian",
                              "--stage.c.task=stddev", "--stage.c.input=a"});
  EXPECT_EQ(p.stage(0).readers, (std::vector<int>{1, 2}));
  const Pipeline one = resolve({"--task.name=hessian"}, 6);
  EXPECT_FALSE(one.multi_stage());
  ASSERT_EQ(one.stages(), 1);
  EXPECT_EQ(one.stage(0).name(), "main");
  EXPECT_EQ(one.stage(0).scalar_names, (std::vector<std::string>{"keypoints", "mean_response", "max_response"}));
}

TEST(Pipeline, ForwardPartitionIsDeterministicPerKey) {
  const Pipeline p = resolve({"--job.stages=a,b,c", "--stage.a.task=stddev", "--stage.b.task=stddev",
                              "--stage.b.partitions=3", "--stage.c.task=me", "--stage.c.input=a",
                              "--stage.a.partitioning=key", "--stage.c.partitioning=key", "--stage.c.partitions=2"});
  const Stage& rr = p.stage(1);
  const Stage& keyed = p.stage(2);
  std::set<int> used;
  for (std::uint64_t q = 0; q < 9; ++q) {
    const int part = forward_partition(rr, 4, q);
    EXPECT_EQ(part, forward_partition(rr, 4, q));  // the same again after a failure
    EXPECT_GE(part, rr.first_partition);
    EXPECT_LT(part, rr.first_partition + rr.partitions);
    used.insert(part);
    EXPECT_EQ(forward_partition(keyed, 5, q), keyed.first_partition + 1);  // a stream stays in one
  }
  EXPECT_EQ(used.size(), 3u);  // round robin spreads a stream
}

TEST(Pipeline, ErrorsNameTheKey) {
  std::string e = error_of({"--job.stages=a,b", "--stage.a.task=stddev", "--stage.a.forward=fg > 1",
                            "--stage.b.task=stddev"});
  EXPECT_NE(e.find("'stage.a.forward' (command line): unknown scalar 'fg' at column 1 (known: mean, min, max)"),
            std::string::npos) << e;
  e = error_of({"--job.stages=a,b", "--stage.a.task=stddev", "--stage.a.forward=mean > ", "--stage.b.task=stddev"});
  EXPECT_NE(e.find("'stage.a.forward' (command line): expected a number after '>'"), std::string::npos) << e;
  e = error_of({"--job.stages=a,b", "--stage.a.task=stddev", "--stage.b.task=stddev", "--stage.b.forward=mean > 1"});
  EXPECT_NE(e.find("'stage.b.forward' (command line): no stage reads stage 'b'"), std::string::npos) << e;
  e = error_of({"--job.stages=a,b", "--stage.a.task=stddev", "--stage.b.task=me", "--stage.b.partitioning=key"});
  EXPECT_NE(e.find("'stage.a.partitioning' (default): stage 'b' (task me) keeps state per stream"), std::string::npos) << e;
  e = error_of({"--job.stages=a", "--stage.a.task=me"});
  EXPECT_NE(e.find("'stage.a.partitioning' (default): task 'me' keeps state per stream"), std::string::npos) << e;
  e = error_of({"--job.stages=a,b", "--stage.a.task=hessian", "--stage.a.emit=image", "--stage.b.task=stddev"});
  EXPECT_NE(e.find("'stage.a.emit' (command line): task 'hessian' produces no output image"), std::string::npos) << e;
  e = error_of({"--job.stages=a", "--stage.a.task=surf"});
  EXPECT_NE(e.find("'stage.a.task' (command line): unknown task 'surf'"), std::string::npos) << e;
  e = error_of({"--job.stages=a", "--stage.a.task=stddev", "--stage.a.params.windw=3"});
  EXPECT_NE(e.find("unknown key 'stage.a.params.windw' (command line): task 'stddev' has parameters window"),
            std::string::npos) << e;
}

}  // namespace
}  // namespace ride::task

#include <gtest/gtest.h>

#include "core/config.h"
#include "core/error.h"
#include "core/partition_map.h"
#include "core/role_layout.h"

namespace ride {
namespace {

TEST(RoleLayout, AutoRuleForSixAndEightRanks) {
  const JobConfig c = parse_job_config({});
  const RoleLayout six = compute_role_layout(c, 6);
  EXPECT_EQ(six.brokers, (std::vector<int>{1}));
  EXPECT_EQ(six.ingest, (std::vector<int>{2}));
  EXPECT_EQ(six.workers, (std::vector<int>{3, 4}));
  EXPECT_EQ(six.spares, (std::vector<int>{5}));
  EXPECT_EQ(six.partitions, 2);
  const RoleLayout eight = compute_role_layout(c, 8);
  EXPECT_EQ(eight.brokers.size(), 1u);
  EXPECT_EQ(eight.workers.size(), 4u);
  EXPECT_EQ(eight.spares.size(), 1u);
  const RoleLayout ten = compute_role_layout(c, 10);
  EXPECT_EQ(ten.brokers.size(), 2u);
  EXPECT_EQ(ten.workers.size(), 5u);
  EXPECT_EQ(compute_role_layout(c, 4).spares.size(), 0u);
  EXPECT_EQ(compute_role_layout(c, 4).workers.size(), 1u);
}

TEST(RoleLayout, RolesAndIndices) {
  const RoleLayout l = compute_role_layout(parse_job_config({}), 8);
  EXPECT_EQ(l.role_of(0), Role::master);
  EXPECT_EQ(l.role_of(1), Role::broker);
  EXPECT_EQ(l.role_of(2), Role::ingest);
  EXPECT_EQ(l.role_of(3), Role::worker);
  EXPECT_EQ(l.role_of(7), Role::spare);
  EXPECT_EQ(l.index_in_role(5), 2);
}

TEST(RoleLayout, ExplicitCountsAndLeftoverSpares) {
  const JobConfig c = parse_job_config({"--job.brokers=3", "--job.workers=3", "--job.spares=0",
                                        "--topic.partitions=6"});
  const RoleLayout l = compute_role_layout(c, 10);
  EXPECT_EQ(l.brokers.size(), 3u);
  EXPECT_EQ(l.workers.size(), 3u);
  EXPECT_EQ(l.spares.size(), 2u);  // 10 - 1 - 3 - 1 - 3
  EXPECT_EQ(l.partitions, 6);
  // Placement is the master's (core/partition_map.h): spread over these brokers in turn.
  EXPECT_EQ(PartitionMap::spread(l.partitions, l.brokers).broker(4), l.brokers[1]);
}

TEST(RoleLayout, ReplicationIsTwoCopiesWithTwoBrokersUnlessSet) {
  EXPECT_EQ(compute_role_layout(parse_job_config({}), 6).replication, 1) << "one broker";
  EXPECT_EQ(compute_role_layout(parse_job_config({"--job.brokers=2"}), 7).replication, 2);
  EXPECT_EQ(compute_role_layout(parse_job_config({"--job.brokers=3"}), 8).replication, 2);
  EXPECT_EQ(compute_role_layout(parse_job_config({"--job.brokers=3", "--topic.replication=1"}), 8).replication, 1);
  EXPECT_EQ(compute_role_layout(parse_job_config({"--job.brokers=3", "--topic.replication=3"}), 8).replication, 3);
  EXPECT_THROW(compute_role_layout(parse_job_config({"--topic.replication=2"}), 6), ConfigError);
  EXPECT_THROW(parse_job_config({"--topic.replication=0"}), ConfigError);
}

TEST(RoleLayout, TooFewRanksNamesTheKeys) {
  const JobConfig c = parse_job_config({"--job.workers=4", "--job.brokers=2"});
  try {
    compute_role_layout(c, 5);
    FAIL() << "expected a ConfigError";
  } catch (const ConfigError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("need 8 MPI ranks but mpirun gave 5"), std::string::npos) << m;
    EXPECT_NE(m.find("'job.workers' (command line)"), std::string::npos) << m;
  }
  EXPECT_THROW(compute_role_layout(parse_job_config({}), 2), ConfigError);
}

}  // namespace
}  // namespace ride

namespace ride {
namespace {

TEST(RoleLayoutStages, WorkersAreTheStagesGroupsAndTopicsAreNumberedStageByStage) {
  const JobConfig c = parse_job_config({"--job.stages=a,b", "--stage.a.task=stddev", "--stage.a.workers=2",
                                        "--stage.b.task=stddev", "--stage.b.input=a", "--stage.b.partitions=5"});
  const RoleLayout l = compute_role_layout(c, 8);  // 1 master, 1 ingest, 3 workers, 1 spare: 2 brokers
  EXPECT_EQ(l.workers.size(), 3u);
  EXPECT_EQ(l.worker_stage, (std::vector<int>{0, 0, 1}));
  EXPECT_EQ(l.stage_first, (std::vector<int>{0, 2}));
  EXPECT_EQ(l.stage_partitions, (std::vector<int>{2, 5}));
  EXPECT_EQ(l.partitions, 7);
  EXPECT_EQ(l.stage_of_partition(1), 0);
  EXPECT_EQ(l.stage_of_partition(2), 1);
  EXPECT_EQ(l.stage_of_partition(6), 1);
  try {
    compute_role_layout(parse_job_config({"--job.stages=a", "--stage.a.task=stddev", "--stage.a.workers=2",
                                          "--job.workers=3"}), 8);
    FAIL() << "expected a configuration error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("'job.workers' (command line): the stages' groups have 2 workers"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace ride

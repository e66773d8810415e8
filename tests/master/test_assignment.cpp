#include <gtest/gtest.h>

#include "core/error.h"
#include "master/assignment.h"

namespace ride {
namespace {

TEST(Assignment, RoundRobinWithFirstEpoch) {
  AssignmentTable t(5);
  EXPECT_EQ(t.assign_round_robin({3, 4}).size(), 5u);
  EXPECT_EQ(t.at(0).owner, 3);
  EXPECT_EQ(t.at(1).owner, 4);
  EXPECT_EQ(t.at(4).owner, 3);
  for (int p = 0; p < 5; ++p) EXPECT_EQ(t.at(p).epoch, 1u);
  EXPECT_EQ(t.partitions_of(3), (std::vector<int>{0, 2, 4}));
  EXPECT_TRUE(t.assign_round_robin({3, 4}).empty());  // unchanged: epochs stay
  EXPECT_EQ(t.at(0).epoch, 1u);
}

TEST(Assignment, RecoveryBumpsEpochsOfMovedPartitionsOnly) {
  AssignmentTable t(4);
  t.assign_round_robin({10, 11});
  std::vector<int> spares = {12};
  const auto moved = t.recover(11, spares, {10});
  EXPECT_EQ(moved, (std::vector<std::pair<int, int>>{{1, 12}, {3, 12}}));
  EXPECT_EQ(t.at(1).owner, 12);
  EXPECT_EQ(t.at(1).epoch, 2u);
  EXPECT_EQ(t.at(0).epoch, 1u);
  EXPECT_TRUE(t.partitions_of(11).empty());
  EXPECT_EQ(t.reassign(1, 10), 3u);
}

TEST(Assignment, Errors) {
  AssignmentTable t(2);
  EXPECT_THROW(t.assign_round_robin({}), Error);
  EXPECT_THROW(t.reassign(2, 1), Error);
  EXPECT_EQ(t.at(0).owner, -1);
}

}  // namespace
}  // namespace ride

namespace ride {
namespace {

TEST(Assignment, RecoverPrefersASpareThenTheLeastLoadedSurvivors) {
  AssignmentTable t(6);
  t.assign_round_robin({3, 4, 5});  // 3: {0,3}  4: {1,4}  5: {2,5}
  std::vector<int> spares = {6};
  auto moved = t.recover(4, spares, {3, 5});
  EXPECT_EQ(moved, (std::vector<std::pair<int, int>>{{1, 6}, {4, 6}}));
  EXPECT_TRUE(spares.empty());
  EXPECT_EQ(t.at(1).epoch, 2u);
  // No spare left: the survivors share the partitions, fewest first.
  moved = t.recover(6, spares, {3, 5});
  ASSERT_EQ(moved.size(), 2u);
  EXPECT_NE(moved[0].second, moved[1].second);
  EXPECT_EQ(t.partitions_of(3).size(), 3u);
  EXPECT_EQ(t.partitions_of(5).size(), 3u);
  EXPECT_EQ(t.at(1).epoch, 3u);  // moved twice
  EXPECT_THROW(t.recover(3, spares, {}), Error);
  EXPECT_TRUE(t.recover(42, spares, {}).empty());  // owned nothing: nothing to do
}

}  // namespace
}  // namespace ride

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

TEST(Assignment, TakeOverBumpsEpochsOfMovedPartitionsOnly) {
  AssignmentTable t(4);
  t.assign_round_robin({10, 11});
  const auto moved = t.take_over(11, 12);
  EXPECT_EQ(moved, (std::vector<int>{1, 3}));
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

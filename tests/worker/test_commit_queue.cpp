/// When a worker of a stage may commit (worker/commit_queue.h): results durable and everything
/// sent on acknowledged, oldest batch first, stale epochs out of the way.
#include <gtest/gtest.h>

#include "worker/commit_queue.h"

namespace ride {
namespace {

TEST(CommitQueue, CommitsOnlyWhenResultsAreDurableAndSendsAcknowledged) {
  CommitQueue q;
  q.add(0, 1, 1, 8);
  EXPECT_FALSE(q.take_commit(0, 1));  // nothing durable yet
  EXPECT_TRUE(q.results_durable(0, 1));
  q.sending(0, 1, 2);
  EXPECT_FALSE(q.take_commit(0, 1));  // two frames on their way to the next stage
  q.sent(0, 1);
  EXPECT_FALSE(q.take_commit(0, 1));
  q.sent(0, 1);
  EXPECT_EQ(q.take_commit(0, 1), 8u);
  EXPECT_EQ(q.waiting(0), 0u);
  EXPECT_FALSE(q.results_durable(0, 1));  // gone
}

TEST(CommitQueue, NeverCommitsOverAnEarlierBatchStillWaiting) {
  CommitQueue q;
  q.add(3, 1, 2, 8);
  q.add(3, 2, 2, 16);
  q.add(3, 3, 2, 24);
  q.results_durable(3, 1);
  q.sending(3, 1, 1);        // batch 1 waits for the next stage's broker
  q.results_durable(3, 2);   // batch 2 is done
  EXPECT_FALSE(q.take_commit(3, 2));
  q.sent(3, 1);
  EXPECT_EQ(q.take_commit(3, 2), 16u);  // 1 and 2 at once; 3 not durable
  EXPECT_EQ(q.waiting(3), 1u);
  q.results_durable(3, 3);
  EXPECT_EQ(q.take_commit(3, 2), 24u);
}

TEST(CommitQueue, StaleEpochsGetOutOfTheWay) {
  // The partition moved away and back: a batch of the old epoch is still queued in front.
  CommitQueue q;
  q.add(1, 7, 1, 8);   // epoch 1, never acknowledged (the sink's ack found the partition gone)
  q.add(1, 9, 3, 40);  // epoch 3, this worker's now
  q.results_durable(1, 9);
  EXPECT_EQ(q.take_commit(1, 3), 40u);
  EXPECT_EQ(q.waiting(1), 0u);
  // Only stale batches: popped, nothing to commit.
  q.add(1, 10, 2, 48);
  EXPECT_FALSE(q.take_commit(1, 3));
  EXPECT_EQ(q.waiting(1), 0u);
}

TEST(CommitQueue, PartitionsAreIndependentAndForgettable) {
  CommitQueue q;
  q.add(0, 1, 1, 4);
  q.add(1, 2, 1, 6);
  q.results_durable(1, 2);
  EXPECT_FALSE(q.take_commit(0, 1));
  EXPECT_EQ(q.take_commit(1, 1), 6u);
  q.forget(0);
  EXPECT_EQ(q.waiting(0), 0u);
  q.sent(0, 1);  // an acknowledgement for a forgotten batch changes nothing
  q.sending(5, 1, 3);
  EXPECT_FALSE(q.results_durable(5, 1));
}

}  // namespace
}  // namespace ride

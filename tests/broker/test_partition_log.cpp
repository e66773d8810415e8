#include <gtest/gtest.h>

#include "broker/partition_log.h"
#include "core/error.h"

namespace ride {
namespace {

BufferPtr frame_of(std::size_t n, std::byte fill) {
  auto b = std::make_shared<Buffer>(n);
  for (std::size_t i = 0; i < n; ++i) b->data()[i] = fill;
  return b;
}

TEST(PartitionLog, AppendAssignsDenseOffsets) {
  PartitionLog log;
  EXPECT_EQ(log.append(frame_of(10, std::byte{1})), 0u);
  EXPECT_EQ(log.append(frame_of(20, std::byte{2})), 1u);
  EXPECT_EQ(log.append(frame_of(30, std::byte{3})), 2u);
  EXPECT_EQ(log.end_offset(), 3u);
  EXPECT_EQ(log.retained_bytes(), 60u);
  const auto r = log.read(1, 10);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].offset, 1u);
  EXPECT_EQ(r[0].frame->data()[0], std::byte{2});
  EXPECT_EQ(r[1].frame->size(), 30u);
  EXPECT_TRUE(log.read(3, 5).empty());  // at the end: nothing yet
}

TEST(PartitionLog, CommitReleasesAndNeverMovesBack) {
  PartitionLog log;
  for (int i = 0; i < 5; ++i) log.append(frame_of(100, std::byte{0}));
  EXPECT_TRUE(log.commit(2));
  EXPECT_EQ(log.start_offset(), 2u);
  EXPECT_EQ(log.retained_frames(), 3u);
  EXPECT_EQ(log.retained_bytes(), 300u);
  EXPECT_FALSE(log.commit(1));  // backwards
  EXPECT_FALSE(log.commit(6));  // beyond the end
  EXPECT_EQ(log.committed(), 2u);
  EXPECT_TRUE(log.commit(2));   // idempotent
  EXPECT_THROW(log.read(1, 1), Error);  // released
  EXPECT_EQ(log.read(2, 1).at(0).offset, 2u);
}

TEST(PartitionLog, RetentionKeepsUncommittedForAReplacement) {
  PartitionLog log;
  for (int i = 0; i < 4; ++i) log.append(frame_of(1, std::byte(i)));
  log.commit(1);
  // A replacement worker re-reads from the oldest uncommitted offset.
  const auto r = log.read(log.committed(), 100);
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r.front().frame->data()[0], std::byte{1});
}

TEST(PartitionLog, SealedAndFinished) {
  PartitionLog log;
  log.append(frame_of(1, std::byte{0}));
  log.seal();
  EXPECT_THROW(log.append(frame_of(1, std::byte{0})), Error);
  EXPECT_FALSE(log.finished());
  log.commit(1);
  EXPECT_TRUE(log.finished());
  PartitionLog empty;
  empty.seal();
  EXPECT_TRUE(empty.finished());
}

TEST(EpochFence, StaleEpochsAreRejectedNewerAdopted) {
  EpochFence f;
  EXPECT_TRUE(f.admit(3, 1));
  EXPECT_TRUE(f.admit(3, 2));   // newer owner (its ASSIGN may arrive later)
  EXPECT_FALSE(f.admit(3, 1));  // the old owner is fenced
  EXPECT_TRUE(f.admit(3, 2));
  EXPECT_EQ(f.current(3), 2u);
  EXPECT_EQ(f.current(0), 0u);
  EXPECT_TRUE(f.admit(0, 0));
}

}  // namespace
}  // namespace ride

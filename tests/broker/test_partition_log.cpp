#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "broker/partition_log.h"
#include "core/error.h"
#include "core/protocol.h"

namespace ride {
namespace {

namespace fs = std::filesystem;

/// A frame as the broker stores it: ProduceHeader + FrameHeader + `pixels` bytes of `fill`.
BufferPtr frame_of(std::size_t pixels, std::uint8_t fill, std::uint64_t seq = 0) {
  auto b = std::make_shared<Buffer>(kPixelsAt + pixels);
  ProduceHeader ph;
  FrameHeader fh;
  fh.sequence = seq;
  fh.width = static_cast<std::uint32_t>(pixels);
  fh.height = 1;
  b->write(0, ph);
  b->write(kFrameHeaderAt, fh);
  std::memset(b->data() + kPixelsAt, fill, pixels);
  return b;
}

std::uint8_t fill_of(const Buffer& b) { return static_cast<std::uint8_t>(b.data()[kPixelsAt]); }
std::uint64_t seq_of(const Buffer& b) { return b.read<FrameHeader>(kFrameHeaderAt).sequence; }

class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() / ("ride-log-test-" + std::to_string(::getpid()) + "-" +
                                         std::to_string(counter_++));
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string str() const { return path_.string(); }
  std::size_t files() const {
    return static_cast<std::size_t>(std::distance(fs::directory_iterator(path_), fs::directory_iterator{}));
  }

 private:
  fs::path path_;
  static inline int counter_ = 0;
};

LogLimits limits(const TempDir& dir, std::uint64_t ring_frames, bool spill = true) {
  LogLimits l;
  l.ring_frames = ring_frames;
  l.ring_bytes = 1ull << 30;
  l.spill = spill;
  l.spill_dir = dir.str();
  l.spill_min_free_bytes = 0;
  return l;
}

TEST(PartitionLog, AppendAssignsDenseOffsets) {
  PartitionLog log;
  EXPECT_EQ(log.try_append(frame_of(10, 1)), 0u);
  EXPECT_EQ(log.try_append(frame_of(20, 2)), 1u);
  EXPECT_EQ(log.try_append(frame_of(30, 3)), 2u);
  EXPECT_EQ(log.end_offset(), 3u);
  EXPECT_EQ(log.ring_bytes(), 60u + 3 * kPixelsAt);
  const auto r = log.read(1, 10);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].offset, 1u);
  EXPECT_EQ(fill_of(*r[0].frame), 2);
  EXPECT_TRUE(log.read(3, 5).empty());  // at the end: nothing yet
  EXPECT_EQ(log.state(), LogState::ok);
}

TEST(PartitionLog, CommitReleasesAndNeverMovesBack) {
  PartitionLog log;
  for (int i = 0; i < 5; ++i) log.try_append(frame_of(100, 0));
  EXPECT_TRUE(log.commit(2));
  EXPECT_EQ(log.start_offset(), 2u);
  EXPECT_EQ(log.ring_frames(), 3u);
  EXPECT_FALSE(log.commit(1));  // backwards
  EXPECT_FALSE(log.commit(6));  // beyond the end
  EXPECT_EQ(log.committed(), 2u);
  EXPECT_TRUE(log.commit(2));  // idempotent
  EXPECT_THROW(log.read(1, 1), Error);  // released
  EXPECT_EQ(log.read(2, 1).at(0).offset, 2u);
}

TEST(PartitionLog, SealedAndFinished) {
  PartitionLog log;
  log.try_append(frame_of(1, 0));
  log.seal();
  EXPECT_THROW(log.try_append(frame_of(1, 0)), Error);
  EXPECT_FALSE(log.finished());
  log.commit(1);
  EXPECT_TRUE(log.finished());
}

TEST(PartitionLog, RingFullSpillsToHdf5AndReadsBackInOrder) {
  TempDir dir;
  PartitionLog log(limits(dir, 4));
  for (std::uint64_t i = 0; i < 20; ++i) {
    ASSERT_EQ(log.try_append(frame_of(1000 + i, static_cast<std::uint8_t>(i), i), 0, kPixelsAt), i);
  }
  EXPECT_EQ(log.ring_frames(), 4u);  // bounded
  EXPECT_EQ(log.stats().spilled_frames, 16u);
  EXPECT_GT(log.spill_bytes(), 16u * 1000);
  EXPECT_EQ(log.state(), LogState::spilling);
  EXPECT_EQ(dir.files(), 1u);
  // A replacement worker re-reads from the oldest uncommitted offset, across memory and disk.
  log.commit(2);
  const auto r = log.read(2, 100);
  ASSERT_EQ(r.size(), 18u);
  for (std::size_t k = 0; k < r.size(); ++k) {
    EXPECT_EQ(r[k].offset, 2 + k);
    EXPECT_EQ(seq_of(*r[k].frame), 2 + k);
    EXPECT_EQ(fill_of(*r[k].frame), static_cast<std::uint8_t>(2 + k));
    EXPECT_EQ(r[k].frame->size(), kPixelsAt + 1002 + k);
  }
  // Memory frees up: new frames go to the ring again while older ones still sit on disk.
  log.commit(4);
  EXPECT_EQ(log.try_append(frame_of(7, 99, 20)), 20u);
  EXPECT_EQ(log.ring_frames(), 1u);
  EXPECT_EQ(fill_of(*log.read(20, 1).at(0).frame), 99);
  EXPECT_EQ(fill_of(*log.read(19, 1).at(0).frame), 19);
  // Once everything spilled is committed, the spill file is gone.
  log.commit(21);
  EXPECT_EQ(log.spill_bytes(), 0u);
  EXPECT_EQ(dir.files(), 0u);
  EXPECT_EQ(log.state(), LogState::ok);
}

TEST(PartitionLog, ByteLimitedRingAndSegmentFilesGoAsTheyAreCommitted) {
  TempDir dir;
  LogLimits l = limits(dir, 0);
  l.ring_bytes = 3 * (kPixelsAt + 1000);
  l.spill_segment_bytes = 2000;  // a file takes frames until it holds 2000 bytes: 2 frames
  PartitionLog log(l);
  for (std::uint64_t i = 0; i < 13; ++i) log.try_append(frame_of(1000, static_cast<std::uint8_t>(i), i));
  EXPECT_LE(log.ring_bytes(), l.ring_bytes);
  EXPECT_EQ(log.ring_frames(), 3u);
  EXPECT_EQ(dir.files(), 5u);  // 10 spilled frames, 2 per file
  log.commit(7);               // frames 3..6 (files 0 and 1) committed
  EXPECT_EQ(dir.files(), 3u);
  EXPECT_EQ(seq_of(*log.read(7, 1).at(0).frame), 7u);
  log.commit(13);
  EXPECT_EQ(dir.files(), 0u);
  EXPECT_GT(log.stats().peak_spill_bytes, 10u * 1000);
}

TEST(PartitionLog, SpillOffMeansBackpressureUntilACommitMakesRoom) {
  TempDir dir;
  PartitionLog log(limits(dir, 2, /*spill=*/false));
  EXPECT_TRUE(log.try_append(frame_of(10, 0)));
  EXPECT_TRUE(log.try_append(frame_of(10, 1)));
  EXPECT_FALSE(log.try_append(frame_of(10, 2)));
  EXPECT_EQ(log.state(), LogState::ring_full_no_spill);
  EXPECT_TRUE(is_backpressure(log.state()));
  EXPECT_EQ(log.end_offset(), 2u);  // nothing stored, nothing dropped: the caller keeps it
  log.commit(1);
  EXPECT_EQ(log.try_append(frame_of(10, 2)), 2u);
  EXPECT_EQ(log.state(), LogState::ok);
  EXPECT_EQ(dir.files(), 0u);
}

TEST(PartitionLog, SpillLimitAndDiskReserveAreBackpressureNotLoss) {
  TempDir dir;
  LogLimits l = limits(dir, 1);
  l.spill_max_bytes = 2 * (kPixelsAt + 100);
  PartitionLog log(l);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(log.try_append(frame_of(100, 0)));
  EXPECT_FALSE(log.try_append(frame_of(100, 0)));
  EXPECT_EQ(log.state(), LogState::spill_over_limit);

  LogLimits reserve = limits(dir, 1);
  reserve.spill_prefix = "other";
  reserve.spill_min_free_bytes = std::uint64_t{1} << 62;  // more than any disk has free
  PartitionLog full(reserve);
  EXPECT_TRUE(full.try_append(frame_of(100, 0)));
  EXPECT_FALSE(full.try_append(frame_of(100, 0)));
  EXPECT_EQ(full.state(), LogState::spill_disk_full);
  EXPECT_EQ(full.end_offset(), 1u);
}

TEST(PartitionLog, UnwritableSpillStopsThePartitionAndKeepsWhatItHas) {
  TempDir dir;
  const std::string not_a_dir = dir.str() + "/plain-file";
  std::ofstream(not_a_dir) << "x";
  LogLimits l = limits(dir, 2);
  l.spill_dir = not_a_dir;  // creating a file under a regular file fails (even for root)
  PartitionLog log(l);
  EXPECT_TRUE(log.try_append(frame_of(10, 1)));
  EXPECT_TRUE(log.try_append(frame_of(10, 2)));
  EXPECT_FALSE(log.try_append(frame_of(10, 3)));
  EXPECT_EQ(log.state(), LogState::spill_failed);
  EXPECT_NE(log.error().find(not_a_dir), std::string::npos) << log.error();
  EXPECT_NE(log.error().find("Not a directory"), std::string::npos) << log.error();
  log.commit(1);
  EXPECT_FALSE(log.try_append(frame_of(10, 3)));  // stopped, even with room again
  EXPECT_EQ(fill_of(*log.read(1, 1).at(0).frame), 2);
}

TEST(PartitionLog, FullDiskWriteErrorStopsThePartition) {
  TempDir dir;
  // Every write to /dev/full fails with ENOSPC: a real full disk, without filling one.
  fs::create_symlink("/dev/full", dir.str() + "/ride-spill-s0.h5");
  PartitionLog log(limits(dir, 1));
  EXPECT_TRUE(log.try_append(frame_of(4096, 1)));
  EXPECT_FALSE(log.try_append(frame_of(4096, 2)));
  EXPECT_EQ(log.state(), LogState::spill_failed);
  EXPECT_NE(log.error().find("No space left on device"), std::string::npos) << log.error();
  EXPECT_EQ(log.end_offset(), 1u);
}

/// Limits of a log that holds two frames in memory, spills nothing and drops by `policy`.
LogLimits two_frames_dropping(const TempDir& dir, DropPolicy policy) {
  LogLimits l = limits(dir, 2, false);
  l.drop = policy;
  return l;
}

/// Appends frames 0..n-1 of stream 7 (50 pixels), each at the next offset, to a log that keeps
/// two frames in memory; returns what the log then reads back from offset 0.
auto append_frames(PartitionLog& log, std::uint64_t n) {
  for (std::uint64_t i = 0; i < n; ++i) EXPECT_EQ(log.try_append(frame_of(50, 7, i), 0, kPixelsAt), i);
  EXPECT_EQ(log.ring_frames(), 2u);
  return log.read(0, n);
}

TEST(PartitionLog, DropNewestKeepsTheKeyAndDiscardsPixels) {
  TempDir dir;
  PartitionLog log(two_frames_dropping(dir, DropPolicy::drop_newest));
  const auto r = append_frames(log, 4);
  EXPECT_EQ(log.stats().dropped_newest, 2u);
  EXPECT_EQ(r[0].frame->read<ProduceHeader>(0).flags, 0u);
  EXPECT_EQ(r[3].frame->read<ProduceHeader>(0).flags, kFrameFlagDropped);
  EXPECT_EQ(r[3].frame->size(), kPixelsAt);  // the headers alone
  EXPECT_EQ(seq_of(*r[3].frame), 3u);
}

TEST(PartitionLog, DropOldestEvictsTheOldestFrameInMemory) {
  TempDir dir;
  PartitionLog log(two_frames_dropping(dir, DropPolicy::drop_oldest));
  const auto r = append_frames(log, 5);
  EXPECT_EQ(log.stats().dropped_oldest, 3u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(r[i].frame->read<ProduceHeader>(0).flags, kFrameFlagDropped) << i;
  EXPECT_EQ(fill_of(*r[3].frame), 7);
  EXPECT_EQ(fill_of(*r[4].frame), 7);
  log.commit(5);
  EXPECT_EQ(log.ring_frames(), 0u);
  EXPECT_EQ(log.ring_bytes(), 0u);
}

TEST(PartitionLog, LagSecondsComeFromTheOldestUncommittedFrame) {
  PartitionLog log;
  log.try_append(frame_of(1, 0), 1000);
  log.try_append(frame_of(1, 0), 2000);
  EXPECT_EQ(log.oldest_uncommitted_capture_ns(), 1000);
  log.commit(1);
  EXPECT_EQ(log.oldest_uncommitted_capture_ns(), 2000);
  log.commit(2);
  EXPECT_EQ(log.oldest_uncommitted_capture_ns(), 0);
}

TEST(PartitionLog, SkipToReleasesEverythingAndStartsOverAtTheOffset) {
  TempDir dir;
  PartitionLog log(limits(dir, 2));
  for (std::uint8_t i = 0; i < 5; ++i) ASSERT_TRUE(log.try_append(frame_of(16, i, i)));
  ASSERT_GT(log.spill_bytes(), 0u);
  log.skip_to(40);
  EXPECT_EQ(log.start_offset(), 40u);
  EXPECT_EQ(log.end_offset(), 40u);
  EXPECT_EQ(log.committed(), 40u);
  EXPECT_EQ(log.ring_bytes(), 0u);
  EXPECT_EQ(log.ring_frames(), 0u);
  EXPECT_EQ(log.spill_bytes(), 0u) << "spilled frames are released";
  EXPECT_EQ(log.try_append(frame_of(16, 9, 9)), std::optional<std::uint64_t>(40));
  const auto e = log.read(40, 4);
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(fill_of(*e[0].frame), 9);
  EXPECT_THROW(log.skip_to(3), Error) << "never back";
}

TEST(StreamWatermarks, AFrameBelowTheStreamsNextSequenceIsACopy) {
  StreamWatermarks w;
  EXPECT_TRUE(w.insert(1, 0));
  EXPECT_TRUE(w.insert(1, 3)) << "round robin: a partition sees every P-th frame";
  EXPECT_TRUE(w.insert(2, 7));
  EXPECT_EQ(w.next(1), 4u);
  EXPECT_FALSE(w.insert(1, 3)) << "sent again (a failover)";
  EXPECT_FALSE(w.insert(1, 0));
  EXPECT_TRUE(w.insert(1, 6));
  EXPECT_EQ(w.next(9), 0u);
  EXPECT_TRUE(w.insert(1, 2, true)) << "moved here from a stopped partition: late, not a copy";
  EXPECT_EQ(w.next(1), 7u) << "a late frame does not move the mark back";
}

TEST(EpochFence, StaleEpochsAreRejectedNewerAdopted) {
  EpochFence f;
  EXPECT_TRUE(f.admit(3, 1));
  EXPECT_TRUE(f.admit(3, 2));   // newer owner (its ASSIGN may arrive later)
  EXPECT_FALSE(f.admit(3, 1));  // the old owner is fenced
  EXPECT_TRUE(f.admit(3, 2));
  EXPECT_EQ(f.current(3), 2u);
  EXPECT_EQ(f.current(0), 0u);
}

}  // namespace
}  // namespace ride

namespace ride {
namespace {

// A stage forwards a frame again after a failure: the topic keeps the first copy only.
TEST(SeenKeys, FirstCopyOnlyPerStreamAndSequence) {
  SeenKeys seen;
  EXPECT_TRUE(seen.insert(0, 0));
  EXPECT_TRUE(seen.insert(0, 5));   // gaps: a stage forwards a subset
  EXPECT_TRUE(seen.insert(3, 5));   // the same sequence of another stream is another frame
  EXPECT_FALSE(seen.insert(0, 5));
  EXPECT_FALSE(seen.insert(3, 5));
  EXPECT_TRUE(seen.contains(0, 0));
  EXPECT_FALSE(seen.contains(0, 1));
  EXPECT_FALSE(seen.contains(7, 0));
  EXPECT_TRUE(seen.insert(1, 1'000'000));  // grows to far sequences
  EXPECT_FALSE(seen.insert(1, 1'000'000));
  EXPECT_FALSE(seen.contains(1, 999'999));
}

}  // namespace
}  // namespace ride

namespace ride {
namespace {

// worker.batch_kb: small frames make bigger batches (by bytes), big ones keep batch_frames;
// spilled frames count at their size; never past the readable end.
TEST(PartitionLog, AFetchTakesMoreSmallFramesUpToItsBytes) {
  TempDir dir;
  PartitionLog log(limits(dir, 20));  // 20 in memory, the rest spilled
  for (std::uint64_t i = 0; i < 100; ++i) ASSERT_EQ(log.try_append(frame_of(1000 - kPixelsAt, 1, i), 0, kPixelsAt), i);
  EXPECT_EQ(log.frames_for_fetch(0, 100, 8, 0), 8u);          // no byte budget: batch_frames
  EXPECT_EQ(log.frames_for_fetch(0, 100, 8, 4000), 8u);       // 4 frames fit in 4 KB: batch_frames still
  EXPECT_EQ(log.frames_for_fetch(0, 100, 8, 32'000), 32u);    // 32 frames of 1000 bytes
  EXPECT_EQ(log.frames_for_fetch(10, 100, 8, 50'500), 50u);   // across the spilled ones (from 20 on)
  EXPECT_EQ(log.frames_for_fetch(90, 100, 8, 1'000'000), 10u);  // up to the end
  EXPECT_EQ(log.frames_for_fetch(0, 30, 8, 1'000'000), 30u);  // up to the readable end (high watermark)
  EXPECT_EQ(log.frames_for_fetch(100, 100, 8, 1'000'000), 0u);
  const auto read = log.read(10, log.frames_for_fetch(10, 100, 8, 50'500));
  ASSERT_EQ(read.size(), 50u);
  EXPECT_EQ(seq_of(*read.back().frame), 59u);
}

}  // namespace
}  // namespace ride

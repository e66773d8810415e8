#pragma once
/// @brief One partition of a topic: an append-only log of frames with offsets, retained until
/// the owner commits past them. Pure logic (no MPI); the broker role moves its bytes.
#include <cstdint>
#include <deque>
#include <vector>

#include "core/buffer.h"

namespace ride {

class PartitionLog {
 public:
  struct Entry {
    std::uint64_t offset;
    BufferPtr frame;
  };

  /// Appends a frame; returns its offset. Fails once sealed.
  std::uint64_t append(BufferPtr frame);
  /// Up to max_frames entries starting at `offset` (offset must be in [start, end]).
  std::vector<Entry> read(std::uint64_t offset, std::size_t max_frames) const;
  /// Marks everything below `offset` processed and releases it. Commits never move backwards:
  /// returns false (and changes nothing) for offset < committed() or offset > end_offset().
  bool commit(std::uint64_t offset);
  /// No more appends will come; a sealed log whose committed == end is finished.
  void seal() { sealed_ = true; }

  std::uint64_t start_offset() const { return start_; }  ///< oldest retained offset
  std::uint64_t end_offset() const { return start_ + entries_.size(); }
  std::uint64_t committed() const { return committed_; }
  bool sealed() const { return sealed_; }
  bool finished() const { return sealed_ && committed_ == end_offset(); }
  std::uint64_t retained_bytes() const { return retained_bytes_; }
  std::size_t retained_frames() const { return entries_.size(); }

 private:
  std::deque<BufferPtr> entries_;  ///< entries_[i] has offset start_ + i
  std::uint64_t start_ = 0;
  std::uint64_t committed_ = 0;
  std::uint64_t retained_bytes_ = 0;
  bool sealed_ = false;
};

/// @brief Broker-side epoch fencing: the master is the only source of epochs, so a higher epoch
/// than known is authoritative (its ASSIGN may still be in flight); a lower one is a fenced,
/// stale owner.
class EpochFence {
 public:
  /// True when `epoch` may act on `partition` now (and remembers a newer epoch).
  bool admit(std::uint32_t partition, std::uint32_t epoch);
  std::uint32_t current(std::uint32_t partition) const;

 private:
  std::vector<std::uint32_t> epochs_;
};

}  // namespace ride

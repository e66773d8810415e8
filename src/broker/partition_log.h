#pragma once
/// @brief One partition of a topic: an append-only log of frames with offsets, retained until
/// the owner commits past them, in a bounded memory ring that overflows to HDF5 spill files.
/// Pure logic apart from the spill files; no MPI (the broker role moves the bytes).
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "broker/spill_store.h"
#include "core/buffer.h"
#include "core/choices.h"
#include "core/log_state.h"

namespace ride {

struct LogLimits {
  std::uint64_t ring_frames = 0;          ///< 0 = no frame limit
  std::uint64_t ring_bytes = 512ull << 20;
  bool spill = true;
  std::string spill_dir = "/tmp";
  std::string spill_prefix = "ride-spill";  ///< files: DIR/PREFIX-sN.h5
  std::uint64_t spill_max_bytes = 0;      ///< 0 = limited by the disk only
  std::uint64_t spill_min_free_bytes = 256ull << 20;
  std::uint64_t spill_segment_bytes = 256ull << 20;
  DropPolicy drop = DropPolicy::none;
};

class PartitionLog {
 public:
  struct Entry {
    std::uint64_t offset;
    BufferPtr frame;  ///< a dropped frame comes back as its header alone, flagged dropped
  };
  struct Stats {
    std::uint64_t appended = 0, spilled_frames = 0, dropped_oldest = 0, dropped_newest = 0;
    std::uint64_t peak_ring_bytes = 0, peak_spill_bytes = 0;
  };

  explicit PartitionLog(LogLimits limits = {});

  /// Stores a frame (memory, spill, or per the drop policy) and returns its offset; nullopt
  /// when it cannot be stored now (state() says why) — the caller keeps the frame and retries.
  /// `capture_ns` feeds the lag in seconds; `header_bytes` leading bytes (ProduceHeader +
  /// FrameHeader) are kept when a drop policy discards the pixels.
  std::optional<std::uint64_t> try_append(BufferPtr frame, std::int64_t capture_ns = 0,
                                          std::size_t header_bytes = 0);
  /// Up to max_frames entries from `offset` (in [start, end]); spilled frames are read back.
  std::vector<Entry> read(std::uint64_t offset, std::size_t max_frames);
  /// How many frames a fetch at `offset` gets, below `end`: `max_frames`, or more while they
  /// total at most `max_bytes` (small frames: a worker's batch is sized by bytes too, at most
  /// kMaxFetchFrames frames).
  std::size_t frames_for_fetch(std::uint64_t offset, std::uint64_t end, std::size_t max_frames,
                               std::uint64_t max_bytes) const;
  static constexpr std::size_t kMaxFetchFrames = 1024;
  /// Everything below `offset` is processed: release it (memory, spill files). Never moves
  /// backwards: false (nothing changes) for offset < committed() or > end_offset().
  bool commit(std::uint64_t offset);
  void seal() { sealed_ = true; }
  /// Re-replication (#14): a follower copy whose leader no longer holds the frames between
  /// end_offset() and `offset` (all of them committed) starts over at `offset`, releasing
  /// everything it holds. Requires offset >= end_offset().
  void skip_to(std::uint64_t offset);

  std::uint64_t start_offset() const { return start_; }
  std::uint64_t end_offset() const { return start_ + entries_.size(); }
  std::uint64_t committed() const { return committed_; }
  bool sealed() const { return sealed_; }
  bool finished() const { return sealed_ && committed_ == end_offset(); }
  /// Bytes of frames held in memory (the ring) and on disk (spill).
  std::uint64_t ring_bytes() const { return ring_bytes_; }
  std::uint64_t ring_frames() const { return ring_frames_; }
  std::uint64_t spill_bytes() const { return spill_ ? spill_->bytes_on_disk() : 0; }
  std::size_t spill_files() const { return spill_ ? spill_->open_segments() : 0; }
  /// Capture time of the oldest uncommitted frame (0 when none): lag in seconds = now - this.
  std::int64_t oldest_uncommitted_capture_ns() const;
  LogState state() const { return state_; }
  const std::string& error() const { return error_; }  ///< the spill failure, if any
  const Stats& stats() const { return stats_; }
  const LogLimits& limits() const { return limits_; }

 private:
  struct Slot {
    BufferPtr mem;  ///< in memory (or the header of a dropped frame)
    SpillStore::Location spill{};
    bool spilled = false;
    bool dropped = false;
    std::int64_t capture_ns = 0;
  };
  bool ring_has_room(std::uint64_t bytes) const;
  std::optional<LogState> spill_refusal(std::uint64_t bytes) const;
  bool evict_oldest(std::size_t header_bytes);
  BufferPtr dropped_header(const Buffer& frame, std::size_t header_bytes) const;
  std::uint64_t append_slot(Slot s);

  LogLimits limits_;
  std::deque<Slot> entries_;  ///< entries_[i] has offset start_ + i
  std::uint64_t start_ = 0, committed_ = 0;
  std::uint64_t ring_bytes_ = 0, ring_frames_ = 0;
  std::unique_ptr<SpillStore> spill_;
  std::size_t evict_scan_ = 0;  ///< entries before this index hold no evictable frame
  bool sealed_ = false;
  LogState state_ = LogState::ok;
  std::string error_;
  Stats stats_;
};

/// @brief The (stream, sequence) keys a partition has taken, for topics that a stage feeds: after
/// a failure the stage's new worker forwards again what its predecessor had forwarded but not
/// committed, and the partition keeps the first copy only (effectively once through every stage).
/// One bit per sequence number of each stream seen.
class SeenKeys {
 public:
  /// True when the key is new (and remembers it); false for a key seen before.
  bool insert(std::uint32_t stream, std::uint64_t sequence);
  bool contains(std::uint32_t stream, std::uint64_t sequence) const;

 private:
  std::vector<std::vector<bool>> seen_;  ///< by stream
};

/// @brief What a partition fed by ingest took of each stream (#14): one ingest rank sends a
/// stream's frames to a partition in sequence order, over one ordered channel, so the partition
/// holds every sequence of the stream below the next one it expects. A frame sent again — after
/// a broker failover (what the dead leader had not acknowledged) or an ingest rank's death (its
/// streams resume at their last reported acknowledged sequence) — is below it: stored once.
/// One counter per stream. A frame moved from a partition that stopped (a spill failure) can
/// come late: it is taken without the check (`rerouted`).
class StreamWatermarks {
 public:
  /// True when the key is new (stream's next expected sequence moves past it).
  bool insert(std::uint32_t stream, std::uint64_t sequence, bool rerouted = false);
  /// The sequence the partition expects next of `stream` (0: none taken).
  std::uint64_t next(std::uint32_t stream) const { return stream < next_.size() ? next_[stream] : 0; }

 private:
  std::vector<std::uint64_t> next_;  ///< by stream
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

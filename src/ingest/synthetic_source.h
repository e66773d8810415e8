#pragma once
/// @brief RIDE's experiments fed randomly generated frames; so does this source. The content is
/// a pure function of (seed, stream, sequence), so a checker can regenerate any frame.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/choices.h"
#include "core/rate_schedule.h"

namespace ride::ingest {

/// Fills `n` bytes with pseudo-random content determined by (seed, stream, sequence).
void fill_synthetic_frame(std::uint64_t seed, std::uint32_t stream, std::uint64_t sequence,
                          std::byte* dst, std::size_t n);

/// @brief When each frame of the streams an ingest rank owns is due, in time order.
/// Stream s emits frame k at k / fps + phase(s), phases spread evenly over one frame interval so
/// that many cameras do not fire in lock-step. In batch mode every frame is due at once.
class FrameSchedule {
 public:
  struct Item {
    std::uint32_t stream;
    std::uint64_t sequence;
    double due_s;  ///< seconds after t0
  };
  FrameSchedule(std::vector<std::uint32_t> streams, int total_streams, double fps,
                std::uint64_t frames_per_stream, bool paced);
  /// The rate changes by time (ingest.fps_schedule): frame k of stream s is due when the rate's
  /// integral reaches k + s / total_streams.
  FrameSchedule(std::vector<std::uint32_t> streams, int total_streams, RateSchedule rate,
                std::uint64_t frames_per_stream, bool paced);

  bool done() const { return remaining_ == 0; }
  /// Another ingest rank died (#14): `stream` is read here from sequence `from` on, each frame
  /// due when it would have been (frames already due go at once).
  void add(std::uint32_t stream, std::uint64_t from);
  /// The next frame in due order (ties broken by stream id). Precondition: !done().
  Item peek() const;
  void pop();
  std::uint64_t total() const { return total_; }

 private:
  double due(std::size_t i) const;
  std::vector<std::uint32_t> streams_;
  std::vector<std::uint64_t> next_seq_;
  int total_streams_;
  RateSchedule rate_;
  std::uint64_t frames_per_stream_;
  bool paced_;
  std::uint64_t remaining_;
  std::uint64_t total_;
};

/// @brief Chooses the partition of each frame: round_robin spreads frames evenly (stateless
/// tasks); key keeps each stream on one partition, in order (stateful tasks). A pure function
/// of the key, so a frame sent again (a broker failover, a stream resumed by another ingest
/// rank, #14) goes where its first copy went and the broker can tell it is one.
class Partitioner {
 public:
  Partitioner(Partitioning policy, int partitions);
  /// The partition of frame (stream, sequence); `attempt` > 0 picks the next ones in turn (a
  /// partition that stopped taking frames is skipped).
  int of(std::uint32_t stream, std::uint64_t sequence, int attempt = 0) const;

 private:
  bool keyed_;
  int partitions_;
};

}  // namespace ride::ingest

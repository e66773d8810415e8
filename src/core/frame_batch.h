#pragma once
/// @brief Several frames in one MPI message (#15, "small frames"): a table of where each frame
/// lies, then the frames, each 64-byte aligned. Kafka batches records for the same reason: the
/// cost of a message (a rendezvous handshake between two processes, a probe and a receive on each
/// side) no longer bounds the rate of small frames.
///
/// Used by ingest's PRODUCE_BATCH (frames written in place into a batch buffer, FrameBatchBuilder).
/// The broker splits a batch into views of the message's buffer (Buffer's view constructor): no
/// frame is copied to take it apart, and each frame is then stored, sent on and released on its
/// own. The way back, a fetch's frames as few messages, is plan_fetch_runs.
///
/// Layout (offsets from the start of the message): FrameBatchHeader, then `slots` FrameSlot
/// entries of which the first `count` are used; frames lie at the offsets the slots give.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/buffer.h"
#include "core/error.h"

namespace ride {

struct FrameBatchHeader {
  std::uint32_t count = 0;  ///< frames in the batch
  std::uint32_t slots = 0;  ///< FrameSlot entries in the table (>= count)
};
struct FrameSlot {
  std::uint64_t offset = 0;  ///< from the start of the message
  std::uint64_t size = 0;
};
constexpr std::size_t kFrameBatchAlign = 64;
constexpr std::size_t align_frame_offset(std::size_t n) { return (n + kFrameBatchAlign - 1) / kFrameBatchAlign * kFrameBatchAlign; }
/// Where the first frame of a batch whose table has `slots` slots lies.
constexpr std::size_t frame_batch_data_at(std::size_t slots) {
  return align_frame_offset(sizeof(FrameBatchHeader) + slots * sizeof(FrameSlot));
}

/// Why the batch table of `body` is malformed, or empty: every used slot inside the message,
/// after the table, and no two overlapping.
std::string frame_batch_defect(const Buffer& body);

/// Calls `f(Buffer view)` for each frame of the batch `body`, in order. Throws ride::Error when
/// the table is malformed (frame_batch_defect).
template <typename F>
void split_frame_batch(const std::shared_ptr<const Buffer>& body, F&& f) {
  const std::string defect = frame_batch_defect(*body);
  RIDE_EXPECTS(defect.empty(), "malformed frame batch: " << defect);
  const auto h = body->read<FrameBatchHeader>(0);
  for (std::uint32_t i = 0; i < h.count; ++i) {
    const auto s = body->read<FrameSlot>(sizeof(FrameBatchHeader) + i * sizeof(FrameSlot));
    f(Buffer(body, static_cast<std::size_t>(s.offset), static_cast<std::size_t>(s.size)));
  }
}

/// Where frame i of a fetch reply lies: `size` bytes at `offset` of run message `run`.
struct RunSlot {
  std::uint32_t run = 0;
  std::uint32_t reserved = 0;
  std::uint64_t offset = 0;
  std::uint64_t size = 0;
};

/// @brief A fetch's frames as the messages that carry them (FETCH_REPLY with a RunSlot per frame,
/// then one FETCH_FRAME per run), planned by plan_fetch_runs.
struct FetchRuns {
  struct Run {
    std::shared_ptr<const Buffer> buffer;  ///< sent from `begin` to `end`
    std::size_t begin = 0, end = 0;
  };
  std::vector<Run> runs;
  std::vector<RunSlot> slots;  ///< one per frame, in order
  bool copied = false;         ///< the frames were copied into one run
  static constexpr std::size_t kMaxRuns = 8;
};

/// How `frames` (a fetch's, in order) travel to the worker, into `out` (reused: no allocation
/// once warm). Frames of at most `small_bytes` in all, two or more:
///  - those that lie next to each other in the batch buffers ingest sent (views of them) go as
///    those runs, uncopied, when the runs are at most kMaxRuns and carry at most a quarter of
///    other bytes (frames of other partitions in between);
///  - else they are copied into one run (a message per frame costs more than the copy).
/// Other fetches: each frame is a run of its own, the stored buffer itself, uncopied.
void plan_fetch_runs(const std::vector<BufferPtr>& frames, std::size_t small_bytes, FetchRuns& out);

/// @brief Builds a batch in place: frames are reserved in the batch buffer and written there by
/// their producer (ingest fills a synthetic frame, or copies a decoded one, straight into it), so
/// sending the batch copies nothing. Not thread-safe.
class FrameBatchBuilder {
 public:
  /// A batch of at most `max_frames` frames and `capacity` bytes in all (table included).
  FrameBatchBuilder(std::size_t capacity, std::size_t max_frames);

  /// Room for a frame of `n` bytes: a view of it in the batch, or nullptr when it does not fit
  /// (the caller sends the batch and starts another, or sends a frame that is too big alone).
  std::shared_ptr<Buffer> reserve(std::size_t n);
  /// Whether `frame` is a frame reserved in this batch.
  bool holds(const Buffer& frame) const;

  std::size_t count() const { return count_; }
  bool empty() const { return count_ == 0; }
  /// The message (the used part of the buffer, table filled in); the builder starts a new batch.
  std::shared_ptr<const Buffer> finish();

 private:
  void start();
  std::size_t capacity_, max_frames_;
  std::shared_ptr<Buffer> buffer_;
  std::size_t used_ = 0, count_ = 0;
};

}  // namespace ride

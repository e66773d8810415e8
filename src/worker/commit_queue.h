#pragma once
/// @brief When a worker may commit (issue #12): a batch is done once its results are durable at
/// the sink and every frame it sent on to the next stage is acknowledged by that stage's broker;
/// a partition commits past its done batches oldest first — never over an earlier batch still
/// waiting. A batch of an epoch the worker no longer holds can never commit and is dropped when
/// it reaches the front, so it cannot block the partition (a partition that moved away and back
/// kept one once, and nothing committed: mpi.ft.kill_during_grow). Pure: the worker's loop feeds
/// it the acknowledgements and sends the COMMITs it returns.
#include <cstdint>
#include <deque>
#include <map>
#include <optional>

namespace ride {

class CommitQueue {
 public:
  /// A batch of `partition` at `epoch` went to the sink; committing it moves the partition's
  /// offset to `end_offset`. Batches of a partition are added in offset order.
  void add(std::uint32_t partition, std::uint64_t batch_id, std::uint32_t epoch, std::uint64_t end_offset);
  /// Its results are durable (RESULTS_ACK). False when the batch is unknown (forgotten).
  bool results_durable(std::uint32_t partition, std::uint64_t batch_id);
  /// `n` more frames of it are on their way to the next stage's brokers.
  void sending(std::uint32_t partition, std::uint64_t batch_id, int n);
  /// One of them was acknowledged (accepted, a duplicate, or refused: it is settled either way).
  void sent(std::uint32_t partition, std::uint64_t batch_id);
  /// Pops the partition's done batches from the front (and stale ones of another epoch than
  /// `epoch`, the one the worker holds now); the offset to commit, if any batch of `epoch` was done.
  std::optional<std::uint64_t> take_commit(std::uint32_t partition, std::uint32_t epoch);
  /// The partition is no longer this worker's (moved, fenced): its batches are dropped.
  void forget(std::uint32_t partition) { queues_.erase(partition); }
  void clear() { queues_.clear(); }
  /// Batches waiting in the partition's queue.
  std::size_t waiting(std::uint32_t partition) const;

 private:
  struct Batch {
    std::uint64_t batch_id = 0;
    std::uint32_t epoch = 0;
    std::uint64_t end_offset = 0;
    bool durable = false;
    int sending = 0;  ///< frames sent on, not yet acknowledged
  };
  Batch* find(std::uint32_t partition, std::uint64_t batch_id);
  std::map<std::uint32_t, std::deque<Batch>> queues_;
};

}  // namespace ride

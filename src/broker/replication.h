#pragma once
/// @brief Replication of one partition across brokers (#14), as pure state machines over
/// offsets, in the layering Redpanda uses (log ⊂ consensus ⊂ partition): `PartitionLog` stores
/// frames; this layer decides what is committed to the replicas; the broker role joins the two
/// and moves the bytes. The model is Kafka's in-sync replicas (ISR) with acks=all:
///
///  - The leader appends; followers replicate in offset order and report how far they hold
///    (their log end). A follower that has held everything the leader held at some moment in
///    the last `lag_time_max_s` is in sync; one that falls behind longer leaves the ISR, and
///    comes back once it holds everything up to the leader's end again.
///  - The high watermark (HW) is the smallest log end over the ISR: every in-sync replica holds
///    every frame below it. A produce is acknowledged to ingest only once its offset is below
///    the HW, and workers fetch only below it, so a frame a worker saw or ingest was told is
///    stored survives the loss of any broker but the last in-sync one. The HW never moves back.
///  - With fewer than `min_insync` replicas in sync, produces are held (backpressure) rather
///    than acknowledged on too few copies.
///  - Every message between replicas carries the leader epoch. The master alone raises it when it
///    promotes an in-sync follower (`elect_leader`); a replica refuses anything from an older
///    epoch, so a stale leader (one the master gave up for dead) can neither replicate nor have
///    its acknowledgements counted. A follower of a new leader drops what it holds above the HW
///    it is told (frames never acknowledged, which ingest resends) and replicates from there.
///
/// Committed offsets (what workers finished) reach the followers lazily, with the next
/// replication message: a follower that becomes leader and has not heard of a commit serves
/// those frames again, and the sink drops the duplicate results by (stream, sequence) — the
/// effectively-once machinery that already covers a worker's death covers this too.
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace ride {

struct ReplicationConfig {
  std::vector<int> replicas;      ///< broker ranks holding the partition, leader first
  std::uint32_t leader_epoch = 1;
  double lag_time_max_s = 1.0;    ///< behind longer than this: out of the ISR
  int min_insync = 1;             ///< fewer in-sync replicas: produces are held
};

/// What a leader-side call changed, for the broker to report to the master.
struct IsrChange {
  enum class Kind { shrink, expand } kind = Kind::shrink;
  int replica = -1;
  std::string reason;
};

/// The leader's view of one partition's replicas.
class ReplicationLeader {
 public:
  /// `leader_end`: the leader's log end when it takes over (a promoted follower: what it held).
  /// Every follower starts out of sync until it reports; `now` starts their clocks.
  ReplicationLeader(int self, ReplicationConfig cfg, std::uint64_t leader_end, std::uint64_t high_watermark,
                    double now);

  std::uint32_t epoch() const { return cfg_.leader_epoch; }
  int self() const { return self_; }
  const std::vector<int>& replicas() const { return cfg_.replicas; }
  const std::set<int>& isr() const { return isr_; }
  std::uint64_t leader_end() const { return leader_end_; }
  std::uint64_t high_watermark() const { return hw_; }

  /// The leader's log grew to `end`.
  void on_append(std::uint64_t end, double now);
  /// A follower holds everything below `follower_end` (its ack of a replication message, sent
  /// under `epoch`). False, and nothing changes, for a stale epoch, an unknown replica, or an end
  /// past the leader's (a follower cannot hold what the leader never had).
  bool on_follower_ack(int follower, std::uint32_t epoch, std::uint64_t follower_end, double now,
                       std::vector<IsrChange>* changes = nullptr);
  /// The clock moved: followers behind for longer than lag_time_max_s leave the ISR. A follower
  /// that left still holds the high watermark back until the master has heard of it
  /// (confirm_shrink): otherwise the leader could acknowledge frames on fewer copies than the
  /// master's ISR says, and a failover electing from that ISR would lose them.
  std::vector<IsrChange> tick(double now);
  /// The master recorded that `replica` left the ISR: the HW no longer waits for it.
  void confirm_shrink(int replica);
  /// Replicas out of the ISR whose leaving the master has not confirmed yet.
  const std::set<int>& unconfirmed() const { return unconfirmed_; }
  /// The leader itself was away `away_s` (its loop busy or stalled): its followers' acks waited
  /// unread, so that time does not count against them.
  void forgive(double away_s);
  /// The master declared a replica's broker dead: it leaves the ISR and the replica set.
  std::vector<IsrChange> remove_replica(int replica, double now);
  /// A new (empty or stale) follower is being rebuilt on `replica` (re-replication): it joins
  /// the replica set out of sync and enters the ISR once it has caught up.
  void add_replica(int replica, double now);

  /// May a produce stored at `offset` be acknowledged (acks=all)?
  bool acknowledged(std::uint64_t offset) const { return offset < hw_; }
  /// Enough replicas in sync to take produces (else they are held: backpressure).
  bool accepting() const { return static_cast<int>(isr_.size()) >= cfg_.min_insync; }
  /// Where a follower's next replication message starts (its log end as last reported; 0 if
  /// never heard), and how far behind the leader it is.
  std::uint64_t follower_end(int follower) const;

 private:
  struct Follower {
    std::uint64_t end = 0;
    bool heard = false;
    double caught_up_at = 0;  ///< last time it held everything the leader held
  };
  void advance_hw();
  int self_;
  ReplicationConfig cfg_;
  std::uint64_t leader_end_ = 0, hw_ = 0;
  std::set<int> isr_;
  std::set<int> unconfirmed_;  ///< left the ISR, still bounding the HW until the master confirms
  std::map<int, Follower> followers_;
  /// The leader's end as it stood at each recent append time (for "caught up to what the
  /// leader held within lag_time_max_s").
  std::vector<std::pair<double, std::uint64_t>> end_history_;
};

/// The leader's send position toward one follower: where its next replication message starts
/// and how far past what the follower holds it may run (a window, so a follower that stopped
/// answering is not sent the whole log).
class ReplicationCursor {
 public:
  ReplicationCursor() = default;
  /// A follower sent the leader's log from `from` (a copy being rebuilt: the log's start).
  explicit ReplicationCursor(std::uint64_t from) : next_(from), floor_(from) {}

  /// The follower lacks the frames from `end` on (it answered a message with a gap): they are
  /// sent again, and the window counts from there until it acknowledges more.
  void rewind(std::uint64_t end);
  /// The offsets to send now, [first, last): from the cursor to the leader's log end, at most
  /// `window` past what the follower holds (`follower_end`, its best acknowledgement). Frames
  /// below the leader's log start were released (committed): they are skipped, and the window
  /// counts from the log start at the lowest — a rebuilt copy that asked from offset 0 after the
  /// leader released its first frames is sent what the log holds, not nothing.
  struct Range {
    std::uint64_t first = 0, last = 0;
    bool empty() const { return first >= last; }
  };
  Range due(std::uint64_t log_start, std::uint64_t log_end, std::uint64_t follower_end, std::uint64_t window);
  /// The frames of `due`'s range up to `offset` went out.
  void sent(std::uint64_t offset) { next_ = offset + 1; }
  std::uint64_t next() const { return next_; }

 private:
  std::uint64_t next_ = 0, floor_ = 0;
};

/// A follower's side of one partition: it takes replication messages in offset order under
/// the current leader epoch.
class ReplicationFollower {
 public:
  ReplicationFollower(std::uint32_t epoch, std::uint64_t end) : epoch_(epoch), end_(end) {}

  enum class Accept {
    ok,          ///< append the frames, then ack with end()
    stale_epoch, ///< from a leader the master has replaced: refused
    gap,         ///< starts past end(): ask again from end()
    overlap,     ///< starts below end(): the part already held is skipped (offset of the first new frame in `from`)
    rebase,      ///< starts past end(), and everything between is committed (the leader released
                 ///< it): drop the copy held, start over at `first` (rebased()), then append
  };
  /// A replication message from the leader under `epoch`: `count` frames from `first`.
  /// `leader_hw` (the leader's high watermark) and `leader_committed` travel with it.
  Accept on_replicate(std::uint32_t epoch, std::uint64_t first, std::uint64_t count, std::uint64_t leader_hw,
                      std::uint64_t* from = nullptr, std::uint64_t leader_committed = 0);
  /// The frames of an accepted message are stored: end advances to `new_end`.
  void appended(std::uint64_t new_end);
  /// The copy was dropped and starts over at `offset` (after Accept::rebase).
  void rebased(std::uint64_t offset) { end_ = offset; }
  /// The master named a new leader (epoch raised): frames above `truncate_to` (the HW the
  /// master knows) were never acknowledged and are dropped; returns the end to truncate the log
  /// to. A stale epoch is refused (nullopt).
  std::optional<std::uint64_t> on_new_leader(std::uint32_t epoch, std::uint64_t truncate_to);

  std::uint32_t epoch() const { return epoch_; }
  std::uint64_t end() const { return end_; }
  std::uint64_t leader_hw() const { return hw_; }

 private:
  std::uint32_t epoch_;
  std::uint64_t end_, hw_ = 0;
};

/// The master's choice when a partition's leader dies: an in-sync replica on a live broker,
/// preferring the one that holds the most (ties: the first in the replica list), under the
/// next epoch. nullopt when no in-sync replica is left (replication 1, or every copy lost):
/// the partition cannot go on and the job must end with a clear error.
struct Election {
  int leader = -1;
  std::uint32_t epoch = 0;
  std::vector<int> replicas;  ///< the new leader first, then the surviving followers
};
std::optional<Election> elect_leader(const std::vector<int>& replicas, const std::set<int>& isr,
                                     const std::set<int>& dead, std::uint32_t epoch,
                                     const std::map<int, std::uint64_t>& ends = {});

}  // namespace ride

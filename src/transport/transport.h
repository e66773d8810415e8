#pragma once
/// @brief The only door to MPI. Roles see tagged byte messages; no MPI type leaks out.
///
/// Rules this layer enforces (measured, ../shared/notes/open-mpi-failures.md): a dead peer gives
/// silence, never an error, so every send is nonblocking with a deadline and is cancelled when
/// the deadline passes; receives are probes, never blocking calls; nothing collective touches
/// MPI_COMM_WORLD after start-up. Idle waiting sleeps with backoff instead of spinning a core.
#include <cstdint>
#include <functional>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/buffer.h"
#include "core/protocol.h"

namespace ride::transport {

struct Message {
  int source = -1;
  Tag tag{};
  Buffer body;
};

struct TransportStats {
  std::uint64_t messages_sent = 0, bytes_sent = 0, messages_received = 0, bytes_received = 0;
  std::uint64_t sends_timed_out = 0;
};

/// @brief Some ranks of the job as a communicator of their own (Transport::open_group). Every
/// operation is collective: each member calls it, in the same order.
class Group {
 public:
  virtual ~Group() = default;
  virtual int index() const = 0;  ///< this member's place in the group (0 = the first member)
  virtual int size() const = 0;
  /// Element-wise sums of `sums`, minima of `mins`, maxima of `maxs` (the same lengths on every
  /// member) into member 0's vectors.
  virtual void reduce(std::vector<double>& sums, std::vector<double>& mins, std::vector<double>& maxs) = 0;
  /// Every member's `bytes` (the same length on each), by index.
  virtual std::vector<std::vector<std::byte>> allgather(const std::vector<std::byte>& bytes) = 0;
  /// Member 0's `bytes` to every member (the same length on each).
  virtual void broadcast(std::vector<std::byte>& bytes) = 0;
};

class Transport {
 public:
  /// MPI_Init (once per process). `send_timeout_s`: a send not complete by then is cancelled.
  Transport(int* argc, char*** argv, double send_timeout_s = 30.0);
  ~Transport();
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  /// This process's peer id: its world rank, or for a process started by replenish() the id the
  /// master gave it (>= size()).
  int rank() const { return rank_; }
  /// The job's world size (for a replenished process: its parents' world size).
  int size() const { return size_; }
  /// True in a process started by replenish() (MPI_Comm_spawn): its own MPI_COMM_WORLD holds
  /// only itself, and it reaches the control group (master and brokers) through the link made
  /// then. It can address no other rank.
  bool spawned() const { return spawned_; }
  /// In a process started by replenish(): joins the job (merges with the spawning group and
  /// reads its id) and returns true; elsewhere returns false and does nothing. Call right
  /// after construction, before any send or receive.
  bool join_if_spawned();
  const std::string& host() const { return host_; }

  /// Queues a send; the buffer is kept alive until the send completes or is cancelled.
  void send(int dest, Tag tag, Buffer body);
  void send(int dest, Tag tag, BufferPtr body);
  /// A message if one has arrived, else nullopt. Never blocks.
  std::optional<Message> try_recv();
  /// Waits up to timeout_s for a message, sleeping with backoff (≤ 1 ms) between probes.
  std::optional<Message> recv_for(double timeout_s);
  /// Completes finished sends and cancels those past their deadline.
  void progress();
  /// Receive mode. Off (default, fastest): a matched message is received at once, which blocks
  /// for good if its sender dies mid-message — use start_watchdog. On: receives are nonblocking
  /// and delivered in arrival order when complete; a sender that dies mid-message is given up
  /// after the send timeout. The master turns it on: workers may die while sending to it.
  void tolerate_dying_senders(bool on);
  /// Some rank of the job died: MPI_Finalize (Open MPI 4.1.4, measured) then never returns, so
  /// finalize() waits 1 s for it instead of its timeout.
  void note_peers_lost();
  /// Ends the process with exit_code if no try_recv/progress call happened for stuck_s.
  void start_watchdog(double stuck_s, int exit_code);
  /// Waits (sleeping) until every queued send completed or timeout_s passed; true when all did.
  bool drain(double timeout_s);
  /// Same, for the sends to one rank only (a dead peer's sends must not hold up the others).
  bool drain_to(int dest, double timeout_s);
  /// Gives up every pending send to `dest` (a rank declared dead): its buffers are released now
  /// instead of when their deadline passes.
  void cancel_sends_to(int dest);
  const TransportStats& stats() const { return stats_; }

  /// Starts (once) a thread that sends HEARTBEAT to each of `targets` every interval_s, with the
  /// body `body()` returns (called on that thread: it must be thread-safe). It sends on a
  /// communicator of its own, so a role's thread busy for seconds (generating, receiving or
  /// spilling a 621 MB frame; loading a module) cannot hold it up. At most one heartbeat per
  /// target is in flight: a dead target costs nothing more. Returns false, and starts nothing,
  /// where MPI was not given MPI_THREAD_MULTIPLE; the role's loop must then heartbeat itself.
  bool start_heartbeat(std::vector<int> targets, double interval_s, std::function<Buffer()> body);
  /// Replaces the heartbeat thread's targets (the master: a rank declared dead, one spawned).
  void set_heartbeat_targets(std::vector<int> targets);
  /// Seconds since this rank's loop last called try_recv() or progress() (thread-safe).
  double loop_idle_s() const;

  /// Collective over `members` (world ranks, the same list in the same order on each of them,
  /// the master first): the control group that can later replenish() together. Call while all
  /// of them are alive (MPI_Comm_create_group: only the members take part).
  void open_control_group(const std::vector<int>& members);
  /// Collective over the control group (every member must call it): starts `count` processes
  /// of `program` with `args` (only the first member's program and args count) and links them
  /// in with peer ids first_id, first_id + 1, ...; from then on send() reaches them and
  /// try_recv() hears them. Returns an empty string, or why the launcher refused (no free
  /// slot, ...) and nothing was started. Ends the process with exit_code if MPI_Comm_spawn has
  /// not returned after timeout_s (a member died before entering it).
  std::string replenish(const std::string& program, const std::vector<std::string>& args,
                        int count, int first_id, double timeout_s, int exit_code);

  /// Collective over the world (every rank calls it once, at start-up, before roles run): each
  /// rank's `value`, by rank.
  std::vector<int> allgather_int(int value);
  /// A communicator over `members` (world ranks, ascending, the same list on each): collective
  /// over them alone (MPI_Comm_create_group on a duplicate of the world, `tag` telling
  /// concurrent groups apart), so a dead rank outside takes no part — a survivors' communicator
  /// for a stage group's reductions (core/aggregates.h). Throws ride::Error on failure.
  std::unique_ptr<Group> open_group(const std::vector<int>& members, int tag);

  /// Ends the job hard (MPI_Abort): only for a master that cannot continue.
  [[noreturn]] void abort(int code);
  /// MPI_Finalize, bounded: Open MPI 4.1's finalize waits in a fence over every process, which
  /// after two ranks were SIGKILLed at once sometimes never completed (measured). If it has not
  /// returned after timeout_s the process ends with `exit_code` anyway. Idempotent.
  void finalize(int exit_code, double timeout_s = 5.0);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int rank_ = 0, size_ = 1;
  bool spawned_ = false;
  std::string host_;
  TransportStats stats_;
};

/// Sleeps with exponential backoff between `reset()` and the next event: 20 µs doubling to 1 ms.
class IdleBackoff {
 public:
  void reset() { delay_us_ = 0; }
  void wait();
  /// The last wait's sleep in µs (0 before the first wait after construction or reset()).
  int delay_us() const { return delay_us_; }

 private:
  int delay_us_ = 0;
};

}  // namespace ride::transport

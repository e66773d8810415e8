#pragma once
/// @brief Failure detection for the master, pure logic (the caller feeds it times). A dead peer
/// in Open MPI gives only silence (../shared/notes/open-mpi-failures.md), so a rank is declared
/// dead after `timeout_s` without any message from it; a live worker that commits nothing while
/// its partitions have frames waiting is a straggler.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/protocol.h"

namespace ride {

class LivenessMonitor {
 public:
  /// Every rank starts in start-up (modules loading, inputs opening), allowed `grace_s` of
  /// silence (at least timeout_s) until it says it runs.
  LivenessMonitor(int world, double timeout_s, double now, double grace_s = 0);
  void heard(int rank, double now);
  /// The rank's start-up is over (its heartbeat said so): timeout_s applies from now on.
  void set_running(int rank);
  bool starting(int rank) const { return starting_.at(static_cast<std::size_t>(rank)); }
  /// The silence this rank is allowed now.
  double allowed_silence(int rank) const { return starting(rank) ? grace_s_ : timeout_s_; }
  /// Ranks silent for longer than the timeout and not declared yet; declares them.
  std::vector<int> newly_dead(double now);
  void declare_dead(int rank);
  /// Watches one more rank (a spawned spare; ranks are numbered on) as last heard at `since`
  /// (a future time gives it a grace period to start). Returns its number.
  int add(double since);
  int size() const { return static_cast<int>(last_.size()); }
  bool dead(int rank) const { return dead_.at(static_cast<std::size_t>(rank)); }
  double last_heard(int rank) const { return last_.at(static_cast<std::size_t>(rank)); }

 private:
  double timeout_s_, grace_s_;
  std::vector<double> last_;
  std::vector<bool> dead_, starting_;
};

/// @brief Tells a worker that is slow on a big frame from one that is stuck, from what its
/// heartbeat thread says (HeartbeatBody), once one of its partitions has had frames waiting and
/// no commit for ft.straggler_timeout_s. Pure.
struct StragglerRule {
  double timeout_s = 5;        ///< ft.straggler_timeout_s
  double factor = 10;          ///< ft.straggler_factor: a batch may take this many times its
                               ///< expected time (bytes / the worker's or the group's rate)
  double first_batch_s = 30;   ///< no rate known yet: a batch may take this long (job.stall_timeout_s)

  /// Why the worker is stuck, or nothing while it is working (or waiting on the sink).
  /// `group_bytes_per_s`: the group's processing rate (0 = unknown), used while the worker
  /// itself has finished nothing.
  std::optional<std::string> stuck(const HeartbeatBody& hb, double group_bytes_per_s) const;
  /// How long the batch the worker is on may take (seconds).
  double allowance(const HeartbeatBody& hb, double group_bytes_per_s) const;
};

/// @brief Tracks, per partition, when its committed offset last moved while frames waited.
class ProgressWatch {
 public:
  void observe(std::uint32_t partition, std::uint64_t end, std::uint64_t committed, double now);
  /// The partition changed hands: its clock restarts.
  void reset(std::uint32_t partition, double now);
  /// Partitions with frames waiting whose commits have not moved for longer than timeout_s.
  std::vector<std::uint32_t> stalled(double now, double timeout_s) const;
  /// The same for one partition: still stalled? (A recovery that handles one stalled partition
  /// may hand others over, which restarts their clocks.)
  bool is_stalled(std::uint32_t partition, double now, double timeout_s) const;

 private:
  struct State {
    std::uint64_t committed = 0;
    double since = 0;  ///< when committed last moved, or when frames started waiting
    bool waiting = false;
  };
  std::map<std::uint32_t, State> parts_;
};

}  // namespace ride

#pragma once
/// @brief Failure detection for the master, pure logic (the caller feeds it times). A dead peer
/// in Open MPI gives only silence (../shared/notes/open-mpi-failures.md), so a rank is declared
/// dead after `timeout_s` without any message from it; a live worker that commits nothing while
/// its partitions have frames waiting is a straggler.
#include <cstdint>
#include <map>
#include <vector>

namespace ride {

class LivenessMonitor {
 public:
  LivenessMonitor(int world, double timeout_s, double now);
  void heard(int rank, double now);
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
  double timeout_s_;
  std::vector<double> last_;
  std::vector<bool> dead_;
};

/// @brief Tracks, per partition, when its committed offset last moved while frames waited.
class ProgressWatch {
 public:
  void observe(std::uint32_t partition, std::uint64_t end, std::uint64_t committed, double now);
  /// The partition changed hands: its clock restarts.
  void reset(std::uint32_t partition, double now);
  /// Partitions with frames waiting whose commits have not moved for longer than timeout_s.
  std::vector<std::uint32_t> stalled(double now, double timeout_s) const;

 private:
  struct State {
    std::uint64_t committed = 0;
    double since = 0;  ///< when committed last moved, or when frames started waiting
    bool waiting = false;
  };
  std::map<std::uint32_t, State> parts_;
};

}  // namespace ride

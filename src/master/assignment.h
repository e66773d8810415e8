#pragma once
/// @brief Partition ownership with epochs (the master's task manager). Pure logic.
#include <cstdint>
#include <map>
#include <set>
#include <vector>

namespace ride {

class AssignmentTable {
 public:
  struct Ownership {
    int owner = -1;          ///< worker rank, -1 = unassigned
    std::uint32_t epoch = 0; ///< bumped on every change of owner; 0 = never assigned
  };

  explicit AssignmentTable(int partitions) : parts_(static_cast<std::size_t>(partitions)) {}

  /// Partition p → workers[p mod W]. Returns the partitions whose owner changed.
  std::vector<int> assign_round_robin(const std::vector<int>& workers);
  /// Gives partition p to `worker` under a new epoch; returns that epoch.
  std::uint32_t reassign(int partition, int worker);
  /// The partitions of a failed worker go to the first spare when there is one (it joins the
  /// group), else to the surviving workers, each partition to the one owning the fewest.
  /// Returns (partition, new owner) per moved partition; `spares` loses the spare it used.
  std::vector<std::pair<int, int>> recover(int failed, std::vector<int>& spares,
                                           const std::vector<int>& survivors);

  const Ownership& at(int partition) const { return parts_.at(static_cast<std::size_t>(partition)); }
  /// The partitions a worker owns, in order (an index: no scan over the topic).
  std::vector<int> partitions_of(int worker) const;
  /// The same without a copy (the allocator asks this of every worker every 20 ms).
  const std::set<int>& owned_by(int worker) const;
  std::size_t count_of(int worker) const;
  int partitions() const { return static_cast<int>(parts_.size()); }

 private:
  std::vector<Ownership> parts_;
  std::map<int, std::set<int>> by_owner_;  ///< worker -> its partitions
};

}  // namespace ride

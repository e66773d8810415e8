#include "master/assignment.h"

#include "core/error.h"

namespace ride {

std::vector<int> AssignmentTable::assign_round_robin(const std::vector<int>& workers) {
  RIDE_EXPECTS(!workers.empty(), "no workers to assign " << parts_.size() << " partitions to");
  std::vector<int> changed;
  for (int p = 0; p < partitions(); ++p) {
    const int w = workers[static_cast<std::size_t>(p) % workers.size()];
    if (parts_[static_cast<std::size_t>(p)].owner != w) {
      reassign(p, w);
      changed.push_back(p);
    }
  }
  return changed;
}

std::uint32_t AssignmentTable::reassign(int partition, int worker) {
  RIDE_EXPECTS(partition >= 0 && partition < partitions(), "no partition " << partition);
  auto& o = parts_[static_cast<std::size_t>(partition)];
  if (o.owner >= 0) {
    auto it = by_owner_.find(o.owner);
    it->second.erase(partition);
    if (it->second.empty()) by_owner_.erase(it);
  }
  o.owner = worker;
  if (worker >= 0) by_owner_[worker].insert(partition);
  return ++o.epoch;
}

std::vector<std::pair<int, int>> AssignmentTable::recover(int failed, std::vector<int>& spares,
                                                          const std::vector<int>& survivors) {
  std::vector<std::pair<int, int>> moved;
  const std::vector<int> parts = partitions_of(failed);
  if (parts.empty()) return moved;
  if (!spares.empty()) {
    const int to = spares.front();
    spares.erase(spares.begin());
    for (int p : parts) {
      reassign(p, to);
      moved.emplace_back(p, to);
    }
    return moved;
  }
  RIDE_EXPECTS(!survivors.empty(), "no worker left to take over the partitions of rank " << failed);
  for (int p : parts) {
    int best = survivors.front();
    std::size_t best_load = count_of(best);
    for (int w : survivors) {
      const std::size_t load = count_of(w);
      if (load < best_load) {
        best = w;
        best_load = load;
      }
    }
    reassign(p, best);
    moved.emplace_back(p, best);
  }
  return moved;
}

std::vector<int> AssignmentTable::partitions_of(int worker) const {
  const auto it = by_owner_.find(worker);
  return it == by_owner_.end() ? std::vector<int>{} : std::vector<int>(it->second.begin(), it->second.end());
}

const std::set<int>& AssignmentTable::owned_by(int worker) const {
  static const std::set<int> none;
  const auto it = by_owner_.find(worker);
  return it == by_owner_.end() ? none : it->second;
}

std::size_t AssignmentTable::count_of(int worker) const {
  const auto it = by_owner_.find(worker);
  return it == by_owner_.end() ? 0 : it->second.size();
}

}  // namespace ride

#include "master/liveness.h"

namespace ride {

LivenessMonitor::LivenessMonitor(int world, double timeout_s, double now)
    : timeout_s_(timeout_s),
      last_(static_cast<std::size_t>(world), now),
      dead_(static_cast<std::size_t>(world), false) {}

void LivenessMonitor::heard(int rank, double now) {
  auto& t = last_.at(static_cast<std::size_t>(rank));
  if (now > t) t = now;
}

std::vector<int> LivenessMonitor::newly_dead(double now) {
  std::vector<int> out;
  for (std::size_t r = 1; r < last_.size(); ++r) {  // rank 0, the master, does not watch itself
    if (!dead_[r] && now - last_[r] > timeout_s_) {
      dead_[r] = true;
      out.push_back(static_cast<int>(r));
    }
  }
  return out;
}

void LivenessMonitor::declare_dead(int rank) { dead_.at(static_cast<std::size_t>(rank)) = true; }

int LivenessMonitor::add(double since) {
  last_.push_back(since);
  dead_.push_back(false);
  return static_cast<int>(last_.size()) - 1;
}

void ProgressWatch::observe(std::uint32_t partition, std::uint64_t end, std::uint64_t committed,
                            double now) {
  auto [it, fresh] = parts_.try_emplace(partition);
  State& s = it->second;
  const bool waiting = end > committed;
  if (fresh || committed != s.committed || (waiting && !s.waiting)) s.since = now;
  s.committed = committed;
  s.waiting = waiting;
}

void ProgressWatch::reset(std::uint32_t partition, double now) {
  auto& s = parts_[partition];
  s.since = now;
}

std::vector<std::uint32_t> ProgressWatch::stalled(double now, double timeout_s) const {
  std::vector<std::uint32_t> out;
  for (const auto& [p, s] : parts_) {
    if (s.waiting && now - s.since > timeout_s) out.push_back(p);
  }
  return out;
}

}  // namespace ride

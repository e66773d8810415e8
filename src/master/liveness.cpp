#include "master/liveness.h"

#include <algorithm>

#include "core/format.h"

namespace ride {

LivenessMonitor::LivenessMonitor(int world, double timeout_s, double now, double grace_s)
    : timeout_s_(timeout_s),
      grace_s_(std::max(timeout_s, grace_s)),
      last_(static_cast<std::size_t>(world), now),
      dead_(static_cast<std::size_t>(world), false),
      starting_(static_cast<std::size_t>(world), true) {}

void LivenessMonitor::set_running(int rank) { starting_.at(static_cast<std::size_t>(rank)) = false; }

void LivenessMonitor::heard(int rank, double now) {
  auto& t = last_.at(static_cast<std::size_t>(rank));
  if (now > t) t = now;
}

std::vector<int> LivenessMonitor::newly_dead(double now) {
  std::vector<int> out;
  for (std::size_t r = 1; r < last_.size(); ++r) {  // rank 0, the master, does not watch itself
    if (!dead_[r] && now - last_[r] > (starting_[r] ? grace_s_ : timeout_s_)) {
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
  starting_.push_back(true);
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

bool ProgressWatch::is_stalled(std::uint32_t partition, double now, double timeout_s) const {
  const auto it = parts_.find(partition);
  return it != parts_.end() && it->second.waiting && now - it->second.since > timeout_s;
}

std::vector<std::uint32_t> ProgressWatch::stalled(double now, double timeout_s) const {
  std::vector<std::uint32_t> out;
  for (const auto& [p, s] : parts_) {
    if (s.waiting && now - s.since > timeout_s) out.push_back(p);
  }
  return out;
}

double StragglerRule::allowance(const HeartbeatBody& hb, double group_bytes_per_s) const {
  double rate = 0;  // bytes per second of compute
  if (hb.frames_done > 0 && hb.compute_s > 0) rate = static_cast<double>(hb.bytes_done) / hb.compute_s;
  else rate = group_bytes_per_s;
  if (rate <= 0 || hb.batch_bytes == 0) return std::max(timeout_s, first_batch_s);
  return std::max(timeout_s, factor * static_cast<double>(hb.batch_bytes) / rate);
}

std::optional<std::string> StragglerRule::stuck(const HeartbeatBody& hb, double group_bytes_per_s) const {
  // The role's loop itself has stopped turning (the compute thread is apart): stuck whatever
  // the task does.
  if (hb.loop_idle_s > timeout_s) {
    return "alive but its loop has not turned for " + fixed(hb.loop_idle_s, 1) + " s";
  }
  if (hb.computing) {
    const double allowed = allowance(hb, group_bytes_per_s);
    if (hb.computing_for_s <= allowed) return std::nullopt;  // slow on a big batch: working
    return "straggler: alive but on one batch of partition " + std::to_string(hb.partition) +
           " (offset " + std::to_string(hb.offset) + ") for " + fixed(hb.computing_for_s, 1) +
           " s, more than the " + fixed(allowed, 1) + " s allowed";
  }
  // Waiting on the sink or on a broker: they are slow (the job's stall timeout watches them),
  // and another worker would wait just the same.
  if (hb.awaiting_results > 0 || hb.fetching > 0) return std::nullopt;
  return "straggler: alive but committed nothing for " + fixed(timeout_s, 1) +
         " s while its partition had frames waiting, and neither computes nor fetches";
}

}  // namespace ride

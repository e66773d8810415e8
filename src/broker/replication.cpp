#include "broker/replication.h"

#include <algorithm>

namespace ride {

ReplicationLeader::ReplicationLeader(int self, ReplicationConfig cfg, std::uint64_t leader_end,
                                     std::uint64_t high_watermark, double now)
    : self_(self), cfg_(std::move(cfg)), leader_end_(leader_end), hw_(std::min(high_watermark, leader_end)) {
  if (std::find(cfg_.replicas.begin(), cfg_.replicas.end(), self_) == cfg_.replicas.end()) {
    cfg_.replicas.push_back(self_);  // the leader first (insert at begin() trips GCC 12's -Wnull-dereference)
    std::rotate(cfg_.replicas.begin(), cfg_.replicas.end() - 1, cfg_.replicas.end());
  }
  isr_.insert(self_);
  for (int r : cfg_.replicas) {
    if (r == self_) continue;
    Follower f;
    f.caught_up_at = now;
    // A partition created empty has every replica in sync (they all hold nothing); a leader that
    // takes over holds more than its followers are known to, so they start out of sync and
    // join the ISR as they catch up.
    if (leader_end_ == 0) {
      f.heard = true;
      isr_.insert(r);
    }
    followers_[r] = f;
  }
  end_history_.emplace_back(now, leader_end_);
}

void ReplicationLeader::on_append(std::uint64_t end, double now) {
  if (end <= leader_end_) return;
  leader_end_ = end;
  end_history_.emplace_back(now, end);
  // Older than the lag window, an entry can only say a follower was caught up too long ago.
  const double horizon = now - 2 * cfg_.lag_time_max_s;
  std::size_t drop = 0;
  while (drop + 1 < end_history_.size() && end_history_[drop + 1].first < horizon) ++drop;
  if (drop > 0) end_history_.erase(end_history_.begin(), end_history_.begin() + static_cast<std::ptrdiff_t>(drop));
  advance_hw();
}

bool ReplicationLeader::on_follower_ack(int follower, std::uint32_t epoch, std::uint64_t follower_end, double now,
                                        std::vector<IsrChange>* changes) {
  if (epoch != cfg_.leader_epoch || follower == self_) return false;
  auto it = followers_.find(follower);
  if (it == followers_.end() || follower_end > leader_end_) return false;
  Follower& f = it->second;
  f.end = std::max(f.end, follower_end);  // acks may arrive out of order: what it holds only grows
  f.heard = true;
  // It holds everything the leader held at the latest moment whose end it has reached.
  if (f.end >= leader_end_) {
    f.caught_up_at = now;
  } else {
    for (auto e = end_history_.rbegin(); e != end_history_.rend(); ++e) {
      if (e->second <= f.end) {
        f.caught_up_at = std::max(f.caught_up_at, e->first);
        break;
      }
    }
  }
  if (!isr_.count(follower) && f.end >= hw_ && now - f.caught_up_at <= cfg_.lag_time_max_s) {
    isr_.insert(follower);
    unconfirmed_.erase(follower);
    if (changes) {
      changes->push_back({IsrChange::Kind::expand, follower,
                          "caught up: holds " + std::to_string(f.end) + " of " + std::to_string(leader_end_)});
    }
  }
  advance_hw();
  return true;
}

std::vector<IsrChange> ReplicationLeader::tick(double now) {
  std::vector<IsrChange> out;
  for (auto& [r, f] : followers_) {
    if (f.end >= leader_end_) f.caught_up_at = now;  // holds everything: an idle partition is in sync
    if (!isr_.count(r) || now - f.caught_up_at <= cfg_.lag_time_max_s) continue;
    isr_.erase(r);
    unconfirmed_.insert(r);
    out.push_back({IsrChange::Kind::shrink, r,
                   "behind for more than " + std::to_string(cfg_.lag_time_max_s) + " s: holds " +
                       std::to_string(f.end) + " of " + std::to_string(leader_end_)});
  }
  advance_hw();
  return out;
}

void ReplicationLeader::confirm_shrink(int replica) {
  if (unconfirmed_.erase(replica)) advance_hw();
}

void ReplicationLeader::forgive(double away_s) {
  if (away_s <= 0) return;
  for (auto& [r, f] : followers_) f.caught_up_at += away_s;
}

std::vector<IsrChange> ReplicationLeader::remove_replica(int replica, double /*now*/) {
  std::vector<IsrChange> out;
  if (replica == self_) return out;
  if (isr_.erase(replica)) out.push_back({IsrChange::Kind::shrink, replica, "its broker is dead"});
  unconfirmed_.erase(replica);  // the master decided this one itself
  followers_.erase(replica);
  cfg_.replicas.erase(std::remove(cfg_.replicas.begin(), cfg_.replicas.end(), replica), cfg_.replicas.end());
  advance_hw();
  return out;
}

void ReplicationLeader::add_replica(int replica, double now) {
  if (replica == self_ || followers_.count(replica)) return;
  cfg_.replicas.push_back(replica);
  Follower f;
  f.caught_up_at = now;
  followers_[replica] = f;
}

std::uint64_t ReplicationLeader::follower_end(int follower) const {
  const auto it = followers_.find(follower);
  return it == followers_.end() ? 0 : it->second.end;
}

void ReplicationLeader::advance_hw() {
  std::uint64_t low = leader_end_;
  // In-sync followers bound it, and so do those whose leaving the master has not confirmed.
  auto bound_by = [&](int r) {
    if (r == self_) return;
    const auto it = followers_.find(r);
    // An in-sync follower not heard from yet holds at least the HW it was in sync at.
    const std::uint64_t end = it == followers_.end() ? 0 : (it->second.heard ? it->second.end : hw_);
    low = std::min(low, end);
  };
  for (int r : isr_) bound_by(r);
  for (int r : unconfirmed_) bound_by(r);
  hw_ = std::max(hw_, low);  // never back: what was acknowledged stays acknowledged
}

void ReplicationCursor::rewind(std::uint64_t end) {
  next_ = std::min(next_, end);
  floor_ = std::min(floor_, end);
}

ReplicationCursor::Range ReplicationCursor::due(std::uint64_t log_start, std::uint64_t log_end,
                                                std::uint64_t follower_end, std::uint64_t window) {
  next_ = std::max(next_, log_start);  // released meanwhile: committed, never sent
  const std::uint64_t base = std::max({follower_end, floor_, log_start});
  return Range{next_, std::min(log_end, base + window)};
}

ReplicationFollower::Accept ReplicationFollower::on_replicate(std::uint32_t epoch, std::uint64_t first,
                                                              std::uint64_t count, std::uint64_t leader_hw,
                                                              std::uint64_t* from, std::uint64_t leader_committed) {
  if (epoch < epoch_) return Accept::stale_epoch;
  // A higher epoch is only taken from the master (on_new_leader), which says where to
  // truncate; until its notice arrives the new leader's messages are refused like stale ones.
  if (epoch > epoch_) return Accept::stale_epoch;
  if (first > end_) {
    // A copy rebuilt (or left far behind) while the leader released committed frames: what it
    // lacks was processed, so it starts over where the leader's log starts.
    if (first > leader_committed) return Accept::gap;
    if (from) *from = first;
    return Accept::rebase;
  }
  hw_ = std::max(hw_, std::min(leader_hw, first + count));
  if (first < end_) {
    if (from) *from = end_;
    return Accept::overlap;
  }
  if (from) *from = first;
  return Accept::ok;
}

void ReplicationFollower::appended(std::uint64_t new_end) { end_ = std::max(end_, new_end); }

std::optional<std::uint64_t> ReplicationFollower::on_new_leader(std::uint32_t epoch, std::uint64_t truncate_to) {
  if (epoch <= epoch_) return std::nullopt;
  epoch_ = epoch;
  end_ = std::min(end_, truncate_to);
  hw_ = std::min(hw_, end_);
  return end_;
}

std::optional<Election> elect_leader(const std::vector<int>& replicas, const std::set<int>& isr,
                                     const std::set<int>& dead, std::uint32_t epoch,
                                     const std::map<int, std::uint64_t>& ends) {
  int best = -1;
  std::uint64_t best_end = 0;
  for (int r : replicas) {
    if (!isr.count(r) || dead.count(r)) continue;
    const auto it = ends.find(r);
    const std::uint64_t end = it == ends.end() ? 0 : it->second;
    if (best < 0 || end > best_end) {
      best = r;
      best_end = end;
    }
  }
  if (best < 0) return std::nullopt;
  Election e;
  e.leader = best;
  e.epoch = epoch + 1;
  e.replicas.push_back(best);
  for (int r : replicas) {
    if (r != best && !dead.count(r)) e.replicas.push_back(r);
  }
  return e;
}

}  // namespace ride

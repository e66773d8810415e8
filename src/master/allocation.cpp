#include "master/allocation.h"

#include <algorithm>
#include <cstdio>
#include <limits>

#include "core/format.h"

namespace ride {
namespace {

/// Frames per second of compute a worker has shown (0: not known yet).
double rate_of(const JobModel& model, int r) {
  const HeartbeatBody& a = model.rank(r).activity;
  return a.frames_done > 0 && a.compute_s > 0 ? static_cast<double>(a.frames_done) / a.compute_s : 0.0;
}

}  // namespace

void DynamicAllocator::initial(JobModel& model) const {
  // Stage by stage: a stage's partitions go to its own group.
  for (int s = 0; s < model.stages(); ++s) {
    const std::vector<int> workers = model.workers_of(s);
    if (workers.empty()) continue;
    std::vector<int> parts;
    for (int p = 0; p < model.partitions(); ++p) {
      if (model.partition(p).stage == s) parts.push_back(p);
    }
    const std::size_t n = cfg_.batch ? std::min(parts.size(), workers.size()) : parts.size();
    for (std::size_t i = 0; i < n; ++i) {
      model.assignment().reassign(parts[i], workers[i % workers.size()]);
      model.note_owner(workers[i % workers.size()], parts[i]);
    }
  }
}

bool DynamicAllocator::has_work(const JobModel& model, int p) const {
  const PartitionRecord& rec = model.partition(p);
  if (rec.done) return false;
  if (cfg_.batch) return true;  // every frame was stored before processing began
  return rec.lag_frames() > 0;
}

bool DynamicAllocator::idle(const JobModel& model, int r) const {
  for (int p : model.assignment().owned_by(r)) {
    if (has_work(model, p)) return false;
  }
  return true;
}

double DynamicAllocator::idle_while_work_waits_s(int r) const {
  return r >= 0 && static_cast<std::size_t>(r) < idle_waiting_s_.size() ? idle_waiting_s_[static_cast<std::size_t>(r)] : 0.0;
}

std::vector<AllocationMove> DynamicAllocator::step(JobModel& model, double job_s, double now) {
  std::vector<AllocationMove> moves;
  const double dt = last_step_ < 0 ? 0.0 : now - last_step_;
  last_step_ = now;
  if (idle_waiting_s_.size() < static_cast<std::size_t>(model.ranks())) idle_waiting_s_.resize(static_cast<std::size_t>(model.ranks()), 0.0);
  if (idle_since_.size() < static_cast<std::size_t>(model.ranks())) idle_since_.resize(static_cast<std::size_t>(model.ranks()), -1.0);
  if (moved_from_.size() < static_cast<std::size_t>(model.partitions())) moved_from_.resize(static_cast<std::size_t>(model.partitions()), -1);

  // The idle workers, fastest first: when two are free, the faster one gets the next partition.
  std::vector<int> idle_workers;
  for (int r : model.workers()) {
    const bool is_idle = model.rank(r).alive && idle(model, r);
    auto& since = idle_since_[static_cast<std::size_t>(r)];
    if (!is_idle) {
      since = -1;
      continue;
    }
    if (since < 0) since = now;
    idle_workers.push_back(r);
  }
  if (idle_workers.empty()) return moves;
  std::stable_sort(idle_workers.begin(), idle_workers.end(),
                   [&](int a, int b) { return rate_of(model, a) > rate_of(model, b); });

  // What waits: unowned partitions with work (lowest first), and the owned ones by owner
  // (`working`, by rank; `owners`: the ranks with a list, ascending, as a map would iterate).
  // One pass over the topic per step; the rest is over what has work.
  std::vector<int> unowned;
  std::vector<std::vector<int>> working(static_cast<std::size_t>(model.ranks()));  // owner -> its partitions with work
  std::vector<int> owners;
  auto list_of = [&](int o) -> std::vector<int>& {
    if (static_cast<std::size_t>(o) >= working.size()) working.resize(static_cast<std::size_t>(o) + 1);
    return working[static_cast<std::size_t>(o)];
  };
  for (int p = 0; p < model.partitions(); ++p) {
    if (!has_work(model, p)) continue;
    const int o = model.owner(p);
    if (o < 0 || !model.rank(o).alive) {
      unowned.push_back(p);
    } else {
      auto& list = list_of(o);
      if (list.empty()) owners.push_back(o);
      list.push_back(p);
    }
  }
  std::sort(owners.begin(), owners.end());
  auto cooled = [&](int p) {
    const PartitionRecord& rec = model.partition(p);
    return rec.moved_at_s < 0 || job_s - rec.moved_at_s >= cfg_.cooldown_s;
  };
  auto movable = [&](int p) {
    const HeartbeatBody& a = model.rank(model.owner(p)).activity;
    return cooled(p) && !(a.computing && static_cast<int>(a.partition) == p);  // not the batch it is on
  };
  auto waits = [&](int p) { return cfg_.batch || model.partition(p).lag_frames() >= static_cast<std::uint64_t>(cfg_.batch_frames); };

  // Rule 2's candidates, all at once: the waiting, movable partitions of owners with several
  // with work, most lag first, ties in the order a scan by owner would meet them. Within a step
  // a candidate only ever becomes invalid (its owner down to one partition with work, or it was
  // moved: it then sits alone with an idle worker), so each idle worker takes the first valid one.
  struct Candidate {
    int partition, owner;
    std::uint64_t lag;
  };
  std::vector<Candidate> candidates;
  for (int o : owners) {
    const auto& parts = working[static_cast<std::size_t>(o)];
    if (parts.size() < 2) continue;
    for (int p : parts) {
      if (waits(p) && movable(p)) candidates.push_back({p, o, model.partition(p).lag_frames()});
    }
  }
  std::stable_sort(candidates.begin(), candidates.end(), [](const Candidate& a, const Candidate& b) { return a.lag > b.lag; });
  std::vector<char> moved(static_cast<std::size_t>(model.partitions()), 0);
  std::size_t head = 0;  // candidates before it are invalid for good

  // Idle time while work waits (before this step's moves: the reaction time).
  const bool work_waits = !unowned.empty() || !candidates.empty();
  if (work_waits) {
    for (int r : idle_workers) idle_waiting_s_[static_cast<std::size_t>(r)] += dt;
  }

  auto give = [&](int p, int to, std::string reason) {
    AllocationMove mv{p, model.owner(p), to, std::move(reason)};
    model.join_workers(to, model.partition(p).stage);
    model.assignment().reassign(p, to);
    model.note_owner(to, p);
    model.partition(p).moved_at_s = job_s;
    moved[static_cast<std::size_t>(p)] = 1;
    moved_from_[static_cast<std::size_t>(p)] = mv.from;
    if (mv.from >= 0) {
      auto& list = list_of(mv.from);
      std::erase(list, p);
    }
    auto& to_list = list_of(to);
    if (to_list.empty()) {
      const auto at = std::lower_bound(owners.begin(), owners.end(), to);
      if (at == owners.end() || *at != to) owners.insert(at, to);
    }
    to_list.push_back(p);
    ScalingEvent e;
    e.t_s = job_s;
    e.action = "move";
    e.worker = to;
    e.from = mv.from;
    e.partitions = {p};
    e.reason = mv.reason;
    e.stage = model.stage_name(model.partition(p).stage);
    e.decided_steady = now;
    model.scaling().push_back(e);
    moves.push_back(mv);
  };
  auto gone = [&](const Candidate& c) {
    return moved[static_cast<std::size_t>(c.partition)] || working[static_cast<std::size_t>(c.owner)].size() < 2;
  };

  // Unowned partitions by stage, each list handed out from its front.
  std::vector<std::vector<int>> unowned_of(static_cast<std::size_t>(model.stages()));
  for (int p : unowned) unowned_of[static_cast<std::size_t>(model.partition(p).stage)].push_back(p);
  std::vector<std::size_t> next_unowned(unowned_of.size(), 0);
  for (int w : idle_workers) {
    const int stage = std::max(0, model.rank(w).stage);  // a worker takes partitions of its own stage only
    auto same_stage = [&](int p) { return model.partition(p).stage == stage; };
    // 1. A partition nobody owns.
    auto& mine = unowned_of[static_cast<std::size_t>(stage)];
    auto& next = next_unowned[static_cast<std::size_t>(stage)];
    if (next < mine.size()) {
      const int p = mine[next++];
      const PartitionRecord& rec = model.partition(p);
      give(p, w, "rank " + std::to_string(w) + " idle; partition " + std::to_string(p) + " unassigned with " +
                     (cfg_.batch ? std::to_string(rec.metrics.end_offset - std::min(rec.metrics.end_offset, rec.metrics.committed)) + " frames stored"
                                 : std::to_string(rec.lag_frames()) + " frames waiting"));
      continue;
    }
    // 2. A waiting partition of a worker that has several with work: the one with the most lag.
    // (Stream: only once idle for a while, and never one just moved off this worker.)
    if (!cfg_.batch && now - idle_since_[static_cast<std::size_t>(w)] < cfg_.steal_after_s) continue;
    auto bounced = [&](const Candidate& c) {
      const PartitionRecord& rec = model.partition(c.partition);
      return !cfg_.batch && moved_from_[static_cast<std::size_t>(c.partition)] == w && rec.moved_at_s >= 0 &&
             job_s - rec.moved_at_s < 4 * cfg_.cooldown_s;
    };
    // (Stream: and only what the worker has room for at its measured rate, or a hot partition
    // just overloads the receiver and moves on at the next cool-down.)
    const bool room_known = !cfg_.batch && rate_of(model, w) > 0;
    double room = 0;  // frames/s the worker can still take at 80 % of its measured rate
    if (room_known) {
      double load = 0;
      for (int q : model.assignment().owned_by(w)) load += model.partition(q).input_fps;
      room = 0.8 * rate_of(model, w) - load;
    }
    auto fits = [&](const Candidate& c) {
      const PartitionRecord& rec = model.partition(c.partition);
      return !room_known || !rec.input_fps_known || rec.input_fps <= room;
    };
    while (head < candidates.size() && gone(candidates[head])) ++head;
    const Candidate* best = nullptr;
    for (std::size_t i = head; i < candidates.size() && !best; ++i) {
      if (!gone(candidates[i]) && candidates[i].owner != w && same_stage(candidates[i].partition) &&
          !bounced(candidates[i]) && fits(candidates[i])) {
        best = &candidates[i];
      }
    }
    if (best) {
      const Candidate c = *best;
      give(c.partition, w, "rank " + std::to_string(w) + " idle; rank " + std::to_string(c.owner) + " has " +
                               std::to_string(working[static_cast<std::size_t>(c.owner)].size()) + " partitions with work, partition " +
                               std::to_string(c.partition) + " " + std::to_string(c.lag) + " frames behind");
      continue;
    }
    // 3. Batch end-game: the last partition of a much slower worker, when it finishes sooner here.
    if (!cfg_.batch) continue;
    const double rate_w = rate_of(model, w);
    if (rate_w <= 0) continue;
    int steal = -1, steal_owner = -1;
    double steal_gain = 0, steal_there = 0, steal_here = 0;
    for (int o : owners) {
      const auto& parts = working[static_cast<std::size_t>(o)];
      if (o == w || parts.size() != 1 || !same_stage(parts.front())) continue;
      const int p = parts.front();
      const double rate_o = rate_of(model, o);
      // A slow worker is always on its partition: it moves all the same, and the batch it is on
      // is done again here (counted below).
      if (rate_o <= 0 || rate_w < 1.5 * rate_o || !cooled(p)) continue;
      const double left = static_cast<double>(model.partition(p).lag_frames());
      const double there = left / rate_o;
      const double here = (left + cfg_.batch_frames) / rate_w + cfg_.handover_s;  // its batch in flight is redone
      if (there - here > steal_gain) {
        steal = p;
        steal_owner = o;
        steal_gain = there - here;
        steal_there = there;
        steal_here = here;
      }
    }
    if (steal >= 0) {
      give(steal, w, "rank " + std::to_string(w) + " idle at " + fixed(rate_w, 1) + " frames/s; rank " +
                         std::to_string(steal_owner) + " at " + fixed(rate_of(model, steal_owner), 1) +
                         " frames/s would need " + fixed(steal_there, 1) + " s for partition " +
                         std::to_string(steal) + ", " + fixed(steal_here, 1) + " s here");
    }
  }
  return moves;
}

}  // namespace ride

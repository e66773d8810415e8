#include "master/adaptive.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/config.h"
#include "core/format.h"

namespace ride {
namespace {

std::string numbers(const GroupSample& s) {
  return "input " + fixed(s.input_fps, 1) + " fps, processed " + fixed(s.processed_fps, 1) + " fps, lag " +
         std::to_string(s.lag_frames) + " frames (" + fixed(s.lag_s, 1) + " s), " + std::to_string(s.workers) +
         " workers " + fixed(100 * s.busy, 0) + " % busy";
}

}  // namespace

GroupSample AdaptiveGroup::measure(const JobModel& model, double dt) {
  GroupSample s;
  std::uint64_t end = 0, committed = 0;
  for (int p = 0; p < model.partitions(); ++p) {
    if (model.partition(p).stage != cfg_.stage) continue;
    end += model.partition(p).metrics.end_offset;
    committed += model.partition(p).metrics.committed;
    s.lag_s = std::max(s.lag_s, model.partition(p).lag_s());
  }
  s.input_fps = dt > 0 ? static_cast<double>(end - std::min(end, last_end_)) / dt : 0;
  s.processed_fps = dt > 0 ? static_cast<double>(committed - std::min(committed, last_committed_)) / dt : 0;
  last_end_ = end;
  last_committed_ = committed;
  s.lag_frames = end - std::min(end, committed);
  const std::vector<int> group = model.workers_of(cfg_.stage);
  s.workers = static_cast<int>(group.size());
  double busy = 0;
  for (int r : group) {
    const double now_b = busy_now_.count(r) ? busy_now_[r] : 0.0;
    const double then_b = busy_then_.count(r) ? busy_then_[r] : now_b;
    busy += dt > 0 ? std::clamp((now_b - then_b) / dt, 0.0, 1.0) : 0.0;
  }
  busy_then_ = busy_now_;
  s.busy = s.workers > 0 ? busy / s.workers : 0;
  return s;
}

void AdaptiveGroup::record(JobModel& model, const GroupChange& c, double job_s, double now) const {
  for (int w : c.workers) {
    ScalingEvent e;
    e.t_s = job_s;
    e.action = c.kind == GroupChange::Kind::grow ? "grow" : "shrink";
    e.worker = w;
    e.partitions = model.assignment().partitions_of(w);
    e.reason = c.reason;
    e.stage = model.stage_name(cfg_.stage);
    e.decided_steady = now;
    model.scaling().push_back(e);
  }
}

std::vector<GroupChange> AdaptiveGroup::step(JobModel& model, double job_s, double now) {
  std::vector<GroupChange> out;
  if (next_s_ >= 0 && now < next_s_) return out;
  next_s_ = now + cfg_.interval_s;
  const double dt = last_s_ < 0 ? 0.0 : now - last_s_;
  last_s_ = now;
  sample_ = measure(model, dt);
  const int n = sample_.workers;

  auto grow = [&](int count, const std::string& why) { grow_by(model, count, why, job_s, now, out); };
  auto shrink = [&](int worker, const std::string& why) { shrink_one(model, worker, why, job_s, now, out); };

  if (pinned_ > 0) {  // an operator set the size: keep it (a dead worker's place is refilled)
    if (n < pinned_) grow(pinned_ - n, "an operator's resize to " + std::to_string(pinned_) + " workers");
    return out;
  }
  if (!cfg_.schedule.empty()) {  // experiments: the group size by time
    int want = -1;
    for (const auto& [t, size] : cfg_.schedule) {
      if (job_s >= t) want = size;
    }
    if (want < 0) return out;
    if (n < want) grow(want - n, "scaling.schedule: " + std::to_string(want) + " workers from now");
    for (int k = n; k > want; --k) shrink(model.workers_of(cfg_.stage).back(), "scaling.schedule: " + std::to_string(want) + " workers from now");
    return out;
  }
  if (dt <= 0) return out;  // the first look only takes the baseline

  const bool cooled = now - last_change_s_ >= cfg_.cooldown_s;
  // Under-use must last: one look over the line restarts the clock.
  const bool under = sample_.busy < cfg_.low && sample_.lag_s < cfg_.lag_high_s / 2;
  if (!under) {
    under_since_ = -1;
  } else if (under_since_ < 0) {
    under_since_ = now;
    busy_at_under_ = busy_then_;  // the cumulative busy at the window's start
  }
  if (!cooled) return out;

  // Short of workers: an old frame waits while frames arrive at least as fast as the group
  // commits them. A look in which nothing arrived (and so nothing was committed) has no news:
  // its reports are stale, or the input paused; more workers would not help either.
  if (sample_.lag_s > cfg_.lag_high_s && sample_.input_fps > 0 && sample_.input_fps >= sample_.processed_fps &&
      n < cfg_.max_workers) {
    // As many more as the rates say are missing, at least one; a partition must be there to give.
    int need = 1;
    if (n > 0 && sample_.processed_fps > 0) {
      need = std::max(1, static_cast<int>(std::ceil(n * sample_.input_fps / sample_.processed_fps)) - n);
    }
    need = std::min(need, cfg_.max_workers - n);
    bool givable = n == 0;
    for (int w : model.workers_of(cfg_.stage)) givable = givable || model.assignment().count_of(w) >= 2;
    if (givable) grow(need, "lag over scaling.lag_high_s = " + fixed(cfg_.lag_high_s, 1) + " s");
    return out;
  }
  if (under_since_ >= 0 && now - under_since_ >= cfg_.low_for_s && n > cfg_.min_workers) {
    // Judged on the whole window, not on one look: one interval can catch a worker between
    // two batches (its busy time arrives when a batch ends) and read far too low.
    const double window = now - under_since_;
    double busy = 0;
    for (int r : model.workers_of(cfg_.stage)) {
      const double now_b = busy_now_.count(r) ? busy_now_[r] : 0.0;
      const double then_b = busy_at_under_.count(r) ? busy_at_under_[r] : now_b;
      busy += std::clamp((now_b - then_b) / window, 0.0, 1.0);
    }
    busy /= n;
    if (busy < cfg_.low && busy * n / (n - 1) < cfg_.target) {
      shrink(model.workers_of(cfg_.stage).back(), "under scaling.low = " + fixed(100 * cfg_.low, 0) + " % busy for " +
                                         fixed(window, 1) + " s (" + fixed(100 * busy, 0) + " % over that time)");
      under_since_ = -1;
    }
  }
  return out;
}

void AdaptiveGroup::grow_by(JobModel& model, int count, const std::string& why, double job_s, double now,
                            std::vector<GroupChange>& out) {
  const auto& spares = model.spares();
  GroupChange c;
  c.kind = GroupChange::Kind::grow;
  c.stage = cfg_.stage;
  for (int i = 0; i < count && i < static_cast<int>(spares.size()); ++i) c.workers.push_back(spares[static_cast<std::size_t>(i)]);
  if (c.workers.empty()) return;
  c.reason = last_s_ >= 0 ? why + ": " + numbers(sample_) : why;  // no look taken yet: no numbers
  std::map<int, int> first_owner;  // partition -> its owner before this change
  for (int w : c.workers) {
    model.join_workers(w, cfg_.stage);
    for (const auto& [p, from] : rebalance_onto(model, w)) first_owner.try_emplace(p, from);
  }
  // One hand-over per partition, to where it ends up (a later newcomer may take it on).
  for (const auto& [p, from] : first_owner) c.moved.push_back({p, from, model.owner(p)});
  record(model, c, job_s, now);
  out.push_back(std::move(c));
  last_change_s_ = now;
}

void AdaptiveGroup::shrink_one(JobModel& model, int worker, const std::string& why, double job_s, double now,
                               std::vector<GroupChange>& out) {
  GroupChange c;
  c.kind = GroupChange::Kind::shrink;
  c.stage = cfg_.stage;
  c.workers = {worker};
  c.reason = last_s_ >= 0 ? why + ": " + numbers(sample_) : why;
  record(model, c, job_s, now);  // the partitions it had
  for (const auto& [p, to] : drain_from(model, worker)) c.moved.push_back({p, worker, to});
  model.release_to_spares(worker);
  out.push_back(std::move(c));
  last_change_s_ = now;
}

AdaptiveGroup::Resize AdaptiveGroup::resize(JobModel& model, int want, double job_s, double now) {
  Resize r;
  const std::vector<int> group = model.workers_of(cfg_.stage);
  const int n = static_cast<int>(group.size());
  int partitions = 0;
  for (int p = 0; p < model.partitions(); ++p) partitions += model.partition(p).stage == cfg_.stage ? 1 : 0;
  if (want < 1) {
    r.refused = "a group keeps at least 1 worker";
    return r;
  }
  if (want > partitions) {
    r.refused = "the stage has " + std::to_string(partitions) + " partition(s): more workers than that would idle";
    return r;
  }
  const int spares = static_cast<int>(model.spares().size());
  if (want - n > spares) {
    r.refused = spares == 0 ? "no spare left (the group has " + std::to_string(n) + " workers)"
                            : "only " + std::to_string(spares) + " spare(s) left: the group can grow to " +
                                  std::to_string(n + spares) + ", not " + std::to_string(want);
    return r;
  }
  const std::string why = "an operator's resize to " + std::to_string(want) + " workers";
  if (want > n) grow_by(model, want - n, why, job_s, now, r.changes);
  for (int k = n; k > want; --k) shrink_one(model, model.workers_of(cfg_.stage).back(), why, job_s, now, r.changes);
  pinned_ = want;
  return r;
}

std::vector<std::pair<int, int>> rebalance_onto(JobModel& model, int newcomer) {
  std::vector<std::pair<int, int>> moves;
  const int stage = std::max(0, model.rank(newcomer).stage);  // its group's partitions only
  const std::vector<int> group = model.workers_of(stage);
  const int workers = static_cast<int>(group.size());
  if (workers == 0) return moves;
  // Partitions nobody (alive) owns go to the newcomer first.
  int stage_partitions = 0;
  for (int p = 0; p < model.partitions(); ++p) {
    if (model.partition(p).stage != stage) continue;
    ++stage_partitions;
    const int o = model.owner(p);
    if (!model.partition(p).done && (o < 0 || !model.rank(o).alive)) {
      model.assignment().reassign(p, newcomer);
      model.note_owner(newcomer, p);
      moves.emplace_back(p, o);
    }
  }
  const std::size_t share = static_cast<std::size_t>(stage_partitions / workers);
  while (model.assignment().count_of(newcomer) < std::max<std::size_t>(share, 1)) {
    int donor = -1;
    std::size_t most = 0;
    for (int w : group) {
      const std::size_t c = model.assignment().count_of(w);
      if (w != newcomer && c > most) {
        donor = w;
        most = c;
      }
    }
    if (donor < 0 || most < 2 || most <= model.assignment().count_of(newcomer) + 1) break;
    // The donor's partition with the most lag that it is not computing now.
    const auto parts = model.assignment().partitions_of(donor);
    const HeartbeatBody& a = model.rank(donor).activity;
    int pick = -1;
    for (int p : parts) {
      if (a.computing && static_cast<int>(a.partition) == p && parts.size() > 1) continue;
      if (pick < 0 || model.partition(p).lag_frames() > model.partition(pick).lag_frames()) pick = p;
    }
    model.assignment().reassign(pick, newcomer);
    model.note_owner(newcomer, pick);
    moves.emplace_back(pick, donor);
  }
  return moves;
}

std::vector<std::pair<int, int>> drain_from(JobModel& model, int leaver) {
  std::vector<std::pair<int, int>> moves;
  const int stage = std::max(0, model.rank(leaver).stage);
  const std::vector<int> group = model.workers_of(stage);
  for (int p : model.assignment().partitions_of(leaver)) {
    int best = -1;
    for (int w : group) {
      if (w == leaver) continue;
      if (best < 0 || model.assignment().count_of(w) < model.assignment().count_of(best)) best = w;
    }
    model.assignment().reassign(p, best);  // best = -1: nobody, the broker fences the leaver
    model.note_owner(best, p);
    moves.emplace_back(p, best);
  }
  return moves;
}

}  // namespace ride

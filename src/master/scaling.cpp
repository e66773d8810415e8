#include "master/scaling.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <tuple>

namespace ride {
namespace {

std::string pct(double u) {
  char b[32];
  std::snprintf(b, sizeof b, "%.0f %%", 100 * u);
  return b;
}

/// A partition's share of its worker's load: proportional to its frame rate times frame size.
double share(const WorkerLoad& w, const PartitionLoad& p) {
  double total = 0;
  for (const auto& q : w.partitions) total += q.rate_fps * q.pixels;
  if (total <= 0) return w.partitions.empty() ? 0 : 1.0 / static_cast<double>(w.partitions.size());
  return p.rate_fps * p.pixels / total;
}

}  // namespace

std::vector<ScalingAction> decide_scaling(const std::vector<WorkerLoad>& workers,
                                          const std::vector<int>& spares,
                                          const ScalingThresholds& t, double now) {
  std::vector<ScalingAction> out;
  std::map<int, double> cpu, mem;  // projected, as actions are decided
  for (const auto& w : workers) {
    cpu[w.rank] = w.cpu;
    mem[w.rank] = w.mem;
  }
  // 1) The most over-utilized worker with something to give.
  const WorkerLoad* hot = nullptr;
  for (const auto& w : workers) {
    if ((w.cpu > t.high || w.mem > t.high) && w.partitions.size() > 1 &&
        (!hot || std::max(w.cpu, w.mem) > std::max(hot->cpu, hot->mem))) {
      hot = &w;
    }
  }
  // A worker with a single partition cannot be relieved by moving it (the load moves along),
  // except onto a spare, which then adds capacity only if the partition can be split: it
  // cannot, so only multi-partition workers are candidates.
  if (hot) {
    std::vector<std::size_t> order(hot->partitions.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    auto key = [&](std::size_t i) {
      const PartitionLoad& q = hot->partitions[i];
      // independent frames first, low rate, heavy, high resolution, most recently moved
      return std::make_tuple(q.stateful, q.rate_fps, -share(*hot, q), -q.pixels, -q.moved_at);
    };
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return key(a) < key(b); });
    // The first partition in preference order that some worker can take within the target;
    // if none fits anywhere, the first one goes to a spare.
    ScalingAction a;
    a.from = hot->rank;
    double dc = 0, dm = 0;
    for (std::size_t i : order) {
      const PartitionLoad& p = hot->partitions[i];
      const double c = hot->cpu * share(*hot, p), m = hot->mem * share(*hot, p);
      int best = -1;
      double best_after = 0;
      for (const auto& w : workers) {
        if (w.rank == hot->rank) continue;
        const double after = std::max(cpu[w.rank] + c, mem[w.rank] + m);
        if (after <= t.target && (best < 0 || after < best_after)) {
          best = w.rank;
          best_after = after;
        }
      }
      if (best < 0) continue;
      a.partition = p.partition;
      a.to = best;
      a.why = "rank " + std::to_string(hot->rank) + " at " + pct(std::max(hot->cpu, hot->mem)) +
              " (over " + pct(t.high) + "): partition " + std::to_string(p.partition) +
              " to rank " + std::to_string(best) + " (" + pct(std::max(cpu[best], mem[best])) +
              " -> " + pct(best_after) + ")";
      cpu[best] += c;
      mem[best] += m;
      dc = c;
      dm = m;
      break;
    }
    if (a.to < 0 && !spares.empty()) {
      const PartitionLoad& p = hot->partitions[order.front()];
      a.partition = p.partition;
      a.to = spares.front();
      a.to_spare = true;
      dc = hot->cpu * share(*hot, p);
      dm = hot->mem * share(*hot, p);
      a.why = "rank " + std::to_string(hot->rank) + " at " + pct(std::max(hot->cpu, hot->mem)) +
              " (over " + pct(t.high) + ") and no worker has room: partition " +
              std::to_string(p.partition) + " to spare rank " + std::to_string(a.to);
    }
    if (a.to >= 0) {
      cpu[hot->rank] -= dc;
      mem[hot->rank] -= dm;
      out.push_back(a);
      return out;  // measure the effect before the next step
    }
  }
  // 2) The longest under-utilized worker, if the others can take all it has.
  const WorkerLoad* cold = nullptr;
  for (const auto& w : workers) {
    if (w.under_since >= 0 && now - w.under_since >= t.low_for_s &&
        (!cold || w.under_since < cold->under_since)) {
      cold = &w;
    }
  }
  if (!cold || workers.size() < 2) return out;
  std::vector<ScalingAction> moves;
  for (const auto& p : cold->partitions) {
    const double dc = cold->cpu * share(*cold, p), dm = cold->mem * share(*cold, p);
    int best = -1;
    double best_after = 0;
    for (const auto& w : workers) {
      if (w.rank == cold->rank) continue;
      const double after = std::max(cpu[w.rank] + dc, mem[w.rank] + dm);
      if (after <= t.target && (best < 0 || after < best_after)) {
        best = w.rank;
        best_after = after;
      }
    }
    if (best < 0) return out;  // it does not all fit: keep the worker
    cpu[best] += dc;
    mem[best] += dm;
    ScalingAction a;
    a.partition = p.partition;
    a.from = cold->rank;
    a.to = best;
    a.why = "rank " + std::to_string(cold->rank) + " under " + pct(t.low) + " for " +
            std::to_string(static_cast<int>(now - cold->under_since)) + " s: partition " +
            std::to_string(p.partition) + " to rank " + std::to_string(best);
    moves.push_back(a);
  }
  out = moves;
  ScalingAction release;
  release.kind = ScalingAction::Kind::release;
  release.from = cold->rank;
  release.why = "rank " + std::to_string(cold->rank) + " released (under " + pct(t.low) + ")";
  out.push_back(release);
  return out;
}

}  // namespace ride

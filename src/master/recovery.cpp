#include "master/recovery.h"

#include <algorithm>

#include "core/error.h"

namespace ride {

RecoveryDecision plan_recovery(JobModel& model, int rank, const std::string& why, double now,
                               double last_heard) {
  RecoveryDecision d;
  const Role role = model.rank(rank).role;
  FailureRecord f;
  f.rank = rank;
  f.role = role;
  f.cause = why;
  f.last_heard = last_heard;
  f.detected = now;
  const std::string who = "rank " + std::to_string(rank) + " (" + to_string(role) + ") ";
  if (role == Role::broker || role == Role::ingest) {
    model.declare_dead(rank);
    model.failures().push_back(f);
    d.fatal = who + why + ": the loss of a " + to_string(role) +
              " rank is not tolerated (docs/ARCHITECTURE.md, \"What is not tolerated\")";
    return d;
  }
  if (role == Role::spare) {
    model.declare_dead(rank);
    f.recovered = f.detected;
    model.failures().push_back(f);
    d.spare_lost = true;
    return d;
  }
  const int stage = std::max(0, model.rank(rank).stage);
  model.declare_dead(rank);  // leaves the group; its partitions still name it as owner
  std::vector<int> spares = model.spares();
  std::vector<std::pair<int, int>> moved;
  try {
    // A spare (shared by every stage) takes them over, or else the survivors of its stage's group.
    moved = model.assignment().recover(rank, spares, model.workers_of(stage));
  } catch (const Error&) {
    model.failures().push_back(f);
    d.fatal = "rank " + std::to_string(rank) + " (worker) " + why + " and no worker or spare is left";
    return d;
  }
  bool all_done = true;
  for (const auto& [p, to] : moved) {
    model.join_workers(to, model.partition(p).stage);  // a spare that takes partitions joins the group
    model.note_owner(to, p);
    // A partition already drained (batch) sends no results again: nothing to wait for.
    const bool done = model.partition(p).done;
    f.moved.push_back({p, to, model.epoch(p), done});
    all_done = all_done && done;
  }
  d.moved = f.moved;
  if (moved.empty() || all_done) f.recovered = f.detected;
  model.failures().push_back(f);
  return d;
}

}  // namespace ride

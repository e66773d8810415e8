#include "master/recovery.h"

#include <algorithm>
#include <map>
#include <set>

#include "broker/replication.h"
#include "core/error.h"

namespace ride {
namespace {

/// Broker failover: elections, dropped copies, re-replication (see plan_recovery).
void plan_broker_failover(JobModel& model, int rank, int replication, RecoveryDecision& d, FailureRecord& f) {
  std::set<int> dead;
  std::vector<int> live;
  for (int r = 0; r < model.ranks(); ++r) {
    if (model.rank(r).role != Role::broker) continue;
    if (model.rank(r).alive) live.push_back(r);
    else dead.insert(r);
  }
  PartitionMap m = model.map();
  for (int p = 0; p < m.partitions(); ++p) {
    std::vector<int> reps = m.replicas(p);
    if (std::find(reps.begin(), reps.end(), rank) == reps.end()) continue;
    PartitionRecord& rec = model.partition(p);
    if (m.broker(p) != rank) {  // a follower's copy is gone
      reps.erase(std::remove(reps.begin(), reps.end(), rank), reps.end());
      m.set_replicas(p, reps, m.leader_epoch(p));
      std::erase(rec.isr, rank);
      continue;
    }
    const std::set<int> isr(rec.isr.begin(), rec.isr.end());
    const auto e = elect_leader(reps, isr, dead, m.leader_epoch(p));
    if (!e) {
      d.fatal = "rank " + std::to_string(rank) + " (broker) " + f.cause + ": partition " + std::to_string(p) +
                (reps.size() == 1 ? " had no other copy (topic.replication = 1): the loss of a broker rank is "
                                    "not tolerated then (docs/ARCHITECTURE.md, \"What is not tolerated\")"
                                  : " has no in-sync copy left on a live broker");
      return;
    }
    m.set_replicas(p, e->replicas, e->epoch);
    rec.isr = {e->leader};  // its other followers rebuild their copies from the new leader
    d.promoted.push_back(p);
  }
  // Re-replication: copies on the live brokers holding the fewest, other hosts first.
  std::map<int, int> load;
  for (int b : live) load[b] = static_cast<int>(m.replicas_on(b).size());
  for (int p = 0; p < m.partitions(); ++p) {
    std::vector<int> reps = m.replicas(p);
    bool grew = false;
    while (static_cast<int>(reps.size()) < replication) {
      int best = -1;
      bool best_new_host = false;
      for (int b : live) {
        if (std::find(reps.begin(), reps.end(), b) != reps.end()) continue;
        bool new_host = true;
        for (int r : reps) new_host = new_host && model.rank(r).host != model.rank(b).host;
        if (best < 0 || (new_host && !best_new_host) || (new_host == best_new_host && load[b] < load[best])) {
          best = b;
          best_new_host = new_host;
        }
      }
      if (best < 0) break;
      reps.push_back(best);
      ++load[best];
      grew = true;
    }
    if (grew) {
      m.set_replicas(p, reps, m.leader_epoch(p));
      d.rebuilt.push_back(p);
    }
    if (static_cast<int>(reps.size()) < replication) d.under_replicated.push_back(p);
  }
  model.set_map(m);
  d.map = std::move(m);
  // The owners of promoted partitions fetch from the new leader, under a new assignment epoch.
  bool all_done = true;
  for (int p : d.promoted) {
    const int owner = model.owner(p);
    if (owner < 0) continue;
    model.assignment().reassign(p, owner);
    const bool done = model.partition(p).done;
    f.moved.push_back({p, owner, model.epoch(p), done});
    all_done = all_done && done;
  }
  d.moved = f.moved;
  if (f.moved.empty() || all_done) f.recovered = f.detected;
}

/// Ingest failover: the dead rank's streams to the live readers with the fewest.
void plan_ingest_failover(JobModel& model, int rank, const std::set<int>& finished, RecoveryDecision& d,
                          FailureRecord& f) {
  if (finished.count(rank)) {  // its frames were all acknowledged: nothing to resume
    f.recovered = f.detected;
    return;
  }
  std::map<int, std::size_t> load;
  for (int r = 0; r < model.ranks(); ++r) {
    // A rank that finished its own streams takes them too: the topics stay open until it
    // reports again.
    if (model.rank(r).role == Role::ingest && model.rank(r).alive) load[r] = 0;
  }
  for (const StreamRecord& s : model.streams()) {
    if (load.count(s.ingest_rank)) ++load[s.ingest_rank];
  }
  for (StreamRecord& s : model.streams()) {
    if (s.ingest_rank != rank) continue;
    if (load.empty()) {
      d.fatal = "rank " + std::to_string(rank) + " (ingest) " + f.cause +
                ": no other ingest rank is alive to resume its streams (the loss of the last ingest rank "
                "is not tolerated: docs/ARCHITECTURE.md, \"What is not tolerated\")";
      return;
    }
    int to = load.begin()->first;
    for (const auto& [r, n] : load) {
      if (n < load[to]) to = r;
    }
    ++load[to];
    s.ingest_rank = to;
    d.takeovers[to].push_back({s.id, s.acked});
    f.streams.push_back({s.id, to, s.acked, false});
  }
  if (f.streams.empty()) f.recovered = f.detected;
}

}  // namespace

RecoveryDecision plan_recovery(JobModel& model, int rank, const std::string& why, double now,
                               double last_heard, int replication, const std::set<int>& finished_ingest) {
  RecoveryDecision d;
  const Role role = model.rank(rank).role;
  FailureRecord f{.rank = rank, .role = role, .cause = why, .last_heard = last_heard, .detected = now};
  const std::string who = "rank " + std::to_string(rank) + " (" + to_string(role) + ") ";
  if (role == Role::broker && replication > 1) {
    model.declare_dead(rank);
    plan_broker_failover(model, rank, replication, d, f);
    model.failures().push_back(f);
    return d;
  }
  if (role == Role::ingest) {
    model.declare_dead(rank);
    plan_ingest_failover(model, rank, finished_ingest, d, f);
    model.failures().push_back(f);
    return d;
  }
  if (role == Role::broker) {
    model.declare_dead(rank);
    model.failures().push_back(f);
    d.fatal = who + why + ": the loss of a " + to_string(role) +
              " rank is not tolerated with topic.replication = 1 (docs/ARCHITECTURE.md, \"What is not tolerated\")";
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

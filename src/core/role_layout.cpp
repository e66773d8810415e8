#include "core/role_layout.h"

#include <algorithm>
#include <sstream>

#include "core/error.h"

namespace ride {

const char* to_string(Role r) {
  switch (r) {
    case Role::master: return "master";
    case Role::broker: return "broker";
    case Role::ingest: return "ingest";
    case Role::worker: return "worker";
    case Role::spare: return "spare";
  }
  return "?";
}

RoleLayout compute_role_layout(const JobConfig& cfg, int world_size) {
  const int n = world_size;
  int ingest = cfg.ingest > 0 ? cfg.ingest : 1;
  int spares = cfg.spares >= 0 ? cfg.spares : (n >= 6 ? 1 : 0);
  int brokers = cfg.brokers;
  int workers = cfg.workers;
  if (cfg.multi_stage()) {
    int sum = 0;
    for (const auto& s : cfg.stages) sum += s.workers;
    if (cfg.workers >= 0 && cfg.workers != sum) {
      throw ConfigError("bad value for " + cfg.where("job.workers") + ": the stages' groups have " + std::to_string(sum) +
                        " workers (stage.NAME.workers); leave job.workers out with job.stages");
    }
    workers = sum;
  }
  const int rest = n - 1 - ingest - spares;
  if (brokers < 0 && workers < 0) {
    brokers = std::max(1, rest / 3);
    workers = rest - brokers;
  } else if (brokers < 0) {
    brokers = std::max(1, rest - workers);
  } else if (workers < 0) {
    workers = std::max(1, rest - brokers);
  }
  brokers = std::max(brokers, 1);  // auto never goes below one of each
  if (!cfg.multi_stage()) workers = std::max(workers, 1);
  const int needed = 1 + brokers + ingest + workers + spares;
  if (needed > n) {
    std::ostringstream os;
    os << "the roles need " << needed << " MPI ranks but mpirun gave " << n << ": 1 master + "
       << brokers << " broker(s) " << cfg.where("job.brokers") << " + " << ingest
       << " ingest " << cfg.where("job.ingest") << " + " << workers << " worker(s) "
       << cfg.where("job.workers") << " + " << spares << " spare(s) " << cfg.where("job.spares")
       << ". Start more ranks (mpirun -np) or lower these counts.";
    throw ConfigError(os.str());
  }
  spares += n - needed;  // ranks beyond the roles asked wait as spares

  RoleLayout l;
  l.world = n;
  l.replication = cfg.replication == -1 ? (brokers >= 2 ? 2 : 1) : cfg.replication;
  if (cfg.replication > brokers) {
    throw ConfigError("bad value for " + cfg.where("topic.replication") + ": " + std::to_string(cfg.replication) +
                      " copies of each partition need as many brokers, the job has " + std::to_string(brokers) +
                      " (" + cfg.where("job.brokers") + ")");
  }
  int r = 1;
  for (int i = 0; i < brokers; ++i) l.brokers.push_back(r++);
  for (int i = 0; i < ingest; ++i) l.ingest.push_back(r++);
  for (int i = 0; i < workers; ++i) l.workers.push_back(r++);
  for (int i = 0; i < spares; ++i) l.spares.push_back(r++);
  // One partition per worker, or with adaptive groups one per worker the group may grow to.
  const int extra = cfg.adaptive ? static_cast<int>(l.spares.size()) : 0;
  if (!cfg.multi_stage()) {
    l.partitions = cfg.partitions > 0 ? cfg.partitions : workers + extra;
    l.stage_first = {0};
    l.stage_partitions = {l.partitions};
    l.worker_stage.assign(l.workers.size(), 0);
    return l;
  }
  for (std::size_t s = 0; s < cfg.stages.size(); ++s) {
    const auto& st = cfg.stages[s];
    const int p = st.partitions > 0 ? st.partitions : std::max(1, st.workers + extra);
    l.stage_first.push_back(l.partitions);
    l.stage_partitions.push_back(p);
    l.partitions += p;
    for (int i = 0; i < st.workers; ++i) l.worker_stage.push_back(static_cast<int>(s));
  }
  return l;
}

int RoleLayout::stage_of_partition(int p) const {
  for (std::size_t s = stage_first.size(); s-- > 0;) {
    if (p >= stage_first[s]) return static_cast<int>(s);
  }
  return 0;
}

Role RoleLayout::role_of(int rank) const {
  if (rank == 0) return Role::master;
  auto in = [rank](const std::vector<int>& v) { return std::find(v.begin(), v.end(), rank) != v.end(); };
  if (in(brokers)) return Role::broker;
  if (in(ingest)) return Role::ingest;
  if (in(workers)) return Role::worker;
  return Role::spare;
}

int RoleLayout::index_in_role(int rank) const {
  for (const auto* v : {&brokers, &ingest, &workers, &spares}) {
    const auto it = std::find(v->begin(), v->end(), rank);
    if (it != v->end()) return static_cast<int>(it - v->begin());
  }
  return 0;
}

}  // namespace ride

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
  workers = std::max(workers, 1);
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
  int r = 1;
  for (int i = 0; i < brokers; ++i) l.brokers.push_back(r++);
  for (int i = 0; i < ingest; ++i) l.ingest.push_back(r++);
  for (int i = 0; i < workers; ++i) l.workers.push_back(r++);
  for (int i = 0; i < spares; ++i) l.spares.push_back(r++);
  // One partition per worker, or with adaptive groups one per worker the group may grow to.
  l.partitions = cfg.partitions > 0 ? cfg.partitions : workers + (cfg.adaptive ? static_cast<int>(l.spares.size()) : 0);
  return l;
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

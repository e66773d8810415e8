#pragma once
// Role layouts (and broker reports) for the master's tests: rank 0 master, 1 broker, 2 ingest, then workers and spares.
#include "core/protocol.h"
#include "core/role_layout.h"

namespace ride::test {

/// 1 master, 1 broker, 1 ingest, `workers` workers, `spares` spares; `partitions` partitions.
inline RoleLayout layout_of(int workers, int spares, int partitions) {
  RoleLayout l;
  l.world = 3 + workers + spares;
  l.brokers = {1};
  l.ingest = {2};
  for (int w = 0; w < workers; ++w) l.workers.push_back(3 + w);
  for (int s = 0; s < spares; ++s) l.spares.push_back(3 + workers + s);
  l.partitions = partitions;
  return l;
}

/// A broker's report on partition p: its log end and committed offset.
inline PartitionMetrics metrics(int p, std::uint64_t end, std::uint64_t committed) {
  PartitionMetrics pm;
  pm.partition = static_cast<std::uint32_t>(p);
  pm.end_offset = end;
  pm.committed = committed;
  return pm;
}

}  // namespace ride::test

#pragma once
/// @brief Where each partition of the topic lives: the master's placement, sent to brokers and
/// ingest ranks (PARTITION_MAP) before the job starts, and to workers with every ASSIGN. Brokers
/// host what the map gives them and ingest routes frames by it; nobody derives a placement
/// from a formula of their own. Pure.
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/buffer.h"

namespace ride {

class PartitionMap {
 public:
  PartitionMap() = default;
  explicit PartitionMap(std::vector<int> broker_of) : broker_of_(std::move(broker_of)) {}

  /// Partition p led by brokers[p mod B]: spreads partitions evenly, and neighbouring
  /// partitions (one per worker by default) on different brokers. With `replication` R > 1 each
  /// partition also has R - 1 followers (#14), on the brokers after its leader in turn, those
  /// on other hosts first (`host_of`: broker rank -> host; unknown = one host), so that a
  /// node's loss leaves a copy where there is another node. Throws ride::Error when R exceeds
  /// the brokers.
  static PartitionMap spread(int partitions, const std::vector<int>& brokers, int replication = 1,
                             const std::map<int, std::string>& host_of = {});

  int partitions() const { return static_cast<int>(broker_of_.size()); }
  /// The broker rank holding (leading) partition p (throws ride::Error for an unknown partition).
  int broker(int p) const;
  /// Partition p's replicas: its leader first, then its followers.
  std::vector<int> replicas(int p) const;
  /// Copies of each partition (1: no followers).
  int replication() const;
  /// The partitions a broker holds a copy of (leader or follower), in order.
  std::vector<int> replicas_on(int broker) const;
  /// The partitions a broker holds, in order.
  std::vector<int> partitions_on(int broker) const;
  /// The brokers leading some partition in `old` that hold no copy of any in this map: gone (a
  /// broker failover, #14). Senders stop waiting on them.
  std::set<int> leaders_gone_since(const PartitionMap& old) const;
  const std::vector<int>& brokers_by_partition() const { return broker_of_; }
  /// The leader epoch of partition p (#14): 1 at the start, raised by each election of a new
  /// leader; replicas refuse a leader of an older epoch.
  std::uint32_t leader_epoch(int p) const;
  /// Broker failover and re-replication (#14): p now lives on `replicas` (its leader first)
  /// under leader epoch `epoch`. Throws ride::Error for an empty list, a negative or repeated
  /// rank, or an epoch below the current one.
  void set_replicas(int p, const std::vector<int>& replicas, std::uint32_t epoch);

  /// PARTITION_MAP body: u32 count, u32 copies R, then for each partition its u32 leader epoch
  /// and R x i32: its leader rank, then its followers' (-1: none).
  Buffer encode() const;
  /// Throws ride::Error on a malformed body (short, trailing bytes, a negative rank).
  static PartitionMap decode(const Buffer& body);

  /// Same placement: the same replicas, in the same order, under the same leader epochs.
  bool operator==(const PartitionMap& o) const;

 private:
  std::vector<int> broker_of_;
  std::vector<std::vector<int>> followers_;  ///< by partition (empty: replication 1)
  std::vector<std::uint32_t> epochs_;         ///< leader epoch by partition (empty: all 1)
};

}  // namespace ride

#pragma once
/// @brief Where each partition of the topic lives: the master's placement, sent to brokers and
/// ingest ranks (PARTITION_MAP) before the job starts, and to workers with every ASSIGN. Brokers
/// host what the map gives them and ingest routes frames by it; nobody derives a placement
/// from a formula of their own. Pure.
#include <cstdint>
#include <vector>

#include "core/buffer.h"

namespace ride {

class PartitionMap {
 public:
  PartitionMap() = default;
  explicit PartitionMap(std::vector<int> broker_of) : broker_of_(std::move(broker_of)) {}

  /// Partition p on brokers[p mod B]: spreads partitions evenly, and neighbouring partitions
  /// (one per worker by default) on different brokers.
  static PartitionMap spread(int partitions, const std::vector<int>& brokers);

  int partitions() const { return static_cast<int>(broker_of_.size()); }
  /// The broker rank holding partition p (throws ride::Error for an unknown partition).
  int broker(int p) const;
  /// The partitions a broker holds, in order.
  std::vector<int> partitions_on(int broker) const;
  const std::vector<int>& brokers_by_partition() const { return broker_of_; }

  /// PARTITION_MAP body: u32 count, then count x i32 broker rank.
  Buffer encode() const;
  /// Throws ride::Error on a malformed body (short, trailing bytes, a negative rank).
  static PartitionMap decode(const Buffer& body);

  bool operator==(const PartitionMap&) const = default;

 private:
  std::vector<int> broker_of_;
};

}  // namespace ride

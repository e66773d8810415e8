#include "core/partition_map.h"

#include "core/error.h"
#include "core/protocol.h"

namespace ride {

PartitionMap PartitionMap::spread(int partitions, const std::vector<int>& brokers) {
  RIDE_EXPECTS(partitions >= 0, "a negative partition count: " << partitions);
  RIDE_EXPECTS(partitions == 0 || !brokers.empty(), "no broker to place " << partitions << " partitions on");
  std::vector<int> of(static_cast<std::size_t>(partitions));
  for (int p = 0; p < partitions; ++p) of[static_cast<std::size_t>(p)] = brokers[static_cast<std::size_t>(p) % brokers.size()];
  return PartitionMap(std::move(of));
}

int PartitionMap::broker(int p) const {
  RIDE_EXPECTS(p >= 0 && p < partitions(), "no partition " << p << " in a topic of " << partitions());
  return broker_of_[static_cast<std::size_t>(p)];
}

std::vector<int> PartitionMap::partitions_on(int broker) const {
  std::vector<int> out;
  for (int p = 0; p < partitions(); ++p) {
    if (broker_of_[static_cast<std::size_t>(p)] == broker) out.push_back(p);
  }
  return out;
}

Buffer PartitionMap::encode() const {
  BodyWriter w;
  w.pod(static_cast<std::uint32_t>(broker_of_.size()));
  for (int b : broker_of_) w.pod(static_cast<std::int32_t>(b));
  return w.finish();
}

PartitionMap PartitionMap::decode(const Buffer& body) {
  BodyReader r(body);
  const auto n = r.pod<std::uint32_t>();
  RIDE_EXPECTS(r.remaining() == std::size_t{n} * sizeof(std::int32_t),
               "partition map of " << n << " partitions carries " << r.remaining() << " bytes, expected "
                                   << std::size_t{n} * sizeof(std::int32_t));
  std::vector<int> of(n);
  for (auto& b : of) {
    b = r.pod<std::int32_t>();
    RIDE_EXPECTS(b >= 0, "partition map names broker rank " << b);
  }
  return PartitionMap(std::move(of));
}

}  // namespace ride

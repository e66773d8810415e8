#include "core/partition_map.h"

#include <algorithm>

#include "core/error.h"
#include "core/protocol.h"

namespace ride {

PartitionMap PartitionMap::spread(int partitions, const std::vector<int>& brokers, int replication,
                                  const std::map<int, std::string>& host_of) {
  RIDE_EXPECTS(partitions >= 0, "a negative partition count: " << partitions);
  RIDE_EXPECTS(partitions == 0 || !brokers.empty(), "no broker to place " << partitions << " partitions on");
  RIDE_EXPECTS(replication >= 1, "replication " << replication << " (at least 1)");
  RIDE_EXPECTS(partitions == 0 || replication <= static_cast<int>(brokers.size()),
               "replication " << replication << " needs as many brokers, there are " << brokers.size());
  const std::size_t nb = brokers.size();
  std::vector<int> of(static_cast<std::size_t>(partitions));
  for (int p = 0; p < partitions; ++p) of[static_cast<std::size_t>(p)] = brokers[static_cast<std::size_t>(p) % nb];
  PartitionMap m(std::move(of));
  if (replication == 1) return m;
  auto host = [&](int b) {
    const auto it = host_of.find(b);
    return it == host_of.end() ? std::string() : it->second;
  };
  m.followers_.resize(static_cast<std::size_t>(partitions));
  for (int p = 0; p < partitions; ++p) {
    const int leader = m.broker_of_[static_cast<std::size_t>(p)];
    std::vector<int>& fol = m.followers_[static_cast<std::size_t>(p)];
    std::vector<std::string> hosts{host(leader)};
    // First the brokers after the leader whose host holds no copy yet, then any others.
    for (int pass = 0; pass < 2 && static_cast<int>(fol.size()) < replication - 1; ++pass) {
      for (std::size_t k = 1; k < nb && static_cast<int>(fol.size()) < replication - 1; ++k) {
        const int b = brokers[(static_cast<std::size_t>(p) + k) % nb];
        if (std::find(fol.begin(), fol.end(), b) != fol.end()) continue;
        const bool new_host = std::find(hosts.begin(), hosts.end(), host(b)) == hosts.end();
        if (pass == 0 && !new_host) continue;
        fol.push_back(b);
        hosts.push_back(host(b));
      }
    }
  }
  return m;
}

std::vector<int> PartitionMap::replicas(int p) const {
  std::vector<int> out{broker(p)};
  if (!followers_.empty()) {
    const auto& f = followers_[static_cast<std::size_t>(p)];
    out.insert(out.end(), f.begin(), f.end());
  }
  return out;
}

int PartitionMap::replication() const {
  std::size_t most = 0;
  for (const auto& f : followers_) most = std::max(most, f.size());
  return 1 + static_cast<int>(most);
}

std::vector<int> PartitionMap::replicas_on(int broker) const {
  std::vector<int> out;
  for (int p = 0; p < partitions(); ++p) {
    const auto r = replicas(p);
    if (std::find(r.begin(), r.end(), broker) != r.end()) out.push_back(p);
  }
  return out;
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
  const int r = replication();
  w.pod(static_cast<std::uint32_t>(broker_of_.size())).pod(static_cast<std::uint32_t>(r));
  for (std::size_t p = 0; p < broker_of_.size(); ++p) {
    w.pod(static_cast<std::int32_t>(broker_of_[p]));
    for (int k = 0; k + 1 < r; ++k) {
      const auto& f = followers_[p];
      w.pod(static_cast<std::int32_t>(k < static_cast<int>(f.size()) ? f[static_cast<std::size_t>(k)] : -1));
    }
  }
  return w.finish();
}

PartitionMap PartitionMap::decode(const Buffer& body) {
  BodyReader r(body);
  const auto n = r.pod<std::uint32_t>();
  const auto rep = r.pod<std::uint32_t>();
  RIDE_EXPECTS(rep >= 1 && rep <= 64, "partition map with replication " << rep);
  const std::size_t want = std::size_t{n} * rep * sizeof(std::int32_t);
  RIDE_EXPECTS(r.remaining() == want, "partition map of " << n << " partitions x " << rep << " copies carries "
                                                          << r.remaining() << " bytes, expected " << want);
  std::vector<int> of(n);
  std::vector<std::vector<int>> followers(rep > 1 ? n : 0);
  for (std::uint32_t p = 0; p < n; ++p) {
    of[p] = r.pod<std::int32_t>();
    RIDE_EXPECTS(of[p] >= 0, "partition map names broker rank " << of[p]);
    for (std::uint32_t k = 0; k + 1 < rep; ++k) {
      const auto b = r.pod<std::int32_t>();
      RIDE_EXPECTS(b >= -1, "partition map names follower rank " << b);
      if (b >= 0) followers[p].push_back(b);
    }
  }
  PartitionMap m(std::move(of));
  m.followers_ = std::move(followers);
  return m;
}

}  // namespace ride

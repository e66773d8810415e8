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

std::uint32_t PartitionMap::leader_epoch(int p) const {
  RIDE_EXPECTS(p >= 0 && p < partitions(), "no partition " << p << " in a topic of " << partitions());
  return epochs_.empty() ? 1 : epochs_[static_cast<std::size_t>(p)];
}

void PartitionMap::set_replicas(int p, const std::vector<int>& replicas, std::uint32_t epoch) {
  RIDE_EXPECTS(p >= 0 && p < partitions(), "no partition " << p << " in a topic of " << partitions());
  RIDE_EXPECTS(!replicas.empty(), "partition " << p << " without a replica");
  for (std::size_t i = 0; i < replicas.size(); ++i) {
    RIDE_EXPECTS(replicas[i] >= 0, "partition " << p << ": broker rank " << replicas[i]);
    RIDE_EXPECTS(std::find(replicas.begin(), replicas.begin() + static_cast<std::ptrdiff_t>(i), replicas[i]) ==
                     replicas.begin() + static_cast<std::ptrdiff_t>(i),
                 "partition " << p << ": broker " << replicas[i] << " named twice");
  }
  RIDE_EXPECTS(epoch >= leader_epoch(p), "partition " << p << ": leader epoch " << epoch << " below " << leader_epoch(p));
  const auto i = static_cast<std::size_t>(p);
  if (epochs_.empty()) epochs_.assign(broker_of_.size(), 1);
  epochs_[i] = epoch;
  broker_of_[i] = replicas.front();
  if (followers_.empty()) followers_.resize(broker_of_.size());
  followers_[i].assign(replicas.begin() + 1, replicas.end());
}

std::set<int> PartitionMap::leaders_gone_since(const PartitionMap& old) const {
  std::set<int> holding, gone;
  for (int p = 0; p < partitions(); ++p) {
    for (int b : replicas(p)) holding.insert(b);
  }
  for (int p = 0; p < old.partitions(); ++p) {
    if (!holding.count(old.broker(p))) gone.insert(old.broker(p));
  }
  return gone;
}

bool PartitionMap::operator==(const PartitionMap& o) const {
  if (partitions() != o.partitions()) return false;
  for (int p = 0; p < partitions(); ++p) {
    if (replicas(p) != o.replicas(p) || leader_epoch(p) != o.leader_epoch(p)) return false;
  }
  return true;
}

Buffer PartitionMap::encode() const {
  BodyWriter w;
  const int r = replication();
  w.pod(static_cast<std::uint32_t>(broker_of_.size())).pod(static_cast<std::uint32_t>(r));
  for (std::size_t p = 0; p < broker_of_.size(); ++p) {
    w.pod(epochs_.empty() ? std::uint32_t{1} : epochs_[p]);
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
  const std::size_t want = std::size_t{n} * (sizeof(std::uint32_t) + rep * sizeof(std::int32_t));
  RIDE_EXPECTS(r.remaining() == want, "partition map of " << n << " partitions x " << rep << " copies carries "
                                                          << r.remaining() << " bytes, expected " << want);
  std::vector<int> of(n);
  std::vector<std::vector<int>> followers(rep > 1 ? n : 0);
  std::vector<std::uint32_t> epochs(n);
  bool raised = false;
  for (std::uint32_t p = 0; p < n; ++p) {
    epochs[p] = r.pod<std::uint32_t>();
    RIDE_EXPECTS(epochs[p] >= 1, "partition map with leader epoch 0");
    raised = raised || epochs[p] != 1;
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
  if (raised) m.epochs_ = std::move(epochs);
  return m;
}

}  // namespace ride

#include <gtest/gtest.h>

#include <set>

#include "core/error.h"
#include "core/partition_map.h"
#include "core/protocol.h"

#include <algorithm>
#include <cstring>

namespace ride {
namespace {

TEST(PartitionMap, SpreadsPartitionsOverBrokersInTurn) {
  const auto m = PartitionMap::spread(7, {1, 2, 3});
  EXPECT_EQ(m.partitions(), 7);
  EXPECT_EQ(m.brokers_by_partition(), (std::vector<int>{1, 2, 3, 1, 2, 3, 1}));
  EXPECT_EQ(m.partitions_on(1), (std::vector<int>{0, 3, 6}));
  EXPECT_EQ(m.partitions_on(3), (std::vector<int>{2, 5}));
  EXPECT_TRUE(m.partitions_on(9).empty());
  EXPECT_EQ(m.broker(4), 2);
  EXPECT_THROW((void)m.broker(7), Error);
  EXPECT_THROW((void)m.broker(-1), Error);
  EXPECT_THROW(PartitionMap::spread(2, {}), Error);
  EXPECT_EQ(PartitionMap::spread(0, {}).partitions(), 0);
}

TEST(PartitionMap, RoundTripsThroughItsMessage) {
  const PartitionMap m({5, 1, 1, 9, 2});
  const Buffer b = m.encode();
  EXPECT_EQ(b.size(), 8u + 5u * (4u + 4u));  // leader epoch and leader per partition
  EXPECT_EQ(PartitionMap::decode(b), m);
  EXPECT_EQ(PartitionMap::decode(PartitionMap().encode()).partitions(), 0);
}

TEST(PartitionMap, MalformedMessagesAreErrors) {
  const Buffer good = PartitionMap({1, 2, 3}).encode();
  for (std::size_t n = 0; n < good.size(); ++n) {  // every truncation
    Buffer cut(n);
    if (n) std::memcpy(cut.data(), good.data(), n);
    EXPECT_THROW(PartitionMap::decode(cut), Error) << n << " bytes";
  }
  const Buffer longer = BodyWriter().pod(std::uint32_t{1}).pod(std::uint32_t{1}).pod(std::uint32_t{1}).pod(std::int32_t{1}).pod(std::int32_t{2}).finish();
  EXPECT_THROW(PartitionMap::decode(longer), Error);
  const Buffer negative = BodyWriter().pod(std::uint32_t{1}).pod(std::uint32_t{1}).pod(std::uint32_t{1}).pod(std::int32_t{-4}).finish();
  EXPECT_THROW(PartitionMap::decode(negative), Error);
  const Buffer epoch0 = BodyWriter().pod(std::uint32_t{1}).pod(std::uint32_t{1}).pod(std::uint32_t{0}).pod(std::int32_t{4}).finish();
  EXPECT_THROW(PartitionMap::decode(epoch0), Error) << "leader epoch 0";
}

TEST(PartitionMap, FollowersOnTheBrokersAfterTheLeaderOtherHostsFirst) {
  // One host: followers are the next brokers in turn.
  const auto m = PartitionMap::spread(4, {1, 2, 3}, 2);
  EXPECT_EQ(m.replication(), 2);
  EXPECT_EQ(m.replicas(0), (std::vector<int>{1, 2}));
  EXPECT_EQ(m.replicas(1), (std::vector<int>{2, 3}));
  EXPECT_EQ(m.replicas(2), (std::vector<int>{3, 1}));
  EXPECT_EQ(m.replicas(3), (std::vector<int>{1, 2}));
  EXPECT_EQ(m.broker(2), 3) << "the leader is what broker() names";
  EXPECT_EQ(m.replicas_on(1), (std::vector<int>{0, 2, 3}));
  EXPECT_EQ(m.partitions_on(1), (std::vector<int>{0, 3})) << "partitions_on: led here";
  // Brokers 1, 2 on node a, 3, 4 on node b: every follower on the other node.
  const std::map<int, std::string> hosts{{1, "a"}, {2, "a"}, {3, "b"}, {4, "b"}};
  const auto h = PartitionMap::spread(8, {1, 2, 3, 4}, 2, hosts);
  for (int p = 0; p < 8; ++p) {
    const auto r = h.replicas(p);
    ASSERT_EQ(r.size(), 2u);
    EXPECT_NE(hosts.at(r[0]), hosts.at(r[1])) << "partition " << p;
  }
  // Replication 3 over 3 brokers on 2 hosts: both hosts first, then the third broker.
  const auto three = PartitionMap::spread(3, {1, 2, 3}, 3, {{1, "a"}, {2, "a"}, {3, "b"}});
  EXPECT_EQ(three.replicas(0), (std::vector<int>{1, 3, 2}));
  for (int p = 0; p < 3; ++p) {
    auto r = three.replicas(p);
    std::sort(r.begin(), r.end());
    EXPECT_EQ(r, (std::vector<int>{1, 2, 3}));
  }
  EXPECT_THROW(PartitionMap::spread(2, {1, 2}, 3), Error) << "more copies than brokers";
  EXPECT_THROW(PartitionMap::spread(2, {1, 2}, 0), Error);
  EXPECT_EQ(PartitionMap::spread(5, {1, 2}).replication(), 1);
}

TEST(PartitionMap, FollowersRoundTripThroughItsMessage) {
  const auto m = PartitionMap::spread(5, {1, 2, 3, 4}, 3);
  const Buffer b = m.encode();
  EXPECT_EQ(b.size(), 8u + 5u * (4u + 3u * 4u));
  const PartitionMap d = PartitionMap::decode(b);
  EXPECT_EQ(d, m);
  for (int p = 0; p < 5; ++p) EXPECT_EQ(d.replicas(p), m.replicas(p));
  for (std::size_t n = 0; n < b.size(); ++n) {  // every truncation is an error
    Buffer cut(n);
    if (n) std::memcpy(cut.data(), b.data(), n);
    EXPECT_THROW(PartitionMap::decode(cut), Error) << n << " bytes";
  }
  const Buffer no_copies = BodyWriter().pod(std::uint32_t{1}).pod(std::uint32_t{0}).finish();
  EXPECT_THROW(PartitionMap::decode(no_copies), Error) << "replication 0";
  const Buffer bad_follower =
      BodyWriter().pod(std::uint32_t{1}).pod(std::uint32_t{2}).pod(std::uint32_t{1}).pod(std::int32_t{1}).pod(std::int32_t{-3}).finish();
  EXPECT_THROW(PartitionMap::decode(bad_follower), Error);
}

TEST(PartitionMap, FailoverMovesTheLeaderUnderANewEpochAndRoundTrips) {
  auto m = PartitionMap::spread(3, {1, 2, 3}, 2);
  EXPECT_EQ(m.leader_epoch(0), 1u);
  // Broker 1 died: partition 0's follower 2 leads under epoch 2, and 3 is its new follower;
  // partition 2 (3 led, 1 followed) keeps its leader and gets follower 2.
  m.set_replicas(0, {2, 3}, 2);
  m.set_replicas(2, {3, 2}, 1);
  EXPECT_EQ(m.broker(0), 2);
  EXPECT_EQ(m.replicas(0), (std::vector<int>{2, 3}));
  EXPECT_EQ(m.leader_epoch(0), 2u);
  EXPECT_EQ(m.leader_epoch(1), 1u);
  EXPECT_EQ(m.replicas_on(1), std::vector<int>{});
  EXPECT_EQ(m.leaders_gone_since(PartitionMap::spread(3, {1, 2, 3}, 2)), std::set<int>{1});
  EXPECT_TRUE(m.leaders_gone_since(m).empty());
  const PartitionMap d = PartitionMap::decode(m.encode());
  EXPECT_EQ(d, m);
  EXPECT_EQ(d.leader_epoch(0), 2u);
  // A partition left with its leader alone still round-trips (-1 fills the missing copies).
  m.set_replicas(1, {3}, 2);
  EXPECT_EQ(PartitionMap::decode(m.encode()).replicas(1), std::vector<int>{3});
  EXPECT_THROW(m.set_replicas(0, {}, 3), Error);
  EXPECT_THROW(m.set_replicas(0, {2, 2}, 3), Error);
  EXPECT_THROW(m.set_replicas(0, {2, 3}, 1), Error) << "an epoch never goes back";
  EXPECT_THROW(m.set_replicas(7, {2}, 3), Error);
  // A map of one copy per partition fails over too (nothing to elect, but the map is valid).
  auto one = PartitionMap::spread(2, {1, 2});
  one.set_replicas(1, {1}, 2);
  EXPECT_EQ(PartitionMap::decode(one.encode()), one);
}

}  // namespace
}  // namespace ride

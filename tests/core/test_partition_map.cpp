#include <gtest/gtest.h>

#include "core/error.h"
#include "core/partition_map.h"
#include "core/protocol.h"

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
  EXPECT_EQ(b.size(), 4u + 5u * 4u);
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
  const Buffer longer = BodyWriter().pod(std::uint32_t{1}).pod(std::int32_t{1}).pod(std::int32_t{2}).finish();
  EXPECT_THROW(PartitionMap::decode(longer), Error);
  const Buffer negative = BodyWriter().pod(std::uint32_t{1}).pod(std::int32_t{-4}).finish();
  EXPECT_THROW(PartitionMap::decode(negative), Error);
}

}  // namespace
}  // namespace ride

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>
#include <set>

#include "core/error.h"
#include "core/key_ranges.h"
#include "core/protocol.h"
#include "support/key_members.h"

namespace ride {
namespace {

using test::members;

/// A body of little-endian 32-bit words (a u64 is two: low, high).
Buffer words(const std::vector<std::uint32_t>& w) {
  Buffer b(w.size() * 4);
  std::memcpy(b.data(), w.data(), b.size());
  return b;
}

TEST(KeyRanges, AscendingKeysMakeOneRangePerRun) {
  KeyRanges k;
  for (std::uint64_t s = 0; s < 1000; ++s) k.add(3, s);
  for (std::uint64_t s = 1005; s < 1010; ++s) k.add(3, s);
  ASSERT_EQ(k.streams().at(3).size(), 2u);
  EXPECT_EQ(k.count(3), 1005u);
  EXPECT_EQ(k.count(), 1005u);
  EXPECT_EQ(members(k, 3, 0, 2), "11");
  EXPECT_EQ(members(k, 3, 998, 1011), "1100000111110");  // 998..999 held, 1000..1004 not, 1005..1009 held
  EXPECT_EQ(members(k, 2, 0, 1), "0");
  EXPECT_EQ(k.end(3), 1010u);
  EXPECT_EQ(k.end(7), 0u);
}

TEST(KeyRanges, KeysInAnyOrderMatchASet) {
  std::mt19937_64 rng(7);
  KeyRanges k;
  std::set<std::pair<std::uint32_t, std::uint64_t>> ref;
  for (int i = 0; i < 5000; ++i) {
    const auto stream = static_cast<std::uint32_t>(rng() % 3);
    const std::uint64_t seq = rng() % 400;
    if (i % 7 == 0) {
      const std::uint64_t n = rng() % 9;
      k.add_range(stream, seq, seq + n);
      for (std::uint64_t s = seq; s < seq + n; ++s) ref.insert({stream, s});
    } else {
      k.add(stream, seq);
      ref.insert({stream, seq});
    }
  }
  EXPECT_EQ(k.count(), ref.size());
  for (std::uint32_t st = 0; st < 3; ++st) {
    const auto& r = k.streams().at(st);
    for (std::size_t i = 0; i < r.size(); ++i) {
      EXPECT_LT(r[i].first, r[i].second);
      if (i > 0) {
        EXPECT_GT(r[i].first, r[i - 1].second) << "ranges must be disjoint and never adjacent";
      }
    }
    for (std::uint64_t s = 0; s < 420; ++s) EXPECT_EQ(k.contains(st, s), ref.count({st, s}) > 0) << st << ":" << s;
  }
}

TEST(KeyRanges, RoundTripsThroughItsCodec) {
  KeyRanges k;
  k.add_range(0, 0, 100);
  k.add_range(0, 200, 201);
  k.add_range(5, 7, 9);
  k.add(1u << 31, ~std::uint64_t{0} - 1);
  EXPECT_EQ(KeyRanges::decode(k.encode()), k);
  EXPECT_EQ(KeyRanges::decode(KeyRanges().encode()), KeyRanges());
}

TEST(KeyRanges, MalformedBodiesAreRefused) {
  KeyRanges k;
  k.add_range(2, 10, 20);
  k.add_range(2, 30, 40);
  const Buffer good = k.encode();
  Buffer cut(good.size() - 1);
  std::memcpy(cut.data(), good.data(), cut.size());
  EXPECT_THROW(KeyRanges::decode(cut), Error);
  // Overlapping ranges: the second starts inside the first.
  EXPECT_THROW(KeyRanges::decode(words({1, 2, 2, 10, 0, 20, 0, 15, 0, 25, 0})), Error);
  // Adjacent ranges must have been merged.
  EXPECT_THROW(KeyRanges::decode(words({1, 2, 2, 10, 0, 20, 0, 20, 0, 25, 0})), Error);
  // One well-formed stream, then bytes left over.
  EXPECT_NO_THROW(KeyRanges::decode(words({1, 2, 1, 10, 0, 20, 0})));
  EXPECT_THROW(KeyRanges::decode(words({1, 2, 1, 10, 0, 20, 0, 0})), Error);
}

}  // namespace
}  // namespace ride

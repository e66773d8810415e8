#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "core/aggregates.h"
#include "core/error.h"

namespace ride {
namespace {

TEST(ScalarAggregates, CountsSumsMinMaxPerStreamSkippingNaN) {
  ScalarAggregates a(2, 2);
  const double f0[] = {1.0, std::nan("")};
  const double f1[] = {3.0, -2.0};
  a.add(0, f0);
  a.add(0, f1);
  a.add(4, f1);  // a stream past the ones sized for
  EXPECT_EQ(a.streams(), 5u);
  EXPECT_EQ(a.count(0, 0), 2u);
  EXPECT_DOUBLE_EQ(a.sum(0, 0), 4.0);
  EXPECT_DOUBLE_EQ(a.min(0, 0), 1.0);
  EXPECT_DOUBLE_EQ(a.max(0, 0), 3.0);
  EXPECT_EQ(a.count(0, 1), 1u);  // NaN not counted
  EXPECT_DOUBLE_EQ(a.min(0, 1), -2.0);
  EXPECT_EQ(a.count(1, 0), 0u);
  EXPECT_EQ(a.min(1, 0), std::numeric_limits<double>::infinity());
  EXPECT_EQ(a.count(4, 1), 1u);
}

TEST(ScalarAggregates, MergeIsWhatAReductionComputes) {
  ScalarAggregates a(1, 1), b(3, 1), both(1, 1);
  const double x[] = {5.0}, y[] = {-1.0}, z[] = {7.0};
  a.add(0, x);
  b.add(0, y);
  b.add(2, z);
  both.add(0, x);
  both.add(0, y);
  both.add(2, z);
  a.merge(b);
  EXPECT_EQ(a, both);
  EXPECT_THROW(a.merge(ScalarAggregates(1, 2)), Error);
}

TEST(ScalarAggregates, AggregatesMessageRoundTrip) {
  ScalarAggregates a(3, 2);
  const double v[] = {1.5, 2.5};
  a.add(1, v);
  const auto d = ScalarAggregates::decode(a.encode(2, {3, 5, 9}, ScalarAggregates::Method::nccl));
  EXPECT_EQ(d.stage, 2);
  EXPECT_EQ(d.method, ScalarAggregates::Method::nccl);
  EXPECT_EQ(ScalarAggregates::decode(a.encode(0, {1})).method, ScalarAggregates::Method::mpi);
  EXPECT_EQ(d.members, (std::vector<int>{3, 5, 9}));
  EXPECT_EQ(d.aggregates, a);
  Buffer cut = a.encode(0, {1});
  Buffer shorter(cut.size() - 8);
  std::memcpy(shorter.data(), cut.data(), shorter.size());
  EXPECT_THROW(ScalarAggregates::decode(shorter), Error);
}

TEST(ScalarAggregates, ReduceRequestRoundTrip) {
  const std::vector<std::vector<int>> m = {{3, 4}, {}, {5}};
  EXPECT_EQ(decode_reduce_request(encode_reduce_request(m)), m);
  Buffer b = encode_reduce_request(m);
  Buffer longer(b.size() + 1);
  std::memcpy(longer.data(), b.data(), b.size());
  EXPECT_THROW(decode_reduce_request(longer), Error);
}

}  // namespace
}  // namespace ride

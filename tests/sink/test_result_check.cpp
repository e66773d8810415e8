#include "sink/result_check.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

namespace ride {
namespace {

using Key = std::pair<std::uint32_t, std::uint64_t>;

ResultRecord row(std::uint32_t stream, std::uint64_t sequence,
                 ResultStatus status = ResultStatus::ok) {
  ResultRecord r;
  r.stream = stream;
  r.sequence = sequence;
  r.status = status;
  return r;
}

/// All keys of `expected`, in a scrambled order (the sink sees them interleaved).
std::vector<ResultRecord> complete_rows(const std::map<std::uint32_t, std::uint64_t>& expected) {
  std::vector<ResultRecord> rows;
  for (const auto& [stream, count] : expected) {
    for (std::uint64_t s = 0; s < count; ++s) rows.push_back(row(stream, s));
  }
  std::shuffle(rows.begin(), rows.end(), std::mt19937_64(42));
  return rows;
}

/// The check's counts in one line, to compare at once.
std::string tally(const ResultCheck& c) {
  return "unique=" + std::to_string(c.unique) + " lost=" + std::to_string(c.lost) +
         " duplicates=" + std::to_string(c.duplicates) + " unexpected=" + std::to_string(c.unexpected) +
         " failed=" + std::to_string(c.failed);
}

void expect_invariants(const ResultCheck& c, std::size_t rows) {
  EXPECT_EQ(c.unique + c.duplicates + c.unexpected, rows);
  EXPECT_EQ(c.expected, c.unique + c.lost);
  EXPECT_LE(c.failed, c.unique);
  EXPECT_LE(c.first_lost.size(), kMaxReportedLost);
  EXPECT_EQ(c.first_lost.size(), std::min<std::uint64_t>(c.lost, kMaxReportedLost));
}

TEST(ResultCheck, Complete) {
  const std::map<std::uint32_t, std::uint64_t> expected = {{0, 100}, {3, 50}, {7, 1}};
  const auto rows = complete_rows(expected);
  const ResultCheck c = check_results(rows, expected);
  EXPECT_EQ(c.expected, 151U);
  EXPECT_EQ(tally(c), "unique=151 lost=0 duplicates=0 unexpected=0 failed=0");
  EXPECT_TRUE(c.first_lost.empty());
  expect_invariants(c, rows.size());
}

TEST(ResultCheck, Empty) {
  const ResultCheck nothing = check_results({}, {});
  EXPECT_EQ(nothing.expected, 0U);
  EXPECT_EQ(nothing.unique + nothing.lost + nothing.duplicates + nothing.unexpected, 0U);
  EXPECT_TRUE(nothing.first_lost.empty());

  // Frames ingested, no result at all: everything lost, the first 20 named in key order.
  const std::map<std::uint32_t, std::uint64_t> expected = {{1, 3}, {2, 100}, {5, 0}};
  const ResultCheck c = check_results({}, expected);
  EXPECT_EQ(c.expected, 103U);
  EXPECT_EQ(c.lost, 103U);
  ASSERT_EQ(c.first_lost.size(), kMaxReportedLost);
  EXPECT_EQ(c.first_lost[0], Key(1, 0));
  EXPECT_EQ(c.first_lost[2], Key(1, 2));
  EXPECT_EQ(c.first_lost[3], Key(2, 0));
  EXPECT_EQ(c.first_lost[19], Key(2, 16));
  expect_invariants(c, 0);

  // Rows, nothing ingested: every row is unexpected.
  const ResultCheck u = check_results({row(0, 0), row(0, 0), row(4, 9)}, {});
  EXPECT_EQ(u.unexpected, 3U);
  EXPECT_EQ(u.duplicates, 0U);
  expect_invariants(u, 3);
}

TEST(ResultCheck, Lost) {
  const std::map<std::uint32_t, std::uint64_t> expected = {{0, 10}, {1, 10}, {2, 5}};
  std::vector<ResultRecord> rows;
  for (const auto& r : complete_rows(expected)) {
    const bool drop = (r.stream == 0 && (r.sequence == 0 || r.sequence == 9)) ||
                      (r.stream == 1 && r.sequence >= 4 && r.sequence <= 6) || r.stream == 2;
    if (!drop) rows.push_back(r);
  }
  const ResultCheck c = check_results(rows, expected);
  EXPECT_EQ(c.lost, 2U + 3U + 5U);
  EXPECT_EQ(c.unique, 25U - 10U);
  EXPECT_EQ(c.first_lost,
            (std::vector<Key>{
                {0, 0}, {0, 9}, {1, 4}, {1, 5}, {1, 6}, {2, 0}, {2, 1}, {2, 2}, {2, 3}, {2, 4}}));
  expect_invariants(c, rows.size());
}

TEST(ResultCheck, Duplicates) {
  const std::map<std::uint32_t, std::uint64_t> expected = {{0, 10}, {1, 10}};
  auto rows = complete_rows(expected);
  rows.push_back(row(0, 3));  // a replay after a takeover
  rows.push_back(row(0, 3));
  rows.push_back(row(1, 9));
  const ResultCheck c = check_results(rows, expected);
  EXPECT_EQ(tally(c), "unique=20 lost=0 duplicates=3 unexpected=0 failed=0");
  expect_invariants(c, rows.size());
}

TEST(ResultCheck, Unexpected) {
  const std::map<std::uint32_t, std::uint64_t> expected = {{0, 10}, {2, 10}};
  auto rows = complete_rows(expected);
  rows.push_back(row(0, 10));  // past the ingested count
  rows.push_back(row(0, 10));  // every row of a foreign key is unexpected, none a duplicate
  rows.push_back(row(1, 0));   // a stream between two ingested ones
  rows.push_back(row(9, 0));   // a stream after all ingested ones
  rows.push_back(row(2, ~std::uint64_t{0}));
  const ResultCheck c = check_results(rows, expected);
  EXPECT_EQ(tally(c), "unique=20 lost=0 duplicates=0 unexpected=5 failed=0");
  expect_invariants(c, rows.size());
}

TEST(ResultCheck, Failed) {
  const std::map<std::uint32_t, std::uint64_t> expected = {{0, 10}};
  auto rows = complete_rows(expected);
  for (auto& r : rows) {
    if (r.sequence == 2 || r.sequence == 5) r.status = ResultStatus::task_error;
  }
  rows.push_back(row(0, 5, ResultStatus::ok));          // retried and succeeded: not failed
  rows.push_back(row(0, 2, ResultStatus::task_error));  // failed twice: one failed key
  const ResultCheck c = check_results(rows, expected);
  EXPECT_EQ(tally(c), "unique=10 lost=0 duplicates=2 unexpected=0 failed=1");
  expect_invariants(c, rows.size());
}

TEST(ResultCheck, MillionRowsIsFast) {
  std::map<std::uint32_t, std::uint64_t> expected;
  for (std::uint32_t s = 0; s < 64; ++s) expected[s * 1000] = 15'625;  // 10^6 keys
  auto rows = complete_rows(expected);
  rows.erase(rows.begin() + 10);  // one lost
  rows.push_back(rows[0]);        // one duplicate
  rows.push_back(row(1, 0));      // one unexpected
  const auto start = std::chrono::steady_clock::now();
  const ResultCheck c = check_results(rows, expected);
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  std::printf("[ result_check ] %zu rows checked in %.1f ms\n", rows.size(), ms);
  EXPECT_EQ(c.expected, 1'000'000U);
  EXPECT_EQ(c.lost, 1U);
  EXPECT_EQ(c.duplicates, 1U);
  EXPECT_EQ(c.unexpected, 1U);
  expect_invariants(c, rows.size());
}

}  // namespace
TEST(ResultCheck, AgainstExplicitKeys) {
  // A later stage expects exactly the keys its input stage forwarded: (0,1), (0,4), (2,0).
  const std::vector<std::pair<std::uint32_t, std::uint64_t>> want = {{2, 0}, {0, 4}, {0, 1}, {0, 4}};
  ResultRecord failed = row(2, 0);
  failed.status = ResultStatus::task_error;
  const ResultCheck c = check_result_keys({row(0, 4), row(0, 4), row(0, 2), failed}, want);
  EXPECT_EQ(c.expected, 3U);  // the repeated (0,4) counts once
  EXPECT_EQ(c.unique, 2U);
  EXPECT_EQ(c.duplicates, 1U);
  EXPECT_EQ(c.unexpected, 1U);  // (0,2) was never forwarded
  EXPECT_EQ(c.failed, 1U);
  EXPECT_EQ(c.lost, 1U);
  ASSERT_EQ(c.first_lost.size(), 1U);
  EXPECT_EQ(c.first_lost[0], (std::pair<std::uint32_t, std::uint64_t>{0, 1}));
  const ResultCheck none = check_result_keys({}, {});
  EXPECT_EQ(none.expected + none.unique + none.lost, 0U);
}

}  // namespace ride

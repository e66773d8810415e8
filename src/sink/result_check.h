#pragma once
/// @brief Checks a run's result rows against what was ingested: lost, duplicate, unexpected and
/// failed frames. Pure logic, no HDF5: feed it ResultFile::rows.
#include <cstddef>
#include <cstdint>
#include <map>
#include <utility>
#include <vector>

#include "sink/result_store.h"

namespace ride {

/// @brief Counts over keys (stream, sequence). Every row is exactly one of: the first row of an
/// ingested key (counted in `unique`), a repeat of one (`duplicates`), or a row whose key was
/// never ingested (`unexpected`); so rows.size() == unique + duplicates + unexpected, and
/// lost == expected - unique.
struct ResultCheck {
  std::uint64_t expected = 0;    ///< keys ingested: sum of expected_per_stream
  std::uint64_t unique = 0;      ///< ingested keys with at least one row
  std::uint64_t lost = 0;        ///< ingested keys with no row
  std::uint64_t duplicates = 0;  ///< rows beyond the first for an ingested key
  std::uint64_t unexpected = 0;  ///< rows whose key was never ingested
  std::uint64_t failed = 0;      ///< ingested keys with no ok row and a task_error row
  std::uint64_t dropped = 0;     ///< ingested keys with no ok row, dropped by a drop policy
  std::vector<std::pair<std::uint32_t, std::uint64_t>> first_lost;  ///< up to 20, by key order
};

/// Maximum number of keys reported in ResultCheck::first_lost.
constexpr std::size_t kMaxReportedLost = 20;

/// @brief expected_per_stream[s] = number of frames ingested for stream s, i.e. sequences
/// 0..n-1. O(R log R) in the number of rows and independent of the expected counts' size.
ResultCheck check_results(const std::vector<ResultRecord>& rows,
                          const std::map<std::uint32_t, std::uint64_t>& expected_per_stream);

/// @brief The same against an explicit set of keys (a later stage of a pipeline expects exactly
/// the keys its input stage forwarded). `expected_keys` need not be sorted; repeats count once.
ResultCheck check_result_keys(const std::vector<ResultRecord>& rows,
                              std::vector<std::pair<std::uint32_t, std::uint64_t>> expected_keys);

}  // namespace ride

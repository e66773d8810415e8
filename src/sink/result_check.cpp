#include "sink/result_check.h"

#include <algorithm>

namespace ride {
namespace {

struct Key {
  std::uint32_t stream;
  ResultStatus status;
  std::uint64_t sequence;
};

/// Appends the lost sequences [from, to) of `stream` to `out`, up to kMaxReportedLost in all.
void report_lost(std::uint32_t stream, std::uint64_t from, std::uint64_t to,
                 std::vector<std::pair<std::uint32_t, std::uint64_t>>& out) {
  for (std::uint64_t s = from; s < to && out.size() < kMaxReportedLost; ++s) {
    out.emplace_back(stream, s);
  }
}

}  // namespace

ResultCheck check_results(const std::vector<ResultRecord>& rows,
                          const std::map<std::uint32_t, std::uint64_t>& expected_per_stream) {
  ResultCheck check;
  for (const auto& [stream, count] : expected_per_stream) check.expected += count;

  // 16-byte keys sort far faster than the 136-byte rows, and a sort beats a node per row.
  std::vector<Key> keys;
  keys.reserve(rows.size());
  for (const auto& r : rows) keys.push_back({r.stream, r.status, r.sequence});
  std::sort(keys.begin(), keys.end(), [](const Key& a, const Key& b) {
    return a.stream != b.stream ? a.stream < b.stream : a.sequence < b.sequence;
  });

  // Walk the sorted keys and the expected streams together (both ascending by stream).
  auto expected_it = expected_per_stream.begin();
  std::size_t i = 0;
  while (i < keys.size() || expected_it != expected_per_stream.end()) {
    const bool have_keys = i < keys.size();
    if (expected_it != expected_per_stream.end() &&
        (!have_keys || expected_it->first <= keys[i].stream)) {
      // An ingested stream: classify its rows, and find the gaps in 0..count-1.
      const std::uint32_t stream = expected_it->first;
      const std::uint64_t count = expected_it->second;
      std::uint64_t next_expected = 0;  // lowest sequence not yet seen
      while (i < keys.size() && keys[i].stream == stream) {
        const std::uint64_t sequence = keys[i].sequence;
        std::size_t end = i;
        bool any_ok = false, any_dropped = false;
        while (end < keys.size() && keys[end].stream == stream && keys[end].sequence == sequence) {
          any_ok = any_ok || keys[end].status == ResultStatus::ok;
          any_dropped = any_dropped || keys[end].status == ResultStatus::dropped;
          ++end;
        }
        const std::uint64_t group = end - i;
        if (sequence >= count) {
          check.unexpected += group;
        } else {
          report_lost(stream, next_expected, sequence, check.first_lost);
          next_expected = sequence + 1;
          ++check.unique;
          check.duplicates += group - 1;
          if (!any_ok) ++(any_dropped ? check.dropped : check.failed);
        }
        i = end;
      }
      report_lost(stream, next_expected, count, check.first_lost);
      ++expected_it;
    } else {
      // A stream that was never ingested: every one of its rows is unexpected.
      const std::uint32_t stream = keys[i].stream;
      while (i < keys.size() && keys[i].stream == stream) {
        ++check.unexpected;
        ++i;
      }
    }
  }
  check.lost = check.expected - check.unique;
  return check;
}

ResultCheck check_result_keys(const std::vector<ResultRecord>& rows,
                              std::vector<std::pair<std::uint32_t, std::uint64_t>> expected_keys) {
  ResultCheck check;
  std::sort(expected_keys.begin(), expected_keys.end());
  expected_keys.erase(std::unique(expected_keys.begin(), expected_keys.end()), expected_keys.end());
  check.expected = expected_keys.size();
  std::vector<Key> keys;
  keys.reserve(rows.size());
  for (const auto& r : rows) keys.push_back({r.stream, r.status, r.sequence});
  std::sort(keys.begin(), keys.end(), [](const Key& a, const Key& b) {
    return a.stream != b.stream ? a.stream < b.stream : a.sequence < b.sequence;
  });
  std::size_t e = 0;
  for (std::size_t i = 0; i < keys.size();) {
    const std::pair<std::uint32_t, std::uint64_t> key{keys[i].stream, keys[i].sequence};
    std::size_t end = i;
    bool any_ok = false, any_dropped = false;
    while (end < keys.size() && keys[end].stream == key.first && keys[end].sequence == key.second) {
      any_ok = any_ok || keys[end].status == ResultStatus::ok;
      any_dropped = any_dropped || keys[end].status == ResultStatus::dropped;
      ++end;
    }
    while (e < expected_keys.size() && expected_keys[e] < key) {
      if (check.first_lost.size() < kMaxReportedLost) check.first_lost.push_back(expected_keys[e]);
      ++e;
    }
    const std::uint64_t group = end - i;
    if (e < expected_keys.size() && expected_keys[e] == key) {
      ++check.unique;
      check.duplicates += group - 1;
      if (!any_ok) ++(any_dropped ? check.dropped : check.failed);
      ++e;
    } else {
      check.unexpected += group;
    }
    i = end;
  }
  for (; e < expected_keys.size() && check.first_lost.size() < kMaxReportedLost; ++e) check.first_lost.push_back(expected_keys[e]);
  check.lost = check.expected - check.unique;
  return check;
}

}  // namespace ride

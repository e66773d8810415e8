#pragma once
/// @brief A set of frame keys (stream, sequence) held as sorted, disjoint sequence ranges per
/// stream: what a resumed job (#14, `job.resume`) already holds in its results file. The master
/// builds it from the journal, ingest passes over its keys; RESUME_KEYS carries it (one codec,
/// with a round-trip test). A run's stored keys are mostly one range per stream, so it stays
/// small however long the run was.
#include <cstdint>
#include <map>
#include <utility>
#include <vector>

#include "core/buffer.h"

namespace ride {

class KeyRanges {
 public:
  /// Half-open [first, end) ranges of one stream, ascending and disjoint (never adjacent).
  using Ranges = std::vector<std::pair<std::uint64_t, std::uint64_t>>;

  /// Adds one key. Amortised O(1) when keys of a stream come in ascending order (the usual
  /// case: built from a sorted walk); O(ranges) otherwise.
  void add(std::uint32_t stream, std::uint64_t sequence);
  /// Adds [first, end) (nothing when end <= first).
  void add_range(std::uint32_t stream, std::uint64_t first, std::uint64_t end);
  bool contains(std::uint32_t stream, std::uint64_t sequence) const;
  /// Keys in the set, of one stream or in all.
  std::uint64_t count(std::uint32_t stream) const;
  std::uint64_t count() const;
  /// One past the highest sequence of `stream` in the set (0 when it has none): where a live
  /// input, which cannot be read again, goes on numbering its frames.
  std::uint64_t end(std::uint32_t stream) const;
  bool empty() const { return streams_.empty(); }
  const std::map<std::uint32_t, Ranges>& streams() const { return streams_; }
  bool operator==(const KeyRanges&) const = default;

  /// RESUME_KEYS: u32 streams, then per stream {u32 stream, u32 ranges, ranges x {u64 first,
  /// u64 end}}. decode throws ride::Error on a malformed body (short, overlapping, unsorted).
  Buffer encode() const;
  static KeyRanges decode(const Buffer& body);

 private:
  std::map<std::uint32_t, Ranges> streams_;
};

}  // namespace ride

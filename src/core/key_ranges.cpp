#include "core/key_ranges.h"

#include <algorithm>

#include "core/error.h"
#include "core/protocol.h"

namespace ride {

void KeyRanges::add(std::uint32_t stream, std::uint64_t sequence) { add_range(stream, sequence, sequence + 1); }

void KeyRanges::add_range(std::uint32_t stream, std::uint64_t first, std::uint64_t end) {
  if (end <= first) return;
  Ranges& r = streams_[stream];
  // The common case: at or after the last range.
  if (r.empty() || first > r.back().second) {
    r.emplace_back(first, end);
    return;
  }
  if (first >= r.back().first) {
    r.back().second = std::max(r.back().second, end);
    return;
  }
  // General case: merge with every range it touches (adjacent ranges merge too).
  auto lo = std::lower_bound(r.begin(), r.end(), first,
                             [](const auto& range, std::uint64_t v) { return range.second < v; });
  auto hi = lo;
  std::uint64_t a = first, b = end;
  while (hi != r.end() && hi->first <= end) {
    a = std::min(a, hi->first);
    b = std::max(b, hi->second);
    ++hi;
  }
  const auto at = r.erase(lo, hi);
  r.insert(at, {a, b});
}

bool KeyRanges::contains(std::uint32_t stream, std::uint64_t sequence) const {
  const auto s = streams_.find(stream);
  if (s == streams_.end()) return false;
  const Ranges& r = s->second;
  auto it = std::upper_bound(r.begin(), r.end(), sequence,
                             [](std::uint64_t v, const auto& range) { return v < range.first; });
  if (it == r.begin()) return false;
  --it;
  return sequence < it->second;
}

std::uint64_t KeyRanges::count(std::uint32_t stream) const {
  const auto s = streams_.find(stream);
  if (s == streams_.end()) return 0;
  std::uint64_t n = 0;
  for (const auto& [a, b] : s->second) n += b - a;
  return n;
}

std::uint64_t KeyRanges::count() const {
  std::uint64_t n = 0;
  for (const auto& [stream, r] : streams_) n += count(stream);
  return n;
}

std::uint64_t KeyRanges::end(std::uint32_t stream) const {
  const auto s = streams_.find(stream);
  return s == streams_.end() || s->second.empty() ? 0 : s->second.back().second;
}

Buffer KeyRanges::encode() const {
  BodyWriter w;
  w.pod(static_cast<std::uint32_t>(streams_.size()));
  for (const auto& [stream, r] : streams_) {
    w.pod(stream);
    w.pod(static_cast<std::uint32_t>(r.size()));
    for (const auto& [a, b] : r) {
      w.pod(a);
      w.pod(b);
    }
  }
  return w.finish();
}

KeyRanges KeyRanges::decode(const Buffer& body) {
  BodyReader rd(body);
  KeyRanges out;
  RIDE_EXPECTS(rd.remaining() >= 4, "RESUME_KEYS: " << rd.remaining() << " bytes, need at least 4");
  const auto n = rd.pod<std::uint32_t>();
  for (std::uint32_t i = 0; i < n; ++i) {
    RIDE_EXPECTS(rd.remaining() >= 8, "RESUME_KEYS: stream " << i << " of " << n << " is cut short");
    const auto stream = rd.pod<std::uint32_t>();
    const auto k = rd.pod<std::uint32_t>();
    RIDE_EXPECTS(rd.remaining() >= static_cast<std::size_t>(k) * 16,
                 "RESUME_KEYS: stream " << stream << " has " << k << " ranges, the body is cut short");
    RIDE_EXPECTS(!out.streams_.count(stream), "RESUME_KEYS: stream " << stream << " appears twice");
    Ranges& r = out.streams_[stream];
    r.reserve(k);
    for (std::uint32_t j = 0; j < k; ++j) {
      const auto a = rd.pod<std::uint64_t>();
      const auto b = rd.pod<std::uint64_t>();
      RIDE_EXPECTS(a < b && (r.empty() || a > r.back().second),
                   "RESUME_KEYS: stream " << stream << ": range [" << a << ", " << b
                                          << ") is empty, unsorted or touches the one before");
      r.emplace_back(a, b);
    }
    if (r.empty()) out.streams_.erase(stream);
  }
  RIDE_EXPECTS(rd.remaining() == 0, "RESUME_KEYS: " << rd.remaining() << " bytes left over");
  return out;
}

}  // namespace ride

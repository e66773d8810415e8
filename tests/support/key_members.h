#pragma once
// KeyRanges (core/key_ranges.h) as tests read them: which sequences of a stream it holds.
#include <cstdint>
#include <string>

#include "core/key_ranges.h"

namespace ride::test {

/// '1' for each sequence of [from, to) of `stream` the ranges hold, '0' for each they do not.
inline std::string members(const KeyRanges& k, std::uint32_t stream, std::uint64_t from, std::uint64_t to) {
  std::string out;
  for (std::uint64_t s = from; s < to; ++s) out += k.contains(stream, s) ? '1' : '0';
  return out;
}

}  // namespace ride::test

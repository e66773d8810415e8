#pragma once
/// @brief A fast 64-bit content hash (8 bytes per step, multiply-xorshift mixing) used to prove
/// which input a result came from. Not cryptographic.
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace ride {

inline std::uint64_t mix64(std::uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

inline std::uint64_t checksum64(const void* data, std::size_t n) {
  const auto* p = static_cast<const unsigned char*>(data);
  // Four independent lanes keep the multiplies pipelined.
  std::uint64_t h[4] = {0x9e3779b97f4a7c15ULL, 0xbf58476d1ce4e5b9ULL, 0x94d049bb133111ebULL,
                        0x2545f4914f6cdd1dULL};
  std::size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    for (int l = 0; l < 4; ++l) {
      std::uint64_t w;
      std::memcpy(&w, p + i + 8 * l, 8);
      h[l] = (h[l] ^ w) * 0x9fb21c651e98df25ULL;
      h[l] ^= h[l] >> 29;
    }
  }
  std::uint64_t tail = 0;
  for (int s = 0; i < n; ++i, s = (s + 8) % 64) tail ^= std::uint64_t{p[i]} << s;
  return mix64(h[0] ^ mix64(h[1] ^ mix64(h[2] ^ mix64(h[3] ^ tail ^ n))));
}

}  // namespace ride

#pragma once
/// @brief Per-element math of the matrix-multiplication task, shared by the CPU executor and
/// the CUDA kernels so that both build the same operands bit for bit (see matmul.h).
#include <cstdint>

#include "kernels/common/hd.h"

namespace ride::kernels {

/// @brief splitmix64's output function (Steele, Lea and Flood 2014) applied to the state z:
/// z += 0x9E3779B97F4A7C15, then two xor-shift-multiply rounds and a final xor-shift.
RIDE_HD RIDE_INLINE std::uint64_t splitmix64(std::uint64_t z) {
  z += 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

/// @brief Entry (row, col) of the fixed matrix B for a seed whose splitmix64 is seed_mix:
///   z = splitmix64(((row << 32) | col) XOR seed_mix),  B = (z >> 40) * 2^-23 - 1,
/// i.e. the top 24 bits of z mapped onto the 2^24 multiples of 2^-23 in [-1, 1 - 2^-23]; every
/// value is exact in float. Requires 0 <= row, col < 2^32.
RIDE_HD RIDE_INLINE float matmul_weight_mixed(std::uint64_t row, std::uint64_t col,
                                              std::uint64_t seed_mix) {
  const std::uint64_t z = splitmix64(((row << 32) | col) ^ seed_mix);
  return static_cast<float>(static_cast<std::int32_t>(z >> 40)) * (1.0f / 8388608.0f) - 1.0f;
}

/// @brief Entry (row, col) of B for the given seed (matmul_weight_mixed with splitmix64(seed)).
RIDE_HD RIDE_INLINE float matmul_weight(std::uint64_t row, std::uint64_t col, std::uint64_t seed) {
  return matmul_weight_mixed(row, col, splitmix64(seed));
}

/// @brief A pixel of the frame as an entry of A: the IEEE float quotient v / 255 (correctly
/// rounded on the host and, with nvcc's default -prec-div=true, on the device).
RIDE_HD RIDE_INLINE float u8_to_unit(std::uint8_t v) { return static_cast<float>(v) / 255.0f; }

}  // namespace ride::kernels

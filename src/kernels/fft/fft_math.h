#pragma once
/// @brief Per-coefficient math of the FFT task, shared by the CPU executor and the CUDA kernel
/// (see fft.h for the definitions it implements).
#include <cstdint>

#include "kernels/common/hd.h"

#if !RIDE_DEVICE_PASS
#include <bit>
#include <cmath>
#endif

namespace ride::kernels {

/// @brief The bits of a float and back (std::bit_cast on the host, intrinsics on the device).
RIDE_HD RIDE_INLINE std::uint32_t float_to_bits(float f) {
#if RIDE_DEVICE_PASS
  return __float_as_uint(f);
#else
  return std::bit_cast<std::uint32_t>(f);
#endif
}

RIDE_HD RIDE_INLINE float bits_to_float(std::uint32_t b) {
#if RIDE_DEVICE_PASS
  return __uint_as_float(b);
#else
  return std::bit_cast<float>(b);
#endif
}

/// @brief log(1 + m) for finite m >= 0, within a few float ulps (tested against std::log1p).
/// Branch-free so that the CPU loop vectorises: t = fl(1 + m) = 2^e * x with x folded into
/// [sqrt(1/2), sqrt(2)), log(x) = 2 atanh(s) with s = (x - 1) / (x + 1) (|s| <= 0.1716, series
/// to s^9, truncation < 2^-27 relative), log(t) = e * ln2 + log(x), and the rounding of 1 + m is
/// undone by the factor m / (t - 1) (t - 1 is exact; Goldberg 1991, "What every computer
/// scientist should know about floating-point arithmetic", Theorem 4). When t == 1 (m < 2^-24)
/// the result is m itself.
RIDE_HD RIDE_INLINE float log1p_nonneg(float m) {
  // Every operation runs unconditionally and the choices are plain selects: GCC will not
  // if-convert a possibly trapping division or multiplication (-ftrapping-math), and a branch
  // in the loop stops the vectoriser.
  const float t = 1.0f + m;
  const std::uint32_t bits = float_to_bits(t);
  const float x_raw = bits_to_float((bits & 0x007FFFFFu) | 0x3F800000u);  // in [1, 2)
  const bool fold = x_raw > 1.41421356f;
  const float x = x_raw * (fold ? 0.5f : 1.0f);
  const auto e = static_cast<float>(static_cast<std::int32_t>(bits >> 23) - 127 + (fold ? 1 : 0));
  const float s = (x - 1.0f) / (x + 1.0f);
  const float z = s * s;
  const float tail = z * (0.666666667f + z * (0.4f + z * (0.285714286f + z * 0.222222222f)));
  const float log_x = 2.0f * s + s * tail;
  // ln2 split so that e * kLn2Hi is exact for |e| < 2^9.
  constexpr float kLn2Hi = 0.693145751953125f;
  constexpr float kLn2Lo = 1.42860682e-06f;
  const float log_t = e * kLn2Hi + (log_x + e * kLn2Lo);
  const float d = t - 1.0f;
  const float corrected = log_t * (m / (d == 0.0f ? 1.0f : d));
  return d == 0.0f ? m : corrected;
}

/// @brief The output value of one coefficient: log1p(|X|) with |X| = sqrt(re^2 + im^2) in
/// float. |X| of a u8 frame is at most 255 * width * height, so re^2 cannot overflow.
RIDE_HD RIDE_INLINE float spectrum_log_magnitude(float re, float im) {
#if RIDE_DEVICE_PASS
  return log1p_nonneg(::sqrtf(re * re + im * im));
#else
  return log1p_nonneg(std::sqrt(re * re + im * im));
#endif
}

/// @brief True when spectrum row u (of height rows) lies in the low band: its signed frequency
/// index ku (u, or u - height above height / 2) has 16 * |ku| <= height.
RIDE_HD RIDE_INLINE bool fft_low_row(std::int64_t u, std::int64_t height) {
  const std::int64_t k = u < height - u ? u : height - u;
  return 16 * k <= height;
}

/// @brief Number of half-spectrum columns v in the low band (16 * v <= width): width / 16 + 1.
RIDE_HD RIDE_INLINE std::int64_t fft_low_columns(std::int64_t width) { return width / 16 + 1; }

/// @brief How many coefficients of the full spectrum column v of the half spectrum stands for:
/// 1 for v = 0 and, when width is even, v = width / 2; 2 for every other column (its mirror
/// width - v holds the conjugates, same magnitudes, same low/high band).
RIDE_HD RIDE_INLINE double spectrum_column_weight(std::int64_t v, std::int64_t width) {
  return (v == 0 || 2 * v == width) ? 1.0 : 2.0;
}

}  // namespace ride::kernels

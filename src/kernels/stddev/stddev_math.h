#pragma once
/// @brief Per-pixel math of the standard-deviation filter, shared by the CPU executor and the
/// CUDA kernel so that both produce the same bits (see stddev.h for the definition).
#include <cmath>
#include <cstdint>

#include "kernels/common/hd.h"

namespace ride::kernels {

/// Largest accepted window. Keeps every intermediate exact in the integer types used by both
/// executors: a column sum of squares is at most 2047 * 255^2 < 2^31, and n * sumsq with
/// n = 2047^2 is at most n^2 * 255^2 ~ 1.1e18 < 2^63.
inline constexpr int kMaxStddevWindow = 2047;

/// Largest u8 value squared; sums of squares are bounded by count * kU8MaxSquared.
inline constexpr std::int64_t kU8MaxSquared = 255 * 255;

/// @brief Index i mapped into [0, n) by OpenCV's BORDER_REFLECT_101 (...cba|abcd|dcb...).
/// Reflection repeats when i lies more than n-1 outside, which is the same as folding i into one
/// period of length 2(n-1). n == 1 maps every index to 0. Requires n >= 1.
RIDE_HD RIDE_INLINE int reflect101(int i, int n) {
  if (n <= 1) return 0;
  const int period = 2 * (n - 1);
  i %= period;
  if (i < 0) i += period;
  return i < n ? i : period - i;
}

/// @brief n^2 times the population variance of n integers with the given sum and sum of
/// squares: n*sumsq - sum^2. Exact, and never negative (Cauchy-Schwarz).
RIDE_HD RIDE_INLINE std::int64_t variance_numerator(std::int64_t n, std::int64_t sum,
                                                    std::int64_t sumsq) {
  return n * sumsq - sum * sum;
}

/// @brief Standard deviation from the variance numerator (see variance_numerator) and the
/// sample count, in single precision: the numerator (an exact integer, passed as double, exact
/// below 2^53) rounded once to float, an IEEE float sqrt, and an IEEE float division by n. Both
/// executors round the same way (round-to-nearest conversions; sqrtf and division are correctly
/// rounded on the host and, with nvcc's default -prec-sqrt/-prec-div, on the device), so every
/// executor gets the same bits. Relative error below 2^-22 (three roundings of 2^-24 and the
/// halving of the first by the sqrt): at most ~3e-5 absolute for u8 data. Single precision
/// halves the cost of the double sqrt that dominated the CPU time (8 lanes per AVX2 op, not 4).
RIDE_HD RIDE_INLINE float std_from_numerator(double numerator, double n) {
  const float v = static_cast<float>(numerator);
#if RIDE_DEVICE_PASS
  return ::sqrtf(v) / static_cast<float>(n);
#else
  return std::sqrt(v) / static_cast<float>(n);
#endif
}

/// @brief Population standard deviation sqrt(n*sumsq - sum^2) / n of n integer samples, with
/// the numerator computed exactly in int64 before the sqrt. Requires n >= 1 and n*sumsq < 2^63.
RIDE_HD RIDE_INLINE float std_from_sums(std::int64_t n, std::int64_t sum, std::int64_t sumsq) {
  return std_from_numerator(static_cast<double>(variance_numerator(n, sum, sumsq)),
                            static_cast<double>(n));
}

/// @brief True when, for n u8 samples, the variance numerator n*sumsq - sum^2 is below 2^31:
/// it is at most 255^2 * k(n-k) <= 255^2 * n^2 / 4 (k samples at 255, the rest at 0). Then it
/// can be computed with wrapping 32-bit unsigned arithmetic and read back as int32 exactly,
/// which vectorises far better than int64 on the CPU (window <= 19).
RIDE_HD RIDE_INLINE constexpr bool u8_numerator_fits_int32(std::int64_t n) {
  return kU8MaxSquared * n * n <= 4 * std::int64_t{2147483647};
}

}  // namespace ride::kernels

#pragma once
/// @brief Per-sample math of the fast-Hessian detector (box sums on a 32-bit integral image,
/// det(H) and the Laplacian sign, the 3x3x3 maximum test), shared by the CPU executor and the
/// CUDA kernels so that both produce the same bits. See hessian.h for the definitions.
///
/// Exactness. The integral image is kept modulo 2^32 (uint32 with wrapping adds). A box sum is a
/// difference of four entries, so it is exact modulo 2^32, and exact outright because every box
/// sum is below 2^32 (the largest filter box is 1539 x 1539 pixels, 1539^2 * 255 < 2^30). This is
/// why a 24,160 x 25,720 frame, whose total exceeds 2^32, needs no 64-bit integral image. The
/// lobe combinations (numerators) are exact int32 values. Floating point starts at det(H): float
/// products in a fixed order, never fused into FMAs (the device pass uses the _rn intrinsics,
/// which nvcc never contracts; the host build compiles with -ffp-contract=off).
#include <cfloat>
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "kernels/common/hd.h"

namespace ride::kernels::hessian_math {

/// OpenCV's and Bay et al.'s relative weight of Dxy in det(H) = Dxx*Dyy - (0.9*Dxy)^2.
inline constexpr float kDxyWeightSquared = 0.81f;

/// @brief Geometry and normalisation of one box-filter layer. The filter is size x size pixels
/// with size = 3 * lobe, lobe odd, centred on a pixel; radius = (size - 1) / 2.
struct BoxLayer {
  int size = 0;
  int lobe = 0;
  int radius = 0;
  float inv_area_xx = 0;  ///< 1 / (lobe * (2*lobe - 1)), the area of one Dxx (or Dyy) lobe
  float inv_area_xy = 0;  ///< 1 / lobe^2, the area of one Dxy lobe
};

/// @brief The box layer with the given lobe (odd, >= 3). Host only: the reciprocals are
/// rounded once here and passed to the device by value.
inline BoxLayer make_box_layer(int lobe) {
  BoxLayer g;
  g.lobe = lobe;
  g.size = 3 * lobe;
  g.radius = (g.size - 1) / 2;
  g.inv_area_xx = 1.0f / static_cast<float>(lobe * (2 * lobe - 1));
  g.inv_area_xy = 1.0f / static_cast<float>(lobe * lobe);
  return g;
}

/// @brief Sum of the pixels in rows [y0, y1) and columns [x0, x1), from an integral image with
/// ii[y * stride + x] = (sum of the pixels above row y and left of column x) mod 2^32.
/// Exact when the true sum is below 2^32.
RIDE_HD RIDE_INLINE std::uint32_t box_sum(const std::uint32_t* ii, std::ptrdiff_t stride, int x0,
                                          int y0, int x1, int y1) {
  const std::uint32_t* top = ii + static_cast<std::ptrdiff_t>(y0) * stride;
  const std::uint32_t* bottom = ii + static_cast<std::ptrdiff_t>(y1) * stride;
  return bottom[x1] - top[x1] - bottom[x0] + top[x0];
}

/// @brief Exact integer lobe combinations of the three box filters centred on pixel (x, y),
/// before normalisation (see hessian.h for the lobe layout). With h = (lobe-1)/2, r = radius:
///   xx = S(cols [x-r, x+r], rows [y-lobe+1, y+lobe-1]) - 3 S(cols [x-h, x+h], same rows)
///      (= left lobe - 2 middle lobe + right lobe),
///   yy = the transpose,
///   xy = S(top-left) + S(bottom-right) - S(top-right) - S(bottom-left), four lobe x lobe boxes
///      split by row y and column x (which belong to none of them).
struct HessianNumerators {
  std::int32_t xx = 0, yy = 0, xy = 0;
};

/// @brief HessianNumerators of the filter with the given lobe centred on (x, y) of an integral
/// image (rows stride entries apart, row y = sum above pixel row y). The caller guarantees that
/// the filter lies inside the integral image. |values| < 2^31 for lobe <= 513 (the contract).
RIDE_HD RIDE_INLINE HessianNumerators hessian_numerators(const std::uint32_t* ii,
                                                         std::ptrdiff_t stride, int x, int y,
                                                         int lobe) {
  const int half = (lobe - 1) / 2;
  const int radius = (3 * lobe - 1) / 2;
  HessianNumerators n;
  // Wrapping uint32 arithmetic, then one conversion: the true value fits in int32, and C++20
  // (like CUDA) converts modulo 2^32.
  const std::uint32_t xx_total =
      box_sum(ii, stride, x - radius, y - lobe + 1, x + radius + 1, y + lobe);
  const std::uint32_t xx_middle =
      box_sum(ii, stride, x - half, y - lobe + 1, x + half + 1, y + lobe);
  n.xx = static_cast<std::int32_t>(xx_total - 3u * xx_middle);
  const std::uint32_t yy_total =
      box_sum(ii, stride, x - lobe + 1, y - radius, x + lobe, y + radius + 1);
  const std::uint32_t yy_middle =
      box_sum(ii, stride, x - lobe + 1, y - half, x + lobe, y + half + 1);
  n.yy = static_cast<std::int32_t>(yy_total - 3u * yy_middle);
  const std::uint32_t top_left = box_sum(ii, stride, x - lobe, y - lobe, x, y);
  const std::uint32_t top_right = box_sum(ii, stride, x + 1, y - lobe, x + lobe + 1, y);
  const std::uint32_t bottom_left = box_sum(ii, stride, x - lobe, y + 1, x, y + lobe + 1);
  const std::uint32_t bottom_right = box_sum(ii, stride, x + 1, y + 1, x + lobe + 1, y + lobe + 1);
  n.xy = static_cast<std::int32_t>(top_left + bottom_right - top_right - bottom_left);
  return n;
}

/// Float product and difference rounded once each, never fused (identical on host and device).
RIDE_HD RIDE_INLINE float mul_rn(float a, float b) {
#if RIDE_DEVICE_PASS
  return __fmul_rn(a, b);
#else
  return a * b;
#endif
}

RIDE_HD RIDE_INLINE float sub_rn(float a, float b) {
#if RIDE_DEVICE_PASS
  return __fsub_rn(a, b);
#else
  return a - b;
#endif
}

/// @brief det(H) = Dxx*Dyy - 0.81*(Dxy*Dxy) with Dxx = float(n.xx) * inv_area_xx,
/// Dyy = float(n.yy) * inv_area_xx, Dxy = float(n.xy) * inv_area_xy, each product rounded to
/// float in exactly this order.
RIDE_HD RIDE_INLINE float hessian_det(HessianNumerators n, float inv_area_xx, float inv_area_xy) {
  const float dxx = mul_rn(static_cast<float>(n.xx), inv_area_xx);
  const float dyy = mul_rn(static_cast<float>(n.yy), inv_area_xx);
  const float dxy = mul_rn(static_cast<float>(n.xy), inv_area_xy);
  return sub_rn(mul_rn(dxx, dyy), mul_rn(kDxyWeightSquared, mul_rn(dxy, dxy)));
}

/// @brief Sign of the trace Dxx + Dyy: +1, -1 or 0. Dxx and Dyy share one normalisation, so
/// the sign is that of the exact integer n.xx + n.yy.
RIDE_HD RIDE_INLINE int laplacian_sign(HessianNumerators n) {
  const std::int64_t trace = std::int64_t{n.xx} + n.yy;
  return (trace > 0) - (trace < 0);
}

/// @brief The largest float <= threshold (threshold finite, >= 0). For every float v,
/// v > float_threshold(t) exactly when double(v) > t, so the detectors compare in float without
/// depending on how t rounds. Host only.
inline float float_threshold(double threshold) {
  if (threshold >= static_cast<double>(FLT_MAX)) return FLT_MAX;
  float f = static_cast<float>(threshold);
  if (static_cast<double>(f) > threshold) f = std::nextafter(f, 0.0f);
  return f;
}

/// @brief True when v > threshold and v is strictly greater than its 26 neighbours in the
/// 3x3x3 block of (layer below, this layer, layer above). Each pointer addresses the sample at
/// the same (x, y) in its layer; rows are stride entries apart. threshold: float_threshold().
RIDE_HD RIDE_INLINE bool is_strict_maximum_3x3x3(const float* below, const float* center,
                                                 const float* above, std::ptrdiff_t stride,
                                                 float threshold) {
  const float v = *center;
  if (!(v > threshold)) return false;
  // The same layer's row neighbours first: they reject most samples.
  if (!(v > center[-1]) || !(v > center[1])) return false;
  for (std::ptrdiff_t dy = -1; dy <= 1; ++dy) {
    for (std::ptrdiff_t dx = -1; dx <= 1; ++dx) {
      const std::ptrdiff_t o = dy * stride + dx;
      if (!(v > below[o]) || !(v > above[o])) return false;
      if ((dy != 0 || dx != 0) && !(v > center[o])) return false;
    }
  }
  return true;
}

/// @brief Copies the 3x3x3 block around a maximum into n[27], index (ds+1)*9 + (dy+1)*3 +
/// (dx+1) for ds, dy, dx in {-1, 0, 1} (ds = -1: the layer below).
RIDE_HD RIDE_INLINE void gather_3x3x3(const float* below, const float* center, const float* above,
                                      std::ptrdiff_t stride, float* n) {
  const float* layers[3] = {below, center, above};
  for (int s = 0; s < 3; ++s) {
    for (int dy = -1; dy <= 1; ++dy) {
      for (int dx = -1; dx <= 1; ++dx) {
        n[s * 9 + (dy + 1) * 3 + (dx + 1)] = layers[s][dy * stride + dx];
      }
    }
  }
}

}  // namespace ride::kernels::hessian_math

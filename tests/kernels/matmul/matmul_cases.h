#pragma once
/// Test body shared by every executor of the matmul task (one kernel test, every backend): an
/// independent double-precision reference (its own copy of the B hash, a plain triple loop) and
/// the case lists. Each executor's test passes its implementation as a callable.
#include <gtest/gtest.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/error.h"
#include "kernels/matmul/matmul.h"
#include "support/test_images.h"

namespace ride::kernels::testing {

/// Same signature as matmul_u8 without the thread count.
using Matmul = std::function<MatmulStats(
    const std::uint8_t* src, int width, int height, std::ptrdiff_t src_stride_bytes,
    const MatmulParams& params, float* dst, std::ptrdiff_t dst_stride_elems)>;

/// B(r, c) as documented in matmul.h, written out again from the definition (splitmix64 of
/// ((r << 32) | c) XOR splitmix64(seed), top 24 bits onto [-1, 1)), in double.
inline std::uint64_t ref_splitmix64(std::uint64_t z) {
  z += 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

inline double ref_weight(std::uint64_t r, std::uint64_t c, std::uint64_t seed) {
  const std::uint64_t z = ref_splitmix64(((r << 32) | c) ^ ref_splitmix64(seed));
  return static_cast<double>(z >> 40) / 8388608.0 - 1.0;
}

/// u8 frame with padded rows holding random bytes (reading them shows up as a mismatch).
using U8Frame = test_images::U8Image;

enum class Fill { random, zero, max };

/// Rows 3 bytes longer than the width, one more byte after the last row.
inline U8Frame make_frame(int width, int height, Fill fill = Fill::random,
                          std::uint32_t seed = 77) {
  return test_images::make_image(
      width, height, 3, 1, seed,
      [fill](int, int, test_images::RandomBytes& random) -> std::uint8_t {
        switch (fill) {
          case Fill::random:
            return random();
          case Fill::zero:
            return 0;
          case Fill::max:
            return 255;
        }
        return 0;
      });
}

/// Exact-ish C (double) and, per entry, the error bound of matmul.h:
/// (width + 2) * 2^-24 * sum_x |A(y, x) B(x, c)|.
struct Reference {
  int height = 0;
  int cols = 0;
  std::vector<double> c, bound;
  double at(int y, int k) const { return c[static_cast<std::size_t>(y) * cols + k]; }
  double tol(int y, int k) const { return bound[static_cast<std::size_t>(y) * cols + k]; }
};

inline Reference reference_matmul(const U8Frame& f, const MatmulParams& p) {
  Reference r;
  r.height = f.height;
  r.cols = p.cols;
  const std::size_t n = static_cast<std::size_t>(f.height) * static_cast<std::size_t>(p.cols);
  r.c.assign(n, 0.0);
  r.bound.assign(n, 0.0);
  std::vector<double> b(static_cast<std::size_t>(f.width) * p.cols);
  for (int x = 0; x < f.width; ++x) {
    for (int k = 0; k < p.cols; ++k) {
      b[static_cast<std::size_t>(x) * p.cols + k] = ref_weight(x, k, p.seed);
    }
  }
  const double u = std::ldexp(1.0, -24);
  for (int y = 0; y < f.height; ++y) {
    for (int k = 0; k < p.cols; ++k) {
      double sum = 0, abs_sum = 0;
      for (int x = 0; x < f.width; ++x) {
        const double term = f.at(x, y) / 255.0 * b[static_cast<std::size_t>(x) * p.cols + k];
        sum += term;
        abs_sum += std::fabs(term);
      }
      r.c[static_cast<std::size_t>(y) * p.cols + k] = sum;
      r.bound[static_cast<std::size_t>(y) * p.cols + k] = (f.width + 2) * u * abs_sum;
    }
  }
  return r;
}

/// Float output with padded rows (rows of C, `cols` values each); the padding is a sentinel
/// that must survive.
using Output = test_images::FloatRows;

inline constexpr float kSentinel = -12345.0f;

inline Output run(const Matmul& mm, const U8Frame& f, const MatmulParams& p,
                  MatmulStats* stats = nullptr) {
  Output o = test_images::sentinel_rows(f.height, p.cols, 5, 1, kSentinel);
  const MatmulStats s = mm(f.data(), f.width, f.height, f.stride, p, o.data(), o.stride);
  if (stats != nullptr) *stats = s;
  return o;
}

struct Size {
  int width, height;
};

/// Tiny frames, odd sizes, widths around a warp, several CPU bands (257 x 600: 3 bands).
inline std::vector<Size> case_sizes() {
  return {{1, 1},  {2, 3},   {3, 2},   {1, 40},  {40, 1},  {31, 7},   {32, 5},
          {33, 9}, {31, 33}, {32, 32}, {33, 31}, {17, 13}, {257, 600}};
}

/// Checks one output against the reference, the sentinel padding and the scalars.
inline void expect_matches_reference(const U8Frame& f, const MatmulParams& p, const Output& out,
                                     const MatmulStats& stats) {
  const Reference ref = reference_matmul(f, p);
  double sum = 0, sum_sq = 0, tol_sq = 0, max_tol = 0;
  double lo = ref.at(0, 0), hi = ref.at(0, 0);
  int bad = 0;
  for (int y = 0; y < f.height; ++y) {
    for (int k = 0; k < p.cols; ++k) {
      const double want = ref.at(y, k);
      const double got = out.at(y, k);
      if (std::fabs(got - want) > ref.tol(y, k) && ++bad <= 5) {
        ADD_FAILURE() << f.width << "x" << f.height << " cols " << p.cols << " seed " << p.seed
                      << " C(" << y << "," << k << ") = " << got << ", want " << want << " +- "
                      << ref.tol(y, k);
      }
      sum += want;
      sum_sq += want * want;
      tol_sq += ref.tol(y, k) * ref.tol(y, k);
      max_tol = std::max(max_tol, ref.tol(y, k));
      lo = std::min(lo, want);
      hi = std::max(hi, want);
    }
    for (std::ptrdiff_t k = p.cols; k < out.stride; ++k) {
      ASSERT_EQ(out.values[static_cast<std::size_t>(y * out.stride + k)], kSentinel)
          << "padding overwritten at row " << y;
    }
  }
  EXPECT_EQ(bad, 0) << bad << " entries out of bound";
  const double count = static_cast<double>(f.height) * p.cols;
  EXPECT_NEAR(stats.mean, sum / count, max_tol + 1e-12);
  EXPECT_NEAR(stats.min, lo, max_tol + 1e-12);
  EXPECT_NEAR(stats.max, hi, max_tol + 1e-12);
  EXPECT_NEAR(stats.frobenius, std::sqrt(sum_sq), std::sqrt(tol_sq) + 1e-12);
}

inline void expect_all_cases_match_reference(const Matmul& mm) {
  for (const Size& s : case_sizes()) {
    for (const MatmulParams p : {MatmulParams{1, 0}, MatmulParams{7, 42},
                                 MatmulParams{kDefaultMatmulCols, 0xDEADBEEFCAFEULL}}) {
      if (s.width * s.height > 10000 && p.cols != kDefaultMatmulCols) continue;  // keep it fast
      const U8Frame f = make_frame(s.width, s.height);
      MatmulStats stats;
      const Output out = run(mm, f, p, &stats);
      expect_matches_reference(f, p, out, stats);
    }
  }
}

/// All-zero frames give C = 0 exactly; all-255 frames give C(y, k) = sum_x B(x, k).
inline void expect_constant_frames_match_reference(const Matmul& mm) {
  const MatmulParams p{33, 5};
  for (const Fill fill : {Fill::zero, Fill::max}) {
    const U8Frame f = make_frame(129, 17, fill);
    MatmulStats stats;
    const Output out = run(mm, f, p, &stats);
    expect_matches_reference(f, p, out, stats);
    if (fill == Fill::zero) {
      EXPECT_EQ(stats.min, 0.0);
      EXPECT_EQ(stats.max, 0.0);
      EXPECT_EQ(stats.frobenius, 0.0);
    }
  }
}

/// dst == nullptr computes the same scalars without writing anything.
inline void expect_stats_only_matches(const Matmul& mm) {
  const U8Frame f = make_frame(100, 70);
  const MatmulParams p{};
  MatmulStats with_dst;
  (void)run(mm, f, p, &with_dst);
  const MatmulStats alone = mm(f.data(), f.width, f.height, f.stride, p, nullptr, 0);
  EXPECT_EQ(alone.mean, with_dst.mean);
  EXPECT_EQ(alone.min, with_dst.min);
  EXPECT_EQ(alone.max, with_dst.max);
  EXPECT_EQ(alone.frobenius, with_dst.frobenius);
}

inline void expect_empty_frames(const Matmul& mm) {
  const MatmulParams p{4, 1};
  std::vector<float> dst(40, kSentinel);
  // height 0: nothing written, src and dst may be null.
  MatmulStats s = mm(nullptr, 5, 0, 5, p, dst.data(), 4);
  EXPECT_EQ(s.mean, 0.0);
  EXPECT_EQ(s.frobenius, 0.0);
  s = mm(nullptr, 0, 0, 0, p, nullptr, 0);
  EXPECT_EQ(s.max, 0.0);
  for (float v : dst) EXPECT_EQ(v, kSentinel);
  // width 0: C = 0 (an empty sum), rows of dst zeroed, padding untouched.
  s = mm(nullptr, 0, 3, 0, p, dst.data(), 6);
  EXPECT_EQ(s.mean, 0.0);
  EXPECT_EQ(s.min, 0.0);
  EXPECT_EQ(s.max, 0.0);
  EXPECT_EQ(s.frobenius, 0.0);
  for (int y = 0; y < 3; ++y) {
    for (int k = 0; k < 6; ++k) {
      EXPECT_EQ(dst[static_cast<std::size_t>(y * 6 + k)], k < 4 ? 0.0f : kSentinel);
    }
  }
}

inline void expect_bad_arguments_throw(const Matmul& mm) {
  std::vector<std::uint8_t> src(64, 9);
  std::vector<float> dst(256);
  const MatmulParams ok{4, 0};
  EXPECT_THROW(mm(src.data(), 4, 4, 4, MatmulParams{0, 0}, dst.data(), 4), ride::Error);
  EXPECT_THROW(mm(src.data(), 4, 4, 4, MatmulParams{-3, 0}, dst.data(), 4), ride::Error);
  EXPECT_THROW(mm(src.data(), 4, 4, 4, MatmulParams{kMaxMatmulCols + 1, 0}, dst.data(), 4),
               ride::Error);
  EXPECT_THROW(mm(src.data(), -1, 4, 4, ok, dst.data(), 4), ride::Error);
  EXPECT_THROW(mm(src.data(), 4, -1, 4, ok, dst.data(), 4), ride::Error);
  EXPECT_THROW(mm(nullptr, 4, 4, 4, ok, dst.data(), 4), ride::Error);
  EXPECT_THROW(mm(src.data(), 4, 4, 3, ok, dst.data(), 4), ride::Error);
  EXPECT_THROW(mm(src.data(), 4, 4, 4, ok, dst.data(), 3), ride::Error);
  EXPECT_THROW(mm(src.data(), 4, 4, 4, ok, dst.data(), std::ptrdiff_t{INT_MAX} + 1), ride::Error);
  // dst overlapping src (a float view of the same bytes).
  std::vector<float> shared(64);
  auto* bytes = reinterpret_cast<std::uint8_t*>(shared.data());
  EXPECT_THROW(mm(bytes, 4, 4, 4, ok, shared.data() + 1, 4), ride::Error);
  // The message names what is wrong.
  try {
    mm(src.data(), 4, 4, 4, MatmulParams{0, 0}, dst.data(), 4);
    ADD_FAILURE() << "no throw";
  } catch (const ride::Error& e) {
    EXPECT_NE(std::string(e.what()).find("cols"), std::string::npos) << e.what();
  }
}

}  // namespace ride::kernels::testing

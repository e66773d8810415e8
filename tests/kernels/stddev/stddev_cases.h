#pragma once
/// Test body shared by every executor of the stddev filter (STYLE.md: one kernel test, every
/// backend): the independent reference (exact integer window sums, support/stddev_reference.h)
/// and the case lists. Each executor's test passes its filter as a callable.
#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "support/stddev_reference.h"
#include "support/test_images.h"

namespace ride::kernels::testing {

/// Same signature as stddev_filter_u8 without the thread count.
using Filter = std::function<void(const std::uint8_t* src, int width, int height,
                                  std::ptrdiff_t src_stride_bytes, int window, float* dst,
                                  std::ptrdiff_t dst_stride_elems)>;

enum class Fill { random, constant, checkerboard_0_255 };

inline std::string to_string(Fill f) {
  switch (f) {
    case Fill::random:
      return "random";
    case Fill::constant:
      return "constant";
    case Fill::checkerboard_0_255:
      return "checkerboard";
  }
  return "?";
}

/// u8 image with padded rows; the padding holds random bytes, so reading it shows up as a
/// mismatch against the reference.
using test_images::U8Image;

/// Rows 3 bytes longer than the width, one more byte after the last row.
inline U8Image make_image(int width, int height, Fill fill, std::uint32_t seed = 1234) {
  return test_images::make_image(
      width, height, 3, 1, seed,
      [fill](int x, int y, test_images::RandomBytes& random) -> std::uint8_t {
        switch (fill) {
          case Fill::random:
            return random();
          case Fill::constant:
            return 173;
          case Fill::checkerboard_0_255:
            return (x + y) % 2 == 0 ? 255 : 0;
        }
        return 0;
      });
}

/// The shared reference (support/stddev_reference.h) over an image with padded rows.
inline std::vector<double> reference_stddev(const U8Image& img, int window) {
  return ride::test::stddev_reference(img.data(), img.width, img.height, img.stride, window);
}

/// Output rows 5 floats longer than the width, filled with a sentinel to catch writes outside
/// the image.
using test_images::FloatRows;

inline constexpr float kSentinel = -12345.0f;

inline FloatRows run_filter(const Filter& filter, const U8Image& img, int window) {
  FloatRows out = test_images::sentinel_rows(img.height, img.width, 5, 0, kSentinel);
  filter(img.data(), img.width, img.height, img.stride, window, out.data(), out.stride);
  return out;
}

inline constexpr double kTolerance = 1e-4;

/// Runs one case and compares with the reference; reports the first bad pixel only.
inline FloatRows expect_matches_reference(const Filter& filter, int width, int height, int window, Fill fill) {
  std::ostringstream name;
  name << width << "x" << height << " window " << window << " " << to_string(fill);
  SCOPED_TRACE(name.str());
  const U8Image img = make_image(width, height, fill);
  const FloatRows out = run_filter(filter, img, window);
  const std::vector<double> ref = reference_stddev(img, window);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      const double expected = ref[static_cast<std::size_t>(y) * width + x];
      const float got = out.at(y, x);
      if (fill == Fill::constant) {
        if (got != 0.0f) {
          ADD_FAILURE() << "constant input must give exactly 0 at (" << x << ", " << y << "), got "
                        << got;
          return out;
        }
      } else if (!(std::abs(got - expected) <= kTolerance)) {
        ADD_FAILURE() << "at (" << x << ", " << y << "): got " << got << ", expected " << expected;
        return out;
      }
    }
    for (std::ptrdiff_t x = width; x < out.stride; ++x) {
      if (out.values[static_cast<std::size_t>(y * out.stride + x)] != kSentinel) {
        ADD_FAILURE() << "row " << y << " padding overwritten at x = " << x;
        return out;
      }
    }
  }
  return out;
}

struct Size {
  int width;
  int height;
};

/// Degenerate sizes, sizes around a warp (31/32/33), several blocks, and a wide strip.
inline const std::vector<Size>& case_sizes() {
  static const std::vector<Size> sizes = {{1, 1},   {1, 7},  {7, 1},   {2, 3},  {31, 17},
                                          {32, 32}, {33, 9}, {64, 48}, {257, 3}};
  return sizes;
}

/// Includes windows larger than most of the images above (repeated reflection).
inline const std::vector<int>& case_windows() {
  static const std::vector<int> windows = {1, 3, 5, 7, 9, 15};
  return windows;
}

/// Every size x window x {random, constant}.
inline void expect_all_cases_match_reference(const Filter& filter) {
  for (const Size& s : case_sizes()) {
    for (int window : case_windows()) {
      for (Fill fill : {Fill::random, Fill::constant}) {
        expect_matches_reference(filter, s.width, s.height, window, fill);
      }
    }
  }
}

/// Maximum-variance input around the window where the CPU switches from 32-bit to 64-bit
/// arithmetic (19/21), plus larger windows.
inline void expect_extreme_values_match_reference(const Filter& filter) {
  for (int window : {17, 19, 21, 23, 41}) {
    expect_matches_reference(filter, 45, 44, window, Fill::checkerboard_0_255);
    expect_matches_reference(filter, 45, 44, window, Fill::random);
  }
}

/// Windows far larger than the image, up to the largest accepted window.
inline void expect_huge_windows_match_reference(const Filter& filter) {
  expect_matches_reference(filter, 7, 5, 101, Fill::random);
  expect_matches_reference(filter, 1, 9, 33, Fill::random);
  expect_matches_reference(filter, 3, 2, 2047, Fill::random);
  expect_matches_reference(filter, 3, 2, 2047, Fill::checkerboard_0_255);
}

/// Empty images are a no-op, null pointers allowed.
inline void expect_empty_is_noop(const Filter& filter) {
  EXPECT_NO_THROW(filter(nullptr, 0, 0, 0, 5, nullptr, 0));
  EXPECT_NO_THROW(filter(nullptr, 0, 7, 0, 3, nullptr, 0));
  EXPECT_NO_THROW(filter(nullptr, 9, 0, 9, 1, nullptr, 9));
}

/// Every contract violation throws ride::Error.
inline void expect_bad_arguments_throw(const Filter& filter) {
  const U8Image img = make_image(8, 6, Fill::random);
  std::vector<float> out(static_cast<std::size_t>(8 * 6));
  const std::uint8_t* src = img.bytes.data();
  float* dst = out.data();
  for (int window : {0, 2, -1, -3, 4, 2049, 4001}) {
    EXPECT_THROW(filter(src, 8, 6, img.stride, window, dst, 8), ride::Error) << window;
  }
  EXPECT_NO_THROW(filter(src, 8, 6, img.stride, 2047, dst, 8));
  EXPECT_THROW(filter(src, -1, 6, img.stride, 3, dst, 8), ride::Error);
  EXPECT_THROW(filter(src, 8, -1, img.stride, 3, dst, 8), ride::Error);
  EXPECT_THROW(filter(nullptr, 8, 6, img.stride, 3, dst, 8), ride::Error);
  EXPECT_THROW(filter(src, 8, 6, img.stride, 3, nullptr, 8), ride::Error);
  EXPECT_THROW(filter(src, 8, 6, 7, 3, dst, 8), ride::Error);           // src stride < width
  EXPECT_THROW(filter(src, 8, 6, img.stride, 3, dst, 7), ride::Error);  // dst stride < width
  EXPECT_THROW(filter(nullptr, 0, 0, 0, 2, nullptr, 0), ride::Error);   // even window, empty
  // dst overlapping src
  std::vector<std::uint8_t> shared(8 * 6 * sizeof(float) * 2);
  EXPECT_THROW(filter(shared.data(), 8, 6, 8, 3, reinterpret_cast<float*>(shared.data()), 8),
               ride::Error);
}

}  // namespace ride::kernels::testing

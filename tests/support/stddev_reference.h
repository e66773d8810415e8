#pragma once
/// The std-dev filter's reference, shared by the kernel tests (every executor) and the run
/// verifier (tests/integration/verify_run): independent of the kernels (integers, its own border
/// code), and exact where a double-precision two-pass sum rounds.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace ride::test {

/// Reflect-101 (mirror without repeating the edge pixel) written as repeated mirroring,
/// independent of the library's modular version.
inline int mirror101(int i, int n) {
  if (n == 1) return 0;
  while (i < 0 || i >= n) i = i < 0 ? -i : 2 * (n - 1) - i;
  return i;
}

/// Population standard deviation over each odd `window` x `window` neighbourhood of an 8-bit
/// image (rows `stride` bytes apart), borders mirrored by mirror101, row-major `width` x
/// `height`. For each window: the exact integer sums of its pixels and of their squares (column
/// sums slid down the rows, then prefix sums along the row), then one division and one square
/// root in double. O(width * height) however large the window; the variance n*s2 - s1^2 is exact
/// in int64 for every window the filter accepts (up to 2047).
inline std::vector<double> stddev_reference(const std::uint8_t* pixels, int width, int height, std::ptrdiff_t stride,
                                            int window) {
  const int r = window / 2;
  const std::int64_t n = static_cast<std::int64_t>(window) * window;
  auto mirrored = [r](int size) {  // extended index i in [0, size + 2r) -> source index
    std::vector<int> m(static_cast<std::size_t>(size + 2 * r));
    for (int i = 0; i < size + 2 * r; ++i) m[static_cast<std::size_t>(i)] = mirror101(i - r, size);
    return m;
  };
  std::vector<double> out(static_cast<std::size_t>(width) * static_cast<std::size_t>(height));
  if (width <= 0 || height <= 0) return out;
  const std::vector<int> mx = mirrored(width), my = mirrored(height);
  const auto w = static_cast<std::size_t>(width);
  std::vector<std::int64_t> col_sum(w, 0), col_sq(w, 0);
  auto add_row = [&](int row, std::int64_t sign) {
    const std::uint8_t* p = pixels + static_cast<std::ptrdiff_t>(row) * stride;
    for (std::size_t x = 0; x < w; ++x) {
      const std::int64_t v = p[x];
      col_sum[x] += sign * v;
      col_sq[x] += sign * v * v;
    }
  };
  for (int i = 0; i < 2 * r; ++i) add_row(my[static_cast<std::size_t>(i)], 1);
  std::vector<std::int64_t> pre_sum(mx.size() + 1, 0), pre_sq(mx.size() + 1, 0);
  for (int y = 0; y < height; ++y) {
    add_row(my[static_cast<std::size_t>(y + 2 * r)], 1);  // the window's rows: y .. y + 2r extended
    for (std::size_t i = 0; i < mx.size(); ++i) {
      pre_sum[i + 1] = pre_sum[i] + col_sum[static_cast<std::size_t>(mx[i])];
      pre_sq[i + 1] = pre_sq[i] + col_sq[static_cast<std::size_t>(mx[i])];
    }
    for (std::size_t x = 0; x < w; ++x) {
      const std::size_t b = x + static_cast<std::size_t>(window);
      const std::int64_t s1 = pre_sum[b] - pre_sum[x], s2 = pre_sq[b] - pre_sq[x];
      out[static_cast<std::size_t>(y) * w + x] = std::sqrt(static_cast<double>(n * s2 - s1 * s1)) /
                                                 static_cast<double>(n);
    }
    add_row(my[static_cast<std::size_t>(y)], -1);
  }
  return out;
}

}  // namespace ride::test

/// CPU executor of the standard-deviation filter: sliding integer sums, O(1) work per pixel in
/// the window size. See stddev.h for the definition and stddev_math.h for the shared math.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <type_traits>
#include <vector>

#include "core/error.h"
#include "kernels/common/cpu_clones.h"
#include "kernels/common/cuda_device.h"
#include "kernels/common/frame_checks.h"
#include "kernels/common/parallel_bands.h"
#include "kernels/stddev/stddev.h"
#include "kernels/stddev/stddev_detail.h"
#include "kernels/stddev/stddev_math.h"

// The per-pixel sqrt dominates the CPU time; wider vectors roughly halve it, hence the
// RIDE_CPU_CLONES on the hot loops.

namespace ride::kernels {
namespace detail {

void validate_stddev_args(const std::uint8_t* src, int width, int height,
                          std::ptrdiff_t src_stride_bytes, int window, const float* dst,
                          std::ptrdiff_t dst_stride_elems) {
  RIDE_EXPECTS(
      window >= 1 && window % 2 == 1 && window <= kMaxStddevWindow,
      "stddev filter: window must be odd and in [1, " << kMaxStddevWindow << "], got " << window);
  RIDE_EXPECTS(width >= 0 && height >= 0,
               "stddev filter: image size must be >= 0, got " << width << "x" << height);
  if (width == 0 || height == 0) return;
  RIDE_EXPECTS(src != nullptr,
               "stddev filter: src is null for a " << width << "x" << height << " image");
  RIDE_EXPECTS(dst != nullptr,
               "stddev filter: dst is null for a " << width << "x" << height << " image");
  RIDE_EXPECTS(src_stride_bytes >= width,
               "stddev filter: src stride " << src_stride_bytes << " bytes < width " << width);
  RIDE_EXPECTS(dst_stride_elems >= width,
               "stddev filter: dst stride " << dst_stride_elems << " floats < width " << width);
  RIDE_EXPECTS(
      !frame_and_output_overlap(src, width, src_stride_bytes, dst, width, dst_stride_elems, height),
      "stddev filter: src and dst overlap");
}

}  // namespace detail

namespace {

/// Per-band scratch, allocated once per band (never per row or pixel).
/// Acc is the type of the horizontal prefix sums: uint32 when every window sum is below 2^32
/// (prefix sums then wrap, but differences of them are exact modulo 2^32), int64 otherwise.
template <class Acc>
struct BandScratch {
  explicit BandScratch(int width, int radius)
      : col_sum(static_cast<std::size_t>(width) + 2 * static_cast<std::size_t>(radius)),
        col_sq(col_sum.size()),
        prefix_sum(static_cast<std::size_t>(width) + 2 * static_cast<std::size_t>(radius) + 1),
        prefix_sq(prefix_sum.size()),
        acc_sum(static_cast<std::size_t>(width)),
        acc_sq(acc_sum.size()) {}
  // Sums of x and x^2 down each column over the window's rows: at most 2047 * 255^2 < 2^31.
  // Stored with `radius` entries of room on each side for the reflected padding.
  std::vector<std::int32_t> col_sum, col_sq;
  // prefix[j] = sum of the first j entries of the reflect-padded column sums.
  std::vector<Acc> prefix_sum, prefix_sq;
  // Window sums of one row (small-window path).
  std::vector<std::uint32_t> acc_sum, acc_sq;
};

// Up to this window the shifted adds (window passes over the row) beat the serial prefix sum
// (measured at 900 x 900: window 5 faster, window 15 slower).
constexpr int kDirectMaxWindow = 7;

// Fills the `radius` entries on each side of the column sums (stored from index radius) with
// their reflect-101 images.
void pad_reflected(std::int32_t* padded, int width, int radius) {
  for (int j = 0; j < radius; ++j) {
    padded[j] = padded[radius + reflect101(j - radius, width)];
    padded[radius + width + j] = padded[radius + reflect101(width + j, width)];
  }
}

// One output row for windows whose numerators fit 32 bits (window <= 19): the window sums are
// `window` shifted adds of the padded column sums — independent lanes that vectorise, where a
// running prefix sum is one serial chain per row — then the float sqrt of stddev_math.h.
RIDE_CPU_CLONES void output_row_direct(const std::int32_t* __restrict padded_sum,
                                       const std::int32_t* __restrict padded_sq, int width,
                                       int window, std::uint32_t* __restrict acc_sum,
                                       std::uint32_t* __restrict acc_sq, float* __restrict out) {
  for (int x = 0; x < width; ++x) {
    acc_sum[x] = static_cast<std::uint32_t>(padded_sum[x]);
    acc_sq[x] = static_cast<std::uint32_t>(padded_sq[x]);
  }
  for (int k = 1; k < window; ++k) {
    const std::int32_t* __restrict ps = padded_sum + k;
    const std::int32_t* __restrict pq = padded_sq + k;
    for (int x = 0; x < width; ++x) {
      acc_sum[x] += static_cast<std::uint32_t>(ps[x]);
      acc_sq[x] += static_cast<std::uint32_t>(pq[x]);
    }
  }
  const std::uint32_t n = static_cast<std::uint32_t>(window) * static_cast<std::uint32_t>(window);
  const float n_f32 = static_cast<float>(n);
  for (int x = 0; x < width; ++x) {
    const auto numerator = static_cast<std::int32_t>(n * acc_sq[x] - acc_sum[x] * acc_sum[x]);
    out[x] = std::sqrt(static_cast<float>(numerator)) / n_f32;
  }
}

void add_row(const std::uint8_t* __restrict row, int width, std::int32_t* __restrict col_sum,
             std::int32_t* __restrict col_sq) {
  for (int x = 0; x < width; ++x) {
    const std::int32_t v = row[x];
    col_sum[x] += v;
    col_sq[x] += v * v;
  }
}

// The window is a multiset of (reflected) rows, so moving it down one row is: add the row that
// enters, remove the one that leaves, whether or not either was produced by reflection.
void slide_rows(const std::uint8_t* __restrict entering, const std::uint8_t* __restrict leaving,
                int width, std::int32_t* __restrict col_sum, std::int32_t* __restrict col_sq) {
  for (int x = 0; x < width; ++x) {
    const std::int32_t in = entering[x];
    const std::int32_t out = leaving[x];
    col_sum[x] += in - out;
    col_sq[x] += in * in - out * out;
  }
}

// Prefix sums over the column sums padded by `radius` reflected entries on each side:
// prefix[j + 1] = prefix[j] + col[reflect101(j - radius, width)], j in [0, width + 2*radius).
template <class Acc>
void reflected_prefix(const std::int32_t* __restrict col_sum, const std::int32_t* __restrict col_sq,
                      int width, int radius, Acc* __restrict prefix_sum,
                      Acc* __restrict prefix_sq) {
  Acc run_sum = 0;
  Acc run_sq = 0;
  prefix_sum[0] = 0;
  prefix_sq[0] = 0;
  const int padded = width + 2 * radius;
  int j = 0;
  const auto step = [&](int x) {
    run_sum += static_cast<Acc>(col_sum[x]);
    run_sq += static_cast<Acc>(col_sq[x]);
    prefix_sum[j + 1] = run_sum;
    prefix_sq[j + 1] = run_sq;
    ++j;
  };
  while (j < radius) step(reflect101(j - radius, width));
  for (int x = 0; x < width; ++x) step(x);
  while (j < padded) step(reflect101(j - radius, width));
}

// One output row, window <= 19, from prefix sums: all arithmetic in 32 bits (see
// u8_numerator_fits_int32), which the compiler vectorises. Wrapping uint32 is exact here because
// the true results are < 2^31.
RIDE_CPU_CLONES void output_row_u32(const std::uint32_t* __restrict prefix_sum,
                                    const std::uint32_t* __restrict prefix_sq, int width,
                                    int window, float* __restrict out) {
  const std::uint32_t n = static_cast<std::uint32_t>(window) * static_cast<std::uint32_t>(window);
  const float n_f32 = static_cast<float>(n);
  for (int x = 0; x < width; ++x) {
    const std::uint32_t sum = prefix_sum[x + window] - prefix_sum[x];
    const std::uint32_t sumsq = prefix_sq[x + window] - prefix_sq[x];
    const auto numerator = static_cast<std::int32_t>(n * sumsq - sum * sum);
    // std_from_numerator's arithmetic, on int32 -> float directly (the same rounding as
    // through an exact double) so that it vectorises without a double step.
    out[x] = std::sqrt(static_cast<float>(numerator)) / n_f32;
  }
}

// One output row, any window: int64 sums, the same formula as the CUDA kernel.
void output_row_i64(const std::int64_t* __restrict prefix_sum,
                    const std::int64_t* __restrict prefix_sq, int width, int window,
                    float* __restrict out) {
  const std::int64_t n = std::int64_t{window} * window;
  for (int x = 0; x < width; ++x) {
    out[x] = std_from_sums(n, prefix_sum[x + window] - prefix_sum[x],
                           prefix_sq[x + window] - prefix_sq[x]);
  }
}

// Rows [y_begin, y_end) of the output. Each band starts its own column sums, so bands are
// independent and the result does not depend on how rows are split.
template <class Acc>
void filter_band(const std::uint8_t* src, int width, int height, std::ptrdiff_t src_stride,
                 int window, float* dst, std::ptrdiff_t dst_stride, int y_begin, int y_end) {
  const int radius = window / 2;
  const auto row = [&](int y) { return src + static_cast<std::ptrdiff_t>(y) * src_stride; };
  BandScratch<Acc> s(width, radius);
  std::int32_t* col_sum = s.col_sum.data() + radius;  // interior: the image's columns
  std::int32_t* col_sq = s.col_sq.data() + radius;
  for (int k = -radius; k <= radius; ++k) {
    add_row(row(reflect101(y_begin + k, height)), width, col_sum, col_sq);
  }
  for (int y = y_begin; y < y_end; ++y) {
    float* out = dst + static_cast<std::ptrdiff_t>(y) * dst_stride;
    if constexpr (std::is_same_v<Acc, std::uint32_t>) {
      if (window <= kDirectMaxWindow) {
        pad_reflected(s.col_sum.data(), width, radius);
        pad_reflected(s.col_sq.data(), width, radius);
        output_row_direct(s.col_sum.data(), s.col_sq.data(), width, window, s.acc_sum.data(),
                          s.acc_sq.data(), out);
      } else {
        reflected_prefix(col_sum, col_sq, width, radius, s.prefix_sum.data(), s.prefix_sq.data());
        output_row_u32(s.prefix_sum.data(), s.prefix_sq.data(), width, window, out);
      }
    } else {
      reflected_prefix(col_sum, col_sq, width, radius, s.prefix_sum.data(), s.prefix_sq.data());
      output_row_i64(s.prefix_sum.data(), s.prefix_sq.data(), width, window, out);
    }
    if (y + 1 < y_end) {
      slide_rows(row(reflect101(y + radius + 1, height)), row(reflect101(y - radius, height)),
                 width, col_sum, col_sq);
    }
  }
}

using BandFn = void (*)(const std::uint8_t*, int, int, std::ptrdiff_t, int, float*, std::ptrdiff_t,
                        int, int);

}  // namespace

void stddev_filter_u8(const std::uint8_t* src, int width, int height,
                      std::ptrdiff_t src_stride_bytes, int window, float* dst,
                      std::ptrdiff_t dst_stride_elems, int threads) {
  detail::validate_stddev_args(src, width, height, src_stride_bytes, window, dst, dst_stride_elems);
  if (width == 0 || height == 0) return;

  const std::int64_t n = std::int64_t{window} * window;
  const BandFn band =
      u8_numerator_fits_int32(n) ? &filter_band<std::uint32_t> : &filter_band<std::int64_t>;
  // Contiguous bands of nearly equal height, each on its own thread.
  parallel_bands(height, threads, [&](int y_begin, int y_end) {
    band(src, width, height, src_stride_bytes, window, dst, dst_stride_elems, y_begin, y_end);
  });
}

FrameStats frame_stats(const float* img, int width, int height, std::ptrdiff_t stride_elems) {
  RIDE_EXPECTS(width >= 0 && height >= 0,
               "frame_stats: image size must be >= 0, got " << width << "x" << height);
  FrameStats stats;
  if (width == 0 || height == 0) return stats;
  RIDE_EXPECTS(img != nullptr,
               "frame_stats: img is null for a " << width << "x" << height << " image");
  RIDE_EXPECTS(stride_elems >= width,
               "frame_stats: stride " << stride_elems << " floats < width " << width);
  double sum = 0;
  float lo = std::numeric_limits<float>::infinity();
  float hi = -std::numeric_limits<float>::infinity();
  for (int y = 0; y < height; ++y) {
    const float* row = img + static_cast<std::ptrdiff_t>(y) * stride_elems;
    double row_sum = 0;  // per-row partial sums keep the rounding error small on big frames
    for (int x = 0; x < width; ++x) {
      row_sum += row[x];
      lo = std::min(lo, row[x]);
      hi = std::max(hi, row[x]);
    }
    sum += row_sum;
  }
  stats.mean = sum / (static_cast<double>(width) * height);
  stats.min = lo;
  stats.max = hi;
  return stats;
}

namespace detail {

void stddev_filter_u8_cuda_tiled(const std::uint8_t* src, int width, int height, std::ptrdiff_t src_stride_bytes,
                                 int window, float* dst, std::ptrdiff_t dst_stride_elems, std::int64_t tile_pixels) {
  validate_stddev_args(src, width, height, src_stride_bytes, window, dst, dst_stride_elems);
  RIDE_EXPECTS(tile_pixels >= 1, "stddev filter (CUDA): tile_pixels must be >= 1");
  require_cuda_device("stddev filter");
  if (width == 0 || height == 0) return;
#if RIDE_HAVE_CUDA
  stddev_filter_u8_cuda_run(src, width, height, src_stride_bytes, window, dst, dst_stride_elems, tile_pixels);
#endif
}

}  // namespace detail

// The public GPU entry point, one for both builds.
void stddev_filter_u8_cuda(const std::uint8_t* src, int width, int height,
                           std::ptrdiff_t src_stride_bytes, int window, float* dst,
                           std::ptrdiff_t dst_stride_elems) {
  detail::stddev_filter_u8_cuda_tiled(src, width, height, src_stride_bytes, window, dst,
                                      dst_stride_elems, detail::kDefaultCudaTilePixels);
}

}  // namespace ride::kernels

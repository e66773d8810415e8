/// CPU executor of the matmul task: bands of rows converted to float and multiplied by the
/// cached B with single-threaded OpenBLAS sgemm, bands spread over threads. See matmul.h.
#include <cblas.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <deque>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <tuple>
#include <vector>

#include "core/error.h"
#include "kernels/common/cuda_device.h"
#include "kernels/common/frame_checks.h"
#include "kernels/common/parallel_bands.h"
#include "kernels/matmul/matmul.h"
#include "kernels/matmul/matmul_detail.h"
#include "kernels/matmul/matmul_math.h"

namespace ride::kernels {
namespace detail {

void validate_matmul_args(const std::uint8_t* src, int width, int height,
                          std::ptrdiff_t src_stride_bytes, const MatmulParams& params,
                          const float* dst, std::ptrdiff_t dst_stride_elems) {
  RIDE_EXPECTS(params.cols >= 1 && params.cols <= kMaxMatmulCols,
               "matmul: cols must be in [1, " << kMaxMatmulCols << "], got " << params.cols);
  RIDE_EXPECTS(width >= 0 && height >= 0,
               "matmul: frame size must be >= 0, got " << width << "x" << height);
  if (height == 0) return;
  if (dst != nullptr) {
    RIDE_EXPECTS(dst_stride_elems >= params.cols && dst_stride_elems <= INT_MAX,
                 "matmul: dst stride " << dst_stride_elems << " floats must be in [cols = "
                                       << params.cols << ", INT_MAX]");
  }
  if (width == 0) return;
  RIDE_EXPECTS(src != nullptr, "matmul: src is null for a " << width << "x" << height << " frame");
  RIDE_EXPECTS(src_stride_bytes >= width,
               "matmul: src stride " << src_stride_bytes << " bytes < width " << width);
  RIDE_EXPECTS(dst == nullptr || !frame_and_output_overlap(src, width, src_stride_bytes, dst,
                                                           params.cols, dst_stride_elems, height),
               "matmul: src and dst overlap");
}

int matmul_cpu_band_count(int width, int height) {
  const auto rows =
      static_cast<int>(std::clamp<std::int64_t>(kMatmulBandFloats / width, 1, kMatmulBandRows));
  return static_cast<int>((std::int64_t{height} + rows - 1) / rows);
}

MatmulRowStats matmul_row_stats(const float* row, int cols) {
  double sum = 0, sum_sq = 0;
  float lo = row[0], hi = row[0];
  for (int c = 0; c < cols; ++c) {
    const double v = row[c];
    sum += v;
    sum_sq += v * v;
    lo = std::min(lo, row[c]);
    hi = std::max(hi, row[c]);
  }
  return MatmulRowStats{sum, sum_sq, lo, hi};
}

MatmulStats combine_matmul_rows(const std::vector<MatmulRowStats>& rows, int cols) {
  MatmulStats stats;
  if (rows.empty()) return stats;
  double sum = 0, sum_sq = 0;
  stats.min = rows.front().min;
  stats.max = rows.front().max;
  for (const MatmulRowStats& r : rows) {
    sum += r.sum;
    sum_sq += r.sum_sq;
    stats.min = std::min(stats.min, r.min);
    stats.max = std::max(stats.max, r.max);
  }
  stats.mean = sum / (static_cast<double>(rows.size()) * cols);
  stats.frobenius = std::sqrt(sum_sq);
  return stats;
}

MatmulStats matmul_zero_width(int height, int cols, float* dst, std::ptrdiff_t dst_stride_elems) {
  if (dst != nullptr) {
    for (int y = 0; y < height; ++y) {
      std::fill_n(dst + static_cast<std::ptrdiff_t>(y) * dst_stride_elems, cols, 0.0f);
    }
  }
  return MatmulStats{};
}

}  // namespace detail

namespace {

using Weights = std::shared_ptr<const std::vector<float>>;

/// B per (width, cols, seed), process-wide. Small: a stream's frames share one size, and a
/// 25,720 x 256 B is 26 MB. Oldest entry evicted first; callers keep theirs alive via the
/// shared_ptr.
Weights cached_weights(int width, int cols, std::uint64_t seed) {
  using Key = std::tuple<int, int, std::uint64_t>;
  constexpr std::size_t kCapacity = 4;
  static std::mutex mutex;
  static std::map<Key, Weights> cache;
  static std::deque<Key> order;
  const Key key{width, cols, seed};
  {
    const std::lock_guard lock(mutex);
    if (const auto it = cache.find(key); it != cache.end()) return it->second;
  }
  // Generated outside the lock; two threads racing on a new key both generate the same bits.
  auto b = std::make_shared<std::vector<float>>(static_cast<std::size_t>(width) *
                                                static_cast<std::size_t>(cols));
  matmul_fill_weights(width, cols, seed, b->data(), cols);
  const std::lock_guard lock(mutex);
  const auto [it, inserted] = cache.emplace(key, std::move(b));
  if (inserted) {
    order.push_back(key);
    if (order.size() > kCapacity) {
      cache.erase(order.front());
      order.pop_front();
    }
  }
  return it->second;
}

/// OpenBLAS's thread count is process-wide. Bands are our parallelism; an OpenBLAS pool under
/// each band would oversubscribe the cores (and the pthread build serialises concurrent
/// multi-threaded calls on one pool).
void use_single_threaded_blas() {
  if (openblas_get_num_threads() != 1) openblas_set_num_threads(1);
}

void convert_rows(const std::uint8_t* src, std::ptrdiff_t src_stride, int width, int rows,
                  float* __restrict out) {
  for (int i = 0; i < rows; ++i) {
    const std::uint8_t* __restrict row = src + static_cast<std::ptrdiff_t>(i) * src_stride;
    float* __restrict o = out + static_cast<std::ptrdiff_t>(i) * width;
    for (int x = 0; x < width; ++x) o[x] = u8_to_unit(row[x]);
  }
}

}  // namespace

void matmul_fill_weights(int width, int cols, std::uint64_t seed, float* b,
                         std::ptrdiff_t stride_elems) {
  RIDE_EXPECTS(cols >= 1 && cols <= kMaxMatmulCols,
               "matmul_fill_weights: cols must be in [1, " << kMaxMatmulCols << "], got " << cols);
  RIDE_EXPECTS(width >= 0, "matmul_fill_weights: width must be >= 0, got " << width);
  if (width == 0) return;
  RIDE_EXPECTS(b != nullptr, "matmul_fill_weights: b is null for width " << width);
  RIDE_EXPECTS(stride_elems >= cols,
               "matmul_fill_weights: stride " << stride_elems << " floats < cols " << cols);
  const std::uint64_t seed_mix = splitmix64(seed);
  for (int r = 0; r < width; ++r) {
    float* row = b + static_cast<std::ptrdiff_t>(r) * stride_elems;
    for (int c = 0; c < cols; ++c) {
      row[c] = matmul_weight_mixed(static_cast<std::uint64_t>(r), static_cast<std::uint64_t>(c),
                                   seed_mix);
    }
  }
}

MatmulStats matmul_u8(const std::uint8_t* src, int width, int height,
                      std::ptrdiff_t src_stride_bytes, const MatmulParams& params, float* dst,
                      std::ptrdiff_t dst_stride_elems, int threads) {
  detail::validate_matmul_args(src, width, height, src_stride_bytes, params, dst, dst_stride_elems);
  if (height == 0) return MatmulStats{};
  const int cols = params.cols;
  if (width == 0) return detail::matmul_zero_width(height, cols, dst, dst_stride_elems);

  const Weights b = cached_weights(width, cols, params.seed);
  use_single_threaded_blas();
  const int bands = detail::matmul_cpu_band_count(width, height);
  const int max_rows = (height + bands - 1) / bands;
  std::vector<detail::MatmulRowStats> row_stats(static_cast<std::size_t>(height));

  // Threads take bands from a shared queue, each with its own A (and C without dst) block.
  parallel_items(bands, threads, [&](const auto& take_band) {
    std::vector<float> a(static_cast<std::size_t>(max_rows) * static_cast<std::size_t>(width));
    std::vector<float> scratch_c;
    if (dst == nullptr) {
      scratch_c.resize(static_cast<std::size_t>(max_rows) * static_cast<std::size_t>(cols));
    }
    for (int band = take_band(); band >= 0; band = take_band()) {
      const int y0 = static_cast<int>(std::int64_t{height} * band / bands);
      const int y1 = static_cast<int>(std::int64_t{height} * (band + 1) / bands);
      const int rows = y1 - y0;
      convert_rows(src + static_cast<std::ptrdiff_t>(y0) * src_stride_bytes, src_stride_bytes,
                   width, rows, a.data());
      float* c = dst != nullptr ? dst + static_cast<std::ptrdiff_t>(y0) * dst_stride_elems
                                : scratch_c.data();
      const auto ldc = static_cast<int>(dst != nullptr ? dst_stride_elems : cols);
      // Row-major C (rows x cols) = A (rows x width) * B (width x cols).
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, cols, width, 1.0f, a.data(),
                  width, b->data(), cols, 0.0f, c, ldc);
      for (int i = 0; i < rows; ++i) {
        row_stats[static_cast<std::size_t>(y0 + i)] =
            detail::matmul_row_stats(c + static_cast<std::ptrdiff_t>(i) * ldc, cols);
      }
    }
  });
  return detail::combine_matmul_rows(row_stats, cols);
}

namespace detail {

MatmulStats matmul_u8_cuda_banded(const std::uint8_t* src, int width, int height, std::ptrdiff_t src_stride_bytes,
                                  const MatmulParams& params, float* dst, std::ptrdiff_t dst_stride_elems,
                                  int band_rows) {
  validate_matmul_args(src, width, height, src_stride_bytes, params, dst, dst_stride_elems);
  RIDE_EXPECTS(band_rows >= 0, "matmul (CUDA): band_rows must be >= 0, got " << band_rows);
  require_cuda_device("matmul");
  if (height == 0) return MatmulStats{};
  if (width == 0) return matmul_zero_width(height, params.cols, dst, dst_stride_elems);
#if RIDE_HAVE_CUDA
  return matmul_u8_cuda_run(src, width, height, src_stride_bytes, params, dst, dst_stride_elems, band_rows);
#else
  return MatmulStats{};  // not reached: require_cuda_device throws in a build without CUDA
#endif
}

}  // namespace detail

// The public GPU entry point for both builds.
MatmulStats matmul_u8_cuda(const std::uint8_t* src, int width, int height,
                           std::ptrdiff_t src_stride_bytes, const MatmulParams& params, float* dst,
                           std::ptrdiff_t dst_stride_elems) {
  return detail::matmul_u8_cuda_banded(src, width, height, src_stride_bytes, params, dst,
                                       dst_stride_elems, 0);
}

}  // namespace ride::kernels

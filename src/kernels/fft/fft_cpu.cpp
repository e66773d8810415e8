/// CPU executor of the FFT task: FFTW3 single precision, in-place real-to-complex on a padded
/// float copy of the frame, then one pass for the log-magnitude and the energies. See fft.h.
#include <fftw3.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <tuple>
#include <type_traits>
#include <vector>

#include "core/error.h"
#include "kernels/common/cpu_clones.h"
#include "kernels/common/cuda_device.h"
#include "kernels/common/frame_checks.h"
#include "kernels/common/parallel_bands.h"
#include "kernels/fft/fft.h"
#include "kernels/fft/fft_detail.h"
#include "kernels/fft/fft_math.h"

// The log-magnitude pass is a long run of float math: RIDE_CPU_CLONES, as in the stddev filter.

namespace ride::kernels {
namespace detail {

void validate_fft_args(const std::uint8_t* src, int width, int height,
                       std::ptrdiff_t src_stride_bytes, const float* dst,
                       std::ptrdiff_t dst_stride_elems) {
  RIDE_EXPECTS(width >= 0 && height >= 0,
               "fft: frame size must be >= 0, got " << width << "x" << height);
  if (width == 0 || height == 0) return;
  RIDE_EXPECTS(src != nullptr, "fft: src is null for a " << width << "x" << height << " frame");
  RIDE_EXPECTS(src_stride_bytes >= width,
               "fft: src stride " << src_stride_bytes << " bytes < width " << width);
  if (dst == nullptr) return;
  const int half = fft_half_width(width);
  RIDE_EXPECTS(dst_stride_elems >= half,
               "fft: dst stride " << dst_stride_elems << " floats < width / 2 + 1 = " << half);
  RIDE_EXPECTS(
      !frame_and_output_overlap(src, width, src_stride_bytes, dst, half, dst_stride_elems, height),
      "fft: src and dst overlap");
}

FftRowEnergy fft_row_energy(const float* row, std::int64_t u, int width, int height) {
  const std::int64_t half = fft_half_width(width);
  const std::int64_t low_end = fft_low_row(u, height) ? fft_low_columns(width) : 0;
  const auto weighted = [&](std::int64_t v) {
    const double re = row[2 * v];
    const double im = row[2 * v + 1];
    return spectrum_column_weight(v, width) * (re * re + im * im);
  };
  FftRowEnergy e;
  for (std::int64_t v = 0; v < low_end; ++v) e.low += weighted(v);
  for (std::int64_t v = low_end; v < half; ++v) e.high += weighted(v);
  return e;
}

FftStats combine_fft_rows(const std::vector<FftRowEnergy>& rows, float dc_re, float dc_im) {
  double low = 0, high = 0;
  for (const FftRowEnergy& r : rows) {
    low += r.low;
    high += r.high;
  }
  FftStats stats;
  stats.dc_magnitude = std::hypot(static_cast<double>(dc_re), static_cast<double>(dc_im));
  stats.energy = low + high;
  stats.high_frequency_fraction = stats.energy > 0 ? high / stats.energy : 0.0;
  return stats;
}

}  // namespace detail

namespace {

/// Upper bound on FFTW threads (and row bands) per call.
constexpr int kMaxFftThreads = 64;

using PlanPtr = std::shared_ptr<std::remove_pointer_t<fftwf_plan>>;

/// FFTW plans per (height, width, threads). The mutex serialises every planner call (creating
/// and destroying plans, fftwf_plan_with_nthreads): FFTW's planner is not thread-safe, while
/// fftwf_execute_dft_r2c on an existing plan is. Entries are shared_ptrs so that an evicted
/// plan lives until the last call executing it returns. Leaked on purpose: a static destructor
/// could run while another thread still executes a plan.
struct PlanCache {
  PlanCache() {
    // Before any other FFTW call (FFTW manual, "Usage of Multi-threaded FFTW").
    RIDE_EXPECTS(fftwf_init_threads() != 0, "fft: fftwf_init_threads failed");
  }
  std::mutex mutex;
  std::map<std::tuple<int, int, int>, PlanPtr> plans;
  std::deque<std::tuple<int, int, int>> order;
};

constexpr std::size_t kPlanCacheCapacity = 16;

PlanCache& plan_cache() {
  static PlanCache* cache = new PlanCache;
  return *cache;
}

/// Makes (or finds) the plan for an in-place transform of `buffer`, laid out as height rows of
/// 2 (width / 2 + 1) floats. FFTW_ESTIMATE never touches the arrays while planning.
PlanPtr cached_plan(int width, int height, int threads, float* buffer) {
  PlanCache& cache = plan_cache();
  const auto key = std::make_tuple(height, width, threads);
  PlanPtr evicted;  // destroyed after the lock is released (its deleter takes the lock)
  const std::lock_guard lock(cache.mutex);
  if (const auto it = cache.plans.find(key); it != cache.plans.end()) return it->second;
  const std::int64_t half = fft_half_width(width);
  fftwf_iodim64 dims[2];
  dims[0].n = height;
  dims[0].is = 2 * half;  // in floats
  dims[0].os = half;      // in complex numbers
  dims[1].n = width;
  dims[1].is = 1;
  dims[1].os = 1;
  fftwf_plan_with_nthreads(threads);
  fftwf_plan raw = fftwf_plan_guru64_dft_r2c(
      2, dims, 0, nullptr, buffer, reinterpret_cast<fftwf_complex*>(buffer), FFTW_ESTIMATE);
  RIDE_EXPECTS(raw != nullptr, "fft: FFTW could not plan a " << width << "x" << height
                                                             << " real-to-complex transform");
  PlanPtr plan(raw, [](fftwf_plan p) {
    const std::lock_guard destroy_lock(plan_cache().mutex);
    fftwf_destroy_plan(p);
  });
  cache.plans.emplace(key, plan);
  cache.order.push_back(key);
  if (cache.order.size() > kPlanCacheCapacity) {
    evicted = std::move(cache.plans.at(cache.order.front()));
    cache.plans.erase(cache.order.front());
    cache.order.pop_front();
  }
  return plan;
}

/// Grow-only SIMD-aligned buffer from fftwf_alloc_real, so that every buffer has the alignment
/// the cached plans were made with (a condition of the new-array execute functions).
class FftwBuffer {
 public:
  FftwBuffer() = default;
  ~FftwBuffer() { fftwf_free(data_); }
  FftwBuffer(const FftwBuffer&) = delete;
  FftwBuffer& operator=(const FftwBuffer&) = delete;
  void reserve(std::size_t count) {
    if (count <= capacity_) return;
    fftwf_free(data_);
    capacity_ = 0;
    data_ = fftwf_alloc_real(count);
    RIDE_EXPECTS(data_ != nullptr,
                 "fft: cannot allocate " << count * sizeof(float) << " bytes for the spectrum");
    capacity_ = count;
  }
  float* data() const { return data_; }

 private:
  float* data_ = nullptr;
  std::size_t capacity_ = 0;
};

RIDE_CPU_CLONES void log_magnitude_row(const float* __restrict spectrum, std::int64_t count,
                                       float* __restrict out) {
  for (std::int64_t v = 0; v < count; ++v) {
    out[v] = spectrum_log_magnitude(spectrum[2 * v], spectrum[2 * v + 1]);
  }
}

void to_float_row(const std::uint8_t* __restrict in, int width, float* __restrict out) {
  for (int x = 0; x < width; ++x) out[x] = static_cast<float>(in[x]);
}

}  // namespace

FftStats fft_log_magnitude_u8(const std::uint8_t* src, int width, int height,
                              std::ptrdiff_t src_stride_bytes, float* dst,
                              std::ptrdiff_t dst_stride_elems, int threads) {
  detail::validate_fft_args(src, width, height, src_stride_bytes, dst, dst_stride_elems);
  if (width == 0 || height == 0) return FftStats{};
  (void)plan_cache();  // initialises FFTW's threads before the first FFTW allocation

  const std::int64_t half = fft_half_width(width);
  const std::int64_t pitch = 2 * half;  // floats per padded row
  thread_local FftwBuffer buffer;
  buffer.reserve(static_cast<std::size_t>(pitch) * static_cast<std::size_t>(height));
  float* spectrum = buffer.data();
  const int nthreads = std::clamp(threads, 1, kMaxFftThreads);
  const PlanPtr plan = cached_plan(width, height, nthreads, spectrum);

  parallel_bands(height, nthreads, [&](int y0, int y1) {
    for (int y = y0; y < y1; ++y) {
      to_float_row(src + static_cast<std::ptrdiff_t>(y) * src_stride_bytes, width,
                   spectrum + y * pitch);
    }
  });
  fftwf_execute_dft_r2c(plan.get(), spectrum, reinterpret_cast<fftwf_complex*>(spectrum));

  std::vector<detail::FftRowEnergy> rows(static_cast<std::size_t>(height));
  parallel_bands(height, nthreads, [&](int y0, int y1) {
    for (int u = y0; u < y1; ++u) {
      const float* row = spectrum + u * pitch;
      if (dst != nullptr) {
        log_magnitude_row(row, half, dst + static_cast<std::ptrdiff_t>(u) * dst_stride_elems);
      }
      rows[static_cast<std::size_t>(u)] = detail::fft_row_energy(row, u, width, height);
    }
  });
  return detail::combine_fft_rows(rows, spectrum[0], spectrum[1]);
}

namespace detail {

FftStats fft_log_magnitude_u8_cuda_chunked(const std::uint8_t* src, int width, int height,
                                           std::ptrdiff_t src_stride_bytes, float* dst, std::ptrdiff_t dst_stride_elems,
                                           std::int64_t chunk_rows) {
  validate_fft_args(src, width, height, src_stride_bytes, dst, dst_stride_elems);
  RIDE_EXPECTS(chunk_rows >= 0, "fft (CUDA): chunk_rows must be >= 0, got " << chunk_rows);
  require_cuda_device("fft");
  if (width == 0 || height == 0) return FftStats{};
#if RIDE_HAVE_CUDA
  return fft_log_magnitude_u8_cuda_run(src, width, height, src_stride_bytes, dst, dst_stride_elems, chunk_rows);
#else
  return FftStats{};  // not reached: require_cuda_device throws in a build without CUDA
#endif
}

}  // namespace detail

// The public GPU entry point for both builds.
FftStats fft_log_magnitude_u8_cuda(const std::uint8_t* src, int width, int height,
                                   std::ptrdiff_t src_stride_bytes, float* dst,
                                   std::ptrdiff_t dst_stride_elems) {
  return detail::fft_log_magnitude_u8_cuda_chunked(src, width, height, src_stride_bytes, dst,
                                                   dst_stride_elems, 0);
}

}  // namespace ride::kernels

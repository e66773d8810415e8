// CUDA executor of the FFT task: the CPU test body again, plus agreement with the CPU executor,
// small staging chunks and plan re-creation across sizes. Label `gpu`; skips without a device.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "core/error.h"
#include "kernels/common/cuda_device.h"
#include "kernels/fft/fft.h"
#include "kernels/fft/fft_detail.h"
#include "kernels/stddev/stddev.h"
#include "fft_cases.h"

namespace ride::kernels {
namespace {

using testing::Fft;
using testing::U8Frame;

class FftGpu : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!cuda_device_available()) GTEST_SKIP() << "no CUDA device";
  }
};

Fft gpu_fft() {
  return [](const std::uint8_t* src, int width, int height, std::ptrdiff_t src_stride, float* dst,
            std::ptrdiff_t dst_stride) {
    return fft_log_magnitude_u8_cuda(src, width, height, src_stride, dst, dst_stride);
  };
}

// Small chunks force many staging round trips through both pinned slots.
Fft gpu_fft_chunked(std::int64_t chunk_rows) {
  return [chunk_rows](const std::uint8_t* src, int width, int height, std::ptrdiff_t src_stride,
                      float* dst, std::ptrdiff_t dst_stride) {
    return detail::fft_log_magnitude_u8_cuda_chunked(src, width, height, src_stride, dst,
                                                     dst_stride, chunk_rows);
  };
}

Fft cpu_fft() {
  return [](const std::uint8_t* src, int width, int height, std::ptrdiff_t src_stride, float* dst,
            std::ptrdiff_t dst_stride) {
    return fft_log_magnitude_u8(src, width, height, src_stride, dst, dst_stride, 1);
  };
}

// GPU vs CPU: both within the coefficient tolerance of the exact spectrum, so the magnitudes
// differ by at most twice that (plus the log's own rounding).
void expect_close_to_cpu(const Fft& gpu, int width, int height) {
  const U8Frame f = testing::make_frame(width, height, testing::Fill::random, 3);
  FftStats want_stats, got_stats;
  const testing::Output want = testing::run(cpu_fft(), f, &want_stats);
  const testing::Output got = testing::run(gpu, f, &got_stats);
  const testing::Tolerance tol_x = testing::coefficient_tolerance(f);
  double worst = 0;
  for (int u = 0; u < f.height; ++u) {
    for (int v = 0; v < want.cols; ++v) {
      const double m = std::expm1(static_cast<double>(want.at(u, v)));
      const double tol = 2 * tol_x.at(m) / (1 + m) + std::ldexp(1.0, -20) * (1 + want.at(u, v));
      worst = std::max(worst, std::fabs(got.at(u, v) - want.at(u, v)) / tol);
    }
  }
  EXPECT_LE(worst, 1.0) << width << "x" << height << " (error / tolerance)";
  EXPECT_NEAR(got_stats.dc_magnitude, want_stats.dc_magnitude,
              2 * tol_x.at(want_stats.dc_magnitude));
  EXPECT_NEAR(got_stats.energy, want_stats.energy, 1e-5 * want_stats.energy);
  EXPECT_NEAR(got_stats.high_frequency_fraction, want_stats.high_frequency_fraction, 1e-5);
}

TEST_F(FftGpu, SmallFramesMatchNaiveDft) { testing::expect_small_cases_match_naive_dft(gpu_fft()); }

TEST_F(FftGpu, SmallFramesMatchNaiveDftChunked) {
  testing::expect_small_cases_match_naive_dft(gpu_fft_chunked(1));
  testing::expect_small_cases_match_naive_dft(gpu_fft_chunked(3));
}

TEST_F(FftGpu, MediumFramesMatchOpenCv) { testing::expect_medium_cases_match_opencv(gpu_fft()); }

TEST_F(FftGpu, PhotosMatchOpenCv) { testing::expect_photos_match_opencv(gpu_fft()); }

TEST_F(FftGpu, AnalyticFrames) { testing::expect_analytic_frames(gpu_fft()); }

TEST_F(FftGpu, CloseToCpu) {
  expect_close_to_cpu(gpu_fft(), 900, 900);
  expect_close_to_cpu(gpu_fft(), 2500, 1601);
  expect_close_to_cpu(gpu_fft_chunked(37), 1000, 700);
}

TEST_F(FftGpu, RepeatedCallsRebuildPlanAcrossSizes) {
  for (int round = 0; round < 2; ++round) {
    expect_close_to_cpu(gpu_fft(), 900, 900);
    expect_close_to_cpu(gpu_fft(), 33, 9);
    expect_close_to_cpu(gpu_fft(), 2048, 100);
  }
}

TEST_F(FftGpu, StatsOnlyWithoutDst) { testing::expect_stats_only_matches(gpu_fft()); }

TEST_F(FftGpu, EmptyFrames) { testing::expect_empty_frames(gpu_fft()); }

TEST_F(FftGpu, BadArgumentsThrow) {
  testing::expect_bad_arguments_throw(gpu_fft());
  std::vector<std::uint8_t> src(16, 1);
  std::vector<float> dst(16);
  EXPECT_THROW(detail::fft_log_magnitude_u8_cuda_chunked(src.data(), 4, 4, 4, dst.data(), 3, -1),
               ride::Error);
}

}  // namespace
}  // namespace ride::kernels

// CPU executor of the FFT task and its shared math, against a naive double DFT and cv::dft.
#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/error.h"
#include "kernels/common/cuda_device.h"
#include "kernels/fft/fft.h"
#include "kernels/fft/fft_math.h"
#include "kernels/stddev/stddev.h"
#include "fft_cases.h"

namespace ride::kernels {
namespace {

using testing::Fft;
using testing::U8Frame;

Fft cpu_fft(int threads) {
  return [threads](const std::uint8_t* src, int width, int height, std::ptrdiff_t src_stride,
                   float* dst, std::ptrdiff_t dst_stride) {
    return fft_log_magnitude_u8(src, width, height, src_stride, dst, dst_stride, threads);
  };
}

// Relative error of log1p_nonneg in units of 2^-24 of the exact value (absolute for tiny ones).
double log1p_error_ulps(float m) {
  const double want = std::log1p(static_cast<double>(m));
  const double got = log1p_nonneg(m);
  return std::fabs(got - want) / (std::ldexp(1.0, -24) * std::max(want, 1e-300));
}

TEST(FftMath, Log1pMatchesStdLog1p) {
  double worst = 0;
  float worst_at = 0;
  const auto check = [&](float m) {
    const double e = log1p_error_ulps(m);
    if (e > worst) {
      worst = e;
      worst_at = m;
    }
  };
  for (float m : {0.0f, 1e-30f, 1e-10f, 5.9e-8f, 6.0e-8f, 1.2e-7f, 1e-3f, 0.25f, 0.41421f, 0.41422f,
                  0.5f, 1.0f, 2.0f, 3.0f, 255.0f, 65025.0f, 1.6e11f, 1e30f}) {
    check(m);
  }
  for (double m = 1e-12; m < 1e15; m *= 1.0001) check(static_cast<float>(m));
  for (int i = 0; i <= 400000; ++i) check(static_cast<float>(i) * 1e-5f);  // [0, 4] densely
  EXPECT_LE(worst, 6.0) << "at m = " << worst_at;  // measured 4.2 (about 2 float ulps)
  EXPECT_EQ(log1p_nonneg(0.0f), 0.0f);
  EXPECT_EQ(log1p_nonneg(1e-30f), 1e-30f);
}

TEST(FftMath, LogMagnitude) {
  EXPECT_EQ(spectrum_log_magnitude(0.0f, 0.0f), 0.0f);
  EXPECT_NEAR(spectrum_log_magnitude(3.0f, -4.0f), std::log1p(5.0), 1e-6);
  EXPECT_NEAR(spectrum_log_magnitude(-1.6e11f, 0.0f), std::log1p(1.6e11), 1e-5);
  EXPECT_NEAR(spectrum_log_magnitude(1e-4f, 1e-4f), std::log1p(std::hypot(1e-4, 1e-4)), 1e-11);
}

TEST(FftMath, LowBandAndColumnWeights) {
  // 16 * min(u, h - u) <= h.
  // '1' where row u of h rows is in the low band, for each (u, h).
  const std::pair<int, int> rows[] = {{0, 1},
                                      {0, 16},
                                      {1, 16},
                                      {15, 16},
                                      {2, 16},
                                      {14, 16},
                                      {1, 15},
                                      {2, 33},
                                      {3, 33},
                                      {31, 33},
                                      {1510, 24160},
                                      {1511, 24160},
                                      {24160 - 1510, 24160}};
  std::string low;
  for (const auto& [u, h] : rows) low += fft_low_row(u, h) ? '1' : '0';
  EXPECT_EQ(low, "1111000101101");
  EXPECT_EQ(fft_low_columns(1), 1);
  EXPECT_EQ(fft_low_columns(15), 1);
  EXPECT_EQ(fft_low_columns(16), 2);
  EXPECT_EQ(fft_low_columns(25720), 1608);
  EXPECT_EQ(spectrum_column_weight(0, 8), 1.0);
  EXPECT_EQ(spectrum_column_weight(1, 8), 2.0);
  EXPECT_EQ(spectrum_column_weight(4, 8), 1.0);  // Nyquist of an even width
  EXPECT_EQ(spectrum_column_weight(3, 7), 2.0);  // odd widths have no Nyquist column
  EXPECT_EQ(spectrum_column_weight(0, 1), 1.0);
  EXPECT_EQ(fft_half_width(1), 1);
  EXPECT_EQ(fft_half_width(7), 4);
  EXPECT_EQ(fft_half_width(25720), 12861);
}

TEST(FftCpu, SmallFramesMatchNaiveDft) { testing::expect_small_cases_match_naive_dft(cpu_fft(1)); }

TEST(FftCpu, SmallFramesMatchNaiveDftMultithreaded) {
  testing::expect_small_cases_match_naive_dft(cpu_fft(3));
}

TEST(FftCpu, MediumFramesMatchOpenCv) {
  testing::expect_medium_cases_match_opencv(cpu_fft(1));
  testing::expect_medium_cases_match_opencv(cpu_fft(2));
}

TEST(FftCpu, PhotosMatchOpenCv) { testing::expect_photos_match_opencv(cpu_fft(2)); }

TEST(FftCpu, AnalyticFrames) {
  testing::expect_analytic_frames(cpu_fft(1));
  testing::expect_analytic_frames(cpu_fft(2));
}

TEST(FftCpu, ThreadCountsAgree) {
  // FFTW's multi-threaded plans may round differently; all stay within the tolerance and each
  // thread count is deterministic.
  for (const testing::Size s :
       {testing::Size{1000, 700}, testing::Size{33, 31}, testing::Size{257, 300}}) {
    const U8Frame f = testing::make_frame(s.width, s.height);
    FftStats one_stats;
    const testing::Output one = testing::run(cpu_fft(1), f, &one_stats);
    const testing::Tolerance tol_x = testing::coefficient_tolerance(f);
    for (int threads : {2, 3, 8}) {
      FftStats many_stats, again_stats;
      const testing::Output many = testing::run(cpu_fft(threads), f, &many_stats);
      const testing::Output again = testing::run(cpu_fft(threads), f, &again_stats);
      EXPECT_EQ(0, std::memcmp(many.values.data(), again.values.data(),
                               many.values.size() * sizeof(float)));
      EXPECT_EQ(many_stats.energy, again_stats.energy);
      double worst = 0;  // error / tolerance
      for (int u = 0; u < one.rows; ++u) {
        for (int v = 0; v < one.cols; ++v) {
          const double m = std::expm1(static_cast<double>(one.at(u, v)));
          const double tol = 2 * tol_x.at(m) / (1 + m) + std::ldexp(1.0, -20) * (1 + one.at(u, v));
          worst = std::max(worst, std::fabs(many.at(u, v) - one.at(u, v)) / tol);
        }
      }
      EXPECT_LE(worst, 1.0) << s.width << "x" << s.height << " threads " << threads;
      EXPECT_NEAR(many_stats.energy, one_stats.energy, 1e-5 * one_stats.energy);
      EXPECT_NEAR(many_stats.dc_magnitude, one_stats.dc_magnitude,
                  2 * tol_x.at(one_stats.dc_magnitude));
      EXPECT_NEAR(many_stats.high_frequency_fraction, one_stats.high_frequency_fraction, 1e-6);
    }
  }
}

TEST(FftCpu, PlanCacheEvictionAndConcurrentCallers) {
  // More sizes than the plan cache holds, twice, from 3 threads at once, 2 FFTW threads each:
  // every result must equal the one computed alone.
  std::vector<U8Frame> frames;
  for (int i = 0; i < 20; ++i) frames.push_back(testing::make_frame(20 + i, 9 + (i % 4)));
  std::vector<testing::Output> alone;
  for (const U8Frame& f : frames) alone.push_back(testing::run(cpu_fft(2), f));
  std::vector<int> mismatches(3, 0);
  {
    std::vector<std::jthread> callers;
    for (int t = 0; t < 3; ++t) {
      callers.emplace_back([&, t] {
        for (int round = 0; round < 2; ++round) {
          for (std::size_t i = 0; i < frames.size(); ++i) {
            const testing::Output o = testing::run(cpu_fft(2), frames[(i + t * 7) % frames.size()]);
            const testing::Output& want = alone[(i + t * 7) % frames.size()];
            if (std::memcmp(o.values.data(), want.values.data(), o.values.size() * sizeof(float)) !=
                0) {
              ++mismatches[static_cast<std::size_t>(t)];
            }
          }
        }
      });
    }
  }
  for (int m : mismatches) EXPECT_EQ(m, 0);
}

TEST(FftCpu, StatsOnlyWithoutDst) { testing::expect_stats_only_matches(cpu_fft(2)); }

TEST(FftCpu, EmptyFrames) {
  testing::expect_empty_frames(cpu_fft(1));
  testing::expect_empty_frames(cpu_fft(4));
}

TEST(FftCpu, BadArgumentsThrow) { testing::expect_bad_arguments_throw(cpu_fft(2)); }

// Runs in every build: without a device (or without CUDA) the GPU path must refuse clearly.
TEST(FftCudaFallback, ThrowsWithoutDevice) {
  if (cuda_device_available()) GTEST_SKIP() << "a CUDA device is present";
  std::vector<std::uint8_t> src(16, 7);
  std::vector<float> dst(16);
  EXPECT_THROW(fft_log_magnitude_u8_cuda(src.data(), 4, 4, 4, dst.data(), 3), ride::Error);
}

}  // namespace
}  // namespace ride::kernels

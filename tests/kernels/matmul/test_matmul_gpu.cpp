// CUDA executor of the matmul task: the CPU test body again, plus agreement with the CPU
// executor, many small bands, and the device-side B cache across sizes and seeds.
// Label `gpu`; every test skips without a device.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "core/error.h"
#include "kernels/common/cuda_device.h"
#include "kernels/matmul/matmul.h"
#include "kernels/matmul/matmul_detail.h"
#include "kernels/stddev/stddev.h"
#include "matmul_cases.h"

namespace ride::kernels {
namespace {

using testing::Matmul;
using testing::U8Frame;

class MatmulGpu : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!cuda_device_available()) GTEST_SKIP() << "no CUDA device";
  }
};

Matmul gpu_matmul() {
  return [](const std::uint8_t* src, int width, int height, std::ptrdiff_t src_stride,
            const MatmulParams& p, float* dst, std::ptrdiff_t dst_stride) {
    return matmul_u8_cuda(src, width, height, src_stride, p, dst, dst_stride);
  };
}

// A small band height forces many bands through both double-buffer slots.
Matmul gpu_matmul_banded(int band_rows) {
  return [band_rows](const std::uint8_t* src, int width, int height, std::ptrdiff_t src_stride,
                     const MatmulParams& p, float* dst, std::ptrdiff_t dst_stride) {
    return detail::matmul_u8_cuda_banded(src, width, height, src_stride, p, dst, dst_stride,
                                         band_rows);
  };
}

Matmul cpu_matmul() {
  return [](const std::uint8_t* src, int width, int height, std::ptrdiff_t src_stride,
            const MatmulParams& p, float* dst, std::ptrdiff_t dst_stride) {
    return matmul_u8(src, width, height, src_stride, p, dst, dst_stride, 1);
  };
}

// GPU vs CPU: both are within the documented bound of the exact product, so they differ by at
// most twice the bound; with |A| <= 1 and |B| <= 1 that is 2 * (width + 2) * 2^-24 * width.
void expect_close_to_cpu(const Matmul& gpu, int width, int height, const MatmulParams& p) {
  const U8Frame f = testing::make_frame(width, height, testing::Fill::random, 5);
  MatmulStats want_stats, got_stats;
  const testing::Output want = testing::run(cpu_matmul(), f, p, &want_stats);
  const testing::Output got = testing::run(gpu, f, p, &got_stats);
  const double tol = 2 * (width + 2) * std::ldexp(1.0, -24) * width;
  double worst = 0;
  for (int y = 0; y < height; ++y) {
    for (int k = 0; k < p.cols; ++k) {
      worst = std::max(worst, std::fabs(static_cast<double>(got.at(y, k)) - want.at(y, k)));
    }
  }
  EXPECT_LE(worst, tol) << width << "x" << height << " cols " << p.cols;
  EXPECT_NEAR(got_stats.mean, want_stats.mean, tol);
  EXPECT_NEAR(got_stats.min, want_stats.min, tol);
  EXPECT_NEAR(got_stats.max, want_stats.max, tol);
  EXPECT_NEAR(got_stats.frobenius, want_stats.frobenius,
              tol * std::sqrt(static_cast<double>(height) * p.cols));
}

TEST_F(MatmulGpu, MatchesReference) { testing::expect_all_cases_match_reference(gpu_matmul()); }

TEST_F(MatmulGpu, MatchesReferenceBanded) {
  testing::expect_all_cases_match_reference(gpu_matmul_banded(1));
  testing::expect_all_cases_match_reference(gpu_matmul_banded(7));
}

TEST_F(MatmulGpu, ConstantFramesMatchReference) {
  testing::expect_constant_frames_match_reference(gpu_matmul());
}

TEST_F(MatmulGpu, CloseToCpu) {
  expect_close_to_cpu(gpu_matmul(), 900, 900, MatmulParams{});
  expect_close_to_cpu(gpu_matmul(), 2500, 301, MatmulParams{256, 7});
  expect_close_to_cpu(gpu_matmul_banded(37), 1000, 700, MatmulParams{100, 3});
}

TEST_F(MatmulGpu, RepeatedCallsReuseWorkspaceAndRegenerateB) {
  // Sizes, column counts and seeds change between calls: the cached B must follow.
  for (int round = 0; round < 2; ++round) {
    expect_close_to_cpu(gpu_matmul(), 900, 300, MatmulParams{256, 1});
    expect_close_to_cpu(gpu_matmul(), 900, 300, MatmulParams{256, 2});
    expect_close_to_cpu(gpu_matmul(), 33, 9, MatmulParams{7, 2});
    expect_close_to_cpu(gpu_matmul(), 2048, 100, MatmulParams{31, 2});
  }
}

TEST_F(MatmulGpu, StatsOnlyWithoutDst) { testing::expect_stats_only_matches(gpu_matmul()); }

TEST_F(MatmulGpu, EmptyFrames) { testing::expect_empty_frames(gpu_matmul()); }

TEST_F(MatmulGpu, BadArgumentsThrow) {
  testing::expect_bad_arguments_throw(gpu_matmul());
  std::vector<std::uint8_t> src(16, 1);
  std::vector<float> dst(16);
  EXPECT_THROW(
      detail::matmul_u8_cuda_banded(src.data(), 4, 4, 4, MatmulParams{4, 0}, dst.data(), 4, -1),
      ride::Error);
}

}  // namespace
}  // namespace ride::kernels

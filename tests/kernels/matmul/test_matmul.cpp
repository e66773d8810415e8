// CPU executor of the matmul task against an independent double-precision reference and OpenCV.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <set>
#include <vector>

#include "core/error.h"
#include "kernels/common/cuda_device.h"
#include "kernels/matmul/matmul.h"
#include "kernels/matmul/matmul_detail.h"
#include "kernels/matmul/matmul_math.h"
#include "kernels/stddev/stddev.h"
#include "matmul_cases.h"

namespace ride::kernels {
namespace {

using testing::Matmul;
using testing::U8Frame;

Matmul cpu_matmul(int threads) {
  return [threads](const std::uint8_t* src, int width, int height, std::ptrdiff_t src_stride,
                   const MatmulParams& p, float* dst, std::ptrdiff_t dst_stride) {
    return matmul_u8(src, width, height, src_stride, p, dst, dst_stride, threads);
  };
}

TEST(MatmulWeights, MatchTheDocumentedHash) {
  for (std::uint64_t seed : {0ULL, 1ULL, 42ULL, 0xFFFFFFFFFFFFFFFFULL}) {
    for (std::uint64_t r : {0ULL, 1ULL, 2ULL, 1000ULL, 25719ULL, 4294967295ULL}) {
      for (std::uint64_t c : {0ULL, 1ULL, 255ULL, 65535ULL, 4294967295ULL}) {
        ASSERT_EQ(static_cast<double>(matmul_weight(r, c, seed)), testing::ref_weight(r, c, seed))
            << r << "," << c << " seed " << seed;
      }
    }
  }
}

TEST(MatmulWeights, RangeSpreadAndSeeds) {
  const int width = 300, cols = 200;
  std::vector<float> b(static_cast<std::size_t>(width) * (cols + 3), 7.0f);
  matmul_fill_weights(width, cols, 9, b.data(), cols + 3);
  double sum = 0, lo = 1, hi = -1;
  std::set<float> distinct;
  for (int r = 0; r < width; ++r) {
    for (int c = 0; c < cols + 3; ++c) {
      const float v = b[static_cast<std::size_t>(r) * (cols + 3) + c];
      if (c >= cols) {
        ASSERT_EQ(v, 7.0f) << "stride padding overwritten";
        continue;
      }
      ASSERT_EQ(v, matmul_weight(r, c, 9));
      ASSERT_GE(v, -1.0f);
      ASSERT_LT(v, 1.0f);
      sum += v;
      lo = std::min<double>(lo, v);
      hi = std::max<double>(hi, v);
      distinct.insert(v);
    }
  }
  const double n = width * cols;
  EXPECT_NEAR(sum / n, 0.0, 0.01);  // uniform on [-1, 1): mean 0, sd of the mean 0.577/sqrt(n)
  EXPECT_LT(lo, -0.999);
  EXPECT_GT(hi, 0.999);
  EXPECT_GT(distinct.size(), static_cast<std::size_t>(n * 0.99));
  int same = 0;
  for (int r = 0; r < 50; ++r) same += matmul_weight(r, 3, 9) == matmul_weight(r, 3, 10);
  EXPECT_LE(same, 1);
}

TEST(MatmulWeights, BadArgumentsThrow) {
  std::vector<float> b(16);
  EXPECT_THROW(matmul_fill_weights(2, 0, 0, b.data(), 4), ride::Error);
  EXPECT_THROW(matmul_fill_weights(-1, 4, 0, b.data(), 4), ride::Error);
  EXPECT_THROW(matmul_fill_weights(2, 4, 0, nullptr, 4), ride::Error);
  EXPECT_THROW(matmul_fill_weights(2, 4, 0, b.data(), 3), ride::Error);
  EXPECT_NO_THROW(matmul_fill_weights(0, 4, 0, nullptr, 0));
}

TEST(MatmulMath, UnitConversionIsTheFloatQuotient) {
  for (int v = 0; v < 256; ++v) {
    ASSERT_EQ(u8_to_unit(static_cast<std::uint8_t>(v)), static_cast<float>(v / 255.0)) << v;
  }
}

TEST(MatmulBands, DependOnFrameSizeOnly) {
  EXPECT_EQ(detail::matmul_cpu_band_count(1, 1), 1);
  EXPECT_EQ(detail::matmul_cpu_band_count(900, 900), 4);  // 256 rows at most
  EXPECT_EQ(detail::matmul_cpu_band_count(900, 256), 1);
  EXPECT_EQ(detail::matmul_cpu_band_count(900, 257), 2);
  EXPECT_EQ(detail::matmul_cpu_band_count(25720, 24160), 95);     // ceil(24160 / 256)
  EXPECT_EQ(detail::matmul_cpu_band_count(100000, 200), 2);       // 2^24 / 100000 = 167 rows
  EXPECT_EQ(detail::matmul_cpu_band_count((1 << 24) + 1, 3), 3);  // one row per band
}

TEST(MatmulCpu, MatchesReference) { testing::expect_all_cases_match_reference(cpu_matmul(1)); }

TEST(MatmulCpu, MatchesReferenceMultithreaded) {
  testing::expect_all_cases_match_reference(cpu_matmul(3));
}

TEST(MatmulCpu, ConstantFramesMatchReference) {
  testing::expect_constant_frames_match_reference(cpu_matmul(1));
}

TEST(MatmulCpu, WideFrameUsesMemoryCappedBands) {
  // 2^24 / 100000 = 167 rows per band: 2 bands, each a 167 x 100000 float block at most.
  const U8Frame f = testing::make_frame(100000, 200);
  const MatmulParams p{3, 11};
  MatmulStats stats;
  const testing::Output out = testing::run(cpu_matmul(2), f, p, &stats);
  testing::expect_matches_reference(f, p, out, stats);
}

TEST(MatmulCpu, ThreadCountDoesNotChangeBits) {
  for (const testing::Size s : {testing::Size{257, 600}, testing::Size{33, 700},
                                testing::Size{1000, 300}, testing::Size{5, 3}}) {
    const U8Frame f = testing::make_frame(s.width, s.height);
    const MatmulParams p{};
    MatmulStats one_stats;
    const testing::Output one = testing::run(cpu_matmul(1), f, p, &one_stats);
    for (int threads : {2, 3, 7}) {
      MatmulStats many_stats;
      const testing::Output many = testing::run(cpu_matmul(threads), f, p, &many_stats);
      EXPECT_EQ(
          0, std::memcmp(one.values.data(), many.values.data(), one.values.size() * sizeof(float)))
          << s.width << "x" << s.height << " threads " << threads;
      EXPECT_EQ(one_stats.mean, many_stats.mean);
      EXPECT_EQ(one_stats.min, many_stats.min);
      EXPECT_EQ(one_stats.max, many_stats.max);
      EXPECT_EQ(one_stats.frobenius, many_stats.frobenius);
    }
  }
}

TEST(MatmulCpu, StatsOnlyWithoutDst) { testing::expect_stats_only_matches(cpu_matmul(2)); }

TEST(MatmulCpu, EmptyFrames) {
  testing::expect_empty_frames(cpu_matmul(1));
  testing::expect_empty_frames(cpu_matmul(4));
}

TEST(MatmulCpu, BadArgumentsThrow) { testing::expect_bad_arguments_throw(cpu_matmul(2)); }

TEST(MatmulCpu, PhotoAgreesWithOpenCvGemm) {
  const std::filesystem::path path = "/usr/lib/python3/dist-packages/skimage/data/camera.png";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " not installed";
  const cv::Mat img = cv::imread(path.string(), cv::IMREAD_GRAYSCALE);
  ASSERT_FALSE(img.empty());
  const MatmulParams p{64, 3};
  cv::Mat b(img.cols, p.cols, CV_32F);
  matmul_fill_weights(img.cols, p.cols, p.seed, b.ptr<float>(), b.step1());
  cv::Mat a;
  img.convertTo(a, CV_32F, 1.0 / 255.0);
  cv::Mat want;
  cv::gemm(a, b, 1.0, cv::noArray(), 0.0, want);
  cv::Mat got(img.rows, p.cols, CV_32F);
  const MatmulStats s =
      matmul_u8(img.data, img.cols, img.rows, static_cast<std::ptrdiff_t>(img.step), p,
                got.ptr<float>(), got.step1(), 2);
  // Both are within (width + 2) * 2^-24 * sum |a b| <= (width + 2) * 2^-24 * width of the exact
  // product (|a|, |b| <= 1); OpenCV scales by 1/255 in double and rounds once, like v / 255.
  const double tol = 2 * (img.cols + 2) * std::ldexp(1.0, -24) * img.cols;
  EXPECT_LE(cv::norm(got, want, cv::NORM_INF), tol);
  double lo = 0, hi = 0;
  cv::minMaxLoc(want, &lo, &hi);
  EXPECT_NEAR(s.min, lo, tol);
  EXPECT_NEAR(s.max, hi, tol);
  EXPECT_NEAR(s.mean, cv::mean(want)[0], tol);
  EXPECT_NEAR(s.frobenius, cv::norm(want, cv::NORM_L2), tol * std::sqrt(want.total()));
}

// Runs in every build: without a device (or without CUDA) the GPU path must refuse clearly.
TEST(MatmulCudaFallback, ThrowsWithoutDevice) {
  if (cuda_device_available()) GTEST_SKIP() << "a CUDA device is present";
  std::vector<std::uint8_t> src(16, 7);
  std::vector<float> dst(16);
  EXPECT_THROW(matmul_u8_cuda(src.data(), 4, 4, 4, MatmulParams{4, 0}, dst.data(), 4), ride::Error);
}

}  // namespace
}  // namespace ride::kernels

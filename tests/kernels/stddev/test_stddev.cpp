// CPU executor of the stddev filter and its shared math, against an independent reference.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <utility>
#include <vector>

#include "core/error.h"
#include "kernels/common/cuda_device.h"
#include "kernels/stddev/stddev.h"
#include "kernels/stddev/stddev_math.h"
#include "stddev_cases.h"

namespace ride::kernels {
namespace {

using testing::Fill;
using testing::Filter;
using testing::FloatRows;

Filter cpu_filter(int threads) {
  return [threads](const std::uint8_t* src, int width, int height, std::ptrdiff_t src_stride,
                   int window, float* dst, std::ptrdiff_t dst_stride) {
    stddev_filter_u8(src, width, height, src_stride, window, dst, dst_stride, threads);
  };
}

TEST(StddevMath, Reflect101MatchesOpenCvExamples) {
  // ...cba|abcd|dcb... for n = 4 (a=0, b=1, c=2, d=3).
  const int expected[] = {0, 1, 2, 3, 2, 1, 0, 1, 2, 3, 2, 1, 0};  // i = -6 ... 6
  for (int i = -6; i <= 6; ++i) EXPECT_EQ(reflect101(i, 4), expected[i + 6]) << i;
  for (int i = -5; i <= 5; ++i) EXPECT_EQ(reflect101(i, 1), 0) << i;
  EXPECT_EQ(reflect101(-1, 2), 1);
  EXPECT_EQ(reflect101(2, 2), 0);
  EXPECT_EQ(reflect101(3, 2), 1);
}

TEST(StddevMath, Reflect101MatchesRepeatedMirroring) {
  for (int n = 1; n <= 9; ++n) {
    for (int i = -3000; i <= 3000; ++i) {
      ASSERT_EQ(reflect101(i, n), ride::test::mirror101(i, n)) << "i=" << i << " n=" << n;
    }
  }
}

TEST(StddevMath, StdFromSums) {
  EXPECT_EQ(std_from_sums(1, 200, 40000), 0.0f);
  EXPECT_EQ(std_from_sums(2, 2, 4), 1.0f);                // {0, 2}
  EXPECT_EQ(std_from_sums(4, 510, 130050), 127.5f);       // {0, 0, 255, 255}
  EXPECT_FLOAT_EQ(std_from_sums(3, 6, 14), 0.81649658f);  // {1, 2, 3}
  // Largest window at maximum variance stays exact in int64.
  const std::int64_t n = std::int64_t{kMaxStddevWindow} * kMaxStddevWindow;
  const std::int64_t high = n / 2;  // that many samples at 255, the rest at 0
  EXPECT_NEAR(std_from_sums(n, 255 * high, 255 * 255 * high), 127.5, 1e-3);
  EXPECT_EQ(variance_numerator(n, 255 * n, 255 * 255 * n), 0);
}

TEST(StddevMath, Int32NumeratorBound) {
  EXPECT_TRUE(u8_numerator_fits_int32(19 * 19));
  EXPECT_FALSE(u8_numerator_fits_int32(21 * 21));
  // The bound is tight: 19x19 at maximum variance is close to, but below, 2^31.
  const std::int64_t n = 19 * 19;
  const std::int64_t high = n / 2;
  EXPECT_LE(variance_numerator(n, 255 * high, 255 * 255 * high),
            std::numeric_limits<std::int32_t>::max());
}

/// The reference itself (exact integer window sums) against the plainest definition: gather the
/// window through repeated mirroring, mean, then mean squared deviation, in double.
TEST(StddevReference, EqualsANaiveGather) {
  for (const auto& [w, h] : std::vector<std::pair<int, int>>{{1, 1}, {1, 6}, {5, 1}, {3, 2}, {13, 9}, {31, 17}}) {
    for (int window : {1, 3, 5, 9, 15, 33}) {
      for (Fill fill : {Fill::random, Fill::checkerboard_0_255}) {
        const testing::U8Image img = testing::make_image(w, h, fill, static_cast<std::uint32_t>(w * 100 + window));
        const std::vector<double> ref = testing::reference_stddev(img, window);
        ASSERT_EQ(ref.size(), static_cast<std::size_t>(w) * static_cast<std::size_t>(h));
        const int r = window / 2;
        for (int y = 0; y < h; ++y) {
          for (int x = 0; x < w; ++x) {
            std::vector<double> v;
            for (int dy = -r; dy <= r; ++dy) {
              for (int dx = -r; dx <= r; ++dx)
                v.push_back(img.at(ride::test::mirror101(x + dx, w), ride::test::mirror101(y + dy, h)));
            }
            double mean = 0, dev = 0;
            for (double e : v) mean += e;
            mean /= static_cast<double>(v.size());
            for (double e : v) dev += (e - mean) * (e - mean);
            const double want = std::sqrt(dev / static_cast<double>(v.size()));
            ASSERT_NEAR(ref[static_cast<std::size_t>(y) * static_cast<std::size_t>(w) + static_cast<std::size_t>(x)],
                        want, 1e-9)
                << w << "x" << h << " window " << window << " at (" << x << ", " << y << ")";
          }
        }
      }
    }
  }
}

TEST(StddevCpu, MatchesReference) { testing::expect_all_cases_match_reference(cpu_filter(1)); }

TEST(StddevCpu, MatchesReferenceMultithreaded) {
  testing::expect_all_cases_match_reference(cpu_filter(3));
}

TEST(StddevCpu, ExtremeValuesMatchReference) {
  testing::expect_extreme_values_match_reference(cpu_filter(1));
}

TEST(StddevCpu, HugeWindowsMatchReference) {
  testing::expect_huge_windows_match_reference(cpu_filter(1));
}

TEST(StddevCpu, ThreadCountDoesNotChangeBits) {
  for (const testing::Size& s : testing::case_sizes()) {
    for (int window : {1, 5, 15, 21}) {
      const testing::U8Image img = testing::make_image(s.width, s.height, Fill::random);
      const FloatRows one = testing::run_filter(cpu_filter(1), img, window);
      for (int threads : {2, 3, 7}) {
        const FloatRows many = testing::run_filter(cpu_filter(threads), img, window);
        EXPECT_EQ(0, std::memcmp(one.values.data(), many.values.data(),
                                 one.values.size() * sizeof(float)))
            << s.width << "x" << s.height << " window " << window << " threads " << threads;
      }
    }
  }
}

TEST(StddevCpu, EmptyImageIsNoOp) {
  testing::expect_empty_is_noop(cpu_filter(1));
  testing::expect_empty_is_noop(cpu_filter(4));
}

TEST(StddevCpu, BadArgumentsThrow) { testing::expect_bad_arguments_throw(cpu_filter(2)); }

// Runs in every build: without a device (or without CUDA) the GPU path must refuse clearly.
TEST(StddevCudaFallback, ThrowsWithoutDevice) {
  if (cuda_device_available()) GTEST_SKIP() << "a CUDA device is present";
  std::vector<std::uint8_t> src(16, 7);
  std::vector<float> dst(16);
  EXPECT_THROW(stddev_filter_u8_cuda(src.data(), 4, 4, 4, 3, dst.data(), 4), ride::Error);
}

TEST(StddevCudaFallback, NoDeviceWithoutCudaBuild) {
  if (cuda_compiled()) GTEST_SKIP() << "built with CUDA";
  EXPECT_FALSE(cuda_device_available());
}

TEST(FrameStats, MeanMinMax) {
  // 3x2 image with a padded stride of 4; the padding must be ignored.
  const std::vector<float> img = {1.0f, -2.0f, 4.0f, 1000.0f,  //
                                  0.5f, 3.5f,  5.0f, -1000.0f};
  const FrameStats s = frame_stats(img.data(), 3, 2, 4);
  EXPECT_DOUBLE_EQ(s.mean, 12.0 / 6.0);
  EXPECT_DOUBLE_EQ(s.min, -2.0);
  EXPECT_DOUBLE_EQ(s.max, 5.0);
}

TEST(FrameStats, OfFilterOutput) {
  const testing::U8Image img = testing::make_image(64, 48, Fill::random);
  const FloatRows out = testing::run_filter(cpu_filter(1), img, 5);
  const std::vector<double> ref = testing::reference_stddev(img, 5);
  double sum = 0, lo = ref[0], hi = ref[0];
  for (double v : ref) {
    sum += v;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  const FrameStats s = frame_stats(out.values.data(), out.cols, out.rows, out.stride);
  EXPECT_NEAR(s.mean, sum / static_cast<double>(ref.size()), 1e-4);
  EXPECT_NEAR(s.min, lo, 1e-4);
  EXPECT_NEAR(s.max, hi, 1e-4);
}

TEST(FrameStats, EmptyAndBadArguments) {
  const FrameStats s = frame_stats(nullptr, 0, 5, 0);
  EXPECT_EQ(s.mean, 0.0);
  EXPECT_EQ(s.min, 0.0);
  EXPECT_EQ(s.max, 0.0);
  const float one = 3.0f;
  EXPECT_THROW(frame_stats(nullptr, 1, 1, 1), ride::Error);
  EXPECT_THROW(frame_stats(&one, 1, 1, 0), ride::Error);
  EXPECT_THROW(frame_stats(&one, -1, 1, 1), ride::Error);
  EXPECT_EQ(frame_stats(&one, 1, 1, 1).mean, 3.0);
}

}  // namespace
}  // namespace ride::kernels

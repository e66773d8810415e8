// CUDA executor of the stddev filter: the CPU test body again, plus bit-identity with the CPU
// executor and multi-tile frames. Label `gpu`; every test skips without a device.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "kernels/common/cuda_device.h"
#include "kernels/stddev/stddev.h"
#include "kernels/stddev/stddev_detail.h"
#include "stddev_cases.h"

namespace ride::kernels {
namespace {

using testing::Fill;
using testing::Filter;
using testing::FloatRows;

class StddevGpu : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!cuda_device_available()) GTEST_SKIP() << "no CUDA device";
  }
};

Filter gpu_filter() {
  return [](const std::uint8_t* src, int width, int height, std::ptrdiff_t src_stride, int window,
            float* dst, std::ptrdiff_t dst_stride) {
    stddev_filter_u8_cuda(src, width, height, src_stride, window, dst, dst_stride);
  };
}

// A tiny tile budget forces many tiles (down to one row each) and both double-buffer slots.
Filter gpu_filter_tiled(std::int64_t tile_pixels) {
  return [tile_pixels](const std::uint8_t* src, int width, int height, std::ptrdiff_t src_stride,
                       int window, float* dst, std::ptrdiff_t dst_stride) {
    detail::stddev_filter_u8_cuda_tiled(src, width, height, src_stride, window, dst, dst_stride,
                                        tile_pixels);
  };
}

Filter cpu_filter() {
  return [](const std::uint8_t* src, int width, int height, std::ptrdiff_t src_stride, int window,
            float* dst, std::ptrdiff_t dst_stride) {
    stddev_filter_u8(src, width, height, src_stride, window, dst, dst_stride, 1);
  };
}

void expect_same_bits_as_cpu(const Filter& gpu, int width, int height, int window, Fill fill) {
  const testing::U8Image img = testing::make_image(width, height, fill, 99);
  const FloatRows want = testing::run_filter(cpu_filter(), img, window);
  const FloatRows got = testing::run_filter(gpu, img, window);
  EXPECT_EQ(0,
            std::memcmp(want.values.data(), got.values.data(), want.values.size() * sizeof(float)))
      << width << "x" << height << " window " << window;
}

TEST_F(StddevGpu, MatchesReference) { testing::expect_all_cases_match_reference(gpu_filter()); }

TEST_F(StddevGpu, MatchesReferenceTiled) {
  testing::expect_all_cases_match_reference(gpu_filter_tiled(1));
  testing::expect_all_cases_match_reference(gpu_filter_tiled(100));
}

TEST_F(StddevGpu, ExtremeValuesMatchReference) {
  testing::expect_extreme_values_match_reference(gpu_filter());
}

TEST_F(StddevGpu, HugeWindowsMatchReference) {
  testing::expect_huge_windows_match_reference(gpu_filter());
  testing::expect_huge_windows_match_reference(gpu_filter_tiled(4));
}

TEST_F(StddevGpu, BitIdenticalToCpu) {
  for (const testing::Size& s : testing::case_sizes()) {
    for (int window : {1, 3, 5, 15, 21, 63}) {
      expect_same_bits_as_cpu(gpu_filter(), s.width, s.height, window, Fill::random);
    }
  }
  for (int window : {5, 19, 21, 31}) {
    expect_same_bits_as_cpu(gpu_filter(), 1000, 700, window, Fill::random);
    expect_same_bits_as_cpu(gpu_filter(), 1000, 700, window, Fill::checkerboard_0_255);
    expect_same_bits_as_cpu(gpu_filter_tiled(37 * 1000 + 5), 1000, 700, window, Fill::random);
  }
}

TEST_F(StddevGpu, RepeatedCallsReuseWorkspace) {
  // Shrinking and growing frames on the cached per-thread buffers.
  for (int round = 0; round < 3; ++round) {
    expect_same_bits_as_cpu(gpu_filter(), 900, 900, 5, Fill::random);
    expect_same_bits_as_cpu(gpu_filter(), 33, 9, 7, Fill::random);
    expect_same_bits_as_cpu(gpu_filter(), 2048, 1100, 9, Fill::random);
  }
}

TEST_F(StddevGpu, EmptyImageIsNoOp) { testing::expect_empty_is_noop(gpu_filter()); }

TEST_F(StddevGpu, BadArgumentsThrow) { testing::expect_bad_arguments_throw(gpu_filter()); }

}  // namespace
}  // namespace ride::kernels

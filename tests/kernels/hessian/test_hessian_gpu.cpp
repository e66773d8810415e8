// CUDA executor of the fast-Hessian detector: the CPU test cases again, plus identity with the
// CPU executor (tolerance zero: same keypoints, same order, same float bits), multi-tile frames
// and the rerun after a candidate-buffer overflow. Label `gpu`; every test skips without a
// device.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/error.h"
#include "kernels/common/cuda_device.h"
#include "kernels/hessian/hessian.h"
#include "kernels/hessian/hessian_detail.h"
#include "kernels/stddev/stddev.h"
#include "hessian_cases.h"

namespace ride::kernels {
namespace {

namespace htest = hessian_testing;

using htest::Fill;
using htest::U8Image;

class HessianGpu : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!cuda_device_available()) GTEST_SKIP() << "no CUDA device";
  }
};

htest::Detector gpu_detector() {
  return [](const U8Image& img, const HessianParams& params) {
    return fast_hessian_u8_cuda(img.data(), img.width, img.height, img.stride, params);
  };
}

// Small tile budgets force many tiles (down to one row each) and both double-buffer slots;
// a small candidate room forces reruns.
htest::Detector gpu_detector_tiled(std::int64_t tile_pixels, int capacity) {
  return [tile_pixels, capacity](const U8Image& img, const HessianParams& params) {
    return detail::fast_hessian_u8_cuda_tiled(img.data(), img.width, img.height, img.stride, params,
                                              tile_pixels, capacity);
  };
}

void expect_same_as_cpu(const htest::Detector& gpu, const U8Image& img, const HessianParams& params,
                        const std::string& what) {
  const auto want = fast_hessian_u8(img.data(), img.width, img.height, img.stride, params, 2);
  htest::expect_identical(want, gpu(img, params), what);
}

TEST_F(HessianGpu, MatchesReferenceScan) {
  htest::expect_all_cases_match_reference(gpu_detector());
}

TEST_F(HessianGpu, MatchesReferenceScanTiled) {
  htest::expect_all_cases_match_reference(gpu_detector_tiled(1, 0));
  htest::expect_all_cases_match_reference(gpu_detector_tiled(100, 1));
}

TEST_F(HessianGpu, MatchesReferenceScanInAllOctaves) {
  htest::expect_all_octaves_match_reference(
      {gpu_detector(), gpu_detector_tiled(200 * 5, 0), gpu_detector_tiled(200 * 40, 2)});
}

TEST_F(HessianGpu, EmptyFramesGiveNothing) {
  htest::expect_empty_frames_give_nothing(gpu_detector());
}

TEST_F(HessianGpu, SameKeypointsAsCpu) {
  for (const htest::Size& s : htest::case_sizes()) {
    for (Fill fill : {Fill::noise, Fill::smooth_noise}) {
      const U8Image img = htest::make_image(s.width, s.height, fill);
      for (bool interpolate : {false, true}) {
        HessianParams p;
        p.threshold = 1;
        p.interpolate = interpolate;
        expect_same_as_cpu(gpu_detector(), img, p,
                           std::to_string(s.width) + "x" + std::to_string(s.height));
      }
    }
  }
  for (Fill fill : {Fill::noise, Fill::smooth_noise}) {
    const U8Image img = htest::make_image(1000, 700, fill, 11);
    for (double threshold : {0.0, 100.0}) {
      HessianParams p;
      p.threshold = threshold;
      expect_same_as_cpu(gpu_detector(), img, p, "1000x700 " + htest::to_string(fill));
      p.octaves = 6;
      p.layers = 8;
      p.init_sample = 2;
      expect_same_as_cpu(gpu_detector(), img, p, "1000x700, 6 octaves of 8 layers");
    }
  }
}

TEST_F(HessianGpu, MultiTileFramesMatchCpu) {
  const U8Image img = htest::make_image(1531, 1207, Fill::smooth_noise, 5);
  HessianParams p;
  p.threshold = 5;
  for (std::int64_t tile_pixels : {std::int64_t{1531}, std::int64_t{1531} * 7 + 3,
                                   std::int64_t{1531} * 200, std::int64_t{1} << 40}) {
    expect_same_as_cpu(gpu_detector_tiled(tile_pixels, 0), img, p,
                       "tile pixels " + std::to_string(tile_pixels));
  }
  // Overflowing candidate buffers: the tile reruns with room for all.
  expect_same_as_cpu(gpu_detector_tiled(1531 * 300, 1), img, p, "capacity 1");
  expect_same_as_cpu(gpu_detector_tiled(1531 * 300, 17), img, p, "capacity 17");
}

TEST_F(HessianGpu, TallNarrowFrameNeedsManyGridRows) {
  // More rows than one grid dimension holds (65535): tiles keep every grid below the limit.
  const U8Image img = htest::make_image(40, 70000, Fill::smooth_noise, 8);
  HessianParams p;
  p.threshold = 5;
  p.octaves = 2;
  expect_same_as_cpu(gpu_detector_tiled(std::int64_t{1} << 40, 0), img, p, "40x70000");
}

TEST_F(HessianGpu, RepeatedCallsReuseWorkspace) {
  HessianParams p;
  p.threshold = 10;
  for (int round = 0; round < 3; ++round) {
    for (htest::Size s : {htest::Size{900, 900}, {33, 29}, {2048, 1100}}) {
      const U8Image img = htest::make_image(s.width, s.height, Fill::smooth_noise, round);
      expect_same_as_cpu(gpu_detector(), img, p, "round " + std::to_string(round));
    }
  }
}

TEST_F(HessianGpu, BadArgumentsThrow) {
  const U8Image img = htest::make_image(40, 40, Fill::noise);
  EXPECT_THROW(fast_hessian_u8_cuda(nullptr, 40, 40, 40), Error);
  EXPECT_THROW(fast_hessian_u8_cuda(img.data(), 40, 40, 39), Error);
  HessianParams p;
  p.layers = 2;
  EXPECT_THROW(fast_hessian_u8_cuda(img.data(), 40, 40, img.stride, p), Error);
  EXPECT_THROW(detail::fast_hessian_u8_cuda_tiled(img.data(), 40, 40, img.stride, {}, 0, 0), Error);
  EXPECT_THROW(detail::fast_hessian_u8_cuda_tiled(img.data(), 40, 40, img.stride, {}, 1, -1),
               Error);
}

// Runs without a device too (then it checks the refusal).
TEST(HessianGpuAvailability, ThrowsWithoutDevice) {
  const U8Image img = htest::make_image(64, 64, Fill::noise);
  if (cuda_device_available()) {
    EXPECT_NO_THROW(fast_hessian_u8_cuda(img.data(), 64, 64, img.stride));
  } else {
    EXPECT_THROW(fast_hessian_u8_cuda(img.data(), 64, 64, img.stride), Error);
  }
}

}  // namespace
}  // namespace ride::kernels

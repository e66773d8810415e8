// CPU executor of the fast-Hessian detector and its shared math, against an independent
// reference written by direct summation (hessian_cases.h).
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <opencv2/imgcodecs.hpp>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "core/error.h"
#include "kernels/common/cuda_device.h"
#include "kernels/hessian/hessian.h"
#include "kernels/hessian/hessian_detail.h"
#include "kernels/hessian/hessian_math.h"
#include "kernels/stddev/stddev.h"
#include "hessian_cases.h"

namespace ride::kernels {
namespace {

namespace htest = hessian_testing;

using htest::Fill;
using htest::U8Image;

htest::Detector cpu_detector(int threads) {
  return [threads](const U8Image& img, const HessianParams& params) {
    return fast_hessian_u8(img.data(), img.width, img.height, img.stride, params, threads);
  };
}

htest::Detector banded_detector(int threads, int band_rows) {
  return [threads, band_rows](const U8Image& img, const HessianParams& params) {
    return detail::fast_hessian_u8_banded(img.data(), img.width, img.height, img.stride, params,
                                          threads, band_rows);
  };
}

// ---- integral image and box responses ------------------------------------------------------

TEST(HessianMath, IntegralMatchesDirectSums) {
  for (htest::Size s : {htest::Size{1, 1}, {2, 3}, {31, 7}, {32, 5}, {33, 9}, {64, 64}}) {
    const U8Image img = htest::make_image(s.width, s.height, Fill::noise);
    for (int y_begin : {0, s.height / 2}) {
      const int rows = s.height - y_begin;
      const std::ptrdiff_t stride = s.width + 3;
      std::vector<std::uint32_t> ii(static_cast<std::size_t>((rows + 1) * stride), 12345u);
      detail::integral_u32(img.data(), s.width, img.stride, y_begin, s.height, ii.data(), stride);
      for (int t = 0; t <= rows; ++t) {
        for (int x = 0; x <= s.width; ++x) {
          std::uint64_t want = 0;
          for (int v = y_begin; v < y_begin + t; ++v) {
            for (int u = 0; u < x; ++u) want += img.at(u, v);
          }
          ASSERT_EQ(ii[static_cast<std::size_t>(t * stride + x)], want)
              << s.width << "x" << s.height << " from row " << y_begin << " at t=" << t
              << " x=" << x;
        }
      }
    }
  }
}

TEST(HessianMath, FilterSizesFollowBay) {
  // Bay et al. (and the brief): 9,15,21,27 | 15,27,39,51 | 27,51,75,99 | 51,99,147,195.
  const int want[4][4] = {{9, 15, 21, 27}, {15, 27, 39, 51}, {27, 51, 75, 99}, {51, 99, 147, 195}};
  const detail::HessianPlan plan = detail::make_hessian_plan(1000, 1000, HessianParams{});
  for (int o = 0; o < 4; ++o) {
    EXPECT_EQ(plan.octave[o].step, 1 << o);
    for (int l = 0; l < 4; ++l) {
      EXPECT_EQ(plan.octave[o].layer[l].size, want[o][l]) << o << " " << l;
      EXPECT_EQ(plan.octave[o].layer[l].size, htest::reference_filter_size(o, l));
    }
  }
  HessianParams p;
  p.init_sample = 2;
  const detail::HessianPlan plan2 = detail::make_hessian_plan(1000, 1000, p);
  EXPECT_EQ(plan2.octave[3].step, 16);
  EXPECT_EQ(plan2.octave[3].layer[3].size, 195);
}

TEST(HessianMath, NumeratorsMatchDirectSummationEverywhere) {
  // Every pixel where the filter fits, for every filter size up to 51, on random frames whose
  // widths straddle a warp.
  for (htest::Size s : {htest::Size{31, 29}, {32, 33}, {33, 31}, {60, 57}}) {
    for (Fill fill : {Fill::noise, Fill::smooth_noise}) {
      const U8Image img = htest::make_image(s.width, s.height, fill);
      const std::ptrdiff_t stride = s.width + 1;
      std::vector<std::uint32_t> ii(static_cast<std::size_t>((s.height + 1) * stride));
      detail::integral_u32(img.data(), s.width, img.stride, 0, s.height, ii.data(), stride);
      for (int size : {9, 15, 21, 27, 39, 51}) {
        const int lobe = size / 3;
        const int r = size / 2;
        for (int y = r; y + r < s.height; ++y) {
          for (int x = r; x + r < s.width; ++x) {
            const htest::ReferenceNumerators want = htest::reference_numerators(img, x, y, lobe);
            const hessian_math::HessianNumerators got =
                hessian_math::hessian_numerators(ii.data(), stride, x, y, lobe);
            ASSERT_EQ(got.xx, want.xx) << "size " << size << " at " << x << "," << y;
            ASSERT_EQ(got.yy, want.yy) << "size " << size << " at " << x << "," << y;
            ASSERT_EQ(got.xy, want.xy) << "size " << size << " at " << x << "," << y;
            const std::int64_t trace = want.xx + want.yy;
            ASSERT_EQ(hessian_math::laplacian_sign(got), (trace > 0) - (trace < 0));
          }
        }
      }
    }
  }
}

TEST(HessianMath, DetMatchesDoubleFormula) {
  // Normalised by the lobe areas as in OpenCV's SURF; det = Dxx*Dyy - 0.81 Dxy^2.
  std::mt19937 rng(5);
  for (int lobe : {3, 5, 7, 9, 13, 17, 33, 65, 513}) {
    const double area_xx = lobe * (2.0 * lobe - 1);
    const double area_xy = double{1} * lobe * lobe;
    const int bound_xx = static_cast<int>(std::min(2 * 255 * area_xx, 2e9));
    const int bound_xy = static_cast<int>(std::min(2 * 255 * area_xy, 2e9));
    std::uniform_int_distribution<int> nxx(-bound_xx, bound_xx), nxy(-bound_xy, bound_xy);
    const hessian_math::BoxLayer g = hessian_math::make_box_layer(lobe);
    EXPECT_EQ(g.size, 3 * lobe);
    EXPECT_EQ(g.radius, (3 * lobe - 1) / 2);
    for (int k = 0; k < 2000; ++k) {
      hessian_math::HessianNumerators n;
      n.xx = nxx(rng);
      n.yy = nxx(rng);
      n.xy = nxy(rng);
      const double dxx = n.xx / area_xx, dyy = n.yy / area_xx, dxy = n.xy / area_xy;
      const double want = dxx * dyy - 0.81 * dxy * dxy;
      const float got = hessian_math::hessian_det(n, g.inv_area_xx, g.inv_area_xy);
      // A few float roundings of terms up to max(|dxx*dyy|, 0.81 dxy^2) may cancel.
      const double scale = std::abs(dxx * dyy) + 0.81 * dxy * dxy;
      ASSERT_NEAR(got, want, 4e-7 * scale + 1e-30)
          << lobe << " " << n.xx << " " << n.yy << " " << n.xy;
    }
  }
}

TEST(HessianMath, BoxSumsStayExactWhenTheIntegralWraps) {
  // 4200 x 4100 pixels of 255 sum to 4.4e9 > 2^32: the integral wraps, box sums do not.
  const int w = 4200, h = 4100;
  U8Image img = htest::blank_image(w, h, 3, 0);
  std::fill(img.bytes.begin(), img.bytes.end(), std::uint8_t{255});
  std::mt19937 rng(9);
  std::uniform_int_distribution<int> byte(0, 255);
  for (int y = h - 200; y < h; ++y) {
    for (int x = w - 200; x < w; ++x) img.at(x, y) = static_cast<std::uint8_t>(byte(rng));
  }
  const std::ptrdiff_t stride = w + 1;
  std::vector<std::uint32_t> ii(static_cast<std::size_t>((h + 1) * stride));
  detail::integral_u32(img.data(), w, img.stride, 0, h, ii.data(), stride);
  EXPECT_EQ(ii.back(), static_cast<std::uint32_t>([&] {
              std::uint64_t total = 0;
              for (int y = 0; y < h; ++y) {
                for (int x = 0; x < w; ++x) total += img.at(x, y);
              }
              EXPECT_GT(total, std::uint64_t{1} << 32);
              return total;
            }()));
  for (int lobe : {3, 9, 33}) {
    const int r = (3 * lobe - 1) / 2;
    for (int k = 0; k < 50; ++k) {
      const int x = w - 1 - r - static_cast<int>(rng() % 150);
      const int y = h - 1 - r - static_cast<int>(rng() % 150);
      const htest::ReferenceNumerators want = htest::reference_numerators(img, x, y, lobe);
      const hessian_math::HessianNumerators got =
          hessian_math::hessian_numerators(ii.data(), stride, x, y, lobe);
      ASSERT_EQ(got.xx, want.xx);
      ASSERT_EQ(got.yy, want.yy);
      ASSERT_EQ(got.xy, want.xy);
    }
  }
}

// ---- 3x3x3 maxima ----------------------------------------------------------------------------

TEST(HessianMath, StrictMaximumNeedsAll26Neighbours) {
  float layers[3][9];
  for (auto& layer : layers) std::fill(layer, layer + 9, 1.0f);
  layers[1][4] = 2.0f;
  const auto is_max = [&](double threshold) {
    return hessian_math::is_strict_maximum_3x3x3(&layers[0][4], &layers[1][4], &layers[2][4], 3,
                                                 threshold);
  };
  EXPECT_TRUE(is_max(1.5));
  EXPECT_FALSE(is_max(2.0));  // det > threshold, strictly
  for (int s = 0; s < 3; ++s) {
    for (int k = 0; k < 9; ++k) {
      if (s == 1 && k == 4) continue;
      layers[s][k] = 2.0f;  // a tie anywhere in the block
      EXPECT_FALSE(is_max(0)) << s << " " << k;
      layers[s][k] = 1.0f;
    }
  }
  float block[27];
  hessian_math::gather_3x3x3(&layers[0][4], &layers[1][4], &layers[2][4], 3, block);
  EXPECT_EQ(block[13], 2.0f);
  EXPECT_EQ(block[0], 1.0f);
}

TEST(HessianMath, FloatThresholdComparesLikeDouble) {
  EXPECT_EQ(hessian_math::float_threshold(100.0), 100.0f);
  EXPECT_EQ(hessian_math::float_threshold(0.0), 0.0f);
  EXPECT_EQ(hessian_math::float_threshold(1e300), std::numeric_limits<float>::max());
  std::mt19937 rng(4);
  std::uniform_real_distribution<double> any(0, 2000);
  for (int k = 0; k < 20000; ++k) {
    const double t = k % 2 == 0 ? any(rng) : 0.1 * (k % 977);
    const float f = hessian_math::float_threshold(t);
    ASSERT_LE(static_cast<double>(f), t);
    // Floats just around t: the float comparison agrees with the double one.
    float v = std::nextafter(std::nextafter(f, 0.0f), 0.0f);
    for (int step = 0; step < 5; ++step, v = std::nextafter(v, 1e30f)) {
      ASSERT_EQ(v > f, static_cast<double>(v) > t) << t << " " << v;
    }
  }
}

TEST(Hessian, MatchesReferenceScan) { htest::expect_all_cases_match_reference(cpu_detector(1)); }

TEST(Hessian, MatchesReferenceScanWithThreads) {
  htest::expect_all_cases_match_reference(cpu_detector(3));
}

TEST(Hessian, MatchesReferenceScanWithThinBands) {
  // Band edges at every row, every third row, every 8th row.
  htest::expect_all_cases_match_reference(banded_detector(1, 1));
  htest::expect_all_cases_match_reference(banded_detector(2, 3));
  htest::expect_all_cases_match_reference(banded_detector(2, 8));
}

TEST(Hessian, MatchesReferenceScanInAllOctaves) {
  htest::expect_all_octaves_match_reference(
      {cpu_detector(1), cpu_detector(2), banded_detector(2, 7)});
}

TEST(Hessian, FramesSmallerThanTheFiltersGiveNothing) {
  // The smallest candidate needs the 21-pixel filter of layer 2 at its 3x3 neighbours.
  for (htest::Size s : {htest::Size{1, 1}, {2, 3}, {9, 9}, {22, 22}, {100, 22}, {22, 100}}) {
    const U8Image img = htest::make_image(s.width, s.height, Fill::noise);
    HessianParams p;
    p.threshold = 0;
    EXPECT_TRUE(fast_hessian_u8(img.data(), s.width, s.height, img.stride, p, 2).empty())
        << s.width << "x" << s.height;
  }
  const U8Image img = htest::make_image(23, 23, Fill::smooth_noise);
  HessianParams p;
  p.threshold = 0;
  p.interpolate = false;
  const auto found = fast_hessian_u8(img.data(), 23, 23, img.stride, p);
  ASSERT_LE(found.size(), 1u);  // only the centre sample (11, 11) has a full block
  if (!found.empty()) {
    EXPECT_EQ(found[0].x, 11.0f);
    EXPECT_EQ(found[0].y, 11.0f);
  }
}

TEST(Hessian, EmptyFramesGiveNothing) {
  htest::expect_empty_frames_give_nothing(cpu_detector(1));
  htest::expect_empty_frames_give_nothing(cpu_detector(4));
}

TEST(Hessian, ConstantFrameGivesNothing) {
  const U8Image img = htest::make_image(300, 200, Fill::constant);
  HessianParams p;
  p.threshold = 0;
  EXPECT_TRUE(fast_hessian_u8(img.data(), 300, 200, img.stride, p).empty());
}

TEST(Hessian, BadArgumentsThrow) {
  const U8Image img = htest::make_image(40, 40, Fill::noise);
  const auto run = [&](const HessianParams& p) {
    return fast_hessian_u8(img.data(), 40, 40, img.stride, p);
  };
  EXPECT_THROW(fast_hessian_u8(nullptr, 40, 40, 40), Error);
  EXPECT_THROW(fast_hessian_u8(img.data(), 40, 40, 39), Error);
  EXPECT_THROW(fast_hessian_u8(img.data(), -1, 40, 40), Error);
  EXPECT_THROW(fast_hessian_u8(img.data(), 40, -2, 40), Error);
  EXPECT_THROW(fast_hessian_u8(img.data(), (1 << 30) + 1, 1, std::ptrdiff_t{1} << 31), Error);
  HessianParams p;
  p.threshold = -1;
  EXPECT_THROW(run(p), Error);
  p.threshold = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THROW(run(p), Error);
  p.threshold = std::numeric_limits<double>::infinity();
  EXPECT_THROW(run(p), Error);
  for (int octaves : {0, 7}) {
    p = HessianParams{};
    p.octaves = octaves;
    EXPECT_THROW(run(p), Error) << octaves;
  }
  for (int layers : {2, 9}) {
    p = HessianParams{};
    p.layers = layers;
    EXPECT_THROW(run(p), Error) << layers;
  }
  for (int init : {0, 65}) {
    p = HessianParams{};
    p.init_sample = init;
    EXPECT_THROW(run(p), Error) << init;
  }
  // Parameters are checked even for an empty frame.
  p = HessianParams{};
  p.octaves = 0;
  EXPECT_THROW(fast_hessian_u8(nullptr, 0, 0, 0, p), Error);
  EXPECT_THROW(detail::fast_hessian_u8_banded(img.data(), 40, 40, 40, HessianParams{}, 1, 0),
               Error);
  // The message names the parameter and the accepted range.
  try {
    p = HessianParams{};
    p.layers = 9;
    run(p);
    FAIL() << "no throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("layers must be in [3, 8], got 9"), std::string::npos)
        << e.what();
  }
}

TEST(Hessian, CudaPathRefusesWithoutDevice) {
  if (cuda_device_available()) GTEST_SKIP() << "a CUDA device is present (see test_hessian_gpu)";
  const U8Image img = htest::make_image(40, 40, Fill::noise);
  EXPECT_THROW(fast_hessian_u8_cuda(img.data(), 40, 40, img.stride), Error);
}

// ---- refinement ----------------------------------------------------------------------------

// det(x) = c - 0.5 (x - o)^T A (x - o) sampled on the 3x3x3 block: central differences are exact
// for a quadratic, so the refinement recovers o up to float rounding of the samples.
void fill_quadratic(float block[27], const double o[3], const double a[3][3]) {
  for (int ds = -1; ds <= 1; ++ds) {
    for (int dy = -1; dy <= 1; ++dy) {
      for (int dx = -1; dx <= 1; ++dx) {
        const double d[3] = {dx - o[0], dy - o[1], ds - o[2]};
        double q = 0;
        for (int r = 0; r < 3; ++r) {
          for (int c = 0; c < 3; ++c) q += d[r] * a[r][c] * d[c];
        }
        block[(ds + 1) * 9 + (dy + 1) * 3 + (dx + 1)] = static_cast<float>(1000 - 50 * q);
      }
    }
  }
}

TEST(HessianRefine, RecoversQuadraticPeak) {
  const double a[3][3] = {{2.0, 0.3, 0.1}, {0.3, 1.5, -0.2}, {0.1, -0.2, 1.0}};
  for (const auto& o : std::vector<std::array<double, 3>>{{0.2, -0.3, 0.1},
                                                          {0.0, 0.0, 0.0},
                                                          {-0.45, 0.4, -0.3},
                                                          {0.1, 0.1, 0.49},
                                                          {0.9, -0.8, 0.7}}) {
    float block[27];
    fill_quadratic(block, o.data(), a);
    double got[3];
    ASSERT_TRUE(detail::refine_offset(block, got)) << o[0] << " " << o[1] << " " << o[2];
    for (int k = 0; k < 3; ++k) EXPECT_NEAR(got[k], o[k], 2e-4) << k;
  }
}

TEST(HessianRefine, RejectsFarOffsetsAndSingularBlocks) {
  const double a[3][3] = {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}};
  float block[27];
  double got[3];
  for (const auto& o :
       std::vector<std::array<double, 3>>{{1.3, 0, 0}, {0, -1.1, 0}, {0, 0, 1.05}}) {
    fill_quadratic(block, o.data(), a);
    EXPECT_FALSE(detail::refine_offset(block, got)) << o[0] << " " << o[1] << " " << o[2];
  }
  std::fill(block, block + 27, 3.0f);  // flat: singular
  EXPECT_FALSE(detail::refine_offset(block, got));
}

TEST(Hessian, InterpolatedKeypointsStayNearTheirSamples) {
  const U8Image img = htest::make_image(300, 257, Fill::smooth_noise);
  HessianParams p;
  p.threshold = 10;
  const auto plain = [&] {
    HessianParams q = p;
    q.interpolate = false;
    return fast_hessian_u8(img.data(), img.width, img.height, img.stride, q, 1);
  }();
  const auto refined = fast_hessian_u8(img.data(), img.width, img.height, img.stride, p, 1);
  ASSERT_GT(refined.size(), 20u);
  ASSERT_LE(refined.size(), plain.size());
  const detail::HessianPlan plan = detail::make_hessian_plan(img.width, img.height, p);
  std::size_t k = 0;
  for (const HessianKeypoint& kp : refined) {
    // Refinement only drops maxima: each refined keypoint has its unrefined twin, in order.
    while (k < plain.size() &&
           std::tie(plain[k].octave, plain[k].layer, plain[k].sample_y, plain[k].sample_x) !=
               std::tie(kp.octave, kp.layer, kp.sample_y, kp.sample_x)) {
      ++k;
    }
    ASSERT_LT(k, plain.size()) << htest::describe(kp);
    const detail::OctavePlan& op = plan.octave[kp.octave];
    EXPECT_EQ(kp.response, plain[k].response);
    EXPECT_EQ(kp.laplacian, plain[k].laplacian);
    EXPECT_LE(std::abs(kp.x - plain[k].x), op.step);
    EXPECT_LE(std::abs(kp.y - plain[k].y), op.step);
    const float gap = 0.5f * (op.layer[kp.layer + 1].size - op.layer[kp.layer - 1].size);
    EXPECT_LE(std::abs(kp.size - plain[k].size), gap);
    EXPECT_EQ(kp.angle, -1.0f);
  }
}

// ---- order and thread independence -----------------------------------------------------------

TEST(Hessian, OutputIsSortedAndIndependentOfThreadsAndBands) {
  const U8Image img = htest::make_image(517, 389, Fill::smooth_noise, 77);
  HessianParams p;
  p.threshold = 20;
  const auto want = fast_hessian_u8(img.data(), img.width, img.height, img.stride, p, 1);
  ASSERT_GT(want.size(), 50u);
  for (std::size_t k = 1; k < want.size(); ++k) {
    const auto key = [](const HessianKeypoint& kp) {
      return std::make_tuple(kp.octave, kp.layer, kp.sample_y, kp.sample_x);
    };
    ASSERT_LT(key(want[k - 1]), key(want[k])) << k;
  }
  for (int threads : {2, 3, 7}) {
    htest::expect_identical(
        want, fast_hessian_u8(img.data(), img.width, img.height, img.stride, p, threads),
        "threads " + std::to_string(threads));
  }
  for (int band : {1, 5, 64, 200}) {
    htest::expect_identical(
        want,
        detail::fast_hessian_u8_banded(img.data(), img.width, img.height, img.stride, p, 2, band),
        "band rows " + std::to_string(band));
  }
}

TEST(Hessian, WrappingIntegralInOneBandMatchesThinBands) {
  // One band over the whole frame builds an integral image whose total exceeds 2^32.
  const int w = 4200, h = 4100;
  U8Image img = htest::blank_image(w, h, 3, 0);
  std::fill(img.bytes.begin(), img.bytes.end(), std::uint8_t{255});
  const U8Image patch = htest::make_image(300, 300, Fill::smooth_noise);
  for (int y = 0; y < 300; ++y) {
    for (int x = 0; x < 300; ++x) img.at(w - 300 + x, h - 300 + y) = patch.at(x, y);
  }
  HessianParams p;
  p.octaves = 2;
  p.threshold = 10;
  const auto one_band = detail::fast_hessian_u8_banded(img.data(), w, h, img.stride, p, 1, h);
  ASSERT_GT(one_band.size(), 10u);
  htest::expect_identical(
      one_band, detail::fast_hessian_u8_banded(img.data(), w, h, img.stride, p, 2, 97), "bands");
}

// ---- detection quality -----------------------------------------------------------------------

TEST(Hessian, FindsGaussianBlobsAtTheirPositionAndScale) {
  // For these box filters (Bay's sizes, lobe-area normalisation) the det of a Gaussian blob of
  // standard deviation t peaks near filter size 5t: a direct-summation model of the definition
  // gives 4.5t-5.4t for t = 2..40 (so Bay's sigma = 1.2 * size / 9 reads about 0.7t). Blob
  // centres lie on every octave's grid (multiples of 8: a centre half-way between two samples
  // ties them, and a tie is no strict maximum) except the last two, which check the sub-pixel
  // refinement. Bright blobs have a negative trace (laplacian -1), dark ones +1.
  const std::vector<htest::Blob> blobs = {
      {256, 296, 20, 100},      {112, 112, 14, -100},   {400, 112, 9, 100},  {256, 96, 6, -100},
      {80, 424, 4.5, 100},      {432, 432, 3, -100},    {64, 248, 3.5, 100}, {448, 264, 7.5, -90},
      {160.3, 440.6, 3.2, 100}, {300.7, 180.2, 4, -100}};
  const U8Image img = htest::make_blobs(512, 512, 128, blobs);
  HessianParams p;
  p.threshold = 100;
  const auto found = fast_hessian_u8(img.data(), 512, 512, img.stride, p, 2);
  for (const htest::Blob& b : blobs) {
    const HessianKeypoint* best = nullptr;
    for (const HessianKeypoint& kp : found) {
      if (std::hypot(kp.x - b.cx, kp.y - b.cy) > b.sigma) continue;
      if (best == nullptr || kp.response > best->response) best = &kp;
    }
    ASSERT_NE(best, nullptr) << "no keypoint near blob at " << b.cx << "," << b.cy;
    EXPECT_NEAR(best->size / b.sigma, 5.25, 0.75)
        << htest::describe(*best) << " for sigma " << b.sigma;
    EXPECT_LT(std::hypot(best->x - b.cx, best->y - b.cy), 0.25) << htest::describe(*best);
    EXPECT_EQ(best->laplacian, b.amplitude > 0 ? -1 : 1) << htest::describe(*best);
  }
}

TEST(Hessian, CameraPhotoGivesAPlausibleStableCount) {
  const std::filesystem::path path = "/usr/lib/python3/dist-packages/skimage/data/camera.png";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " not installed";
  const cv::Mat photo = cv::imread(path.string(), cv::IMREAD_GRAYSCALE);
  ASSERT_FALSE(photo.empty());
  const auto detect = [&](int threads, double threshold) {
    HessianParams p;
    p.threshold = threshold;
    return fast_hessian_u8(photo.data, photo.cols, photo.rows,
                           static_cast<std::ptrdiff_t>(photo.step), p, threads);
  };
  const auto found = detect(1, 100);
  RecordProperty("keypoints", static_cast<int>(found.size()));
  // OpenCV's SURF at hessianThreshold 100 finds some hundreds to a few thousand keypoints on a
  // 512 x 512 photo; a normalisation or geometry slip moves this by an order of magnitude.
  EXPECT_GT(found.size(), 200u);
  EXPECT_LT(found.size(), 4000u);
  int per_octave[4] = {};
  for (const HessianKeypoint& kp : found) {
    ASSERT_GE(kp.x, 0);
    ASSERT_GE(kp.y, 0);
    ASSERT_LE(kp.x, photo.cols - 1);
    ASSERT_LE(kp.y, photo.rows - 1);
    ASSERT_GT(kp.response, 100);
    ASSERT_GT(kp.size, 9);
    ASSERT_LT(kp.size, 195);
    ASSERT_NE(kp.laplacian, 0);
    ++per_octave[kp.octave];
  }
  EXPECT_GT(per_octave[0], per_octave[1]);  // most blobs are small
  EXPECT_GT(per_octave[2], 0);
  htest::expect_identical(found, detect(1, 100), "repeat");
  htest::expect_identical(found, detect(2, 100), "2 threads");
  // Raising the threshold keeps a subset.
  EXPECT_LT(detect(2, 1000).size(), found.size());
}

}  // namespace
}  // namespace ride::kernels

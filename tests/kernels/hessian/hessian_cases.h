#pragma once
/// Test body shared by both executors of the fast-Hessian detector (STYLE.md: one kernel test,
/// every backend): frame generators, an independent reference written by direct summation, and
/// the case lists. Each executor's test passes its detector as a callable.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "core/error.h"
#include "kernels/hessian/hessian.h"
#include "kernels/hessian/hessian_math.h"
#include "support/test_images.h"

namespace ride::kernels::hessian_testing {

/// u8 frame with padded rows; the padding holds random bytes, so reading it shows up as a
/// mismatch against the reference.
using test_images::U8Image;

enum class Fill { noise, smooth_noise, constant };

inline std::string to_string(Fill f) {
  switch (f) {
    case Fill::noise:
      return "noise";
    case Fill::smooth_noise:
      return "smooth_noise";
    case Fill::constant:
      return "constant";
  }
  return "?";
}

/// Rows `pad` bytes longer than the width, every byte random from std::mt19937(seed).
inline U8Image blank_image(int width, int height, std::uint32_t seed, int pad = 5) {
  test_images::RandomBytes random(seed);
  return test_images::random_image(width, height, pad, 0, random);
}

/// noise: uniform bytes. smooth_noise: noise averaged over 7x7 (clamped edges) and stretched
/// to 0..255, which gives blobs of several sizes. constant: 77 everywhere. Rows 5 bytes longer
/// than the width.
inline U8Image make_image(int width, int height, Fill fill, std::uint32_t seed = 2024) {
  test_images::RandomBytes random(seed);
  std::vector<int> noise(static_cast<std::size_t>(width) * static_cast<std::size_t>(height));
  for (auto& v : noise) v = random();
  return test_images::make_image(
      width, height, 5, 0, seed, [&](int x, int y, test_images::RandomBytes&) -> std::uint8_t {
        int v = 77;
        if (fill == Fill::noise) {
          v = noise[static_cast<std::size_t>(y * width + x)];
        } else if (fill == Fill::smooth_noise) {
          int sum = 0;
          for (int dy = -3; dy <= 3; ++dy) {
            for (int dx = -3; dx <= 3; ++dx) {
              const int u = std::clamp(x + dx, 0, width - 1);
              const int w = std::clamp(y + dy, 0, height - 1);
              sum += noise[static_cast<std::size_t>(w * width + u)];
            }
          }
          // The mean of 49 uniform bytes has a standard deviation of about 10.5 around 127.5.
          v = std::clamp(static_cast<int>(std::lround((sum / 49.0 - 127.5) * 5 + 127.5)), 0, 255);
        }
        return static_cast<std::uint8_t>(v);
      });
}

/// Gaussian blob of standard deviation sigma and peak `amplitude` (negative: dark) added at
/// (cx, cy), clamped to 0..255.
struct Blob {
  double cx, cy, sigma, amplitude;
};

inline U8Image make_blobs(int width, int height, int background, const std::vector<Blob>& blobs) {
  U8Image img = blank_image(width, height, 7);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      double v = background;
      for (const Blob& b : blobs) {
        const double r2 = (x - b.cx) * (x - b.cx) + (y - b.cy) * (y - b.cy);
        v += b.amplitude * std::exp(-r2 / (2 * b.sigma * b.sigma));
      }
      img.at(x, y) = static_cast<std::uint8_t>(std::clamp(std::lround(v), 0L, 255L));
    }
  }
  return img;
}

// ---------------------------------------------------------------------------------------------
// Reference: box-filter responses by direct summation of weighted pixels.

/// Filter sizes as Bay et al. list them: octave o, layer l -> 3 * (2^(o+1) * (l+1) + 1).
inline int reference_filter_size(int octave, int layer) {
  return 3 * ((1 << (octave + 1)) * (layer + 1) + 1);
}

/// Weight of pixel offset (du, dv) from the centre in the unnormalised Dxx filter of the given
/// lobe: the middle lobe (lobe columns, 2*lobe-1 rows) -2, the side lobes +1.
inline int weight_xx(int du, int dv, int lobe) {
  const int half = (lobe - 1) / 2;
  const int radius = (3 * lobe - 1) / 2;
  if (std::abs(dv) > lobe - 1 || std::abs(du) > radius) return 0;
  return std::abs(du) <= half ? -2 : 1;
}

/// Dxy: +1 in the top-left and bottom-right lobe x lobe quadrants, -1 in the others, 0 on the
/// centre row and column.
inline int weight_xy(int du, int dv, int lobe) {
  if (du == 0 || dv == 0 || std::abs(du) > lobe || std::abs(dv) > lobe) return 0;
  return (du > 0) == (dv > 0) ? 1 : -1;
}

struct ReferenceNumerators {
  std::int64_t xx = 0, yy = 0, xy = 0;
};

inline ReferenceNumerators reference_numerators(const U8Image& img, int cx, int cy, int lobe) {
  const int radius = (3 * lobe - 1) / 2;
  ReferenceNumerators n;
  for (int dv = -radius; dv <= radius; ++dv) {
    for (int du = -radius; du <= radius; ++du) {
      const std::int64_t p = img.at(cx + du, cy + dv);
      n.xx += weight_xx(du, dv, lobe) * p;
      n.yy += weight_xx(dv, du, lobe) * p;
      n.xy += weight_xy(du, dv, lobe) * p;
    }
  }
  return n;
}

/// det(H) through the shared float formula (checked against double in its own test).
inline float reference_det(const ReferenceNumerators& r, int lobe) {
  hessian_math::HessianNumerators n;
  n.xx = static_cast<std::int32_t>(r.xx);
  n.yy = static_cast<std::int32_t>(r.yy);
  n.xy = static_cast<std::int32_t>(r.xy);
  return hessian_math::hessian_det(n, 1.0f / static_cast<float>(lobe * (2 * lobe - 1)),
                                   1.0f / static_cast<float>(lobe * lobe));
}

/// The keypoints without interpolation, by a plain scan: every sample of every layer whose
/// filter fits, then every interior sample whose 27 block members all exist, compared with
/// all 26 of them. Returned in (octave, layer, y, x) order.
inline std::vector<HessianKeypoint> reference_detect(const U8Image& img, const HessianParams& p) {
  std::vector<HessianKeypoint> out;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (int o = 0; o < p.octaves; ++o) {
    const int s = p.init_sample << o;
    const int nx = (img.width - 1) / s + 1;
    const int ny = (img.height - 1) / s + 1;
    std::vector<std::vector<double>> det(static_cast<std::size_t>(p.layers));
    std::vector<std::vector<int>> lap(static_cast<std::size_t>(p.layers));
    for (int l = 0; l < p.layers; ++l) {
      const int size = reference_filter_size(o, l);
      const int lobe = size / 3;
      const int r = size / 2;
      det[l].assign(static_cast<std::size_t>(nx) * ny, nan);
      lap[l].assign(static_cast<std::size_t>(nx) * ny, 0);
      for (int i = 0; i < ny; ++i) {
        for (int j = 0; j < nx; ++j) {
          const int x = j * s, y = i * s;
          if (x - r < 0 || y - r < 0 || x + r >= img.width || y + r >= img.height) continue;
          const ReferenceNumerators n = reference_numerators(img, x, y, lobe);
          det[l][static_cast<std::size_t>(i * nx + j)] = reference_det(n, lobe);
          const std::int64_t trace = n.xx + n.yy;
          lap[l][static_cast<std::size_t>(i * nx + j)] = (trace > 0) - (trace < 0);
        }
      }
    }
    for (int l = 1; l + 1 < p.layers; ++l) {
      for (int i = 0; i < ny; ++i) {
        for (int j = 0; j < nx; ++j) {
          const double v = det[l][static_cast<std::size_t>(i * nx + j)];
          if (std::isnan(v) || !(v > p.threshold)) continue;
          bool all_defined = true, is_max = true;
          for (int dl = -1; dl <= 1; ++dl) {
            for (int di = -1; di <= 1; ++di) {
              for (int dj = -1; dj <= 1; ++dj) {
                const int ii = i + di, jj = j + dj;
                if (ii < 0 || jj < 0 || ii >= ny || jj >= nx) {
                  all_defined = false;
                  continue;
                }
                const double w = det[l + dl][static_cast<std::size_t>(ii * nx + jj)];
                if (std::isnan(w)) all_defined = false;
                if ((dl != 0 || di != 0 || dj != 0) && !(v > w)) is_max = false;
              }
            }
          }
          if (!all_defined || !is_max) continue;
          HessianKeypoint kp;
          kp.x = static_cast<float>(j * s);
          kp.y = static_cast<float>(i * s);
          kp.size = static_cast<float>(reference_filter_size(o, l));
          kp.response = static_cast<float>(v);
          kp.laplacian = lap[l][static_cast<std::size_t>(i * nx + j)];
          kp.octave = o;
          kp.layer = l;
          kp.sample_x = j;
          kp.sample_y = i;
          out.push_back(kp);
        }
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Comparisons and the shared case lists.

using Detector =
    std::function<std::vector<HessianKeypoint>(const U8Image& img, const HessianParams& params)>;

inline std::string describe(const HessianKeypoint& k) {
  std::ostringstream os;
  os << "(o" << k.octave << " l" << k.layer << " j" << k.sample_x << " i" << k.sample_y << " x"
     << k.x << " y" << k.y << " size " << k.size << " det " << k.response << " lap " << k.laplacian
     << ")";
  return os.str();
}

/// Every field bit for bit (floats compared as values; NaN never occurs).
inline void expect_identical(const std::vector<HessianKeypoint>& want,
                             const std::vector<HessianKeypoint>& got, const std::string& what) {
  ASSERT_EQ(want.size(), got.size()) << what;
  for (std::size_t k = 0; k < want.size(); ++k) {
    const HessianKeypoint& a = want[k];
    const HessianKeypoint& b = got[k];
    const bool same = a.x == b.x && a.y == b.y && a.size == b.size && a.response == b.response &&
                      a.angle == b.angle && a.laplacian == b.laplacian && a.octave == b.octave &&
                      a.layer == b.layer && a.sample_x == b.sample_x && a.sample_y == b.sample_y;
    ASSERT_TRUE(same) << what << " keypoint " << k << ": want " << describe(a) << " got "
                      << describe(b);
  }
}

struct Size {
  int width, height;
};

/// Tiny frames, frames smaller than the smallest filter, widths around a warp, odd sizes.
inline std::vector<Size> case_sizes() {
  return {{1, 1},   {2, 3},   {3, 2},   {8, 8},   {9, 9},   {13, 13}, {26, 30}, {31, 31},
          {32, 32}, {33, 33}, {31, 45}, {32, 47}, {33, 49}, {64, 40}, {97, 61}, {61, 97}};
}

inline std::vector<std::pair<std::string, HessianParams>> case_params() {
  std::vector<std::pair<std::string, HessianParams>> cases;
  HessianParams p;
  p.interpolate = false;
  p.threshold = 0;
  cases.emplace_back("defaults, threshold 0", p);
  p.threshold = 100;
  cases.emplace_back("defaults, threshold 100", p);
  p.threshold = 5;
  p.octaves = 2;
  p.layers = 5;
  cases.emplace_back("2 octaves of 5 layers", p);
  p.octaves = 3;
  p.layers = 3;
  p.init_sample = 2;
  cases.emplace_back("3 layers, init_sample 2", p);
  p.octaves = 2;
  p.layers = 4;
  p.init_sample = 3;  // steps 3 and 6: the CPU's generic (not 1, 2, 4, 8) step path
  cases.emplace_back("init_sample 3", p);
  return cases;
}

/// Without interpolation the detector returns exactly the reference's maxima.
inline void expect_all_cases_match_reference(const Detector& detect) {
  for (const Size& s : case_sizes()) {
    for (Fill fill : {Fill::noise, Fill::smooth_noise, Fill::constant}) {
      const U8Image img = make_image(s.width, s.height, fill);
      for (const auto& [name, params] : case_params()) {
        std::ostringstream what;
        what << s.width << "x" << s.height << " " << to_string(fill) << ", " << name;
        expect_identical(reference_detect(img, params), detect(img, params), what.str());
        if (::testing::Test::HasFatalFailure()) return;
      }
    }
  }
}

/// A frame large enough for all four default octaves (the cases above reach octave 1 only),
/// with a large blob for octave 3,
/// checked against one reference scan per parameter set for every detector given.
inline void expect_all_octaves_match_reference(const std::vector<Detector>& detectors) {
  for (Fill fill : {Fill::noise, Fill::smooth_noise}) {
    U8Image img = make_image(200, 190, fill, 99);
    // Blobs on the grids of octave 3 (filter sizes 99 and 147 at step 8) and octave 2.
    for (int y = 0; y < img.height; ++y) {
      for (int x = 0; x < img.width; ++x) {
        double v = 60 + img.at(x, y) * 0.3;
        for (const Blob& b : {Blob{96, 96, 20, 150}, Blob{152, 148, 8, -60}}) {
          const double r2 = (x - b.cx) * (x - b.cx) + (y - b.cy) * (y - b.cy);
          v += b.amplitude * std::exp(-r2 / (2 * b.sigma * b.sigma));
        }
        img.at(x, y) = static_cast<std::uint8_t>(std::clamp(std::lround(v), 0L, 255L));
      }
    }
    for (double threshold : {0.0, 100.0}) {
      HessianParams params;
      params.threshold = threshold;
      params.interpolate = false;
      const std::vector<HessianKeypoint> want = reference_detect(img, params);
      int per_octave[4] = {};
      for (const HessianKeypoint& k : want) ++per_octave[k.octave];
      for (int o = 0; o < 4; ++o) EXPECT_GT(per_octave[o], 0) << "octave " << o;
      for (std::size_t d = 0; d < detectors.size(); ++d) {
        std::ostringstream what;
        what << "200x190 " << to_string(fill) << ", threshold " << threshold << ", detector " << d;
        expect_identical(want, detectors[d](img, params), what.str());
      }
    }
  }
}

inline void expect_empty_frames_give_nothing(const Detector& detect) {
  U8Image empty;
  for (Size s : {Size{0, 0}, Size{0, 5}, Size{5, 0}}) {
    empty.width = s.width;
    empty.height = s.height;
    EXPECT_TRUE(detect(empty, HessianParams{}).empty()) << s.width << "x" << s.height;
  }
}

}  // namespace ride::kernels::hessian_testing

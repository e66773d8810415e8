#pragma once
/// Test body shared by every executor of the FFT task (one kernel test, every backend): an
/// independent double-precision reference (a naive separable DFT written here, or OpenCV's
/// cv::dft in double for medium sizes), the scalars recomputed from the FULL spectrum, and the
/// case lists. Each executor's test passes its implementation as a callable.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <numbers>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <string>
#include <vector>

#include "core/error.h"
#include "kernels/fft/fft.h"
#include "support/test_images.h"

namespace ride::kernels::testing {

/// Same signature as fft_log_magnitude_u8 without the thread count.
using Fft = std::function<FftStats(const std::uint8_t* src, int width, int height,
                                   std::ptrdiff_t src_stride_bytes, float* dst,
                                   std::ptrdiff_t dst_stride_elems)>;

/// u8 frame with padded rows holding random bytes (reading them shows up as a mismatch).
using U8Frame = test_images::U8Image;

enum class Fill { random, zero, constant, checkerboard };

/// Rows 5 bytes longer than the width, one more byte after the last row.
inline U8Frame make_frame(int width, int height, Fill fill = Fill::random,
                          std::uint32_t seed = 31) {
  return test_images::make_image(
      width, height, 5, 1, seed,
      [fill](int x, int y, test_images::RandomBytes& random) -> std::uint8_t {
        switch (fill) {
          case Fill::random:
            return random();
          case Fill::zero:
            return 0;
          case Fill::constant:
            return 200;
          case Fill::checkerboard:
            return (x + y) % 2 == 0 ? 255 : 0;
        }
        return 0;
      });
}

/// The u8 frame from a cv::Mat (no padding).
inline U8Frame frame_from_mat(const cv::Mat& gray) {
  U8Frame f;
  f.width = gray.cols;
  f.height = gray.rows;
  f.stride = gray.cols;
  f.bytes.resize(gray.total());
  for (int y = 0; y < gray.rows; ++y) {
    std::copy_n(gray.ptr<std::uint8_t>(y), gray.cols, f.bytes.data() + y * f.stride);
  }
  return f;
}

/// The FULL spectrum (height x width), in double.
struct Spectrum {
  int width = 0;
  int height = 0;
  std::vector<std::complex<double>> x;
  std::complex<double> at(int u, int v) const { return x[static_cast<std::size_t>(u) * width + v]; }
};

/// Naive separable DFT: rows, then columns, O(hw(h + w)), twiddles from exact index products.
inline Spectrum naive_dft(const U8Frame& f) {
  const int h = f.height, w = f.width;
  const auto twiddles = [](int n) {
    std::vector<std::complex<double>> t(static_cast<std::size_t>(n));
    for (int k = 0; k < n; ++k) t[k] = std::polar(1.0, -2 * std::numbers::pi * k / n);
    return t;
  };
  const auto tw = twiddles(w), th = twiddles(h);
  std::vector<std::complex<double>> rows(static_cast<std::size_t>(h) * w);
  for (int y = 0; y < h; ++y) {
    for (int v = 0; v < w; ++v) {
      std::complex<double> s = 0;
      for (int x = 0; x < w; ++x) {
        s += static_cast<double>(f.at(x, y)) *
             tw[static_cast<std::size_t>((static_cast<std::int64_t>(v) * x) % w)];
      }
      rows[static_cast<std::size_t>(y) * w + v] = s;
    }
  }
  Spectrum out{w, h, std::vector<std::complex<double>>(static_cast<std::size_t>(h) * w)};
  for (int u = 0; u < h; ++u) {
    for (int v = 0; v < w; ++v) {
      std::complex<double> s = 0;
      for (int y = 0; y < h; ++y) {
        s += rows[static_cast<std::size_t>(y) * w + v] *
             th[static_cast<std::size_t>((static_cast<std::int64_t>(u) * y) % h)];
      }
      out.x[static_cast<std::size_t>(u) * w + v] = s;
    }
  }
  return out;
}

/// OpenCV's DFT in double (full complex output): an independent reference for medium sizes.
inline Spectrum opencv_dft(const U8Frame& f) {
  cv::Mat img(f.height, f.width, CV_64F);
  for (int y = 0; y < f.height; ++y) {
    for (int x = 0; x < f.width; ++x) img.at<double>(y, x) = f.at(x, y);
  }
  cv::Mat spec;
  cv::dft(img, spec, cv::DFT_COMPLEX_OUTPUT);
  Spectrum out{f.width, f.height, {}};
  out.x.resize(static_cast<std::size_t>(f.height) * f.width);
  for (int u = 0; u < f.height; ++u) {
    for (int v = 0; v < f.width; ++v) {
      const cv::Vec2d c = spec.at<cv::Vec2d>(u, v);
      out.x[static_cast<std::size_t>(u) * f.width + v] = {c[0], c[1]};
    }
  }
  return out;
}

/// The scalars straight from the full spectrum and the definition in fft.h (signed indices,
/// 16 |k| <= n per axis), no half-spectrum weights.
inline FftStats reference_stats(const Spectrum& s) {
  double energy = 0, low = 0;
  for (int u = 0; u < s.height; ++u) {
    const int ku = std::min(u, s.height - u);
    for (int v = 0; v < s.width; ++v) {
      const int kv = std::min(v, s.width - v);
      const double e = std::norm(s.at(u, v));
      energy += e;
      if (16 * ku <= s.height && 16 * kv <= s.width) low += e;
    }
  }
  FftStats r;
  r.dc_magnitude = std::abs(s.at(0, 0));
  r.energy = energy;
  r.high_frequency_fraction = energy > 0 ? (energy - low) / energy : 0.0;
  return r;
}

/// Float output with padded rows (half-spectrum rows of `cols` = fft_half_width values); the
/// padding is a sentinel that must survive.
using Output = test_images::FloatRows;

inline constexpr float kSentinel = -777.0f;

inline Output run(const Fft& fft, const U8Frame& f, FftStats* stats = nullptr) {
  Output o = test_images::sentinel_rows(f.height, fft_half_width(f.width), 3, 1, kSentinel);
  const FftStats s = fft(f.data(), f.width, f.height, f.stride, o.data(), o.stride);
  if (stats != nullptr) *stats = s;
  return o;
}

/// Tolerance on a coefficient of magnitude m (see fft.h): r * (16 sqrt(sum f^2) + 2 m) with
/// r = 2^-24 (log2(N) + 2): an rms-style term for the rounding noise every coefficient gets, and
/// a relative term for coefficients that are large sums of same-sign terms (DC is sum f, whose
/// float rounding alone is relative).
struct Tolerance {
  double r = 0, norm2 = 0;
  double at(double m) const { return r * (16 * norm2 + 2 * m) + 1e-30; }
};

inline Tolerance coefficient_tolerance(const U8Frame& f) {
  double sum_sq = 0;
  for (int y = 0; y < f.height; ++y) {
    for (int x = 0; x < f.width; ++x) sum_sq += static_cast<double>(f.at(x, y)) * f.at(x, y);
  }
  const double n = static_cast<double>(f.width) * f.height;
  return Tolerance{std::ldexp(1.0, -24) * (std::log2(n) + 2), std::sqrt(sum_sq)};
}

/// Checks the log-magnitudes, the sentinel padding and the scalars against a reference
/// spectrum, and the energy against Parseval (width * height * sum f^2, exact in double).
inline void expect_matches_spectrum(const U8Frame& f, const Spectrum& ref, const Output& out,
                                    const FftStats& stats) {
  const Tolerance tol_x = coefficient_tolerance(f);
  int bad = 0;
  for (int u = 0; u < f.height; ++u) {
    for (int v = 0; v < out.cols; ++v) {
      const double m = std::abs(ref.at(u, v));
      const double want = std::log1p(m);
      const double tol = tol_x.at(m) / (1 + m) + std::ldexp(1.0, -21) * std::max(1.0, want);
      if (std::fabs(out.at(u, v) - want) > tol && ++bad <= 5) {
        ADD_FAILURE() << f.width << "x" << f.height << " L(" << u << "," << v
                      << ") = " << out.at(u, v) << ", want " << want << " +- " << tol;
      }
    }
    for (std::ptrdiff_t v = out.cols; v < out.stride; ++v) {
      ASSERT_EQ(out.values[static_cast<std::size_t>(u * out.stride + v)], kSentinel)
          << "padding overwritten in row " << u;
    }
  }
  EXPECT_EQ(bad, 0) << f.width << "x" << f.height << ": " << bad << " values out of tolerance";

  const FftStats want = reference_stats(ref);
  const double n = static_cast<double>(f.width) * f.height;
  double sum = 0, sum_sq = 0;
  for (int y = 0; y < f.height; ++y) {
    for (int x = 0; x < f.width; ++x) {
      sum += f.at(x, y);
      sum_sq += static_cast<double>(f.at(x, y)) * f.at(x, y);
    }
  }
  const double parseval = n * sum_sq;  // exact: integers below 2^53
  // Each |X| is off by at most tol_x.at(|X|): |E' - E| <= sum over the full spectrum of
  // 2 |X| tol + tol^2.
  double tol_energy = 0;
  for (const std::complex<double>& c : ref.x) {
    const double m = std::abs(c);
    tol_energy += 2 * m * tol_x.at(m) + tol_x.at(m) * tol_x.at(m);
  }
  EXPECT_NEAR(stats.dc_magnitude, sum, tol_x.at(sum)) << f.width << "x" << f.height;
  EXPECT_NEAR(want.dc_magnitude, sum, 1e-9 * (1 + sum));  // the reference itself
  EXPECT_NEAR(stats.energy, parseval, tol_energy) << f.width << "x" << f.height;
  EXPECT_NEAR(want.energy, parseval, 1e-9 * (1 + parseval));
  const double tol_fraction = parseval > 0 ? 2 * tol_energy / parseval : 0.0;
  EXPECT_NEAR(stats.high_frequency_fraction, want.high_frequency_fraction, tol_fraction + 1e-12)
      << f.width << "x" << f.height;
  EXPECT_GE(stats.high_frequency_fraction, 0.0);
  EXPECT_LE(stats.high_frequency_fraction, 1.0);
}

struct Size {
  int width, height;
};

/// Tiny frames, odd and prime sizes, widths around a warp (31/32/33), both axes short.
inline std::vector<Size> small_sizes() {
  return {{1, 1},   {2, 3},   {3, 2},   {1, 40},  {40, 1},  {31, 7},  {32, 5},  {33, 9},
          {31, 33}, {32, 32}, {33, 31}, {17, 13}, {64, 48}, {37, 31}, {16, 16}, {127, 3}};
}

inline void expect_small_cases_match_naive_dft(const Fft& fft) {
  for (const Size& s : small_sizes()) {
    const U8Frame f = make_frame(s.width, s.height);
    FftStats stats;
    const Output out = run(fft, f, &stats);
    expect_matches_spectrum(f, naive_dft(f), out, stats);
  }
}

/// Medium sizes against cv::dft in double, including a prime width (643 divides 25,720).
inline void expect_medium_cases_match_opencv(const Fft& fft) {
  for (const Size& s : {Size{257, 300}, Size{1000, 700}, Size{643, 20}, Size{96, 151}}) {
    const U8Frame f = make_frame(s.width, s.height);
    FftStats stats;
    const Output out = run(fft, f, &stats);
    expect_matches_spectrum(f, opencv_dft(f), out, stats);
  }
}

/// skimage's photographs (skipped when python3-skimage is not installed).
inline void expect_photos_match_opencv(const Fft& fft) {
  const std::filesystem::path dir = "/usr/lib/python3/dist-packages/skimage/data";
  int seen = 0;
  for (const char* name : {"camera.png", "astronaut.png"}) {
    const std::filesystem::path path = dir / name;
    if (!std::filesystem::exists(path)) continue;
    const cv::Mat gray = cv::imread(path.string(), cv::IMREAD_GRAYSCALE);
    ASSERT_FALSE(gray.empty()) << path;
    // An odd crop as well as the full photo.
    for (const cv::Rect roi : {cv::Rect(0, 0, gray.cols, gray.rows), cv::Rect(7, 3, 301, 255)}) {
      const U8Frame f = frame_from_mat(gray(roi).clone());
      FftStats stats;
      const Output out = run(fft, f, &stats);
      expect_matches_spectrum(f, opencv_dft(f), out, stats);
      // A photo's energy sits at low frequencies.
      EXPECT_LT(stats.high_frequency_fraction, 0.5) << name;
    }
    ++seen;
  }
  if (seen == 0) GTEST_SKIP() << dir << " has no photos (python3-skimage not installed)";
}

/// Frames whose spectra are known in closed form.
inline void expect_analytic_frames(const Fft& fft) {
  {  // all zero: log1p(0) = 0 exactly everywhere, no energy
    const U8Frame f = make_frame(33, 10, Fill::zero);
    FftStats s;
    const Output out = run(fft, f, &s);
    for (int u = 0; u < f.height; ++u) {
      for (int v = 0; v < out.cols; ++v) ASSERT_EQ(out.at(u, v), 0.0f);
    }
    EXPECT_EQ(s.dc_magnitude, 0.0);
    EXPECT_EQ(s.energy, 0.0);
    EXPECT_EQ(s.high_frequency_fraction, 0.0);
  }
  {  // constant 200: everything at DC, X(0, 0) = 200 N
    const U8Frame f = make_frame(40, 24, Fill::constant);
    FftStats s;
    (void)run(fft, f, &s);
    const double n = 40.0 * 24;
    EXPECT_NEAR(s.dc_magnitude, 200 * n, 1e-3);
    EXPECT_NEAR(s.energy, 200.0 * 200 * n * n, 1e-6 * 200.0 * 200 * n * n);
    EXPECT_LT(s.high_frequency_fraction, 1e-9);
  }
  {  // 0/255 checkerboard, even sizes: half the energy at DC, half at (h/2, w/2) -> 0.5 high
    const U8Frame f = make_frame(48, 32, Fill::checkerboard);
    FftStats s;
    const Output out = run(fft, f, &s);
    const double n = 48.0 * 32;
    EXPECT_NEAR(s.dc_magnitude, 127.5 * n, 1e-2);
    EXPECT_NEAR(s.high_frequency_fraction, 0.5, 1e-6);
    EXPECT_NEAR(s.energy, 2 * (127.5 * n) * (127.5 * n), 1e-6 * s.energy);
    EXPECT_NEAR(out.at(16, 24), std::log1p(127.5 * n), 1e-5);
    EXPECT_NEAR(out.at(0, 0), std::log1p(127.5 * n), 1e-5);
  }
}

/// dst == nullptr computes the same scalars without writing anything.
inline void expect_stats_only_matches(const Fft& fft) {
  for (const Size s : {Size{100, 70}, Size{33, 1}}) {
    const U8Frame f = make_frame(s.width, s.height);
    FftStats with_dst;
    (void)run(fft, f, &with_dst);
    const FftStats alone = fft(f.data(), f.width, f.height, f.stride, nullptr, 0);
    EXPECT_EQ(alone.dc_magnitude, with_dst.dc_magnitude);
    EXPECT_EQ(alone.energy, with_dst.energy);
    EXPECT_EQ(alone.high_frequency_fraction, with_dst.high_frequency_fraction);
  }
}

inline void expect_empty_frames(const Fft& fft) {
  std::vector<float> dst(8, kSentinel);
  for (const Size s : {Size{0, 0}, Size{0, 5}, Size{5, 0}}) {
    const FftStats st = fft(nullptr, s.width, s.height, 0, dst.data(), 0);
    EXPECT_EQ(st.dc_magnitude, 0.0);
    EXPECT_EQ(st.energy, 0.0);
    EXPECT_EQ(st.high_frequency_fraction, 0.0);
  }
  for (float v : dst) EXPECT_EQ(v, kSentinel);
}

inline void expect_bad_arguments_throw(const Fft& fft) {
  std::vector<std::uint8_t> src(64, 9);
  std::vector<float> dst(64);
  EXPECT_THROW(fft(src.data(), -1, 4, 4, dst.data(), 3), ride::Error);
  EXPECT_THROW(fft(src.data(), 4, -1, 4, dst.data(), 3), ride::Error);
  EXPECT_THROW(fft(nullptr, 4, 4, 4, dst.data(), 3), ride::Error);
  EXPECT_THROW(fft(src.data(), 4, 4, 3, dst.data(), 3), ride::Error);
  EXPECT_THROW(fft(src.data(), 4, 4, 4, dst.data(), 2), ride::Error);  // needs 4 / 2 + 1 = 3
  EXPECT_THROW(fft(src.data(), 5, 4, 5, dst.data(), 2), ride::Error);  // needs 5 / 2 + 1 = 3
  std::vector<float> shared(64);
  auto* bytes = reinterpret_cast<std::uint8_t*>(shared.data());
  EXPECT_THROW(fft(bytes, 4, 4, 4, shared.data() + 2, 3), ride::Error);
  try {
    fft(src.data(), 4, 4, 4, dst.data(), 2);
    ADD_FAILURE() << "no throw";
  } catch (const ride::Error& e) {
    EXPECT_NE(std::string(e.what()).find("stride"), std::string::npos) << e.what();
  }
}

}  // namespace ride::kernels::testing

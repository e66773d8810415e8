// bench_matmul: ride's matmul task (CPU path) beside the straightforward OpenCV equivalent, same
// frames, same thread counts, in one binary.
//
// Names: <task>/<impl>/<size>/threads:<n> (bench/kernels/run.sh), task "matmul" (cols 256, seed 0),
// impl "ride" or "opencv", size N (N x N) or WxH.
//
//   ride:   ride::kernels::matmul_u8(src, ..., {256, 0}, dst, ..., threads): bands of rows
//           converted to float and multiplied by single-threaded OpenBLAS sgemm, plus the four
//           scalars (mean, min, max, Frobenius norm).
//   opencv: src.convertTo(A, CV_32F, 1/255); cv::gemm(A, B, 1, noArray(), 0, C) (float); the
//           same scalars with cv::mean / minMaxLoc / norm. OpenCV 4.6 hands large float GEMMs to
//           the system BLAS (OpenBLAS here, through its LAPACK HAL), so this arm runs OpenBLAS
//           with openblas_set_num_threads(n) and cv::setNumThreads(n); ride's arm sets OpenBLAS
//           back to 1 thread itself. B (width x 256) is built once outside the timing for both
//           (ride's cache is warmed by a one-row call).
//
// Sizes: 900, 1600, 2500 and the RIDE frame 24160x25720 (Fig. 9; 318 GFLOP per frame, a few
// seconds on one core, one iteration).
//
// Every benchmark checks what it timed: 64 sampled entries of C against double dot products
// (within (width + 2) * 2^-24 * sum |a b|, matmul.h's bound) and the scalars against C.
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <cmath>
#include <cstdint>
#include <map>
#include <opencv2/core.hpp>
#include <string>

#include "support/micro_bench.h"
#include "kernels/matmul/matmul.h"

namespace {

using ride::bench::Size;

constexpr ride::kernels::MatmulParams kParams{256, 0};

const cv::Mat& weights(int width) {
  static std::map<int, cv::Mat> cache;
  cv::Mat& b = cache[width];
  if (b.empty()) {
    b.create(width, kParams.cols, CV_32F);
    ride::kernels::matmul_fill_weights(width, kParams.cols, kParams.seed, b.ptr<float>(),
                                       static_cast<std::ptrdiff_t>(b.step1()));
  }
  return b;
}

// Empty when C (float, height x 256) matches double dot products at 64 sampled entries and the
// scalars match C; otherwise what is wrong.
std::string check(const cv::Mat& src, const cv::Mat& c, const ride::kernels::MatmulStats& s) {
  const cv::Mat& b = weights(src.cols);
  for (int i = 0; i < 64; ++i) {
    const int y = static_cast<int>((static_cast<std::int64_t>(i) * 7919) % src.rows);
    const int k = (i * 37) % kParams.cols;
    double want = 0, bound = 0;
    for (int x = 0; x < src.cols; ++x) {
      const double term = src.at<std::uint8_t>(y, x) / 255.0 * b.at<float>(x, k);
      want += term;
      bound += std::fabs(term);
    }
    bound *= (src.cols + 2) * std::ldexp(1.0, -24);
    if (std::fabs(c.at<float>(y, k) - want) > bound) {
      return "C(" + std::to_string(y) + "," + std::to_string(k) + ") off by " +
             std::to_string(std::fabs(c.at<float>(y, k) - want));
    }
  }
  double lo = 0, hi = 0;
  cv::minMaxLoc(c, &lo, &hi);
  const double mean = cv::mean(c)[0];
  const double frobenius = cv::norm(c, cv::NORM_L2);
  const double tol = 1e-4 * (1 + frobenius / std::sqrt(static_cast<double>(c.total())));
  if (std::fabs(s.min - lo) > tol || std::fabs(s.max - hi) > tol ||
      std::fabs(s.mean - mean) > tol || std::fabs(s.frobenius - frobenius) > 1e-5 * frobenius) {
    return "scalars do not match C";
  }
  return {};
}

void set_counters(benchmark::State& state, Size s) {
  ride::bench::set_pixel_counters(state, s);
  // GFLOP per second: 2 * height * width * cols per frame.
  const auto pixels = static_cast<std::int64_t>(s.width) * s.height;
  state.counters["GFLOPS"] = benchmark::Counter(
      2e-9 * static_cast<double>(pixels) * kParams.cols * static_cast<double>(state.iterations()),
      benchmark::Counter::kIsRate);
}

void bm_ride(benchmark::State& state, Size s) {
  const cv::Mat& src = ride::bench::noise_frame(s);
  (void)weights(s.width);
  cv::Mat c(s.height, kParams.cols, CV_32F);
  const auto threads = static_cast<int>(state.range(0));
  // Warm ride's B cache for this width with a one-row frame (not timed).
  (void)ride::kernels::matmul_u8(src.data, s.width, 1, static_cast<std::ptrdiff_t>(src.step),
                                 kParams, nullptr, 0, 1);
  ride::kernels::MatmulStats stats;
  for (auto _ : state) {
    stats = ride::kernels::matmul_u8(src.data, s.width, s.height,
                                     static_cast<std::ptrdiff_t>(src.step), kParams, c.ptr<float>(),
                                     static_cast<std::ptrdiff_t>(c.step1()), threads);
    benchmark::DoNotOptimize(stats);
  }
  if (const std::string err = check(src, c, stats); !err.empty()) {
    state.SkipWithError(("ride: " + err).c_str());
  }
  set_counters(state, s);
}

void bm_opencv(benchmark::State& state, Size s) {
  const cv::Mat& src = ride::bench::noise_frame(s);
  const cv::Mat& b = weights(s.width);
  const auto threads = static_cast<int>(state.range(0));
  const int previous_cv = cv::getNumThreads();
  const int previous_blas = openblas_get_num_threads();
  cv::setNumThreads(threads);
  openblas_set_num_threads(threads);
  cv::Mat a, c;
  ride::kernels::MatmulStats stats;
  for (auto _ : state) {
    src.convertTo(a, CV_32F, 1.0 / 255.0);
    cv::gemm(a, b, 1.0, cv::noArray(), 0.0, c);
    cv::minMaxLoc(c, &stats.min, &stats.max);
    stats.mean = cv::mean(c)[0];
    stats.frobenius = cv::norm(c, cv::NORM_L2);
    benchmark::DoNotOptimize(stats);
  }
  cv::setNumThreads(previous_cv);
  openblas_set_num_threads(previous_blas);
  if (const std::string err = check(src, c, stats); !err.empty()) {
    state.SkipWithError(("opencv: " + err).c_str());
  }
  set_counters(state, s);
}

}  // namespace

int main(int argc, char** argv) {
  return ride::bench::micro_main(argc, argv, [] {
    const Size ride_size{24160, 25720};  // RIDE Fig. 9
    for (const Size s : {Size{900, 900}, Size{1600, 1600}, Size{2500, 2500}, ride_size}) {
      const bool once = s.width == ride_size.width;  // seconds per frame; one is enough
      ride::bench::register_threads(ride::bench::bench_name("matmul", "ride", s.name()), once,
                                    bm_ride, s);
      ride::bench::register_threads(ride::bench::bench_name("matmul", "opencv", s.name()), once,
                                    bm_opencv, s);
    }
  });
}

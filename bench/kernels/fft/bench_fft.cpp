// bench_fft: ride's FFT task (CPU path) beside OpenCV's cv::dft, same frames, same thread
// counts, in one binary.
//
// Names: <task>/<impl>/<size>/threads:<n> (bench/kernels/run.sh), task "fft", impl "ride" or
// "opencv", size N (N x N) or WxH.
//
//   ride:   ride::kernels::fft_log_magnitude_u8(src, ..., dst, ..., threads): FFTW r2c into the
//           half spectrum, then log1p|X| into dst and the three scalars (DC, energy, high-band
//           fraction). Plan and buffer are cached, as for a stream of frames: one untimed call
//           first.
//   opencv: cv::setNumThreads(n); src.convertTo(A, CV_32F); cv::dft(A, X, DFT_COMPLEX_OUTPUT)
//           (real input, full complex output of the same size). Only the transform: ride's arm
//           also does the log-magnitude and the scalars, so the ratio is conservative for ride.
//           One untimed call first as well.
//
// Sizes: 900, 1600, 2500 and 6040x6430. The RIDE frame (24160x25720, Fig. 9) is not run here:
// ride's CPU path takes 21-32 s per frame on this 2-core machine (measured once, 4.3 GB peak
// RSS), and cv::dft would take minutes, since 24160 = 2^5*5*151 and 25720 = 2^3*5*643 leave
// large prime factors that OpenCV's DFT handles in O(n p) (measured: 0.49 s for 64 rows of
// 25,720). 6040x6430 is the RIDE frame scaled by 1/4 per axis with the same prime factors 151
// and 643 (1/16 of the area), the largest size where both arms take seconds, not minutes.
//
// Every benchmark checks what it timed: DC against the pixel sum and the energy against
// Parseval (width * height * sum f^2), relative 1e-5; ride's log-magnitude at DC as well.
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdint>
#include <opencv2/core.hpp>
#include <string>

#include "support/micro_bench.h"
#include "kernels/fft/fft.h"

namespace {

using ride::bench::Size;

struct Expected {
  double dc = 0, energy = 0;
};

// Sum f and width * height * sum f^2 (Parseval), exact in double.
Expected expected(const cv::Mat& src) {
  double sum = 0, sum_sq = 0;
  for (int y = 0; y < src.rows; ++y) {
    const std::uint8_t* row = src.ptr<std::uint8_t>(y);
    double row_sum = 0, row_sq = 0;
    for (int x = 0; x < src.cols; ++x) {
      row_sum += row[x];
      row_sq += static_cast<double>(row[x]) * row[x];
    }
    sum += row_sum;
    sum_sq += row_sq;
  }
  return Expected{sum, static_cast<double>(src.total()) * sum_sq};
}

bool close(double got, double want) { return std::fabs(got - want) <= 1e-5 * std::fabs(want); }

void bm_ride(benchmark::State& state, Size s) {
  const cv::Mat& src = ride::bench::noise_frame(s);
  const int half = ride::kernels::fft_half_width(s.width);
  cv::Mat dst(s.height, half, CV_32F);
  const auto threads = static_cast<int>(state.range(0));
  const auto run = [&] {
    return ride::kernels::fft_log_magnitude_u8(
        src.data, s.width, s.height, static_cast<std::ptrdiff_t>(src.step), dst.ptr<float>(),
        static_cast<std::ptrdiff_t>(dst.step1()), threads);
  };
  ride::kernels::FftStats stats = run();  // plan and buffer, not timed
  for (auto _ : state) {
    stats = run();
    benchmark::DoNotOptimize(stats);
  }
  const Expected want = expected(src);
  if (!close(stats.dc_magnitude, want.dc) || !close(stats.energy, want.energy) ||
      std::fabs(dst.at<float>(0, 0) - std::log1p(want.dc)) > 1e-5 * std::log1p(want.dc)) {
    state.SkipWithError("ride: DC or energy does not match the frame");
  }
  ride::bench::set_pixel_counters(state, s);
}

void bm_opencv(benchmark::State& state, Size s) {
  const cv::Mat& src = ride::bench::noise_frame(s);
  const int previous = cv::getNumThreads();
  cv::setNumThreads(static_cast<int>(state.range(0)));
  cv::Mat a, x;
  const auto run = [&] {
    src.convertTo(a, CV_32F);
    cv::dft(a, x, cv::DFT_COMPLEX_OUTPUT);
  };
  run();  // untimed, as for ride
  for (auto _ : state) {
    run();
    benchmark::DoNotOptimize(x.data);
  }
  cv::setNumThreads(previous);
  const Expected want = expected(src);
  const cv::Vec2f dc = x.at<cv::Vec2f>(0, 0);
  const double energy = cv::norm(x, cv::NORM_L2SQR);
  if (!close(std::hypot(dc[0], dc[1]), want.dc) || !close(energy, want.energy)) {
    state.SkipWithError("opencv: DC or energy does not match the frame");
  }
  ride::bench::set_pixel_counters(state, s);
}

}  // namespace

int main(int argc, char** argv) {
  return ride::bench::micro_main(argc, argv, [] {
    for (const Size s : {Size{900, 900}, Size{1600, 1600}, Size{2500, 2500}, Size{6040, 6430}}) {
      const bool once = s.width == 6040;  // seconds per frame; one is enough
      ride::bench::register_threads(ride::bench::bench_name("fft", "ride", s.name()), once, bm_ride,
                                    s);
      ride::bench::register_threads(ride::bench::bench_name("fft", "opencv", s.name()), once,
                                    bm_opencv, s);
    }
  });
}

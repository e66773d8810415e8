// bench_stddev: ride's std-dev filter (CPU path) beside the straightforward OpenCV equivalent,
// same frames, same thread counts, in one binary.
//
// Names: <task>/<impl>/<size>/threads:<n> (bench/kernels/run.sh), task "stddev" (window 5) or
// "stddev_w15" (window 15), impl "ride" or "opencv", size N (N x N) or WxH.
//
//   ride:   ride::kernels::stddev_filter_u8(src, ..., window, dst, ..., threads)
//   opencv: cv::setNumThreads(n); E[x] = boxFilter(src, CV_32F), E[x^2] = sqrBoxFilter(src,
//           CV_32F) (normalize, BORDER_REFLECT_101), then sqrt(max(E[x^2] - E[x]^2, 0)) with
//           cv::multiply / subtract / max / sqrt, all float. CV_32F rather than CV_64F: at the
//           RIDE size (24,160 x 25,720) the CV_64F temporaries alone would need ~15 GB.
//           Output Mats live across iterations (OpenCV reuses them), as ride's dst does.
//
// Every benchmark checks what it timed: 256 sampled pixels against a double-precision window sum
// (ride: within 1e-4; OpenCV: within 0.25, the float cancellation in E[x^2] - E[x]^2).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <string>
#include <utility>

#include "support/micro_bench.h"
#include "kernels/stddev/stddev.h"

namespace {

using ride::bench::Size;

int reflect101(int i, int n) {
  if (n == 1) return 0;
  while (i < 0 || i >= n) i = i < 0 ? -i : 2 * (n - 1) - i;
  return i;
}

// Largest |out - exact| over 256 pixels spread over the frame, borders included.
double sampled_error(const cv::Mat& src, const cv::Mat& out, int window) {
  const int r = window / 2;
  double worst = 0;
  for (int i = 0; i < 256; ++i) {
    const int y = static_cast<int>((static_cast<std::int64_t>(i) * 7919) % src.rows);
    const int x = i < 8 ? (i % 2) * (src.cols - 1)
                        : static_cast<int>((static_cast<std::int64_t>(i) * 104729) % src.cols);
    double s1 = 0, s2 = 0;
    for (int dy = -r; dy <= r; ++dy) {
      for (int dx = -r; dx <= r; ++dx) {
        const double v =
            src.at<std::uint8_t>(reflect101(y + dy, src.rows), reflect101(x + dx, src.cols));
        s1 += v;
        s2 += v * v;
      }
    }
    const double n = static_cast<double>(window) * window;
    const double want = std::sqrt(std::max(0.0, s2 / n - (s1 / n) * (s1 / n)));
    worst = std::max(worst, std::fabs(out.at<float>(y, x) - want));
  }
  return worst;
}

void bm_ride(benchmark::State& state, Size s, int window) {
  const cv::Mat& src = ride::bench::noise_frame(s);
  cv::Mat out(s.height, s.width, CV_32F);
  const auto threads = static_cast<int>(state.range(0));
  for (auto _ : state) {
    ride::kernels::stddev_filter_u8(src.data, s.width, s.height,
                                    static_cast<std::ptrdiff_t>(src.step), window, out.ptr<float>(),
                                    static_cast<std::ptrdiff_t>(out.step1()), threads);
    benchmark::DoNotOptimize(out.data);
  }
  if (const double err = sampled_error(src, out, window); err > 1e-4) {
    state.SkipWithError(("ride output off by " + std::to_string(err)).c_str());
  }
  ride::bench::set_pixel_counters(state, s);
}

void bm_opencv(benchmark::State& state, Size s, int window) {
  const cv::Mat& src = ride::bench::noise_frame(s);
  const int previous_threads = cv::getNumThreads();
  cv::setNumThreads(static_cast<int>(state.range(0)));
  const cv::Size ksize(window, window);
  const cv::Point anchor(-1, -1);
  cv::Mat mean, mean_sq, tmp;
  for (auto _ : state) {
    cv::boxFilter(src, mean, CV_32F, ksize, anchor, true, cv::BORDER_REFLECT_101);
    cv::sqrBoxFilter(src, mean_sq, CV_32F, ksize, anchor, true, cv::BORDER_REFLECT_101);
    cv::multiply(mean, mean, tmp);
    cv::subtract(mean_sq, tmp, mean_sq);
    cv::max(mean_sq, 0.0, mean_sq);
    cv::sqrt(mean_sq, mean_sq);
    benchmark::DoNotOptimize(mean_sq.data);
  }
  cv::setNumThreads(previous_threads);
  if (const double err = sampled_error(src, mean_sq, window); err > 0.25) {
    state.SkipWithError(("opencv output off by " + std::to_string(err)).c_str());
  }
  ride::bench::set_pixel_counters(state, s);
}

}  // namespace

int main(int argc, char** argv) {
  return ride::bench::micro_main(argc, argv, [] {
    const Size ride_size{24160, 25720};  // RIDE Fig. 9
    for (const auto& [task, window] :
         {std::pair<std::string, int>{"stddev", 5}, {"stddev_w15", 15}}) {
      for (const Size s : {Size{900, 900}, Size{1600, 1600}, Size{2500, 2500}, ride_size}) {
        const bool huge = s.width == ride_size.width;  // seconds per iteration; one is enough
        ride::bench::register_threads(ride::bench::bench_name(task, "ride", s.name()), huge,
                                      bm_ride, s, window);
        ride::bench::register_threads(ride::bench::bench_name(task, "opencv", s.name()), huge,
                                      bm_opencv, s, window);
      }
    }
  });
}

#pragma once
/// @brief What every microbenchmark binary (bench/kernels/<family>/bench_<family>) shares: frame
/// sizes and their names, the deterministic noise frame, the per-pixel counters, registration
/// under the naming scheme of bench/kernels/run.sh (<task>/<impl>/<size>/threads:<n>, which
/// summarize.py pairs) and main(). Header-only.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <map>
#include <opencv2/core.hpp>
#include <string>
#include <string_view>
#include <utility>

#ifndef RIDE_GIT_COMMIT
#define RIDE_GIT_COMMIT "unknown"
#endif

namespace ride::bench {

/// A frame size; name() is the <size> part of a benchmark name: "N" for N x N, else "WxH".
struct Size {
  int width, height;
  std::string name() const {
    return width == height ? std::to_string(width)
                           : std::to_string(width) + "x" + std::to_string(height);
  }
};

/// A height x width CV_8U frame of uniform random bytes: splitmix64 seeded from the size, each
/// 64-bit output giving 8 consecutive pixels of a row (low byte first). Deterministic.
inline cv::Mat make_noise_frame(Size s) {
  cv::Mat f(s.height, s.width, CV_8U);
  std::uint64_t z = 0x1234567ULL + static_cast<std::uint64_t>(s.width) * 31 + s.height;
  for (int y = 0; y < f.rows; ++y) {
    std::uint8_t* row = f.ptr<std::uint8_t>(y);
    for (int x = 0; x < f.cols; x += 8) {
      z += 0x9E3779B97F4A7C15ULL;
      std::uint64_t r = z;
      r = (r ^ (r >> 30)) * 0xBF58476D1CE4E5B9ULL;
      r = (r ^ (r >> 27)) * 0x94D049BB133111EBULL;
      r ^= r >> 31;
      for (int k = 0; k < 8 && x + k < f.cols; ++k) {
        row[x + k] = static_cast<std::uint8_t>(r >> (8 * k));
      }
    }
  }
  return f;
}

/// make_noise_frame(s), made once per size and kept for the whole run (the RIDE frame is
/// 621 MB).
inline const cv::Mat& noise_frame(Size s) {
  static std::map<std::pair<int, int>, cv::Mat> frames;
  cv::Mat& f = frames[{s.width, s.height}];
  if (f.empty()) f = make_noise_frame(s);
  return f;
}

/// Items and bytes processed: one item and one (u8 input) byte per pixel per iteration.
inline void set_pixel_counters(benchmark::State& state, Size s) {
  const auto pixels = static_cast<std::int64_t>(s.width) * s.height;
  state.SetItemsProcessed(state.iterations() * pixels);
  state.SetBytesProcessed(state.iterations() * pixels);  // u8 input bytes
}

/// "<task>/<impl>/<size>"; Google Benchmark appends "/threads:<n>".
inline std::string bench_name(std::string_view task, std::string_view impl, std::string_view size) {
  // Appended piecewise: GCC 12 reports a false -Wrestrict on "literal" + std::string (GCC bug
  // 105329).
  std::string name(task);
  name.append("/").append(impl).append("/").append(size);
  return name;
}

/// Registers fn(state, args...) as name/threads:1 and name/threads:2 (the thread count is
/// state.range(0)), in real time and milliseconds; once: a single iteration (seconds per
/// frame, one is enough).
template <class Fn, class... Args>
benchmark::internal::Benchmark* register_threads(const std::string& name, bool once, Fn&& fn,
                                                 Args&&... args) {
  auto* b =
      benchmark::RegisterBenchmark(name.c_str(), std::forward<Fn>(fn), std::forward<Args>(args)...);
  b->ArgName("threads")->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);
  if (once) b->Iterations(1);
  return b;
}

/// The body of main(): Google Benchmark's flags, the commit as context "ride_commit",
/// register_all(), then the run. Returns main's exit status.
template <class RegisterAll>
int micro_main(int argc, char** argv, RegisterAll register_all) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::AddCustomContext("ride_commit", RIDE_GIT_COMMIT);
  register_all();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

}  // namespace ride::bench

// bench_hessian: ride's fast-Hessian detector (SURF's detector, CPU path) beside the same
// pipeline written straightforwardly with OpenCV primitives, same frames, same thread counts,
// in one binary. Debian's OpenCV has no SURF (xfeatures2d is not packaged), and its other
// detectors (FAST, SimpleBlobDetector) are different algorithms, hence the hand-built peer.
//
// Names: <task>/<impl>/<size>/threads:<n> (bench/kernels/run.sh), task "hessian" (camera.png from
// scikit-image tiled over the frame: natural image statistics; a smooth synthetic pattern if
// the photo is missing) or "hessian_noise" (uniform random bytes, RIDE's dummy frames: the worst
// case, with far more det(H) maxima), impl "ride" or "opencv", size N (N x N) or WxH. Both use
// the default HessianParams: 4 octaves of filter sizes 9..195, threshold 100.
//
//   ride:   ride::kernels::fast_hessian_u8(src, ..., params, threads): keypoints refined,
//           sorted.
//   opencv: cv::setNumThreads(n); per octave and layer at full resolution: Dxx = boxFilter
//           (3L x 2L-1) - 3 boxFilter(L x 2L-1), Dyy likewise, Dxy from four shifted ROIs of one
//           boxFilter(L x L), all CV_32F unnormalised and scaled by the lobe areas; det =
//           Dxx.mul(Dyy) - 0.81 Dxy.mul(Dxy); sampled on the octave's grid (a plain loop);
//           3x3x3 maxima by cv::dilate of the three layers, cv::max, compare (>=, not strict)
//           and > threshold, then cv::findNonZero. No refinement. Octaves above 0 cost as much
//           as octave 0 here (full-resolution box filters, then sampling), which is what the
//           straightforward pipeline does.
//
// Each benchmark checks what it timed: ride's keypoint count matches across thread counts and
// its unrefined maxima match the peer's count within 0.5% (the peer's non-strict comparison
// and float rounding order differ slightly); both must find some keypoints.
//
// RIDE size (24,160 x 25,720, RIDE Fig. 9): ride only, one iteration. The peer keeps several
// full-resolution float maps per layer (about 2.5 GB each at that size, over 15 GB in all),
// more than the 23 GB development machine shared by four processes can give; its largest frame
// is a quarter of the RIDE frame per side (6,040 x 6,430), which both run. ride's own memory is
// bounded by its bands (about 0.1 GB per thread at the RIDE width) plus the keypoints.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <map>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "support/micro_bench.h"
#include "kernels/hessian/hessian.h"

namespace {

using ride::bench::Size;
using ride::kernels::HessianKeypoint;
using ride::kernels::HessianParams;

enum class Content { photo, noise };

cv::Mat make_photo_frame(Size s) {
  const char* path = "/usr/lib/python3/dist-packages/skimage/data/camera.png";
  cv::Mat tile;
  if (std::filesystem::exists(path)) tile = cv::imread(path, cv::IMREAD_GRAYSCALE);
  if (tile.empty()) {
    // Smooth synthetic stand-in: random 64 x 64 bytes blown up 8x (cubic), i.e. blobs of
    // several sizes.
    cv::Mat small(64, 64, CV_8U);
    cv::randu(small, 0, 256);
    cv::resize(small, tile, cv::Size(512, 512), 0, 0, cv::INTER_CUBIC);
  }
  cv::Mat big;
  cv::repeat(tile, (s.height + tile.rows - 1) / tile.rows, (s.width + tile.cols - 1) / tile.cols,
             big);
  return big(cv::Rect(0, 0, s.width, s.height)).clone();
}

// One frame per (content, size) for the whole run (the RIDE frame is 621 MB).
const cv::Mat& frame(Content c, Size s) {
  static std::map<std::tuple<int, int, int>, cv::Mat> frames;
  cv::Mat& f = frames[{static_cast<int>(c), s.width, s.height}];
  if (f.empty()) f = c == Content::photo ? make_photo_frame(s) : ride::bench::make_noise_frame(s);
  return f;
}

// ---- the OpenCV peer ---------------------------------------------------------------------------

int floor_div(int a, int b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

struct PeerScratch {
  cv::Mat total, middle, dxx, dyy, box, dxy, det_full, tmp;
  std::vector<cv::Mat> det, dilated;
  std::vector<cv::Point> found;
};

std::size_t opencv_fast_hessian(const cv::Mat& img, const HessianParams& p, PeerScratch& w) {
  std::size_t count = 0;
  const cv::Mat kernel = cv::getStructuringElement(cv::MORPH_RECT, cv::Size(3, 3));
  w.det.resize(static_cast<std::size_t>(p.layers));
  w.dilated.resize(static_cast<std::size_t>(p.layers));
  for (int o = 0; o < p.octaves; ++o) {
    const int s = p.init_sample << o;
    const int nx = (img.cols - 1) / s + 1;
    const int ny = (img.rows - 1) / s + 1;
    std::vector<int> radius(static_cast<std::size_t>(p.layers));
    for (int l = 0; l < p.layers; ++l) {
      const int lobe = (2 << o) * (l + 1) + 1;
      const int r = (3 * lobe - 1) / 2;
      radius[static_cast<std::size_t>(l)] = r;
      cv::Mat& det = w.det[static_cast<std::size_t>(l)];
      det.create(ny, nx, CV_32F);
      det.setTo(-std::numeric_limits<float>::infinity());
      if (2 * r + 1 > img.cols || 2 * r + 1 > img.rows) continue;
      const double inv_xx = 1.0f / static_cast<float>(lobe * (2 * lobe - 1));
      const double inv_xy = 1.0f / static_cast<float>(lobe * lobe);
      const cv::Point centre(-1, -1);
      cv::boxFilter(img, w.total, CV_32F, cv::Size(3 * lobe, 2 * lobe - 1), centre, false,
                    cv::BORDER_CONSTANT);
      cv::boxFilter(img, w.middle, CV_32F, cv::Size(lobe, 2 * lobe - 1), centre, false,
                    cv::BORDER_CONSTANT);
      cv::scaleAdd(w.middle, -3.0, w.total, w.dxx);
      cv::boxFilter(img, w.total, CV_32F, cv::Size(2 * lobe - 1, 3 * lobe), centre, false,
                    cv::BORDER_CONSTANT);
      cv::boxFilter(img, w.middle, CV_32F, cv::Size(2 * lobe - 1, lobe), centre, false,
                    cv::BORDER_CONSTANT);
      cv::scaleAdd(w.middle, -3.0, w.total, w.dyy);
      // Dxy from the lobe x lobe box sums centred (lobe+1)/2 up/down and left/right.
      cv::boxFilter(img, w.box, CV_32F, cv::Size(lobe, lobe), centre, false, cv::BORDER_CONSTANT);
      const int c = (lobe + 1) / 2;
      const cv::Rect valid(r, r, img.cols - 2 * r, img.rows - 2 * r);
      const auto shifted = [&](int dx, int dy) { return w.box(valid + cv::Point(dx, dy)); };
      cv::add(shifted(-c, -c), shifted(c, c), w.dxy);
      cv::subtract(w.dxy, shifted(c, -c), w.dxy);
      cv::subtract(w.dxy, shifted(-c, c), w.dxy);
      // det = (Dxx * inv_xx) (Dyy * inv_xx) - 0.81 (Dxy * inv_xy)^2 on the valid region.
      w.dxx(valid).convertTo(w.tmp, CV_32F, inv_xx);
      w.dyy(valid).convertTo(w.det_full, CV_32F, inv_xx);
      cv::multiply(w.tmp, w.det_full, w.det_full);
      w.dxy.convertTo(w.dxy, CV_32F, inv_xy);
      cv::multiply(w.dxy, w.dxy, w.tmp, 0.81);
      cv::subtract(w.det_full, w.tmp, w.det_full);
      // Sample on the octave's grid: det(i, j) = det_full(i*s - r, j*s - r).
      for (int i = (r + s - 1) / s; i * s + r < img.rows; ++i) {
        const float* in = w.det_full.ptr<float>(i * s - r);
        float* out = det.ptr<float>(i);
        for (int j = (r + s - 1) / s; j * s + r < img.cols; ++j) out[j] = in[j * s - r];
      }
    }
    for (int l = 0; l < p.layers; ++l) {
      cv::dilate(w.det[static_cast<std::size_t>(l)], w.dilated[static_cast<std::size_t>(l)],
                 kernel);
    }
    for (int l = 1; l + 1 < p.layers; ++l) {
      // Grid samples whose layer l+1 filter fits at all 8 neighbours.
      const int r = radius[static_cast<std::size_t>(l + 1)];
      const int j0 = floor_div(r + s + s - 1, s), j1 = floor_div(img.cols - 1 - r - s, s) + 1;
      const int i0 = floor_div(r + s + s - 1, s), i1 = floor_div(img.rows - 1 - r - s, s) + 1;
      if (j0 >= j1 || i0 >= i1) continue;
      const cv::Rect region(j0, i0, j1 - j0, i1 - i0);
      cv::max(w.dilated[static_cast<std::size_t>(l - 1)](region),
              w.dilated[static_cast<std::size_t>(l)](region), w.tmp);
      cv::max(w.tmp, w.dilated[static_cast<std::size_t>(l + 1)](region), w.tmp);
      const cv::Mat centre = w.det[static_cast<std::size_t>(l)](region);
      const cv::Mat mask = (centre >= w.tmp) & (centre > p.threshold);
      cv::findNonZero(mask, w.found);
      count += w.found.size();
    }
  }
  return count;
}

// ---- checks ------------------------------------------------------------------------------------

// Unrefined maxima of ride and the peer's count, once per frame.
struct Check {
  std::size_t ride_plain = 0;
  std::size_t peer = 0;
  bool agree = false;
};

const Check& check(Content c, Size s) {
  static std::map<std::tuple<int, int, int>, Check> checks;
  const auto key = std::make_tuple(static_cast<int>(c), s.width, s.height);
  auto it = checks.find(key);
  if (it == checks.end()) {
    const cv::Mat& img = frame(c, s);
    HessianParams plain;
    plain.interpolate = false;
    Check k;
    k.ride_plain = ride::kernels::fast_hessian_u8(img.data, img.cols, img.rows,
                                                  static_cast<std::ptrdiff_t>(img.step), plain, 2)
                       .size();
    PeerScratch scratch;
    k.peer = opencv_fast_hessian(img, HessianParams{}, scratch);
    const double diff = std::fabs(static_cast<double>(k.ride_plain) - static_cast<double>(k.peer));
    k.agree = k.ride_plain > 0 && diff <= 0.005 * static_cast<double>(k.ride_plain) + 2;
    it = checks.emplace(key, k).first;
  }
  return it->second;
}

void set_counters(benchmark::State& state, Size s, std::size_t keypoints) {
  ride::bench::set_pixel_counters(state, s);
  state.counters["keypoints"] = static_cast<double>(keypoints);
}

// Keypoint counts of ride's timed runs per frame, to check that thread counts agree.
std::size_t& ride_count(Content c, Size s) {
  static std::map<std::tuple<int, int, int>, std::size_t> counts;
  return counts[{static_cast<int>(c), s.width, s.height}];
}

void bm_ride(benchmark::State& state, Content c, Size s, bool verify_with_peer) {
  const cv::Mat& img = frame(c, s);
  const auto threads = static_cast<int>(state.range(0));
  const HessianParams params;
  std::vector<HessianKeypoint> keypoints;
  for (auto _ : state) {
    keypoints = ride::kernels::fast_hessian_u8(
        img.data, img.cols, img.rows, static_cast<std::ptrdiff_t>(img.step), params, threads);
    benchmark::DoNotOptimize(keypoints.data());
  }
  std::size_t& seen = ride_count(c, s);
  if (keypoints.empty()) {
    state.SkipWithError("ride found no keypoints");
  } else if (seen != 0 && seen != keypoints.size()) {
    state.SkipWithError("ride's keypoint count depends on the thread count");
  } else if (verify_with_peer && !check(c, s).agree) {
    state.SkipWithError(("ride's maxima (" + std::to_string(check(c, s).ride_plain) +
                         ") disagree with the OpenCV peer's (" + std::to_string(check(c, s).peer) +
                         ")")
                            .c_str());
  }
  seen = keypoints.size();
  set_counters(state, s, keypoints.size());
  if (verify_with_peer) {
    state.counters["maxima"] = static_cast<double>(check(c, s).ride_plain);
  }
}

void bm_opencv(benchmark::State& state, Content c, Size s) {
  const cv::Mat& img = frame(c, s);
  const int previous_threads = cv::getNumThreads();
  cv::setNumThreads(static_cast<int>(state.range(0)));
  PeerScratch scratch;
  std::size_t count = 0;
  for (auto _ : state) {
    count = opencv_fast_hessian(img, HessianParams{}, scratch);
    benchmark::DoNotOptimize(count);
  }
  cv::setNumThreads(previous_threads);
  if (!check(c, s).agree || count != check(c, s).peer) {
    state.SkipWithError(("OpenCV peer's maxima (" + std::to_string(count) +
                         ") disagree with ride's (" + std::to_string(check(c, s).ride_plain) + ")")
                            .c_str());
  }
  set_counters(state, s, count);
  state.counters["maxima"] = static_cast<double>(count);
}

}  // namespace

int main(int argc, char** argv) {
  return ride::bench::micro_main(argc, argv, [] {
    const Size ride_size{24160, 25720};   // RIDE Fig. 9
    const Size quarter_ride{6040, 6430};  // a quarter of it per side
    for (const auto& [task, content] : {std::pair<std::string, Content>{"hessian", Content::photo},
                                        {"hessian_noise", Content::noise}}) {
      for (const Size s :
           {Size{900, 900}, Size{1600, 1600}, Size{2500, 2500}, quarter_ride, ride_size}) {
        const bool huge = s.width == ride_size.width;
        const bool once = huge || s.width == quarter_ride.width;  // seconds per iteration
        ride::bench::register_threads(ride::bench::bench_name(task, "ride", s.name()), once,
                                      bm_ride, content, s, !huge);
        // The peer does not fit in memory at the RIDE size (see the header).
        if (!huge) {
          ride::bench::register_threads(ride::bench::bench_name(task, "opencv", s.name()), once,
                                        bm_opencv, content, s);
        }
      }
    }
  });
}

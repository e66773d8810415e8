// CAM²'s five programs (kernels/cam2) beside the same pipeline written the straightforward way
// with OpenCV's default settings, in one binary. Names: <task>/<impl>/<size>/threads:<n>
// (Google Benchmark appends /real_time), impl in {ride, opencv}:
//
//   ia   ride: ImageArchival{} (packed copy + ride::checksum64, lossless).
//        opencv: cv::imencode(".jpg", frame) with OpenCV's defaults (quality 95): the usual way
//        an OpenCV program archives a frame. Different outputs on purpose: what raw archival
//        costs next to JPEG archival.
//   me   ride: MotionEstimation{threads = n} (one MOG2 per band on n threads).
//        opencv: createBackgroundSubtractorMOG2() defaults, apply(), count of 255.
//   mod  ride: MovingObjectDetection{threads = n} (banded MOG2, 3x3 ellipse opening, 7x7
//        closing, external contours, min area 50).
//        opencv: MOG2 defaults, threshold, erode + dilate with the default 3x3 kernel,
//        findContours (external), every contour an object.
//   ft   ride: FeatureTracking{threads = n} (pyramids built once per frame, forward + backward
//        LK on n threads, back-tracking check).
//        opencv: the same detector settings, calcOpticalFlowPyrLK on images (pyramids rebuilt
//        per call), forward only: no back-tracking.
//   hd   ride: HumanDetection{threads = n} (scale 1.1, pyramid levels on n threads).
//        opencv: HOGDescriptor::detectMultiScale with its defaults (scale 1.05, stride 8).
//
// Threads: both impls run with cv::setNumThreads(n) (process-global: OpenCV's own pool), and
// ride additionally splits its own work over n std::threads (see kernels/cam2/cam2.h).
// Frames: a synthetic 3-channel scene per size, a textured background with two drawn people
// (HD's truth) and three textured rectangles moving (4, 3) px per frame, rendered per frame
// outside the timed region (PauseTiming), so the stream never repeats. Stateful programs see
// 8 untimed frames first. HD and IA time the first frame.
// Every benchmark checks its output after timing (SkipWithError if wrong).
//
// Sizes: 900², 1600², 2500², and RIDE's Fig. 9 frame (24,160 x 25,720, 1.86 GB) for IA/ride
// only. Not the others: MOG2 keeps ~100 bytes per pixel (5 modes x (weight, 3 means,
// variance) as float) = ~62 GB for ME/MOD; FT's float eigenvalue map and pyramids with
// derivatives need > 10 GB and many seconds a frame; HOG at that size takes minutes; JPEG
// encoding 1.86 GB takes ~20 s on one core. The machines have 24 GB and 2 shared cores.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <memory>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/objdetect.hpp>
#include <opencv2/video.hpp>
#include <string>
#include <vector>

#include "support/micro_bench.h"
#include "core/checksum.h"
#include "kernels/cam2/cam2.h"

namespace {

namespace cam2 = ride::kernels::cam2;

constexpr int kWarmup = 8;  // untimed frames before a stateful program is timed
constexpr int kDx = 4, kDy = 3;
constexpr int kRideWidth = 24160, kRideHeight = 25720;

/// A dark upright silhouette in the proportions of HOG's 64 x 128 training windows (window
/// top-left at origin).
void draw_person(cv::Mat& img, double scale, cv::Point origin) {
  auto p = [&](double x, double y) {
    return cv::Point(origin.x + static_cast<int>(x * scale),
                     origin.y + static_cast<int>(y * scale));
  };
  auto quad = [&](std::initializer_list<cv::Point> pts) {
    const std::vector<cv::Point> v(pts);
    cv::fillConvexPoly(img, v, cv::Scalar::all(40), cv::LINE_AA);
  };
  cv::ellipse(img, p(32, 24), cv::Size(static_cast<int>(7 * scale), static_cast<int>(9 * scale)), 0,
              0, 360, cv::Scalar::all(40), cv::FILLED, cv::LINE_AA);
  cv::rectangle(img, cv::Rect(p(29, 31), p(35, 37)), cv::Scalar::all(40), cv::FILLED);
  quad({p(21, 36), p(43, 36), p(41, 72), p(23, 72)});
  quad({p(23, 70), p(32, 70), p(30, 112), p(23, 112)});
  quad({p(32, 70), p(41, 70), p(42, 112), p(35, 112)});
  quad({p(21, 37), p(25, 38), p(21, 70), p(17, 69)});
  quad({p(43, 37), p(39, 38), p(43, 70), p(47, 69)});
}

cv::Mat texture(cv::Size size, int block, int lo, int hi, unsigned seed) {
  cv::RNG rng(seed);
  cv::Mat small((size.height + block - 1) / block, (size.width + block - 1) / block, CV_8UC3);
  rng.fill(small, cv::RNG::UNIFORM, cv::Scalar::all(lo), cv::Scalar::all(hi + 1));
  cv::Mat t;
  cv::resize(small, t, cv::Size(small.cols * block, small.rows * block), 0, 0, cv::INTER_NEAREST);
  return t(cv::Rect(cv::Point(), size)).clone();
}

/// One size's scene: a static background and textured rectangles that move (kDx, kDy) px per
/// frame through the right half of the frame, wrapping around there. Frames are rendered on
/// demand (outside the timed region): a stream that never repeats, so MOG2 never learns the
/// objects' positions as background.
struct Scene {
  int size = 0;
  cv::Mat background;
  std::vector<cv::Rect> people;  ///< the drawn silhouettes' windows (HD's truth)
  std::vector<cv::Mat> textures;
  std::vector<cv::Point> origins;
  int objects = 0;

  void render(std::int64_t t, cv::Mat& out) const {
    background.copyTo(out);
    const int span_x = size / 2 - textures[0].cols, span_y = size - textures[0].rows;
    for (std::size_t i = 0; i < textures.size(); ++i) {
      const int x = static_cast<int>((origins[i].x + kDx * t) % span_x);
      const int y = static_cast<int>((origins[i].y + kDy * t) % span_y);
      const cv::Rect r(size / 2 + x, y, textures[i].cols, textures[i].rows);
      textures[i].copyTo(out(r));
    }
  }
};

Scene make_scene(int size) {
  Scene s;
  s.size = size;
  s.background = texture({size, size}, 4, 30, 170, 1);
  cv::GaussianBlur(s.background, s.background, cv::Size(3, 3), 0.8);
  // The left half is a light, mildly textured wall with people of 1/6 and 1/4 of the frame
  // height in front of it. (On the busy texture, or on a plain card around them, HOG reports
  // them shifted or twice: measured.)
  cv::Mat wall = s.background(cv::Rect(0, 0, size / 2, size));
  texture(wall.size(), 1, 150, 200, 2).copyTo(wall);
  cv::GaussianBlur(wall, wall, cv::Size(5, 5), 1.5);
  const double small = size / 6.0 / 128.0, large = size / 4.0 / 128.0;
  const cv::Point a(size / 10, size / 10), b(size / 5, size / 2);
  draw_person(s.background, small, a);
  draw_person(s.background, large, b);
  s.people = {cv::Rect(a, cv::Size(static_cast<int>(64 * small), static_cast<int>(128 * small))),
              cv::Rect(b, cv::Size(static_cast<int>(64 * large), static_cast<int>(128 * large)))};
  const int side = size / 12;
  for (int i = 0; i < 3; ++i) {
    cv::Mat t = texture({side, side * 3 / 4}, 3, 30, 170, 100 + static_cast<unsigned>(i));
    cv::rectangle(t, cv::Rect(0, 0, t.cols, t.rows), cv::Scalar(255, 255, 255), 2);  // a rim
    s.textures.push_back(t);
    s.origins.emplace_back(i * size / 7, size / 8 + i * size / 4);
  }
  s.objects = static_cast<int>(s.textures.size());
  return s;
}

/// Scenes are built once per size and kept for the whole run.
const Scene& scene(int size) {
  static std::map<int, Scene> cache;
  auto it = cache.find(size);
  if (it == cache.end()) it = cache.emplace(size, make_scene(size)).first;
  return it->second;
}

/// Feeds a stateful program the stream's frames: kWarmup untimed, then one per iteration
/// (rendering untimed).
template <class Process>
void run_stream(benchmark::State& state, const Scene& s, Process&& process) {
  cv::Mat frame;
  std::int64_t t = 0;
  for (; t < kWarmup; ++t) {
    s.render(t, frame);
    process(frame);
  }
  for (auto _ : state) {
    state.PauseTiming();
    s.render(t++, frame);
    state.ResumeTiming();
    process(frame);
  }
}

void set_counters(benchmark::State& state, const cv::Mat& f) {
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(f.total() * f.elemSize()));
}

// ------------------------------------------------------------------------------------- IA

void ia_ride(benchmark::State& state, int size) {
  cv::setNumThreads(static_cast<int>(state.range(0)));
  const cv::Mat& f = scene(size).background;
  const cam2::ImageArchival ia(cam2::IaParams{.threads = static_cast<int>(state.range(0))});
  std::uint64_t checksum = 0;
  for (auto _ : state) {
    const cam2::IaResult r = ia.process(f);
    checksum = r.checksum;
    benchmark::DoNotOptimize(r.pixels.data());
  }
  if (checksum != ride::checksum64(f.data, f.total() * f.elemSize())) {
    state.SkipWithError("ia/ride: checksum differs from the frame's");
  }
  set_counters(state, f);
}

void ia_ride_huge(benchmark::State& state) {
  cv::setNumThreads(static_cast<int>(state.range(0)));
  // Built here, not cached: 1.86 GB. Copies of a small random tile, cheap to write.
  cv::Mat f(kRideHeight, kRideWidth, CV_8UC3);
  const cv::Mat tile = texture({256, 256}, 1, 0, 255, 5);
  for (int y = 0; y < f.rows; y += tile.rows) {
    for (int x = 0; x < f.cols; x += tile.cols) {
      const cv::Rect r = cv::Rect(x, y, tile.cols, tile.rows) & cv::Rect(0, 0, f.cols, f.rows);
      tile(cv::Rect(0, 0, r.width, r.height)).copyTo(f(r));
    }
  }
  const cam2::ImageArchival ia;
  std::uint64_t checksum = 0, bytes = 0;
  for (auto _ : state) {
    const cam2::IaResult r = ia.process(f);
    checksum = r.checksum;
    bytes = r.pixels.size();
  }
  if (bytes != f.total() * 3 || checksum != ride::checksum64(f.data, f.total() * 3)) {
    state.SkipWithError("ia/ride: copy or checksum differs from the frame's");
  }
  set_counters(state, f);
}

void ia_opencv(benchmark::State& state, int size) {
  cv::setNumThreads(static_cast<int>(state.range(0)));
  const cv::Mat& f = scene(size).background;
  std::vector<std::uint8_t> jpeg;
  for (auto _ : state) {
    cv::imencode(".jpg", f, jpeg);
    benchmark::DoNotOptimize(jpeg.data());
  }
  const cv::Mat decoded = cv::imdecode(jpeg, cv::IMREAD_COLOR);
  if (decoded.size() != f.size()) state.SkipWithError("ia/opencv: JPEG does not decode");
  state.counters["compressed_bytes"] = static_cast<double>(jpeg.size());
  set_counters(state, f);
}

// ------------------------------------------------------------------------------------- ME

// The moving rectangles' edges are always foreground; their inner parts may be absorbed into
// the background model while they cover a pixel for many frames. So: a small, non-zero share.
bool foreground_ok(double pct) { return pct > 0.05 && pct < 20; }

void me_ride(benchmark::State& state, int size) {
  const int threads = static_cast<int>(state.range(0));
  cv::setNumThreads(threads);
  const Scene& s = scene(size);
  cam2::MotionEstimation me(cam2::MeParams{.threads = threads});
  double pct = 0;
  run_stream(state, s, [&](const cv::Mat& f) { pct = me.process(f).foreground_pct; });
  if (!foreground_ok(pct)) state.SkipWithError("me/ride: foreground share out of range");
  state.counters["foreground_pct"] = pct;
  set_counters(state, s.background);
}

void me_opencv(benchmark::State& state, int size) {
  cv::setNumThreads(static_cast<int>(state.range(0)));
  const Scene& s = scene(size);
  const cv::Ptr<cv::BackgroundSubtractorMOG2> mog2 = cv::createBackgroundSubtractorMOG2();
  cv::Mat mask;
  double pct = 0;
  run_stream(state, s, [&](const cv::Mat& f) {
    mog2->apply(f, mask);
    pct = 100.0 * cv::countNonZero(mask == 255) / static_cast<double>(mask.total());
  });
  if (!foreground_ok(pct)) state.SkipWithError("me/opencv: foreground share out of range");
  state.counters["foreground_pct"] = pct;
  set_counters(state, s.background);
}

// ------------------------------------------------------------------------------------ MOD

void mod_ride(benchmark::State& state, int size) {
  const int threads = static_cast<int>(state.range(0));
  cv::setNumThreads(threads);
  const Scene& s = scene(size);
  cam2::MovingObjectDetection mod(cam2::ModParams{.threads = threads});
  int objects = 0;
  run_stream(state, s, [&](const cv::Mat& f) { objects = mod.process(f).objects; });
  if (objects < s.objects) state.SkipWithError("mod/ride: missed moving objects");
  state.counters["objects"] = objects;
  set_counters(state, s.background);
}

void mod_opencv(benchmark::State& state, int size) {
  cv::setNumThreads(static_cast<int>(state.range(0)));
  const Scene& s = scene(size);
  const cv::Ptr<cv::BackgroundSubtractorMOG2> mog2 = cv::createBackgroundSubtractorMOG2();
  cv::Mat mask;
  std::vector<std::vector<cv::Point>> contours;
  std::vector<cv::Rect> boxes;
  run_stream(state, s, [&](const cv::Mat& f) {
    mog2->apply(f, mask);
    cv::threshold(mask, mask, 254, 255, cv::THRESH_BINARY);
    cv::erode(mask, mask, cv::Mat());
    cv::dilate(mask, mask, cv::Mat());
    cv::findContours(mask, contours, cv::RETR_EXTERNAL, cv::CHAIN_APPROX_SIMPLE);
    boxes.clear();
    for (const auto& c : contours) boxes.push_back(cv::boundingRect(c));
  });
  const int objects = static_cast<int>(boxes.size());
  if (objects < s.objects) state.SkipWithError("mod/opencv: missed moving objects");
  state.counters["objects"] = objects;
  set_counters(state, s.background);
}

// ------------------------------------------------------------------------------------- FT

bool speed_ok(double median) { return std::abs(median - std::hypot(kDx, kDy)) < 0.5; }

void ft_ride(benchmark::State& state, int size) {
  const int threads = static_cast<int>(state.range(0));
  cv::setNumThreads(threads);
  const Scene& s = scene(size);
  cam2::FeatureTracking ft(cam2::FtParams{.threads = threads});
  cam2::FtResult r;
  run_stream(state, s, [&](const cv::Mat& f) { r = ft.process(f); });
  if (r.tracked == 0 || !speed_ok(r.median_speed)) {
    state.SkipWithError("ft/ride: median speed is not the scene's");
  }
  state.counters["tracked"] = r.tracked;
  state.counters["median_speed"] = r.median_speed;
  set_counters(state, s.background);
}

/// The straightforward FT: same detector settings, forward LK on images with OpenCV's default
/// termination, no back-tracking, full re-detection every 5 frames.
class PlainTracker {
 public:
  struct Out {
    int tracked = 0;
    double median_speed = 0;
  };
  Out process(const cv::Mat& frame) {
    cv::cvtColor(frame, gray_, cv::COLOR_BGR2GRAY);
    Out out;
    std::vector<cv::Point2f> kept;
    if (!points_.empty()) {
      cv::calcOpticalFlowPyrLK(prev_, gray_, points_, next_, status_, err_, cv::Size(15, 15), 2);
      std::vector<double> speeds;
      for (std::size_t k = 0; k < points_.size(); ++k) {
        if (!status_[k]) continue;
        kept.push_back(next_[k]);
        const double v = cv::norm(next_[k] - points_[k]);
        if (v >= 0.5) speeds.push_back(v);
      }
      out.tracked = static_cast<int>(kept.size());
      if (!speeds.empty()) {
        std::nth_element(speeds.begin(), speeds.begin() + static_cast<long>(speeds.size() / 2),
                         speeds.end());
        out.median_speed = speeds[speeds.size() / 2];
      }
    }
    if (kept.empty() || ++since_detection_ >= 5) {
      cv::goodFeaturesToTrack(gray_, kept, 2500, 0.01, 7, cv::noArray(), 7);
      since_detection_ = 0;
    }
    points_ = std::move(kept);
    std::swap(prev_, gray_);
    return out;
  }

 private:
  cv::Mat prev_, gray_;
  std::vector<cv::Point2f> points_, next_;
  std::vector<unsigned char> status_;
  std::vector<float> err_;
  int since_detection_ = 0;
};

void ft_opencv(benchmark::State& state, int size) {
  cv::setNumThreads(static_cast<int>(state.range(0)));
  const Scene& s = scene(size);
  PlainTracker ft;
  PlainTracker::Out r;
  run_stream(state, s, [&](const cv::Mat& f) { r = ft.process(f); });
  if (r.tracked == 0 || !speed_ok(r.median_speed)) {
    state.SkipWithError("ft/opencv: median speed is not the scene's");
  }
  state.counters["tracked"] = r.tracked;
  state.counters["median_speed"] = r.median_speed;
  set_counters(state, s.background);
}

// ------------------------------------------------------------------------------------- HD

/// Every drawn person overlaps a detection with IoU > 0.5.
bool found_people(const Scene& s, const std::vector<cv::Rect>& found) {
  return std::all_of(s.people.begin(), s.people.end(), [&](const cv::Rect& truth) {
    return std::any_of(found.begin(), found.end(), [&](const cv::Rect& f) {
      const double inter = (f & truth).area();
      return inter / (f.area() + truth.area() - inter) > 0.5;
    });
  });
}

void hd_ride(benchmark::State& state, int size) {
  const int threads = static_cast<int>(state.range(0));
  cv::setNumThreads(threads);
  const Scene& s = scene(size);
  const cam2::HumanDetection hd(cam2::HdParams{.threads = threads});
  cam2::HdResult r;
  for (auto _ : state) r = hd.process(s.background);
  std::vector<cv::Rect> found;
  for (const auto& b : r.boxes) found.emplace_back(b.x, b.y, b.w, b.h);
  if (!found_people(s, found)) state.SkipWithError("hd/ride: missed a drawn person");
  state.counters["people"] = r.people;
  set_counters(state, s.background);
}

void hd_opencv(benchmark::State& state, int size) {
  cv::setNumThreads(static_cast<int>(state.range(0)));
  const Scene& s = scene(size);
  cv::HOGDescriptor hog;
  hog.setSVMDetector(cv::HOGDescriptor::getDefaultPeopleDetector());
  std::vector<cv::Rect> found;
  std::vector<double> weights;
  for (auto _ : state) hog.detectMultiScale(s.background, found, weights);
  if (!found_people(s, found)) state.SkipWithError("hd/opencv: missed a drawn person");
  state.counters["people"] = static_cast<double>(found.size());
  set_counters(state, s.background);
}

// ------------------------------------------------------------------------------- registry

using Fn = void (*)(benchmark::State&, int);

void add(const std::string& task, const std::string& impl, int size, Fn fn) {
  ride::bench::register_threads(ride::bench::bench_name(task, impl, std::to_string(size)), false,
                                fn, size);
}

void register_all() {
  const struct {
    const char* task;
    Fn ride;
    Fn opencv;
  } programs[] = {{"ia", ia_ride, ia_opencv},
                  {"me", me_ride, me_opencv},
                  {"mod", mod_ride, mod_opencv},
                  {"ft", ft_ride, ft_opencv},
                  {"hd", hd_ride, hd_opencv}};
  for (const auto& p : programs) {
    for (int size : {900, 1600, 2500}) {
      add(p.task, "ride", size, p.ride);
      add(p.task, "opencv", size, p.opencv);
    }
  }
  ride::bench::register_threads(
      ride::bench::bench_name("ia", "ride", ride::bench::Size{kRideWidth, kRideHeight}.name()),
      false, ia_ride_huge);
}

}  // namespace

int main(int argc, char** argv) { return ride::bench::micro_main(argc, argv, register_all); }

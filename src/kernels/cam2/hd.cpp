/// HD: human detection (CAM² Table 4) with OpenCV's HOG people detector. The pyramid loop of
/// HOGDescriptor::detectMultiScale is done here so that its levels run on this program's own
/// threads (OpenCV's version runs them on its process-global pool); per level the same calls
/// are made (resize with INTER_LINEAR_EXACT, HOGDescriptor::detect), and the hits are grouped
/// and clipped the same way, so the detections are the same.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <numeric>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/objdetect.hpp>
#include <vector>

#include "core/error.h"
#include "kernels/cam2/cam2.h"
#include "kernels/cam2/cam2_detail.h"

namespace ride::kernels::cam2 {
namespace {

constexpr std::string_view kHd = "cam2 hd";

/// Hits of one pyramid level, in frame coordinates.
struct LevelHits {
  std::vector<cv::Rect> rects;
  std::vector<double> weights;
};

}  // namespace

struct HumanDetection::Impl {
  explicit Impl(const HdParams& p) : params(p) {
    hog.setSVMDetector(cv::HOGDescriptor::getDefaultPeopleDetector());
    hog.nlevels = p.max_levels;
  }
  HdParams params;
  cv::HOGDescriptor hog;  // detect() is const and safe to call from several threads
};

HumanDetection::HumanDetection(HdParams params) {
  RIDE_EXPECTS(std::isfinite(params.hit_threshold),
               kHd << ": hit_threshold must be finite, got " << params.hit_threshold);
  RIDE_EXPECTS(params.win_stride >= 1,
               kHd << ": win_stride must be >= 1, got " << params.win_stride);
  RIDE_EXPECTS(params.padding >= 0, kHd << ": padding must be >= 0, got " << params.padding);
  RIDE_EXPECTS(params.scale > 1 && std::isfinite(params.scale),
               kHd << ": scale must be > 1, got " << params.scale);
  RIDE_EXPECTS(params.group_threshold >= 0,
               kHd << ": group_threshold must be >= 0, got " << params.group_threshold);
  RIDE_EXPECTS(params.max_levels >= 1,
               kHd << ": max_levels must be >= 1, got " << params.max_levels);
  RIDE_EXPECTS(params.threads >= 1, kHd << ": threads must be >= 1, got " << params.threads);
  impl_ = std::make_unique<Impl>(params);
}
HumanDetection::~HumanDetection() = default;
HumanDetection::HumanDetection(HumanDetection&&) noexcept = default;
HumanDetection& HumanDetection::operator=(HumanDetection&&) noexcept = default;

HdResult HumanDetection::process(const std::uint8_t* data, int width, int height, int channels,
                                 std::ptrdiff_t stride_bytes) const {
  return process(detail::wrap_frame(kHd, data, width, height, channels, stride_bytes));
}

HdResult HumanDetection::process(const cv::Mat& frame) const {
  const cv::Mat img = detail::wrap_frame(kHd, frame);
  HdResult r;
  if (img.empty()) return r;
  const HdParams& p = impl_->params;
  const cv::HOGDescriptor& hog = impl_->hog;
  const cv::Size win = hog.winSize;

  // Pyramid scales exactly as detectMultiScale computes them: a level is kept while the frame
  // scaled by it still holds one window (level 0 always).
  std::vector<double> scales;
  double scale = 1.0;
  int levels = 0;
  for (; levels < p.max_levels; ++levels) {
    scales.push_back(scale);
    if (cvRound(img.cols / scale) < win.width || cvRound(img.rows / scale) < win.height) break;
    scale *= p.scale;
  }
  scales.resize(static_cast<std::size_t>(std::max(levels, 1)));

  // detect() aligns the padding up to the cache stride; a level smaller than the window after
  // padding has no window (detect() is not meant for it), so it is skipped.
  const cv::Size stride(p.win_stride, p.win_stride);
  const int cache_stride = std::gcd(p.win_stride, hog.blockStride.width);
  const int pad =
      static_cast<int>(cv::alignSize(static_cast<std::size_t>(p.padding), cache_stride));
  const cv::Size padding(p.padding, p.padding);

  const int n = static_cast<int>(scales.size());
  std::vector<LevelHits> hits(static_cast<std::size_t>(n));
  std::atomic<int> next_level{0};
  // Level i costs ~scale^-2i: handing levels out largest first balances the threads.
  detail::fork_join(std::min(p.threads, n), [&](int) {
    cv::Mat smaller;
    std::vector<cv::Point> locations;
    std::vector<double> weights;
    for (int i = next_level++; i < n; i = next_level++) {
      const double s = scales[static_cast<std::size_t>(i)];
      const cv::Size sz(cvRound(img.cols / s), cvRound(img.rows / s));
      if (sz.width + 2 * pad < win.width || sz.height + 2 * pad < win.height) continue;
      cv::Mat level = img;
      if (sz != img.size()) {
        cv::resize(img, smaller, sz, 0, 0, cv::INTER_LINEAR_EXACT);
        level = smaller;
      }
      hog.detect(level, locations, weights, p.hit_threshold, stride, padding);
      const cv::Size scaled_win(cvRound(win.width * s), cvRound(win.height * s));
      LevelHits& out = hits[static_cast<std::size_t>(i)];
      for (std::size_t j = 0; j < locations.size(); ++j) {
        out.rects.emplace_back(cvRound(locations[j].x * s), cvRound(locations[j].y * s),
                               scaled_win.width, scaled_win.height);
        out.weights.push_back(weights[j]);
      }
    }
  });

  std::vector<cv::Rect> rects;
  std::vector<double> weights;
  for (const auto& h : hits) {
    rects.insert(rects.end(), h.rects.begin(), h.rects.end());
    weights.insert(weights.end(), h.weights.begin(), h.weights.end());
  }
  hog.groupRectangles(rects, weights, p.group_threshold, 0.2);
  const cv::Rect frame_rect(0, 0, img.cols, img.rows);
  for (std::size_t i = 0; i < rects.size(); ++i) {
    const cv::Rect b = rects[i] & frame_rect;
    if (b.area() > 0) r.boxes.push_back({b.x, b.y, b.width, b.height, weights[i]});
  }
  std::sort(r.boxes.begin(), r.boxes.end(), [](const Box& a, const Box& b) {
    if (a.y != b.y) return a.y < b.y;
    if (a.x != b.x) return a.x < b.x;
    if (a.w != b.w) return a.w < b.w;
    return a.h < b.h;
  });
  r.people = static_cast<int>(r.boxes.size());
  return r;
}

const HdParams& HumanDetection::params() const { return impl_->params; }

ProgramInfo HumanDetection::info() {
  return {"hd", HdResult::kScalarNames, false, true, false, false};
}

}  // namespace ride::kernels::cam2

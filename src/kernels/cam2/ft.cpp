/// FT: feature tracking (CAM² Table 4): Shi-Tomasi features tracked by pyramidal Lucas-Kanade
/// with back-tracking verification. See cam2.h for the definition.
///
/// Unlike the straightforward OpenCV pipeline (calcOpticalFlowPyrLK on images, which builds both
/// pyramids on every call), each frame's pyramid is built once and reused: as the "next" image
/// of the forward pass, the "previous" image of the backward pass, and the previous frame's
/// pyramid on the next call.
#include <algorithm>
#include <cmath>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/video/tracking.hpp>
#include <vector>

#include "core/error.h"
#include "kernels/cam2/cam2.h"
#include "kernels/cam2/cam2_detail.h"

namespace ride::kernels::cam2 {
namespace {

constexpr std::string_view kFt = "cam2 ft";
// Below this many points per thread, starting a thread costs more than tracking them.
constexpr int kMinPointsPerThread = 64;

}  // namespace

struct FeatureTracking::Impl {
  explicit Impl(const FtParams& p) : params(p) {}
  FtParams params;
  cv::Size size;
  int type = -1;
  cv::Mat gray_buffer;  ///< owns its memory (never a view of a caller's frame)
  std::vector<cv::Mat> prev_pyramid, pyramid;
  int prev_levels = 0;
  std::vector<cv::Point2f> features;  ///< features of the previous frame
  int frames_since_detection = 0;
  int count_after_detection = 0;

  void reset() {
    size = {};
    type = -1;
    prev_pyramid.clear();
    pyramid.clear();
    prev_levels = 0;
    features.clear();
    frames_since_detection = 0;
    count_after_detection = 0;
  }
};

FeatureTracking::FeatureTracking(FtParams params) {
  RIDE_EXPECTS(params.max_features >= 1,
               kFt << ": max_features must be >= 1, got " << params.max_features);
  RIDE_EXPECTS(params.quality_level > 0 && params.quality_level < 1,
               kFt << ": quality_level must be in (0, 1), got " << params.quality_level);
  RIDE_EXPECTS(params.min_distance >= 0,
               kFt << ": min_distance must be >= 0, got " << params.min_distance);
  RIDE_EXPECTS(params.block_size >= 1,
               kFt << ": block_size must be >= 1, got " << params.block_size);
  RIDE_EXPECTS(params.lk_window >= 3, kFt << ": lk_window must be >= 3, got " << params.lk_window);
  RIDE_EXPECTS(params.lk_max_level >= 0,
               kFt << ": lk_max_level must be >= 0, got " << params.lk_max_level);
  RIDE_EXPECTS(params.fb_threshold > 0,
               kFt << ": fb_threshold must be > 0, got " << params.fb_threshold);
  RIDE_EXPECTS(params.moving_speed >= 0,
               kFt << ": moving_speed must be >= 0, got " << params.moving_speed);
  RIDE_EXPECTS(params.redetect_interval >= 0,
               kFt << ": redetect_interval must be >= 0, got " << params.redetect_interval);
  RIDE_EXPECTS(params.redetect_fraction >= 0 && params.redetect_fraction <= 1,
               kFt << ": redetect_fraction must be in [0, 1], got " << params.redetect_fraction);
  RIDE_EXPECTS(params.threads >= 1, kFt << ": threads must be >= 1, got " << params.threads);
  impl_ = std::make_unique<Impl>(params);
}
FeatureTracking::~FeatureTracking() = default;
FeatureTracking::FeatureTracking(FeatureTracking&&) noexcept = default;
FeatureTracking& FeatureTracking::operator=(FeatureTracking&&) noexcept = default;

FtResult FeatureTracking::process(const std::uint8_t* data, int width, int height, int channels,
                                  std::ptrdiff_t stride_bytes) {
  return process(detail::wrap_frame(kFt, data, width, height, channels, stride_bytes));
}

FtResult FeatureTracking::process(const cv::Mat& frame) {
  const cv::Mat f = detail::wrap_frame(kFt, frame);
  FtResult r;
  if (f.empty()) return r;
  Impl& s = *impl_;
  const FtParams& p = s.params;
  if (f.size() != s.size || f.type() != s.type) {
    s.reset();
    s.size = f.size();
    s.type = f.type();
  }

  cv::Mat gray = f;  // a gray frame is used in place: the pyramid copies it
  if (f.channels() == 3) {
    cv::cvtColor(f, s.gray_buffer, cv::COLOR_BGR2GRAY);
    gray = s.gray_buffer;
  }
  const cv::Size window(p.lk_window, p.lk_window);
  const int levels = cv::buildOpticalFlowPyramid(gray, s.pyramid, window, p.lk_max_level,
                                                 /*withDerivatives=*/true, cv::BORDER_REFLECT_101,
                                                 cv::BORDER_CONSTANT,
                                                 /*tryReuseInputImage=*/false);

  // Track the previous frame's features forward, then back (verification).
  std::vector<cv::Point2f> kept;
  if (!s.features.empty()) {
    const int n = static_cast<int>(s.features.size());
    const int max_level = std::min(levels, s.prev_levels);
    const int chunks = std::clamp(n / kMinPointsPerThread, 1, p.threads);
    std::vector<cv::Point2f> next(s.features.size()), back(s.features.size());
    std::vector<unsigned char> ok(s.features.size());
    const cv::TermCriteria criteria(cv::TermCriteria::COUNT | cv::TermCriteria::EPS, 30, 0.01);
    detail::fork_join(chunks, [&](int c) {
      const int begin = static_cast<int>(std::int64_t{n} * c / chunks);
      const int end = static_cast<int>(std::int64_t{n} * (c + 1) / chunks);
      const std::vector<cv::Point2f> from(s.features.begin() + begin, s.features.begin() + end);
      std::vector<cv::Point2f> to, from_back;
      std::vector<unsigned char> status_fwd, status_bwd;
      std::vector<float> err;
      cv::calcOpticalFlowPyrLK(s.prev_pyramid, s.pyramid, from, to, status_fwd, err, window,
                               max_level, criteria);
      cv::calcOpticalFlowPyrLK(s.pyramid, s.prev_pyramid, to, from_back, status_bwd, err, window,
                               max_level, criteria);
      for (int i = 0; i < end - begin; ++i) {
        const auto k = static_cast<std::size_t>(begin + i);
        const auto j = static_cast<std::size_t>(i);
        next[k] = to[j];
        back[k] = from_back[j];
        ok[k] = status_fwd[j] && status_bwd[j];
      }
    });
    const cv::Rect2f inside(0, 0, static_cast<float>(f.cols), static_cast<float>(f.rows));
    std::vector<double> moving_speeds;
    for (std::size_t k = 0; k < s.features.size(); ++k) {
      const cv::Point2f fb = s.features[k] - back[k];
      const bool verified =
          ok[k] && std::hypot(fb.x, fb.y) < p.fb_threshold && inside.contains(next[k]);
      if (!verified) {
        ++r.rejected;
        continue;
      }
      const cv::Point2f d = next[k] - s.features[k];
      const double speed = std::hypot(d.x, d.y);
      if (speed >= p.moving_speed) moving_speeds.push_back(speed);
      kept.push_back(next[k]);
      r.points.push_back({next[k].x, next[k].y, d.x, d.y});
    }
    r.tracked = static_cast<int>(kept.size());
    r.moving = static_cast<int>(moving_speeds.size());
    if (!moving_speeds.empty()) {
      double sum = 0;
      for (double v : moving_speeds) sum += v;
      r.mean_speed = sum / static_cast<double>(moving_speeds.size());
      const std::size_t mid = moving_speeds.size() / 2;
      std::nth_element(moving_speeds.begin(), moving_speeds.begin() + static_cast<long>(mid),
                       moving_speeds.end());
      r.median_speed = moving_speeds[mid];
      if (moving_speeds.size() % 2 == 0) {
        const double below = *std::max_element(moving_speeds.begin(),
                                               moving_speeds.begin() + static_cast<long>(mid));
        r.median_speed = 0.5 * (r.median_speed + below);
      }
    }
  }

  // Re-detect when the stream has no features, on the interval, or when too few survived.
  ++s.frames_since_detection;
  const bool redetect =
      kept.empty() ||
      (p.redetect_interval > 0 && s.frames_since_detection >= p.redetect_interval) ||
      static_cast<double>(kept.size()) < p.redetect_fraction * s.count_after_detection;
  const int room = p.max_features - static_cast<int>(kept.size());
  if (redetect && room > 0) {
    cv::Mat mask;
    if (!kept.empty() && p.min_distance > 0) {
      mask = cv::Mat(gray.size(), CV_8UC1, cv::Scalar(255));
      const int radius = static_cast<int>(std::ceil(p.min_distance));
      for (const auto& pt : kept) {
        cv::circle(mask, cv::Point(cvRound(pt.x), cvRound(pt.y)), radius, cv::Scalar(0),
                   cv::FILLED);
      }
    }
    std::vector<cv::Point2f> found;
    cv::goodFeaturesToTrack(gray, found, room, p.quality_level, p.min_distance, mask, p.block_size,
                            /*useHarrisDetector=*/false);
    kept.insert(kept.end(), found.begin(), found.end());
    s.frames_since_detection = 0;
    s.count_after_detection = static_cast<int>(kept.size());
  }
  r.features = static_cast<int>(kept.size());

  s.features = std::move(kept);
  std::swap(s.prev_pyramid, s.pyramid);
  s.prev_levels = levels;
  return r;
}

void FeatureTracking::reset() { impl_->reset(); }
const FtParams& FeatureTracking::params() const { return impl_->params; }

ProgramInfo FeatureTracking::info() {
  return {"ft", FtResult::kScalarNames, true, false, true, false};
}

}  // namespace ride::kernels::cam2

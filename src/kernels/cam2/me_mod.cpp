/// ME (motion estimation) and MOD (moving-object detection): CAM² Table 4 over a banded MOG2
/// background model. See cam2.h for the definitions.
#include <algorithm>
#include <cstring>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <vector>

#include "core/error.h"
#include "kernels/cam2/cam2.h"
#include "kernels/cam2/cam2_detail.h"

namespace ride::kernels::cam2 {
namespace {

constexpr std::string_view kMe = "cam2 me";
constexpr std::string_view kMod = "cam2 mod";

detail::Mog2Params mog2_of(const MeParams& p) {
  return {p.history, p.var_threshold, p.detect_shadows, p.learning_rate, p.threads};
}

detail::Mog2Params mog2_of(const ModParams& p) {
  return {p.history, p.var_threshold, p.detect_shadows, p.learning_rate, p.threads};
}

cv::Mat ellipse_kernel(int side) {
  return side > 0 ? cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(side, side)) : cv::Mat();
}

}  // namespace

// ---------------------------------------------------------------------------------------- ME

struct MotionEstimation::Impl {
  explicit Impl(const MeParams& p) : params(p), model(mog2_of(p)) {}
  MeParams params;
  detail::BandedMog2 model;
  cv::Mat mask;
};

MotionEstimation::MotionEstimation(MeParams params) {
  detail::validate_mog2(kMe, mog2_of(params));
  impl_ = std::make_unique<Impl>(params);
}
MotionEstimation::~MotionEstimation() = default;
MotionEstimation::MotionEstimation(MotionEstimation&&) noexcept = default;
MotionEstimation& MotionEstimation::operator=(MotionEstimation&&) noexcept = default;

MeResult MotionEstimation::process(const std::uint8_t* data, int width, int height, int channels,
                                   std::ptrdiff_t stride_bytes) {
  return process(detail::wrap_frame(kMe, data, width, height, channels, stride_bytes));
}

MeResult MotionEstimation::process(const cv::Mat& frame) {
  const cv::Mat f = detail::wrap_frame(kMe, frame);
  MeResult r;
  if (f.empty()) return r;
  const detail::MaskCounts counts = impl_->model.apply(f, impl_->mask);
  const double pixels = static_cast<double>(f.total());
  r.foreground_pct = 100.0 * static_cast<double>(counts.foreground) / pixels;
  r.shadow_pct = 100.0 * static_cast<double>(counts.shadow) / pixels;
  if (impl_->params.output_mask) {
    r.mask.resize(f.total());
    for (int y = 0; y < f.rows; ++y) {
      std::memcpy(r.mask.data() + static_cast<std::size_t>(y) * static_cast<std::size_t>(f.cols),
                  impl_->mask.ptr<std::uint8_t>(y), static_cast<std::size_t>(f.cols));
    }
  }
  return r;
}

void MotionEstimation::reset() { impl_->model.reset(); }
const MeParams& MotionEstimation::params() const { return impl_->params; }

ProgramInfo MotionEstimation::info() {
  return {"me", MeResult::kScalarNames, true, false, false, true};
}

// --------------------------------------------------------------------------------------- MOD

struct MovingObjectDetection::Impl {
  explicit Impl(const ModParams& p)
      : params(p),
        model(mog2_of(p)),
        open_kernel(ellipse_kernel(p.open_kernel)),
        close_kernel(ellipse_kernel(p.close_kernel)) {}
  ModParams params;
  detail::BandedMog2 model;
  cv::Mat open_kernel, close_kernel;
  cv::Mat mask, binary;
  std::vector<std::vector<cv::Point>> contours;
};

MovingObjectDetection::MovingObjectDetection(ModParams params) {
  detail::validate_mog2(kMod, mog2_of(params));
  RIDE_EXPECTS(params.open_kernel == 0 || (params.open_kernel > 0 && params.open_kernel % 2 == 1),
               kMod << ": open_kernel must be 0 (off) or odd and > 0, got " << params.open_kernel);
  RIDE_EXPECTS(
      params.close_kernel == 0 || (params.close_kernel > 0 && params.close_kernel % 2 == 1),
      kMod << ": close_kernel must be 0 (off) or odd and > 0, got " << params.close_kernel);
  RIDE_EXPECTS(params.min_area >= 0, kMod << ": min_area must be >= 0, got " << params.min_area);
  impl_ = std::make_unique<Impl>(params);
}
MovingObjectDetection::~MovingObjectDetection() = default;
MovingObjectDetection::MovingObjectDetection(MovingObjectDetection&&) noexcept = default;
MovingObjectDetection& MovingObjectDetection::operator=(MovingObjectDetection&&) noexcept = default;

ModResult MovingObjectDetection::process(const std::uint8_t* data, int width, int height,
                                         int channels, std::ptrdiff_t stride_bytes) {
  return process(detail::wrap_frame(kMod, data, width, height, channels, stride_bytes));
}

ModResult MovingObjectDetection::process(const cv::Mat& frame) {
  const cv::Mat f = detail::wrap_frame(kMod, frame);
  ModResult r;
  if (f.empty()) return r;
  Impl& s = *impl_;
  s.model.apply(f, s.mask);
  // Foreground only: shadows (127) and background (0) become 0.
  cv::threshold(s.mask, s.binary, 254, 255, cv::THRESH_BINARY);
  if (!s.open_kernel.empty()) cv::morphologyEx(s.binary, s.binary, cv::MORPH_OPEN, s.open_kernel);
  if (!s.close_kernel.empty()) {
    cv::morphologyEx(s.binary, s.binary, cv::MORPH_CLOSE, s.close_kernel);
  }
  s.contours.clear();
  cv::findContours(s.binary, s.contours, cv::RETR_EXTERNAL, cv::CHAIN_APPROX_SIMPLE);
  for (const auto& contour : s.contours) {
    const double area = cv::contourArea(contour);
    if (area < s.params.min_area) continue;
    const cv::Rect b = cv::boundingRect(contour);
    r.boxes.push_back({b.x, b.y, b.width, b.height, area});
  }
  std::sort(r.boxes.begin(), r.boxes.end(), [](const Box& a, const Box& b) {
    if (a.score != b.score) return a.score > b.score;
    if (a.y != b.y) return a.y < b.y;
    return a.x < b.x;
  });
  r.objects = static_cast<int>(r.boxes.size());
  return r;
}

void MovingObjectDetection::reset() { impl_->model.reset(); }
const ModParams& MovingObjectDetection::params() const { return impl_->params; }

ProgramInfo MovingObjectDetection::info() {
  return {"mod", ModResult::kScalarNames, true, true, false, false};
}

}  // namespace ride::kernels::cam2

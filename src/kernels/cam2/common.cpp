/// Frame validation, the banded MOG2 model shared by ME and MOD, and the OpenCV thread knob.
#include <algorithm>
#include <cstdint>
#include <opencv2/core.hpp>
#include <opencv2/video/background_segm.hpp>

#include "core/error.h"
#include "kernels/cam2/cam2.h"
#include "kernels/cam2/cam2_detail.h"

namespace ride::kernels::cam2 {

void set_opencv_threads(int threads) {
  RIDE_EXPECTS(threads >= 1, "cam2: OpenCV thread count must be >= 1, got " << threads);
  cv::setNumThreads(threads);
}

namespace detail {

cv::Mat wrap_frame(std::string_view program, const std::uint8_t* data, int width, int height,
                   int channels, std::ptrdiff_t stride_bytes) {
  RIDE_EXPECTS(channels == 1 || channels == 3,
               program << ": frame must have 1 (gray) or 3 (BGR) channels, got " << channels);
  RIDE_EXPECTS(width >= 0 && height >= 0,
               program << ": frame size must be >= 0, got " << width << "x" << height);
  if (width == 0 || height == 0) return {};
  RIDE_EXPECTS(data != nullptr,
               program << ": frame data is null for a " << width << "x" << height << " frame");
  const std::ptrdiff_t row_bytes = std::ptrdiff_t{width} * channels;
  RIDE_EXPECTS(stride_bytes >= row_bytes, program << ": stride " << stride_bytes
                                                  << " bytes < width * channels = " << row_bytes);
  // cv::Mat has no const-data constructor; the programs never write through this header.
  return cv::Mat(height, width, CV_8UC(channels), const_cast<std::uint8_t*>(data),
                 static_cast<std::size_t>(stride_bytes));
}

cv::Mat wrap_frame(std::string_view program, const cv::Mat& frame) {
  if (frame.empty()) return {};
  RIDE_EXPECTS(frame.dims == 2, program << ": frame must be 2-D, got " << frame.dims << " dims");
  RIDE_EXPECTS(frame.type() == CV_8UC1 || frame.type() == CV_8UC3,
               program << ": frame must be CV_8UC1 or CV_8UC3, got depth " << frame.depth()
                       << " with " << frame.channels() << " channels");
  return frame;
}

void validate_mog2(std::string_view program, const Mog2Params& p) {
  RIDE_EXPECTS(p.history > 0, program << ": history must be > 0, got " << p.history);
  RIDE_EXPECTS(p.var_threshold > 0,
               program << ": var_threshold must be > 0, got " << p.var_threshold);
  RIDE_EXPECTS(
      p.learning_rate <= 1,
      program << ": learning_rate must be <= 1 (or < 0 for automatic), got " << p.learning_rate);
  RIDE_EXPECTS(p.threads >= 1, program << ": threads must be >= 1, got " << p.threads);
}

MaskCounts BandedMog2::apply(const cv::Mat& frame, cv::Mat& mask) {
  if (frame.size() != size_ || frame.type() != type_) reset();
  if (models_.empty()) {
    const int bands = std::clamp(params_.threads, 1, frame.rows);
    band_start_.resize(static_cast<std::size_t>(bands) + 1);
    for (int b = 0; b <= bands; ++b) {
      band_start_[static_cast<std::size_t>(b)] =
          static_cast<int>(std::int64_t{frame.rows} * b / bands);
    }
    for (int b = 0; b < bands; ++b) {
      models_.push_back(cv::createBackgroundSubtractorMOG2(params_.history, params_.var_threshold,
                                                           params_.detect_shadows));
    }
    size_ = frame.size();
    type_ = frame.type();
  }
  mask.create(frame.size(), CV_8UC1);
  const int bands = static_cast<int>(models_.size());
  std::vector<MaskCounts> counts(static_cast<std::size_t>(bands));
  fork_join(bands, [&](int b) {
    const auto i = static_cast<std::size_t>(b);
    const cv::Range rows(band_start_[i], band_start_[i + 1]);
    // A row range of `mask` has the right size and type, so apply() writes into it in place.
    cv::Mat band_mask = mask.rowRange(rows);
    models_[i]->apply(frame.rowRange(rows), band_mask, params_.learning_rate);
    MaskCounts c;
    for (int y = 0; y < band_mask.rows; ++y) {
      const std::uint8_t* m = band_mask.ptr<std::uint8_t>(y);
      std::size_t fg = 0, sh = 0;
      for (int x = 0; x < band_mask.cols; ++x) {
        fg += m[x] == 255;
        sh += m[x] == 127;
      }
      c.foreground += fg;
      c.shadow += sh;
    }
    counts[i] = c;
  });
  MaskCounts total;
  for (const auto& c : counts) {
    total.foreground += c.foreground;
    total.shadow += c.shadow;
  }
  return total;
}

void BandedMog2::reset() {
  models_.clear();
  band_start_.clear();
  size_ = {};
  type_ = -1;
}

}  // namespace detail
}  // namespace ride::kernels::cam2

#pragma once
/// @brief Internals shared by the CAM² programs: frame validation, a fork-join helper and the
/// banded MOG2 background model (ME, MOD). Not part of the public API.
#include <cstddef>
#include <cstdint>
#include <opencv2/core.hpp>
#include <opencv2/video/background_segm.hpp>
#include <string_view>
#include <vector>

#include "kernels/common/parallel_bands.h"

namespace ride::kernels::cam2::detail {

/// @brief Checks a frame against the contract in cam2.h and wraps it in a read-only cv::Mat
/// header (no copy; an empty Mat for an empty frame). `program` names the caller in errors.
cv::Mat wrap_frame(std::string_view program, const std::uint8_t* data, int width, int height,
                   int channels, std::ptrdiff_t stride_bytes);

/// @brief Same for a cv::Mat: type CV_8UC1 or CV_8UC3, 2-D.
cv::Mat wrap_frame(std::string_view program, const cv::Mat& frame);

/// @brief Runs body(i) for i in [0, n): i = 0 on the calling thread, the others each on its
/// own std::jthread, joined before returning; the first exception is rethrown after all are
/// joined (kernels/common/parallel_bands.h).
using ::ride::kernels::fork_join;

/// @brief Parameters of the MOG2 model shared by ME and MOD.
struct Mog2Params {
  int history = 500;
  double var_threshold = 16;
  bool detect_shadows = true;
  double learning_rate = -1;
  int threads = 1;
};

/// @brief Throws ride::Error unless the MOG2 parameters are valid.
void validate_mog2(std::string_view program, const Mog2Params& p);

/// @brief Counts of mask values (for ME's percentages).
struct MaskCounts {
  std::size_t foreground = 0;  ///< pixels at 255
  std::size_t shadow = 0;      ///< pixels at 127
};

/// @brief MOG2 over horizontal bands: band b of n = min(threads, height) holds rows
/// [b * height / n, (b + 1) * height / n) and its own cv::BackgroundSubtractorMOG2. MOG2
/// models each pixel independently, so the mask equals that of one model over the whole frame.
/// The models are (re)created on the first frame and whenever the frame size or channel count
/// changes.
class BandedMog2 {
 public:
  explicit BandedMog2(const Mog2Params& params) : params_(params) {}
  /// @brief Updates the model with frame (non-empty CV_8UC1/3) and writes the mask (CV_8UC1,
  /// frame size; reallocated if needed). Returns the counts of 255 and 127 in the mask.
  MaskCounts apply(const cv::Mat& frame, cv::Mat& mask);
  void reset();
  const Mog2Params& params() const { return params_; }

 private:
  Mog2Params params_;
  std::vector<cv::Ptr<cv::BackgroundSubtractorMOG2>> models_;
  std::vector<int> band_start_;  ///< n + 1 row boundaries
  cv::Size size_;
  int type_ = -1;
};

}  // namespace ride::kernels::cam2::detail

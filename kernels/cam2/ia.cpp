/// IA: image archival (CAM² Table 4): a packed copy of the frame, its checksum and optionally
/// its JPEG encoding. See cam2.h for the definition.
#include <cstring>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <vector>

#include "core/checksum.h"
#include "core/error.h"
#include "kernels/cam2/cam2.h"
#include "kernels/cam2/cam2_detail.h"

namespace ride::kernels::cam2 {
namespace {

constexpr std::string_view kIa = "cam2 ia";

IaResult archive(const IaParams& params, const cv::Mat& frame, int width, int height,
                 int channels) {
  IaResult r;
  r.width = width;
  r.height = height;
  r.channels = channels;
  if (frame.empty()) {
    r.checksum = ride::checksum64(nullptr, 0);
    return r;
  }
  const std::size_t row_bytes = static_cast<std::size_t>(width) * channels;
  r.bytes = row_bytes * static_cast<std::size_t>(height);
  if (frame.isContinuous()) {
    r.checksum = ride::checksum64(frame.data, r.bytes);
    if (params.keep_pixels) r.pixels.assign(frame.data, frame.data + r.bytes);
  } else {
    std::vector<std::uint8_t> packed(r.bytes);
    for (int y = 0; y < height; ++y) {
      std::memcpy(packed.data() + static_cast<std::size_t>(y) * row_bytes,
                  frame.ptr<std::uint8_t>(y), row_bytes);
    }
    r.checksum = ride::checksum64(packed.data(), packed.size());
    if (params.keep_pixels) r.pixels = std::move(packed);
  }
  if (params.jpeg_quality > 0) {
    const std::vector<int> options{cv::IMWRITE_JPEG_QUALITY, params.jpeg_quality};
    RIDE_EXPECTS(cv::imencode(".jpg", frame, r.jpeg, options), kIa << ": JPEG encoding of a "
                                                                   << width << "x" << height << "x"
                                                                   << channels << " frame failed");
    r.compressed_bytes = r.jpeg.size();
  }
  return r;
}

}  // namespace

ImageArchival::ImageArchival(IaParams params) : params_(params) {
  RIDE_EXPECTS(params_.jpeg_quality >= 0 && params_.jpeg_quality <= 100,
               kIa << ": jpeg_quality must be 0 (off) or 1..100, got " << params_.jpeg_quality);
  RIDE_EXPECTS(params_.threads >= 1, kIa << ": threads must be >= 1, got " << params_.threads);
}

IaResult ImageArchival::process(const std::uint8_t* data, int width, int height, int channels,
                                std::ptrdiff_t stride_bytes) const {
  const cv::Mat frame = detail::wrap_frame(kIa, data, width, height, channels, stride_bytes);
  return archive(params_, frame, width, height, channels);
}

IaResult ImageArchival::process(const cv::Mat& frame) const {
  const cv::Mat f = detail::wrap_frame(kIa, frame);
  return archive(params_, f, frame.cols, frame.rows, f.empty() ? frame.channels() : f.channels());
}

ProgramInfo ImageArchival::info() {
  return {"ia", IaResult::kScalarNames, false, false, false, true};
}

}  // namespace ride::kernels::cam2

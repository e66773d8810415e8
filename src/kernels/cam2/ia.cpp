/// IA: image archival (CAM² Table 4): a packed copy of the frame, its checksum and optionally
/// its JPEG encoding. See cam2.h for the definition.
#include <csetjmp>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include <jpeglib.h>

#include "core/checksum.h"
#include "core/error.h"
#include "kernels/cam2/cam2.h"
#include "kernels/cam2/cam2_detail.h"

namespace ride::kernels::cam2 {
namespace {

constexpr std::string_view kIa = "cam2 ia";

/// libjpeg's error manager, made to return instead of exit(): error_exit longjmps back.
struct JpegError {
  jpeg_error_mgr mgr{};
  std::jmp_buf jump{};
  char message[JMSG_LENGTH_MAX] = {};
};

void jpeg_error_exit(j_common_ptr cinfo) {
  auto* err = reinterpret_cast<JpegError*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, err->message);
  std::longjmp(err->jump, 1);
}

/// Baseline JPEG of an 8-bit gray or BGR frame at `quality`, with libjpeg (the same library
/// OpenCV's imgcodecs wraps, called directly so that ride does not load imgcodecs and the ~140
/// libraries it brings in). Returns false with `error` set when libjpeg reports one.
bool encode_jpeg(const cv::Mat& frame, int quality, std::vector<std::uint8_t>& out, std::string& error) {
  jpeg_compress_struct cinfo{};
  JpegError err;
  cinfo.err = jpeg_std_error(&err.mgr);
  err.mgr.error_exit = jpeg_error_exit;
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
  // Nothing with a destructor lives between setjmp and the libjpeg calls that may longjmp.
  if (setjmp(err.jump) != 0) {
    jpeg_destroy_compress(&cinfo);
    std::free(buffer);
    error = err.message;
    return false;
  }
  jpeg_create_compress(&cinfo);
  jpeg_mem_dest(&cinfo, &buffer, &size);
  cinfo.image_width = static_cast<JDIMENSION>(frame.cols);
  cinfo.image_height = static_cast<JDIMENSION>(frame.rows);
  cinfo.input_components = frame.channels();
  cinfo.in_color_space = frame.channels() == 1 ? JCS_GRAYSCALE : JCS_EXT_BGR;
  jpeg_set_defaults(&cinfo);
  jpeg_set_quality(&cinfo, quality, TRUE);
  jpeg_start_compress(&cinfo, TRUE);
  while (cinfo.next_scanline < cinfo.image_height) {
    JSAMPROW row = const_cast<JSAMPROW>(frame.ptr<std::uint8_t>(static_cast<int>(cinfo.next_scanline)));
    jpeg_write_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_compress(&cinfo);
  out.assign(buffer, buffer + size);
  jpeg_destroy_compress(&cinfo);
  std::free(buffer);
  return true;
}

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
    std::string error;
    RIDE_EXPECTS(encode_jpeg(frame, params.jpeg_quality, r.jpeg, error),
                 kIa << ": JPEG encoding of a " << width << "x" << height << "x" << channels
                     << " frame failed: " << error);
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

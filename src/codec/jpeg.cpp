#include "codec/jpeg.h"

#include <jpeglib.h>

#include <csetjmp>
#include <cstdio>
#include <cstdlib>

#include "core/error.h"

namespace ride::codec {
namespace {

struct JpegError {
  jpeg_error_mgr mgr;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

void error_exit(j_common_ptr cinfo) {
  auto* e = reinterpret_cast<JpegError*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, e->message);
  std::longjmp(e->jump, 1);
}

/// libjpeg's messages are not printed; its warnings (truncated or damaged data) are counted.
void quiet(j_common_ptr cinfo, int level) {
  if (level < 0) ++cinfo->err->num_warnings;
}

void install(jpeg_decompress_struct& cinfo, JpegError& err) {
  cinfo.err = jpeg_std_error(&err.mgr);
  err.mgr.error_exit = error_exit;
  err.mgr.emit_message = quiet;
}

}  // namespace

bool jpeg_info(std::span<const std::uint8_t> jpeg, JpegInfo& info, std::string& error) {
  if (jpeg.size() < 4 || jpeg[0] != 0xFF || jpeg[1] != 0xD8) {
    error = "not a JPEG (no start-of-image marker)";
    return false;
  }
  jpeg_decompress_struct cinfo{};
  JpegError err{};
  install(cinfo, err);
  if (setjmp(err.jump)) {
    error = std::string("corrupt JPEG header: ") + err.message;
    jpeg_destroy_decompress(&cinfo);
    return false;
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, jpeg.data(), static_cast<unsigned long>(jpeg.size()));
  jpeg_read_header(&cinfo, TRUE);
  info.width = static_cast<int>(cinfo.image_width);
  info.height = static_cast<int>(cinfo.image_height);
  info.components = cinfo.num_components;
  jpeg_destroy_decompress(&cinfo);
  if (info.width <= 0 || info.height <= 0) {
    error = "JPEG header with no image size";
    return false;
  }
  return true;
}

bool jpeg_looks_whole(std::span<const std::uint8_t> jpeg, JpegInfo& info, std::string& error) {
  if (!jpeg_info(jpeg, info, error)) return false;
  std::size_t end = jpeg.size();
  // Some cameras pad the body after EOI (a CRLF, zero bytes): tolerate a little trailing junk.
  for (std::size_t k = 0; k < 16 && end >= 2; ++k, --end) {
    if (jpeg[end - 2] == 0xFF && jpeg[end - 1] == 0xD9) return true;
  }
  error = "corrupt JPEG (truncated: no end-of-image marker)";
  return false;
}

bool jpeg_decode(std::span<const std::uint8_t> jpeg, int channels, std::byte* out, std::size_t out_bytes,
                 JpegInfo& info, std::string& error) {
  RIDE_EXPECTS(channels == 1 || channels == 3, "JPEG decodes to 1 or 3 channels, not " << channels);
  jpeg_decompress_struct cinfo{};
  JpegError err{};
  install(cinfo, err);
  if (setjmp(err.jump)) {
    error = std::string("corrupt JPEG: ") + err.message;
    jpeg_destroy_decompress(&cinfo);
    return false;
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, jpeg.data(), static_cast<unsigned long>(jpeg.size()));
  jpeg_read_header(&cinfo, TRUE);
  cinfo.out_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_EXT_BGR;
  jpeg_start_decompress(&cinfo);
  const auto w = static_cast<std::size_t>(cinfo.output_width), h = static_cast<std::size_t>(cinfo.output_height);
  const auto c = static_cast<std::size_t>(cinfo.output_components);
  info.width = static_cast<int>(w);
  info.height = static_cast<int>(h);
  info.components = cinfo.num_components;
  if (w * h * c != out_bytes) {
    error = "JPEG is " + std::to_string(w) + "x" + std::to_string(h) + "x" + std::to_string(c) + ", expected " +
            std::to_string(out_bytes) + " bytes";
    jpeg_destroy_decompress(&cinfo);
    return false;
  }
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW row = reinterpret_cast<JSAMPROW>(out + cinfo.output_scanline * w * c);
    jpeg_read_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_decompress(&cinfo);
  // libjpeg only warns about a truncated image or corrupt data (and fills in gray): a corrupt
  // frame, not one to use.
  const long warnings = err.mgr.num_warnings;
  jpeg_destroy_decompress(&cinfo);
  if (warnings > 0) {
    error = "corrupt JPEG (" + std::to_string(warnings) + " libjpeg warning(s): truncated or damaged data)";
    return false;
  }
  return true;
}

std::vector<std::uint8_t> jpeg_encode(const std::byte* pixels, int width, int height, int channels, int quality) {
  RIDE_EXPECTS(channels == 1 || channels == 3, "JPEG encodes 1 or 3 channels, not " << channels);
  RIDE_EXPECTS(width > 0 && height > 0, "JPEG of " << width << "x" << height);
  jpeg_compress_struct cinfo{};
  JpegError err{};
  cinfo.err = jpeg_std_error(&err.mgr);
  err.mgr.error_exit = error_exit;
  err.mgr.emit_message = quiet;
  unsigned char* mem = nullptr;
  unsigned long size = 0;
  if (setjmp(err.jump)) {
    jpeg_destroy_compress(&cinfo);
    std::free(mem);
    throw Error(std::string("JPEG encoding failed: ") + err.message);
  }
  jpeg_create_compress(&cinfo);
  jpeg_mem_dest(&cinfo, &mem, &size);
  cinfo.image_width = static_cast<JDIMENSION>(width);
  cinfo.image_height = static_cast<JDIMENSION>(height);
  cinfo.input_components = channels;
  cinfo.in_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_EXT_BGR;
  jpeg_set_defaults(&cinfo);
  jpeg_set_quality(&cinfo, quality, TRUE);
  jpeg_start_compress(&cinfo, TRUE);
  const auto stride = static_cast<std::size_t>(width) * static_cast<std::size_t>(channels);
  while (cinfo.next_scanline < cinfo.image_height) {
    auto* row = const_cast<JSAMPROW>(reinterpret_cast<const JSAMPLE*>(pixels + cinfo.next_scanline * stride));
    jpeg_write_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_compress(&cinfo);
  std::vector<std::uint8_t> out(mem, mem + size);
  jpeg_destroy_compress(&cinfo);
  std::free(mem);
  return out;
}

}  // namespace ride::codec

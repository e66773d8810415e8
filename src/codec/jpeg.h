#pragma once
/// @brief JPEG through libjpeg(-turbo): the one decoder the camera hub (ingest) and the worker
/// share, so a frame decoded on either side has the same pixels (and checksum), and the encoder
/// ingest uses when it is asked to compress other sources (`ingest.jpeg_encode`).
///
/// A JPEG is "corrupt" when libjpeg fails on it or only warns (a truncated image or damaged data:
/// libjpeg fills the rest in gray): the frame is refused, never half decoded.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace ride::codec {

struct JpegInfo {
  int width = 0;
  int height = 0;
  int components = 0;  ///< in the file: 1 (gray) or 3 (YCbCr); decoding converts as asked
};

/// Reads the header only (cheap: no entropy decoding). False and `error` when there is no
/// parsable JPEG header.
bool jpeg_info(std::span<const std::uint8_t> jpeg, JpegInfo& info, std::string& error);

/// True when `jpeg` is whole as far as its markers tell: it starts with SOI, its header parses
/// and it ends with EOI (a transfer cut short fails here). Damage inside the compressed data is
/// only found by decoding.
bool jpeg_looks_whole(std::span<const std::uint8_t> jpeg, JpegInfo& info, std::string& error);

/// Decodes `jpeg` to 8-bit gray (`channels` 1) or BGR (`channels` 3) rows, tightly packed, into
/// `out`, which must hold width x height x channels bytes of the size in `expect` (when expect's
/// width > 0, the JPEG must be that size). Returns false with `error` when it does not decode.
bool jpeg_decode(std::span<const std::uint8_t> jpeg, int channels, std::byte* out, std::size_t out_bytes,
                 JpegInfo& info, std::string& error);

/// Encodes 8-bit gray (1 channel) or BGR (3) rows at `quality` (1..100) and returns the JPEG.
std::vector<std::uint8_t> jpeg_encode(const std::byte* pixels, int width, int height, int channels, int quality);

}  // namespace ride::codec

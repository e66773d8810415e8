#pragma once
/// @brief The unit of work: one camera frame and the header that travels with it.
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace ride {

enum class PixelType : std::uint8_t { u8 = 0, u16 = 1, f32 = 2 };

constexpr std::size_t bytes_per_pixel(PixelType t) {
  switch (t) {
    case PixelType::u8: return 1;
    case PixelType::u16: return 2;
    case PixelType::f32: return 4;
  }
  return 0;
}

constexpr std::string_view to_string(PixelType t) {
  switch (t) {
    case PixelType::u8: return "u8";
    case PixelType::u16: return "u16";
    case PixelType::f32: return "f32";
  }
  return "?";
}

/// @brief Fixed-size, trivially copyable header in front of every frame's pixels on the wire
/// and in the broker's log. `channels` pixels of `pixel` type per (x, y), row-major, no padding.
struct FrameHeader {
  std::uint64_t sequence = 0;     ///< per-stream sequence number, 0-based, gap-free
  std::int64_t capture_ns = 0;    ///< capture time, ns since the Unix epoch (system clock)
  std::uint32_t stream = 0;       ///< stream (camera) id, unique within the job
  std::uint32_t width = 0;
  std::uint32_t height = 0;
  std::uint16_t channels = 1;
  PixelType pixel = PixelType::u8;
  std::uint8_t reserved = 0;

  std::size_t payload_bytes() const {
    return std::size_t{width} * height * channels * bytes_per_pixel(pixel);
  }
};
static_assert(sizeof(FrameHeader) == 32);

}  // namespace ride

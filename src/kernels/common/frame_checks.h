#pragma once
/// @brief Argument checks shared by the kernels' validate_*_args functions. Plain C++, no CUDA.
#include <cstddef>
#include <cstdint>

namespace ride::kernels::detail {

/// @brief Whether a u8 frame and a float output overlap in memory: the frame spans from src to
/// the end of its last row ((height - 1) * src_stride_bytes + src_width bytes), the output from
/// dst to the end of its last row ((height - 1) * dst_stride_elems + dst_width floats); true
/// when the two address ranges intersect. Requires height >= 1.
inline bool frame_and_output_overlap(const std::uint8_t* src, int src_width,
                                     std::ptrdiff_t src_stride_bytes, const float* dst,
                                     int dst_width, std::ptrdiff_t dst_stride_elems, int height) {
  const auto src_begin = reinterpret_cast<std::uintptr_t>(src);
  const auto src_end =
      src_begin + static_cast<std::uintptr_t>((height - 1) * src_stride_bytes + src_width);
  const auto dst_begin = reinterpret_cast<std::uintptr_t>(dst);
  const auto dst_end = dst_begin + sizeof(float) * static_cast<std::uintptr_t>(
                                                       (height - 1) * dst_stride_elems + dst_width);
  return !(src_end <= dst_begin || dst_end <= src_begin);
}

}  // namespace ride::kernels::detail

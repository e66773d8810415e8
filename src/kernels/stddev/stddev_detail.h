#pragma once
/// @brief Internals shared by the stddev executors and their tests; not part of the public API.
#include <cstddef>
#include <cstdint>

namespace ride::kernels::detail {

/// @brief Throws ride::Error unless the arguments meet the contract documented in stddev.h.
void validate_stddev_args(const std::uint8_t* src, int width, int height,
                          std::ptrdiff_t src_stride_bytes, int window, const float* dst,
                          std::ptrdiff_t dst_stride_elems);

/// Default GPU tile size in output pixels (32 MiB of float output per tile, per slot).
inline constexpr std::int64_t kDefaultCudaTilePixels = std::int64_t{1} << 23;

/// @brief stddev_filter_u8_cuda with an explicit tile budget: each tile covers as many whole
/// rows as fit in tile_pixels output pixels (at least one row). Tests use a small budget to
/// exercise the tiling on small images. The host-side wrapper (stddev_cpu.cpp, both builds):
/// checks the arguments, then the device (require_cuda_device), then runs the executor below.
void stddev_filter_u8_cuda_tiled(const std::uint8_t* src, int width, int height,
                                 std::ptrdiff_t src_stride_bytes, int window, float* dst,
                                 std::ptrdiff_t dst_stride_elems, std::int64_t tile_pixels);

/// @brief The CUDA executor (stddev_cuda.cu, CUDA builds only): checked, non-empty arguments.
void stddev_filter_u8_cuda_run(const std::uint8_t* src, int width, int height, std::ptrdiff_t src_stride_bytes,
                               int window, float* dst, std::ptrdiff_t dst_stride_elems, std::int64_t tile_pixels);

}  // namespace ride::kernels::detail

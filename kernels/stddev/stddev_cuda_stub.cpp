/// Stand-in for stddev_cuda.cu in builds without a CUDA compiler: the CUDA path reports itself
/// unavailable and refuses to run, so callers fall back to the CPU path.
#include "core/error.h"
#include "kernels/stddev/stddev.h"
#include "kernels/stddev/stddev_detail.h"

namespace ride::kernels {

bool cuda_compiled() { return false; }

bool cuda_device_available() { return false; }

namespace detail {

void stddev_filter_u8_cuda_tiled(const std::uint8_t* src, int width, int height,
                                 std::ptrdiff_t src_stride_bytes, int window, float* dst,
                                 std::ptrdiff_t dst_stride_elems, std::int64_t tile_pixels) {
  validate_stddev_args(src, width, height, src_stride_bytes, window, dst, dst_stride_elems);
  RIDE_EXPECTS(tile_pixels >= 1, "stddev filter (CUDA): tile_pixels must be >= 1");
  RIDE_FAIL(
      "stddev filter: the CUDA path was requested but this build has no CUDA support "
      "(configure with a CUDA compiler, RIDE_USE_CUDA=AUTO or ON)");
}

}  // namespace detail

}  // namespace ride::kernels

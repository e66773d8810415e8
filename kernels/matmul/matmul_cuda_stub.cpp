/// Stand-in for matmul_cuda.cu in builds without a CUDA compiler: the CUDA path refuses to run,
/// so callers fall back to the CPU path (cuda_device_available() is false in such builds).
#include "core/error.h"
#include "kernels/matmul/matmul.h"
#include "kernels/matmul/matmul_detail.h"

namespace ride::kernels::detail {

MatmulStats matmul_u8_cuda_banded(const std::uint8_t* src, int width, int height,
                                  std::ptrdiff_t src_stride_bytes, const MatmulParams& params,
                                  float* dst, std::ptrdiff_t dst_stride_elems, int band_rows) {
  validate_matmul_args(src, width, height, src_stride_bytes, params, dst, dst_stride_elems);
  RIDE_EXPECTS(band_rows >= 0, "matmul (CUDA): band_rows must be >= 0, got " << band_rows);
  RIDE_FAIL(
      "matmul: the CUDA path was requested but this build has no CUDA support "
      "(configure with a CUDA compiler, RIDE_USE_CUDA=AUTO or ON)");
}

}  // namespace ride::kernels::detail

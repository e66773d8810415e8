/// Stand-in for hessian_cuda.cu in builds without a CUDA compiler: the CUDA path checks its
/// arguments like the real one, then refuses to run, so callers fall back to the CPU path.
#include "core/error.h"
#include "kernels/hessian/hessian.h"
#include "kernels/hessian/hessian_detail.h"

namespace ride::kernels::detail {

std::vector<HessianKeypoint> fast_hessian_u8_cuda_tiled(const std::uint8_t* src, int width,
                                                        int height, std::ptrdiff_t stride_bytes,
                                                        const HessianParams& params,
                                                        std::int64_t tile_pixels,
                                                        int candidate_capacity) {
  validate_hessian_args(src, width, height, stride_bytes, params);
  RIDE_EXPECTS(tile_pixels >= 1, "fast-Hessian (CUDA): tile_pixels must be >= 1");
  RIDE_EXPECTS(candidate_capacity >= 0, "fast-Hessian (CUDA): candidate_capacity must be >= 0");
  RIDE_FAIL(
      "fast-Hessian: the CUDA path was requested but this build has no CUDA support "
      "(configure with a CUDA compiler, RIDE_USE_CUDA=AUTO or ON)");
}

}  // namespace ride::kernels::detail

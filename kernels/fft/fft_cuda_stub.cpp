/// Stand-in for fft_cuda.cu in builds without a CUDA compiler: the CUDA path refuses to run, so
/// callers fall back to the CPU path (cuda_device_available() is false in such builds).
#include "core/error.h"
#include "kernels/fft/fft.h"
#include "kernels/fft/fft_detail.h"

namespace ride::kernels::detail {

FftStats fft_log_magnitude_u8_cuda_chunked(const std::uint8_t* src, int width, int height,
                                           std::ptrdiff_t src_stride_bytes, float* dst,
                                           std::ptrdiff_t dst_stride_elems,
                                           std::int64_t chunk_rows) {
  validate_fft_args(src, width, height, src_stride_bytes, dst, dst_stride_elems);
  RIDE_EXPECTS(chunk_rows >= 0, "fft (CUDA): chunk_rows must be >= 0, got " << chunk_rows);
  RIDE_FAIL(
      "fft: the CUDA path was requested but this build has no CUDA support "
      "(configure with a CUDA compiler, RIDE_USE_CUDA=AUTO or ON)");
}

}  // namespace ride::kernels::detail

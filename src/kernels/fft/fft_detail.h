#pragma once
/// @brief Internals shared by the FFT executors and their tests; not part of the public API.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "kernels/fft/fft.h"

namespace ride::kernels::detail {

/// @brief Throws ride::Error unless the arguments meet the contract documented in fft.h.
void validate_fft_args(const std::uint8_t* src, int width, int height,
                       std::ptrdiff_t src_stride_bytes, const float* dst,
                       std::ptrdiff_t dst_stride_elems);

/// @brief Weighted energy of one half-spectrum row, split into the low band and the rest.
struct FftRowEnergy {
  double low = 0, high = 0;
};

/// @brief Energy of spectrum row u: `row` holds width / 2 + 1 interleaved (re, im) floats.
FftRowEnergy fft_row_energy(const float* row, std::int64_t u, int width, int height);

/// @brief FftStats from the per-row energies (added in row order) and X(0, 0).
FftStats combine_fft_rows(const std::vector<FftRowEnergy>& rows, float dc_re, float dc_im);

/// Default rows per staging chunk of the CUDA executor: as many as fit in this many bytes.
inline constexpr std::int64_t kDefaultCudaChunkBytes = std::int64_t{32} << 20;

/// @brief fft_log_magnitude_u8_cuda with an explicit staging chunk height (rows per chunk for
/// the upload and the download, >= 1; 0 = the default of kDefaultCudaChunkBytes). Tests use
/// small chunks to exercise the double-buffered staging.
FftStats fft_log_magnitude_u8_cuda_chunked(const std::uint8_t* src, int width, int height,
                                           std::ptrdiff_t src_stride_bytes, float* dst,
                                           std::ptrdiff_t dst_stride_elems,
                                           std::int64_t chunk_rows);

/// @brief The CUDA executor (fft_cuda.cu, CUDA builds only): checked, non-empty arguments;
/// called only by the host-side wrapper above (fft_cpu.cpp, both builds), which checks the
/// arguments and then the device (require_cuda_device).
FftStats fft_log_magnitude_u8_cuda_run(const std::uint8_t* src, int width, int height, std::ptrdiff_t src_stride_bytes,
                                       float* dst, std::ptrdiff_t dst_stride_elems, std::int64_t chunk_rows);

}  // namespace ride::kernels::detail

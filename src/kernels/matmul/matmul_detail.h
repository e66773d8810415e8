#pragma once
/// @brief Internals shared by the matmul executors and their tests; not part of the public API.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "kernels/matmul/matmul.h"

namespace ride::kernels::detail {

/// @brief Throws ride::Error unless the arguments meet the contract documented in matmul.h.
void validate_matmul_args(const std::uint8_t* src, int width, int height,
                          std::ptrdiff_t src_stride_bytes, const MatmulParams& params,
                          const float* dst, std::ptrdiff_t dst_stride_elems);

/// Most rows in one CPU band (larger bands gain < 5 % in OpenBLAS, measured at 2500 x 2500).
inline constexpr int kMatmulBandRows = 256;
/// Most floats in one CPU band's converted rows (64 MiB).
inline constexpr std::int64_t kMatmulBandFloats = std::int64_t{1} << 24;

/// @brief Number of CPU bands for a frame: ceil(height / rows) with rows = clamp(2^24 / width,
/// 1, 256); band b covers rows [height * b / n, height * (b + 1) / n). Depends on the frame
/// size only, never on the thread count. Requires width, height >= 1.
int matmul_cpu_band_count(int width, int height);

/// @brief Partial scalars of one row of C.
struct MatmulRowStats {
  double sum = 0, sum_sq = 0, min = 0, max = 0;
};

/// @brief Scalars of one row of `cols` floats.
MatmulRowStats matmul_row_stats(const float* row, int cols);

/// @brief MatmulStats from per-row partials, added in row order (same order in every executor).
MatmulStats combine_matmul_rows(const std::vector<MatmulRowStats>& rows, int cols);

/// @brief Scalars of C = 0 (width 0): every field 0, and dst rows zeroed when dst is non-null.
MatmulStats matmul_zero_width(int height, int cols, float* dst, std::ptrdiff_t dst_stride_elems);

/// Default per-band buffer budget of the CUDA executor, in bytes (capped further by 1/8 of the
/// device's free memory).
inline constexpr std::int64_t kDefaultCudaBandBytes = std::int64_t{256} << 20;

/// @brief matmul_u8_cuda with an explicit band height (rows per band, >= 1; 0 = sized to device
/// memory as in matmul_u8_cuda). Tests use small bands to exercise the double buffering.
MatmulStats matmul_u8_cuda_banded(const std::uint8_t* src, int width, int height,
                                  std::ptrdiff_t src_stride_bytes, const MatmulParams& params,
                                  float* dst, std::ptrdiff_t dst_stride_elems, int band_rows);

/// @brief The CUDA executor (matmul_cuda.cu, CUDA builds only): checked arguments, height and
/// width > 0; called only by the host-side wrapper above (matmul_cpu.cpp, both builds), which
/// checks the arguments and then the device (require_cuda_device).
MatmulStats matmul_u8_cuda_run(const std::uint8_t* src, int width, int height, std::ptrdiff_t src_stride_bytes,
                               const MatmulParams& params, float* dst, std::ptrdiff_t dst_stride_elems, int band_rows);

}  // namespace ride::kernels::detail

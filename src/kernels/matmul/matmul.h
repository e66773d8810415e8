#pragma once
/// @brief Matrix multiplication of a frame by a fixed matrix (RIDE's third application): CPU
/// (OpenBLAS) and CUDA (cuBLAS) executors.
///
/// Definition. The frame is the matrix A (height x width) with A(y, x) = u8_to_unit(src(x, y)),
/// the float32 quotient v / 255 (kernels/matmul/matmul_math.h). B is a fixed width x cols matrix
/// whose entries depend only on (row, col, seed): B(r, c) = matmul_weight(r, c, seed), a
/// splitmix64 hash mapped onto the multiples of 2^-23 in [-1, 1 - 2^-23] (matmul_math.h gives
/// the exact formula). The output is C = A * B (height x cols, float32):
///
///   C(y, c) = sum over x in [0, width) of A(y, x) * B(x, c),
///
/// computed by single-precision GEMM; a width of 0 gives C = 0. Accuracy (both executors): every
/// entry is within (width + 2) * 2^-24 * sum_x |A(y, x) * B(x, c)| of the exact product of the
/// real numbers v / 255 and B (the standard GEMM bound plus the rounding of v / 255).
///
/// Scalars for the sink (MatmulStats), over the height * cols entries of C as doubles: mean,
/// minimum, maximum and the Frobenius norm sqrt(sum C^2); per-row sums are added in row order.
/// All zero when height is 0.
///
/// Contract (both executors). src: u8, one channel, rows src_stride_bytes apart; width, height
/// >= 0, src_stride_bytes >= width; 1 <= cols <= kMaxMatmulCols. dst: float32, rows
/// dst_stride_elems apart, dst_stride_elems >= cols and <= INT_MAX; dst may be null, then only
/// the scalars are computed. src must not overlap dst. src may be null only when the frame is
/// empty (width or height 0). A violated contract throws ride::Error.
///
/// Plain C++ header: callers never see CUDA or BLAS types (CUDA firewall, STYLE.md).
#include <cstddef>
#include <cstdint>

namespace ride::kernels {

/// Default number of columns of B (and of C).
inline constexpr int kDefaultMatmulCols = 256;
/// Largest accepted number of columns of B.
inline constexpr int kMaxMatmulCols = 1 << 16;

/// @brief The task's parameters: B has `cols` columns and is generated from `seed`.
struct MatmulParams {
  int cols = kDefaultMatmulCols;
  std::uint64_t seed = 0;
};

/// @brief Scalars of C = A * B for logs and the sink (see the definition above).
struct MatmulStats {
  double mean = 0, min = 0, max = 0, frobenius = 0;
};

/// @brief Writes B (width x cols, row-major, rows stride_elems floats apart) as defined above.
/// For peers, benchmarks and tests; the executors cache their own copy. Requires width >= 0,
/// 1 <= cols <= kMaxMatmulCols, stride_elems >= cols, b non-null unless width is 0.
void matmul_fill_weights(int width, int cols, std::uint64_t seed, float* b,
                         std::ptrdiff_t stride_elems);

/// @brief CPU path: OpenBLAS cblas_sgemm, one BLAS thread per band of rows.
///
/// The frame is cut into bands of whole rows whose number and boundaries depend only on width
/// and height (at most 256 rows, at most 2^24 floats each); each band is converted to float and
/// multiplied by B on its own, so no full-size float copy of the frame ever exists. threads <= 1
/// runs every band on the calling thread; more threads take bands from a shared counter.
/// Because every band is the same single-threaded sgemm call whichever thread runs it, the
/// output and the scalars are bit-identical for every thread count.
///
/// B is generated on first use for each (width, cols, seed) and cached (a few entries,
/// process-wide, under a mutex). Thread-safe. Side effect: OpenBLAS's thread count is
/// process-wide, so each call sets it to 1 (openblas_set_num_threads) when it is not 1 already;
/// do not run multi-threaded OpenBLAS code concurrently with this function.
MatmulStats matmul_u8(const std::uint8_t* src, int width, int height,
                      std::ptrdiff_t src_stride_bytes, const MatmulParams& params, float* dst,
                      std::ptrdiff_t dst_stride_elems, int threads = 1);

/// @brief GPU path on the current CUDA device: cuBLAS sgemm (FP32, no TF32), same definition,
/// contract and accuracy bound as the CPU path, but not bit-identical to it (cuBLAS sums in
/// another order); the scalars are computed on the host from C in the same way.
///
/// B is generated on the device (same bits as the CPU's B) and kept there across calls, cached
/// per host thread and device for the last (width, cols, seed). Bands of rows sized to the
/// device's free memory (at most 256 MiB of buffers per band) alternate between two streams so
/// that staging, copies and GEMMs of neighbouring bands overlap. Blocking: returns once dst is
/// written. Throws ride::Error on a CUDA/cuBLAS error and if !cuda_device_available() (kernels/common/cuda_device.h), checked after the arguments and before the empty-frame case.
MatmulStats matmul_u8_cuda(const std::uint8_t* src, int width, int height,
                           std::ptrdiff_t src_stride_bytes, const MatmulParams& params, float* dst,
                           std::ptrdiff_t dst_stride_elems);

}  // namespace ride::kernels

#pragma once
/// @brief 2-D FFT of a frame (RIDE's fourth application): CPU (FFTW3, single precision) and CUDA
/// (cuFFT) executors.
///
/// Definition. With f(y, x) = src(x, y) as a float (0..255, no scaling), the unnormalised 2-D
/// forward DFT of the height x width frame is
///
///   X(u, v) = sum over y < height, x < width of f(y, x) exp(-2 pi i (u y / height + v x / width)),
///
/// and since f is real, X(u, width - v) = conj(X(height - u mod height, v)): the half spectrum
/// v in [0, width / 2] (integer division) holds everything. Outputs:
///
///  - dst: the log-magnitude half spectrum, height rows of fft_half_width(width) = width / 2 + 1
///    floats, dst(u, v) = log1p(|X(u, v)|) (natural log; |X| and log1p in float, see
///    fft_math.h; log1p within a few ulps).
///  - FftStats::dc_magnitude = |X(0, 0)| (= the sum of the pixels, up to rounding).
///  - FftStats::energy = sum of |X(u, v)|^2 over the FULL height x width spectrum, computed from
///    the half spectrum with column weights (1 for v = 0 and, for even width, v = width / 2; 2
///    otherwise), in double from the float coefficients. By Parseval it equals
///    width * height * sum f^2 up to the FFT's float rounding.
///  - FftStats::high_frequency_fraction = (energy outside the low band) / energy, 0 when energy is
///    0. The low band is the lowest 1/8 of each axis's frequency range [-1/2, 1/2) cycles per
///    pixel: coefficients whose signed frequency indices ku in (-height/2, height/2] and kv in
///    (-width/2, width/2] satisfy 16 |ku| <= height and 16 |kv| <= width (a box around DC,
///    1/16 cycle per pixel on each side).
/// Row sums are formed per spectrum row and added in row order.
///
/// Accuracy (both executors): float FFT, so each coefficient carries rounding noise of about
/// 2^-24 * O(log2(width * height)) * sqrt(sum f^2), plus a relative error of the same order for
/// large coefficients (DC is a sum of positive terms). The tests bound |X' - X| by
/// r * (16 sqrt(sum f^2) + 2 |X|) with r = 2^-24 (log2(width * height) + 2), hence |dst -
/// log1p|X|| by that / (1 + |X|) plus a few ulps (log1p_nonneg is within ~2 float ulps).
///
/// Contract (both executors). src: u8, one channel, rows src_stride_bytes apart; width, height
/// >= 0, src_stride_bytes >= width. dst: float32, rows dst_stride_elems apart,
/// dst_stride_elems >= width / 2 + 1; dst may be null, then only the scalars are computed. src
/// and dst must not overlap. An empty frame (width or height 0) writes nothing and returns all
/// zeros; src and dst may then be null. A violated contract throws ride::Error. All sizes are
/// 64-bit inside: a 24,160 x 25,720 frame (a 2.5 GB complex half spectrum) works given memory.
///
/// Plain C++ header: callers never see CUDA or FFTW types (CUDA firewall, STYLE.md).
#include <cstddef>
#include <cstdint>

namespace ride::kernels {

/// @brief Scalars of the spectrum for logs and the sink (see the definition above).
struct FftStats {
  double dc_magnitude = 0, energy = 0, high_frequency_fraction = 0;
};

/// @brief Number of columns of the half spectrum (and of dst): width / 2 + 1, for width >= 1.
constexpr int fft_half_width(int width) { return width / 2 + 1; }

/// @brief CPU path: FFTW3 single precision, in-place real-to-complex on a padded float copy of
/// the frame (height x 2 (width / 2 + 1) floats, kept per calling thread and reused by later
/// calls: about 4 bytes per pixel; the u8 -> float conversion and the log-magnitude pass are
/// split over `threads` row bands).
///
/// Plans are made with FFTW_ESTIMATE (no measuring: planning a 24,160 x 25,720 plan by
/// measurement would take longer than many frames, and wisdom would tie results to a machine),
/// through the 64-bit guru interface, with fftwf_plan_with_nthreads(threads), cached
/// process-wide per (height, width, threads) under the planner mutex (FFTW's planner is not
/// thread-safe; execution with fftwf_execute_dft_r2c is). threads <= 1 runs on the calling
/// thread. FFTW's multi-threaded plans may split the work differently, so the output may differ
/// between thread counts by float rounding (within the accuracy above; bit-identical for 1, 2
/// and 3 threads in every case measured); for a given thread count it is deterministic.
/// Thread-safe (FFTW is used by nothing else in ride; another FFTW user in the process would
/// have to share the planner mutex). FFTW's worker threads sleep when idle.
FftStats fft_log_magnitude_u8(const std::uint8_t* src, int width, int height,
                              std::ptrdiff_t src_stride_bytes, float* dst,
                              std::ptrdiff_t dst_stride_elems, int threads = 1);

/// @brief GPU path on the current CUDA device: cuFFT R2C in place (64-bit plan,
/// cufftMakePlanMany64), cached per host thread and device for the last frame size, with the
/// frame staged through pinned buffers on one stream (host staging overlaps the copies). Same
/// definition, contract and accuracy as the CPU path; not bit-identical to it (cuFFT rounds
/// differently), the scalars' row sums are formed on the device in double. Needs about 6 bytes
/// of device memory per pixel plus cuFFT's work area, 4 without dst. Blocking: returns once dst
/// is written. Throws ride::Error on a CUDA/cuFFT error (including too little device memory)
/// and if !cuda_device_available() (kernels/common/cuda_device.h), checked after the arguments and
/// before the empty-frame case.
FftStats fft_log_magnitude_u8_cuda(const std::uint8_t* src, int width, int height,
                                   std::ptrdiff_t src_stride_bytes, float* dst,
                                   std::ptrdiff_t dst_stride_elems);

}  // namespace ride::kernels

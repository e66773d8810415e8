#pragma once
/// @brief Standard-deviation filter (RIDE's first application): CPU and CUDA executors.
///
/// Definition. For every pixel (x, y) the output is the population standard deviation (divide
/// by N = window * window, not N - 1) of the window x window neighbourhood centred on (x, y):
///
///   r = window / 2,  S1 = sum v,  S2 = sum v^2 over v = src(reflect101(x + i), reflect101(y + j))
///   for i, j in [-r, r],  dst(x, y) = sqrt(N * S2 - S1^2) / N.
///
/// Borders use reflect-101 (OpenCV BORDER_REFLECT_101: ...cba|abcd|dcb...), repeated when the
/// window is larger than the image; a dimension of 1 pixel maps every index to 0. S1, S2 and
/// N * S2 - S1^2 are exact integers; N * S2 - S1^2 is then rounded to float and the sqrt and the
/// division by N are done in float (relative error < 2^-22, see stddev_math.h), in the same order
/// on both executors, so the CPU and GPU executors produce identical bits.
///
/// Contract (both executors). Input: u8, one channel, rows src_stride_bytes apart. Output:
/// float32, rows dst_stride_elems floats apart. window is odd, 1 <= window <= 2047;
/// width, height >= 0; strides >= width; src and dst non-null unless the image is empty.
/// An empty image (width or height 0) is a no-op. src and dst must not overlap. A violated
/// contract throws ride::Error.
///
/// Plain C++ header: callers never see CUDA types (CUDA firewall, STYLE.md).
#include <cstddef>
#include <cstdint>

namespace ride::kernels {

/// @brief Summary of a float image (for logs and the sink): mean, minimum and maximum.
struct FrameStats {
  double mean = 0, min = 0, max = 0;
};

/// @brief CPU path. threads <= 1 runs on the calling thread; > 1 splits the rows into that many
/// contiguous bands (at most one per row), each on its own std::thread. The output does not
/// depend on the thread count.
void stddev_filter_u8(const std::uint8_t* src, int width, int height,
                      std::ptrdiff_t src_stride_bytes, int window, float* dst,
                      std::ptrdiff_t dst_stride_elems, int threads = 1);

/// @brief Mean, min and max over the width x height pixels (all zero for an empty image).
/// img may be null only when the image is empty; stride_elems >= width.
FrameStats frame_stats(const float* img, int width, int height, std::ptrdiff_t stride_elems);

/// @brief GPU path on the current CUDA device, same contract and same bits as the CPU path.
/// Blocking: returns once dst is written. Throws ride::Error on a CUDA error and if
/// !cuda_device_available(), checked after the arguments and before the empty-image no-op.
void stddev_filter_u8_cuda(const std::uint8_t* src, int width, int height,
                           std::ptrdiff_t src_stride_bytes, int window, float* dst,
                           std::ptrdiff_t dst_stride_elems);

}  // namespace ride::kernels

#pragma once
/// @brief Fast-Hessian blob detector of SURF (Bay et al., ECCV 2006 / CVIU 2008), RIDE's second
/// application: CPU and CUDA executors. Detector only: no orientation, no descriptor.
///
/// Definition. Let I be the u8 frame (intensities 0..255, not rescaled) and II its integral
/// image. Octave o = 0 .. octaves-1 samples the frame on the grid x = j*s, y = i*s with step
/// s = init_sample * 2^o (i, j >= 0: the grid starts at pixel 0). Its layers l = 0 .. layers-1
/// are box filters of side size = 3*lobe, lobe = 2^(o+1)*(l+1) + 1, i.e. with the defaults
///   octave 0: 9, 15, 21, 27   octave 1: 15, 27, 39, 51   octave 2: 27, 51, 75, 99
///   octave 3: 51, 99, 147, 195                           (sample steps 1, 2, 4, 8),
/// as in the paper (OpenCV's SURF instead doubles octave 0's sizes: 18, 30, 42, 54, ..., so its
/// keypoints differ from octave 1 on), each centred on a pixel (radius r = (size-1)/2). At a sample
/// (x, y) whose filter lies inside the frame (r <= x <= width-1-r, same for y):
///   Dxx = (L - 2M + R) / (lobe*(2lobe-1)), with L, M, R the pixel sums of three lobes of
///         lobe columns by 2lobe-1 rows side by side, the middle one centred on (x, y);
///   Dyy = the same transposed;
///   Dxy = (TL + BR - TR - BL) / lobe^2, four lobe x lobe boxes in the quadrants around (x, y),
///         row y and column x excluded;
///   det = Dxx*Dyy - 0.81*Dxy^2 (float arithmetic, see hessian_math.h), trace = Dxx + Dyy.
/// Normalisation: each lobe's sum is divided by that lobe's area, as in OpenCV's SURF
/// (cv::xfeatures2d::SURF), on 0..255 intensities, so `threshold` means what OpenCV's
/// hessianThreshold means (100 is a common choice). Bay's paper and OpenSURF instead divide by
/// the whole filter area size^2 on intensities scaled to [0, 1]; at size 9 that makes Dxx*Dyy
/// 29.16 * 255^2 and Dxy^2 81 * 255^2 times smaller, so their thresholds do not carry over.
///
/// Keypoints. A sample of layer l, 1 <= l <= layers-2, is a keypoint when the filters of layer
/// l+1 at its 8 grid neighbours lie inside the frame (so the whole 3x3x3 block is defined),
/// det > threshold, and det is strictly greater than the other 26 values of the 3x3x3 block in
/// (x, y, layer). With `interpolate`, the maximum is refined by fitting a quadratic to the block
/// (Brown and Lowe): offset o = -H^-1 g with g, H the central-difference gradient and Hessian of
/// det in (sample x, sample y, layer), solved in double; the keypoint is dropped unless every
/// |o_k| <= 1 (OpenCV's SURF bound; OpenSURF's stricter < 0.5 drops about a quarter of the
/// maxima of a photo; OpenCV also drops o = 0 exactly, which is not copied here) and H is
/// non-singular. Then x = (j + o_x)*s, y = (i + o_y)*s,
/// size = size_l + o_s * (size_{l+1} - size_{l-1}) / 2. Without it, o = 0.
/// Output order: sorted by (octave, layer, sample_y, sample_x); each key occurs at most once.
///
/// Contract (both executors). src: u8, one channel, rows stride_bytes apart (>= width);
/// width, height >= 0 and <= 2^30; src non-null unless the frame is empty (then the result is
/// empty). Params: threshold finite and >= 0; 1 <= octaves <= 6; 3 <= layers <= 8;
/// 1 <= init_sample <= 64. A violated contract throws ride::Error. Frames too small for the
/// filters give no keypoints.
///
/// Plain C++ header: callers never see CUDA types (CUDA firewall, STYLE.md).
#include <cstddef>
#include <cstdint>
#include <vector>

namespace ride::kernels {

/// @brief Parameters of the fast-Hessian detector (defaults as OpenCV's SURF: 4 octaves of 4
/// filter sizes, i.e. nOctaveLayers = 2 interior layers, sample step 1 in the first octave).
struct HessianParams {
  double threshold = 100.0;  ///< keypoints need det(H) > threshold (OpenCV's normalisation)
  int octaves = 4;           ///< number of octaves, [1, 6]
  int layers = 4;            ///< filter sizes per octave, [3, 8]; layers-2 of them yield keypoints
  int init_sample = 1;       ///< sample step of octave 0, [1, 64]; doubles every octave
  bool interpolate = true;   ///< sub-sample / sub-scale refinement (see hessian.h)
};

/// @brief One detected blob.
struct HessianKeypoint {
  float x = 0, y = 0;  ///< position in pixels (pixel centres at integer coordinates)
  float size = 0;      ///< filter side in pixels, interpolated (OpenCV KeyPoint::size).
                       ///< Bay's scale is sigma = 1.2 * size / 9; note that a Gaussian
                       ///< blob of standard deviation t peaks near size 5t with these
                       ///< box filters (measured), i.e. sigma ~ 0.7t
  float response = 0;  ///< det(H) at the grid sample (before interpolation)
  float angle = -1;    ///< orientation: not computed (-1, as OpenCV's "not applicable")
  int laplacian = 0;   ///< sign of trace(H) at the sample: -1 (bright blob), +1 (dark), 0
  int octave = 0;      ///< 0-based octave
  int layer = 0;       ///< layer within the octave, 1 .. layers-2
  int sample_x = 0;    ///< grid column j of the maximum (x = j * step before interpolation)
  int sample_y = 0;    ///< grid row i of the maximum
};

/// @brief CPU path. The frame is cut into bands of whole rows (about 2^23 pixels each, at least
/// twice the halo of rows the largest filter reads); a band builds the integral image of its
/// rows plus that halo and the det(H) maps 32 grid rows at a time, so working memory is bounded
/// per thread (about 0.1 GB at a width of 24,160) besides the returned keypoints.
/// threads <= 1 runs every band on the calling thread; threads = n > 1 runs the caller and n-1
/// std::threads, which take bands in turn (a multiple of n bands of equal height) and exit when
/// none is left. The result does not depend on the thread count or the band height.
std::vector<HessianKeypoint> fast_hessian_u8(const std::uint8_t* src, int width, int height,
                                             std::ptrdiff_t stride_bytes,
                                             const HessianParams& params = {}, int threads = 1);

/// @brief GPU path on the current CUDA device: same contract, and the same keypoints as the
/// CPU path, bit for bit (same order, same float fields): det(H) uses the same float
/// operations without FMA contraction, the 3x3x3 test the same comparisons, and the refinement
/// runs on the host for both. Integral image, det maps and the 3x3x3 test run on the GPU, per
/// tile of about 2^24 pixels of whole rows plus the halo; two tiles are in flight (pinned
/// staging, one stream each), so staging one overlaps the other's copies and kernels. Device
/// memory: about 2 x 24 bytes per tile pixel with the default 4 layers (0.8 GB in all), plus
/// the candidate buffers. Blocking: returns once the keypoints are on the host. Throws ride::Error
/// on a CUDA error and if !cuda_device_available() (kernels/common/cuda_device.h), checked after
/// the arguments and before the empty-frame shortcut.
std::vector<HessianKeypoint> fast_hessian_u8_cuda(const std::uint8_t* src, int width, int height,
                                                  std::ptrdiff_t stride_bytes,
                                                  const HessianParams& params = {});

}  // namespace ride::kernels

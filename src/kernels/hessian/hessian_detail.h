#pragma once
/// @brief Internals shared by the fast-Hessian executors and their tests; not public API.
/// Plain C++ (no CUDA types): the plan structs are PODs passed to the CUDA kernels by value.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "kernels/hessian/hessian.h"
#include "kernels/hessian/hessian_math.h"

namespace ride::kernels::detail {

inline constexpr int kMaxHessianOctaves = 6;
inline constexpr int kMaxHessianLayers = 8;
inline constexpr int kMaxHessianInitSample = 64;
inline constexpr int kMaxHessianFrameSide = 1 << 30;

/// Half-open range [begin, end) of grid indices; empty when begin >= end.
/// An 8-bit frame as the CUDA executor takes it (rows `stride` bytes apart).
struct HessianFrame {
  const std::uint8_t* src;
  int width;
  int height;
  std::ptrdiff_t stride;
};

struct IndexRange {
  int begin = 0;
  int end = 0;
  bool empty() const { return begin >= end; }
};

/// @brief Everything an executor needs about one octave.
struct OctavePlan {
  int octave = 0;
  int step = 1;       ///< grid step s in pixels
  int samples_x = 0;  ///< grid columns: (width - 1) / s + 1
  int samples_y = 0;  ///< grid rows
  int layers = 0;
  hessian_math::BoxLayer layer[kMaxHessianLayers];
  /// For interior layers l (1 .. layers-2): grid columns / rows whose 3x3x3 block is defined,
  /// i.e. the layer l+1 filter at (j +- 1) * s fits in the frame. Nested: shrinks as l grows.
  IndexRange cand_x[kMaxHessianLayers];
  IndexRange cand_y[kMaxHessianLayers];
  bool has_candidates = false;  ///< some interior layer has a non-empty candidate range
};

/// @brief The octaves of one frame size and parameter set.
struct HessianPlan {
  int width = 0;
  int height = 0;
  int octaves = 0;
  double threshold = 0;
  float threshold_f = 0;  ///< hessian_math::float_threshold(threshold)
  bool interpolate = true;
  /// Rows of integral image a band of candidate rows [Y0, Y1) needs on either side: the band
  /// reads pixel rows [Y0 - halo, Y1 + halo) (clipped to the frame).
  int halo = 0;
  OctavePlan octave[kMaxHessianOctaves];
};

/// @brief What one band of frame rows needs from one octave. The band owns the candidates
/// whose grid row i has i * step in [y0, y1); both executors split frames this way (the CPU
/// into bands, the GPU into tiles), so every candidate is found exactly once.
struct OctaveBand {
  bool any = false;  ///< some interior layer has candidates in this band
  /// det maps hold grid rows [map_row0, map_row0 + map_rows), full grid width.
  int map_row0 = 0;
  int map_rows = 0;
  /// Interior layers l: candidate rows in this band (intersected with cand_y[l]); the columns
  /// are the octave's cand_x[l]. active[l]: both non-empty.
  IndexRange rows[kMaxHessianLayers];
  bool active[kMaxHessianLayers] = {};
  /// Every layer k: grid rows and columns where its det is read by an active layer (k-1, k or
  /// k+1, all inside the frame for layer k's filter); empty when not needed.
  IndexRange det_rows[kMaxHessianLayers];
  IndexRange det_cols[kMaxHessianLayers];
};

/// @brief The OctaveBand of frame rows [y0, y1) (0 <= y0 <= y1 <= height).
OctaveBand plan_octave_band(const OctavePlan& octave, int y0, int y1);

/// @brief Throws ride::Error unless the arguments meet the contract in hessian.h.
void validate_hessian_args(const std::uint8_t* src, int width, int height,
                           std::ptrdiff_t stride_bytes, const HessianParams& params);

/// @brief The plan for a frame (arguments already validated).
HessianPlan make_hessian_plan(int width, int height, const HessianParams& params);

/// @brief A 3x3x3 maximum as both executors report it, before refinement.
struct HessianCandidate {
  int octave = 0;
  int layer = 0;
  int sample_x = 0;
  int sample_y = 0;
  int laplacian = 0;
  float block[27] = {};  ///< det around the maximum, see hessian_math::gather_3x3x3
};

/// @brief The keypoint of one maximum: refined as documented in hessian.h, or not at all
/// without plan.interpolate. Returns false when the refinement drops it. Both executors turn
/// maxima into keypoints with this one host function.
bool make_keypoint(int octave, int layer, int sample_x, int sample_y, int laplacian,
                   const float block[27], const HessianPlan& plan, HessianKeypoint& out);

/// @brief make_keypoint on every candidate, then the keypoints sorted by (octave, layer,
/// sample_y, sample_x) (the GPU's atomic counter hands out slots in no particular order).
std::vector<HessianKeypoint> finalize_candidates(const std::vector<HessianCandidate>& candidates,
                                                 const HessianPlan& plan);

/// @brief Refinement of one maximum (see hessian.h): offset[3] = (o_x, o_y, o_s) in grid and
/// layer units. Returns false (keypoint dropped) when H is singular or some |o_k| > 1.
bool refine_offset(const float block[27], double offset[3]);

/// @brief Integral image modulo 2^32 of rows [y_begin, y_end) of a u8 frame:
/// ii[t * ii_stride + x] = sum of src rows [y_begin, y_begin + t), columns [0, x), mod 2^32,
/// for t in [0, y_end - y_begin], x in [0, width]. ii_stride >= width + 1.
void integral_u32(const std::uint8_t* src, int width, std::ptrdiff_t stride_bytes, int y_begin,
                  int y_end, std::uint32_t* ii, std::ptrdiff_t ii_stride);

/// @brief fast_hessian_u8 with the band height forced (rows >= 1) instead of chosen from the
/// frame size and thread count; tests use it to put band edges everywhere.
std::vector<HessianKeypoint> fast_hessian_u8_banded(const std::uint8_t* src, int width, int height,
                                                    std::ptrdiff_t stride_bytes,
                                                    const HessianParams& params, int threads,
                                                    int band_rows);

/// Default GPU tile: rows of the frame such that a tile holds about this many pixels.
inline constexpr std::int64_t kDefaultHessianTilePixels = std::int64_t{1} << 24;
/// Room for candidates per tile that the first call starts with; a tile that finds more is
/// rerun with room for all, and later automatic calls on the same thread start with that room.
inline constexpr int kDefaultHessianCandidateCapacity = 1 << 16;

/// @brief fast_hessian_u8_cuda with an explicit tile budget (>= 1 pixel; at least one row per
/// tile) and initial candidate room per tile (>= 1, or 0 for automatic, as the public entry
/// point); tests use small ones to exercise tiling and the rerun after an overflow.
std::vector<HessianKeypoint> fast_hessian_u8_cuda_tiled(const std::uint8_t* src, int width,
                                                        int height, std::ptrdiff_t stride_bytes,
                                                        const HessianParams& params,
                                                        std::int64_t tile_pixels,
                                                        int candidate_capacity);

/// @brief The CUDA executor (hessian_cuda.cu, CUDA builds only): checked, non-empty arguments;
/// called only by the host-side wrapper above (hessian_common.cpp, both builds), which checks
/// the arguments and then the device (require_cuda_device).
std::vector<HessianKeypoint> fast_hessian_u8_cuda_run(const HessianFrame& frame, const HessianParams& params,
                                                      std::int64_t tile_pixels, int candidate_capacity);

}  // namespace ride::kernels::detail

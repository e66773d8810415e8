/// Parts of the fast-Hessian detector common to both executors: argument checks, the octave
/// plan, the integral image, and the host-side refinement and ordering of the maxima (run on
/// the host for both executors, so that they return the same keypoints bit for bit).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <tuple>
#include <utility>
#include <vector>

#include "core/error.h"
#include "kernels/common/cuda_device.h"
#include "kernels/hessian/hessian.h"
#include "kernels/hessian/hessian_detail.h"
#include "kernels/hessian/hessian_math.h"

namespace ride::kernels::detail {
namespace {

int floor_div(int a, int b) {  // b > 0
  const int q = a / b;
  return (a % b != 0 && a < 0) ? q - 1 : q;
}

int ceil_div(int a, int b) { return -floor_div(-a, b); }  // b > 0

// Grid indices k >= 1 with k*s - s - r >= 0 and k*s + s + r <= n - 1: the whole 3x3 block of a
// filter of radius r fits in [0, n).
IndexRange block_fits(int n, int step, int radius) {
  return IndexRange{ceil_div(radius + step, step), floor_div(n - 1 - radius - step, step) + 1};
}

}  // namespace

void validate_hessian_args(const std::uint8_t* src, int width, int height,
                           std::ptrdiff_t stride_bytes, const HessianParams& params) {
  RIDE_EXPECTS(std::isfinite(params.threshold) && params.threshold >= 0,
               "fast-Hessian: threshold must be finite and >= 0, got " << params.threshold);
  RIDE_EXPECTS(
      params.octaves >= 1 && params.octaves <= kMaxHessianOctaves,
      "fast-Hessian: octaves must be in [1, " << kMaxHessianOctaves << "], got " << params.octaves);
  RIDE_EXPECTS(
      params.layers >= 3 && params.layers <= kMaxHessianLayers,
      "fast-Hessian: layers must be in [3, " << kMaxHessianLayers << "], got " << params.layers);
  RIDE_EXPECTS(params.init_sample >= 1 && params.init_sample <= kMaxHessianInitSample,
               "fast-Hessian: init_sample must be in [1, " << kMaxHessianInitSample << "], got "
                                                           << params.init_sample);
  RIDE_EXPECTS(
      width >= 0 && height >= 0 && width <= kMaxHessianFrameSide && height <= kMaxHessianFrameSide,
      "fast-Hessian: frame size must be in [0, 2^30] per side, got " << width << "x" << height);
  if (width == 0 || height == 0) return;
  RIDE_EXPECTS(src != nullptr,
               "fast-Hessian: src is null for a " << width << "x" << height << " frame");
  RIDE_EXPECTS(stride_bytes >= width,
               "fast-Hessian: stride " << stride_bytes << " bytes < width " << width);
}

HessianPlan make_hessian_plan(int width, int height, const HessianParams& params) {
  HessianPlan plan;
  plan.width = width;
  plan.height = height;
  plan.octaves = params.octaves;
  plan.threshold = params.threshold;
  plan.threshold_f = hessian_math::float_threshold(params.threshold);
  plan.interpolate = params.interpolate;
  for (int o = 0; o < params.octaves; ++o) {
    OctavePlan& op = plan.octave[o];
    op.octave = o;
    op.step = params.init_sample << o;
    op.samples_x = width > 0 ? (width - 1) / op.step + 1 : 0;
    op.samples_y = height > 0 ? (height - 1) / op.step + 1 : 0;
    op.layers = params.layers;
    for (int l = 0; l < params.layers; ++l) {
      op.layer[l] = hessian_math::make_box_layer((2 << o) * (l + 1) + 1);
    }
    for (int l = 1; l + 1 < params.layers; ++l) {
      const int radius = op.layer[l + 1].radius;
      op.cand_x[l] = block_fits(width, op.step, radius);
      op.cand_y[l] = block_fits(height, op.step, radius);
      op.has_candidates = op.has_candidates || (!op.cand_x[l].empty() && !op.cand_y[l].empty());
    }
    if (op.has_candidates) {
      plan.halo = std::max(plan.halo, op.step + op.layer[params.layers - 1].radius);
    }
  }
  return plan;
}

OctaveBand plan_octave_band(const OctavePlan& op, int y0, int y1) {
  OctaveBand band;
  const int s = op.step;
  const int i_begin = ceil_div(y0, s);
  const int i_end = ceil_div(y1, s);
  band.map_row0 = i_begin - 1;
  band.map_rows = std::max(0, i_end - i_begin + 2);
  for (int l = 1; l + 1 < op.layers; ++l) {
    band.rows[l] =
        IndexRange{std::max(i_begin, op.cand_y[l].begin), std::min(i_end, op.cand_y[l].end)};
    band.active[l] = !band.rows[l].empty() && !op.cand_x[l].empty();
    band.any = band.any || band.active[l];
  }
  // Layer k is read by the interior layers k-1, k, k+1; the smallest of them, max(1, k-1), has
  // the widest ranges (they are nested, shrinking as l grows), so its 3x3 blocks cover what any
  // reader needs. Layer k's filter fits there: the reader's ranges were cut for layer
  // reader+1 >= k.
  for (int k = 0; k < op.layers; ++k) {
    const int reader = std::max(1, k - 1);
    if (!band.active[reader]) continue;
    band.det_rows[k] = IndexRange{band.rows[reader].begin - 1, band.rows[reader].end + 1};
    band.det_cols[k] = IndexRange{op.cand_x[reader].begin - 1, op.cand_x[reader].end + 1};
  }
  return band;
}

bool refine_offset(const float block[27], double offset[3]) {
  const auto n = [block](int ds, int dy, int dx) {
    return static_cast<double>(block[(ds + 1) * 9 + (dy + 1) * 3 + (dx + 1)]);
  };
  const double v = n(0, 0, 0);
  // Central differences in (x, y, s).
  const double gx = (n(0, 0, 1) - n(0, 0, -1)) / 2;
  const double gy = (n(0, 1, 0) - n(0, -1, 0)) / 2;
  const double gs = (n(1, 0, 0) - n(-1, 0, 0)) / 2;
  const double hxx = n(0, 0, 1) - 2 * v + n(0, 0, -1);
  const double hyy = n(0, 1, 0) - 2 * v + n(0, -1, 0);
  const double hss = n(1, 0, 0) - 2 * v + n(-1, 0, 0);
  const double hxy = (n(0, 1, 1) - n(0, 1, -1) - n(0, -1, 1) + n(0, -1, -1)) / 4;
  const double hxs = (n(1, 0, 1) - n(1, 0, -1) - n(-1, 0, 1) + n(-1, 0, -1)) / 4;
  const double hys = (n(1, 1, 0) - n(1, -1, 0) - n(-1, 1, 0) + n(-1, -1, 0)) / 4;
  // H o = -g by Cramer's rule (H symmetric).
  const double bx = -gx, by = -gy, bs = -gs;
  const double det =
      hxx * (hyy * hss - hys * hys) - hxy * (hxy * hss - hys * hxs) + hxs * (hxy * hys - hyy * hxs);
  if (det == 0 || !std::isfinite(det)) return false;
  const double det_x =
      bx * (hyy * hss - hys * hys) - hxy * (by * hss - hys * bs) + hxs * (by * hys - hyy * bs);
  const double det_y =
      hxx * (by * hss - bs * hys) - bx * (hxy * hss - hys * hxs) + hxs * (hxy * bs - by * hxs);
  const double det_s =
      hxx * (hyy * bs - hys * by) - hxy * (hxy * bs - by * hxs) + bx * (hxy * hys - hyy * hxs);
  offset[0] = det_x / det;
  offset[1] = det_y / det;
  offset[2] = det_s / det;
  // Written so that NaN fails.
  return std::fabs(offset[0]) <= 1 && std::fabs(offset[1]) <= 1 && std::fabs(offset[2]) <= 1;
}

bool make_keypoint(int octave, int layer, int sample_x, int sample_y, int laplacian,
                   const float block[27], const HessianPlan& plan, HessianKeypoint& out) {
  const OctavePlan& op = plan.octave[octave];
  double offset[3] = {0, 0, 0};
  if (plan.interpolate && !refine_offset(block, offset)) return false;
  const double size_step = (op.layer[layer + 1].size - op.layer[layer - 1].size) / 2.0;
  out = HessianKeypoint{};
  out.x = static_cast<float>((sample_x + offset[0]) * op.step);
  out.y = static_cast<float>((sample_y + offset[1]) * op.step);
  out.size = static_cast<float>(op.layer[layer].size + offset[2] * size_step);
  out.response = block[13];
  out.laplacian = laplacian;
  out.octave = octave;
  out.layer = layer;
  out.sample_x = sample_x;
  out.sample_y = sample_y;
  return true;
}

std::vector<HessianKeypoint> finalize_candidates(const std::vector<HessianCandidate>& candidates,
                                                 const HessianPlan& plan) {
  std::vector<HessianKeypoint> keypoints;
  keypoints.reserve(candidates.size());
  HessianKeypoint kp;
  for (const HessianCandidate& c : candidates) {
    if (make_keypoint(c.octave, c.layer, c.sample_x, c.sample_y, c.laplacian, c.block, plan, kp)) {
      keypoints.push_back(kp);
    }
  }
  const auto key = [](const HessianKeypoint& k) {
    return std::make_tuple(k.octave, k.layer, k.sample_y, k.sample_x);
  };
  std::sort(keypoints.begin(), keypoints.end(),
            [&key](const HessianKeypoint& a, const HessianKeypoint& b) { return key(a) < key(b); });
  return keypoints;
}

void integral_u32(const std::uint8_t* src, int width, std::ptrdiff_t stride_bytes, int y_begin,
                  int y_end, std::uint32_t* ii, std::ptrdiff_t ii_stride) {
  std::fill(ii, ii + width + 1, 0u);
  for (int t = 1; t <= y_end - y_begin; ++t) {
    const std::uint8_t* row = src + static_cast<std::ptrdiff_t>(y_begin + t - 1) * stride_bytes;
    const std::uint32_t* above = ii + static_cast<std::ptrdiff_t>(t - 1) * ii_stride;
    std::uint32_t* out = ii + static_cast<std::ptrdiff_t>(t) * ii_stride;
    std::uint32_t run = 0;  // wraps modulo 2^32 like the rest of the image
    out[0] = 0;
    for (int x = 0; x < width; ++x) {
      run += row[x];
      out[x + 1] = above[x + 1] + run;
    }
  }
}

std::vector<HessianKeypoint> fast_hessian_u8_cuda_tiled(const std::uint8_t* src, int width, int height,
                                                        std::ptrdiff_t stride_bytes, const HessianParams& params,
                                                        std::int64_t tile_pixels, int candidate_capacity) {
  validate_hessian_args(src, width, height, stride_bytes, params);
  RIDE_EXPECTS(tile_pixels >= 1, "fast-Hessian (CUDA): tile_pixels must be >= 1");
  RIDE_EXPECTS(candidate_capacity >= 0, "fast-Hessian (CUDA): candidate_capacity must be >= 0");
  require_cuda_device("fast-Hessian");
  if (width == 0 || height == 0) return {};
#if RIDE_HAVE_CUDA
  return fast_hessian_u8_cuda_run(HessianFrame{src, width, height, stride_bytes}, params, tile_pixels,
                                  candidate_capacity);
#else
  return {};  // not reached: require_cuda_device throws in a build without CUDA
#endif
}

}  // namespace ride::kernels::detail

namespace ride::kernels {

// One public GPU entry point for both builds.
std::vector<HessianKeypoint> fast_hessian_u8_cuda(const std::uint8_t* src, int width, int height,
                                                  std::ptrdiff_t stride_bytes,
                                                  const HessianParams& params) {
  return detail::fast_hessian_u8_cuda_tiled(src, width, height, stride_bytes, params,
                                            detail::kDefaultHessianTilePixels, 0);
}

}  // namespace ride::kernels

/// CPU executor of the fast-Hessian detector. The frame is cut into bands of rows; a band
/// builds the integral image of its rows plus a halo, the det(H) rows of every layer that its
/// candidate rows need (32 grid rows at a time), and runs the 3x3x3 test on them. Bands are
/// independent (box sums are exact whatever row the partial integral image starts at), so
/// threads take bands in any order; the keypoints are collected per (band, octave, layer) and
/// concatenated in order, so the result does not depend on the thread count or the band
/// height, and needs no sort.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "core/error.h"
#include "kernels/common/cpu_clones.h"
#include "kernels/common/parallel_bands.h"
#include "kernels/hessian/hessian.h"
#include "kernels/hessian/hessian_detail.h"
#include "kernels/hessian/hessian_math.h"

// det(H) rows are the hot loop; wider vectors help it, hence RIDE_CPU_CLONES on the row
// function (as stddev does). None of the clone targets enables FMA, and the library is built
// with -ffp-contract=off anyway.

namespace ride::kernels {
namespace {

using detail::HessianPlan;
using detail::OctavePlan;
using hessian_math::BoxLayer;

/// Pixels per band (rows times width) when the thread count does not ask for smaller bands:
/// bounds memory (4 bytes of integral image per pixel of band and halo, per thread) while
/// keeping the halo rows that every band integrates again a modest overhead.
constexpr std::int64_t kBandPixels = std::int64_t{1} << 23;

struct Frame {
  const std::uint8_t* src;
  int width;
  int height;
  std::ptrdiff_t stride;
};

/// Grid rows of det maps computed at a time: the maps of all layers for this many rows stay in
/// the L2 cache between the det pass and the 3x3x3 pass; each chunk recomputes 2 rows per layer.
constexpr int kChunkGridRows = 32;

/// Grow-only array that leaves new elements uninitialised: every element is written before it
/// is read, and zero-filling would cost one more pass over the band's integral image.
template <class T>
class Scratch {
 public:
  T* reserve(std::size_t count) {
    if (count > capacity_) {
      data_.reset(new T[count]);
      capacity_ = count;
    }
    return data_.get();
  }

 private:
  std::unique_ptr<T[]> data_;
  std::size_t capacity_ = 0;
};

/// Scratch of one worker, reused across its bands.
struct BandScratch {
  Scratch<std::uint32_t> integral;
  Scratch<float> maps;
  Scratch<std::uint8_t> hints;
};

// hint[j] = 1 where center[j] passes the threshold and beats its row neighbours, the first
// checks of is_strict_maximum_3x3x3 (which still decides): a branch-free pass that vectorises,
// so that the scalar 3x3x3 test runs only on the few samples that pass it.
RIDE_CPU_CLONES void prefilter_row(const float* __restrict center, float threshold, int j_begin,
                                   int j_end, std::uint8_t* __restrict hint) {
  for (int j = j_begin; j < j_end; ++j) {
    const float v = center[j];
    hint[j] =
        static_cast<std::uint8_t>((v > threshold) & (v > center[j - 1]) & (v > center[j + 1]));
  }
}

// det(H) of one layer at grid columns [j_begin, j_end) of the grid row whose centre is local
// integral row y; writes out[j]. A compile-time step lets GCC vectorise the strided loads.
template <int kStep>
RIDE_INLINE void det_row_fixed(const std::uint32_t* ii, std::ptrdiff_t ii_stride, int y,
                               int j_begin, int j_end, BoxLayer g, float* __restrict out) {
  for (int j = j_begin; j < j_end; ++j) {
    out[j] = hessian_math::hessian_det(
        hessian_math::hessian_numerators(ii, ii_stride, j * kStep, y, g.lobe), g.inv_area_xx,
        g.inv_area_xy);
  }
}

RIDE_CPU_CLONES void det_row(const std::uint32_t* ii, std::ptrdiff_t ii_stride, int y, int step,
                             int j_begin, int j_end, BoxLayer g, float* __restrict out) {
  switch (step) {
    case 1:
      return det_row_fixed<1>(ii, ii_stride, y, j_begin, j_end, g, out);
    case 2:
      return det_row_fixed<2>(ii, ii_stride, y, j_begin, j_end, g, out);
    case 4:
      return det_row_fixed<4>(ii, ii_stride, y, j_begin, j_end, g, out);
    case 8:
      return det_row_fixed<8>(ii, ii_stride, y, j_begin, j_end, g, out);
    default:
      break;
  }
  for (int j = j_begin; j < j_end; ++j) {
    out[j] = hessian_math::hessian_det(
        hessian_math::hessian_numerators(ii, ii_stride, j * step, y, g.lobe), g.inv_area_xx,
        g.inv_area_xy);
  }
}

/// Keypoints of one band, one list per (octave, layer), each in (sample_y, sample_x) order.
/// Bands cover increasing rows, so concatenating the lists of all bands per (octave, layer)
/// gives the documented order without a sort.
using BandKeypoints = std::vector<std::vector<HessianKeypoint>>;

std::size_t list_index(int octave, int layer) {
  return static_cast<std::size_t>(octave * detail::kMaxHessianLayers + layer);
}

// Keypoints of one octave whose grid row i has i*s in [y0, y1), appended to out in (layer,
// sample_y, sample_x) order. ii holds frame rows from y_base on.
void octave_band(const HessianPlan& plan, const OctavePlan& op, int y0, int y1,
                 const std::uint32_t* ii, std::ptrdiff_t ii_stride, int y_base,
                 BandScratch& scratch, BandKeypoints& out) {
  const float threshold = plan.threshold_f;
  const detail::OctaveBand band = detail::plan_octave_band(op, y0, y1);
  if (!band.any) return;
  const int s = op.step;
  const std::ptrdiff_t map_stride = op.samples_x;
  const std::ptrdiff_t map_size = std::ptrdiff_t{band.map_rows} * map_stride;
  float* maps = scratch.maps.reserve(static_cast<std::size_t>(map_size * op.layers));
  const auto map_at = [&](int k, int i) {
    return maps + k * map_size + (i - band.map_row0) * map_stride;
  };

  for (int k = 0; k < op.layers; ++k) {
    for (int i = band.det_rows[k].begin; i < band.det_rows[k].end; ++i) {
      det_row(ii, ii_stride, i * s - y_base, s, band.det_cols[k].begin, band.det_cols[k].end,
              op.layer[k], map_at(k, i));
    }
  }

  for (int l = 1; l + 1 < op.layers; ++l) {
    if (!band.active[l]) continue;
    for (int i = band.rows[l].begin; i < band.rows[l].end; ++i) {
      const float* below = map_at(l - 1, i);
      const float* center = map_at(l, i);
      const float* above = map_at(l + 1, i);
      const int j_begin = op.cand_x[l].begin;
      const int j_end = op.cand_x[l].end;
      std::uint8_t* hint = scratch.hints.reserve(static_cast<std::size_t>(j_end));
      prefilter_row(center, threshold, j_begin, j_end, hint);
      for (int j = j_begin; j < j_end; ++j) {
        // Most hints are zero: skip them eight at a time.
        while (j + 8 <= j_end) {
          std::uint64_t word;
          std::memcpy(&word, hint + j, sizeof word);
          if (word != 0) break;
          j += 8;
        }
        if (j >= j_end) break;
        if (hint[j] == 0 || !hessian_math::is_strict_maximum_3x3x3(below + j, center + j, above + j,
                                                                   map_stride, threshold)) {
          continue;
        }
        const int laplacian = hessian_math::laplacian_sign(hessian_math::hessian_numerators(
            ii, ii_stride, j * s, i * s - y_base, op.layer[l].lobe));
        float block[27];
        hessian_math::gather_3x3x3(below + j, center + j, above + j, map_stride, block);
        HessianKeypoint kp;
        if (detail::make_keypoint(op.octave, l, j, i, laplacian, block, plan, kp)) {
          out[list_index(op.octave, l)].push_back(kp);
        }
      }
    }
  }
}

// All keypoints whose grid row lies in frame rows [y0, y1).
void process_band(const Frame& f, const HessianPlan& plan, int y0, int y1, BandScratch& scratch,
                  BandKeypoints& out) {
  const int y_base = std::max(0, y0 - plan.halo);
  const int y_top = std::min(f.height, y1 + plan.halo);
  const std::ptrdiff_t ii_stride = std::ptrdiff_t{f.width} + 1;
  std::uint32_t* ii =
      scratch.integral.reserve(static_cast<std::size_t>((y_top - y_base + 1) * ii_stride));
  detail::integral_u32(f.src, f.width, f.stride, y_base, y_top, ii, ii_stride);
  for (int o = 0; o < plan.octaves; ++o) {
    const OctavePlan& op = plan.octave[o];
    if (!op.has_candidates) continue;
    const int chunk = kChunkGridRows * op.step;
    for (int c0 = y0; c0 < y1; c0 += chunk) {
      octave_band(plan, op, c0, std::min(y1, c0 + chunk), ii, ii_stride, y_base, scratch, out);
    }
  }
}

int default_band_rows(int width, int height, int halo, int threads) {
  std::int64_t rows = std::max<std::int64_t>(2 * std::int64_t{halo}, kBandPixels / width);
  rows = std::clamp<std::int64_t>(rows, 1, height);
  if (threads > 1) {
    // A multiple of `threads` bands of equal height keeps every thread busy to the end.
    std::int64_t bands = (height + rows - 1) / rows;
    bands = (bands + threads - 1) / threads * threads;
    rows = std::max<std::int64_t>(1, (height + bands - 1) / bands);
  }
  return static_cast<int>(rows);
}

std::vector<HessianKeypoint> run_bands(const Frame& f, const HessianPlan& plan, int threads,
                                       int band_rows) {
  const int bands = (f.height + band_rows - 1) / band_rows;
  std::vector<BandKeypoints> found(static_cast<std::size_t>(bands));
  // Threads take bands in turn, each reusing its scratch across its bands.
  parallel_items(bands, threads, [&](const auto& take_band) {
    BandScratch scratch;
    for (int b = take_band(); b >= 0; b = take_band()) {
      const int y0 = b * band_rows;
      const int y1 = std::min(f.height, y0 + band_rows);
      BandKeypoints& lists = found[static_cast<std::size_t>(b)];
      lists.resize(list_index(detail::kMaxHessianOctaves, 0));
      process_band(f, plan, y0, y1, scratch, lists);
    }
  });
  std::size_t total = 0;
  for (const BandKeypoints& lists : found) {
    for (const auto& list : lists) total += list.size();
  }
  std::vector<HessianKeypoint> keypoints;
  keypoints.reserve(total);
  for (int o = 0; o < plan.octaves; ++o) {
    for (int l = 1; l + 1 < plan.octave[o].layers; ++l) {
      for (BandKeypoints& lists : found) {
        std::vector<HessianKeypoint>& list = lists[list_index(o, l)];
        keypoints.insert(keypoints.end(), list.begin(), list.end());
        std::vector<HessianKeypoint>().swap(list);  // frees as it goes: peak memory ~ 2x output
      }
    }
  }
  return keypoints;
}

}  // namespace

namespace detail {

std::vector<HessianKeypoint> fast_hessian_u8_banded(const std::uint8_t* src, int width, int height,
                                                    std::ptrdiff_t stride_bytes,
                                                    const HessianParams& params, int threads,
                                                    int band_rows) {
  validate_hessian_args(src, width, height, stride_bytes, params);
  RIDE_EXPECTS(band_rows >= 1, "fast-Hessian: band_rows must be >= 1, got " << band_rows);
  if (width == 0 || height == 0) return {};
  const HessianPlan plan = make_hessian_plan(width, height, params);
  return run_bands(Frame{src, width, height, stride_bytes}, plan, threads, band_rows);
}

}  // namespace detail

std::vector<HessianKeypoint> fast_hessian_u8(const std::uint8_t* src, int width, int height,
                                             std::ptrdiff_t stride_bytes,
                                             const HessianParams& params, int threads) {
  detail::validate_hessian_args(src, width, height, stride_bytes, params);
  if (width == 0 || height == 0) return {};
  const HessianPlan plan = detail::make_hessian_plan(width, height, params);
  bool any = false;
  for (int o = 0; o < plan.octaves; ++o) any = any || plan.octave[o].has_candidates;
  if (!any) return {};
  const Frame frame{src, width, height, stride_bytes};
  return run_bands(frame, plan, threads,
                   default_band_rows(width, height, plan.halo, std::max(threads, 1)));
}

}  // namespace ride::kernels

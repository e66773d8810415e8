/// CUDA executor of the fast-Hessian detector. The frame is processed in tiles of whole rows
/// (plus the halo of rows the largest filter reads), so grid sizes and allocations stay bounded
/// for any frame, 24160 x 25720 included. Per tile, on the GPU: the integral image modulo 2^32
/// (a column pass, then a warp-scan row pass), the det(H) maps of every layer (the shared
/// hessian_math functions), the 3x3x3 test, and the maxima appended to a candidate buffer with
/// an atomic counter. Two slots (stream, pinned staging, device buffers) alternate so that
/// staging one tile on the host overlaps the copies and kernels of the other. Refinement and
/// ordering run on the host (finalize_candidates), as for the CPU executor.
#include <cuda_runtime.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <vector>

#include "core/error.h"
#include "kernels/common/cuda_error.h"
#include "kernels/common/cuda_resources.h"
#include "kernels/common/cuda_workspace.h"
#include "kernels/hessian/hessian.h"
#include "kernels/hessian/hessian_detail.h"
#include "kernels/hessian/hessian_math.h"
#include "kernels/stddev/stddev.h"

namespace ride::kernels {
namespace {

using detail::HessianCandidate;
using detail::HessianPlan;
using detail::OctaveBand;
using detail::OctavePlan;
using hessian_math::BoxLayer;

constexpr int kBlockX = 32;
constexpr int kBlockY = 8;
constexpr int kColumnBlock = 256;
constexpr int kScanBlock = 256;  // 8 warps, one frame row each
constexpr int kWarp = 32;
// Bounds the tile height so that every grid's y dimension stays below its 65535 limit.
constexpr int kMaxTileRows = 65535;

// Column pass of the integral image: ii[(t+1)*st + x+1] = sum of in[t'][x] for t' <= t (mod
// 2^32), row 0 and column 0 zero. `in` is rows x width bytes, packed. One thread per column,
// so a warp reads and writes contiguous entries.
__global__ void integral_columns_kernel(const std::uint8_t* __restrict__ in, int width, int rows,
                                        std::uint32_t* __restrict__ ii, std::ptrdiff_t st) {
  const int x = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  if (x > width) return;
  ii[x] = 0;
  if (x == 0) {
    for (int t = 1; t <= rows; ++t) ii[t * st] = 0;
    return;
  }
  std::uint32_t run = 0;
#pragma unroll 8  // lets each thread issue several independent loads before it needs them
  for (int t = 0; t < rows; ++t) {
    run += in[static_cast<std::ptrdiff_t>(t) * width + (x - 1)];
    ii[(t + 1) * st + x] = run;
  }
}

// Row pass, in place: each row t in [1, rows] of column sums becomes its prefix sum over
// columns 1..width. One warp per row, 32 columns per step: an inclusive shuffle scan plus the
// carry from the previous step. Wrapping uint32 adds are associative, so the result is the
// same as the sequential sum modulo 2^32.
__global__ void integral_rows_kernel(std::uint32_t* __restrict__ ii, std::ptrdiff_t st, int width,
                                     int rows) {
  const int lane = static_cast<int>(threadIdx.x) % kWarp;
  const int t = static_cast<int>((blockIdx.x * blockDim.x + threadIdx.x) / kWarp) + 1;
  if (t > rows) return;  // the whole warp leaves together
  std::uint32_t* row = ii + t * st;
  std::uint32_t carry = 0;
  for (int base = 1; base <= width; base += kWarp) {
    const int x = base + lane;
    std::uint32_t v = x <= width ? row[x] : 0u;
    for (int d = 1; d < kWarp; d <<= 1) {
      const std::uint32_t n = __shfl_up_sync(0xffffffffu, v, d);
      if (lane >= d) v += n;
    }
    v += carry;
    if (x <= width) row[x] = v;
    carry = __shfl_sync(0xffffffffu, v, kWarp - 1);
  }
}

// det(H) of one layer at grid rows [i_begin, i_end) and columns [j_begin, j_end):
// map[(i - map_row0) * map_stride + j]. ii holds frame rows from y_base on.
__global__ void det_kernel(const std::uint32_t* __restrict__ ii, std::ptrdiff_t ii_stride,
                           int y_base, int step, BoxLayer g, int i_begin, int i_end, int j_begin,
                           int j_end, float* __restrict__ map, int map_row0,
                           std::ptrdiff_t map_stride) {
  const int j = j_begin + static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  const int i = i_begin + static_cast<int>(blockIdx.y * blockDim.y + threadIdx.y);
  if (j >= j_end || i >= i_end) return;
  const hessian_math::HessianNumerators n =
      hessian_math::hessian_numerators(ii, ii_stride, j * step, i * step - y_base, g.lobe);
  map[(i - map_row0) * map_stride + j] = hessian_math::hessian_det(n, g.inv_area_xx, g.inv_area_xy);
}

struct NmsArgs {
  int octave;
  int layer;
  int lobe;  // of `layer`, for the Laplacian sign
  int step;
  int i_begin, i_end, j_begin, j_end;  // candidate rows and columns
  int map_row0;
  std::ptrdiff_t map_stride;
  std::ptrdiff_t map_size;  // entries per layer map
  float threshold;          // HessianPlan::threshold_f
  int y_base;
  std::ptrdiff_t ii_stride;
  int capacity;
};

// 3x3x3 test of one interior layer; maxima go to out[atomicAdd(count, 1)] while there is room
// (the count keeps growing past capacity so the host knows how much room a rerun needs).
__global__ void nms_kernel(const float* __restrict__ maps, const std::uint32_t* __restrict__ ii,
                           NmsArgs a, HessianCandidate* __restrict__ out,
                           unsigned int* __restrict__ count) {
  const int j = a.j_begin + static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  const int i = a.i_begin + static_cast<int>(blockIdx.y * blockDim.y + threadIdx.y);
  if (j >= a.j_end || i >= a.i_end) return;
  const float* center = maps + a.layer * a.map_size + (i - a.map_row0) * a.map_stride + j;
  const float* below = center - a.map_size;
  const float* above = center + a.map_size;
  if (!hessian_math::is_strict_maximum_3x3x3(below, center, above, a.map_stride, a.threshold)) {
    return;
  }
  const unsigned int slot = atomicAdd(count, 1u);
  if (slot >= static_cast<unsigned int>(a.capacity)) return;
  HessianCandidate& c = out[slot];
  c.octave = a.octave;
  c.layer = a.layer;
  c.sample_x = j;
  c.sample_y = i;
  c.laplacian = hessian_math::laplacian_sign(
      hessian_math::hessian_numerators(ii, a.ii_stride, j * a.step, i * a.step - a.y_base, a.lobe));
  hessian_math::gather_3x3x3(below, center, above, a.map_stride, c.block);
}

dim3 grid_2d(int cols, int rows) {
  return dim3(static_cast<unsigned>((cols + kBlockX - 1) / kBlockX),
              static_cast<unsigned>((rows + kBlockY - 1) / kBlockY));
}

struct Tile {
  int y0 = 0;  // candidate rows: grid rows i with i*step in [y0, y1)
  int y1 = 0;
  int y_base = 0;  // frame rows [y_base, y_top) are uploaded
  int y_top = 0;
};

// One half of the double buffer.
struct Slot {
  cuda::Stream stream;
  cuda::Event done;  // recorded after the candidate count's copy to the host
  cuda::PinnedBuffer<std::uint8_t> host_in;
  cuda::PinnedBuffer<unsigned int> host_count;
  cuda::PinnedBuffer<HessianCandidate> host_candidates;
  cuda::DeviceBuffer<std::uint8_t> dev_in;
  cuda::DeviceBuffer<std::uint32_t> dev_integral;
  cuda::DeviceBuffer<float> dev_maps;
  cuda::DeviceBuffer<unsigned int> dev_count;
  cuda::DeviceBuffer<HessianCandidate> dev_candidates;
  int capacity = 0;
  std::optional<Tile> pending;  // tile whose candidates have not been collected yet
};

// Cached per host thread and device (cuda::workspace_for_current_device).
struct Workspace {
  explicit Workspace(int dev) : device(dev) {}
  int device;
  std::array<Slot, 2> slots;
  // Candidate room per tile that automatic calls start with: grows to what earlier frames
  // needed, so a stream of busy frames reruns tiles only until it has learnt their size.
  int learned_capacity = detail::kDefaultHessianCandidateCapacity;
};

using Frame = detail::HessianFrame;

// Room for `capacity` candidates; the buffers may be larger (cached), the limit is exact.
void reserve_candidates(Slot& slot, int capacity) {
  slot.dev_candidates.reserve(static_cast<std::size_t>(capacity));
  slot.host_candidates.reserve(static_cast<std::size_t>(capacity));
  slot.capacity = capacity;
}

// Kernels of one tile whose input rows are already on the device (or queued before them on
// the slot's stream), then the candidate count's copy to the host and the `done` event.
void enqueue_compute(const Frame& f, const HessianPlan& plan, Slot& slot, const Tile& tile) {
  const cudaStream_t s = slot.stream.get();
  const int in_rows = tile.y_top - tile.y_base;
  const std::ptrdiff_t ii_stride = std::ptrdiff_t{f.width} + 1;
  std::uint32_t* ii = slot.dev_integral.data();
  RIDE_CUDA_TRY(cudaMemsetAsync(slot.dev_count.data(), 0, sizeof(unsigned int), s));
  integral_columns_kernel<<<(f.width + 1 + kColumnBlock - 1) / kColumnBlock, kColumnBlock, 0, s>>>(
      slot.dev_in.data(), f.width, in_rows, ii, ii_stride);
  RIDE_CUDA_TRY(cudaGetLastError());
  const int rows_per_block = kScanBlock / kWarp;
  integral_rows_kernel<<<(in_rows + rows_per_block - 1) / rows_per_block, kScanBlock, 0, s>>>(
      ii, ii_stride, f.width, in_rows);
  RIDE_CUDA_TRY(cudaGetLastError());

  const dim3 block(kBlockX, kBlockY);
  for (int o = 0; o < plan.octaves; ++o) {
    const OctavePlan& op = plan.octave[o];
    if (!op.has_candidates) continue;
    const OctaveBand band = detail::plan_octave_band(op, tile.y0, tile.y1);
    if (!band.any) continue;
    const std::ptrdiff_t map_stride = op.samples_x;
    const std::ptrdiff_t map_size = std::ptrdiff_t{band.map_rows} * map_stride;
    float* maps = slot.dev_maps.data();
    for (int k = 0; k < op.layers; ++k) {
      const detail::IndexRange rows = band.det_rows[k];
      const detail::IndexRange cols = band.det_cols[k];
      if (rows.empty() || cols.empty()) continue;
      det_kernel<<<grid_2d(cols.end - cols.begin, rows.end - rows.begin), block, 0, s>>>(
          ii, ii_stride, tile.y_base, op.step, op.layer[k], rows.begin, rows.end, cols.begin,
          cols.end, maps + k * map_size, band.map_row0, map_stride);
      RIDE_CUDA_TRY(cudaGetLastError());
    }
    for (int l = 1; l + 1 < op.layers; ++l) {
      if (!band.active[l]) continue;
      NmsArgs a{};
      a.octave = o;
      a.layer = l;
      a.lobe = op.layer[l].lobe;
      a.step = op.step;
      a.i_begin = band.rows[l].begin;
      a.i_end = band.rows[l].end;
      a.j_begin = op.cand_x[l].begin;
      a.j_end = op.cand_x[l].end;
      a.map_row0 = band.map_row0;
      a.map_stride = map_stride;
      a.map_size = map_size;
      a.threshold = plan.threshold_f;
      a.y_base = tile.y_base;
      a.ii_stride = ii_stride;
      a.capacity = slot.capacity;
      nms_kernel<<<grid_2d(a.j_end - a.j_begin, a.i_end - a.i_begin), block, 0, s>>>(
          maps, ii, a, slot.dev_candidates.data(), slot.dev_count.data());
      RIDE_CUDA_TRY(cudaGetLastError());
    }
  }
  RIDE_CUDA_TRY(cudaMemcpyAsync(slot.host_count.data(), slot.dev_count.data(), sizeof(unsigned int),
                                cudaMemcpyDeviceToHost, s));
  slot.done.record(s);
}

// Largest det-map footprint (entries, all layers) of any octave for a tile of candidate rows
// [y0, y1).
std::size_t map_entries(const HessianPlan& plan, int y0, int y1) {
  std::size_t most = 0;
  for (int o = 0; o < plan.octaves; ++o) {
    const OctavePlan& op = plan.octave[o];
    if (!op.has_candidates) continue;
    const OctaveBand band = detail::plan_octave_band(op, y0, y1);
    if (!band.any) continue;
    most = std::max(most, static_cast<std::size_t>(band.map_rows) *
                              static_cast<std::size_t>(op.samples_x) *
                              static_cast<std::size_t>(op.layers));
  }
  return most;
}

void enqueue_tile(const Frame& f, const HessianPlan& plan, Slot& slot, const Tile& tile) {
  const auto width = static_cast<std::size_t>(f.width);
  const auto in_rows = static_cast<std::size_t>(tile.y_top - tile.y_base);
  slot.host_in.reserve(in_rows * width);
  slot.dev_in.reserve(in_rows * width);
  slot.dev_integral.reserve((in_rows + 1) * (width + 1));
  slot.dev_maps.reserve(std::max<std::size_t>(1, map_entries(plan, tile.y0, tile.y1)));
  slot.dev_count.reserve(1);
  slot.host_count.reserve(1);
  // Gather the tile's rows into one packed pinned block, then one asynchronous upload.
  for (std::size_t t = 0; t < in_rows; ++t) {
    std::memcpy(slot.host_in.data() + t * width,
                f.src + static_cast<std::ptrdiff_t>(tile.y_base + static_cast<int>(t)) * f.stride,
                width);
  }
  RIDE_CUDA_TRY(cudaMemcpyAsync(slot.dev_in.data(), slot.host_in.data(), in_rows * width,
                                cudaMemcpyHostToDevice, slot.stream.get()));
  enqueue_compute(f, plan, slot, tile);
  slot.pending = tile;
}

// Waits for the slot's pending tile and appends its candidates. After an overflow of the
// candidate buffer the tile's kernels run again (its rows are still on the device) with room
// for all of them: the count does not change between runs.
void retire_tile(const Frame& f, const HessianPlan& plan, Slot& slot,
                 std::vector<HessianCandidate>& out) {
  if (!slot.pending) return;
  slot.done.synchronize();
  const Tile tile = *slot.pending;
  slot.pending.reset();
  unsigned int found = *slot.host_count.data();
  if (found > static_cast<unsigned int>(slot.capacity)) {
    reserve_candidates(slot, static_cast<int>(found + found / 4));
    enqueue_compute(f, plan, slot, tile);
    slot.done.synchronize();
    found = *slot.host_count.data();
    RIDE_EXPECTS(found <= static_cast<unsigned int>(slot.capacity),
                 "fast-Hessian (CUDA): candidate count changed on rerun");
  }
  if (found == 0) return;
  RIDE_CUDA_TRY(cudaMemcpyAsync(slot.host_candidates.data(), slot.dev_candidates.data(),
                                found * sizeof(HessianCandidate), cudaMemcpyDeviceToHost,
                                slot.stream.get()));
  slot.stream.synchronize();
  out.insert(out.end(), slot.host_candidates.data(), slot.host_candidates.data() + found);
}

}  // namespace

namespace detail {

std::vector<HessianKeypoint> fast_hessian_u8_cuda_run(const HessianFrame& frame, const HessianParams& params,
                                                      std::int64_t tile_pixels, int candidate_capacity) {
  const int width = frame.width, height = frame.height;
  const HessianPlan plan = make_hessian_plan(width, height, params);
  bool any = false;
  for (int o = 0; o < plan.octaves; ++o) any = any || plan.octave[o].has_candidates;
  if (!any) return {};

  const int tile_rows = static_cast<int>(
      std::clamp<std::int64_t>(tile_pixels / width, 1, std::min(height, kMaxTileRows)));
  Workspace& ws = cuda::workspace_for_current_device<Workspace>();
  const int initial = candidate_capacity > 0 ? candidate_capacity : ws.learned_capacity;
  for (Slot& slot : ws.slots) reserve_candidates(slot, initial);
  std::vector<HessianCandidate> candidates;
  cuda::run_two_slots(
      ws.slots, height, tile_rows, [&](Slot& slot) { retire_tile(frame, plan, slot, candidates); },
      [&](Slot& slot, int y, int rows) {
        Tile tile;
        tile.y0 = y;
        tile.y1 = y + rows;
        tile.y_base = std::max(0, tile.y0 - plan.halo);
        tile.y_top = std::min(height, tile.y1 + plan.halo);
        enqueue_tile(frame, plan, slot, tile);
      });
  if (candidate_capacity == 0) {
    for (const Slot& slot : ws.slots) {
      ws.learned_capacity = std::max(ws.learned_capacity, slot.capacity);
    }
  }
  return finalize_candidates(std::move(candidates), plan);
}

}  // namespace detail

}  // namespace ride::kernels

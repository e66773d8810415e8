/// CUDA executor of the standard-deviation filter. The frame is processed in tiles of whole
/// rows so that grid sizes and allocations stay bounded for any frame (24160 x 25720 included).
/// Two slots (stream, pinned staging, device buffers) alternate so that the host staging of one
/// tile overlaps the copies and kernels of the other.
#include <cuda_runtime.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <optional>

#include "core/error.h"
#include "kernels/common/cuda_error.h"
#include "kernels/common/cuda_resources.h"
#include "kernels/common/cuda_workspace.h"
#include "kernels/stddev/stddev.h"
#include "kernels/stddev/stddev_detail.h"
#include "kernels/stddev/stddev_math.h"

namespace ride::kernels {
namespace {

// Output rows each thread of the column-sum kernel slides through.
constexpr int kColumnRowsPerThread = 32;
constexpr int kColumnBlock = 256;
constexpr int kRowBlockX = 32;
constexpr int kRowBlockY = 8;
// Bounds the tile height so that gridDim.y stays far below its 65535 limit.
constexpr int kMaxTileRows = 65535;

// Vertical pass. `in` holds rows + window - 1 input rows (already reflected by the host), pitch
// `width` bytes. col_sum/col_sq[t][x] = sums of x and x^2 over in rows [t, t + window).
// Each thread slides down kColumnRowsPerThread rows of one column; a warp reads contiguous bytes.
__global__ void column_sums_kernel(const std::uint8_t* __restrict__ in, int width, int rows,
                                   int window, std::int32_t* __restrict__ col_sum,
                                   std::int32_t* __restrict__ col_sq) {
  const int x = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  const int t_begin = static_cast<int>(blockIdx.y) * kColumnRowsPerThread;
  if (x >= width || t_begin >= rows) return;
  const int t_end = min(t_begin + kColumnRowsPerThread, rows);
  const auto at = [&](int t) { return static_cast<std::int64_t>(t) * width + x; };
  std::int32_t sum = 0;
  std::int32_t sumsq = 0;
  for (int k = 0; k < window; ++k) {
    const std::int32_t v = in[at(t_begin + k)];
    sum += v;
    sumsq += v * v;
  }
  for (int t = t_begin; t < t_end; ++t) {
    col_sum[at(t)] = sum;
    col_sq[at(t)] = sumsq;
    if (t + 1 < t_end) {
      const std::int32_t entering = in[at(t + window)];
      const std::int32_t leaving = in[at(t)];
      sum += entering - leaving;
      sumsq += entering * entering - leaving * leaving;
    }
  }
}

// Horizontal pass: one thread per output pixel sums `window` column sums (reflect-101 at the
// left and right edges) and applies the shared formula.
__global__ void row_std_kernel(const std::int32_t* __restrict__ col_sum,
                               const std::int32_t* __restrict__ col_sq, int width, int rows,
                               int window, float* __restrict__ out) {
  const int x = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  const int t = static_cast<int>(blockIdx.y * blockDim.y + threadIdx.y);
  if (x >= width || t >= rows) return;
  const std::int64_t row = static_cast<std::int64_t>(t) * width;
  const std::int32_t* cs = col_sum + row;
  const std::int32_t* cq = col_sq + row;
  const int radius = window / 2;
  std::int64_t sum = 0;
  std::int64_t sumsq = 0;
  if (x - radius >= 0 && x + radius < width) {
    for (int k = x - radius; k <= x + radius; ++k) {
      sum += cs[k];
      sumsq += cq[k];
    }
  } else {
    for (int k = x - radius; k <= x + radius; ++k) {
      const int c = reflect101(k, width);
      sum += cs[c];
      sumsq += cq[c];
    }
  }
  out[row + x] = std_from_sums(std::int64_t{window} * window, sum, sumsq);
}

struct Tile {
  int y_begin = 0;
  int rows = 0;
};

// One half of the double buffer.
struct Slot {
  cuda::Stream stream;
  cuda::Event done;  // recorded after the tile's device-to-host copy
  cuda::PinnedBuffer<std::uint8_t> host_in;
  cuda::PinnedBuffer<float> host_out;
  cuda::DeviceBuffer<std::uint8_t> dev_in;
  cuda::DeviceBuffer<std::int32_t> dev_col_sum;
  cuda::DeviceBuffer<std::int32_t> dev_col_sq;
  cuda::DeviceBuffer<float> dev_out;
  std::optional<Tile> pending;  // tile whose output has not been copied to dst yet
};

// Cached per host thread and device (cuda::workspace_for_current_device).
struct Workspace {
  explicit Workspace(int dev) : device(dev) {}
  int device;
  std::array<Slot, 2> slots;
};

struct Frame {
  const std::uint8_t* src;
  int width;
  int height;
  std::ptrdiff_t src_stride;
  int window;
  float* dst;
  std::ptrdiff_t dst_stride;
};

void enqueue_tile(const Frame& f, Slot& slot, Tile tile) {
  const int radius = f.window / 2;
  const int in_rows = tile.rows + 2 * radius;
  const auto width = static_cast<std::size_t>(f.width);
  const std::size_t in_count = static_cast<std::size_t>(in_rows) * width;
  const std::size_t out_count = static_cast<std::size_t>(tile.rows) * width;
  slot.host_in.reserve(in_count);
  slot.host_out.reserve(out_count);
  slot.dev_in.reserve(in_count);
  slot.dev_col_sum.reserve(out_count);
  slot.dev_col_sq.reserve(out_count);
  slot.dev_out.reserve(out_count);

  // Gather the input rows the tile needs, reflected vertically, into one packed pinned block.
  for (int i = 0; i < in_rows; ++i) {
    const int y = reflect101(tile.y_begin - radius + i, f.height);
    std::memcpy(slot.host_in.data() + static_cast<std::size_t>(i) * width,
                f.src + static_cast<std::ptrdiff_t>(y) * f.src_stride, width);
  }
  const cudaStream_t s = slot.stream.get();
  RIDE_CUDA_TRY(cudaMemcpyAsync(slot.dev_in.data(), slot.host_in.data(), in_count,
                                cudaMemcpyHostToDevice, s));
  const dim3 column_grid((f.width + kColumnBlock - 1) / kColumnBlock,
                         (tile.rows + kColumnRowsPerThread - 1) / kColumnRowsPerThread);
  column_sums_kernel<<<column_grid, kColumnBlock, 0, s>>>(slot.dev_in.data(), f.width, tile.rows,
                                                          f.window, slot.dev_col_sum.data(),
                                                          slot.dev_col_sq.data());
  RIDE_CUDA_TRY(cudaGetLastError());
  const dim3 row_block(kRowBlockX, kRowBlockY);
  const dim3 row_grid((f.width + kRowBlockX - 1) / kRowBlockX,
                      (tile.rows + kRowBlockY - 1) / kRowBlockY);
  row_std_kernel<<<row_grid, row_block, 0, s>>>(slot.dev_col_sum.data(), slot.dev_col_sq.data(),
                                                f.width, tile.rows, f.window, slot.dev_out.data());
  RIDE_CUDA_TRY(cudaGetLastError());
  RIDE_CUDA_TRY(cudaMemcpyAsync(slot.host_out.data(), slot.dev_out.data(),
                                out_count * sizeof(float), cudaMemcpyDeviceToHost, s));
  slot.done.record(s);
  slot.pending = tile;
}

// Waits for the slot's pending tile and copies it from pinned memory into dst.
void retire_tile(const Frame& f, Slot& slot) {
  if (!slot.pending) return;
  slot.done.synchronize();
  const Tile tile = *slot.pending;
  slot.pending.reset();
  const auto width = static_cast<std::size_t>(f.width);
  for (int i = 0; i < tile.rows; ++i) {
    std::memcpy(f.dst + static_cast<std::ptrdiff_t>(tile.y_begin + i) * f.dst_stride,
                slot.host_out.data() + static_cast<std::size_t>(i) * width, width * sizeof(float));
  }
}

}  // namespace

namespace detail {

void stddev_filter_u8_cuda_run(const std::uint8_t* src, int width, int height, std::ptrdiff_t src_stride_bytes,
                               int window, float* dst, std::ptrdiff_t dst_stride_elems, std::int64_t tile_pixels) {
  const Frame frame{src, width, height, src_stride_bytes, window, dst, dst_stride_elems};
  const int tile_rows = static_cast<int>(
      std::clamp<std::int64_t>(tile_pixels / width, 1, std::min(height, kMaxTileRows)));
  Workspace& ws = cuda::workspace_for_current_device<Workspace>();
  cuda::run_two_slots(
      ws.slots, height, tile_rows, [&](Slot& slot) { retire_tile(frame, slot); },
      [&](Slot& slot, int y, int rows) {
        enqueue_tile(frame, slot, Tile{y, rows});
      });
}

}  // namespace detail

}  // namespace ride::kernels

/// CUDA executor of the matmul task. B lives on the device across frames; the frame goes through
/// in bands of whole rows. Two slots (stream, cuBLAS handle, pinned staging, device buffers)
/// alternate so that the host staging of one band overlaps the copies and the GEMM of the other.
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "core/error.h"
#include "kernels/common/cublas_error.h"
#include "kernels/common/cublas_lazy.h"
#include "kernels/common/cuda_error.h"
#include "kernels/common/cuda_launch.h"
#include "kernels/common/cuda_resources.h"
#include "kernels/common/cuda_workspace.h"
#include "kernels/matmul/matmul.h"
#include "kernels/matmul/matmul_detail.h"
#include "kernels/matmul/matmul_math.h"
#include "kernels/stddev/stddev.h"

namespace ride::kernels {
namespace {

using cuda::blocks_for;
using cuda::kBlock;

// B (width x cols, row-major) from the shared hash: the same bits as matmul_fill_weights.
__global__ void fill_weights_kernel(float* __restrict__ b, std::int64_t count, int cols,
                                    std::uint64_t seed_mix) {
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count;
       i += stride) {
    const auto row = static_cast<std::uint64_t>(i / cols);
    const auto col = static_cast<std::uint64_t>(i % cols);
    b[i] = matmul_weight_mixed(row, col, seed_mix);
  }
}

// A band's pixels as floats v / 255 (u8_to_unit), packed rows in, packed rows out.
__global__ void convert_kernel(const std::uint8_t* __restrict__ in, std::int64_t count,
                               float* __restrict__ out) {
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count;
       i += stride) {
    out[i] = u8_to_unit(in[i]);
  }
}

/// @brief RAII owner of a cuBLAS handle bound to one stream, FP32 math without TF32.
class CublasHandle {
 public:
  explicit CublasHandle(cudaStream_t stream) {
    RIDE_CUBLAS_TRY(cublasCreate(&handle_));
    try {
      RIDE_CUBLAS_TRY(cublasSetStream(handle_, stream));
      RIDE_CUBLAS_TRY(cublasSetMathMode(handle_, CUBLAS_DEFAULT_MATH));
    } catch (...) {
      (void)cublasDestroy(handle_);
      throw;
    }
  }
  ~CublasHandle() {
    if (handle_ != nullptr) (void)cublasDestroy(handle_);
  }
  CublasHandle(const CublasHandle&) = delete;
  CublasHandle& operator=(const CublasHandle&) = delete;
  cublasHandle_t get() const { return handle_; }

 private:
  cublasHandle_t handle_ = nullptr;
};

struct Band {
  int y_begin = 0;
  int rows = 0;
};

// One half of the double buffer; its own handle, so the two streams never share cuBLAS state.
struct Slot {
  Slot() : blas(stream.get()) {}
  cuda::Stream stream;
  CublasHandle blas;
  cuda::Event done;  // recorded after the band's C reached host_out
  cuda::PinnedBuffer<std::uint8_t> host_in;
  cuda::PinnedBuffer<float> host_out;
  cuda::DeviceBuffer<std::uint8_t> dev_in;
  cuda::DeviceBuffer<float> dev_a;
  cuda::DeviceBuffer<float> dev_c;
  std::optional<Band> pending;  // band whose C has not been consumed on the host yet
};

// Cached per host thread and device (cuda::workspace_for_current_device): a stream of
// equal-sized frames allocates (and generates B) on its first frame only.
struct Workspace {
  explicit Workspace(int dev) : device(dev) {}
  int device;
  std::array<Slot, 2> slots;
  cuda::DeviceBuffer<float> b;
  bool b_valid = false;
  int b_width = 0;
  int b_cols = 0;
  std::uint64_t b_seed = 0;
};

const float* device_weights(Workspace& ws, int width, int cols, std::uint64_t seed) {
  if (ws.b_valid && ws.b_width == width && ws.b_cols == cols && ws.b_seed == seed) {
    return ws.b.data();
  }
  ws.b_valid = false;
  const std::int64_t count = std::int64_t{width} * cols;
  ws.b.reserve(static_cast<std::size_t>(count));
  const cuda::Stream& s = ws.slots[0].stream;
  fill_weights_kernel<<<blocks_for(count), kBlock, 0, s.get()>>>(ws.b.data(), count, cols,
                                                                 splitmix64(seed));
  RIDE_CUDA_TRY(cudaGetLastError());
  s.synchronize();  // once per (width, cols, seed); both slots' GEMMs read B afterwards
  ws.b_valid = true;
  ws.b_width = width;
  ws.b_cols = cols;
  ws.b_seed = seed;
  return ws.b.data();
}

struct Frame {
  const std::uint8_t* src;
  int width;
  int height;
  std::ptrdiff_t src_stride;
  int cols;
  float* dst;
  std::ptrdiff_t dst_stride;
  const float* dev_b;
};

void enqueue_band(const Frame& f, Slot& slot, Band band) {
  const auto width = static_cast<std::size_t>(f.width);
  const std::size_t in_count = static_cast<std::size_t>(band.rows) * width;
  const std::size_t out_count =
      static_cast<std::size_t>(band.rows) * static_cast<std::size_t>(f.cols);
  slot.host_in.reserve(in_count);
  slot.host_out.reserve(out_count);
  slot.dev_in.reserve(in_count);
  slot.dev_a.reserve(in_count);
  slot.dev_c.reserve(out_count);

  for (int i = 0; i < band.rows; ++i) {
    std::memcpy(slot.host_in.data() + static_cast<std::size_t>(i) * width,
                f.src + static_cast<std::ptrdiff_t>(band.y_begin + i) * f.src_stride, width);
  }
  const cudaStream_t s = slot.stream.get();
  RIDE_CUDA_TRY(cudaMemcpyAsync(slot.dev_in.data(), slot.host_in.data(), in_count,
                                cudaMemcpyHostToDevice, s));
  const auto count = static_cast<std::int64_t>(in_count);
  convert_kernel<<<blocks_for(count), kBlock, 0, s>>>(slot.dev_in.data(), count, slot.dev_a.data());
  RIDE_CUDA_TRY(cudaGetLastError());
  // cuBLAS is column-major: the row-major band C (rows x cols) is the column-major C^T
  // (cols x rows) = B^T (cols x width) * A^T (width x rows), with B^T and A^T being the row-major
  // B and A read column-major.
  const float one = 1.0f;
  const float zero = 0.0f;
  RIDE_CUBLAS_TRY(cublasSgemm(slot.blas.get(), CUBLAS_OP_N, CUBLAS_OP_N, f.cols, band.rows, f.width,
                              &one, f.dev_b, f.cols, slot.dev_a.data(), f.width, &zero,
                              slot.dev_c.data(), f.cols));
  RIDE_CUDA_TRY(cudaMemcpyAsync(slot.host_out.data(), slot.dev_c.data(), out_count * sizeof(float),
                                cudaMemcpyDeviceToHost, s));
  slot.done.record(s);
  slot.pending = band;
}

// Waits for the slot's pending band, copies its C into dst and takes the row scalars.
void retire_band(const Frame& f, Slot& slot, std::vector<detail::MatmulRowStats>& row_stats) {
  if (!slot.pending) return;
  slot.done.synchronize();
  const Band band = *slot.pending;
  slot.pending.reset();
  for (int i = 0; i < band.rows; ++i) {
    const float* row = slot.host_out.data() + static_cast<std::size_t>(i) * f.cols;
    const int y = band.y_begin + i;
    if (f.dst != nullptr) {
      std::memcpy(f.dst + static_cast<std::ptrdiff_t>(y) * f.dst_stride, row,
                  static_cast<std::size_t>(f.cols) * sizeof(float));
    }
    row_stats[static_cast<std::size_t>(y)] = detail::matmul_row_stats(row, f.cols);
  }
}

int band_rows_for_device(int width, int height, int cols) {
  std::size_t free_bytes = 0;
  std::size_t total_bytes = 0;
  RIDE_CUDA_TRY(cudaMemGetInfo(&free_bytes, &total_bytes));
  const std::int64_t budget = std::min<std::int64_t>(detail::kDefaultCudaBandBytes,
                                                     static_cast<std::int64_t>(free_bytes / 8));
  // Device bytes per row: u8 input, float A, float C.
  const std::int64_t per_row = std::int64_t{width} * 5 + std::int64_t{cols} * 4;
  return static_cast<int>(std::clamp<std::int64_t>(budget / per_row, 1, height));
}

}  // namespace

namespace detail {

MatmulStats matmul_u8_cuda_run(const std::uint8_t* src, int width, int height, std::ptrdiff_t src_stride_bytes,
                               const MatmulParams& params, float* dst, std::ptrdiff_t dst_stride_elems, int band_rows) {
  Workspace& ws = cuda::workspace_for_current_device<Workspace>();
  const float* dev_b = device_weights(ws, width, params.cols, params.seed);
  const Frame frame{src,         width, height,           src_stride_bytes,
                    params.cols, dst,   dst_stride_elems, dev_b};
  const int rows_per_band = band_rows > 0 ? std::min(band_rows, height)
                                          : band_rows_for_device(width, height, params.cols);
  std::vector<MatmulRowStats> row_stats(static_cast<std::size_t>(height));
  cuda::run_two_slots(
      ws.slots, height, rows_per_band, [&](Slot& slot) { retire_band(frame, slot, row_stats); },
      [&](Slot& slot, int y, int rows) {
        enqueue_band(frame, slot, Band{y, rows});
      });
  return combine_matmul_rows(row_stats, params.cols);
}

}  // namespace detail

}  // namespace ride::kernels

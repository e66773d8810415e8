/// CUDA executor of the FFT task: the frame is staged into the device in chunks of rows through
/// two pinned buffers (host copies overlap the transfers), widened into a padded float spectrum
/// buffer, transformed in place by a cached cuFFT R2C plan, reduced to log-magnitudes and row
/// energies by one kernel, and staged back the same way. One stream; no device-wide syncs.
#include <cuda_runtime.h>
#include <cufft.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <utility>
#include <vector>

#include "core/error.h"
#include "kernels/common/cuda_error.h"
#include "kernels/common/cuda_launch.h"
#include "kernels/common/cuda_resources.h"
#include "kernels/common/cuda_workspace.h"
#include "kernels/common/cufft_error.h"
#include "kernels/fft/fft.h"
#include "kernels/fft/fft_detail.h"
#include "kernels/fft/fft_math.h"
#include "kernels/stddev/stddev.h"

namespace ride::kernels {
namespace {

using cuda::blocks_for;
using cuda::kBlock;

// Packed u8 rows [0, rows) of a chunk -> float rows of the padded spectrum buffer (`pitch`
// floats apart, starting at the chunk's first row).
__global__ void widen_kernel(const std::uint8_t* __restrict__ in, int width, std::int64_t rows,
                             std::int64_t pitch, float* __restrict__ out) {
  const std::int64_t count = rows * width;
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count;
       i += stride) {
    const std::int64_t y = i / width;
    const std::int64_t x = i - y * width;
    out[y * pitch + x] = static_cast<float>(in[i]);
  }
}

// One block per spectrum row u: log-magnitudes (when log_magnitude is non-null, packed rows of
// `half` floats) and the row's weighted energy in the low band and outside it (doubles, a
// block-wide tree sum).
__global__ void spectrum_rows_kernel(const float2* __restrict__ spectrum, std::int64_t half,
                                     int width, int height, float* __restrict__ log_magnitude,
                                     double* __restrict__ row_energy) {
  __shared__ double low_sum[kBlock];
  __shared__ double high_sum[kBlock];
  const std::int64_t u = blockIdx.x;
  const float2* row = spectrum + u * half;
  const std::int64_t low_end = fft_low_row(u, height) ? fft_low_columns(width) : 0;
  double low = 0, high = 0;
  for (std::int64_t v = threadIdx.x; v < half; v += blockDim.x) {
    const float2 c = row[v];
    if (log_magnitude != nullptr) log_magnitude[u * half + v] = spectrum_log_magnitude(c.x, c.y);
    const double re = c.x;
    const double im = c.y;
    const double e = spectrum_column_weight(v, width) * (re * re + im * im);
    if (v < low_end) {
      low += e;
    } else {
      high += e;
    }
  }
  low_sum[threadIdx.x] = low;
  high_sum[threadIdx.x] = high;
  __syncthreads();
  for (int s = kBlock / 2; s > 0; s /= 2) {
    if (static_cast<int>(threadIdx.x) < s) {
      low_sum[threadIdx.x] += low_sum[threadIdx.x + s];
      high_sum[threadIdx.x] += high_sum[threadIdx.x + s];
    }
    __syncthreads();
  }
  if (threadIdx.x == 0) {
    row_energy[2 * u] = low_sum[0];
    row_energy[2 * u + 1] = high_sum[0];
  }
}

/// @brief RAII owner of a cuFFT plan: in-place 2-D R2C of a height x width frame whose rows are
/// padded to 2 (width / 2 + 1) floats, 64-bit sizes, bound to one stream.
class CufftPlan {
 public:
  CufftPlan(int width, int height, cudaStream_t stream) {
    RIDE_CUFFT_TRY(cufftCreate(&handle_));
    try {
      const long long half = fft_half_width(width);
      long long n[2] = {height, width};
      long long in_embed[2] = {height, 2 * half};  // real elements, padded rows
      long long out_embed[2] = {height, half};     // complex elements
      std::size_t work_bytes = 0;
      RIDE_CUFFT_TRY(cufftMakePlanMany64(handle_, 2, n, in_embed, 1, height * 2 * half, out_embed,
                                         1, height * half, CUFFT_R2C, 1, &work_bytes));
      RIDE_CUFFT_TRY(cufftSetStream(handle_, stream));
    } catch (...) {
      (void)cufftDestroy(handle_);
      throw;
    }
  }
  ~CufftPlan() { (void)cufftDestroy(handle_); }
  CufftPlan(const CufftPlan&) = delete;
  CufftPlan& operator=(const CufftPlan&) = delete;
  cufftHandle get() const { return handle_; }

 private:
  cufftHandle handle_ = 0;
};

// Staging for one chunk; two of them alternate.
struct StagingSlot {
  cuda::Event done;  // recorded after the last device operation that reads/writes this slot
  bool in_use = false;
  cuda::PinnedBuffer<std::uint8_t> host_in;
  cuda::DeviceBuffer<std::uint8_t> dev_in;
  cuda::PinnedBuffer<float> host_out;
};

// Cached per host thread and device (cuda::workspace_for_current_device): a stream of
// equal-sized frames plans and allocates once.
struct Workspace {
  explicit Workspace(int dev) : device(dev) {}
  int device;
  cuda::Stream stream;
  std::unique_ptr<CufftPlan> plan;
  int plan_width = 0;
  int plan_height = 0;
  cuda::DeviceBuffer<float> spectrum;
  cuda::DeviceBuffer<float> log_magnitude;
  cuda::DeviceBuffer<double> row_energy;
  cuda::PinnedBuffer<double> host_row_energy;
  cuda::PinnedBuffer<float> host_dc;
  std::array<StagingSlot, 2> slots;
};

void wait_slot(StagingSlot& slot) {
  if (slot.in_use) slot.done.synchronize();
  slot.in_use = false;
}

struct Frame {
  const std::uint8_t* src;
  int width;
  int height;
  std::ptrdiff_t src_stride;
  float* dst;
  std::ptrdiff_t dst_stride;
};

void upload(const Frame& f, Workspace& ws, std::int64_t chunk_rows, std::int64_t pitch) {
  const cudaStream_t s = ws.stream.get();
  const auto width = static_cast<std::size_t>(f.width);
  int next = 0;
  for (std::int64_t y0 = 0; y0 < f.height; y0 += chunk_rows) {
    const std::int64_t rows = std::min<std::int64_t>(chunk_rows, f.height - y0);
    StagingSlot& slot = ws.slots[static_cast<std::size_t>(next)];
    next ^= 1;
    wait_slot(slot);  // its previous chunk has left the pinned and device staging
    const std::size_t bytes = static_cast<std::size_t>(rows) * width;
    slot.host_in.reserve(bytes);
    slot.dev_in.reserve(bytes);
    for (std::int64_t i = 0; i < rows; ++i) {
      std::memcpy(slot.host_in.data() + static_cast<std::size_t>(i) * width,
                  f.src + (y0 + i) * f.src_stride, width);
    }
    RIDE_CUDA_TRY(
        cudaMemcpyAsync(slot.dev_in.data(), slot.host_in.data(), bytes, cudaMemcpyHostToDevice, s));
    widen_kernel<<<blocks_for(static_cast<std::int64_t>(bytes)), kBlock, 0, s>>>(
        slot.dev_in.data(), f.width, rows, pitch, ws.spectrum.data() + y0 * pitch);
    RIDE_CUDA_TRY(cudaGetLastError());
    slot.done.record(s);
    slot.in_use = true;
  }
}

void copy_out_chunk(const Frame& f, const StagingSlot& slot, std::int64_t y0, std::int64_t rows,
                    std::int64_t half) {
  for (std::int64_t i = 0; i < rows; ++i) {
    std::memcpy(f.dst + (y0 + i) * f.dst_stride, slot.host_out.data() + i * half,
                static_cast<std::size_t>(half) * sizeof(float));
  }
}

void download(const Frame& f, Workspace& ws, std::int64_t chunk_rows, std::int64_t half) {
  const cudaStream_t s = ws.stream.get();
  struct Pending {
    std::int64_t y0 = 0, rows = 0;
    StagingSlot* slot = nullptr;
  } previous;
  int next = 0;
  for (std::int64_t y0 = 0; y0 < f.height; y0 += chunk_rows) {
    const std::int64_t rows = std::min<std::int64_t>(chunk_rows, f.height - y0);
    StagingSlot& slot = ws.slots[static_cast<std::size_t>(next)];
    next ^= 1;
    wait_slot(slot);  // the host already copied this slot's previous chunk into dst
    const std::size_t count = static_cast<std::size_t>(rows * half);
    slot.host_out.reserve(count);
    RIDE_CUDA_TRY(cudaMemcpyAsync(slot.host_out.data(), ws.log_magnitude.data() + y0 * half,
                                  count * sizeof(float), cudaMemcpyDeviceToHost, s));
    slot.done.record(s);
    slot.in_use = true;
    // While this chunk travels, copy the previous one out of pinned memory.
    if (previous.slot != nullptr) {
      wait_slot(*previous.slot);
      copy_out_chunk(f, *previous.slot, previous.y0, previous.rows, half);
    }
    previous = Pending{y0, rows, &slot};
  }
  if (previous.slot != nullptr) {
    wait_slot(*previous.slot);
    copy_out_chunk(f, *previous.slot, previous.y0, previous.rows, half);
  }
}

}  // namespace

namespace detail {

FftStats fft_log_magnitude_u8_cuda_run(const std::uint8_t* src, int width, int height, std::ptrdiff_t src_stride_bytes,
                                       float* dst, std::ptrdiff_t dst_stride_elems, std::int64_t chunk_rows) {
  const Frame frame{src, width, height, src_stride_bytes, dst, dst_stride_elems};
  const std::int64_t half = fft_half_width(width);
  const std::int64_t pitch = 2 * half;
  const std::int64_t up_rows =
      chunk_rows > 0 ? chunk_rows : std::max<std::int64_t>(1, kDefaultCudaChunkBytes / width);
  const std::int64_t down_rows =
      chunk_rows > 0 ? chunk_rows : std::max<std::int64_t>(1, kDefaultCudaChunkBytes / (half * 4));
  Workspace& ws = cuda::workspace_for_current_device<Workspace>();
  const cudaStream_t s = ws.stream.get();
  try {
    if (!ws.plan || ws.plan_width != width || ws.plan_height != height) {
      ws.plan.reset();  // frees the old work area first
      ws.plan = std::make_unique<CufftPlan>(width, height, s);
      ws.plan_width = width;
      ws.plan_height = height;
    }
    ws.spectrum.reserve(static_cast<std::size_t>(pitch * height));
    if (dst != nullptr) ws.log_magnitude.reserve(static_cast<std::size_t>(half * height));
    ws.row_energy.reserve(static_cast<std::size_t>(2 * std::int64_t{height}));
    ws.host_row_energy.reserve(static_cast<std::size_t>(2 * std::int64_t{height}));
    ws.host_dc.reserve(2);

    upload(frame, ws, up_rows, pitch);
    float* spectrum = ws.spectrum.data();
    RIDE_CUFFT_TRY(
        cufftExecR2C(ws.plan->get(), spectrum, reinterpret_cast<cufftComplex*>(spectrum)));
    spectrum_rows_kernel<<<static_cast<unsigned>(height), kBlock, 0, s>>>(
        reinterpret_cast<const float2*>(spectrum), half, width, height,
        dst != nullptr ? ws.log_magnitude.data() : nullptr, ws.row_energy.data());
    RIDE_CUDA_TRY(cudaGetLastError());
    RIDE_CUDA_TRY(
        cudaMemcpyAsync(ws.host_row_energy.data(), ws.row_energy.data(),
                        static_cast<std::size_t>(2 * std::int64_t{height}) * sizeof(double),
                        cudaMemcpyDeviceToHost, s));
    RIDE_CUDA_TRY(
        cudaMemcpyAsync(ws.host_dc.data(), spectrum, 2 * sizeof(float), cudaMemcpyDeviceToHost, s));
    if (dst != nullptr) download(frame, ws, down_rows, half);
    ws.stream.synchronize();
  } catch (...) {
    // Leave the cached workspace idle so the next call can reuse it.
    (void)cudaStreamSynchronize(s);
    for (StagingSlot& slot : ws.slots) slot.in_use = false;
    throw;
  }
  std::vector<FftRowEnergy> rows(static_cast<std::size_t>(height));
  for (std::size_t u = 0; u < rows.size(); ++u) {
    rows[u] = FftRowEnergy{ws.host_row_energy.data()[2 * u], ws.host_row_energy.data()[2 * u + 1]};
  }
  return combine_fft_rows(rows, ws.host_dc.data()[0], ws.host_dc.data()[1]);
}

}  // namespace detail

}  // namespace ride::kernels

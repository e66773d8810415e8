#include "kernels/common/cuda_device.h"

#include <cuda_runtime_api.h>

#include <cstdint>

#include "core/error.h"
#include "kernels/common/cuda_error.h"

namespace ride::kernels {

bool cuda_compiled() { return true; }

namespace {
__global__ void write_through(float* p) { p[threadIdx.x] = 1.0f; }
}  // namespace

int cuda_device_count() {
  int count = 0;  // left untouched on cudaErrorInsufficientDriver (measured)
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    (void)cudaGetLastError();
    return 0;
  }
  return count;
}

int cuda_bind_device(int local_rank) {
  const int count = cuda_device_count();
  RIDE_EXPECTS(count > 0, "no CUDA device is available on this host");
  const int device = (local_rank < 0 ? 0 : local_rank) % count;
  RIDE_CUDA_TRY(cudaSetDevice(device));
  return device;
}

void cuda_inject_sticky_fault() {
  RIDE_EXPECTS(cuda_device_count() > 0, "CUDA fault injection needs a CUDA device");
  // An address no allocation can own: the write faults and the context becomes unusable.
  auto* bad = reinterpret_cast<float*>(std::uintptr_t{0xdead0000});
  write_through<<<1, 32>>>(bad);
  RIDE_CUDA_TRY(cudaDeviceSynchronize());
  RIDE_FAIL("CUDA fault injection: the invalid write did not fault");
}

}  // namespace ride::kernels

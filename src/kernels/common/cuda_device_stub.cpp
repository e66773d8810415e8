/// Stand-in for cuda_device.cu in builds without a CUDA compiler.
#include "core/error.h"
#include "kernels/common/cuda_device.h"

namespace ride::kernels {

int cuda_device_count() { return 0; }

int cuda_bind_device(int /*local_rank*/) {
  RIDE_FAIL("no CUDA device: this build has no CUDA support");
}

void cuda_inject_sticky_fault() { RIDE_FAIL("CUDA fault injection needs a CUDA build and device"); }

}  // namespace ride::kernels

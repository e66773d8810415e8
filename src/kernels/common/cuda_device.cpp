// What both builds share: the device probe and the check made by every CUDA entry point.
#include "kernels/common/cuda_device.h"

#include "core/error.h"

namespace ride::kernels {

bool cuda_device_available() { return cuda_device_count() > 0; }

void require_cuda_device(const char* what) {
  RIDE_EXPECTS(cuda_compiled(), what << ": the CUDA path was requested but this build has no CUDA "
                                        "support (configure with a CUDA compiler, RIDE_USE_CUDA=AUTO or ON)");
  RIDE_EXPECTS(cuda_device_available(), what << ": the CUDA path was requested but no CUDA device is available");
}

}  // namespace ride::kernels

#pragma once
/// @brief RIDE_CUDA_TRY: turn a failed CUDA runtime call into a ride::Error naming the call, the
/// CUDA error and file:line (RIDE_CUDA_STATUS_TRY: the same for a CUDA library's status codes).
/// Include only from .cu files (kernels/ is the only CUDA user).
#include <cuda_runtime_api.h>

#include <sstream>

#include "core/error.h"

namespace ride::detail {

/// @brief True for errors that leave the CUDA context unusable (STYLE.md: such a rank must exit
/// and let a spare take over); every later call in this process fails as well.
inline bool cuda_error_is_sticky(cudaError_t status) {
  switch (status) {
    case cudaErrorIllegalAddress:
    case cudaErrorLaunchFailure:
    case cudaErrorHardwareStackError:
    case cudaErrorIllegalInstruction:
    case cudaErrorMisalignedAddress:
    case cudaErrorInvalidAddressSpace:
    case cudaErrorInvalidPc:
    case cudaErrorAssert:
    case cudaErrorECCUncorrectable:
      return true;
    default:
      return false;
  }
}

[[noreturn]] inline void throw_cuda_error(cudaError_t status, const char* call, const char* file,
                                          int line) {
  (void)cudaGetLastError();  // clear a non-sticky error so the next call starts clean
  std::ostringstream os;
  os << "CUDA error " << cudaGetErrorName(status) << " (" << cudaGetErrorString(status) << ") in "
     << call;
  if (cuda_error_is_sticky(status)) {
    os << "; sticky: the CUDA context is unusable, exit the rank [" << file << ":" << line << "]";
    throw DeviceLost(os.str());
  }
  throw_error(file, line, os.str());
}

}  // namespace ride::detail

/// Evaluates a CUDA (runtime or library) call once; unless its status equals `success`, calls
/// thrower(status, text, __FILE__, __LINE__), a [[noreturn]] function that throws ride::Error.
/// `text` is the call as written (stringified by the caller's macro, before macro expansion).
/// The one body behind RIDE_CUDA_TRY, RIDE_CUFFT_TRY (cufft_error.h) and RIDE_CUBLAS_TRY
/// (cublas_error.h).
#define RIDE_CUDA_STATUS_TRY(call, text, success, thrower)  \
  do {                                                      \
    const auto ride_cuda_status_ = (call);                  \
    if (ride_cuda_status_ != (success)) {                   \
      thrower(ride_cuda_status_, text, __FILE__, __LINE__); \
    }                                                       \
  } while (0)

/// Evaluates a CUDA runtime call once; throws ride::Error with file:line unless it succeeded.
#define RIDE_CUDA_TRY(call) \
  RIDE_CUDA_STATUS_TRY(call, #call, cudaSuccess, ::ride::detail::throw_cuda_error)

#pragma once
/// @brief RIDE_CUBLAS_TRY: turn a failed cuBLAS call into a ride::Error naming the call, the
/// cuBLAS status and file:line. cuBLAS is reached through cublas_lazy.h (dlopen on first use),
/// status names included. Include only from .cu files.
#include <cublas_v2.h>

#include <sstream>

#include "core/error.h"
#include "kernels/common/cublas_lazy.h"
#include "kernels/common/cuda_error.h"

namespace ride::detail {

[[noreturn]] inline void throw_cublas_error(cublasStatus_t status, const char* call,
                                            const char* file, int line) {
  std::ostringstream os;
  os << "cuBLAS error " << cublasGetStatusName(status) << " (" << cublasGetStatusString(status)
     << ") in " << call;
  throw_error(file, line, os.str());
}

}  // namespace ride::detail

/// Evaluates a cuBLAS call once; throws ride::Error with file:line unless it succeeded.
#define RIDE_CUBLAS_TRY(call) \
  RIDE_CUDA_STATUS_TRY(call, #call, CUBLAS_STATUS_SUCCESS, ::ride::detail::throw_cublas_error)

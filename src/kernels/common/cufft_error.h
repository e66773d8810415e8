#pragma once
/// @brief RIDE_CUFFT_TRY: turn a failed cuFFT call into a ride::Error naming the call, the cuFFT
/// result and file:line. Include only from .cu files.
#include <cufft.h>

#include <sstream>

#include "core/error.h"
#include "kernels/common/cuda_error.h"

namespace ride::detail {

inline const char* cufft_result_name(cufftResult r) {
  switch (r) {
    case CUFFT_SUCCESS:
      return "CUFFT_SUCCESS";
    case CUFFT_INVALID_PLAN:
      return "CUFFT_INVALID_PLAN";
    case CUFFT_ALLOC_FAILED:
      return "CUFFT_ALLOC_FAILED (not enough device memory)";
    case CUFFT_INVALID_VALUE:
      return "CUFFT_INVALID_VALUE";
    case CUFFT_INTERNAL_ERROR:
      return "CUFFT_INTERNAL_ERROR";
    case CUFFT_EXEC_FAILED:
      return "CUFFT_EXEC_FAILED";
    case CUFFT_SETUP_FAILED:
      return "CUFFT_SETUP_FAILED";
    case CUFFT_INVALID_SIZE:
      return "CUFFT_INVALID_SIZE";
    case CUFFT_NOT_SUPPORTED:
      return "CUFFT_NOT_SUPPORTED";
    default:
      return "cufftResult";
  }
}

[[noreturn]] inline void throw_cufft_error(cufftResult r, const char* call, const char* file,
                                           int line) {
  std::ostringstream os;
  os << "cuFFT error " << cufft_result_name(r) << " (" << static_cast<int>(r) << ") in " << call;
  throw_error(file, line, os.str());
}

}  // namespace ride::detail

/// Evaluates a cuFFT call once; throws ride::Error with file:line unless it succeeded.
#define RIDE_CUFFT_TRY(call) \
  RIDE_CUDA_STATUS_TRY(call, #call, CUFFT_SUCCESS, ::ride::detail::throw_cufft_error)

#pragma once
/// @brief cuBLAS loaded on first use (dlopen), not at process start. Linking libcublas costs
/// every process ~210 MB of resident memory at load time (measured: an empty program linked
/// with -lcublas peaks at 217 MB, with -lcufft at 9 MB), which every rank of every job would pay
/// whether or not it runs a GPU matmul. Include after <cublas_v2.h>, only from .cu files; the
/// macros below route the calls ride makes through pointers resolved at first use.
#include <cublas_v2.h>
#include <dlfcn.h>

#include <mutex>
#include <string>

#include "core/error.h"

namespace ride::kernels {

struct CublasApi {
  decltype(&cublasCreate_v2) create = nullptr;
  decltype(&cublasDestroy_v2) destroy = nullptr;
  decltype(&cublasSetStream_v2) set_stream = nullptr;
  decltype(&cublasSetMathMode) set_math_mode = nullptr;
  decltype(&cublasSgemm_v2) sgemm = nullptr;
  decltype(&cublasGetStatusName) status_name = nullptr;
  decltype(&cublasGetStatusString) status_string = nullptr;
};

/// The resolved API; throws ride::Error naming the library when it cannot be loaded.
inline const CublasApi& cublas_api() {
  static CublasApi api;
  static std::string error;
  static std::once_flag once;
  std::call_once(once, [] {
    const std::string soname = "libcublas.so." + std::to_string(CUBLAS_VER_MAJOR);
    void* h = dlopen(soname.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (h == nullptr) h = dlopen("libcublas.so", RTLD_NOW | RTLD_LOCAL);
    if (h == nullptr) {
      error = "cannot load cuBLAS (" + soname + "): " + dlerror();
      return;
    }
    auto get = [&](auto& fn, const char* name) {
      fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(dlsym(h, name));
      if (fn == nullptr && error.empty()) error = std::string("cuBLAS lacks ") + name;
    };
    get(api.create, "cublasCreate_v2");
    get(api.destroy, "cublasDestroy_v2");
    get(api.set_stream, "cublasSetStream_v2");
    get(api.set_math_mode, "cublasSetMathMode");
    get(api.sgemm, "cublasSgemm_v2");
    get(api.status_name, "cublasGetStatusName");
    get(api.status_string, "cublasGetStatusString");
  });
  RIDE_EXPECTS(error.empty(), error);
  return api;
}

}  // namespace ride::kernels

#undef cublasCreate
#undef cublasDestroy
#undef cublasSetStream
#undef cublasSgemm
#define cublasCreate(...) ::ride::kernels::cublas_api().create(__VA_ARGS__)
#define cublasDestroy(...) ::ride::kernels::cublas_api().destroy(__VA_ARGS__)
#define cublasSetStream(...) ::ride::kernels::cublas_api().set_stream(__VA_ARGS__)
#define cublasSetMathMode(...) ::ride::kernels::cublas_api().set_math_mode(__VA_ARGS__)
#define cublasSgemm(...) ::ride::kernels::cublas_api().sgemm(__VA_ARGS__)
#define cublasGetStatusName(...) ::ride::kernels::cublas_api().status_name(__VA_ARGS__)
#define cublasGetStatusString(...) ::ride::kernels::cublas_api().status_string(__VA_ARGS__)

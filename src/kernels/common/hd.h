#pragma once
/// @brief Portability macros for math written once and compiled by both the host compiler and
/// nvcc ("one body, two executors", DESIGN.md). Plain C++ when no CUDA compiler is involved.

#if defined(__CUDACC__)
/// Callable from host and device code.
#define RIDE_HD __host__ __device__
/// Device-only helper (kernels, device lambdas).
#define RIDE_DEVICE __device__
/// Inlining request that nvcc honours for device code; `inline` also keeps the ODR happy.
#define RIDE_INLINE __forceinline__
#else
#define RIDE_HD
#define RIDE_DEVICE
#if defined(__GNUC__) || defined(__clang__)
#define RIDE_INLINE inline __attribute__((always_inline))
#else
#define RIDE_INLINE inline
#endif
#endif

/// True while compiling device code (the device pass of nvcc), false on the host pass and in
/// plain C++ builds: use it to pick device intrinsics inside a RIDE_HD function.
#if defined(__CUDA_ARCH__)
#define RIDE_DEVICE_PASS 1
#else
#define RIDE_DEVICE_PASS 0
#endif

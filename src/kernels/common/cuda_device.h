#pragma once
/// @brief Which CUDA device a rank uses, and a real fault for drills. Plain C++ (no CUDA types);
/// cuda_device.cpp holds what both builds share; cuda_device.cu the CUDA side, or
/// cuda_device_stub.cpp in builds without CUDA.
namespace ride::kernels {

/// True when this build contains the CUDA executors (a compile-time fact of the build).
bool cuda_compiled();

/// Usable CUDA devices (0 without a CUDA build, a driver or a device; never throws).
int cuda_device_count();

/// True when the CUDA executors are built and at least one CUDA device is usable; false (never
/// throws) when there is no CUDA build, no driver or no device.
bool cuda_device_available();

/// The check every CUDA entry point makes after its own argument checks: throws ride::Error
/// naming `what` ("stddev filter") when this build has no CUDA support or no device is usable.
void require_cuda_device(const char* what);

/// Makes device (local_rank mod count) current on the calling thread (the CUDA current device
/// is per host thread: call it on the thread that runs the kernels) and returns its index.
/// Throws ride::Error when there is no device.
int cuda_bind_device(int local_rank);

/// Fault injection for drills and tests: launches a kernel that writes through an invalid
/// address on the current device, which leaves a sticky error (cudaErrorIllegalAddress), and
/// throws the ride::DeviceLost that any later CUDA call would report. Throws ride::Error when
/// there is no device.
[[noreturn]] void cuda_inject_sticky_fault();

}  // namespace ride::kernels

#pragma once
/// @brief RAII owners for CUDA runtime handles (STYLE.md: RAII for every handle). Move-only;
/// destructors never throw and ignore errors (they may run after the runtime shut down).
/// Include only from .cu files.
#include <cuda_runtime_api.h>

#include <cstddef>
#include <utility>

#include "kernels/common/cuda_error.h"

namespace ride::kernels::cuda {

/// @brief A non-blocking stream (does not synchronise with the legacy default stream).
class Stream {
 public:
  Stream() { RIDE_CUDA_TRY(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking)); }
  ~Stream() {
    if (stream_ != nullptr) (void)cudaStreamDestroy(stream_);
  }
  Stream(Stream&& o) noexcept : stream_(std::exchange(o.stream_, nullptr)) {}
  Stream& operator=(Stream&& o) noexcept {
    std::swap(stream_, o.stream_);
    return *this;
  }
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  cudaStream_t get() const { return stream_; }
  void synchronize() const { RIDE_CUDA_TRY(cudaStreamSynchronize(stream_)); }

 private:
  cudaStream_t stream_ = nullptr;
};

/// @brief An event used only for ordering (timing disabled: cheaper to record and wait on).
class Event {
 public:
  Event() { RIDE_CUDA_TRY(cudaEventCreateWithFlags(&event_, cudaEventDisableTiming)); }
  ~Event() {
    if (event_ != nullptr) (void)cudaEventDestroy(event_);
  }
  Event(Event&& o) noexcept : event_(std::exchange(o.event_, nullptr)) {}
  Event& operator=(Event&& o) noexcept {
    std::swap(event_, o.event_);
    return *this;
  }
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
  cudaEvent_t get() const { return event_; }
  void record(cudaStream_t stream) const { RIDE_CUDA_TRY(cudaEventRecord(event_, stream)); }
  void synchronize() const { RIDE_CUDA_TRY(cudaEventSynchronize(event_)); }

 private:
  cudaEvent_t event_ = nullptr;
};

/// @brief Grow-only array in device memory (cudaMalloc) or pinned host memory (cudaMallocHost).
/// reserve() keeps the allocation when it is already large enough, so a cached buffer costs
/// nothing on the next frame of the same size. Contents are not preserved on growth.
template <class T, bool kPinnedHost>
class Buffer {
 public:
  Buffer() = default;
  ~Buffer() { release(); }
  Buffer(Buffer&& o) noexcept
      : data_(std::exchange(o.data_, nullptr)), capacity_(std::exchange(o.capacity_, 0)) {}
  Buffer& operator=(Buffer&& o) noexcept {
    std::swap(data_, o.data_);
    std::swap(capacity_, o.capacity_);
    return *this;
  }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  void reserve(std::size_t count) {
    if (count <= capacity_) return;
    release();
    void* p = nullptr;
    if constexpr (kPinnedHost) {
      RIDE_CUDA_TRY(cudaMallocHost(&p, count * sizeof(T)));
    } else {
      RIDE_CUDA_TRY(cudaMalloc(&p, count * sizeof(T)));
    }
    data_ = static_cast<T*>(p);
    capacity_ = count;
  }
  T* data() const { return data_; }
  std::size_t capacity() const { return capacity_; }

 private:
  void release() noexcept {
    if (data_ != nullptr) {
      if constexpr (kPinnedHost) {
        (void)cudaFreeHost(data_);
      } else {
        (void)cudaFree(data_);
      }
    }
    data_ = nullptr;
    capacity_ = 0;
  }
  T* data_ = nullptr;
  std::size_t capacity_ = 0;
};

template <class T>
using DeviceBuffer = Buffer<T, false>;
template <class T>
using PinnedBuffer = Buffer<T, true>;

}  // namespace ride::kernels::cuda

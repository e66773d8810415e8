#pragma once
/// @brief An uninitialised, owned byte buffer: messages and frames move in these without the
/// zero-filling a std::vector would do on every 810 KB receive. Memory: core/frame_allocator.h.
#include <cstddef>
#include <cstring>
#include <new>
#include <memory>
#include <type_traits>

#include "core/frame_allocator.h"

namespace ride {

class Buffer {
 public:
  Buffer() = default;
  explicit Buffer(std::size_t n) : data_(n ? allocate_frame_bytes(n) : nullptr, Free{n}), size_(n) {
    if (n && !data_) throw std::bad_alloc();
  }
  std::byte* data() { return data_.get(); }
  const std::byte* data() const { return data_.get(); }
  std::size_t size() const { return size_; }

  template <typename T>
  T read(std::size_t at) const {
    static_assert(std::is_trivially_copyable_v<T>);
    T v;
    std::memcpy(&v, data_.get() + at, sizeof(T));
    return v;
  }
  template <typename T>
  void write(std::size_t at, const T& v) {
    static_assert(std::is_trivially_copyable_v<T>);
    std::memcpy(data_.get() + at, &v, sizeof(T));
  }

 private:
  struct Free {
    std::size_t n = 0;
    void operator()(std::byte* p) const noexcept { free_frame_bytes(p, n); }
  };
  std::unique_ptr<std::byte, Free> data_{nullptr, Free{0}};
  std::size_t size_ = 0;
};

using BufferPtr = std::shared_ptr<const Buffer>;

}  // namespace ride

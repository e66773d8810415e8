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
  explicit Buffer(std::size_t n) : own_(n ? allocate_frame_bytes(n) : nullptr, Free{n}), ptr_(own_.get()), size_(n) {
    if (n && !own_) throw std::bad_alloc();
  }
  /// A view of `n` bytes at `offset` into `parent`, which it keeps alive: the frames of a
  /// batched message (several frames in one MPI message) are each a view of the message's
  /// buffer, stored, sent on and released one by one with no copy.
  Buffer(std::shared_ptr<const Buffer> parent, std::size_t offset, std::size_t n)
      : parent_(std::move(parent)), ptr_(const_cast<std::byte*>(parent_->data()) + offset), size_(n) {}
  Buffer(Buffer&& o) noexcept
      : own_(std::move(o.own_)), parent_(std::move(o.parent_)), ptr_(o.ptr_), size_(o.size_) {
    o.ptr_ = nullptr;
    o.size_ = 0;
  }
  Buffer& operator=(Buffer&& o) noexcept {
    if (this != &o) {
      own_ = std::move(o.own_);
      parent_ = std::move(o.parent_);
      ptr_ = o.ptr_;
      size_ = o.size_;
      o.ptr_ = nullptr;
      o.size_ = 0;
    }
    return *this;
  }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  std::byte* data() { return ptr_; }
  const std::byte* data() const { return ptr_; }
  std::size_t size() const { return size_; }
  /// True when this is a view into another buffer.
  bool is_view() const { return parent_ != nullptr; }
  /// A view's parent (null for a buffer of its own), and where in it the view starts.
  const std::shared_ptr<const Buffer>& parent() const { return parent_; }
  std::size_t offset_in_parent() const { return parent_ ? static_cast<std::size_t>(ptr_ - parent_->data()) : 0; }

  template <typename T>
  T read(std::size_t at) const {
    static_assert(std::is_trivially_copyable_v<T>);
    T v;
    std::memcpy(&v, ptr_ + at, sizeof(T));
    return v;
  }
  template <typename T>
  void write(std::size_t at, const T& v) {
    static_assert(std::is_trivially_copyable_v<T>);
    std::memcpy(ptr_ + at, &v, sizeof(T));
  }

 private:
  struct Free {
    std::size_t n = 0;
    void operator()(std::byte* p) const noexcept { free_frame_bytes(p, n); }
  };
  std::unique_ptr<std::byte, Free> own_{nullptr, Free{0}};
  std::shared_ptr<const Buffer> parent_;  ///< a view's: what keeps its bytes alive
  std::byte* ptr_ = nullptr;
  std::size_t size_ = 0;
};

using BufferPtr = std::shared_ptr<const Buffer>;

}  // namespace ride

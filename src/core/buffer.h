#pragma once
/// @brief An uninitialised, owned byte buffer: messages and frames move in these without the
/// zero-filling a std::vector would do on every 810 KB receive.
#include <cstddef>
#include <sys/mman.h>

#include <cstdlib>
#include <cstring>
#include <new>
#include <memory>
#include <type_traits>

namespace ride {

namespace detail {
/// Large frames live in 2 MiB-aligned blocks advised as huge pages: the kernel's cross-process
/// copy (CMA, which Open MPI uses between ranks on a node) then pins 1 page instead of 512.
inline std::byte* allocate_frame_bytes(std::size_t n) {
  constexpr std::size_t kHuge = std::size_t{2} << 20;
  if (n < (std::size_t{256} << 10)) return static_cast<std::byte*>(std::malloc(n));
  void* p = nullptr;
  const std::size_t rounded = (n + kHuge - 1) / kHuge * kHuge;
  if (posix_memalign(&p, kHuge, rounded) != 0) return nullptr;
  madvise(p, rounded, MADV_HUGEPAGE);
  return static_cast<std::byte*>(p);
}
struct FreeBytes {
  void operator()(std::byte* p) const { std::free(p); }
};
}  // namespace detail

class Buffer {
 public:
  Buffer() = default;
  explicit Buffer(std::size_t n) : data_(n ? detail::allocate_frame_bytes(n) : nullptr), size_(n) {
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
  std::unique_ptr<std::byte, detail::FreeBytes> data_;
  std::size_t size_ = 0;
};

using BufferPtr = std::shared_ptr<const Buffer>;

}  // namespace ride

#include "core/frame_allocator.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace ride {
namespace {

constexpr std::size_t kHuge = std::size_t{2} << 20;
constexpr std::size_t kPage = 4096;
constexpr std::size_t kSmall = std::size_t{256} << 10;  ///< below this: plain malloc
constexpr std::size_t kCacheBytes = std::size_t{64} << 20;  ///< freed huge memory kept for reuse

std::size_t round_up(std::size_t n, std::size_t to) { return (n + to - 1) / to * to; }

/// The slot size for a buffer of n bytes (kSmall <= n <= kHuge): n rounded up to 1/8 of its
/// power of two (whole pages), so that buffers of many sizes (batches of small frames, JPEG
/// frames) share a few kinds of slab instead of mapping a 2 MiB slab for every size seen.
std::size_t slot_size(std::size_t n) {
  std::size_t top = kPage;
  while (top < n) top <<= 1;
  return round_up(n, std::max(kPage, top / 16));
}

/// A 2 MiB-aligned mapping advised as a huge page. The alignment is obtained by mapping
/// 2 MiB more and trimming the ends.
void* map_huge(std::size_t bytes) {
  const std::size_t span = bytes + kHuge;
  void* raw = mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) return nullptr;
  const auto base = reinterpret_cast<std::uintptr_t>(raw);
  const std::uintptr_t aligned = round_up(base, kHuge);
  if (aligned > base) munmap(raw, aligned - base);
  const std::uintptr_t end = base + span, used_end = aligned + bytes;
  if (end > used_end) munmap(reinterpret_cast<void*>(used_end), end - used_end);
  madvise(reinterpret_cast<void*>(aligned), bytes, MADV_HUGEPAGE);
  return reinterpret_cast<void*>(aligned);
}

struct Slab {  ///< one 2 MiB huge page carved into equal slots
  std::size_t slot_bytes = 0;
  std::vector<std::byte*> free_slots;
  std::size_t slots = 0;
};

class Pool {
 public:
  std::byte* allocate(std::size_t n) {
    std::lock_guard lock(mu_);
    if (n <= kHuge) return allocate_slot(slot_size(n));
    const std::size_t bytes = round_up(n, kHuge);
    auto& cached = big_free_[bytes];
    std::byte* p = nullptr;
    if (!cached.empty()) {
      p = cached.back();
      cached.pop_back();
      cached_bytes_ -= bytes;
    } else {
      p = static_cast<std::byte*>(map_huge(bytes));
      if (!p) return nullptr;
      mapped_ += bytes;
    }
    big_live_[p] = bytes;
    live_ += bytes;
    return p;
  }

  void free(std::byte* p) {
    std::lock_guard lock(mu_);
    if (auto big = big_live_.find(p); big != big_live_.end()) {
      const std::size_t bytes = big->second;
      big_live_.erase(big);
      live_ -= bytes;
      if (cached_bytes_ + bytes <= kCacheBytes) {
        big_free_[bytes].push_back(p);
        cached_bytes_ += bytes;
      } else {
        munmap(p, bytes);
        mapped_ -= bytes;
      }
      return;
    }
    auto* base = reinterpret_cast<std::byte*>(reinterpret_cast<std::uintptr_t>(p) & ~(kHuge - 1));
    Slab& slab = slabs_.at(base);
    slab.free_slots.push_back(p);
    live_ -= slab.slot_bytes;
    if (slab.free_slots.size() == 1) open_slabs_[slab.slot_bytes].push_back(base);
    if (slab.free_slots.size() == slab.slots) release_slab_if_over_cache(base, slab);
  }

  FrameAllocatorStats stats() {
    std::lock_guard lock(mu_);
    return {mapped_, live_};
  }

 private:
  std::byte* allocate_slot(std::size_t slot_bytes) {
    auto& open = open_slabs_[slot_bytes];
    while (!open.empty()) {
      Slab& slab = slabs_.at(open.back());
      if (slab.free_slots.empty()) {
        open.pop_back();
        continue;
      }
      if (slab.free_slots.size() == slab.slots) cached_bytes_ -= kHuge;  // leaves the cache
      std::byte* p = slab.free_slots.back();
      slab.free_slots.pop_back();
      if (slab.free_slots.empty()) open.pop_back();
      live_ += slot_bytes;
      return p;
    }
    auto* base = static_cast<std::byte*>(map_huge(kHuge));
    if (!base) return nullptr;
    mapped_ += kHuge;
    Slab& slab = slabs_[base];
    slab.slot_bytes = slot_bytes;
    slab.slots = kHuge / slot_bytes;
    for (std::size_t i = slab.slots; i-- > 1;) slab.free_slots.push_back(base + i * slot_bytes);
    if (!slab.free_slots.empty()) open.push_back(base);
    live_ += slot_bytes;
    return base;
  }

  void release_slab_if_over_cache(std::byte* base, Slab& slab) {
    if (cached_bytes_ + kHuge <= kCacheBytes) {
      cached_bytes_ += kHuge;  // an empty slab stays mapped for the next frames
      return;
    }
    auto& open = open_slabs_[slab.slot_bytes];
    std::erase(open, base);
    slabs_.erase(base);
    munmap(base, kHuge);
    mapped_ -= kHuge;
  }

  std::mutex mu_;
  std::unordered_map<std::byte*, Slab> slabs_;
  std::map<std::size_t, std::vector<std::byte*>> open_slabs_;  ///< slot size → slabs with room
  std::unordered_map<std::byte*, std::size_t> big_live_;
  std::map<std::size_t, std::vector<std::byte*>> big_free_;
  std::size_t cached_bytes_ = 0, mapped_ = 0, live_ = 0;
};

Pool& pool() {
  static Pool* p = new Pool;  // never destroyed: buffers may be freed during static teardown
  return *p;
}

}  // namespace

std::byte* allocate_frame_bytes(std::size_t n) {
  if (n < kSmall) return static_cast<std::byte*>(std::malloc(n ? n : 1));
  return pool().allocate(n);
}

void free_frame_bytes(std::byte* p, std::size_t n) noexcept {
  if (!p) return;
  if (n < kSmall) {
    std::free(p);
    return;
  }
  pool().free(p);
}

FrameAllocatorStats frame_allocator_stats() { return pool().stats(); }

}  // namespace ride

#pragma once
/// @brief Memory for frame buffers. Frames are large, same-sized and short-lived, and every rank
/// they cross copies them with the kernel's cross-process copy (CMA, Open MPI's single-copy path
/// on a node), which pins each 4 KiB page it touches. Frames therefore live in 2 MiB
/// transparent huge pages: sizes up to 2 MiB are packed into shared 2 MiB slabs (two 810 KB
/// frames per slab), larger ones get their own huge-page mapping. Freed slabs and mappings are
/// kept for reuse up to a cap, so a steady stream of frames causes no page faults and no
/// kernel zeroing. Small buffers come from malloc. Thread-safe.
#include <cstddef>

namespace ride {

std::byte* allocate_frame_bytes(std::size_t n);
/// `n` must be the size given to allocate_frame_bytes.
void free_frame_bytes(std::byte* p, std::size_t n) noexcept;

struct FrameAllocatorStats {
  std::size_t mapped_bytes = 0;  ///< huge-page memory mapped now (live + cached)
  std::size_t live_bytes = 0;    ///< bytes of frames allocated and not yet freed (rounded)
};
FrameAllocatorStats frame_allocator_stats();

}  // namespace ride

#pragma once
/// @brief What the tiled CUDA executors share around their kernels: a workspace (streams,
/// pinned and device buffers) cached per host thread and device, and the two-slot pipeline
/// that overlaps the host staging of one piece of a frame with the device work of the other.
/// Include only from .cu files.
#include <cuda_runtime_api.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "kernels/common/cuda_error.h"

namespace ride::kernels::cuda {

/// @brief The calling host thread's Workspace for the current CUDA device: made as
/// Workspace(device) on first use, and made again (the old one destroyed first, freeing its
/// memory) whenever the current device is not the one it was made for. Workspace has a member
/// `int device`. Streams and buffers are thus cached, so a stream of equal-sized frames
/// allocates only on its first one (pinned allocation costs milliseconds). The reference stays
/// valid until this thread's next call with another current device, or the thread's exit.
template <class Workspace>
Workspace& workspace_for_current_device() {
  // unique_ptr rather than optional: GCC 12 reports a false -Wmaybe-uninitialized through
  // optional::emplace of a large aggregate.
  thread_local std::unique_ptr<Workspace> cached;
  int device = 0;
  RIDE_CUDA_TRY(cudaGetDevice(&device));
  if (!cached || cached->device != device) {
    cached.reset();
    cached = std::make_unique<Workspace>(device);
  }
  return *cached;
}

/// @brief Runs the two-slot pipeline over rows [0, height) in pieces of `step` rows (the last
/// one shorter): piece [y, y + rows) goes to slots[0], the next to slots[1], and so on. Before
/// a slot takes a piece, retire(slot) finishes the slot's previous piece (waits for it, takes
/// its output, frees its buffers for reuse); then enqueue(slot, y, rows) stages and queues the
/// new one. At the end both slots are retired, oldest first, leaving both streams idle.
/// Slot has a cuda::Stream `stream` and an optional `pending` piece, which retire() resets.
/// If anything throws, every slot's stream is synchronised (errors ignored) and its pending
/// piece forgotten, so that the cached slots are idle and empty for the next call; then the
/// exception propagates. Requires step >= 1.
template <class Slot, class Retire, class Enqueue>
void run_two_slots(std::array<Slot, 2>& slots, int height, int step, const Retire& retire,
                   const Enqueue& enqueue) {
  try {
    std::size_t next = 0;
    for (std::int64_t y = 0; y < height; y += step) {
      Slot& slot = slots[next];
      retire(slot);
      enqueue(slot, static_cast<int>(y),
              static_cast<int>(std::min<std::int64_t>(step, height - y)));
      next ^= 1;
    }
    retire(slots[next]);
    retire(slots[next ^ 1]);
  } catch (...) {
    for (Slot& slot : slots) {
      (void)cudaStreamSynchronize(slot.stream.get());
      slot.pending.reset();
    }
    throw;
  }
}

}  // namespace ride::kernels::cuda

#pragma once
/// @brief Fork-join helpers of the CPU executors: run work on the calling thread plus short-lived
/// std::jthreads, join them all before returning (nothing outlives the call, nothing spins), and
/// rethrow the first exception, by index, once every thread has joined. Plain C++, no CUDA.
#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <thread>
#include <vector>

namespace ride::kernels {

/// @brief Runs body(i) for every i in [0, n): i = 0 on the calling thread, the others each on
/// its own std::jthread, all joined before returning. n <= 0 does nothing; n == 1 starts no
/// thread. The exception of the lowest i that threw is rethrown after all are joined.
template <class Body>
void fork_join(int n, Body&& body) {
  if (n <= 1) {
    if (n == 1) body(0);
    return;
  }
  std::vector<std::exception_ptr> errors(static_cast<std::size_t>(n));
  const auto guarded = [&](int i) {
    try {
      body(i);
    } catch (...) {
      errors[static_cast<std::size_t>(i)] = std::current_exception();
    }
  };
  {
    std::vector<std::jthread> workers;
    workers.reserve(static_cast<std::size_t>(n - 1));
    for (int i = 1; i < n; ++i) workers.emplace_back(guarded, i);
    guarded(0);
  }  // joins
  for (const auto& e : errors) {
    if (e) std::rethrow_exception(e);
  }
}

/// @brief Splits rows [0, rows) into min(max(threads, 1), rows) contiguous bands of nearly equal
/// height (band b is [rows * b / bands, rows * (b + 1) / bands)) and runs fn(y_begin, y_end)
/// once per band, each band on its own thread (fork_join). One band runs on the calling thread
/// alone. Requires rows >= 1. Which thread runs a band is not part of the contract: callers
/// whose result depends only on the band edges get the same bits whatever the thread count
/// schedules.
template <class Fn>
void parallel_bands(int rows, int threads, const Fn& fn) {
  const int bands = std::clamp(threads, 1, rows);
  if (bands == 1) {
    fn(0, rows);
    return;
  }
  fork_join(bands, [&](int b) {
    fn(static_cast<int>(std::int64_t{rows} * b / bands),
       static_cast<int>(std::int64_t{rows} * (b + 1) / bands));
  });
}

/// @brief A work queue over items [0, items): runs worker(take) on min(max(threads, 1), items)
/// threads (fork_join), where take() hands out each item index once, in increasing order across
/// all workers, and returns -1 when none is left. A worker keeps its own scratch across the
/// items it takes. After any worker throws, take() returns -1 to the others, so they stop after
/// their current item; the exception is rethrown after all are joined. Requires items >= 1.
template <class Worker>
void parallel_items(int items, int threads, const Worker& worker) {
  std::atomic<int> next{0};
  const auto take = [&]() -> int {
    const int item = next.fetch_add(1);
    return item < items ? item : -1;
  };
  fork_join(std::clamp(threads, 1, items), [&](int) {
    try {
      worker(take);
    } catch (...) {
      next.store(items);  // the others stop after their current item
      throw;
    }
  });
}

}  // namespace ride::kernels

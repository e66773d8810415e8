#pragma once
/// @brief What a sampled live input shares between ingest's take() and the threads that make its
/// frames (the camera hub's I/O thread and decoders, the stream pool's reader and decoders):
/// ingest asks (`want`), the first frame made after the ask waits in `ready`, take() hands it
/// over — never a stale frame (video_source.h). Internal to the video module.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>

#include "ingest/video_source.h"

namespace ride::ingest {

struct LiveSlot {
  LiveSlot() { status.state = "connecting"; }

  std::mutex mu;  ///< everything below
  std::condition_variable cv;
  bool want = false;                ///< ingest asked, nothing taken since
  std::optional<VideoFrame> ready;  ///< made after the ask
  bool stopped = false;             ///< the job stopped the input
  InputStatus status;
  std::uint64_t index = 0;          ///< frames made ready so far

  /// VideoInput::take: asks for a frame — `on_ask(lock)` runs, the lock held, when this call
  /// starts a new ask (it may release and retake the lock) — then waits up to `wait_s` for it.
  template <class OnAsk>
  VideoInput::Got take(VideoFrame& out, double wait_s, OnAsk&& on_ask) {
    std::unique_lock lk(mu);
    if (!ready && !stopped) {
      if (!want) {
        want = true;
        on_ask(lk);
      }
      if (wait_s > 0) {
        cv.wait_for(lk, std::chrono::duration<double>(wait_s), [&] { return ready.has_value() || stopped; });
      }
    }
    if (!ready) return VideoInput::Got::none;
    out = std::move(*ready);
    ready.reset();
    want = false;
    return VideoInput::Got::frame;
  }

  InputStatus snapshot() {
    std::lock_guard lk(mu);
    return status;
  }

  void stop() {
    std::lock_guard lk(mu);
    stopped = true;
    cv.notify_all();
  }

  /// Once the input's threads are done with it: "stopped" when it ever opened (or was never
  /// tried), else "unreachable".
  void settle() {
    std::lock_guard lk(mu);
    if (status.state != "stopped" && status.state != "unreachable") {
      status.state = status.ever_opened || status.attempts == 0 ? "stopped" : "unreachable";
    }
  }
};

}  // namespace ride::ingest

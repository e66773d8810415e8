#include "core/log_state.h"

namespace ride {

const char* to_string(LogState s) {
  switch (s) {
    case LogState::ok: return "ok";
    case LogState::spilling: return "spilling to disk (ring full)";
    case LogState::ring_full_no_spill: return "backpressure: ring full and spill is off";
    case LogState::spill_over_limit: return "backpressure: spill reached broker.spill_max_mb";
    case LogState::spill_disk_full: return "backpressure: spill disk full (broker.spill_min_free_mb)";
    case LogState::spill_failed: return "stopped: spill file could not be written";
  }
  return "?";
}

bool is_backpressure(LogState s) {
  return s == LogState::ring_full_no_spill || s == LogState::spill_over_limit ||
         s == LogState::spill_disk_full || s == LogState::spill_failed;
}

}  // namespace ride

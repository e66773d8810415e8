#pragma once
/// @brief Why a partition's log accepts or refuses frames right now: the broker's state, which
/// its metrics carry to the master (status line, summary). Here, not in the broker's library,
/// so that the master names states without linking the log and its HDF5 spill.
namespace ride {

/// @brief Why a log accepts or refuses frames right now (shown in status and summary).
enum class LogState {
  ok,
  spilling,               ///< ring full: new frames go to disk
  ring_full_no_spill,     ///< backpressure: ring full and spill is off
  spill_over_limit,       ///< backpressure: spill reached broker.spill_max_mb
  spill_disk_full,        ///< backpressure: the spill disk is down to broker.spill_min_free_mb
  spill_failed,           ///< ingest stopped for this partition: a spill file could not be written
};
const char* to_string(LogState s);
bool is_backpressure(LogState s);

}  // namespace ride

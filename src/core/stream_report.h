#pragma once
/// @brief What ingest tells the master about each of its streams while the job runs (frames
/// read, ticks missed or skipped while paused, the input's state), and the operator's commands
/// the master passes to ingest (drain, pause, resume). One codec each, with round-trip tests.
#include <cstdint>
#include <string>
#include <vector>

#include "core/buffer.h"

namespace ride {

enum class StreamState : std::uint8_t {
  unknown = 0,
  synthetic,    ///< generated frames (always there)
  connecting,   ///< a real input not opened yet
  streaming,
  retrying,     ///< failed, being reopened with backoff
  unreachable,  ///< given up
  ended,        ///< its frames are all read
};
std::string to_string(StreamState s);
/// The state names VideoInput::Status uses ("streaming", ...); unknown for others.
StreamState stream_state_from(const std::string& name);

/// One stream as its ingest rank counts it (cumulative counts).
struct StreamReport {
  std::uint32_t stream = 0;
  StreamState state = StreamState::unknown;
  bool paused = false;
  std::uint64_t frames = 0;        ///< published to the brokers
  std::uint64_t missed = 0;        ///< ticks with no new frame from the input
  std::uint64_t paused_ticks = 0;  ///< ticks skipped while an operator paused it
  /// Every sequence below this is stored by the brokers (acknowledged, or refused for good):
  /// where another ingest rank resumes the stream if this one dies (#14).
  std::uint64_t acked = 0;
  /// A live input (a camera): its ticks come at the desired rate and a tick without a new
  /// frame is `missed`, so frames / (frames + missed) is its η (CAM²: achieved / desired rate).
  bool live = false;
  /// The rate its ticks come at (a camera list's fps, else ingest.fps); 0 when not paced.
  double desired_fps = 0;
  bool operator==(const StreamReport&) const = default;
};

/// INGEST_METRICS: u32 count, then count x {u32 stream, u8 state, u8 paused, u16 flags (bit 0:
/// live), u64 frames, u64 missed, u64 paused_ticks, u64 acked, f64 desired_fps}.
Buffer encode_stream_reports(const std::vector<StreamReport>& reports);
std::vector<StreamReport> decode_stream_reports(const Buffer& body);

/// INGEST_TAKEOVER (master → ingest, #14): a dead ingest rank's stream, to be read from here on,
/// starting at sequence `from` (every earlier one is stored).
struct StreamTakeover {
  std::uint32_t stream = 0;
  std::uint64_t from = 0;
  bool operator==(const StreamTakeover&) const = default;
};
/// u32 count, then count x {u32 stream, u32 0, u64 from}. Throws on a malformed body.
Buffer encode_stream_takeovers(const std::vector<StreamTakeover>& t);
std::vector<StreamTakeover> decode_stream_takeovers(const Buffer& body);

/// CONTROL (master → ingest).
struct IngestControl {
  enum class Kind : std::uint32_t { drain = 1, pause = 2, resume = 3 };
  Kind kind = Kind::drain;
  std::uint32_t stream = 0;  ///< pause, resume
  bool operator==(const IngestControl&) const = default;
};
Buffer encode_ingest_control(const IngestControl& c);
/// Throws on a malformed body or an unknown kind.
IngestControl decode_ingest_control(const Buffer& body);

}  // namespace ride

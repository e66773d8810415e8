#pragma once
/// @brief The wire protocol between roles: one tag per message type, fixed-size POD headers.
/// All ranks run the same binary on the same architecture, so headers travel as raw bytes.
/// Message flow: docs/ARCHITECTURE.md.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include "core/buffer.h"
#include "core/error.h"
#include "core/frame.h"

namespace ride {

enum class Tag : int {
  hello = 1,           ///< any → master: role, pid, host
  start,               ///< master → all: t0
  assign,              ///< master → worker and broker: partition ownership with epoch
  produce,             ///< ingest → broker: ProduceHeader + FrameHeader + pixels
  produce_ack,         ///< broker → ingest
  ingest_end,          ///< unused since #14 (the master seals ingest's topics); kept so tags keep their values
  ingest_done,         ///< ingest → master: per-stream counts and per-second histogram
  fetch,               ///< worker → broker
  fetch_reply,         ///< broker → worker: FetchReply, then `count` fetch_frame messages
  fetch_frame,         ///< broker → worker: the stored produce buffer
  commit,              ///< worker → broker
  commit_ack,          ///< broker → worker
  results,             ///< worker → master (sink): ResultsHeader + records (+ images)
  results_ack,         ///< master → worker: results durable, commit may follow
  broker_metrics,      ///< broker → master: per-partition offsets
  partition_done,      ///< broker → master: sealed partition fully committed
  broker_event,        ///< broker → master: JSON (e.g. a partition stopped by a spill failure)
  heartbeat,           ///< any → master, master → all: alive (any other message counts too)
  stand_down,          ///< master → a worker it declared dead or a straggler: drop everything
  peer_dead,           ///< master → brokers: PeerDead; stop sending to that rank
  shutdown,            ///< master → all
  final_report,        ///< any → master: JSON text
  error,               ///< any → master: fatal error text
  replenish,           ///< master → brokers: Replenish; enter MPI_Comm_spawn with the master
  worker_metrics,      ///< worker → master: WorkerMetrics (load, for the scaling policy)
  partition_map,       ///< master → brokers, ingest (before START): PartitionMap (core/partition_map.h);
                       ///< broker → master, empty: its partitions exist (START waits for every broker)
  seal,                ///< master → brokers: u32 count + count x u32 partitions of a stage's topic whose
                       ///< input stage has drained (end of stream, stage by stage)
  reduce,              ///< master → workers at the end: GroupAggregates members per stage; they reduce
  aggregates,          ///< a stage group's first member → master: the reduced aggregates
  control,             ///< master → ingest: an operator's command (core/stream_report.h, IngestControl)
  ingest_metrics,      ///< ingest → master: each stream's counts and state (core/stream_report.h)
  replicate,           ///< leader broker → follower: ReplicateHeader (then, if it carries one, the frame)
  replicate_frame,     ///< leader broker → follower: the stored produce buffer, right after its header
  replicate_ack,       ///< follower → leader broker: ReplicateAck (how far it holds the partition)
  ingest_takeover,     ///< master → a surviving ingest rank: streams of a dead one, each resumed after
                       ///< its last acknowledged sequence (core/stream_report.h, StreamTakeover)
  isr_confirm,         ///< master → leader broker: IsrConfirm (the master recorded a replica leaving the ISR)
  resume_keys,         ///< master → ingest, before START (job.resume): the keys of its streams already
                       ///< durable in the results file, passed over (core/key_ranges.h, KeyRanges)
  produce_batch,       ///< ingest → broker: several PRODUCE bodies in one message (core/frame_batch.h);
                       ///< each is handled as its own PRODUCE
};

struct ProduceHeader {
  std::uint32_t partition = 0;
  std::uint32_t flags = 0;  ///< kFrameFlag*: dropped, scalars carried, rerouted, JPEG
  /// kFrameFlagJpeg: the length of the JPEG in place of the pixels (0 otherwise).
  std::uint64_t encoded_bytes = 0;
};
/// A frame whose pixels a drop policy discarded travels as its headers alone, with this flag.
constexpr std::uint32_t kFrameFlagDropped = 1;
/// A frame forwarded by a stage carries the scalars of the stages before it after its pixels:
/// a ScalarsTrailer, then `count` float64 (names: task/pipeline.h, Stage::upstream_names).
constexpr std::uint32_t kFrameFlagScalars = 2;
/// Ingest moved the frame from a partition that stopped taking frames: it may come after later
/// frames of its stream (StreamWatermarks takes it anyway).
constexpr std::uint32_t kFrameFlagRerouted = 4;
/// The frame travels as a JPEG (ingest.encoding = jpeg): `encoded_bytes` of it stand where the
/// pixels would; the FrameHeader describes the decoded frame (u8, 1 or 3 channels), which the
/// worker decodes before its task sees it (codec/jpeg.h).
constexpr std::uint32_t kFrameFlagJpeg = 8;
/// Offset of the FrameHeader inside a produce / fetch_frame buffer.
constexpr std::size_t kFrameHeaderAt = sizeof(ProduceHeader);
constexpr std::size_t kPixelsAt = kFrameHeaderAt + sizeof(FrameHeader);

struct ScalarsTrailer {
  std::uint32_t count = 0;
  std::uint32_t reserved = 0;
};
constexpr std::size_t scalars_trailer_bytes(std::size_t count) { return sizeof(ScalarsTrailer) + 8 * count; }

enum class ProduceStatus : std::uint32_t {
  accepted = 0,
  rejected = 1,  ///< malformed frame (size disagrees with its header, wrong broker): counted
  stopped = 2,   ///< the partition takes no more frames (spill failure): send elsewhere
  duplicate = 3, ///< the partition holds this (stream, sequence) already (a stage forwarded it
                 ///< again after a failure): as good as accepted, stored once
};

/// How many bytes stand for the frame's pixels in a produce / fetch_frame body: the JPEG's length
/// for a JPEG frame, else the header's width x height x channels x pixel size.
inline std::size_t stored_pixel_bytes(const ProduceHeader& ph, const FrameHeader& fh) {
  return (ph.flags & kFrameFlagJpeg) ? static_cast<std::size_t>(ph.encoded_bytes) : fh.payload_bytes();
}

/// Copies up to `max` of the scalars a forwarded frame carries into `out` (no allocation: called
/// per frame); returns how many it copied (0 when the frame carries none).
inline std::size_t read_frame_scalars(const Buffer& body, double* out, std::size_t max) {
  if (body.size() < kPixelsAt || !(body.read<ProduceHeader>(0).flags & kFrameFlagScalars)) return 0;
  const std::size_t at =
      kPixelsAt + stored_pixel_bytes(body.read<ProduceHeader>(0), body.read<FrameHeader>(kFrameHeaderAt));
  if (body.size() < at + sizeof(ScalarsTrailer)) return 0;
  const auto t = body.read<ScalarsTrailer>(at);
  if (body.size() < at + scalars_trailer_bytes(t.count)) return 0;
  const std::size_t n = std::min<std::size_t>(t.count, max);
  if (n > 0) std::memcpy(out, body.data() + at + sizeof(ScalarsTrailer), 8 * n);
  return n;
}

/// @brief Why a produce body is malformed, or empty when it is well formed: long enough for
/// both headers, a known pixel type, and exactly as many pixel bytes as the header says (for a
/// JPEG frame: u8 with 1 or 3 channels, and a JPEG's start-of-image marker where its bytes start).
inline std::string produce_defect(const Buffer& body) {
  if (body.size() < kPixelsAt) return "shorter than its headers";
  const auto ph = body.read<ProduceHeader>(0);
  const auto fh = body.read<FrameHeader>(kFrameHeaderAt);
  if (bytes_per_pixel(fh.pixel) == 0) return "unknown pixel type";
  const std::size_t pixel_bytes = stored_pixel_bytes(ph, fh);
  if (ph.flags & kFrameFlagJpeg) {
    if (fh.pixel != PixelType::u8 || (fh.channels != 1 && fh.channels != 3)) return "a JPEG frame must be u8 x1 or x3";
    if (pixel_bytes < 4 || body.size() < kPixelsAt + pixel_bytes) return "shorter than its JPEG";
    if (static_cast<std::uint8_t>(body.data()[kPixelsAt]) != 0xFF ||
        static_cast<std::uint8_t>(body.data()[kPixelsAt + 1]) != 0xD8) {
      return "its JPEG bytes do not start with a start-of-image marker";
    }
  }
  if (ph.flags & kFrameFlagScalars) {
    const std::size_t trailer_at = kPixelsAt + pixel_bytes;
    if (body.size() < trailer_at + sizeof(ScalarsTrailer)) return "shorter than its pixels and scalars";
    const auto t = body.read<ScalarsTrailer>(trailer_at);
    if (t.count > 64 || body.size() != trailer_at + scalars_trailer_bytes(t.count)) {
      return "carries " + std::to_string(body.size() - trailer_at) + " bytes after its pixels, its scalars need " +
             std::to_string(t.count > 64 ? 0 : scalars_trailer_bytes(t.count));
    }
    return {};
  }
  if (body.size() - kPixelsAt != pixel_bytes) {
    return "carries " + std::to_string(body.size() - kPixelsAt) + " pixel bytes, its header says " +
           std::to_string(pixel_bytes);
  }
  return {};
}

struct ProduceAck {
  std::uint32_t partition = 0;
  ProduceStatus status = ProduceStatus::accepted;
  std::uint64_t offset = 0;
  std::uint64_t sequence = 0;  ///< identifies the frame the ack is for
  std::uint32_t stream = 0;
  std::uint32_t reserved = 0;
};

/// PRODUCE_ACK body: one or more ProduceAck back to back (a broker sends one message per producer
/// for all the acks of one turn of its loop).
inline Buffer encode_produce_acks(const std::vector<ProduceAck>& acks) {
  Buffer b(acks.size() * sizeof(ProduceAck));
  if (!acks.empty()) std::memcpy(b.data(), acks.data(), b.size());
  return b;
}
/// Calls `f(ProduceAck)` for each ack of a PRODUCE_ACK body; throws ride::Error when the body is
/// not a whole number of acks.
template <typename F>
void for_each_produce_ack(const Buffer& body, F&& f) {
  RIDE_EXPECTS(body.size() > 0 && body.size() % sizeof(ProduceAck) == 0,
               "PRODUCE_ACK of " << body.size() << " bytes is not a whole number of " << sizeof(ProduceAck) << "-byte acks");
  for (std::size_t at = 0; at < body.size(); at += sizeof(ProduceAck)) f(body.read<ProduceAck>(at));
}

/// A partition's leader to a follower (broker/replication.h): the frame at `offset` follows
/// when has_frame; the leader's high watermark and committed offset travel with every message
/// (commits reach followers lazily, with the next one).
struct ReplicateHeader {
  std::uint32_t partition = 0;
  std::uint32_t epoch = 0;
  std::uint64_t offset = 0;
  std::uint64_t high_watermark = 0;
  std::uint64_t committed = 0;
  std::uint32_t has_frame = 0;
  std::uint32_t reserved = 0;
};

struct ReplicateAck {
  std::uint32_t partition = 0;
  std::uint32_t epoch = 0;
  std::uint64_t end = 0;  ///< the follower holds every frame below this offset
  std::uint32_t gap = 0;  ///< 1: a frame arrived past `end` (it lacks some): send again from `end`
  std::uint32_t reserved = 0;
};

/// The master recorded that `replica` left partition `partition`'s in-sync replicas (reported by
/// its leader under leader epoch `epoch`): the leader's high watermark no longer waits for it.
struct IsrConfirm {
  std::uint32_t partition = 0;
  std::uint32_t epoch = 0;
  std::int32_t replica = -1;
  std::uint32_t reserved = 0;
};

struct Hello {
  std::int32_t role = 0;
  std::int32_t pid = 0;
  char host[64] = {};
};

struct Start {
  std::int64_t t0_ns = 0;
};

/// What a rank is doing, as its heartbeat says it (ranks/liveness in the master's job model).
enum class RankPhase : std::uint32_t {
  starting = 0,  ///< start-up: loading modules, opening inputs (a longer silence is forgiven)
  running = 1,
};

/// HEARTBEAT body from a rank to the master (the master's heartbeats to ranks are empty). Sent
/// by the rank's heartbeat thread, so it keeps coming while the role's thread is busy; the
/// progress fields tell a worker slow on a big frame from one that is stuck.
struct HeartbeatBody {
  RankPhase phase = RankPhase::starting;
  std::uint32_t computing = 0;     ///< 1: the compute thread is on a batch now
  std::uint32_t partition = 0;     ///< ... of this partition
  std::uint32_t awaiting_results = 0;  ///< result batches sent to the sink, not yet durable
  std::uint32_t fetching = 0;      ///< fetches sent to brokers, not yet answered in full
  std::uint32_t reserved = 0;
  std::uint64_t offset = 0;        ///< ... starting at this offset
  std::uint64_t batch_bytes = 0;   ///< ... of this many frame bytes
  double computing_for_s = 0;      ///< ... for this long
  double loop_idle_s = 0;          ///< since the role's own loop last turned
  std::uint64_t frames_done = 0;   ///< frames the compute thread finished (cumulative)
  std::uint64_t bytes_done = 0;    ///< their frame bytes
  double compute_s = 0;            ///< time it spent on them
};

/// A fetch at this offset means "from the oldest uncommitted frame": a replacement worker does
/// not need to know where its predecessor stopped; the broker does.
constexpr std::uint64_t kFromCommitted = ~std::uint64_t{0};

struct Assign {
  std::uint32_t partition = 0;
  std::uint32_t epoch = 0;
  std::int32_t owner = -1;   ///< worker rank
  std::int32_t broker = -1;  ///< broker rank holding the partition
  std::uint64_t start_offset = kFromCommitted;
};

struct FetchRequest {
  std::uint32_t partition = 0;
  std::uint32_t epoch = 0;
  std::uint64_t offset = 0;
  std::uint32_t max_frames = 1;
  /// More than max_frames small frames while they total at most this many KB (0: max_frames).
  std::uint32_t max_kb = 0;
  double wait_ms = 0;  ///< broker holds an empty fetch this long
};

enum class FetchStatus : std::uint32_t { ok = 0, fenced = 1, end_of_partition = 2, out_of_range = 3 };

struct FetchReply {
  std::uint32_t partition = 0;
  std::uint32_t epoch = 0;
  std::uint64_t first_offset = 0;
  std::uint64_t end_offset = 0;  ///< log end at reply time (lag = end - next)
  std::uint32_t count = 0;       ///< frames: `count` RunSlots follow this header (core/frame_batch.h)
  FetchStatus status = FetchStatus::ok;
  /// fetch_frame messages that follow, each a run of frames (core/frame_batch.h, plan_fetch_runs:
  /// a big frame alone, uncopied; small ones as they lie in ingest's batches, or copied together)
  std::uint32_t runs = 0;
  std::uint32_t reserved = 0;
};

struct Commit {
  std::uint32_t partition = 0;
  std::uint32_t epoch = 0;
  std::uint64_t offset = 0;  ///< next offset to process: everything below is done
};

struct CommitAck {
  std::uint32_t partition = 0;
  std::uint32_t status = 0;  ///< 0 ok, 1 fenced, 2 out of range
  std::uint64_t committed = 0;
};

struct ResultsHeader {
  std::uint64_t batch_id = 0;
  std::uint32_t partition = 0;
  std::uint32_t epoch = 0;
  std::uint64_t end_offset = 0;  ///< commit offset once durable
  std::uint32_t count = 0;       ///< ResultRecord entries that follow
  std::uint32_t has_images = 0;  ///< then, per record, an ImageWire and its pixels
  std::uint32_t has_objects = 0; ///< after the images: per record, keypoints then boxes, each a
                                 ///< u32 row count (kNoObjects: none) and count x 5 float32
  std::uint32_t reserved = 0;
};

/// One output image in a RESULTS body (type 0: no image; then no bytes follow).
struct ImageWire {
  std::uint32_t width = 0, height = 0, channels = 0;
  std::uint32_t type = 0;  ///< 0 none, 1 float32, 2 uint8
  std::uint64_t bytes() const {
    return std::uint64_t{width} * height * channels * (type == 1 ? 4 : type == 2 ? 1 : 0);
  }
};
constexpr std::uint32_t kNoObjects = 0xffffffffu;
/// Zero bytes after an image's pixels so that what follows starts 4-byte aligned.
constexpr std::size_t image_padding(std::uint64_t bytes) { return (4 - bytes % 4) % 4; }

struct ResultsAck {
  std::uint64_t batch_id = 0;
};
/// What the sink did with each record of a batch, when not all were new: RESULTS_ACK is then
/// followed by u32 count and count x u8 of these. A stage forwards a frame the sink had already
/// stored as the stored row says (so the next stage always agrees with the results file).
enum class RowFate : std::uint8_t {
  stored = 0,              ///< new: stored now, as sent
  duplicate = 1,           ///< stored before (a replay after a failure), not forwarded then
  duplicate_forwarded = 2, ///< stored before, with forwarded = 1
};

/// A worker's load so far (cumulative: the master differences two samples).
struct WorkerMetrics {
  double busy_s = 0;  ///< time the task spent on frames
  double cpu_s = 0;   ///< process CPU time (all threads)
  std::uint64_t rss_bytes = 0;
  std::uint32_t partitions = 0;
  std::uint32_t threads = 1;
};

struct PartitionMetrics {
  std::uint32_t partition = 0;
  std::uint32_t sealed = 0;
  std::uint64_t end_offset = 0;
  std::uint64_t committed = 0;
  std::uint64_t ring_bytes = 0;
  std::uint64_t ring_frames = 0;
  std::uint64_t ring_capacity_bytes = 0;
  std::uint64_t spill_bytes = 0;
  std::uint64_t spilled_frames = 0;   ///< total ever spilled
  std::uint64_t dropped_frames = 0;   ///< total discarded by the drop policy
  std::uint64_t held_frames = 0;      ///< produces waiting for room (backpressure)
  std::int64_t oldest_capture_ns = 0; ///< of the oldest uncommitted frame; 0 = none
  std::uint32_t state = 0;            ///< LogState
  std::uint32_t reserved = 0;
  std::int64_t as_of_ns = 0;  ///< the broker's wall clock when it took these numbers
};

struct PartitionDone {
  std::uint32_t partition = 0;
  std::uint32_t reserved = 0;
  std::uint64_t end_offset = 0;
};

struct PeerDead {
  std::int32_t rank = -1;
};

/// The control group (master and brokers) spawns `count` processes together; they get peer
/// ids first_id, first_id + 1, ... (>= the world size).
struct Replenish {
  std::int32_t count = 0;
  std::int32_t first_id = 0;
};
/// A control-group member stuck this long in MPI_Comm_spawn (another member died before
/// entering it) ends its process instead of hanging.
constexpr double kSpawnTimeoutS = 30.0;

struct Shutdown {
  std::uint32_t abort = 0;
  std::uint32_t peers_lost = 0;  ///< some rank died during the job (Transport::note_peers_lost)
};

/// @brief Builds a message body from POD parts and byte ranges.
class BodyWriter {
 public:
  template <typename T>
  BodyWriter& pod(const T& v) {
    static_assert(std::is_trivially_copyable_v<T>);
    const auto* p = reinterpret_cast<const std::byte*>(&v);
    bytes_.insert(bytes_.end(), p, p + sizeof(T));
    return *this;
  }
  BodyWriter& bytes(const void* p, std::size_t n) {
    const auto* b = static_cast<const std::byte*>(p);
    bytes_.insert(bytes_.end(), b, b + n);
    return *this;
  }
  BodyWriter& str(const std::string& s) { return bytes(s.data(), s.size()); }
  BodyWriter& append(const BodyWriter& other) {
    bytes_.insert(bytes_.end(), other.bytes_.begin(), other.bytes_.end());
    return *this;
  }
  Buffer finish() const {
    Buffer b(bytes_.size());
    if (!bytes_.empty()) std::memcpy(b.data(), bytes_.data(), bytes_.size());
    return b;
  }

 private:
  std::vector<std::byte> bytes_;
};

/// @brief Reads POD parts back, with bounds checks (a short message is an Error, not UB).
class BodyReader {
 public:
  explicit BodyReader(const Buffer& b) : b_(b) {}
  template <typename T>
  T pod() {
    RIDE_EXPECTS(at_ + sizeof(T) <= b_.size(), "message too short: need " << at_ + sizeof(T)
                                                                          << " bytes, have " << b_.size());
    T v = b_.read<T>(at_);
    at_ += sizeof(T);
    return v;
  }
  const std::byte* take(std::size_t n) {
    RIDE_EXPECTS(at_ + n <= b_.size(), "message too short: need " << at_ + n << " bytes, have "
                                                                  << b_.size());
    const std::byte* p = b_.data() + at_;
    at_ += n;
    return p;
  }
  std::string rest_str() {
    const std::size_t n = b_.size() - at_;
    return std::string(reinterpret_cast<const char*>(take(n)), n);
  }
  std::size_t remaining() const { return b_.size() - at_; }

 private:
  const Buffer& b_;
  std::size_t at_ = 0;
};

template <typename T>
Buffer pod_body(const T& v) {
  return BodyWriter().pod(v).finish();
}

}  // namespace ride

#pragma once
/// @brief The master's one account of the job: ranks and their state, the worker group and the
/// spare pool, partitions (placement, owner, epoch, offsets, lag, peaks), failures and scaling
/// events, and the sink's counters. The status line, the summary and the decisions (recovery,
/// allocation, scaling) all read this one model; nothing is counted twice. Pure: no MPI, no I/O;
/// the master's loop feeds it messages and carries out what the decisions say.
#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/partition_map.h"
#include "core/protocol.h"
#include "core/stream_report.h"
#include "core/role_layout.h"
#include "master/assignment.h"

namespace ride {

/// One rank as the master knows it.
struct RankRecord {
  int rank = -1;
  Role started_as = Role::spare;  ///< its role at start (a spawned process: spare)
  Role role = Role::spare;        ///< now: a promoted spare is a worker, a released worker a spare
  std::string host = "?";
  int pid = 0;
  bool spawned = false;
  bool alive = true;              ///< false once declared dead (silent, or a straggler)
  int stage = -1;                 ///< the stage whose group it is in (-1: a spare, in no group)
  std::set<int> stages_served;    ///< every stage it has held a partition of
  HeartbeatBody activity;         ///< its latest heartbeat (workers: what the compute thread is on)
  double last_heard = -1;         ///< for the views: liveness's last-heard time, copied at each publish (-1: unknown)
};

/// One input stream as its ingest rank last reported it (INGEST_METRICS), with its rate.
struct StreamRecord {
  std::uint32_t id = 0;
  int ingest_rank = -1;
  StreamState state = StreamState::unknown;
  bool paused = false;
  bool reported = false;
  std::uint64_t frames = 0, missed = 0, paused_ticks = 0;
  std::uint64_t acked = 0;      ///< every sequence below is stored (where a takeover resumes)
  bool live = false;            ///< a camera: ticks at its desired rate, η = frames / (frames + missed)
  double desired_fps = 0;       ///< its ticks' rate (a camera list's fps, else ingest.fps); 0: unpaced
  /// CAM²'s η, achieved / desired frame rate (a live stream's frames over its ticks); negative
  /// when unknown (not live, or no tick yet).
  double eta() const {
    return live && frames + missed > 0 ? static_cast<double>(frames) / static_cast<double>(frames + missed) : -1;
  }
  double fps = 0;               ///< frames published per second, over windows of >= 1 s
  bool fps_known = false;
  std::uint64_t rate_frames = 0;  ///< frames at the last rate sample ...
  double rate_t = -1;             ///< ... and its steady time
};

/// The worst a partition's broker reported over the run.
struct PartitionPeaks {
  std::uint64_t lag_frames = 0, spill_bytes = 0;
  double lag_s = 0, ring_fill = 0;
};

/// One partition: where it lives and what its broker last said. Owner and epoch are the
/// assignment table's (JobModel::assignment()).
struct PartitionRecord {
  int partition = -1;
  int broker = -1;
  int stage = 0;             ///< whose input topic it belongs to
  PartitionMetrics metrics;  ///< latest from its broker
  bool reported = false;     ///< metrics arrived at least once
  PartitionPeaks peaks;
  bool done = false;         ///< sealed and fully committed (PARTITION_DONE)
  double moved_at_s = -1;    ///< job time of its last move by a decision (-1: never moved)
  std::vector<int> isr;      ///< in-sync replicas: all copies at the start, then as its leader reports and failovers decide
  double input_fps = 0;      ///< frames appended per second, smoothed over >= 0.5 s windows
  bool input_fps_known = false;
  std::uint64_t rate_end = 0;   ///< end offset at the last rate sample
  std::int64_t rate_ns = 0;     ///< ... and its time
  std::uint64_t lag_frames() const { return metrics.end_offset - std::min(metrics.end_offset, metrics.committed); }
  /// Age of the oldest uncommitted frame when its broker took the report (0: none waiting).
  /// As of the report, not of now: between reports, or while a stalled broker or a busy master
  /// leaves a report unread, nobody knows the frame still waits, and counting its age up to now
  /// would show a lag that is not there (and grow the group for it).
  double lag_s() const {
    if (!reported || metrics.oldest_capture_ns <= 0 || metrics.committed >= metrics.end_offset) return 0;
    return std::max(0.0, static_cast<double>(metrics.as_of_ns - metrics.oldest_capture_ns) / 1e9);
  }
};

/// A partition a recovery moved, and whether results from its new owner have come yet.
struct MovedPartition {
  int partition = -1, to = -1;
  std::uint32_t epoch = 0;
  bool flowing = false;
};

/// One rank lost, and how the job got over it (steady-clock times).
struct FailureRecord {
  int rank = -1;
  Role role = Role::worker;
  std::string cause;
  double last_heard = 0, detected = 0, recovered = -1;  ///< -1: not (yet) recovered
  std::uint64_t reprocessed = 0;                        ///< frames done before, not committed
  std::vector<MovedPartition> moved;
  /// An ingest rank's streams, resumed by another (stream, new ingest rank, first sequence);
  /// recovered once the new rank reports each of them.
  struct MovedStream {
    std::uint32_t stream = 0;
    int to = -1;
    std::uint64_t from = 0;
    bool taken = false;
  };
  std::vector<MovedStream> streams;
};

/// One decision of allocation or scaling, as data: what, on whom, why (the numbers).
struct ScalingEvent {
  double t_s = 0;          ///< job time of the decision
  std::string action;      ///< grow, shrink (a worker joins / leaves the group), move (a partition)
  int worker = -1;         ///< the worker that joined, left, or was given partitions
  int from = -1;           ///< for a move: the previous owner (-1: none)
  std::vector<int> partitions;
  std::string reason;
  std::string stage;                ///< whose group (jobs of several stages; empty otherwise)
  double decided_steady = 0;        ///< steady clock of the decision
  double first_commit_after_s = -1; ///< grow: decision -> the new worker's first results
};

/// What the status line and /status sum over the partitions.
struct JobTotals {
  std::uint64_t ingested = 0, committed = 0, lag_frames = 0, ring_bytes = 0, spill_bytes = 0;
  double lag_s = 0;              ///< age of the oldest uncommitted frame over all partitions
  std::string partition_states;  ///< "p0,p3 spilling; p2 held", empty when all are ok
  /// η over the live streams (their frames over their ticks); negative when none has ticked.
  double eta = -1;
};

class JobModel {
 public:
  JobModel(const RoleLayout& layout, PartitionMap map);

  // --- ranks ---
  int ranks() const { return static_cast<int>(ranks_.size()); }
  const RankRecord& rank(int r) const { return ranks_.at(static_cast<std::size_t>(r)); }
  RankRecord& rank(int r) { return ranks_.at(static_cast<std::size_t>(r)); }
  /// A process spawned into the spare pool; returns its id (the next past every rank so far).
  int add_spawned_spare();
  /// Ranks not declared dead (rank 0 excluded).
  std::vector<int> live_peers() const;
  /// The rank is dead (silent or a straggler): it leaves the group or the pool.
  void declare_dead(int r);

  // --- the worker group and the spare pool ---
  /// Live workers, in the order they joined.
  const std::vector<int>& workers() const { return workers_; }
  /// Live workers of one stage's group, in the order they joined.
  std::vector<int> workers_of(int stage) const;
  int stages() const { return stages_; }
  /// Live spares, first to be promoted first.
  const std::vector<int>& spares() const { return spares_; }
  /// A spare (or released worker) given partitions joins the group of `stage`; true if it was
  /// not in a group.
  bool join_workers(int r, int stage = 0);
  /// The rank now owns partition p (recorded for the group reductions: who served which stage).
  void note_owner(int r, int p);
  /// A worker left without partitions waits as a spare again.
  void release_to_spares(int r);

  // --- partitions ---
  const PartitionMap& map() const { return map_; }
  /// A new placement. `new_copies_in_sync`: the copies it adds count as in sync — true only at
  /// the start, when every copy is empty; a copy added later (re-replication) is not in sync
  /// until its leader says so, and an election must never pick it (#14).
  void set_map(PartitionMap m, bool new_copies_in_sync = false);
  int partitions() const { return static_cast<int>(parts_.size()); }
  const PartitionRecord& partition(int p) const { return parts_.at(static_cast<std::size_t>(p)); }
  PartitionRecord& partition(int p) { return parts_.at(static_cast<std::size_t>(p)); }
  AssignmentTable& assignment() { return table_; }
  const AssignmentTable& assignment() const { return table_; }
  int owner(int p) const { return table_.at(p).owner; }
  std::uint32_t epoch(int p) const { return table_.at(p).epoch; }
  /// A broker's report on one partition, arrived at `now_ns` (wall; times its input rate).
  void on_partition_metrics(const PartitionMetrics& pm, std::int64_t now_ns);
  /// Partition p is sealed and fully committed. A recovery that moved it is over then too (at
  /// steady time `now`, when given): a partition that drained without another result — a later
  /// stage's topic whose frames had all been processed — is not a failure still pending.
  void mark_done(int p, double now = -1);
  int partitions_done() const { return done_; }
  bool all_done() const { return done_ == partitions(); }
  /// ingested / committed count the topics frames enter the job by (the stages reading ingest);
  /// lag, ring, spill and states every topic.
  JobTotals totals() const;
  /// Stage names for the records (jobs of several stages; unset: "").
  void set_stage_names(std::vector<std::string> names) { stage_names_ = std::move(names); }
  std::string stage_name(int stage) const {
    return stage >= 0 && static_cast<std::size_t>(stage) < stage_names_.size() ? stage_names_[static_cast<std::size_t>(stage)] : "";
  }
  /// The stages that read ingest (a job of one stage: stage 0).
  void set_entry_stages(std::vector<int> stages) { entry_stages_ = std::move(stages); }
  bool entry_stage(int stage) const {
    return std::find(entry_stages_.begin(), entry_stages_.end(), stage) != entry_stages_.end();
  }

  // --- failures and scaling ---
  std::vector<FailureRecord>& failures() { return failures_; }
  const std::vector<FailureRecord>& failures() const { return failures_; }
  std::vector<ScalingEvent>& scaling() { return scaling_; }
  const std::vector<ScalingEvent>& scaling() const { return scaling_; }
  /// Results of partition p at `epoch` from `from` arrived (steady time `now`): recoveries that
  /// moved p to this epoch or an earlier one are over once all their partitions flow, and a
  /// grow's first commit is recorded. Returns the failure this batch counts as a replay for
  /// (the latest that moved p at or below this epoch), or nullptr.
  FailureRecord* on_results(int p, std::uint32_t epoch, int from, double now);

  // --- input streams (INGEST_METRICS) ---
  const std::vector<StreamRecord>& streams() const { return streams_; }
  std::vector<StreamRecord>& streams() { return streams_; }
  /// The job's `n` input streams, each read by its first ingest rank (layout.ingest_of_stream):
  /// from then on the model says which rank reads a stream (a takeover moves it, #14).
  void init_streams(std::size_t n, const RoleLayout& layout);
  /// An ingest rank's report on its streams at steady time `now`.
  void on_stream_reports(int ingest_rank, const std::vector<StreamReport>& reports, double now);
  /// What an ingest rank said it published, by job second (from its INGEST_METRICS; `job_s`
  /// when the report came). Its INGEST_DONE histogram is the authority; this stands in for a
  /// rank that died before sending one (#14).
  void note_ingest_progress(int ingest_rank, const std::vector<StreamReport>& reports, double job_s);
  /// A dead ingest rank's frames by job second, the latest trimmed so that they sum to at most
  /// `stored` (the frames of its streams before the sequences another rank resumed: those
  /// after are counted by that rank). Added to produced_per_s.
  void add_dead_ingest_timeline(int ingest_rank, std::uint64_t stored);

 private:
  void settle_stream_takeover(std::uint32_t stream, int reader, double now);

 public:

  // --- the sink's counters (the results file stays the authority at the end) ---
  std::uint64_t processed = 0, duplicates_dropped = 0;
  std::vector<std::uint64_t> processed_per_s, produced_per_s;  ///< job seconds
  std::vector<std::uint64_t> stage_processed, stage_duplicates;  ///< by stage
  void count_processed(double job_s, int stage = 0);
  /// Frames the stages reading ingest processed: what the progress line, /status and the
  /// chart history call "processed" (later stages are counted by stage).
  std::uint64_t entry_processed() const;

 private:
  std::vector<RankRecord> ranks_;
  std::vector<int> workers_, spares_;
  int stages_ = 1;
  std::vector<int> entry_stages_{0};
  std::vector<std::string> stage_names_;
  PartitionMap map_;
  std::vector<PartitionRecord> parts_;
  AssignmentTable table_;
  int done_ = 0;
  std::vector<FailureRecord> failures_;
  std::vector<ScalingEvent> scaling_;
  std::vector<StreamRecord> streams_;  ///< by stream id (grown as reports name them)
  std::map<int, std::vector<std::uint64_t>> ingest_reported_per_s_;  ///< by ingest rank
  std::map<int, std::uint64_t> ingest_reported_total_;
  // on_results' indexes, so that a results batch costs what concerns its partition, not the
  // run's whole history: failures_ and scaling_ are only ever appended to (recovery and the
  // decisions push whole records), and on_results takes in what was appended since its last call.
  struct MovedRef {
    std::size_t failure, move;  ///< failures_[failure].moved[move]
  };
  std::map<int, std::vector<MovedRef>> moved_by_partition_;
  std::vector<std::pair<std::size_t, std::size_t>> unrecovered_;  ///< (failure, its first move not known to flow)
  std::vector<std::size_t> pending_grows_;                       ///< grow events without a first commit
  std::size_t failures_seen_ = 0, scaling_seen_ = 0;
  void catch_up_indexes();
  /// Recoveries whose moved partitions all flow (or are done) are over at `now`.
  void settle_recoveries(double now);
};

}  // namespace ride

#pragma once
/// @brief The job configuration: INI sections in a file, every key also settable on the command
/// line as --section.key=value (the command line wins). Errors name the key and its origin.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/choices.h"

namespace ride {

/// @brief One stage of an application topology (RIDE Sec. 3.3): a topic of partitions (its
/// input), a task, and a group of workers. A job without `job.stages` is one stage, "main", made
/// of [task], [params], [worker], [topic] and ingest.partitioning (today's job, unchanged).
struct StageConfig {
  std::string name;                 ///< [A-Za-z0-9_]+; "main" for a job without job.stages
  std::string task;                 ///< a task name (task/registry.h)
  std::string input = "ingest";     ///< ingest, or the name of another stage
  int partitions = -1;              ///< of its input topic; -1 = one per worker (see role_layout.h)
  int workers = 1;                  ///< initial group size
  int min_workers = -1, max_workers = -1;  ///< adaptive bounds; -1 = scaling.min/max_workers
  DeviceChoice device = DeviceChoice::cpu;
  int threads = 1;
  Partitioning partitioning = Partitioning::round_robin;  ///< how its input is partitioned
  std::string forward;              ///< which frames go on to the stages reading this one (predicate.h)
  Emit emit = Emit::frame;          ///< frame: the input frame goes on; image: the task's output image
  std::map<std::string, std::string> params;  ///< [stage.NAME.params]: the task's own keys
  bool single = true;               ///< the one stage of a job without job.stages
  /// The configuration key of one of this stage's fields ("task", "partitioning", "params.k"):
  /// stage.NAME.FIELD, or for the single stage the legacy key (task.name, ingest.partitioning, ...).
  std::string key(const std::string& field) const;
};

struct JobConfig {
  // [job]
  JobMode mode = JobMode::stream;
  int brokers = -1;             ///< -1 = auto (documented rule in role_layout.h)
  int ingest = -1;
  int workers = -1;
  int spares = -1;
  double stall_timeout_s = 30;  ///< abort when nothing is committed for this long while work remains
  /// job.resume: false | true | auto. true: continue the run whose master died (#14): keep what
  /// its journal holds, process only the keys not yet durable (same configuration and
  /// output.path). auto: resume when <output.path>.journal exists, else start afresh (a requeued
  /// Slurm job: slurm/ride.sbatch).
  ResumeMode resume_mode = ResumeMode::off;
  /// Whether this run resumes: resume_mode on, or automatic resolved by rank 0 (cli) before START.
  bool resume = false;
  std::string stage_list;       ///< job.stages: "a, b, c"; empty = one stage from [task]
  // [ingest]
  int streams = 4;
  int width = 640;
  int height = 480;
  double fps = 15;
  std::string fps_schedule;  ///< "T:FPS,..." per-stream rate by time; overrides fps when set
  std::uint64_t frames = 0;  ///< frames per stream; 0 = fps * duration_s
  double duration_s = 10;
  Partitioning partitioning = Partitioning::round_robin;
  std::uint64_t seed = 1;
  int max_in_flight = 16;  ///< produce requests per broker not yet acknowledged
  double batch_kb = 1024;  ///< a PRODUCE_BATCH holds up to this many KB of small frames (0: one frame per message)
  double linger_ms = 1;    ///< the longest a frame waits in a batch for others
  InputSource source = InputSource::synthetic;  ///< video: files and cameras, ingest.inputs
  std::string inputs;                ///< source = video: "a,b,..." or "@FILE" (core/inputs.h)
  ColorMode color = ColorMode::gray;  ///< source = video
  double retry_s = 1;                ///< source = video: first wait before reopening an input
  double retry_max_s = 30;           ///< backoff ceiling
  double timeout_s = 3;              ///< FFmpeg open/read timeout per input
  bool loop = false;                 ///< source = video: files start over at their end
  HttpReader http = HttpReader::hub;  ///< source = video: http(s) cameras through the hub or ffmpeg
  int decoders = 2;                  ///< source = video: the camera hub's JPEG decoder threads
  /// source = video: decoder threads shared by the network streams (RTSP, ...; ingest/stream_pool.h);
  /// 0 = each stream decoded by its own OpenCV/FFmpeg capture thread
  int stream_decoders = 2;
  RtspTransport rtsp_transport = RtspTransport::automatic;  ///< source = video: RTSP over auto, tcp, udp
  /// How frames travel through the brokers (ingest.encoding): raw pixels, or frames that arrive
  /// as JPEG kept as their JPEG bytes and decoded on the worker.
  using Encoding = ride::Encoding;
  Encoding encoding = Encoding::raw;
  /// With encoding = jpeg: > 0 JPEG-encodes at ingest, at this quality (1..100), the frames of
  /// sources that do not arrive as JPEG (files, streams, HDF5, non-JPEG images); 0 = they stay raw
  int jpeg_encode = 0;
  // [topic]
  int partitions = -1;  ///< -1 = one per worker
  int replication = -1;  ///< copies of each partition on distinct brokers; -1 = auto (RoleLayout::replication)
  /// dynamic: partitions go to whichever worker is free; fixed (static): they stay where assigned
  Allocation allocation = Allocation::dynamic;
  // [broker]
  double ring_mb = 512;           ///< memory ring per partition
  std::uint64_t ring_frames = 0;  ///< 0 = no frame limit
  bool spill = true;
  std::string spill_dir;          ///< empty = $TMPDIR or /tmp
  double spill_max_mb = 0;        ///< 0 = only the disk limits spill
  double spill_min_free_mb = 256;
  double spill_segment_mb = 256;
  DropPolicy drop_policy = DropPolicy::none;
  // [worker]
  int batch_frames = 8;
  int threads = 1;
  DeviceChoice device = DeviceChoice::cpu;
  double fetch_wait_ms = 50;
  double batch_kb_worker = 1024;  ///< worker.batch_kb: more than batch_frames small frames per batch, up to this many KB
  double fetch_batch_kb = 1024;  ///< broker: fetch replies of at most this many KB of frames carry them inline
  double start_delay_s = 0;  ///< workers hold off fetching (late start / stall experiments)
  // [task]
  std::string task = "stddev";  ///< a task name (task/registry.h)
  std::string task_library;     ///< comma-separated task libraries to load
  std::map<std::string, std::string> params;  ///< [params]: the task's own keys (origin "params.k")
  // [output]
  std::string results_path = "ride_results.h5";
  bool images = false;
  /// Journal every stored result beside the results file (<output.path>.journal), synced before
  /// workers may commit: what job.resume continues from. false: no journal, no resume.
  bool journal = true;
  std::string summary_path;  ///< empty = no JSON summary
  // [status]
  double status_interval_s = 1.0;
  std::string status_listen = "127.0.0.1:0";  ///< the HTTP status server (off = none)
  std::string status_token = "auto";          ///< control's bearer token (auto: printed; off: none)
  double status_linger_s = 0;                 ///< serve the final status this long after the end
  int status_stream_series = 64;              ///< per-stream /metrics series for at most this many
  // [ft] fault tolerance
  double heartbeat_interval_ms = 50;   ///< every rank tells the master it is alive this often
  double heartbeat_timeout_ms = 300;   ///< silence after which a rank is declared dead
  double straggler_timeout_s = 5;      ///< a worker with work that commits nothing this long is
                                       ///< replaced (0 = never)
  double startup_grace_s = 30;         ///< silence allowed to a rank still starting up
  double straggler_factor = 10;        ///< a batch may take this many times its expected time
  int replenish = 0;  ///< spares the job may spawn (MPI_Comm_spawn) when the pool runs out
  // [scaling] (CAM² Sec. 4.4)
  bool scaling = false;
  double scaling_high = 0.9, scaling_low = 0.5, scaling_target = 0.7;
  double scaling_low_for_s = 10, scaling_interval_s = 2, scaling_mem_mb = 0;
  bool adaptive = false;               ///< RIDE's adaptive groups: the group follows the frame rate
  double scaling_lag_high_s = 2, scaling_cooldown_s = 5;
  int scaling_min_workers = 1, scaling_max_workers = -1;  ///< -1: every worker and spare
  std::string scaling_schedule;        ///< "T:N,...": the group size by time (experiments)
  // [faults] injection for tests and drills
  int cuda_fault_rank = -1;   ///< this worker causes a real sticky CUDA error on its first batch
  int block_rank = -1;        ///< this rank's own loop (not a compute thread) blocks once ...
  double block_s = 0;         ///< ... for this long, 1 s after it started (long work on the loop)
  double task_ms = 0;         ///< every worker's task takes this much longer per frame (sleeping)
  int slow_rank = -1;         ///< this worker's task takes ...
  double slow_factor = 1;     ///< ... this many times as long (a slower node)
  int stall_rank = -1;        ///< this rank's task stops making progress ...
  double stall_after_s = 0;   ///< ... this many seconds after its first frame ...
  double stall_s = 0;         ///< ... for this long (while its heartbeats go on)

  /// The application topology, in job.stages order (always at least one stage; see StageConfig).
  std::vector<StageConfig> stages;
  bool multi_stage() const { return !stage_list.empty(); }
  /// The one stage of a job without job.stages, made of [task], [params], [worker], [topic] and
  /// ingest.partitioning.
  StageConfig single_stage() const;
  /// The stage index of `name`, -1 when there is none.
  int stage_index(const std::string& name) const;

  /// Frames each stream produces (config frames, or the rate — fps or fps_schedule — over duration).
  std::uint64_t frames_per_stream() const;
  /// The per-stream rate by time: fps_schedule's steps, or fps from time 0.
  std::vector<std::pair<double, double>> rate_steps() const;

  /// Where each key's value came from ("default", "FILE:LINE", "command line").
  std::map<std::string, std::string> origin;
  /// "key (origin)" for error messages.
  std::string where(const std::string& key) const;
  /// The effective configuration as INI text (stored in the results file and the summary).
  std::string to_ini() const;
};

/// @brief Parses `--config FILE` (optional) and `--section.key=value` overrides.
/// `args` are the arguments after the subcommand. Throws ConfigError naming key and origin.
/// Recognises --config, --summary (alias of output.summary) and --help (sets *help).
JobConfig parse_job_config(const std::vector<std::string>& args, bool* help = nullptr);

/// @brief The option reference (every key, type, default, description) for --help.
std::string job_config_help();

}  // namespace ride

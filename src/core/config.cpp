#include "core/config.h"

#include "core/rate_schedule.h"
#include "core/inputs.h"

#include <boost/program_options.hpp>
#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include "core/error.h"

namespace po = boost::program_options;

namespace ride {

namespace {

template <typename T>
void print_value(std::ostream& os, const T& v) {
  if constexpr (Choice<T>) os << to_string(v);
  else if constexpr (std::is_same_v<T, bool>) os << (v ? "true" : "false");
  else os << v;
}

// One table drives --help, file parsing and value checking, so the three never disagree.
class Options {
 public:
  Options(const Options&) = delete;
  Options& operator=(const Options&) = delete;
  explicit Options(JobConfig& c) : desc_("ride run options (file: [section] key = value; "
                                          "command line: --section.key=value)") {
    add("job.mode", &c.mode,
        "stream | batch: produce at the frame rate while "
        "processing, or store every frame first and then process");
    add<int>("job.brokers", &c.brokers, "broker ranks (-1 = auto)", "an integer");
    add<int>("job.ingest", &c.ingest, "ingest ranks (-1 = auto: 1)", "an integer");
    add<int>("job.workers", &c.workers, "worker ranks (-1 = auto)", "an integer");
    add<int>("job.spares", &c.spares, "spare ranks (-1 = auto: 1 when there are >= 6 ranks)",
             "an integer");
    add<double>("job.stall_timeout_s", &c.stall_timeout_s,
                "abort when no frame is committed for this long while work remains", "a number");
    add("job.resume", &c.resume_mode,
        "true: continue a run whose master died: the results of output.path's journal "
        "are kept and only the frames not yet stored are processed (same configuration "
        "and output.path; see docs/ARCHITECTURE.md, \"What is not tolerated\"); auto: "
        "resume when output.path's journal exists, else start afresh (a requeued job)");
    add<std::string>("job.stages", &c.stage_list,
                     "the application topology: stage names in order, each described by a "
                     "[stage.NAME] section (task, input, partitions, workers, min_workers, "
                     "max_workers, device, threads, partitioning, forward, emit) and its "
                     "[stage.NAME.params]; empty = one stage from [task] and [params]",
                     "a comma-separated list of names");
    add<int>("ingest.streams", &c.streams, "number of synthetic camera streams", "an integer");
    add<int>("ingest.width", &c.width, "frame width in pixels", "an integer");
    add<int>("ingest.height", &c.height, "frame height in pixels", "an integer");
    add<double>("ingest.fps", &c.fps, "frames per second per stream (stream mode)", "a number");
    add<std::string>("ingest.fps_schedule", &c.fps_schedule,
                     "synthetic streams: the rate by time, T:FPS,... (seconds from the start: frames per "
                     "second per stream, e.g. 0:10,20:40,40:10); overrides ingest.fps", "T:FPS,T:FPS,...");
    add<std::uint64_t>("ingest.frames", &c.frames, "frames per stream (0 = fps x duration_s)",
                       "a non-negative integer");
    add<double>("ingest.duration_s", &c.duration_s, "seconds of video per stream", "a number");
    add("ingest.partitioning", &c.partitioning,
        "round_robin (stateless tasks) | key (all frames of a stream to one "
        "partition, in order)");
    add<std::uint64_t>("ingest.seed", &c.seed, "seed of the synthetic frame generator",
                       "a non-negative integer");
    add<int>("ingest.max_in_flight", &c.max_in_flight,
             "produce requests per broker awaiting acknowledgement (a batch of small frames is one)", "an integer");
    add<double>("ingest.batch_kb", &c.batch_kb,
                "small frames (at most a quarter of this) travel several to a message of up to this "
                "many KB, as Kafka batches records; 0 = one frame per message", "a number >= 0");
    add<double>("ingest.linger_ms", &c.linger_ms,
                "the longest a frame waits in a batch for others (a batch leaves sooner when full "
                "or when ingest has nothing else to do)", "a number >= 0");
    add("ingest.source", &c.source,
        "synthetic (random frames) | video (files and network cameras named by "
        "ingest.inputs, read with OpenCV/FFmpeg)");
    add<std::string>("ingest.inputs", &c.inputs,
                     "source = video: comma-separated paths/URLs, or @FILE with one 'URL [name]' "
                     "per line; live URLs (http, rtsp, ...) are sampled at ingest.fps, files read "
                     "frame by frame; ingest.streams becomes their count", "a list or @FILE");
    add("ingest.color", &c.color, "source = video: frames as gray or bgr");
    add<double>("ingest.retry_s", &c.retry_s,
                "source = video: first wait before reopening an input that failed (doubles)",
                "a number");
    add<double>("ingest.retry_max_s", &c.retry_max_s, "source = video: longest wait between opens",
                "a number");
    add<double>("ingest.timeout_s", &c.timeout_s, "source = video: FFmpeg open and read timeout",
                "a number");
    add<bool>("ingest.loop", &c.loop,
              "source = video: files, image folders and HDF5 inputs start over at their end, "
              "until ingest.frames each or ingest.duration_s (as cameras do)", "true or false");
    add("ingest.http", &c.http,
        "source = video: http:// and https:// cameras (JPEG snapshot URLs and MJPEG "
        "streams, told apart by their Content-Type) through one camera hub per ingest "
        "rank: a libcurl I/O thread for all of them and ingest.decoders JPEG decoders "
        "(hub), or each through its own FFmpeg thread (ffmpeg: MJPEG streams only)");
    add("ingest.rtsp_transport", &c.rtsp_transport,
        "source = video: how RTSP cameras send their packets: auto (FFmpeg's default: "
        "UDP, then TCP), tcp (interleaved in the RTSP connection: through firewalls and "
        "NAT) or udp");
    add("ingest.encoding", &c.encoding,
        "source = video: how frames travel through the brokers and spill: raw (decoded "
        "pixels) or jpeg (frames that arrive as JPEG - snapshot and MJPEG cameras on the "
        "camera hub, .jpg files of image folders - travel as their JPEG bytes and are "
        "decoded on the worker; others stay raw). Results carry the decoded frame's "
        "checksum either way");
    add<int>("ingest.jpeg_encode", &c.jpeg_encode,
             "source = video with ingest.encoding = jpeg: JPEG-encode at ingest, at this quality, the "
             "frames of sources that do not arrive as JPEG (video files, network streams, HDF5, "
             "non-JPEG images); they then travel and spill compressed and are decoded on the worker "
             "(lossy: results are those of the decoded frame). 0 = those frames stay raw",
             "an integer from 0 to 100");
    add<int>("ingest.decoders", &c.decoders,
             "source = video: JPEG decoder threads of the camera hub (ingest.http = hub)", "an integer from 1 to 64");
    add<int>("ingest.stream_decoders", &c.stream_decoders,
             "source = video: decoder threads shared by the rank's network streams (rtsp, rtmp, srt, "
             "udp, tcp URLs: a reader thread each, single-threaded decoders in this pool); 0 = each "
             "stream decoded by its own OpenCV/FFmpeg capture thread",
             "an integer from 0 to 64");
    add<int>("topic.partitions", &c.partitions, "partitions of the input topic (-1 = one per "
             "worker)", "an integer");
    add<int>("topic.replication", &c.replication,
             "copies of each partition, on distinct brokers (other hosts first): a produce is "
             "acknowledged and fetched only once every in-sync copy holds it (Kafka's acks=all), "
             "and when a broker dies an in-sync copy takes over. -1 = auto: 2 with at least 2 "
             "brokers, else 1",
             "-1 or an integer from 1 to job.brokers");
    add("topic.allocation", &c.allocation,
        "dynamic: a worker that has finished its partitions is given another at once, "
        "so no worker idles while work waits (RIDE Sec. 3.2); static: partitions are "
        "dealt round-robin once and move only on a failure or by scaling");
    add<double>("broker.ring_mb", &c.ring_mb, "memory ring per partition, MB; beyond it frames "
                "spill to disk", "a number");
    add<std::uint64_t>("broker.ring_frames", &c.ring_frames,
                       "memory ring per partition, frames (0 = no frame limit)",
                       "a non-negative integer");
    add<bool>("broker.spill", &c.spill, "spill frames beyond the ring to HDF5 files; off = "
              "backpressure on ingest", "true or false");
    add<std::string>("broker.spill_dir", &c.spill_dir, "local directory for spill files (empty "
                     "= $TMPDIR or /tmp)", "a directory");
    add<double>("broker.spill_max_mb", &c.spill_max_mb, "spill per partition, MB, before "
                "backpressure (0 = until the disk is full)", "a number");
    add<double>("broker.spill_min_free_mb", &c.spill_min_free_mb,
                "free space to leave on the spill disk, MB", "a number");
    add<double>("broker.spill_segment_mb", &c.spill_segment_mb,
                "spill file size, MB; a file goes once all its frames are committed", "a number");
    add("broker.drop_policy", &c.drop_policy,
        "none (never drop: backpressure) | drop_oldest | drop_newest, when the ring "
        "is full and spill is unavailable");
    add<int>("worker.batch_frames", &c.batch_frames, "frames per FETCH", "an integer");
    add<int>("worker.threads", &c.threads, "CPU threads per worker for the task", "an integer");
    add("worker.device", &c.device,
        "where the task runs: cpu | gpu (a CUDA device, one per rank: local rank "
        "mod device count; an error without one) | auto (gpu when there is one)");
    add<double>("worker.fetch_wait_ms", &c.fetch_wait_ms,
                "how long a broker holds an empty FETCH before answering", "a number");
    add<double>("worker.batch_kb", &c.batch_kb_worker,
                "a batch (one FETCH, one RESULTS, one COMMIT) takes more than worker.batch_frames "
                "frames while they total at most this many KB (small frames: fewer round trips per "
                "frame); 0 = worker.batch_frames only", "a number >= 0");
    add<double>("broker.fetch_batch_kb", &c.fetch_batch_kb,
                "a fetch reply whose frames total at most this many KB sends them several to a "
                "message: the runs of them that came in one ingest batch uncopied, others copied "
                "into the reply; bigger replies send each frame as its own message, uncopied; "
                "0 = always the latter", "a number >= 0");
    add<double>("worker.start_delay_s", &c.start_delay_s,
                "seconds workers wait before their first fetch (late start, stalls)", "a number");
    add<std::string>("task.name", &c.task, "task to run ('ride tasks' lists them, with the "
                     "[params] each one takes)", "a task name");
    add<std::string>("task.library", &c.task_library,
                     "shared libraries with more tasks, comma-separated (see src/task/ride_task.h)",
                     "paths");
    add<std::string>("output.path", &c.results_path, "HDF5 results file", "a path");
    add<bool>("output.images", &c.images, "store output images in the results file",
              "true or false");
    add<bool>("output.journal", &c.journal,
              "journal every stored result in <output.path>.journal, synced before workers "
              "commit, so that job.resume can continue the run if the master dies; false = no "
              "journal (one write less per result) and no resume",
              "true or false");
    add<std::string>("output.summary", &c.summary_path, "JSON run summary (empty = none)",
                     "a path");
    add<double>("status.interval_s", &c.status_interval_s, "seconds between progress lines",
                "a number");
    add<std::string>("status.listen", &c.status_listen,
                     "HOST:PORT of the master's HTTP status server (/, /status, /metrics, "
                     "/control); port 0 = a free port; off = no server",
                     "HOST:PORT or off");
    add<std::string>("status.token", &c.status_token,
                     "bearer token for POST /control/...: auto = a random one printed at "
                     "start-up; off = control disabled; anything else = that token",
                     "auto, off or a token of 16+ characters");
    add<double>("status.linger_s", &c.status_linger_s,
                "after the job ends, keep serving the final status this long (the page shows "
                "\"job ended\")",
                "a number >= 0");
    add<int>("status.stream_series", &c.status_stream_series,
             "/metrics gives per-stream series for at most this many streams (the rest are "
             "only in the totals), so 5,000 cameras do not make 5,000 x N series",
             "an integer >= 0");
    add<double>("ft.heartbeat_interval_ms", &c.heartbeat_interval_ms,
                "how often every rank tells the master it is alive", "a number");
    add<double>("ft.heartbeat_timeout_ms", &c.heartbeat_timeout_ms,
                "silence after which a rank is declared dead and its partitions move", "a number");
    add<double>("ft.straggler_timeout_s", &c.straggler_timeout_s,
                "a live worker that commits nothing for this long while it has frames waiting "
                "is replaced and told to stand down (0 = never)", "a number");
    add<double>("ft.startup_grace_s", &c.startup_grace_s,
                "silence allowed to a rank until its start-up (module loading, opening inputs) "
                "is over; then ft.heartbeat_timeout_ms applies", "a number");
    add<double>("ft.straggler_factor", &c.straggler_factor,
                "a worker on one batch longer than ft.straggler_timeout_s is stuck only once the "
                "batch took this many times its expected time (its bytes at the worker's, or the "
                "group's, measured rate); slow on a big frame is not stuck", "a number");
    add<int>("ft.replenish", &c.replenish,
             "spares the job may start with MPI_Comm_spawn when its spare pool runs out "
             "(0 = never; the launcher needs free slots or --oversubscribe)", "an integer");
    add<int>("faults.block_rank", &c.block_rank,
             "fault injection: this rank's own loop blocks once, 1 s after it started, as long work "
             "(a huge frame, a module load) would; its heartbeats must go on; -1 = none", "an integer");
    add<double>("faults.block_s", &c.block_s, "fault injection: how long faults.block_rank blocks",
                "a number");
    add<double>("faults.task_ms", &c.task_ms,
                "experiments: every frame's task takes this many milliseconds longer, without using "
                "the CPU (a heavier task, or a device, with a known capacity on a small machine)", "a number");
    add<int>("faults.slow_rank", &c.slow_rank,
             "fault injection: this worker rank is slower: its task takes faults.slow_factor times "
             "as long; -1 = none", "an integer");
    add<double>("faults.slow_factor", &c.slow_factor, "fault injection: how much slower faults.slow_rank is",
                "a number >= 1");
    add<int>("faults.stall_rank", &c.stall_rank,
             "fault injection: this rank's task stalls (heartbeats go on); -1 = none", "an integer");
    add<int>("faults.cuda_fault_rank", &c.cuda_fault_rank,
             "fault injection: this worker rank triggers a real sticky CUDA error (an illegal "
             "address) on its first batch and must exit; -1 = none", "an integer");
    add<double>("faults.stall_after_s", &c.stall_after_s,
                "fault injection: seconds after the rank's first frame", "a number");
    add<double>("faults.stall_s", &c.stall_s, "fault injection: how long the stall lasts",
                "a number");
    add<bool>("scaling.enabled", &c.scaling, "move partitions between workers by load (CAM² "
              "Sec. 4.4): off an over-utilized worker, and off an under-utilized one to release it",
              "true or false");
    add<double>("scaling.high", &c.scaling_high, "over-utilization threshold (busy fraction)", "a number");
    add<double>("scaling.low", &c.scaling_low, "under-utilization threshold", "a number");
    add<double>("scaling.target", &c.scaling_target,
                "a worker may take a partition only if it stays at or below this", "a number");
    add<double>("scaling.low_for_s", &c.scaling_low_for_s,
                "seconds under scaling.low before a worker is released", "a number");
    add<double>("scaling.interval_s", &c.scaling_interval_s, "seconds between scaling decisions",
                "a number");
    add<double>("scaling.mem_per_worker_mb", &c.scaling_mem_mb,
                "memory budget per worker for memory utilization (0 = CPU only)", "a number");
    add<bool>("scaling.adaptive", &c.adaptive,
              "RIDE's adaptive groups: spares join the worker group when its lag grows past "
              "scaling.lag_high_s, and workers under scaling.low busy for scaling.low_for_s leave it; "
              "topic.partitions then defaults to one per worker and spare", "true or false");
    add<double>("scaling.lag_high_s", &c.scaling_lag_high_s,
                "adaptive: grow the group when its oldest waiting frame is older than this", "a number");
    add<double>("scaling.cooldown_s", &c.scaling_cooldown_s,
                "adaptive: no change to the group this soon after the last", "a number");
    add<int>("scaling.min_workers", &c.scaling_min_workers, "adaptive: the smallest group", "an integer");
    add<int>("scaling.max_workers", &c.scaling_max_workers,
             "adaptive: the largest group (-1 = every worker and spare)", "an integer");
    add<std::string>("scaling.schedule", &c.scaling_schedule,
                     "adaptive: the group size by time instead of by the rates, T:N,... (e.g. "
                     "0:0,45:1,80:2,120:3 as in RIDE Fig. 12)", "T:N,T:N,...");
  }

  const po::options_description& desc() const { return desc_; }
  const std::string& expected(const std::string& key) const { return expected_.at(key); }
  const std::vector<std::string>& keys() const { return keys_; }

  /// Turns every choice's text into its enum (after the file and the command line were read).
  void apply_choices(const JobConfig& c) const {
    for (const auto& apply : choices_) apply(c);
  }
  /// The value now in a key's field, as the configuration writes it (to_ini).
  std::string text(const std::string& key) const { return printers_.at(key)(); }

 private:
  template <typename T>
  void add(const char* key, T* field, const char* help, const char* expected) {
    if constexpr (std::is_same_v<T, std::string>) {
      desc_.add_options()(key, po::value<T>(field)->default_value(*field), help);
    } else {
      std::ostringstream os;
      print_value(os, *field);
      desc_.add_options()(key, po::value<T>(field)->default_value(*field, os.str()), help);
    }
    expected_[key] = expected;
    keys_.push_back(key);
    printers_[key] = [field] {
      std::ostringstream os;
      print_value(os, *field);
      return os.str();
    };
  }
  /// A choice is read as text, like the other keys, and turned into its enum once every source
  /// of keys was read (apply_choices): a bad name is then an error naming the key and where it
  /// was set, as for any other bad value.
  template <Choice E>
  void add(const char* key, E* field, const char* help) {
    std::string& text = choice_text_[key];
    text = to_string(*field);
    add(key, &text, help, choice_names<E>().c_str());  // add() copies the text
    printers_[key] = [field] { return to_string(*field); };
    choices_.push_back([field, &text, key](const JobConfig& c) {
      if (!parse_choice(text, *field)) {
        throw ConfigError("bad value for " + c.where(key) + ": expected " + choice_names<E>());
      }
    });
  }

  po::options_description desc_;
  std::map<std::string, std::string> expected_;
  std::map<std::string, std::string> choice_text_;  ///< a choice's text as read (std::map: stable)
  std::vector<std::function<void(const JobConfig&)>> choices_;
  std::map<std::string, std::function<std::string()>> printers_;
  std::vector<std::string> keys_;
};

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return {};
  const auto e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

struct FileEntry {
  std::string key, value;
  int line;
};

std::vector<FileEntry> read_ini(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ConfigError("cannot read config file '" + path + "'");
  std::vector<FileEntry> out;
  std::string section, raw;
  int line = 0;
  while (std::getline(in, raw)) {
    ++line;
    std::string s = trim(raw);
    if (s.empty() || s[0] == '#' || s[0] == ';') continue;
    const std::string at = path + ":" + std::to_string(line);
    if (s.front() == '[') {
      s = trim(s.substr(0, s.find_first_of("#;")));  // "[faults]  # comment"
      if (s.back() != ']') throw ConfigError(at + ": malformed section header '" + s + "'");
      section = trim(s.substr(1, s.size() - 2));
      continue;
    }
    const auto eq = s.find('=');
    if (eq == std::string::npos) {
      throw ConfigError(at + ": expected 'key = value', got '" + s + "'");
    }
    std::string key = trim(s.substr(0, eq));
    std::string value = trim(s.substr(eq + 1));
    // Allow trailing comments after whitespace: "fps = 30  # camera rate", "dir =   # none".
    if (!value.empty() && (value[0] == '#' || value[0] == ';')) value.clear();
    for (const char* mark : {" #", "\t#", " ;", "\t;"}) {
      const auto c = value.find(mark);
      if (c != std::string::npos) value = trim(value.substr(0, c));
    }
    if (section.empty()) throw ConfigError(at + ": key '" + key + "' outside any [section]");
    out.push_back({section + "." + key, value, line});
  }
  return out;
}

[[noreturn]] void bad_value(const JobConfig& c, const std::string& key, const std::string& why) {
  throw ConfigError("bad value for " + c.where(key) + ": " + why);
}

void validate(const JobConfig& c) {
  if (c.jpeg_encode < 0 || c.jpeg_encode > 100) bad_value(c, "ingest.jpeg_encode", "expected an integer from 0 to 100");
  if (c.jpeg_encode > 0 && c.encoding != Encoding::jpeg) {
    bad_value(c, "ingest.jpeg_encode", "JPEG-encoding frames at ingest needs ingest.encoding = jpeg");
  }
  if (c.jpeg_encode > 0 && c.source != InputSource::video) {
    bad_value(c, "ingest.jpeg_encode", "applies to ingest.source = video (synthetic frames are made on the worker's side "
                                       "of the check; encode them lossily and verification could not hold)");
  }
  if (c.decoders < 1 || c.decoders > 64) bad_value(c, "ingest.decoders", "expected an integer from 1 to 64");
  if (c.stream_decoders < 0 || c.stream_decoders > 64) {
    bad_value(c, "ingest.stream_decoders", "expected an integer from 0 to 64");
  }
  if (c.resume_mode != ResumeMode::off && !c.journal) {
    bad_value(c, "job.resume", "needs output.journal = true: a run resumes from its journal, and a resumed run "
                               "keeps journaling so that it can be resumed again");
  }
  for (const char* k : {"job.brokers", "job.ingest", "job.workers"}) {
    const int v = k == std::string("job.brokers") ? c.brokers
                  : k == std::string("job.ingest") ? c.ingest
                                                   : c.workers;
    if (v == 0 || v < -1) bad_value(c, k, "expected a positive count or -1 (auto)");
  }
  if (c.spares < -1) bad_value(c, "job.spares", "expected a count >= 0 or -1 (auto)");
  if (!(c.stall_timeout_s > 0)) bad_value(c, "job.stall_timeout_s", "expected a number > 0");
  if (c.status_listen != "off") {
    const auto colon = c.status_listen.rfind(':');
    const std::string port = colon == std::string::npos ? "" : c.status_listen.substr(colon + 1);
    if (colon == 0 || colon == std::string::npos || port.empty() || port.size() > 5 ||
        port.find_first_not_of("0123456789") != std::string::npos || std::stoi(port) > 65535) {
      bad_value(c, "status.listen", "expected HOST:PORT (port 0-65535; 0 = a free port) or off");
    }
  }
  if (c.status_token != "auto" && c.status_token != "off" &&
      (c.status_token.size() < 16 || c.status_token.find_first_of(" \t\r\n") != std::string::npos)) {
    bad_value(c, "status.token", "expected auto, off, or a token of at least 16 characters without spaces");
  }
  if (!(c.status_linger_s >= 0) || !std::isfinite(c.status_linger_s)) {
    bad_value(c, "status.linger_s", "expected a number >= 0");
  }
  if (c.status_stream_series < 0) bad_value(c, "status.stream_series", "expected an integer >= 0");
  if (c.streams < 1) bad_value(c, "ingest.streams", "expected at least 1");
  if (c.width < 1) bad_value(c, "ingest.width", "expected at least 1");
  if (c.height < 1) bad_value(c, "ingest.height", "expected at least 1");
  if (!(c.fps > 0) || !std::isfinite(c.fps)) bad_value(c, "ingest.fps", "expected a number > 0");
  if (c.frames == 0 && !(c.duration_s > 0)) {
    bad_value(c, "ingest.duration_s", "expected a number > 0 (or set ingest.frames)");
  }
  if (c.max_in_flight < 1) bad_value(c, "ingest.max_in_flight", "expected at least 1");
  if (!(c.batch_kb >= 0) || c.batch_kb > 1024 * 1024) bad_value(c, "ingest.batch_kb", "expected a number from 0 to 1048576");
  if (!(c.linger_ms >= 0) || c.linger_ms > 1000) bad_value(c, "ingest.linger_ms", "expected a number from 0 to 1000");
  if (!(c.batch_kb_worker >= 0) || c.batch_kb_worker > 1024 * 1024) {
    bad_value(c, "worker.batch_kb", "expected a number from 0 to 1048576");
  }
  if (!(c.fetch_batch_kb >= 0) || c.fetch_batch_kb > 1024 * 1024) {
    bad_value(c, "broker.fetch_batch_kb", "expected a number from 0 to 1048576");
  }
  if (!(c.slow_factor >= 1)) bad_value(c, "faults.slow_factor", "expected a number >= 1");
  if (!(c.task_ms >= 0)) bad_value(c, "faults.task_ms", "expected a number >= 0");
  if (c.source == InputSource::video && c.inputs.empty())
    bad_value(c, "ingest.inputs", "ingest.source = video needs inputs");
  if (!(c.retry_s > 0)) bad_value(c, "ingest.retry_s", "expected a number > 0");
  if (!(c.retry_max_s >= c.retry_s)) bad_value(c, "ingest.retry_max_s", "expected a number >= ingest.retry_s");
  if (!(c.timeout_s > 0)) bad_value(c, "ingest.timeout_s", "expected a number > 0");
  if (c.partitions == 0 || c.partitions < -1) {
    bad_value(c, "topic.partitions", "expected a positive count or -1 (one per worker)");
  }
  if (c.replication < 1 && c.replication != -1) bad_value(c, "topic.replication", "expected -1 (auto) or at least 1");
  if (c.batch_frames < 1) bad_value(c, "worker.batch_frames", "expected at least 1");
  if (c.threads < 1) bad_value(c, "worker.threads", "expected at least 1");
  if (c.fetch_wait_ms < 0) bad_value(c, "worker.fetch_wait_ms", "expected a number >= 0");
  if (!(c.ring_mb > 0)) bad_value(c, "broker.ring_mb", "expected a number > 0");
  if (c.spill_max_mb < 0) bad_value(c, "broker.spill_max_mb", "expected a number >= 0");
  if (c.spill_min_free_mb < 0) bad_value(c, "broker.spill_min_free_mb", "expected a number >= 0");
  if (!(c.spill_segment_mb > 0)) bad_value(c, "broker.spill_segment_mb", "expected a number > 0");
  if (c.start_delay_s < 0) bad_value(c, "worker.start_delay_s", "expected a number >= 0");
  if (c.results_path.empty()) bad_value(c, "output.path", "expected a file path");
  if (!(c.status_interval_s > 0)) bad_value(c, "status.interval_s", "expected a number > 0");
  if (!(c.startup_grace_s >= 0)) bad_value(c, "ft.startup_grace_s", "expected a number >= 0");
  if (!(c.straggler_factor >= 1)) bad_value(c, "ft.straggler_factor", "expected a number >= 1");
  if (!(c.heartbeat_interval_ms > 0)) bad_value(c, "ft.heartbeat_interval_ms", "expected a number > 0");
  if (!(c.heartbeat_timeout_ms > 2 * c.heartbeat_interval_ms)) {
    bad_value(c, "ft.heartbeat_timeout_ms", "expected more than twice ft.heartbeat_interval_ms");
  }
  if (c.straggler_timeout_s < 0) bad_value(c, "ft.straggler_timeout_s", "expected a number >= 0");
  if (c.replenish < 0) bad_value(c, "ft.replenish", "expected an integer >= 0");
  if (!(c.scaling_low > 0 && c.scaling_low < c.scaling_target && c.scaling_target < c.scaling_high)) {
    bad_value(c, "scaling.target", "expected 0 < scaling.low < scaling.target < scaling.high");
  }
  if (!(c.scaling_interval_s > 0)) bad_value(c, "scaling.interval_s", "expected a number > 0");
  if (c.scaling_low_for_s < 0) bad_value(c, "scaling.low_for_s", "expected a number >= 0");
  if (c.scaling_mem_mb < 0) bad_value(c, "scaling.mem_per_worker_mb", "expected a number >= 0");
  if (!c.fps_schedule.empty()) {
    const auto steps = parse_time_schedule(c.fps_schedule, "bad value for " + c.where("ingest.fps_schedule"), false);
    if (std::none_of(steps.begin(), steps.end(), [](const auto& s) { return s.second > 0; })) {
      bad_value(c, "ingest.fps_schedule", "no rate above 0");
    }
  }
  if (!c.scaling_schedule.empty()) {
    (void)parse_time_schedule(c.scaling_schedule, "bad value for " + c.where("scaling.schedule"), true);
    if (!c.adaptive) bad_value(c, "scaling.schedule", "needs scaling.adaptive = true");
  }
  if (c.adaptive && c.scaling) {
    bad_value(c, "scaling.adaptive", "RIDE's adaptive groups and scaling.enabled (CAM²'s load policy) "
                                     "both move partitions: choose one");
  }
  if (!(c.scaling_lag_high_s > 0)) bad_value(c, "scaling.lag_high_s", "expected a number > 0");
  if (!(c.scaling_cooldown_s >= 0)) bad_value(c, "scaling.cooldown_s", "expected a number >= 0");
  if (c.scaling_min_workers < 0) bad_value(c, "scaling.min_workers", "expected a count >= 0");
  if (c.scaling_max_workers < -1 || c.scaling_max_workers == 0 ||
      (c.scaling_max_workers > 0 && c.scaling_max_workers < c.scaling_min_workers)) {
    bad_value(c, "scaling.max_workers", "expected -1 or a count >= scaling.min_workers (and > 0)");
  }
  if (c.block_s < 0) bad_value(c, "faults.block_s", "expected a number >= 0");
  if (c.stall_s < 0 || c.stall_after_s < 0) bad_value(c, "faults.stall_s", "expected numbers >= 0");
}

const std::vector<std::string>& stage_fields() {
  static const std::vector<std::string> f = {"task",   "input",        "partitions", "workers",
                                             "min_workers", "max_workers", "device", "threads",
                                             "partitioning", "forward",  "emit"};
  return f;
}

bool valid_stage_name(const std::string& n) {
  return !n.empty() && std::all_of(n.begin(), n.end(), [](unsigned char ch) { return std::isalnum(ch) || ch == '_'; });
}

int stage_int(const JobConfig& c, const std::string& key, const std::string& value) {
  try {
    std::size_t used = 0;
    const int v = std::stoi(value, &used);
    if (used == value.size()) return v;
  } catch (const std::exception&) {
  }
  throw ConfigError("bad value '" + value + "' for " + c.where(key) + ": expected an integer");
}

template <Choice E>
E stage_choice(const JobConfig& c, const std::string& key, const std::string& value) {
  E v{};
  if (!parse_choice(value, v)) {
    throw ConfigError("bad value '" + value + "' for " + c.where(key) + ": expected " + choice_names<E>());
  }
  return v;
}

/// The application topology from job.stages and the [stage.NAME] sections; without job.stages,
/// the one stage "main" of today's keys. Checks what needs no task: names, keys, values, that
/// every input exists, no cycle, no fan-in. (The tasks, their scalars and `forward` are checked
/// against the task registry: task/registry.h, resolve_stages.)
void build_stages(JobConfig& c, const std::map<std::string, std::string>& entries) {
  c.stages.clear();
  if (c.stage_list.empty()) {
    if (!entries.empty()) {
      const std::string& k = entries.begin()->first;
      throw ConfigError("key " + c.where(k) + ": [stage.*] sections need job.stages to name the stages, in order");
    }
    c.stages.push_back(c.single_stage());
    return;
  }
  std::vector<std::string> names;
  {
    std::stringstream ss(c.stage_list);
    std::string n;
    while (std::getline(ss, n, ',')) {
      n = trim(n);
      if (!valid_stage_name(n) || n == "ingest") {
        bad_value(c, "job.stages", "stage name '" + n + "' must be letters, digits and '_' (and not 'ingest')");
      }
      if (std::find(names.begin(), names.end(), n) != names.end()) bad_value(c, "job.stages", "stage '" + n + "' named twice");
      names.push_back(n);
    }
  }
  if (names.empty()) bad_value(c, "job.stages", "expected at least one stage name");
  for (const char* legacy : {"task.name"}) {
    if (c.origin.count(legacy)) {
      throw ConfigError("key " + c.where(legacy) + " is not used when job.stages is set: each [stage.NAME] names its task");
    }
  }
  if (!c.params.empty()) {
    const std::string k = "params." + c.params.begin()->first;
    throw ConfigError("key " + c.where(k) + " is not used when job.stages is set: give a stage's parameters in [stage.NAME.params]");
  }
  if (c.scaling) {
    bad_value(c, "scaling.enabled", "CAM²'s load policy runs single-stage jobs; with job.stages use scaling.adaptive (per stage)");
  }
  for (std::size_t i = 0; i < names.size(); ++i) {
    StageConfig s;
    s.name = names[i];
    s.task.clear();
    s.input = i == 0 ? "ingest" : names[i - 1];
    s.workers = 1;
    s.device = c.device;
    s.threads = c.threads;
    s.partitioning = c.partitioning;
    s.single = false;
    c.stages.push_back(std::move(s));
  }
  for (const auto& [key, value] : entries) {
    const std::string rest = key.substr(6);  // after "stage."
    const auto dot = rest.find('.');
    const std::string name = rest.substr(0, dot);
    const int idx = c.stage_index(name);
    if (idx < 0) {
      throw ConfigError("key " + c.where(key) + " names stage '" + name + "', which job.stages (" + c.stage_list +
                        ") does not list");
    }
    StageConfig& s = c.stages[static_cast<std::size_t>(idx)];
    const std::string field = dot == std::string::npos ? std::string() : rest.substr(dot + 1);
    if (field.rfind("params.", 0) == 0 && field.size() > 7) {
      s.params[field.substr(7)] = value;
      continue;
    }
    if (std::find(stage_fields().begin(), stage_fields().end(), field) == stage_fields().end()) {
      std::string known;
      for (const auto& f : stage_fields()) known += (known.empty() ? "" : ", ") + f;
      throw ConfigError("unknown key " + c.where(key) + " (a stage takes: " + known + ", and [stage." + name +
                        ".params])");
    }
    if (field == "task") s.task = value;
    else if (field == "input") s.input = value;
    else if (field == "partitions") s.partitions = stage_int(c, key, value);
    else if (field == "workers") s.workers = stage_int(c, key, value);
    else if (field == "min_workers") s.min_workers = stage_int(c, key, value);
    else if (field == "max_workers") s.max_workers = stage_int(c, key, value);
    else if (field == "device") s.device = stage_choice<DeviceChoice>(c, key, value);
    else if (field == "threads") s.threads = stage_int(c, key, value);
    else if (field == "partitioning") s.partitioning = stage_choice<Partitioning>(c, key, value);
    else if (field == "forward") s.forward = value;
    else if (field == "emit") s.emit = stage_choice<Emit>(c, key, value);
  }
  for (const StageConfig& s : c.stages) {
    if (s.task.empty()) {
      throw ConfigError("stage '" + s.name + "' has no task: set " + s.key("task") + " (job.stages at " +
                        c.origin.at("job.stages") + ")");
    }
    if (s.input.find(',') != std::string::npos) {
      bad_value(c, s.key("input"), "a stage reads one input. fan-in (several inputs) is not supported; "
                                   "fan-out is: several stages may read one input");
    }
    if (s.input != "ingest" && c.stage_index(s.input) < 0) {
      bad_value(c, s.key("input"), "'" + s.input + "' is neither ingest nor a stage of job.stages (" + c.stage_list + ")");
    }
    if (s.input == s.name) bad_value(c, s.key("input"), "a stage cannot read its own output (a cycle)");
    if (s.partitions == 0 || s.partitions < -1) bad_value(c, s.key("partitions"), "expected a positive count or -1 (one per worker)");
    if (s.workers < 0 || (s.workers == 0 && !c.adaptive)) {
      bad_value(c, s.key("workers"), "expected a count >= 1 (0 only with scaling.adaptive, which grows the group)");
    }
    if (s.min_workers < -1) bad_value(c, s.key("min_workers"), "expected a count >= 0 or -1 (scaling.min_workers)");
    if (s.max_workers < -1 || s.max_workers == 0 || (s.max_workers > 0 && s.min_workers > s.max_workers)) {
      bad_value(c, s.key("max_workers"), "expected -1 or a count >= min_workers (and > 0)");
    }
    if (s.threads < 1) bad_value(c, s.key("threads"), "expected at least 1");
  }
  // Every stage reads one input, so a cycle is a walk up the inputs that comes back.
  for (const StageConfig& s : c.stages) {
    std::vector<std::string> path = {s.name};
    std::string at = s.input;
    while (at != "ingest") {
      path.push_back(at);
      if (at == s.name) {
        std::string chain;
        for (const auto& n : path) chain += (chain.empty() ? "" : " <- ") + n;
        bad_value(c, s.key("input"), "the stages' inputs form a cycle (" + chain + "): every stage must lead back to ingest");
      }
      if (path.size() > c.stages.size() + 1) break;  // a cycle not through s: found from its own members
      at = c.stages[static_cast<std::size_t>(c.stage_index(at))].input;
    }
  }
}

}  // namespace

std::uint64_t JobConfig::frames_per_stream() const {
  if (frames > 0) return frames;
  if (!fps_schedule.empty()) {
    return static_cast<std::uint64_t>(std::floor(RateSchedule(rate_steps()).frames_until(duration_s) + 1e-9));
  }
  return static_cast<std::uint64_t>(std::llround(fps * duration_s));
}

std::vector<std::pair<double, double>> JobConfig::rate_steps() const {
  if (fps_schedule.empty()) return {{0.0, fps}};
  return parse_time_schedule(fps_schedule, where("ingest.fps_schedule"), false);
}

StageConfig JobConfig::single_stage() const {
  return StageConfig{.name = "main",
                     .task = task,
                     .partitions = partitions,
                     .workers = workers,
                     .min_workers = scaling_min_workers,
                     .max_workers = scaling_max_workers,
                     .device = device,
                     .threads = threads,
                     .partitioning = partitioning,
                     .params = params,
                     .single = true};
}

std::string StageConfig::key(const std::string& field) const {
  if (!single) return "stage." + name + "." + field;
  if (field == "task") return "task.name";
  if (field == "partitions") return "topic.partitions";
  if (field == "workers") return "job.workers";
  if (field == "min_workers" || field == "max_workers") return "scaling." + field;
  if (field == "device" || field == "threads") return "worker." + field;
  if (field == "partitioning") return "ingest.partitioning";
  if (field.rfind("params.", 0) == 0) return field;
  return "stage." + name + "." + field;  // forward, emit, input: only with job.stages
}

int JobConfig::stage_index(const std::string& name) const {
  for (std::size_t i = 0; i < stages.size(); ++i) {
    if (stages[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

std::string JobConfig::where(const std::string& key) const {
  const auto it = origin.find(key);
  return "'" + key + "' (" + (it == origin.end() ? std::string("default") : it->second) + ")";
}

std::string JobConfig::to_ini() const {
  JobConfig copy = *this;
  // A secret stays out of the results file and the summary this text is written to.
  if (copy.status_token != "auto" && copy.status_token != "off") copy.status_token = "(set, not shown)";
  Options opts(copy);
  std::ostringstream os;
  std::string section;
  for (const auto& key : opts.keys()) {
    if (multi_stage() && key == "task.name") continue;  // each stage names its task
    const auto dot = key.find('.');
    if (key.substr(0, dot) != section) {
      section = key.substr(0, dot);
      os << (os.tellp() > 0 ? "\n" : "") << "[" << section << "]\n";
    }
    os << key.substr(dot + 1) << " = " << opts.text(key) << "\n";
  }
  if (!params.empty()) {
    os << "\n[params]\n";
    for (const auto& [k, v] : params) os << k << " = " << v << "\n";
  }
  if (multi_stage()) {
    for (const StageConfig& st : stages) {
      os << "\n[stage." << st.name << "]\n"
         << "task = " << st.task << "\ninput = " << st.input << "\npartitions = " << st.partitions
         << "\nworkers = " << st.workers << "\nmin_workers = " << st.min_workers << "\nmax_workers = " << st.max_workers
         << "\ndevice = " << to_string(st.device) << "\nthreads = " << st.threads
         << "\npartitioning = " << to_string(st.partitioning) << "\nforward = " << st.forward
         << "\nemit = " << to_string(st.emit) << "\n";
      if (!st.params.empty()) {
        os << "\n[stage." << st.name << ".params]\n";
        for (const auto& [k, v] : st.params) os << k << " = " << v << "\n";
      }
    }
  }
  return os.str();
}

std::string job_config_help() {
  JobConfig c;
  Options opts(c);
  std::ostringstream os;
  os << "usage: ride run [--config FILE] [--summary PATH] [--section.key=value ...]\n\n"
     << opts.desc();
  return os.str();
}

JobConfig parse_job_config(const std::vector<std::string>& args, bool* help) {
  JobConfig cfg;
  Options opts(cfg);
  std::string config_file;
  std::vector<std::string> rest;
  std::map<std::string, std::string> stage_entries;  ///< stage.NAME.FIELD -> value (origins in cfg.origin)
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto take = [&](const std::string& flag, std::string& into) {
      if (a == flag) {
        if (i + 1 >= args.size()) throw ConfigError(flag + " needs a value");
        into = args[++i];
        return true;
      }
      if (a.rfind(flag + "=", 0) == 0) {
        into = a.substr(flag.size() + 1);
        return true;
      }
      return false;
    };
    std::string summary;
    if (a == "--help" || a == "-h") {
      if (help) *help = true;
    } else if (take("--config", config_file)) {
    } else if (take("--summary", summary)) {
      rest.push_back("--output.summary=" + summary);
    } else if (a.rfind("--stage.", 0) == 0) {
      const auto eq = a.find('=');
      if (eq == std::string::npos) {
        throw ConfigError("expected --stage.NAME.KEY=VALUE on the command line, got '" + a + "'");
      }
      const std::string key = a.substr(2, eq - 2);
      if (cfg.origin.count(key)) throw ConfigError("key '" + key + "' given twice on the command line");
      cfg.origin[key] = "command line";
      stage_entries[key] = a.substr(eq + 1);
    } else if (a.rfind("--params.", 0) == 0) {
      const auto eq = a.find('=');
      if (eq == std::string::npos || eq == 9) {
        throw ConfigError("expected --params.NAME=VALUE on the command line, got '" + a + "'");
      }
      const std::string key = a.substr(2, eq - 2);
      if (cfg.origin.count(key)) throw ConfigError("key '" + key + "' given twice on the command line");
      cfg.origin[key] = "command line";
      cfg.params[key.substr(7)] = a.substr(eq + 1);
    } else {
      rest.push_back(a);
    }
  }

  po::variables_map vm;
  // The command line is stored first: program_options keeps the first value stored for a key.
  try {
    po::parsed_options cli = po::command_line_parser(rest).options(opts.desc()).run();
    for (const auto& o : cli.options) {
      if (o.position_key >= 0 || o.unregistered) {
        const std::string token = o.original_tokens.empty() ? o.string_key : o.original_tokens[0];
        throw ConfigError("unexpected argument '" + token +
                          "' on the command line (keys are given as --section.key=value)");
      }
      if (cfg.origin.count(o.string_key)) {
        throw ConfigError("key '" + o.string_key + "' given twice on the command line");
      }
      cfg.origin[o.string_key] = "command line";
    }
    po::store(cli, vm);
  } catch (const po::unknown_option& e) {
    std::string key = e.get_option_name();
    key = key.substr(std::min(key.size(), key.find_first_not_of('-')));
    key = key.substr(0, key.find('='));
    throw ConfigError("unknown key '" + key +
                      "' on the command line (see 'ride run --help')");
  } catch (const po::validation_error& e) {
    const std::string key = e.get_option_name().substr(e.get_option_name().find_first_not_of('-'));
    const auto* opt = opts.desc().find_nothrow(key, false);
    throw ConfigError("bad value for key '" + key + "' on the command line: " + e.what() +
                      (opt ? "; expected " + opts.expected(key) : std::string()));
  } catch (const po::error& e) {
    throw ConfigError(std::string("command line: ") + e.what());
  }

  if (!config_file.empty()) {
    po::parsed_options from_file(&opts.desc());
    std::map<std::string, int> seen_at;
    for (const auto& entry : read_ini(config_file)) {
      const std::string at = config_file + ":" + std::to_string(entry.line);
      // The task's own keys ([params], checked against the task later) and the stage sections
      // (checked in build_stages) are not in the option table.
      const bool stage_key = entry.key.rfind("stage.", 0) == 0;
      if (stage_key || entry.key.rfind("params.", 0) == 0) {
        if (auto it = seen_at.find(entry.key); it != seen_at.end()) {
          throw ConfigError("key '" + entry.key + "' set twice: " + config_file + ":" +
                            std::to_string(it->second) + " and " + at);
        }
        seen_at[entry.key] = entry.line;
        if (cfg.origin.count(entry.key)) continue;
        cfg.origin[entry.key] = at;
        if (stage_key) stage_entries[entry.key] = entry.value;
        else cfg.params[entry.key.substr(7)] = entry.value;
        continue;
      }
      const auto* opt = opts.desc().find_nothrow(entry.key, false);
      if (!opt) {
        throw ConfigError("unknown key '" + entry.key + "' at " + at +
                          " (see 'ride run --help' for the keys)");
      }
      if (auto it = seen_at.find(entry.key); it != seen_at.end()) {
        throw ConfigError("key '" + entry.key + "' set twice: " + config_file + ":" +
                          std::to_string(it->second) + " and " + at);
      }
      seen_at[entry.key] = entry.line;
      try {
        boost::any probe;
        opt->semantic()->parse(probe, {entry.value}, true);
      } catch (const po::error&) {
        throw ConfigError("bad value '" + entry.value + "' for key '" + entry.key + "' at " + at +
                          ": expected " + opts.expected(entry.key));
      }
      if (cfg.origin.count(entry.key)) continue;  // the command line overrides the file
      cfg.origin[entry.key] = at;
      po::option o(entry.key, {entry.value});
      from_file.options.push_back(std::move(o));
    }
    po::store(from_file, vm);
  }
  try {
    po::notify(vm);
  } catch (const po::error& e) {
    throw ConfigError(e.what());
  }
  opts.apply_choices(cfg);
  // job.resume = auto is resolved by rank 0 before START.
  cfg.resume = cfg.resume_mode == ResumeMode::on;
  validate(cfg);
  build_stages(cfg, stage_entries);
  if (cfg.source == InputSource::video) {
    const auto inputs = ingest::parse_inputs(cfg.inputs, cfg.where("ingest.inputs"));
    const int n = static_cast<int>(inputs.size());
    if (cfg.origin.count("ingest.streams") && cfg.streams != n)
      bad_value(cfg, "ingest.streams", "ingest.inputs names " + std::to_string(n) +
                                           " inputs (leave ingest.streams out with ingest.source = video)");
    cfg.streams = n;
  }
  return cfg;
}

}  // namespace ride

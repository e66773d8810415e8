#include "worker/worker.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <deque>
#include <condition_variable>
#include <cstdlib>
#include <functional>
#include <future>
#include <mutex>
#include <iostream>
#include <map>
#include <thread>

#include "core/checksum.h"
#include "core/clock.h"
#include "core/process_stats.h"
#include "core/results_codec.h"
#include "kernels/common/cuda_device.h"
#include "kernels/stddev/stddev.h"
#include "task/registry.h"
#include "sink/result_store.h"

namespace ride {
namespace {

/// @brief One long-lived thread that runs the task, one batch at a time. (A thread per batch,
/// std::async, cost ~30 % of the no-op throughput on 2 oversubscribed cores: each new thread
/// had to win a core before it could start.)
template <typename Result>
class ComputeThread {
 public:
  ComputeThread() : thread_([this] { loop(); }) {}
  ~ComputeThread() {
    {
      std::lock_guard lock(mu_);
      quit_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }
  std::future<Result> submit(std::function<Result()> job) {
    std::packaged_task<Result()> task(std::move(job));
    auto f = task.get_future();
    {
      std::lock_guard lock(mu_);
      job_ = std::move(task);
      has_job_ = true;
    }
    cv_.notify_one();
    return f;
  }

 private:
  void loop() {
    std::unique_lock lock(mu_);
    for (;;) {
      cv_.wait(lock, [this] { return quit_ || has_job_; });
      if (quit_) return;
      auto job = std::move(job_);
      has_job_ = false;
      lock.unlock();
      job();
      lock.lock();
    }
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::packaged_task<Result()> job_;
  bool has_job_ = false, quit_ = false;
  std::thread thread_;
};

class Worker {
 public:
  Worker(RoleContext& ctx, bool spare)
      : ctx_(ctx),
        heartbeat_(ctx),
        spare_(spare),
        task_(task::resolve_task(task::registry_for(ctx.cfg), ctx.cfg)),
        use_gpu_(resolve_device(ctx, task_.info)) {}

  int run() {
    send_hello(ctx_);
    heartbeat_.set_running();  // the task was resolved before the role started
    transport::IdleBackoff backoff;
    fetch_after_s_ = steady_s() + ctx_.cfg.start_delay_s;
    while (!stop_) {
      bool busy = heartbeat_.pump([this](transport::Message& m) { handle(m); }, stop_);
      if (stop_) break;
      issue_fetches();
      busy |= pump_compute();
      report_fetching();
      send_metrics();
      ctx_.net.progress();
      if (busy) {
        backoff.reset();
      } else if (computing_.valid()) {
        // Wake the moment the batch is done (a blind sleep here cost ~half the throughput of
        // small batches), but still look at the network every 200 µs.
        computing_.wait_for(std::chrono::microseconds(200));
      } else {
        backoff.wait();
      }
    }
    if (computing_.valid()) computing_.wait();  // never leave the compute thread running
    nlohmann::json parts = nlohmann::json::array();
    for (const auto& [p, o] : owned_) parts.push_back(p);
    const double span = last_commit_s_ > first_frame_s_ ? last_commit_s_ - first_frame_s_ : 0.0;
    send_final_report(ctx_, {{"rank", ctx_.net.rank()},
                             {"role", spare_ && !promoted_ ? "spare" : "worker"},
                             {"promoted", promoted_},
                             {"stood_down", stood_down_},
                             {"processed", processed_},
                             {"failed", failed_},
                             {"dropped", dropped_},
                             {"batches", batches_},
                             {"busy_s", busy_s_},
                             // For `ride profile`: the process's CPU time while it had work, and
                             // its memory before frames and at its peak.
                             {"cpu_active_s", cpu_at_last_commit_s_ - cpu_at_first_frame_s_},
                             {"rss_start_bytes", rss_start_bytes_},
                             {"peak_rss_bytes", peak_rss_bytes()},
                             {"active_s", span},
                             {"fps", span > 0 ? static_cast<double>(processed_) / span : 0.0},
                             {"compute_fps", busy_s_ > 0 ? static_cast<double>(processed_) / busy_s_ : 0.0},
                             {"fenced", fenced_},
                             {"partitions", parts}});
    return 0;
  }

 private:
  struct Owned {
    std::uint32_t epoch = 0;
    int broker = -1;
    std::uint64_t next_fetch = kFromCommitted;
    bool fetch_in_flight = false;
    bool end_of_partition = false;
    int queued_batches = 0;
  };
  struct Batch {
    std::uint32_t partition = 0, epoch = 0;
    std::uint64_t first_offset = 0;
    std::vector<Buffer> frames;
  };
  struct Incoming {  // a fetch reply whose frames are still arriving from one broker
    FetchReply reply;
    Batch batch;
  };
  struct AwaitingAck {
    std::uint32_t partition, epoch;
    std::uint64_t end_offset;
  };
  /// What the compute thread hands back: the RESULTS body and its counts.
  struct Computed {
    Buffer body;
    ResultsHeader header;
    std::uint64_t processed = 0, failed = 0, dropped = 0;
    double seconds = 0;
  };

  void handle(transport::Message& m) {
    switch (m.tag) {
      case Tag::assign: on_assign(BodyReader(m.body).pod<Assign>()); break;
      case Tag::fetch_reply: on_fetch_reply(m.source, BodyReader(m.body).pod<FetchReply>()); break;
      case Tag::fetch_frame: on_frame(m.source, std::move(m.body)); break;
      case Tag::results_ack: on_results_ack(BodyReader(m.body).pod<ResultsAck>()); break;
      case Tag::commit_ack: on_commit_ack(BodyReader(m.body).pod<CommitAck>()); break;
      case Tag::stand_down: stand_down(); break;
      case Tag::shutdown: stop_ = true; break;
      default: break;
    }
  }

  void on_assign(const Assign& a) {
    if (stood_down_) return;
    if (a.owner != ctx_.net.rank()) {
      // The partition is someone else's now (a move the master decided): the brokers fence
      // this rank's epoch too; drop it here at once.
      owned_.erase(a.partition);
      return;
    }
    if (spare_ && !promoted_) {
      promoted_ = true;
      std::cout << "[ride] rank " << ctx_.net.rank() << " (spare) promoted: takes partition "
                << a.partition << " at epoch " << a.epoch << std::endl;
    }
    Owned& o = owned_[a.partition];
    o = Owned{};
    o.epoch = a.epoch;
    o.broker = a.broker;
    o.next_fetch = a.start_offset;
    // A fetch of the previous owner's epoch may still be answered: drop what arrives for it.
  }

  /// Declared dead or a straggler: the master has given this rank's partitions to others, and
  /// the brokers fence its epochs. It drops everything and waits for shutdown.
  void stand_down() {
    if (!stood_down_) {
      std::cerr << "ride: rank " << ctx_.net.rank() << " (worker): told to stand down; its "
                << owned_.size() << " partition(s) belong to other workers now" << std::endl;
    }
    stood_down_ = true;
    owned_.clear();
    ready_.clear();
    awaiting_.clear();
  }

  void issue_fetches() {
    if (steady_s() < fetch_after_s_) return;  // worker.start_delay_s: a late start
    for (auto& [p, o] : owned_) {
      // At most one fetch in flight and one batch queued per partition: the next batch travels
      // while this one is processed, and memory stays bounded when processing is slower.
      if (o.fetch_in_flight || o.end_of_partition || o.queued_batches > 1) continue;
      FetchRequest req;
      req.partition = p;
      req.epoch = o.epoch;
      req.offset = o.next_fetch;
      req.max_frames = static_cast<std::uint32_t>(ctx_.cfg.batch_frames);
      req.wait_ms = ctx_.cfg.fetch_wait_ms;
      ctx_.net.send(o.broker, Tag::fetch, pod_body(req));
      o.fetch_in_flight = true;
    }
  }

  void on_fetch_reply(int broker, const FetchReply& rep) {
    Incoming in;
    in.reply = rep;
    in.batch.partition = rep.partition;
    in.batch.epoch = rep.epoch;
    in.batch.first_offset = rep.first_offset;
    in.batch.frames.reserve(rep.count);
    incoming_[broker] = std::move(in);
    if (rep.count == 0) complete_fetch(broker);
  }

  void on_frame(int broker, Buffer frame) {
    auto it = incoming_.find(broker);
    if (it == incoming_.end()) return;
    it->second.batch.frames.push_back(std::move(frame));
    if (it->second.batch.frames.size() == it->second.reply.count) complete_fetch(broker);
  }

  void complete_fetch(int broker) {
    Incoming in = std::move(incoming_.at(broker));
    incoming_.erase(broker);
    auto it = owned_.find(in.reply.partition);
    if (it == owned_.end() || it->second.epoch != in.reply.epoch) return;  // not ours (any more)
    Owned& o = it->second;
    o.fetch_in_flight = false;
    switch (in.reply.status) {
      case FetchStatus::fenced:
        // A newer owner exists: stand down on this partition.
        ++fenced_;
        owned_.erase(it);
        return;
      case FetchStatus::end_of_partition: o.end_of_partition = true; return;
      case FetchStatus::out_of_range: o.next_fetch = kFromCommitted; return;
      case FetchStatus::ok: break;
    }
    o.next_fetch = in.reply.first_offset + in.batch.frames.size();
    if (in.batch.frames.empty()) return;
    if (first_frame_s_ == 0) {
      first_frame_s_ = steady_s();
      cpu_at_first_frame_s_ = process_cpu_s();
    }
    ++o.queued_batches;
    ready_.push_back(std::move(in.batch));
  }

  /// Runs the task on a thread of its own so that this thread keeps answering the master and
  /// the brokers (heartbeats included) however long a frame takes. Returns true on progress.
  bool pump_compute() {
    if (computing_.valid()) {
      if (computing_.wait_for(std::chrono::seconds(0)) != std::future_status::ready) return false;
      Computed c = computing_.get();
      complete(std::move(c));
      return true;
    }
    if (ready_.empty()) return false;
    Batch batch = std::move(ready_.front());
    ready_.pop_front();
    if (auto o = owned_.find(batch.partition); o != owned_.end()) --o->second.queued_batches;
    // The heartbeat thread says which batch is being computed, since when and how big: the
    // master tells slow on a big frame from stuck by it (master/liveness.h, StragglerRule).
    computing_frames_ = batch.frames.size();
    computing_bytes_ = 0;
    for (const auto& f : batch.frames) computing_bytes_ += f.size();
    heartbeat_.begin_batch(batch.partition, batch.first_offset, computing_bytes_);
    // A batch that took a small part of a heartbeat interval last time runs here: handing it
    // to the compute thread costs a thread switch per batch, which for small frames was most of
    // the time. Long batches go to the thread so heartbeats and fetches continue meanwhile.
    // (A stall about to be injected always goes to the compute thread: it models a task that
    // hangs while the rank stays responsive.)
    const bool stall_due = !stalled_once_ && ctx_.cfg.stall_rank == ctx_.net.rank() && ctx_.cfg.stall_s > 0;
    if (!stall_due && last_compute_s_ < ctx_.cfg.heartbeat_interval_ms / 1000.0 / 4) {
      Computed c = compute(batch);
      complete(std::move(c));
      return true;
    }
    auto shared = std::make_shared<Batch>(std::move(batch));  // std::function needs a copyable job
    computing_ = compute_thread_.submit([this, shared] { return compute(*shared); });
    return true;
  }

  /// A batch is computed: its results go to the sink, and the heartbeat says so — awaiting the
  /// sink before "done computing", so that no heartbeat shows the worker idle in between.
  void complete(Computed c) {
    last_compute_s_ = c.seconds;
    const double secs = c.seconds;
    finish_batch(std::move(c));
    heartbeat_.set_awaiting_results(awaiting_.size());
    heartbeat_.end_batch(computing_frames_, computing_bytes_, secs);
  }

  void report_fetching() {
    std::size_t n = 0;
    for (const auto& [p, o] : owned_) n += o.fetch_in_flight ? 1 : 0;
    heartbeat_.set_fetching(n);
  }

  /// Load samples for the master's scaling policy, twice per status interval.
  void send_metrics() {
    const double now = steady_s();
    if (now < next_metrics_s_) return;
    next_metrics_s_ = now + ctx_.cfg.status_interval_s / 2;
    WorkerMetrics m;
    m.busy_s = busy_s_;
    m.cpu_s = process_cpu_s();
    m.rss_bytes = current_rss_bytes();
    m.partitions = static_cast<std::uint32_t>(owned_.size());
    m.threads = static_cast<std::uint32_t>(ctx_.cfg.threads);
    ctx_.net.send(0, Tag::worker_metrics, pod_body(m));
  }

  /// worker.device: true to run the task on a CUDA device. gpu without a device is an error
  /// (the job ends naming it); auto uses the GPU when the task has a GPU path and the host a
  /// device, and says so when it falls back to the CPU.
  static bool resolve_device(RoleContext& ctx, const task::Info& info) {
    if (ctx.cfg.device == "cpu") return false;
    if (ctx.cfg.device == "auto" && !info.gpu) return false;
    if (kernels::cuda_device_count() > 0) return true;
    RIDE_EXPECTS(ctx.cfg.device != "gpu", "worker.device=gpu but host " << ctx.net.host()
                                              << " has no usable CUDA device"
                                              << (kernels::cuda_compiled() ? "" : " (no CUDA build)"));
    if (!ctx.layout.workers.empty() && ctx.net.rank() == ctx.layout.workers.front()) {
      std::cout << "[ride] worker.device=auto: no CUDA device on " << ctx.net.host()
                << ", the task runs on the CPU" << std::endl;
    }
    return false;
  }

  /// The rank's node-local index (for one GPU per rank), from the launcher's environment.
  int local_rank() const {
    for (const char* v : {"OMPI_COMM_WORLD_LOCAL_RANK", "SLURM_LOCALID", "MPI_LOCALRANKID"}) {
      if (const char* s = std::getenv(v)) return std::atoi(s);
    }
    return ctx_.net.rank();
  }

  /// The task instance for a stream: one per worker for a stateless task, one per stream for a
  /// stateful one (created on first use, on the compute thread, after the device is bound).
  task::Instance& instance_for(std::uint32_t stream) {
    auto& slot = task_.info.state == task::State::per_stream ? per_stream_[stream] : shared_;
    if (!slot) {
      task::Setup setup;
      setup.params = task_.params;
      setup.device = use_gpu_ ? task::Device::gpu : task::Device::cpu;
      setup.threads = ctx_.cfg.threads;
      setup.gpu_index = gpu_index_;
      slot = task_.task->create(setup);
    }
    return *slot;
  }

  /// The compute thread's work: touches only the batch, the configuration, the task instances
  /// and out_.
  Computed compute(Batch& batch) {
    const double t_start = steady_s();
    maybe_stall();
    if (use_gpu_) {
      // The current CUDA device is per host thread: bind on whichever thread computes.
      thread_local int bound = -1;
      if (bound < 0) bound = kernels::cuda_bind_device(local_rank());
      gpu_index_ = bound;
      if (ctx_.cfg.cuda_fault_rank == ctx_.net.rank() && !cuda_fault_done_) {
        cuda_fault_done_ = true;
        kernels::cuda_inject_sticky_fault();  // throws DeviceLost: the rank exits (cli/main.cpp)
      }
    }
    const task::Info& info = task_.info;
    const bool images = ctx_.cfg.images && info.image;
    Computed c;
    c.header.partition = batch.partition;
    c.header.epoch = batch.epoch;
    c.header.end_offset = batch.first_offset + batch.frames.size();
    // One pass: each frame's record, image, objects and error go to the encoder while out_ still
    // holds them (out_ is reused by the next frame).
    ResultsEncoder enc(c.header, images, info.keypoints, info.boxes);
    for (std::size_t i = 0; i < batch.frames.size(); ++i) {
      const Buffer& f = batch.frames[i];
      const auto ph = f.read<ProduceHeader>(0);
      const auto fh = f.read<FrameHeader>(kFrameHeaderAt);
      ResultRecord rec{};
      rec.stream = fh.stream;
      rec.sequence = fh.sequence;
      rec.partition = batch.partition;
      rec.offset = batch.first_offset + i;
      rec.worker_rank = ctx_.net.rank();
      rec.epoch = batch.epoch;
      rec.capture_ns = fh.capture_ns;
      rec.width = fh.width;
      rec.height = fh.height;
      rec.scalars.fill(std::nan(""));
      bool ok = false;
      std::optional<std::string> error;
      out_.clear();
      if (ph.flags & kFrameFlagDropped) {
        // The broker's drop policy discarded the pixels: account for the key, process nothing.
        rec.status = ResultStatus::dropped;
        ++c.dropped;
      } else {
        try {
          RIDE_EXPECTS(fh.pixel == PixelType::u8 && ((fh.channels == 1 && info.gray) ||
                                                     (fh.channels == 3 && info.bgr)),
                       "task " << info.name << " takes " << (info.gray ? "u8 x1" : "")
                               << (info.gray && info.bgr ? " or " : "") << (info.bgr ? "u8 x3" : "")
                               << " frames, got " << to_string(fh.pixel) << " x" << fh.channels);
          RIDE_EXPECTS(f.size() == kPixelsAt + fh.payload_bytes(), "frame size disagrees with its header");
          const auto* px = reinterpret_cast<const std::uint8_t*>(f.data() + kPixelsAt);
          rec.input_checksum = checksum64(px, fh.payload_bytes());
          rec.status = ResultStatus::ok;
          if (!noop_) {
            task::Frame in;
            in.pixels = px;
            in.width = static_cast<int>(fh.width);
            in.height = static_cast<int>(fh.height);
            in.channels = static_cast<int>(fh.channels);
            in.stride = static_cast<std::ptrdiff_t>(fh.width) * fh.channels;
            in.stream = fh.stream;
            in.sequence = fh.sequence;
            in.capture_ns = fh.capture_ns;
            instance_for(fh.stream).process(in, out_);
            for (std::size_t k = 0; k < info.scalars.size(); ++k) rec.scalars[k] = out_.scalars[k];
          }
          ok = true;
          ++c.processed;
        } catch (const DeviceLost&) {
          throw;  // not this frame's fault: the device is gone for every frame (cli/main.cpp)
        } catch (const std::exception& e) {
          // A failing frame is recorded, not fatal: the sink stores the error with its key.
          rec.status = ResultStatus::task_error;
          error = e.what();
          ++c.failed;
        }
      }
      ImageRef image;  // none unless the frame succeeded with an image of a consistent size
      const std::size_t n = out_.image_elements();
      if (images && ok && n > 0 && (out_.image_f32.size() == n || out_.image_u8.size() == n)) {
        const bool u8 = out_.image_f32.size() != n;
        image.data = u8 ? static_cast<const void*>(out_.image_u8.data()) : out_.image_f32.data();
        image.width = static_cast<std::uint32_t>(out_.image_width);
        image.height = static_cast<std::uint32_t>(out_.image_height);
        image.channels = static_cast<std::uint32_t>(out_.image_channels);
        image.u8 = u8;
      }
      rec.processed_ns = wall_ns();
      // A frame that failed or was dropped has no objects (kNoObjects), unlike one with zero.
      enc.add(rec, image, ok ? ObjectRows(out_.keypoints) : std::nullopt,
              ok ? ObjectRows(out_.boxes) : std::nullopt, error);
    }
    c.header = enc.header();
    c.body = enc.finish();
    if (ctx_.cfg.task_ms > 0) {
      std::this_thread::sleep_for(std::chrono::duration<double>(ctx_.cfg.task_ms / 1000.0 * static_cast<double>(batch.frames.size())));
    }
    if (ctx_.cfg.slow_rank == ctx_.net.rank() && ctx_.cfg.slow_factor > 1) {
      // faults.slow_*: a slower node; the heartbeat goes on meanwhile (the compute thread or
      // the heartbeat thread: never this rank's silence).
      const double took = steady_s() - t_start;
      std::this_thread::sleep_for(std::chrono::duration<double>(took * (ctx_.cfg.slow_factor - 1)));
    }
    c.seconds = steady_s() - t_start;
    return c;
  }

  /// faults.stall_*: the task hangs once, while this thread's heartbeats go on (a straggler).
  void maybe_stall() {
    if (stalled_once_ || ctx_.cfg.stall_rank != ctx_.net.rank() || ctx_.cfg.stall_s <= 0) return;
    if (steady_s() - first_frame_s_ < ctx_.cfg.stall_after_s) return;
    stalled_once_ = true;
    std::this_thread::sleep_for(std::chrono::duration<double>(ctx_.cfg.stall_s));
  }

  void finish_batch(Computed c) {
    busy_s_ += c.seconds;
    ++batches_;
    if (stood_down_) return;  // the partition is someone else's now
    processed_ += c.processed;
    failed_ += c.failed;
    dropped_ += c.dropped;
    const std::uint64_t batch_id = next_batch_id_++;
    set_results_batch_id(c.body, batch_id);
    awaiting_[batch_id] = {c.header.partition, c.header.epoch, c.header.end_offset};
    ctx_.net.send(0, Tag::results, std::move(c.body));
  }

  void on_results_ack(const ResultsAck& ack) {
    auto it = awaiting_.find(ack.batch_id);
    if (it == awaiting_.end()) return;
    const AwaitingAck a = it->second;
    awaiting_.erase(it);
    heartbeat_.set_awaiting_results(awaiting_.size());
    auto o = owned_.find(a.partition);
    if (o == owned_.end() || o->second.epoch != a.epoch) return;  // fenced meanwhile
    // Results are durable at the sink: only now may the broker release the frames.
    Commit c;
    c.partition = a.partition;
    c.epoch = a.epoch;
    c.offset = a.end_offset;
    ctx_.net.send(o->second.broker, Tag::commit, pod_body(c));
  }

  void on_commit_ack(const CommitAck& ack) {
    last_commit_s_ = steady_s();
    cpu_at_last_commit_s_ = process_cpu_s();
    if (ack.status == 1) {
      ++fenced_;
      owned_.erase(ack.partition);
    }
  }

  RoleContext& ctx_;
  Heartbeat heartbeat_;
  const bool spare_;
  const task::ResolvedTask task_;
  const bool use_gpu_;
  std::unique_ptr<task::Instance> shared_;                           ///< compute thread only
  std::map<std::uint32_t, std::unique_ptr<task::Instance>> per_stream_;  ///< compute thread only
  task::Output out_;                                                 ///< compute thread only
  int gpu_index_ = -1;
  bool promoted_ = false, stood_down_ = false, stalled_once_ = false, cuda_fault_done_ = false;
  std::map<std::uint32_t, Owned> owned_;
  std::map<int, Incoming> incoming_;
  std::deque<Batch> ready_;
  std::future<Computed> computing_;
  ComputeThread<Computed> compute_thread_;  ///< declared after everything compute() touches
  std::map<std::uint64_t, AwaitingAck> awaiting_;
  std::uint64_t computing_frames_ = 0, computing_bytes_ = 0;  ///< the batch being computed
  std::uint64_t next_batch_id_ = 0, processed_ = 0, failed_ = 0, dropped_ = 0, batches_ = 0,
                fenced_ = 0;
  double busy_s_ = 0, first_frame_s_ = 0, last_commit_s_ = 0, fetch_after_s_ = 0;
  double cpu_at_first_frame_s_ = 0, cpu_at_last_commit_s_ = 0, next_metrics_s_ = 0;
  std::uint64_t rss_start_bytes_ = peak_rss_bytes();
  double last_compute_s_ = 1e9;  ///< the first batch always goes to the compute thread
  bool stop_ = false;
  const bool noop_ = ctx_.cfg.task == "noop";
};

}  // namespace

int run_worker(RoleContext& ctx) { return Worker(ctx, false).run(); }

int run_spare(RoleContext& ctx) { return Worker(ctx, true).run(); }

}  // namespace ride

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
#include <set>
#include <thread>
#include <array>
#include <atomic>
#include <tuple>

#include "codec/jpeg.h"
#include "core/checksum.h"
#include "core/frame_batch.h"
#include "core/clock.h"
#include "core/process_stats.h"
#include "core/aggregates.h"
#include "core/partition_map.h"
#include "core/results_codec.h"
#include "kernels/common/cuda_device.h"
#include "kernels/common/nccl_group.h"
#include "kernels/stddev/stddev.h"
#include "task/pipeline.h"
#include "task/registry.h"
#include "sink/result_store.h"
#include "worker/commit_queue.h"
#include "worker/compute_thread.h"
#include "worker/device_choice.h"

namespace ride {
namespace {

class Worker {
 public:
  Worker(RoleContext& ctx, bool spare)
      : ctx_(ctx),
        heartbeat_(ctx),
        spare_(spare),
        pipeline_(task::registry_for(ctx.cfg), ctx.cfg, ctx.layout) {
    for (const auto& st : pipeline_.all()) use_gpu_.push_back(resolve_device(ctx, *st.cfg, st.task.info));
    stage_processed_.assign(pipeline_.all().size(), 0);
  }

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
                             {"forwarded", forwarded_},
                             {"forward_refused", forward_refused_},
                             {"jpeg_decoded", jpeg_decoded_.load()},
                             {"stage_processed", stage_counts()},
                             {"partitions", parts}});
    return 0;
  }

 private:
  struct Owned {
    int stage = 0;
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
    std::vector<RunSlot> slots;  ///< where each frame lies in the runs
    std::vector<std::shared_ptr<const Buffer>> runs;  ///< the runs arrived so far
  };
  /// A frame a stage may send on: built by the compute thread (its produce header names the
  /// partition once it is sent), sent once the sink has answered for its record.
  struct Outgoing {
    std::uint32_t record = 0;  ///< index of its record in the batch
    bool decision = false;     ///< this run's `forward` decision (a stored duplicate's wins)
    std::uint32_t stream = 0;
    std::uint64_t sequence = 0;
    std::shared_ptr<Buffer> body;
  };
  /// A processed frame's own scalars, counted in the stage's aggregates once the sink has
  /// stored its row from this rank.
  struct Tally {
    std::uint32_t record = 0, stream = 0;
    std::array<double, task::kMaxScalars> values{};
  };
  struct AwaitingAck {
    std::uint32_t partition = 0, epoch = 0;
    std::uint64_t end_offset = 0;
    int stage = 0;
    std::vector<Tally> tallies;  ///< whatever becomes of the partition: rows stored from this rank count
    std::vector<Outgoing> outgoing;  ///< frames it may send on, once the sink has answered
  };
  /// What the compute thread hands back: the RESULTS body and its counts.
  struct Computed {
    std::vector<Tally> tallies;
    Buffer body;
    ResultsHeader header;
    std::uint64_t processed = 0, failed = 0, dropped = 0;
    double seconds = 0;
    int stage = 0;
    std::vector<Outgoing> outgoing;
  };
  struct Forward {  ///< a produce to a next stage's broker, waiting for room in its window
    std::uint32_t from_partition = 0;
    std::uint64_t batch_id = 0;
    BufferPtr body;
  };

  void handle(transport::Message& m) {
    switch (m.tag) {
      case Tag::assign: on_assign(BodyReader(m.body).pod<Assign>()); break;
      case Tag::fetch_reply: on_fetch_reply(m.source, m.body); break;
      case Tag::fetch_frame: on_frame(m.source, std::move(m.body)); break;
      case Tag::results_ack: on_results_ack(m.body); break;
      case Tag::produce_ack:
        for_each_produce_ack(m.body, [&](const ProduceAck& a) { on_forward_ack(m.source, a); });
        break;
      case Tag::commit_ack: on_commit_ack(BodyReader(m.body).pod<CommitAck>()); break;
      case Tag::stand_down: stand_down(); break;
      case Tag::partition_map: on_map(PartitionMap::decode(m.body)); break;
      case Tag::reduce: reduce_groups(decode_reduce_request(m.body)); break;
      case Tag::shutdown: stop_ = true; break;
      default: break;
    }
  }

  /// The master's placement; a new one after a broker's death (#14): frames sent on to a leader
  /// that died unacknowledged go to the new leader (which keeps the first copy of each key).
  /// The partitions this rank owns are handed over by ASSIGN (a new epoch and broker).
  void on_map(PartitionMap map) {
    const PartitionMap old = std::move(broker_map_);
    broker_map_ = std::move(map);
    if (old.partitions() == 0) return;
    for (int b : broker_map_.leaders_gone_since(old)) {
      ctx_.net.cancel_sends_to(b);
      incoming_.erase(b);  // a fetch reply whose frames will not come
    }
    for (const auto& [key, f] : forwarding_) {
      const int p = static_cast<int>(std::get<0>(key));
      if (old.broker(p) != broker_map_.broker(p)) ctx_.net.send(broker_map_.broker(p), Tag::produce, f.body);
    }
    in_flight_.clear();
    for (const auto& [key, f] : forwarding_) ++in_flight_[broker_map_.broker(static_cast<int>(std::get<0>(key)))];
    flush_outbox();
  }

  void on_assign(const Assign& a) {
    if (stood_down_) return;
    forget_pending(a.partition);  // batches of an earlier epoch can commit nothing now
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
    o.stage = pipeline_.stage_of_partition(static_cast<int>(a.partition));
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
    commits_.clear();
    outbox_.clear();
  }

  void forget_pending(std::uint32_t partition) {
    commits_.forget(partition);
    std::erase_if(outbox_, [&](const Forward& f) { return f.from_partition == partition; });
  }

  /// Frames for the next stage wait for room in its brokers' windows: this stage takes no new
  /// work meanwhile, so a slow stage slows the one before it (backpressure across stages).
  bool forwards_backed_up() const {
    return outbox_.size() >= static_cast<std::size_t>(ctx_.cfg.max_in_flight);
  }

  void issue_fetches() {
    if (steady_s() < fetch_after_s_) return;  // worker.start_delay_s: a late start
    if (forwards_backed_up()) return;
    for (auto& [p, o] : owned_) {
      // At most one fetch in flight and one batch queued per partition: the next batch travels
      // while this one is processed, and memory stays bounded when processing is slower.
      if (o.fetch_in_flight || o.end_of_partition || o.queued_batches > 1) continue;
      FetchRequest req;
      req.partition = p;
      req.epoch = o.epoch;
      req.offset = o.next_fetch;
      req.max_frames = static_cast<std::uint32_t>(ctx_.cfg.batch_frames);
      req.max_kb = static_cast<std::uint32_t>(ctx_.cfg.batch_kb_worker);
      req.wait_ms = ctx_.cfg.fetch_wait_ms;
      ctx_.net.send(o.broker, Tag::fetch, pod_body(req));
      o.fetch_in_flight = true;
    }
  }

  void on_fetch_reply(int broker, Buffer& body) {
    BodyReader r(body);
    const auto rep = r.pod<FetchReply>();
    Incoming in;
    in.reply = rep;
    in.batch.partition = rep.partition;
    in.batch.epoch = rep.epoch;
    in.batch.first_offset = rep.first_offset;
    in.batch.frames.reserve(rep.count);
    // Where each frame lies in the `runs` messages that follow (core/frame_batch.h).
    in.slots.resize(rep.count);
    if (rep.count > 0) std::memcpy(in.slots.data(), r.take(rep.count * sizeof(RunSlot)), rep.count * sizeof(RunSlot));
    for (const auto& s : in.slots) {
      RIDE_EXPECTS(s.run < rep.runs, "a fetch reply's frame lies in run " << s.run << " of " << rep.runs);
    }
    incoming_[broker] = std::move(in);
    if (rep.runs == 0) complete_fetch(broker);
  }

  void on_frame(int broker, Buffer run) {
    auto it = incoming_.find(broker);
    if (it == incoming_.end()) return;
    Incoming& in = it->second;
    in.runs.push_back(std::make_shared<const Buffer>(std::move(run)));
    if (in.runs.size() < in.reply.runs) return;
    for (const RunSlot& s : in.slots) {  // every frame a view of its run: no copy
      const auto& whole = in.runs[s.run];
      RIDE_EXPECTS(s.offset + s.size <= whole->size(), "a frame past the end of its run in a fetch reply");
      in.batch.frames.emplace_back(whole, static_cast<std::size_t>(s.offset), static_cast<std::size_t>(s.size));
    }
    complete_fetch(broker);
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
    if (ready_.empty() || forwards_backed_up()) return false;
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

  /// A stage's device (worker.device, or stage.NAME.device): true to run its task on a CUDA
  /// device (worker/device_choice.h decides). gpu without a device is an error (the job ends
  /// naming it); auto falling back to the CPU says so, once (the first worker).
  static bool resolve_device(RoleContext& ctx, const StageConfig& stage, const task::Info& info) {
    const DeviceDecision choice = choose_device({stage.device, stage.key("device"), info.gpu,
                                                 [] { return kernels::cuda_device_count(); }, kernels::cuda_compiled(),
                                                 ctx.net.host()});
    if (choice.outcome == DeviceDecision::Outcome::error) RIDE_FAIL(choice.message);
    if (choice.outcome == DeviceDecision::Outcome::cpu_fallback && !ctx.layout.workers.empty() &&
        ctx.net.rank() == ctx.layout.workers.front()) {
      std::cout << "[ride] " << choice.message << std::endl;
    }
    return choice.use_gpu();
  }

  /// The rank's node-local index (for one GPU per rank), from the launcher's environment.
  int local_rank() const {
    return ride::local_rank([](const char* name) { return std::getenv(name); }, ctx_.net.rank());
  }

  /// The task instance of a stage for a stream: one per worker for a stateless task, one per
  /// stream for a stateful one (created on first use, on the compute thread, after the device
  /// is bound).
  task::Instance& instance_for(const task::Stage& st, std::uint32_t stream) {
    auto& slot = st.task.info.state == task::State::per_stream ? per_stream_[{st.index, stream}] : shared_[st.index];
    if (!slot) {
      task::Setup setup;
      setup.params = st.task.params;
      setup.device = use_gpu_[static_cast<std::size_t>(st.index)] ? task::Device::gpu : task::Device::cpu;
      setup.threads = st.cfg->threads;
      setup.gpu_index = gpu_index_;
      slot = st.task.task->create(setup);
    }
    return *slot;
  }

  /// A frame for the stages reading `st`: its pixels (the input frame's, or the task's output
  /// image with emit = image) and the scalars the stages before the readers produced. The
  /// produce header's partition is set when it is sent.
  std::shared_ptr<Buffer> outgoing_body(const task::Stage& st, const Buffer& in, const FrameHeader& fh,
                                        const ResultRecord& rec) const {
    const std::size_t carried = st.own_scalars + st.upstream_names.size();
    FrameHeader out_fh = fh;
    const void* pixels = in.data() + kPixelsAt;
    // The input frame goes on as it came: a JPEG stays a JPEG (the next stage decodes it again).
    const auto in_ph = in.read<ProduceHeader>(0);
    std::size_t bytes = stored_pixel_bytes(in_ph, fh);
    ProduceHeader ph;
    ph.flags = kFrameFlagScalars | (in_ph.flags & kFrameFlagJpeg);
    ph.encoded_bytes = in_ph.encoded_bytes;
    if (st.emit_image) {
      ph.flags = kFrameFlagScalars;
      ph.encoded_bytes = 0;
      const std::size_t n = out_.image_elements();
      const bool u8 = out_.image_u8.size() == n;
      out_fh.width = static_cast<std::uint32_t>(out_.image_width);
      out_fh.height = static_cast<std::uint32_t>(out_.image_height);
      out_fh.channels = static_cast<std::uint16_t>(out_.image_channels);
      out_fh.pixel = u8 ? PixelType::u8 : PixelType::f32;
      pixels = u8 ? static_cast<const void*>(out_.image_u8.data()) : out_.image_f32.data();
      bytes = out_fh.payload_bytes();
    }
    auto b = std::make_shared<Buffer>(kPixelsAt + bytes + scalars_trailer_bytes(carried));
    std::byte* d = b->data();
    RIDE_EXPECTS(d != nullptr, "no memory for a frame to send on");
    std::memcpy(d, &ph, sizeof ph);
    std::memcpy(d + kFrameHeaderAt, &out_fh, sizeof out_fh);
    if (bytes > 0) std::memcpy(d + kPixelsAt, pixels, bytes);
    ScalarsTrailer t;
    t.count = static_cast<std::uint32_t>(carried);
    std::byte* at = d + kPixelsAt + bytes;
    std::memcpy(at, &t, sizeof t);
    // The stage's own scalars, then what it received: nearest stage first (Stage::upstream_names).
    std::memcpy(at + sizeof t, rec.scalars.data(), 8 * st.own_scalars);
    std::memcpy(at + sizeof t + 8 * st.own_scalars, rec.scalars.data() + st.upstream_at(), 8 * st.upstream_names.size());
    return b;
  }

  /// A frame that travels as a JPEG (ingest.encoding = jpeg), decoded into the compute thread's
  /// scratch buffer by the decoder ingest's camera hub uses (codec/jpeg.h), so the task and the
  /// checksum see the pixels the raw path would carry. Throws (the frame's recorded error) when
  /// it does not decode to the size its header says.
  const std::uint8_t* decode_jpeg_frame(const Buffer& f, const ProduceHeader& ph, const FrameHeader& fh) {
    const std::size_t bytes = fh.payload_bytes();
    if (jpeg_scratch_.size() < bytes) jpeg_scratch_ = Buffer(bytes);
    codec::JpegInfo info;
    std::string error;
    const std::span<const std::uint8_t> jpeg(reinterpret_cast<const std::uint8_t*>(f.data() + kPixelsAt),
                                             static_cast<std::size_t>(ph.encoded_bytes));
    if (!codec::jpeg_decode(jpeg, fh.channels, jpeg_scratch_.data(), bytes, info, error)) {
      throw Error("frame " + std::to_string(fh.sequence) + " of stream " + std::to_string(fh.stream) +
                  " does not decode: " + error);
    }
    ++jpeg_decoded_;
    return reinterpret_cast<const std::uint8_t*>(jpeg_scratch_.data());
  }

  /// The compute thread's work: touches only the batch, the configuration, the task instances
  /// and out_.
  Computed compute(Batch& batch) {
    const double t_start = steady_s();
    maybe_stall();
    const task::Stage& st = pipeline_.stage(pipeline_.stage_of_partition(static_cast<int>(batch.partition)));
    if (use_gpu_[static_cast<std::size_t>(st.index)]) {
      // The current CUDA device is per host thread: bind on whichever thread computes.
      thread_local int bound = -1;
      if (bound < 0) bound = kernels::cuda_bind_device(local_rank());
      gpu_index_ = bound;
      if (ctx_.cfg.cuda_fault_rank == ctx_.net.rank() && !cuda_fault_done_) {
        cuda_fault_done_ = true;
        kernels::cuda_inject_sticky_fault();  // throws DeviceLost: the rank exits (cli/main.cpp)
      }
    }
    const task::Info& info = st.task.info;
    const bool images = ctx_.cfg.images && info.image;
    const bool sends_on = !st.readers.empty();
    const bool noop = info.name == "noop";
    Computed c;
    c.stage = st.index;
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
      // What the stages before this one said about the frame travels on in its record.
      read_frame_scalars(f, rec.scalars.data() + st.upstream_at(), st.upstream_names.size());
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
          RIDE_EXPECTS(produce_defect(f).empty(), "frame size disagrees with its header");
          const auto* px = reinterpret_cast<const std::uint8_t*>(f.data() + kPixelsAt);
          if (ph.flags & kFrameFlagJpeg) px = decode_jpeg_frame(f, ph, fh);
          rec.input_checksum = checksum64(px, fh.payload_bytes());
          rec.status = ResultStatus::ok;
          if (!noop) {
            task::Frame in;
            in.pixels = px;
            in.width = static_cast<int>(fh.width);
            in.height = static_cast<int>(fh.height);
            in.channels = static_cast<int>(fh.channels);
            in.stride = static_cast<std::ptrdiff_t>(fh.width) * fh.channels;
            in.stream = fh.stream;
            in.sequence = fh.sequence;
            in.capture_ns = fh.capture_ns;
            instance_for(st, fh.stream).process(in, out_);
            for (std::size_t k = 0; k < info.scalars.size(); ++k) rec.scalars[k] = out_.scalars[k];
          }
          ok = true;
          ++c.processed;
          if (st.own_scalars > 0 && !noop) {
            Tally t{static_cast<std::uint32_t>(i), fh.stream, {}};
            for (std::size_t k = 0; k < st.own_scalars; ++k) t.values[k] = rec.scalars[k];
            c.tallies.push_back(t);
          }
        } catch (const DeviceLost&) {
          throw;  // not this frame's fault: the device is gone for every frame (cli/main.cpp)
        } catch (const std::exception& e) {
          // A failing frame is recorded, not fatal: the sink stores the error with its key.
          rec.status = ResultStatus::task_error;
          error = e.what();
          ++c.failed;
        }
      }
      if (sends_on) {
        // A frame that failed, or whose image a stage with emit = image lacks, goes no further.
        const bool can = ok && (!st.emit_image || out_.image_elements() > 0);
        const bool decision = can && (st.forward.always_true() || st.forward(rec.scalars.data()));
        rec.scalars[st.own_scalars] = decision ? 1.0 : 0.0;
        if (can) c.outgoing.push_back({static_cast<std::uint32_t>(i), decision, fh.stream, fh.sequence, outgoing_body(st, f, fh, rec)});
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
    stage_processed_[static_cast<std::size_t>(c.stage)] += c.processed;
    const std::uint64_t batch_id = next_batch_id_++;
    set_results_batch_id(c.body, batch_id);
    awaiting_[batch_id] = {c.header.partition, c.header.epoch, c.header.end_offset, c.stage, std::move(c.tallies),
                           std::move(c.outgoing)};
    ctx_.net.send(0, Tag::results, std::move(c.body));
    // A batch of an epoch this rank no longer holds (the partition moved, maybe back to it under
    // a newer epoch) commits nothing and sends nothing on.
    const auto o = owned_.find(c.header.partition);
    if (o != owned_.end() && o->second.epoch == c.header.epoch) {
      commits_.add(c.header.partition, batch_id, c.header.epoch, c.header.end_offset);
    }
  }

  /// The sink made a batch's results durable (and says which records it had stored before).
  /// Now the frames this stage sends on go to the next stage's topics, as the stored records
  /// say; the commit follows once the brokers have them.
  void on_results_ack(const Buffer& body) {
    BodyReader r(body);
    const auto ack = r.pod<ResultsAck>();
    std::vector<RowFate> fates;
    if (r.remaining() >= sizeof(std::uint32_t)) {
      const auto n = r.pod<std::uint32_t>();
      const auto* p = r.take(n);
      fates.resize(n);
      std::memcpy(fates.data(), p, n);
    }
    auto it = awaiting_.find(ack.batch_id);
    if (it == awaiting_.end()) return;
    const AwaitingAck a = std::move(it->second);
    awaiting_.erase(it);
    // The stage's aggregates count the rows the sink stored from this rank (not its replays).
    for (const Tally& t : a.tallies) {
      if (t.record < fates.size() && fates[t.record] != RowFate::stored) continue;
      auto agg = aggregates_.try_emplace(a.stage, static_cast<std::size_t>(ctx_.cfg.streams),
                                         pipeline_.stage(a.stage).own_scalars).first;
      agg->second.add(t.stream, t.values.data());
    }
    heartbeat_.set_awaiting_results(awaiting_.size());
    auto o = owned_.find(a.partition);
    if (o == owned_.end() || o->second.epoch != a.epoch) return;  // fenced meanwhile
    if (!commits_.results_durable(a.partition, ack.batch_id)) return;
    const task::Stage& st = pipeline_.stage(o->second.stage);
    int sending = 0;
    for (const auto& out : a.outgoing) {
      const RowFate fate = out.record < fates.size() ? fates[out.record] : RowFate::stored;
      const bool send = fate == RowFate::stored ? out.decision : fate == RowFate::duplicate_forwarded;
      if (!send) continue;
      for (std::size_t k = 0; k < st.readers.size(); ++k) {
        const task::Stage& reader = pipeline_.stage(st.readers[k]);
        const int p = task::forward_partition(reader, out.stream, out.sequence);
        std::shared_ptr<Buffer> b = out.body;
        if (k + 1 < st.readers.size()) {  // fan-out: every reader but the last gets a copy
          b = std::make_shared<Buffer>(out.body->size());
          std::memcpy(b->data(), out.body->data(), out.body->size());
        }
        ProduceHeader ph = b->read<ProduceHeader>(0);
        ph.partition = static_cast<std::uint32_t>(p);
        b->write(0, ph);
        outbox_.push_back({a.partition, ack.batch_id, std::move(b)});
        ++sending;
      }
    }
    commits_.sending(a.partition, ack.batch_id, sending);
    flush_outbox();
    try_complete(a.partition);
  }

  /// Sends queued frames to the next stages' brokers, at most ingest.max_in_flight unacknowledged
  /// per broker (a broker that holds them back slows this stage down), in order.
  void flush_outbox() {
    while (!outbox_.empty()) {
      Forward& f = outbox_.front();
      const auto fh = f.body->read<FrameHeader>(kFrameHeaderAt);
      const auto ph = f.body->read<ProduceHeader>(0);
      const int broker = broker_map_.broker(static_cast<int>(ph.partition));  // its leader now
      int& window = in_flight_[broker];
      if (window >= ctx_.cfg.max_in_flight) return;
      // Kept until acknowledged: a leader that dies before it is sent again to the next one.
      forwarding_[{ph.partition, fh.stream, fh.sequence}] = {f.from_partition, f.batch_id, f.body};
      ++window;
      ctx_.net.send(broker, Tag::produce, std::move(f.body));
      outbox_.pop_front();
    }
  }

  void on_forward_ack(int broker, const ProduceAck& ack) {
    // From a leader replaced since (#14): what it had not acknowledged went to the new one.
    if (static_cast<int>(ack.partition) >= broker_map_.partitions() ||
        broker != broker_map_.broker(static_cast<int>(ack.partition))) {
      return;
    }
    if (in_flight_[broker] > 0) --in_flight_[broker];
    auto it = forwarding_.find({ack.partition, ack.stream, ack.sequence});
    if (it != forwarding_.end()) {
      const auto from = it->second.from;
      const auto batch_id = it->second.batch_id;
      forwarding_.erase(it);
      if (ack.status == ProduceStatus::accepted || ack.status == ProduceStatus::duplicate) {
        ++forwarded_;
      } else {
        // The next stage's partition refused it (stopped by a spill failure, or malformed): it
        // does not reach that stage, and the job's accounting shows it there as lost.
        if (++forward_refused_ <= 5) {
          std::cerr << "ride: rank " << ctx_.net.rank() << " (worker): partition " << ack.partition
                    << " refused frame (stream " << ack.stream << ", sequence " << ack.sequence << ")" << std::endl;
        }
      }
      commits_.sent(from, batch_id);
      try_complete(from);
    }
    flush_outbox();
  }

  /// Commits the partition past every batch that is done (commit_queue.h).
  void try_complete(std::uint32_t partition) {
    auto o = owned_.find(partition);
    if (o == owned_.end()) return;
    const auto offset = commits_.take_commit(partition, o->second.epoch);
    if (!offset) return;
    Commit c;
    c.partition = partition;
    c.epoch = o->second.epoch;
    c.offset = *offset;
    ctx_.net.send(o->second.broker, Tag::commit, pod_body(c));
  }

  void on_commit_ack(const CommitAck& ack) {
    last_commit_s_ = steady_s();
    cpu_at_last_commit_s_ = process_cpu_s();
    if (ack.status == 1) {
      ++fenced_;
      owned_.erase(ack.partition);
      forget_pending(ack.partition);
    }
  }

  /// The end of the job: each stage's group (the master names its members: the live ranks that
  /// served the stage) reduces its aggregates; its first member sends the result to the master.
  /// Stages in order, so members of several never cross. A stage with device = gpu reduces on
  /// its GPUs through an NCCL communicator built for the members it has now (one GPU each: when
  /// two members share a device, as on a one-GPU host, NCCL cannot, and the group uses MPI).
  /// Otherwise the reduction runs over the survivors' communicator (MPI).
  void reduce_groups(const std::vector<std::vector<int>>& members) {
    for (std::size_t s = 0; s < members.size() && s < pipeline_.all().size(); ++s) {
      const auto& m = members[s];
      if (std::find(m.begin(), m.end(), ctx_.net.rank()) == m.end()) continue;
      const task::Stage& st = pipeline_.stage(static_cast<int>(s));
      ScalarAggregates agg = aggregates_.count(st.index) ? aggregates_.at(st.index)
                                                         : ScalarAggregates(static_cast<std::size_t>(ctx_.cfg.streams), st.own_scalars);
      agg.resize_streams(static_cast<std::size_t>(ctx_.cfg.streams));
      const auto group = ctx_.net.open_group(m, kReduceTagBase + st.index);
      auto method = ScalarAggregates::Method::mpi;
      if (st.cfg->device == DeviceChoice::gpu && kernels::nccl_compiled() && gpus_distinct(*group)) {
        std::vector<std::byte> id = group->index() == 0 ? kernels::nccl_unique_id() : std::vector<std::byte>(kernels::kNcclIdBytes);
        group->broadcast(id);
        kernels::NcclGroup nccl(id, group->size(), group->index());
        nccl.reduce(agg.sums(), agg.mins(), agg.maxs());
        method = ScalarAggregates::Method::nccl;
      } else {
        group->reduce(agg.sums(), agg.mins(), agg.maxs());
      }
      if (group->index() == 0) ctx_.net.send(0, Tag::aggregates, agg.encode(st.index, m, method));
    }
  }

  /// Binds this thread to the rank's GPU and asks the group whether every member has a GPU of
  /// its own (host and device differ pairwise). Collective over the group.
  bool gpus_distinct(transport::Group& group) {
    const int device = kernels::cuda_device_count() > 0 ? kernels::cuda_bind_device(local_rank()) : -1;
    std::string key = ctx_.net.host() + "/" + std::to_string(device);
    key.resize(96, '\0');
    key.back() = device >= 0 ? 1 : 0;  // every member must decide alike: all have a GPU, or MPI
    std::vector<std::byte> mine(key.size());
    std::memcpy(mine.data(), key.data(), key.size());
    const auto all = group.allgather(mine);
    std::set<std::string> seen;
    bool every = true;
    for (const auto& k : all) {
      seen.emplace(reinterpret_cast<const char*>(k.data()), k.size());
      every = every && !k.empty() && k.back() == std::byte{1};
    }
    return every && seen.size() == all.size();
  }
  static constexpr int kReduceTagBase = 7000;

  nlohmann::json stage_counts() const {
    nlohmann::json j = nlohmann::json::object();
    for (const auto& st : pipeline_.all()) j[st.name()] = stage_processed_[static_cast<std::size_t>(st.index)];
    return j;
  }

  RoleContext& ctx_;
  Heartbeat heartbeat_;
  const bool spare_;
  const task::Pipeline pipeline_;
  std::vector<bool> use_gpu_;  ///< by stage
  std::map<int, std::unique_ptr<task::Instance>> shared_;  ///< by stage; compute thread only
  std::map<std::pair<int, std::uint32_t>, std::unique_ptr<task::Instance>> per_stream_;  ///< (stage, stream); compute thread only
  task::Output out_;                                                 ///< compute thread only
  Buffer jpeg_scratch_;                      ///< compute thread only: a JPEG frame's pixels
  std::atomic<std::uint64_t> jpeg_decoded_{0};  ///< JPEG frames decoded (ingest.encoding = jpeg)
  int gpu_index_ = -1;
  bool promoted_ = false, stood_down_ = false, stalled_once_ = false, cuda_fault_done_ = false;
  std::map<std::uint32_t, Owned> owned_;
  std::map<int, Incoming> incoming_;
  std::deque<Batch> ready_;
  std::future<Computed> computing_;
  ComputeThread<Computed> compute_thread_;  ///< declared after everything compute() touches
  std::map<std::uint64_t, AwaitingAck> awaiting_;
  CommitQueue commits_;                                    ///< when each partition may commit
  std::deque<Forward> outbox_;                             ///< frames for the next stages, in order
  std::map<int, int> in_flight_;                           ///< by broker: produces not acknowledged
  struct Forwarding {
    std::uint32_t from = 0;      ///< the partition it came from
    std::uint64_t batch_id = 0;  ///< ... in this batch
    BufferPtr body;              ///< sent again if its leader dies first
  };
  std::map<std::tuple<std::uint32_t, std::uint32_t, std::uint64_t>, Forwarding> forwarding_;  ///< (partition, stream, sequence) sent
  std::vector<std::uint64_t> stage_processed_;
  std::map<int, ScalarAggregates> aggregates_;  ///< by stage: rows the sink stored from this rank
  std::uint64_t forwarded_ = 0, forward_refused_ = 0;
  PartitionMap broker_map_;  ///< where the next stages' partitions live (the master's map)
  std::uint64_t computing_frames_ = 0, computing_bytes_ = 0;  ///< the batch being computed
  std::uint64_t next_batch_id_ = 0, processed_ = 0, failed_ = 0, dropped_ = 0, batches_ = 0,
                fenced_ = 0;
  double busy_s_ = 0, first_frame_s_ = 0, last_commit_s_ = 0, fetch_after_s_ = 0;
  double cpu_at_first_frame_s_ = 0, cpu_at_last_commit_s_ = 0, next_metrics_s_ = 0;
  std::uint64_t rss_start_bytes_ = peak_rss_bytes();
  double last_compute_s_ = 1e9;  ///< the first batch always goes to the compute thread
  bool stop_ = false;
};

}  // namespace

int run_worker(RoleContext& ctx) { return Worker(ctx, false).run(); }

int run_spare(RoleContext& ctx) { return Worker(ctx, true).run(); }

}  // namespace ride

#include "ingest/ingest_role.h"

#include <algorithm>
#include <cstdlib>
#include <chrono>
#include <cmath>
#include <cstring>
#include <iostream>
#include <map>
#include <queue>
#include <set>
#include <sstream>
#include <thread>
#include <tuple>

#include "core/clock.h"
#include "core/frame_batch.h"
#include "core/key_ranges.h"
#include "core/partition_map.h"
#include "core/process_stats.h"
#include "core/stream_report.h"
#include "ingest/synthetic_source.h"
#include "ingest/video_source.h"

namespace ride {
namespace {

class Ingest {
 public:
  explicit Ingest(RoleContext& ctx)
      : ctx_(ctx),
        heartbeat_(ctx),
        index_(ctx.layout.index_in_role(ctx.net.rank())) {
    // The topics ingest feeds: one per stage reading ingest (several: fan-out, each gets every
    // frame), partitioned as that stage asks.
    for (std::size_t s = 0; s < ctx.cfg.stages.size(); ++s) {
      const StageConfig& st = ctx.cfg.stages[s];
      if (st.input != "ingest") continue;
      readers_.push_back({ctx.layout.stage_first[s], ctx.layout.stage_partitions[s], st.partitioning,
                          ingest::Partitioner(st.partitioning, ctx.layout.stage_partitions[s])});
    }
    RIDE_EXPECTS(!readers_.empty(), "no stage reads ingest");
    // Small frames travel several to a message (core/frame_batch.h): up to ingest.batch_kb per
    // batch, frames of at most a quarter of it; bigger ones alone, as before.
    batch_bytes_ = static_cast<std::size_t>(std::max(0.0, ctx.cfg.batch_kb) * 1024);
    batch_frame_max_ = batch_bytes_ / 4;
    linger_s_ = ctx.cfg.linger_ms / 1000.0;
  }

  int run() {
    send_hello(ctx_);
    // Real inputs: link the video module while the job starts up, not when the first frame is due.
    if (ctx_.cfg.source == InputSource::video) ingest::load_video_module();
    if (!wait_for_start()) return finish(true);
    // Start-up ends when frames can flow: for real inputs once they are opened (produce_video).
    // Until then the master allows ft.startup_grace_s of silence, not the heartbeat timeout.
    if (ctx_.cfg.source == InputSource::video) {
      produce_video();
    } else {
      heartbeat_.set_running();
      produce_synthetic();
    }
    return report_and_wait();
  }

 private:
  /// RIDE's random frames at the frame rate (stream mode) or as fast as brokers accept (batch).
  /// Called again when streams of a dead ingest rank are handed over after this rank's own
  /// schedule ended (#14): then only those.
  void produce_synthetic() {
    const JobConfig& cfg = ctx_.cfg;
    std::vector<std::uint32_t> mine;
    for (int s = 0; s < cfg.streams && !synthetic_started_; ++s) {
      if (ctx_.layout.ingest_of_stream(static_cast<std::uint32_t>(s)) == ctx_.net.rank()) {
        mine.push_back(static_cast<std::uint32_t>(s));
      }
    }
    synthetic_started_ = true;
    for (auto s : mine) input_state_[s] = {StreamState::synthetic, 0};
    ingest::FrameSchedule schedule(mine, cfg.streams, RateSchedule(cfg.rate_steps()), cfg.frames_per_stream(),
                                   cfg.mode == JobMode::stream);
    adopt_takeovers(schedule);
    const std::size_t payload = static_cast<std::size_t>(cfg.width) * cfg.height;
    double t0 = steady_start_;
    bool shifted = false;  // job.resume: t0 moved back past the passed-over frames
    transport::IdleBackoff backoff;
    int chosen = -1;  // partition picked for the frame at the head of the schedule (-1: none)
    double blocked_since = -1;
    while (!schedule.done() && !stop_ && !draining_) {
      const bool got = pump();
      if (draining_) break;
      adopt_takeovers(schedule);
      const auto item = schedule.peek();
      if (pass_over(item.stream, next_sequence_[item.stream])) {
        // job.resume: finished by the run whose master died; its tick takes no time.
        ++next_sequence_[item.stream];
        schedule.pop();
        continue;
      }
      if (!resume_.empty() && !shifted) {
        // The first frame a resumed stream job publishes is due now: the passed-over ones
        // before it do not make it wait.
        shifted = true;
        t0 = std::min(t0, steady_s() - item.due_s);
      }
      if (paused_.count(item.stream) && steady_s() >= t0 + item.due_s) {
        // Paused by the operator: its ticks pass without a frame (counted, never lost).
        ++paused_ticks_[item.stream];
        schedule.pop();
        continue;
      }
      if (stopped_streams_.count(item.stream)) {
        // Its partition stopped taking frames (spill failure) and keyed partitioning allows no
        // other: the rest of this stream is refused, never silently lost.
        ++refused_;
        schedule.pop();
        continue;
      }
      const double now = steady_s();
      const double due = t0 + item.due_s;
      if (now < due) {
        // Nothing due: what waits in a batch goes now (a lone frame is not held back), then
        // sleep towards the next due frame, waking at least every ms for acks and shutdown.
        flush_batches();
        std::this_thread::sleep_for(std::chrono::duration<double>(std::min(due - now, 1e-3)));
        continue;
      }
      if (chosen < 0) chosen = pick_partition(item.stream, next_sequence_[item.stream]);
      if (chosen < 0) {
        stop_stream(item.stream);
        continue;
      }
      const int broker = map_.broker(chosen);
      if (!has_room(broker)) {
        // Backpressure: the broker has not acknowledged enough; wait instead of flooding it.
        flush_batch(broker);  // (what waits in its batch must go, or no ack comes)
        if (blocked_since < 0) blocked_since = now;
        if (!got) backoff.wait();
        continue;
      }
      if (blocked_since >= 0) {
        blocked_s_ += now - blocked_since;
        blocked_since = -1;
      }
      backoff.reset();
      if (now - due > 1.0 / cfg.fps) ++late_frames_;
      max_lateness_s_ = std::max(max_lateness_s_, now - due);

      // A stream's frames are numbered as published, so a paused stream's sequence has no gap
      // (without pauses this is the schedule's own numbering).
      const std::uint64_t sequence = next_sequence_[item.stream]++;
      publish_new(chosen, item.stream, sequence, cfg.width, cfg.height, 1, [&](std::byte* px) {
        ingest::fill_synthetic_frame(cfg.seed, item.stream, sequence, px, payload);
        return wall_ns();
      });
      chosen = -1;
      if (!fan_out(item.stream)) break;
      schedule.pop();
    }
  }

  /// Streams of a dead ingest rank (#14), handed over by the master: read from here on, from
  /// the first sequence the brokers do not hold for sure.
  void adopt_takeovers(ingest::FrameSchedule& schedule) {
    for (const StreamTakeover& t : takeovers_) {
      schedule.add(t.stream, t.from);
      next_sequence_[t.stream] = t.from;
      published_next_[t.stream] = std::max(published_next_[t.stream], t.from);
      taken_from_[t.stream] = t.from;
      input_state_[t.stream] = {StreamState::synthetic, 0};
      std::cout << "[ride] ingest rank " << ctx_.net.rank() << ": takes over stream " << t.stream
                << " from sequence " << t.from << std::endl;
    }
    takeovers_.clear();
  }

  /// job.resume (#14): whether (stream, sequence) was finished by the run whose master died; if
  /// so it is counted and passed over (it counts as published for a takeover's resume point).
  bool pass_over(std::uint32_t stream, std::uint64_t sequence) {
    if (!resume_.contains(stream, sequence)) return false;
    ++resumed_[stream];
    auto& next = published_next_[stream];
    next = std::max(next, sequence + 1);
    return true;
  }

  void on_takeover(const std::vector<StreamTakeover>& t) { takeovers_.insert(takeovers_.end(), t.begin(), t.end()); }

  /// By stream: every sequence below is stored by the brokers (acknowledged) or refused for
  /// good — where another rank would resume it (frames go out in sequence order).
  std::map<std::uint32_t, std::uint64_t> acked_by_stream() const {
    std::map<std::uint32_t, std::uint64_t> low(published_next_.begin(), published_next_.end());
    for (const auto& [key, f] : in_flight_frames_) {
      auto& l = low[std::get<1>(key)];
      l = std::min(l, std::get<2>(key));
    }
    return low;
  }

  /// Waits (pumping messages) until the broker of `partition` takes another frame; false when
  /// the job stopped first. Counts the wait as backpressure.
  bool wait_for_room(int partition) {
    const int broker = map_.broker(partition);
    if (has_room(broker)) return true;
    flush_batch(broker);  // what waits in its batch must go, or no ack comes
    const double since = steady_s();
    transport::IdleBackoff backoff;
    while (!stop_ && !has_room(broker)) {
      if (!pump()) backoff.wait();
    }
    blocked_s_ += steady_s() - since;
    return !stop_;
  }

  /// Whether `broker` takes another frame: fewer than ingest.max_in_flight produce requests
  /// unacknowledged. A batch is one request: with batching the window holds up to
  /// max_in_flight batches (frames and bytes counted: max_in_flight x kBatchFrames frames,
  /// max_in_flight x ingest.batch_kb bytes).
  bool has_room(int broker) {
    const int window = ctx_.cfg.max_in_flight;
    if (batch_bytes_ == 0) return in_flight_[broker] < window;
    return in_flight_[broker] < window * static_cast<int>(kBatchFrames) &&
           in_flight_bytes_[broker] < static_cast<double>(window) * static_cast<double>(batch_bytes_);
  }

  /// Room for a new frame of `bytes` for `partition`: in its broker's open batch when it is
  /// small (written in place: sending the batch copies nothing), else a buffer of its own.
  std::shared_ptr<Buffer> new_frame(int partition, std::size_t bytes) {
    if (batch_bytes_ > 0 && bytes <= batch_frame_max_) {
      const int broker = map_.broker(partition);
      auto& b = batch_of(broker);
      auto f = b.reserve(bytes);
      if (!f) {
        flush_batch(broker);
        f = b.reserve(bytes);
      }
      if (f) return f;
    }
    return std::make_shared<Buffer>(bytes);
  }

  FrameBatchBuilder& batch_of(int broker) {
    auto it = batches_.find(broker);
    if (it == batches_.end()) it = batches_.emplace(broker, FrameBatchBuilder(batch_bytes_, kBatchFrames)).first;
    return it->second;
  }

  /// Sends `broker`'s open batch, if it holds a frame.
  void flush_batch(int broker) {
    auto it = batches_.find(broker);
    if (it == batches_.end() || it->second.empty()) return;
    frames_batched_ += it->second.count();
    ++batches_sent_;
    ctx_.net.send(broker, Tag::produce_batch, it->second.finish());
  }

  /// Sends every open batch (ingest has nothing else to do now, or is about to wait).
  void flush_batches() {
    for (auto& [broker, b] : batches_)
      if (!b.empty()) flush_batch(broker);
    linger_until_ = 1e300;
  }

  /// Files and network cameras (ingest/video_source.h): one capture thread per input this rank
  /// owns (input s belongs to ingest rank s mod I). Files are published frame by frame (paced at
  /// ingest.fps in stream mode), cameras sampled at ingest.fps; an input that fails is retried
  /// by its thread while the others go on.
  void produce_video() {
    const JobConfig& cfg = ctx_.cfg;
    const auto specs = ingest::parse_inputs(cfg.inputs, cfg.where("ingest.inputs"));
    ingest::VideoOptions vo;
    vo.gray = cfg.color == ColorMode::gray;
    vo.retry_s = cfg.retry_s;
    vo.retry_max_s = cfg.retry_max_s;
    vo.timeout_s = cfg.timeout_s;
    vo.loop = cfg.loop;
    vo.http_hub = cfg.http == HttpReader::hub;
    vo.decoders = cfg.decoders;
    vo.stream_decoders = cfg.stream_decoders;
    vo.rtsp_transport = cfg.rtsp_transport;
    vo.keep_jpeg = cfg.encoding == JobConfig::Encoding::jpeg;
    vo.jpeg_encode = cfg.jpeg_encode;
    if (cfg.rtsp_transport != RtspTransport::automatic && !video_started_) {
      // OpenCV passes these to FFmpeg at every open (ingest.rtsp_transport); set once, before any
      // capture thread runs.
      ::setenv("OPENCV_FFMPEG_CAPTURE_OPTIONS", ("rtsp_transport;" + to_string(cfg.rtsp_transport)).c_str(), 1);
    }
    vo.header_bytes = kPixelsAt;  // the reader decodes into the buffer that is sent
    struct Stream {
      std::uint32_t id = 0;
      std::unique_ptr<ingest::VideoInput> in;
      std::uint64_t seq = 0, skipped = 0;
      std::uint64_t skip = 0;  // taken over (#14): frames of a file its first reader published
      double next_due = 0;     // steady seconds
      double period = 0;       // seconds between samples (1 / the input's desired fps)
      double not_before = 0;   // live: asked for a frame, look again at this time
      bool done = false;
      std::string last_state;
    };
    std::vector<Stream> streams;
    const double t0 = steady_start_;
    // Each input's sampling period: a camera list's per-camera fps (CAM²'s desired frame rate),
    // else ingest.fps.
    auto period_of = [&](const ingest::InputSpec& spec) { return 1.0 / (spec.fps > 0 ? spec.fps : cfg.fps); };
    // A timed input's next tick after the one at `due`. Ticks that went by while ingest could not
    // get to them (at most one period is caught up) are added to `passed` (missed or paused
    // ticks): η counts them, they never vanish.
    auto next_tick = [](double due, double period, double now, std::uint64_t& passed) {
      double next = due + period;
      if (next < now - period) {
        const auto behind = static_cast<std::uint64_t>((now - period - next) / period) + 1;
        passed += behind;
        next += static_cast<double>(behind) * period;
      }
      return next;
    };
    for (std::size_t s = 0; s < specs.size() && !video_started_; ++s) {
      if (ctx_.layout.ingest_of_stream(static_cast<std::uint32_t>(s)) != ctx_.net.rank()) continue;
      Stream st;
      st.id = static_cast<std::uint32_t>(s);
      st.in = ingest::open_video_input(specs[s], vo);  // loads the video module on first use
      if (st.in->spec().live && !resume_.empty()) {
        // job.resume: a camera cannot be read again. Its frames go on after the earlier run's
        // last stored one; those that run had not stored are gone (counted, never as lost here).
        st.seq = resume_.end(st.id);
        lost_before_resume_ += st.seq - resume_.count(st.id);
        lost_before_resume_by_stream_[st.id] = st.seq - resume_.count(st.id);
        resumed_[st.id] += resume_.count(st.id);
        published_next_[st.id] = st.seq;
      }
      // spread the cameras' sampling instants over one period, as the synthetic schedule does
      st.period = period_of(specs[s]);
      st.next_due = t0 + st.period * static_cast<double>(s) / static_cast<double>(specs.size());
      pace_[st.id] = {specs[s].live, specs[s].live || cfg.mode == JobMode::stream ? 1.0 / st.period : 0.0};
      streams.push_back(std::move(st));
    }
    video_started_ = true;
    for (auto& st : streams) {
      input_state_[st.id] = {StreamState::connecting, 0};
      st.in->start();
    }
    // A dead ingest rank's inputs (#14): a file, folder or HDF5 replay is read again from its
    // start and the frames its first reader published are passed over (decoded, not sent); a
    // camera reconnects here and its sequence goes on.
    auto adopt = [&](double now) {
      for (const StreamTakeover& t : takeovers_) {
        if (t.stream >= specs.size()) continue;
        Stream st;
        st.id = t.stream;
        st.in = ingest::open_video_input(specs[t.stream], vo);
        st.seq = t.from;
        st.skip = st.in->spec().live ? 0 : t.from;
        st.period = period_of(specs[t.stream]);
        st.next_due = now;
        pace_[t.stream] = {specs[t.stream].live,
                           specs[t.stream].live || cfg.mode == JobMode::stream ? 1.0 / st.period : 0.0};
        taken_from_[t.stream] = t.from;
        published_next_[t.stream] = std::max(published_next_[t.stream], t.from);
        input_state_[t.stream] = {StreamState::connecting, 0};
        std::cout << "[ride] ingest rank " << ctx_.net.rank() << ": takes over stream " << t.stream << " ("
                  << st.in->spec().name << ") from sequence " << t.from << std::endl;
        st.in->start();
        streams.push_back(std::move(st));
      }
      takeovers_.clear();
    };
    adopt(steady_s());
    heartbeat_.set_running();
    const bool paced = cfg.mode == JobMode::stream;
    // Live inputs (and looping files) end after ingest.frames each, or else after
    // ingest.duration_s; files after ingest.frames each (0 = the whole file).
    const double live_end = cfg.frames > 0 ? 1e300 : t0 + cfg.duration_s;
    double next_status = steady_s();
    ingest::VideoFrame f;
    // The streams by when each is next looked at (a min-heap of (time, index); entries of streams
    // that ended are dropped when they come up). With a thousand cameras, scanning every stream
    // at each turn of the loop was most of ingest's CPU.
    using Due = std::pair<double, std::size_t>;
    std::priority_queue<Due, std::vector<Due>, std::greater<>> due;
    std::size_t queued = 0, active = 0;
    auto is_timed = [&](const Stream& st) { return paced || st.in->spec().live; };
    auto requeue = [&](std::size_t i) {
      const Stream& st = streams[i];
      if (!st.done) due.emplace(is_timed(st) ? std::max(st.next_due, st.not_before) : st.next_due, i);
    };
    auto queue_new = [&] {
      for (; queued < streams.size(); ++queued) {
        ++active;
        requeue(queued);
      }
    };
    auto end_stream = [&](Stream& st) {
      if (st.done) return;
      st.done = true;
      --active;
    };
    queue_new();
    bool live_ended = false;
    for (;;) {
      pump();
      if (stop_ || draining_) break;
      const double now = steady_s();
      if (!takeovers_.empty()) {
        adopt(now);
        queue_new();
      }
      if (now >= next_status) {  // say when an input fails or recovers, once per change
        next_status = now + 0.5;
        for (auto& st : streams) {
          report_input_change(st.id, *st.in, st.last_state);
          input_state_[st.id] = {st.done ? StreamState::ended : stream_state_from(st.in->status().state), st.skipped};
        }
      }
      if (now >= live_end && !live_ended) {
        live_ended = true;
        for (auto& st : streams) {
          if (!st.done && (st.in->spec().live || cfg.loop)) {
            end_stream(st);
            st.in->stop();  // no more frames wanted: let its thread end now
          }
        }
      }
      if (active == 0) break;
      if (due.empty() || due.top().first > now) {
        // Nothing due: what waits in a batch goes now (a lone frame is not held back); sleep
        // towards the earliest due stream (at most 2 ms: acks and the master's messages wait meanwhile).
        flush_batches();
        const double next = due.empty() ? now + 1e-3 : due.top().first;
        std::this_thread::sleep_for(std::chrono::duration<double>(std::clamp(next - now, 1e-4, 2e-3)));
        continue;
      }
      const std::size_t index = due.top().second;
      due.pop();
      Stream& st = streams[index];
      if (st.done) continue;
      const bool timed = is_timed(st);
      if (paused_.count(st.id)) {
        // Paused by the operator: a timed input's ticks pass unread (counted); a file in a
        // batch job waits where it is (looked at again every 10 ms).
        if (timed) {
          ++paused_ticks_[st.id];
          st.next_due = next_tick(st.next_due, st.period, now, paused_ticks_[st.id]);
        } else {
          st.next_due = now + 0.01;
        }
        requeue(index);
        continue;
      }
      const auto got = st.in->take(f, 0);
      if (got == ingest::VideoInput::Got::ended) {
        end_stream(st);
        continue;
      }
      if (got == ingest::VideoInput::Got::none) {
        if (st.in->spec().live) {
          // Asked; the camera's next frame answers within one of its frame intervals. Look again
          // shortly, and skip the tick (never repeat an old frame) when nothing came for half a
          // sampling period (at most 0.5 s).
          // (Looked at again after a twentieth of its period, 2-20 ms: a thousand cameras
          // waiting for their answers must not keep this loop busy.)
          if (now - st.next_due < std::min(0.5 * st.period, 0.5)) {
            st.not_before = now + std::clamp(st.period / 20, 2e-3, 20e-3);
          } else {
            ++st.skipped;
            st.next_due = next_tick(st.next_due, st.period, now, st.skipped);
          }
        } else {
          st.next_due = now + 1e-3;  // the decoder is behind: come back shortly
        }
        requeue(index);
        continue;
      }
      if (st.skip > 0) {  // published by the rank that died: passed over at once
        --st.skip;
        st.next_due = now;
        requeue(index);
        continue;
      }
      if (!st.in->spec().live && pass_over(st.id, st.seq)) {
        // job.resume: finished by the run whose master died (read again, not sent).
        ++st.seq;
        st.next_due = now;
        if (cfg.frames > 0 && st.seq >= cfg.frames) {
          end_stream(st);
          st.in->stop();
        }
        requeue(index);
        continue;
      }
      const int p = pick_partition(st.id, st.seq);
      if (p < 0) {
        stop_stream(st.id);
        end_stream(st);
        continue;
      }
      if (!wait_for_room(p)) break;
      // The reader left room for the headers in front of the pixels: sent as it is.
      publish_frame(std::move(f.buffer), p, st.id, st.seq, f.width, f.height, f.channels, f.capture_ns,
                    f.encoded_bytes);
      if (!fan_out(st.id)) break;
      if (paced && now - st.next_due > st.period && !st.in->spec().live) ++late_frames_;
      ++st.seq;
      // (A batch-mode file is looked at again at once: its next frame is due now.)
      st.next_due = st.in->spec().live ? next_tick(st.next_due, st.period, now, st.skipped)
                                       : (paced ? st.next_due + st.period : now);
      if (cfg.frames > 0 && st.seq >= cfg.frames) {
        end_stream(st);
        st.in->stop();
      }
      requeue(index);
    }
    nlohmann::json sources = nlohmann::json::array();
    for (auto& st : streams) {
      if (draining_) st.in->stop();  // drained: no input is read any more
    }
    threads_peak_ = std::max(threads_peak_, process_threads());  // every input still open
    for (auto& st : streams) {
      st.in->join();
      const auto is = st.in->status();
      report_input_change(st.id, *st.in, st.last_state);
      produced_.try_emplace(st.id, 0);
      input_state_[st.id] = {stream_state_from(is.state), st.skipped};
      sources.push_back(
          {{"stream", st.id},
           {"paused_ticks", paused_ticks_[st.id]},
           {"name", st.in->spec().name},
           {"url", st.in->spec().url},
           {"live", st.in->spec().live},
           {"state", is.state},
           {"frames_read", is.frames_read},
           // taken over from a dead rank (#14): its frames before count too
           {"frames_published", produced_[st.id] + (taken_from_.count(st.id) ? taken_from_.at(st.id) : 0)},
           {"taken_over_at",
            taken_from_.count(st.id) ? nlohmann::json(taken_from_.at(st.id)) : nlohmann::json(nullptr)},
           // job.resume: frames the earlier run had finished (not sent again)
           {"frames_resumed", resumed_.count(st.id) ? resumed_.at(st.id) : 0},
           {"skipped_ticks", st.skipped},
           {"desired_fps", st.in->spec().live || cfg.mode == JobMode::stream ? nlohmann::json(1.0 / st.period)
                                                                             : nlohmann::json(nullptr)},
           // CAM²'s η for a camera: frames published over the ticks it was due
           {"eta", st.in->spec().live && produced_[st.id] + st.skipped > 0
                       ? nlohmann::json(static_cast<double>(produced_[st.id]) /
                                        static_cast<double>(produced_[st.id] + st.skipped))
                       : nlohmann::json(nullptr)},
           {"corrupt_frames", is.corrupt_frames},
           {"cpu_s", is.cpu_s},
           {"resized_frames", is.resized_frames},
           {"dropped_packets", is.dropped_packets},
           {"attempts", is.attempts},
           {"reconnects", is.reconnects},
           {"skipped_files", is.skipped_files},
           {"loops", is.loops},
           {"width", is.width},
           {"height", is.height},
           {"last_error", is.last_error}});
    }
    // (A second call reads only streams taken over from a dead rank: their accounts are added.)
    if (!sources_.is_array()) sources_ = nlohmann::json::array();
    for (auto& s : sources) sources_.push_back(std::move(s));
  }

  /// Prints an input's state when it changed since `last` (failing, recovered, unreachable).
  void report_input_change(std::uint32_t stream, const ingest::VideoInput& in, std::string& last) {
    const auto is = in.status();
    if (is.state == last) return;
    const bool first = last.empty();
    last = is.state;
    if (is.state == "retrying" || is.state == "unreachable") {
      std::cerr << "ride: ingest rank " << ctx_.net.rank() << ": stream " << stream << " ("
                << in.spec().name << ", " << in.spec().origin << "): " << is.last_error << "; "
                << (is.state == "retrying" ? "retrying (up to every " + fmt_s(ctx_.cfg.retry_max_s) +
                                                 "); the other streams go on"
                                           : "never reached in " + std::to_string(is.attempts) + " attempts")
                << std::endl;
    } else if (is.state == "streaming" && !first && is.attempts > 1) {
      std::cerr << "ride: ingest rank " << ctx_.net.rank() << ": stream " << stream << " ("
                << in.spec().name << ") streaming after " << is.attempts << " attempts" << std::endl;
    }
  }

  static std::string fmt_s(double s) {
    std::ostringstream os;
    os << s << " s";
    return os.str();
  }

  /// Reports INGEST_DONE once every produce is acknowledged (the master then seals ingest's
  /// topics when every ingest rank has), and waits for SHUTDOWN. Streams of a dead ingest rank
  /// handed over meanwhile — even after INGEST_DONE: the topics stay open until this rank reports
  /// again — are read, and INGEST_DONE is sent again with them (#14).
  int report_and_wait() {
    transport::IdleBackoff backoff;
    for (;;) {
      // Wait for every produce to be acknowledged so the counts we report are what brokers hold.
      flush_batches();
      double deadline = steady_s() + ctx_.cfg.stall_timeout_s;
      while (!stop_ && (outstanding() > 0 || !takeovers_.empty()) && steady_s() < deadline) {
        if (!takeovers_.empty()) {
          read_takeovers();
          deadline = steady_s() + ctx_.cfg.stall_timeout_s;
          continue;
        }
        if (!pump()) backoff.wait();
      }
      send_ingest_done();
      while (!stop_ && takeovers_.empty()) {
        if (!pump()) backoff.wait();
      }
      if (stop_) break;
    }
    return finish(false);
  }

  void read_takeovers() {
    if (draining_) {  // an operator drained the job: nothing more is read (counted as such)
      takeovers_.clear();
      return;
    }
    if (ctx_.cfg.source == InputSource::video) {
      produce_video();
    } else {
      produce_synthetic();
    }
  }

  void send_ingest_done() {
    next_report_s_ = 0;
    for (auto& [id, st] : input_state_) {
      if (st.first == StreamState::synthetic || st.first == StreamState::streaming) st.first = StreamState::ended;
    }
    send_stream_reports();  // the final counts, before INGEST_DONE
    input_state_.clear();
    nlohmann::json done = {{"rank", ctx_.net.rank()},
                           {"drained", draining_},
                           {"accepted", accepted_},
                           {"rejected", rejected_},
                           {"refused", refused_},
                           {"backpressure_s", blocked_s_},
                           {"unacknowledged", outstanding()},
                           {"resent_after_failover", resent_},
                           {"late_frames", late_frames_},
                           {"max_lateness_s", max_lateness_s_},
                           {"produced_per_s", per_second_},
                           {"bytes", bytes_},
                           {"batches_sent", batches_sent_},
                           {"frames_batched", frames_batched_},
                           {"decoded_bytes", decoded_bytes_},
                           {"jpeg_frames", jpeg_frames_},
                           // CPU of the whole ingest process (capture threads included) from START on
                           {"cpu_s", process_cpu_s() - cpu_at_start_}};
    nlohmann::json streams = nlohmann::json::object();
    // A stream taken over from a dead rank counts from its first sequence: the frames before it
    // were that rank's, stored before it died (#14).
    std::map<std::uint32_t, std::uint64_t> counts(produced_.begin(), produced_.end());
    for (const auto& [s, from] : taken_from_) counts[s] += from;
    // A resumed run (#14): the keys finished before are this stream's too, and a camera's frames
    // the earlier run had not stored (it numbers on after them).
    std::uint64_t resumed = 0;
    for (const auto& [s, n] : resumed_) {
      counts[s] += n;
      resumed += n;
    }
    for (const auto& [s, n] : lost_before_resume_by_stream_) counts[s] += n;
    done["resumed"] = resumed;
    // Threads of this ingest process at their most (capture threads or the camera hub's); the
    // summary derives η over the cameras from `sources`.
    done["threads"] = std::max(threads_peak_, process_threads());
    done["lost_before_resume"] = lost_before_resume_;
    for (const auto& [s, n] : counts) streams[std::to_string(s)] = n;
    done["streams"] = streams;
    nlohmann::json paused = nlohmann::json::object();
    for (const auto& [s, n] : paused_ticks_) paused[std::to_string(s)] = n;
    done["paused_ticks"] = paused;
    if (!sources_.is_null()) done["sources"] = sources_;
    ctx_.net.send(0, Tag::ingest_done, json_body(done));
  }

  bool wait_for_start() {
    // Start-up is bounded by the master's own wait for every rank's HELLO (60 s).
    while (auto m = ctx_.net.recv_for(120.0)) {
      if (m->tag == Tag::partition_map) map_ = PartitionMap::decode(m->body);
      if (m->tag == Tag::resume_keys) resume_ = KeyRanges::decode(m->body);
      if (m->tag == Tag::start) {
        RIDE_EXPECTS(map_.partitions() == ctx_.layout.partitions,
                     "START came before the partition map (" << map_.partitions() << " of "
                                                             << ctx_.layout.partitions << " partitions)");
        steady_start_ = steady_s();
        cpu_at_start_ = process_cpu_s();
        t0_wall_ns_ = BodyReader(m->body).pod<Start>().t0_ns;
        return true;
      }
      if (m->tag == Tag::shutdown) return false;
    }
    return false;
  }

  /// Handles every waiting message; true if there was one.
  bool pump() {
    const bool any = heartbeat_.pump(
        [this](transport::Message& m) {
          if (m.tag == Tag::produce_ack) {
            for_each_produce_ack(m.body, [&](const ProduceAck& a) { on_ack(m.source, a); });
          } else if (m.tag == Tag::control) {
            on_control(decode_ingest_control(m.body));
          } else if (m.tag == Tag::partition_map) {
            on_map(PartitionMap::decode(m.body));
          } else if (m.tag == Tag::ingest_takeover) {
            on_takeover(decode_stream_takeovers(m.body));
          } else if (m.tag == Tag::shutdown) {
            stop_ = true;
          }
        },
        stop_);
    send_stream_reports();
    if (steady_s() >= linger_until_) flush_batches();  // ingest.linger_ms: no frame waits longer
    ctx_.net.progress();
    return any;
  }

  /// An operator's command, passed on by the master (POST /control/...).
  void on_control(const IngestControl& c) {
    switch (c.kind) {
      case IngestControl::Kind::drain:
        if (!draining_) std::cout << "[ride] ingest rank " << ctx_.net.rank() << ": draining: no more input is read" << std::endl;
        draining_ = true;
        break;
      case IngestControl::Kind::pause: paused_.insert(c.stream); break;
      case IngestControl::Kind::resume: paused_.erase(c.stream); break;
    }
    next_report_s_ = 0;  // the master hears the new state at once
  }

  /// INGEST_METRICS every 0.5 s while inputs are read: each stream's counts and state, for
  /// /status and /metrics.
  void send_stream_reports() {
    if (input_state_.empty()) return;
    const double now = steady_s();
    if (now < next_report_s_) return;
    next_report_s_ = now + 0.5;
    threads_peak_ = std::max(threads_peak_, process_threads());
    std::vector<StreamReport> reports;
    reports.reserve(input_state_.size());
    const auto acked = acked_by_stream();
    for (const auto& [id, st] : input_state_) {
      StreamReport r;
      r.stream = id;
      r.state = stopped_streams_.count(id) ? StreamState::ended : st.first;
      r.paused = paused_.count(id) > 0;
      const auto f = produced_.find(id);
      r.frames = f == produced_.end() ? 0 : f->second;
      r.missed = st.second;
      const auto pt = paused_ticks_.find(id);
      r.paused_ticks = pt == paused_ticks_.end() ? 0 : pt->second;
      const auto a = acked.find(id);
      r.acked = a == acked.end() ? 0 : a->second;
      if (const auto p = pace_.find(id); p != pace_.end()) {
        r.live = p->second.first;
        r.desired_fps = p->second.second;
      } else if (ctx_.cfg.mode == JobMode::stream) {
        r.desired_fps = ctx_.cfg.fps;  // a paced synthetic stream
      }
      reports.push_back(r);
    }
    ctx_.net.send(0, Tag::ingest_metrics, encode_stream_reports(reports));
  }

  /// Builds a PRODUCE for frame (stream, sequence) of w x h x channels u8 pixels, which `fill`
  /// writes (returning the capture time), publishes it and counts it as produced.
  template <typename Fill>
  void publish_new(int partition, std::uint32_t stream, std::uint64_t sequence, int w, int h, int channels,
                   Fill&& fill) {
    const std::size_t payload = static_cast<std::size_t>(w) * static_cast<std::size_t>(h) *
                                static_cast<std::size_t>(channels);
    auto b = new_frame(partition, kPixelsAt + payload);
    const std::int64_t capture_ns = fill(b->data() + kPixelsAt);
    publish_frame(std::move(b), partition, stream, sequence, w, h, channels, capture_ns);
  }

  /// Writes the PRODUCE and frame headers in front of the pixels already at kPixelsAt in `b` (or
  /// of a JPEG of `encoded_bytes` that decodes to them), publishes it and counts it as produced.
  void publish_frame(std::shared_ptr<Buffer> b, int partition, std::uint32_t stream, std::uint64_t sequence,
                     int w, int h, int channels, std::int64_t capture_ns, std::size_t encoded_bytes = 0) {
    ProduceHeader ph;
    ph.partition = static_cast<std::uint32_t>(partition);
    if (encoded_bytes > 0) {
      ph.flags |= kFrameFlagJpeg;
      ph.encoded_bytes = encoded_bytes;
      ++jpeg_frames_;
    }
    FrameHeader fh;
    fh.stream = stream;
    fh.sequence = sequence;
    fh.width = static_cast<std::uint32_t>(w);
    fh.height = static_cast<std::uint32_t>(h);
    fh.pixel = PixelType::u8;
    fh.channels = static_cast<std::uint8_t>(channels);
    fh.capture_ns = capture_ns;
    b->write(0, ph);
    b->write(kFrameHeaderAt, fh);
    decoded_bytes_ += static_cast<double>(fh.payload_bytes());
    publish(std::move(b), partition);
    auto& next = published_next_[stream];
    next = std::max(next, sequence + 1);
    // The first frame of a stream taken over from a dead rank (#14): the master hears at once
    // that it flows again.
    if (++produced_[stream] == 1 && taken_from_.count(stream)) next_report_s_ = 0;
    ++per_second_at(fh.capture_ns);
  }

  /// Fan-out: the frame just published to the first reader's topic goes to every other stage
  /// reading ingest too (a copy each: the produce header names the partition). False when the
  /// job stopped while waiting for room.
  bool fan_out(std::uint32_t stream) {
    if (readers_.size() < 2 || !last_published_) return true;
    const BufferPtr first = last_published_;
    const std::uint64_t sequence = first->read<FrameHeader>(kFrameHeaderAt).sequence;
    for (std::size_t r = 1; r < readers_.size(); ++r) {
      const int p = pick_partition(stream, sequence, r);
      if (p < 0) {
        ++refused_;
        continue;
      }
      if (!wait_for_room(p)) return false;
      auto copy = std::make_shared<Buffer>(first->size());
      std::memcpy(copy->data(), first->data(), first->size());
      ProduceHeader ph = copy->read<ProduceHeader>(0);
      ph.partition = static_cast<std::uint32_t>(p);
      copy->write(0, ph);
      publish(std::move(copy), p);
    }
    return true;
  }

  void publish(BufferPtr frame, int partition) {
    const int broker = map_.broker(partition);
    const auto fh = frame->read<FrameHeader>(kFrameHeaderAt);
    last_published_ = frame;
    // Kept until acknowledged: a partition that stops taking frames hands them back.
    in_flight_frames_[{static_cast<std::uint32_t>(partition), fh.stream, fh.sequence}] = frame;
    bytes_ += frame->size() - kPixelsAt;
    ++in_flight_[broker];
    in_flight_bytes_[broker] += static_cast<double>(frame->size());
    if (batch_bytes_ > 0 && frame->size() <= batch_frame_max_) {
      // A small frame goes in its broker's batch: already there (new_frame wrote it in place),
      // or copied in. The batch leaves when full, when ingest has nothing else to do, or at the
      // latest ingest.linger_ms after its first frame.
      auto& b = batch_of(broker);
      if (!b.holds(*frame)) {
        auto slot = b.reserve(frame->size());
        if (!slot) {
          flush_batch(broker);
          slot = b.reserve(frame->size());
        }
        std::memcpy(slot->data(), frame->data(), frame->size());
      }
      if (b.count() == 1) linger_until_ = std::min(linger_until_, steady_s() + linger_s_);
      if (b.count() >= kBatchFrames) flush_batch(broker);
      return;
    }
    flush_batch(broker);  // frames of a partition reach its broker in the order they were published
    ctx_.net.send(broker, Tag::produce, frame);
  }

  /// Broker failover (#14): a partition whose leader died is led by another broker now. What the
  /// dead leader had not acknowledged goes to the new one (which keeps the first copy of any
  /// frame it already holds); the windows are counted again by the new leaders.
  void on_map(PartitionMap map) {
    flush_batches();  // to the brokers of the old map (sends to a dead one are cancelled below)
    const PartitionMap old = std::move(map_);
    map_ = std::move(map);
    for (int b : map_.leaders_gone_since(old)) ctx_.net.cancel_sends_to(b);  // dead: what waits for it never leaves
    std::uint64_t resent = 0;
    for (const auto& [key, frame] : in_flight_frames_) {
      const int p = static_cast<int>(std::get<0>(key));
      if (old.partitions() == 0 || old.broker(p) == map_.broker(p)) continue;
      ctx_.net.send(map_.broker(p), Tag::produce, frame);
      ++resent;
    }
    in_flight_.clear();
    in_flight_bytes_.clear();
    for (const auto& [key, frame] : in_flight_frames_) {
      const int b = map_.broker(static_cast<int>(std::get<0>(key)));
      ++in_flight_[b];
      in_flight_bytes_[b] += static_cast<double>(frame->size());
    }
    resent_ += resent;
    if (resent > 0) {
      std::cout << "[ride] ingest rank " << ctx_.net.rank() << ": " << resent
                << " unacknowledged frame(s) sent again to the new partition leaders" << std::endl;
    }
  }

  void on_ack(int broker, const ProduceAck& ack) {
    // From a leader replaced since (the master declared it dead): its frames went to the new one.
    if (static_cast<int>(ack.partition) >= map_.partitions() || broker != map_.broker(static_cast<int>(ack.partition))) return;
    --in_flight_[broker];
    auto it = in_flight_frames_.find({ack.partition, ack.stream, ack.sequence});
    if (it == in_flight_frames_.end()) return;
    BufferPtr frame = std::move(it->second);
    in_flight_frames_.erase(it);
    in_flight_bytes_[broker] -= static_cast<double>(frame->size());
    switch (ack.status) {
      case ProduceStatus::accepted:
      case ProduceStatus::duplicate: ++accepted_; break;
      case ProduceStatus::rejected: ++rejected_; break;
      case ProduceStatus::stopped: {
        stopped_partitions_.insert(ack.partition);
        const int p = pick_partition(ack.stream, ack.sequence, reader_of(static_cast<int>(ack.partition)));
        if (p < 0) {
          // Nowhere to go: un-count it and refuse the rest of the stream.
          --produced_[ack.stream];
          --per_second_at(frame->read<FrameHeader>(kFrameHeaderAt).capture_ns);
          ++refused_;
          stop_stream(ack.stream);
          break;
        }
        auto copy = std::make_shared<Buffer>(frame->size());
        std::memcpy(copy->data(), frame->data(), frame->size());
        ProduceHeader ph = copy->read<ProduceHeader>(0);
        ph.partition = static_cast<std::uint32_t>(p);
        ph.flags |= kFrameFlagRerouted;
        copy->write(0, ph);
        ++rerouted_;
        publish(std::move(copy), p);
        break;
      }
    }
  }

  /// The partition (a global id) of reader stage `reader`'s topic for frame (stream,
  /// sequence), skipping stopped partitions when the policy allows (round robin); -1 when there
  /// is none.
  int pick_partition(std::uint32_t stream, std::uint64_t sequence, std::size_t reader = 0) {
    const Reader& r = readers_.at(reader);
    for (int attempt = 0; attempt < r.partitions; ++attempt) {
      const int p = r.first + r.partitioner.of(stream, sequence, attempt);
      if (!stopped_partitions_.count(static_cast<std::uint32_t>(p))) return p;
      if (r.policy == Partitioning::key) return -1;
    }
    return -1;
  }

  std::size_t reader_of(int partition) const {
    for (std::size_t r = readers_.size(); r-- > 0;) {
      if (partition >= readers_[r].first && partition < readers_[r].first + readers_[r].partitions) return r;
    }
    return 0;
  }

  void stop_stream(std::uint32_t stream) {
    if (stopped_streams_.insert(stream).second) {
      std::cerr << "ride: ingest rank " << ctx_.net.rank() << ": stream " << stream
                << " stopped after " << produced_[stream]
                << " frames: its partition takes no more frames" << std::endl;
    }
  }

  std::uint64_t& per_second_at(std::int64_t capture_ns) {
    // Seconds on the master's clock (START's t0), so the timeline lines up across ranks.
    const auto sec = static_cast<std::size_t>(std::max<std::int64_t>(0, capture_ns - t0_wall_ns_) /
                                              1000000000);
    if (per_second_.size() <= sec) per_second_.resize(sec + 1, 0);
    return per_second_[sec];
  }

  int outstanding() const {
    int n = 0;
    for (const auto& [b, k] : in_flight_) n += k;
    return n;
  }

  int finish(bool early) {
    send_final_report(ctx_, {{"rank", ctx_.net.rank()},
                             {"role", "ingest"},
                             {"stopped_early", early},
                             {"accepted", accepted_},
                             {"late_frames", late_frames_}});
    return 0;
  }

  RoleContext& ctx_;
  Heartbeat heartbeat_;
  int index_;
  struct Reader {  ///< a stage reading ingest: its topic's partitions and partitioning
    int first = 0, partitions = 0;
    Partitioning policy = Partitioning::round_robin;
    ingest::Partitioner partitioner;
  };
  std::vector<Reader> readers_;
  BufferPtr last_published_;  ///< for fan-out: the frame just published to the first reader
  PartitionMap map_;  ///< the master's placement: where each partition's frames go
  double steady_start_ = 0;
  std::int64_t t0_wall_ns_ = 0;
  bool stop_ = false;
  bool draining_ = false;                 ///< POST /control/drain: read no more input
  std::set<std::uint32_t> paused_;        ///< streams an operator paused
  std::map<std::uint32_t, std::uint64_t> paused_ticks_;
  std::map<std::uint32_t, std::uint64_t> next_sequence_;  ///< synthetic: the next frame's sequence by stream
  /// This rank's streams: state and ticks missed (no new frame), for INGEST_METRICS.
  std::map<std::uint32_t, std::pair<StreamState, std::uint64_t>> input_state_;
  double next_report_s_ = 0;
  std::map<int, int> in_flight_;
  std::map<int, double> in_flight_bytes_;  ///< by broker: bytes of the frames not yet acknowledged
  // Small frames, several per message (ingest.batch_kb, ingest.linger_ms; core/frame_batch.h).
  static constexpr std::size_t kBatchFrames = 64;  ///< frames per batch at most
  std::size_t batch_bytes_ = 0, batch_frame_max_ = 0;
  double linger_s_ = 0.001;
  double linger_until_ = 1e300;  ///< the open batches leave by then (steady seconds)
  std::map<int, FrameBatchBuilder> batches_;  ///< by broker: the open batch
  std::uint64_t batches_sent_ = 0, frames_batched_ = 0;
  std::map<std::uint32_t, std::uint64_t> produced_;
  std::vector<std::uint64_t> per_second_;
  std::map<std::tuple<std::uint32_t, std::uint32_t, std::uint64_t>, BufferPtr> in_flight_frames_;  ///< (partition, stream, seq)
  std::set<std::uint32_t> stopped_partitions_, stopped_streams_;
  std::uint64_t accepted_ = 0, rejected_ = 0, refused_ = 0, rerouted_ = 0, late_frames_ = 0;
  std::uint64_t resent_ = 0;  ///< frames sent again to a new leader after a broker's death (#14)
  // Ingest failover (#14): streams handed over by the master, not yet in the schedule; where each
  // taken-over stream started here; the next sequence after every one published, by stream.
  std::vector<StreamTakeover> takeovers_;
  std::map<std::uint32_t, std::uint64_t> taken_from_, published_next_;
  bool synthetic_started_ = false, video_started_ = false;
  // job.resume (#14): keys the earlier run finished, passed over; how many by stream; a camera's
  // frames that run had not stored (its sequence goes on after them).
  KeyRanges resume_;
  std::map<std::uint32_t, std::uint64_t> resumed_;
  std::uint64_t lost_before_resume_ = 0;
  std::map<std::uint32_t, std::uint64_t> lost_before_resume_by_stream_;
  /// By stream: (live, desired fps: the rate its ticks come at, 0 when unpaced), for INGEST_METRICS.
  std::map<std::uint32_t, std::pair<bool, double>> pace_;
  int threads_peak_ = 0;  ///< this process's threads at their most (sampled twice a second)
  double blocked_s_ = 0;
  double max_lateness_s_ = 0;
  nlohmann::json sources_;  ///< source = video: each input's account
  double bytes_ = 0;         ///< pixel bytes published (re-routed frames count again): a JPEG's length for a JPEG frame
  double decoded_bytes_ = 0; ///< the published frames' decoded size (first publish of each)
  std::uint64_t jpeg_frames_ = 0;  ///< frames published as JPEG (ingest.encoding = jpeg)
  double cpu_at_start_ = 0;  ///< process CPU seconds at START
};

}  // namespace

int run_ingest(RoleContext& ctx) { return Ingest(ctx).run(); }

}  // namespace ride

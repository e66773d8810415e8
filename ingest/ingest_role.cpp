#include "ingest/ingest_role.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <iostream>
#include <map>
#include <set>
#include <thread>

#include "core/clock.h"
#include "ingest/synthetic_source.h"

namespace ride {
namespace {

class Ingest {
 public:
  explicit Ingest(RoleContext& ctx)
      : ctx_(ctx),
        heartbeat_(ctx),
        index_(ctx.layout.index_in_role(ctx.net.rank())),
        partitioner_(ctx.cfg.partitioning, ctx.layout.partitions, index_) {}

  int run() {
    send_hello(ctx_);
    if (!wait_for_start()) return finish(true);
    const JobConfig& cfg = ctx_.cfg;
    std::vector<std::uint32_t> mine;
    const int n_ingest = static_cast<int>(ctx_.layout.ingest.size());
    for (int s = 0; s < cfg.streams; ++s) {
      if (s % n_ingest == index_) mine.push_back(static_cast<std::uint32_t>(s));
    }
    ingest::FrameSchedule schedule(mine, cfg.streams, cfg.fps, cfg.frames_per_stream(),
                                   cfg.mode == "stream");
    const std::size_t payload = static_cast<std::size_t>(cfg.width) * cfg.height;
    const double t0 = steady_start_;
    transport::IdleBackoff backoff;
    int chosen = -1;  // partition picked for the frame at the head of the schedule (-1: none)
    double blocked_since = -1;
    while (!schedule.done() && !stop_) {
      const bool got = pump();
      const auto item = schedule.peek();
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
        // Sleep towards the next due frame, waking at least every ms for acks and shutdown.
        std::this_thread::sleep_for(std::chrono::duration<double>(std::min(due - now, 1e-3)));
        continue;
      }
      if (chosen < 0) chosen = pick_partition(item.stream);
      if (chosen < 0) {
        stop_stream(item.stream);
        continue;
      }
      const int broker = ctx_.layout.broker_of_partition(chosen);
      if (in_flight_[broker] >= cfg.max_in_flight) {
        // Backpressure: the broker has not acknowledged enough; wait instead of flooding it.
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

      auto b = std::make_shared<Buffer>(kPixelsAt + payload);
      ProduceHeader ph;
      ph.partition = static_cast<std::uint32_t>(chosen);
      FrameHeader fh;
      fh.stream = item.stream;
      fh.sequence = item.sequence;
      fh.width = static_cast<std::uint32_t>(cfg.width);
      fh.height = static_cast<std::uint32_t>(cfg.height);
      fh.pixel = PixelType::u8;
      fh.channels = 1;
      ingest::fill_synthetic_frame(cfg.seed, item.stream, item.sequence, b->data() + kPixelsAt,
                                   payload);
      fh.capture_ns = wall_ns();
      b->write(0, ph);
      b->write(kFrameHeaderAt, fh);
      publish(std::move(b), chosen);
      chosen = -1;
      schedule.pop();
      ++produced_[item.stream];
      ++per_second_at(fh.capture_ns);
    }
    // Wait for every produce to be acknowledged so the counts we report are what brokers hold.
    const double deadline = steady_s() + ctx_.cfg.stall_timeout_s;
    while (!stop_ && outstanding() > 0 && steady_s() < deadline) {
      if (!pump()) backoff.wait();
    }
    for (int b : ctx_.layout.brokers) ctx_.net.send(b, Tag::ingest_end, Buffer());
    nlohmann::json done = {{"rank", ctx_.net.rank()},
                           {"accepted", accepted_},
                           {"rejected", rejected_},
                           {"refused", refused_},
                           {"backpressure_s", blocked_s_},
                           {"unacknowledged", outstanding()},
                           {"late_frames", late_frames_},
                           {"max_lateness_s", max_lateness_s_},
                           {"produced_per_s", per_second_}};
    nlohmann::json streams = nlohmann::json::object();
    for (const auto& [s, n] : produced_) streams[std::to_string(s)] = n;
    done["streams"] = streams;
    ctx_.net.send(0, Tag::ingest_done, json_body(done));
    while (!stop_) {
      if (!pump()) backoff.wait();
    }
    return finish(false);
  }

 private:
  bool wait_for_start() {
    // Start-up is bounded by the master's own wait for every rank's HELLO (60 s).
    while (auto m = ctx_.net.recv_for(120.0)) {
      if (m->tag == Tag::start) {
        steady_start_ = steady_s();
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
            on_ack(m.source, BodyReader(m.body).pod<ProduceAck>());
          } else if (m.tag == Tag::shutdown) {
            stop_ = true;
          }
        },
        stop_);
    ctx_.net.progress();
    return any;
  }

  void publish(BufferPtr frame, int partition) {
    const int broker = ctx_.layout.broker_of_partition(partition);
    const auto fh = frame->read<FrameHeader>(kFrameHeaderAt);
    // Kept until acknowledged: a partition that stops taking frames hands them back.
    in_flight_frames_[{fh.stream, fh.sequence}] = frame;
    ctx_.net.send(broker, Tag::produce, frame);
    ++in_flight_[broker];
  }

  void on_ack(int broker, const ProduceAck& ack) {
    --in_flight_[broker];
    auto it = in_flight_frames_.find({ack.stream, ack.sequence});
    if (it == in_flight_frames_.end()) return;
    BufferPtr frame = std::move(it->second);
    in_flight_frames_.erase(it);
    switch (ack.status) {
      case ProduceStatus::accepted: ++accepted_; break;
      case ProduceStatus::rejected: ++rejected_; break;
      case ProduceStatus::stopped: {
        stopped_partitions_.insert(ack.partition);
        const int p = pick_partition(ack.stream);
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
        copy->write(0, ph);
        ++rerouted_;
        publish(std::move(copy), p);
        break;
      }
    }
  }

  /// The partition for the next frame of `stream`, skipping stopped partitions when the policy
  /// allows (round robin); -1 when there is none.
  int pick_partition(std::uint32_t stream) {
    const int partitions = ctx_.layout.partitions;
    for (int tries = 0; tries < partitions; ++tries) {
      const int p = partitioner_.next(stream);
      if (!stopped_partitions_.count(static_cast<std::uint32_t>(p))) return p;
      if (ctx_.cfg.partitioning == "key") return -1;
    }
    return -1;
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
  ingest::Partitioner partitioner_;
  double steady_start_ = 0;
  std::int64_t t0_wall_ns_ = 0;
  bool stop_ = false;
  std::map<int, int> in_flight_;
  std::map<std::uint32_t, std::uint64_t> produced_;
  std::vector<std::uint64_t> per_second_;
  std::map<std::pair<std::uint32_t, std::uint64_t>, BufferPtr> in_flight_frames_;
  std::set<std::uint32_t> stopped_partitions_, stopped_streams_;
  std::uint64_t accepted_ = 0, rejected_ = 0, refused_ = 0, rerouted_ = 0, late_frames_ = 0;
  double blocked_s_ = 0;
  double max_lateness_s_ = 0;
};

}  // namespace

int run_ingest(RoleContext& ctx) { return Ingest(ctx).run(); }

}  // namespace ride

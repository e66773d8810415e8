#include "ingest/ingest_role.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <thread>

#include "core/clock.h"
#include "ingest/synthetic_source.h"

namespace ride {
namespace {

class Ingest {
 public:
  explicit Ingest(RoleContext& ctx)
      : ctx_(ctx),
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
    while (!schedule.done() && !stop_) {
      const bool got = pump();
      const auto item = schedule.peek();
      const double now = steady_s();
      const double due = t0 + item.due_s;
      if (now < due) {
        // Sleep towards the next due frame, waking at least every ms for acks and shutdown.
        std::this_thread::sleep_for(std::chrono::duration<double>(std::min(due - now, 1e-3)));
        continue;
      }
      if (chosen < 0) chosen = partitioner_.next(item.stream);
      const int broker = ctx_.layout.broker_of_partition(chosen);
      if (in_flight_[broker] >= cfg.max_in_flight) {
        // Backpressure: the broker has not acknowledged enough; wait instead of flooding it.
        if (!got) backoff.wait();
        continue;
      }
      backoff.reset();
      if (now - due > 1.0 / cfg.fps) ++late_frames_;
      max_lateness_s_ = std::max(max_lateness_s_, now - due);

      Buffer b(kPixelsAt + payload);
      ProduceHeader ph;
      ph.partition = static_cast<std::uint32_t>(chosen);
      FrameHeader fh;
      fh.stream = item.stream;
      fh.sequence = item.sequence;
      fh.width = static_cast<std::uint32_t>(cfg.width);
      fh.height = static_cast<std::uint32_t>(cfg.height);
      fh.pixel = PixelType::u8;
      fh.channels = 1;
      ingest::fill_synthetic_frame(cfg.seed, item.stream, item.sequence, b.data() + kPixelsAt,
                                   payload);
      fh.capture_ns = wall_ns();
      b.write(0, ph);
      b.write(kFrameHeaderAt, fh);
      ctx_.net.send(broker, Tag::produce, std::move(b));
      ++in_flight_[broker];
      chosen = -1;
      schedule.pop();
      ++produced_[item.stream];
      // Seconds on the master's clock (START's t0), so the timeline lines up across ranks.
      const auto sec = static_cast<std::size_t>(
          std::max<std::int64_t>(0, fh.capture_ns - t0_wall_ns_) / 1000000000);
      if (per_second_.size() <= sec) per_second_.resize(sec + 1, 0);
      ++per_second_[sec];
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
    while (auto m = ctx_.net.recv_for(3600.0)) {
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
    bool any = false;
    while (auto m = ctx_.net.try_recv()) {
      any = true;
      if (m->tag == Tag::produce_ack) {
        const auto ack = BodyReader(m->body).pod<ProduceAck>();
        --in_flight_[m->source];
        (ack.status == 0 ? accepted_ : rejected_)++;
      } else if (m->tag == Tag::shutdown) {
        stop_ = true;
      }
    }
    ctx_.net.progress();
    return any;
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
  int index_;
  ingest::Partitioner partitioner_;
  double steady_start_ = 0;
  std::int64_t t0_wall_ns_ = 0;
  bool stop_ = false;
  std::map<int, int> in_flight_;
  std::map<std::uint32_t, std::uint64_t> produced_;
  std::vector<std::uint64_t> per_second_;
  std::uint64_t accepted_ = 0, rejected_ = 0, late_frames_ = 0;
  double max_lateness_s_ = 0;
};

}  // namespace

int run_ingest(RoleContext& ctx) { return Ingest(ctx).run(); }

}  // namespace ride

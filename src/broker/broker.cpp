#include "broker/broker.h"

#include <algorithm>
#include <map>

#include "broker/partition_log.h"
#include "core/clock.h"

namespace ride {
namespace {

class Broker {
 public:
  explicit Broker(RoleContext& ctx) : ctx_(ctx) {
    for (int p = 0; p < ctx.layout.partitions; ++p) {
      if (ctx.layout.broker_of_partition(p) == ctx.net.rank()) logs_[static_cast<std::uint32_t>(p)];
    }
    metrics_interval_s_ = std::clamp(ctx.cfg.status_interval_s / 10, 0.05, 0.25);
  }

  int run() {
    send_hello(ctx_);
    transport::IdleBackoff backoff;
    double next_metrics = steady_s();
    while (!stop_) {
      bool busy = false;
      while (auto m = ctx_.net.try_recv()) {
        handle(*m);
        busy = true;
        if (stop_) break;
      }
      if (stop_) break;
      const double now = steady_s();
      expire_fetches(now);
      if (now >= next_metrics) {
        send_metrics();
        next_metrics = now + metrics_interval_s_;
      }
      ctx_.net.progress();
      if (busy) backoff.reset();
      else backoff.wait();
    }
    send_metrics();
    nlohmann::json report = {{"rank", ctx_.net.rank()},
                             {"role", "broker"},
                             {"frames_appended", appended_},
                             {"frames_rejected", rejected_},
                             {"fetches", fetches_},
                             {"fenced_requests", fenced_},
                             {"peak_retained_bytes", peak_retained_bytes_}};
    nlohmann::json parts = nlohmann::json::array();
    for (const auto& [p, log] : logs_) {
      parts.push_back({{"partition", p}, {"end_offset", log.end_offset()},
                       {"committed", log.committed()}, {"retained_bytes", log.retained_bytes()}});
    }
    report["partitions"] = parts;
    send_final_report(ctx_, report);
    return 0;
  }

 private:
  struct PendingFetch {
    int worker;
    FetchRequest req;
    double deadline;
  };

  void handle(transport::Message& m) {
    switch (m.tag) {
      case Tag::produce: on_produce(m); break;
      case Tag::ingest_end: on_ingest_end(); break;
      case Tag::fetch: on_fetch(m.source, BodyReader(m.body).pod<FetchRequest>()); break;
      case Tag::commit: on_commit(m.source, BodyReader(m.body).pod<Commit>()); break;
      case Tag::assign: {
        const auto a = BodyReader(m.body).pod<Assign>();
        fence_.admit(a.partition, a.epoch);
        break;
      }
      case Tag::start: break;
      case Tag::shutdown: stop_ = true; break;
      default: break;  // unknown tags are ignored: a newer master may send more
    }
  }

  void on_produce(transport::Message& m) {
    BodyReader r(m.body);
    const auto ph = r.pod<ProduceHeader>();
    const auto fh = r.pod<FrameHeader>();
    ProduceAck ack;
    ack.partition = ph.partition;
    auto it = logs_.find(ph.partition);
    // A frame whose size disagrees with its header, or sent to the wrong broker, is rejected
    // and counted: storing it would hand a worker a frame it cannot read.
    if (it == logs_.end() || r.remaining() != fh.payload_bytes() || it->second.sealed()) {
      ack.status = 1;
      ++rejected_;
      ctx_.net.send(m.source, Tag::produce_ack, pod_body(ack));
      return;
    }
    auto frame = std::make_shared<const Buffer>(std::move(m.body));
    ack.offset = it->second.append(std::move(frame));
    ++appended_;
    update_peak();
    ctx_.net.send(m.source, Tag::produce_ack, pod_body(ack));
    serve_pending(ph.partition);
  }

  void on_ingest_end() {
    if (++ingest_ended_ < static_cast<int>(ctx_.layout.ingest.size())) return;
    for (auto& [p, log] : logs_) {
      log.seal();
      serve_pending(p);
      maybe_done(p);
    }
  }

  void on_fetch(int worker, const FetchRequest& req) {
    ++fetches_;
    auto it = logs_.find(req.partition);
    if (it == logs_.end()) {
      reply(worker, req, FetchStatus::out_of_range, {});
      return;
    }
    if (!fence_.admit(req.partition, req.epoch)) {
      ++fenced_;
      reply(worker, req, FetchStatus::fenced, {});
      return;
    }
    const PartitionLog& log = it->second;
    if (req.offset < log.start_offset() || req.offset > log.end_offset()) {
      reply(worker, req, FetchStatus::out_of_range, {});
    } else if (req.offset < log.end_offset()) {
      reply(worker, req, FetchStatus::ok, log.read(req.offset, req.max_frames));
    } else if (log.sealed()) {
      reply(worker, req, FetchStatus::end_of_partition, {});
    } else {
      pending_.push_back({worker, req, steady_s() + req.wait_ms / 1000.0});
    }
  }

  void on_commit(int worker, const Commit& c) {
    CommitAck ack;
    ack.partition = c.partition;
    auto it = logs_.find(c.partition);
    if (it == logs_.end()) {
      ack.status = 2;
    } else if (!fence_.admit(c.partition, c.epoch)) {
      ack.status = 1;
      ++fenced_;
    } else if (!it->second.commit(c.offset)) {
      ack.status = 2;
    }
    if (it != logs_.end()) ack.committed = it->second.committed();
    ctx_.net.send(worker, Tag::commit_ack, pod_body(ack));
    if (it != logs_.end()) maybe_done(c.partition);
  }

  void maybe_done(std::uint32_t p) {
    const PartitionLog& log = logs_.at(p);
    if (!log.finished() || done_reported_[p]) return;
    done_reported_[p] = true;
    PartitionDone d;
    d.partition = p;
    d.end_offset = log.end_offset();
    send_metrics();  // the master's view of committed offsets is complete before "done"
    ctx_.net.send(0, Tag::partition_done, pod_body(d));
  }

  void reply(int worker, const FetchRequest& req, FetchStatus status,
             const std::vector<PartitionLog::Entry>& entries) {
    FetchReply rep;
    rep.partition = req.partition;
    rep.epoch = req.epoch;
    rep.first_offset = req.offset;
    auto it = logs_.find(req.partition);
    rep.end_offset = it == logs_.end() ? 0 : it->second.end_offset();
    rep.count = static_cast<std::uint32_t>(entries.size());
    rep.status = status;
    ctx_.net.send(worker, Tag::fetch_reply, pod_body(rep));
    // Frames go out as the very buffers ingest sent: no copy on the broker.
    for (const auto& e : entries) ctx_.net.send(worker, Tag::fetch_frame, e.frame);
  }

  void serve_pending(std::uint32_t p) {
    for (auto it = pending_.begin(); it != pending_.end();) {
      if (it->req.partition != p) {
        ++it;
        continue;
      }
      const PendingFetch f = *it;
      it = pending_.erase(it);
      on_fetch(f.worker, f.req);  // re-evaluates: data now, end of partition, or waits again
      --fetches_;
    }
  }

  void expire_fetches(double now) {
    for (auto it = pending_.begin(); it != pending_.end();) {
      if (now >= it->deadline) {
        reply(it->worker, it->req, FetchStatus::ok, {});
        it = pending_.erase(it);
      } else {
        ++it;
      }
    }
  }

  void update_peak() {
    std::uint64_t total = 0;
    for (const auto& [p, log] : logs_) total += log.retained_bytes();
    peak_retained_bytes_ = std::max(peak_retained_bytes_, total);
  }

  void send_metrics() {
    BodyWriter w;
    w.pod(static_cast<std::uint32_t>(logs_.size()));
    for (const auto& [p, log] : logs_) {
      PartitionMetrics pm;
      pm.partition = p;
      pm.sealed = log.sealed() ? 1 : 0;
      pm.end_offset = log.end_offset();
      pm.committed = log.committed();
      pm.retained_bytes = log.retained_bytes();
      w.pod(pm);
    }
    ctx_.net.send(0, Tag::broker_metrics, w.finish());
  }

  RoleContext& ctx_;
  std::map<std::uint32_t, PartitionLog> logs_;
  std::map<std::uint32_t, bool> done_reported_;
  EpochFence fence_;
  std::vector<PendingFetch> pending_;
  int ingest_ended_ = 0;
  bool stop_ = false;
  double metrics_interval_s_ = 0.25;
  std::uint64_t appended_ = 0, rejected_ = 0, fetches_ = 0, fenced_ = 0;
  std::uint64_t peak_retained_bytes_ = 0;
};

}  // namespace

int run_broker(RoleContext& ctx) { return Broker(ctx).run(); }

}  // namespace ride

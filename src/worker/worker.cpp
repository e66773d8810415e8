#include "worker/worker.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <map>

#include "core/checksum.h"
#include "core/clock.h"
#include "kernels/stddev/stddev.h"
#include "sink/result_store.h"

namespace ride {
namespace {

class Worker {
 public:
  explicit Worker(RoleContext& ctx) : ctx_(ctx) {}

  int run() {
    send_hello(ctx_);
    transport::IdleBackoff backoff;
    fetch_after_s_ = steady_s() + ctx_.cfg.start_delay_s;
    while (!stop_) {
      bool busy = false;
      while (auto m = ctx_.net.try_recv()) {
        handle(*m);
        busy = true;
        if (stop_) break;
      }
      if (stop_) break;
      issue_fetches();
      if (!ready_.empty()) {
        process(ready_.front());
        ready_.pop_front();
        busy = true;
      }
      ctx_.net.progress();
      if (busy) backoff.reset();
      else backoff.wait();
    }
    nlohmann::json parts = nlohmann::json::array();
    for (const auto& [p, o] : owned_) parts.push_back(p);
    const double span = last_commit_s_ > first_frame_s_ ? last_commit_s_ - first_frame_s_ : 0.0;
    send_final_report(ctx_, {{"rank", ctx_.net.rank()},
                             {"role", "worker"},
                             {"processed", processed_},
                             {"failed", failed_},
                             {"dropped", dropped_},
                             {"batches", batches_},
                             {"busy_s", busy_s_},
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
    std::uint64_t next_fetch = 0;
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

  void handle(transport::Message& m) {
    switch (m.tag) {
      case Tag::assign: on_assign(BodyReader(m.body).pod<Assign>()); break;
      case Tag::fetch_reply: on_fetch_reply(m.source, BodyReader(m.body).pod<FetchReply>()); break;
      case Tag::fetch_frame: on_frame(m.source, std::move(m.body)); break;
      case Tag::results_ack: on_results_ack(BodyReader(m.body).pod<ResultsAck>()); break;
      case Tag::commit_ack: on_commit_ack(BodyReader(m.body).pod<CommitAck>()); break;
      case Tag::shutdown: stop_ = true; break;
      default: break;
    }
  }

  void on_assign(const Assign& a) {
    Owned& o = owned_[a.partition];
    o.epoch = a.epoch;
    o.broker = a.broker;
    o.next_fetch = a.start_offset;
    o.end_of_partition = false;
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
    if (it == incoming_.end()) return;  // reply of a partition we no longer own
    it->second.batch.frames.push_back(std::move(frame));
    if (it->second.batch.frames.size() == it->second.reply.count) complete_fetch(broker);
  }

  void complete_fetch(int broker) {
    Incoming in = std::move(incoming_.at(broker));
    incoming_.erase(broker);
    auto it = owned_.find(in.reply.partition);
    if (it == owned_.end() || it->second.epoch != in.reply.epoch) return;
    Owned& o = it->second;
    o.fetch_in_flight = false;
    switch (in.reply.status) {
      case FetchStatus::fenced:
        // A newer owner exists: stand down on this partition.
        ++fenced_;
        owned_.erase(it);
        return;
      case FetchStatus::end_of_partition: o.end_of_partition = true; return;
      case FetchStatus::out_of_range: return;  // retried from next_fetch
      case FetchStatus::ok: break;
    }
    if (in.batch.frames.empty()) return;
    if (first_frame_s_ == 0) first_frame_s_ = steady_s();
    o.next_fetch = in.reply.first_offset + in.batch.frames.size();
    ++o.queued_batches;
    ready_.push_back(std::move(in.batch));
  }

  void process(Batch& batch) {
    const double t_start = steady_s();
    const bool images = ctx_.cfg.images;
    BodyWriter results;
    ResultsHeader rh;
    rh.batch_id = next_batch_id_++;
    rh.partition = batch.partition;
    rh.epoch = batch.epoch;
    rh.end_offset = batch.first_offset + batch.frames.size();
    rh.count = static_cast<std::uint32_t>(batch.frames.size());
    rh.has_images = images && !noop_ ? 1 : 0;
    results.pod(rh);
    std::vector<std::pair<std::uint32_t, std::string>> errors;
    BodyWriter image_bytes;
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
      if (ph.flags & kFrameFlagDropped) {
        // The broker's drop policy discarded the pixels: account for the key, process nothing.
        rec.status = ResultStatus::dropped;
        rec.processed_ns = wall_ns();
        ++dropped_;
        results.pod(rec);
        continue;
      }
      try {
        RIDE_EXPECTS(fh.pixel == PixelType::u8 && fh.channels == 1,
                     "stddev needs single-channel u8 frames, got " << to_string(fh.pixel) << " x"
                                                                  << fh.channels);
        RIDE_EXPECTS(f.size() == kPixelsAt + fh.payload_bytes(), "frame size disagrees with its header");
        const auto* px = reinterpret_cast<const std::uint8_t*>(f.data() + kPixelsAt);
        rec.input_checksum = checksum64(px, fh.payload_bytes());
        rec.status = ResultStatus::ok;
        if (!noop_) {
          const std::size_t n = std::size_t{fh.width} * fh.height;
          if (out_.size() < n) out_.resize(n);
          const int w = static_cast<int>(fh.width), h = static_cast<int>(fh.height);
          kernels::stddev_filter_u8(px, w, h, w, ctx_.cfg.window, out_.data(), w, ctx_.cfg.threads);
          const auto st = kernels::frame_stats(out_.data(), w, h, w);
          rec.scalars[0] = st.mean;
          rec.scalars[1] = st.min;
          rec.scalars[2] = st.max;
          if (images) image_bytes.bytes(out_.data(), n * sizeof(float));
        }
        ++processed_;
      } catch (const std::exception& e) {
        // A failing frame is recorded, not fatal: the sink stores the error with the frame's key.
        rec.status = ResultStatus::task_error;
        errors.emplace_back(static_cast<std::uint32_t>(i), e.what());
        ++failed_;
      }
      rec.processed_ns = wall_ns();
      results.pod(rec);
    }
    if (rh.has_images) {
      const Buffer ib = image_bytes.finish();
      results.bytes(ib.data(), ib.size());
    }
    results.pod(static_cast<std::uint32_t>(errors.size()));
    for (const auto& [idx, msg] : errors) {
      results.pod(idx).pod(static_cast<std::uint32_t>(msg.size())).str(msg);
    }
    awaiting_[rh.batch_id] = {batch.partition, batch.epoch, rh.end_offset};
    ctx_.net.send(0, Tag::results, results.finish());
    if (auto it = owned_.find(batch.partition); it != owned_.end()) --it->second.queued_batches;
    ++batches_;
    busy_s_ += steady_s() - t_start;
  }

  void on_results_ack(const ResultsAck& ack) {
    auto it = awaiting_.find(ack.batch_id);
    if (it == awaiting_.end()) return;
    const AwaitingAck a = it->second;
    awaiting_.erase(it);
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
    if (ack.status == 1) {
      ++fenced_;
      owned_.erase(ack.partition);
    }
  }

  RoleContext& ctx_;
  std::map<std::uint32_t, Owned> owned_;
  std::map<int, Incoming> incoming_;
  std::deque<Batch> ready_;
  std::map<std::uint64_t, AwaitingAck> awaiting_;
  std::vector<float> out_;
  std::uint64_t next_batch_id_ = 0, processed_ = 0, failed_ = 0, dropped_ = 0, batches_ = 0,
      fenced_ = 0;
  double busy_s_ = 0, first_frame_s_ = 0, last_commit_s_ = 0, fetch_after_s_ = 0;
  const bool noop_ = ctx_.cfg.task == "noop";
  bool stop_ = false;
};

}  // namespace

int run_worker(RoleContext& ctx) { return Worker(ctx).run(); }

int run_spare(RoleContext& ctx) {
  send_hello(ctx);
  while (true) {
    if (auto m = ctx.net.recv_for(1.0); m && m->tag == Tag::shutdown) break;
  }
  send_final_report(ctx, {{"rank", ctx.net.rank()}, {"role", "spare"}});
  return 0;
}

}  // namespace ride

#include "transport/role_runtime.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <thread>

#include "core/clock.h"

namespace ride {

void Heartbeat::note_shutdown(const Buffer& body) {
  if (body.size() >= sizeof(Shutdown) && body.read<Shutdown>(0).peers_lost) ctx_.net.note_peers_lost();
}

void send_hello(RoleContext& ctx) {
  Hello h;
  h.role = static_cast<std::int32_t>(ctx.role);
  h.pid = static_cast<std::int32_t>(::getpid());
  std::strncpy(h.host, ctx.net.host().c_str(), sizeof(h.host) - 1);
  ctx.net.send(0, Tag::hello, pod_body(h));
}

Heartbeat::Heartbeat(RoleContext& ctx)
    : ctx_(ctx),
      interval_s_(ctx.cfg.heartbeat_interval_ms / 1000.0),
      // The master's silence is judged more leniently than a worker's: it is busy with HDF5.
      master_timeout_s_(std::max(2.0, 5 * ctx.cfg.heartbeat_timeout_ms / 1000.0)),
      master_last_(steady_s()) {
  // The thread holds the progress record: it outlives this object (the thread ends in
  // finalize, after the role).
  std::shared_ptr<RankProgress> p = progress_;
  transport::Transport* net = &ctx.net;
  threaded_ = ctx.net.start_heartbeat({0}, interval_s_, [p, net] {
    return pod_body(body_of(*p, net->loop_idle_s()));
  });
}

HeartbeatBody Heartbeat::body_of(const RankProgress& p, double loop_idle_s) {
  HeartbeatBody b;
  b.phase = static_cast<RankPhase>(p.phase.load());
  b.computing = p.computing.load();
  b.partition = p.partition.load();
  b.awaiting_results = p.awaiting_results.load();
  b.fetching = p.fetching.load();
  b.offset = p.offset.load();
  b.batch_bytes = p.batch_bytes.load();
  if (b.computing) b.computing_for_s = static_cast<double>(wall_ns() - p.since_ns.load()) / 1e9;
  b.loop_idle_s = loop_idle_s;
  b.frames_done = p.frames_done.load();
  b.bytes_done = p.bytes_done.load();
  b.compute_s = static_cast<double>(p.compute_ns.load()) / 1e9;
  return b;
}

void Heartbeat::set_running() { progress_->phase.store(static_cast<std::uint32_t>(RankPhase::running)); }

void Heartbeat::begin_batch(std::uint32_t partition, std::uint64_t offset, std::uint64_t bytes) {
  progress_->partition.store(partition);
  progress_->offset.store(offset);
  progress_->batch_bytes.store(bytes);
  progress_->since_ns.store(wall_ns());
  progress_->computing.store(1);
}

void Heartbeat::end_batch(std::uint64_t frames, std::uint64_t bytes, double seconds) {
  progress_->frames_done.fetch_add(frames);
  progress_->bytes_done.fetch_add(bytes);
  progress_->compute_ns.fetch_add(static_cast<std::int64_t>(seconds * 1e9));
  progress_->computing.store(0);
}

void Heartbeat::maybe_block() {
  if (blocked_ || ctx_.cfg.block_rank != ctx_.net.rank() || ctx_.cfg.block_s <= 0) return;
  if (steady_s() < created_s_ + 1.0) return;  // in the middle of the job, not at start-up
  blocked_ = true;
  std::this_thread::sleep_for(std::chrono::duration<double>(ctx_.cfg.block_s));
}

void Heartbeat::forgive_own_absence() {
  const double now = steady_s();
  if (now - last_pump_s_ > 2 * interval_s_) master_last_ = std::max(master_last_, now);
  last_pump_s_ = now;  // the next gap is measured from here
}

void Heartbeat::tick() {
  if (threaded_) return;
  const double now = steady_s();
  if (now < next_) return;
  next_ = now + interval_s_;
  ctx_.net.send(0, Tag::heartbeat, pod_body(body_of(*progress_, 0)));
}

void Heartbeat::heard_from(int source) {
  if (source == 0) master_last_ = steady_s();
}

bool Heartbeat::master_silent() const { return steady_s() - master_last_ > master_timeout_s_; }

void Heartbeat::ensure_master_alive() const {
  if (master_silent()) {
    throw MasterLost("the master has been silent for " + std::to_string(master_timeout_s_) + " s");
  }
}

Buffer json_body(const nlohmann::json& j) { return BodyWriter().str(j.dump()).finish(); }

nlohmann::json parse_json_body(const Buffer& b) {
  return nlohmann::json::parse(reinterpret_cast<const char*>(b.data()),
                               reinterpret_cast<const char*>(b.data()) + b.size());
}

void send_final_report(RoleContext& ctx, const nlohmann::json& report) {
  ctx.net.send(0, Tag::final_report, json_body(report));
  ctx.net.drain_to(0, 10.0);
}

void send_error(RoleContext& ctx, const std::string& what) {
  ctx.net.send(0, Tag::error, BodyWriter().str(what).finish());
  ctx.net.drain_to(0, 5.0);
}

}  // namespace ride

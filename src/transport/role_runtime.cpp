#include "transport/role_runtime.h"

#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "core/clock.h"

namespace ride {

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
      master_last_(steady_s()) {}

void Heartbeat::tick() {
  const double now = steady_s();
  if (now < next_) return;
  next_ = now + interval_s_;
  ctx_.net.send(0, Tag::heartbeat, Buffer());
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

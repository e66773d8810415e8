#pragma once
/// @brief What every role's loop shares: the start-up handshake and the final report.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/config.h"
#include "core/role_layout.h"
#include "transport/transport.h"

namespace ride {

/// Everything a role needs; passed by reference into each role's run function.
struct RoleContext {
  transport::Transport& net;
  const JobConfig& cfg;
  const RoleLayout& layout;
  Role role;
  /// How this process was started (`ride run ...` and its options): the program and arguments
  /// a replenished spare is spawned with.
  std::string program;
  std::vector<std::string> args;
};

/// Sends HELLO (role, pid, host) to the master.
void send_hello(RoleContext& ctx);
/// Sends a JSON final report to the master and waits (bounded) for the send to complete.
void send_final_report(RoleContext& ctx, const nlohmann::json& report);
/// Reports a fatal error text to the master (best effort, bounded wait).
void send_error(RoleContext& ctx, const std::string& what);

/// @brief Thrown by a role that finds the master gone: the rank ends with exit code 3.
class MasterLost : public Error {
 public:
  using Error::Error;
};

/// @brief Liveness both ways: tells the master this rank is alive every
/// ft.heartbeat_interval_ms, and notices when the master itself falls silent (then the rank
/// must end on its own: nobody else will tell it).
class Heartbeat {
 public:
  explicit Heartbeat(RoleContext& ctx);
  /// Sends a heartbeat when one is due; call from the role's loop.
  void tick();
  /// Call with the source of every message received.
  void heard_from(int source);
  /// True when the master has been silent longer than master_timeout_s().
  bool master_silent() const;
  /// Throws MasterLost when the master is silent: the rank cannot go on without it.
  void ensure_master_alive() const;
  /// A role loop's receive step: hands up to 64 waiting messages to `handle` (a bounded burst,
  /// so a loaded rank still reaches its heartbeat and timers), staying audible between them,
  /// then checks that the master is alive. Stops early once `stop` is set. True if any arrived.
  template <typename Handler>
  bool pump(Handler&& handle, const bool& stop) {
    bool any = false;
    for (int burst = 0; burst < 64 && !stop; ++burst) {
      auto m = ctx_.net.try_recv();
      if (!m) break;
      heard_from(m->source);
      tick();  // a burst of large frames takes a while
      handle(*m);
      any = true;
    }
    if (!stop) ensure_master_alive();
    tick();
    return any;
  }
  double master_timeout_s() const { return master_timeout_s_; }

 private:
  RoleContext& ctx_;
  double interval_s_, master_timeout_s_, next_ = 0, master_last_;
};

/// JSON body helpers for the rare control messages that carry structured data.
Buffer json_body(const nlohmann::json& j);
nlohmann::json parse_json_body(const Buffer& b);

}  // namespace ride

#pragma once
/// @brief What every role's loop shares: the start-up handshake and the final report.
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/clock.h"
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

/// @brief What a rank's heartbeat reports about it, written by the role's threads (the compute
/// thread included) and read by the heartbeat thread: all atomics.
struct RankProgress {
  std::atomic<std::uint32_t> phase{static_cast<std::uint32_t>(RankPhase::starting)};
  std::atomic<std::uint32_t> computing{0}, partition{0}, awaiting_results{0}, fetching{0};
  std::atomic<std::uint64_t> offset{0}, batch_bytes{0}, frames_done{0}, bytes_done{0};
  std::atomic<std::int64_t> since_ns{0}, compute_ns{0};
};

/// @brief Liveness both ways: tells the master this rank is alive every
/// ft.heartbeat_interval_ms — from the transport's heartbeat thread, so that long work on the
/// role's thread cannot silence it (from tick() where MPI offers no thread support) — and
/// notices when the master itself falls silent (then the rank must end on its own: nobody else
/// will tell it).
class Heartbeat {
 public:
  explicit Heartbeat(RoleContext& ctx);
  /// Sends a heartbeat when one is due and no thread does; call from the role's loop.
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
    maybe_block();
    forgive_own_absence();
    bool any = false;
    for (int burst = 0; burst < 64 && !stop; ++burst) {
      auto m = ctx_.net.try_recv();
      if (!m) break;
      heard_from(m->source);
      tick();  // a burst of large frames takes a while
      if (m->tag == Tag::shutdown) note_shutdown(m->body);
      handle(*m);
      any = true;
      // Receiving and handling one message can take seconds (a 621 MB frame on a loaded
      // machine: CI saw a broker give up on a live master that way); the master's heartbeats
      // waited unread behind it, so that time is this loop's absence, not the master's silence.
      forgive_own_absence();
    }
    if (!stop) ensure_master_alive();
    tick();
    return any;
  }
  double master_timeout_s() const { return master_timeout_s_; }
  /// SHUTDOWN says whether some rank died (then MPI_Finalize is given a moment only).
  void note_shutdown(const Buffer& body);

  /// Start-up (modules loaded, inputs opened) is over: from now on the master allows this rank
  /// ft.heartbeat_timeout_ms of silence instead of ft.startup_grace_s.
  void set_running();
  /// The compute thread starts a batch (partition, first offset, frame bytes) / finished it.
  void begin_batch(std::uint32_t partition, std::uint64_t offset, std::uint64_t bytes);
  void end_batch(std::uint64_t frames, std::uint64_t bytes, double seconds);
  /// Result batches at the sink, not yet durable (a worker waiting on the sink is not stuck).
  void set_awaiting_results(std::size_t n) { progress_->awaiting_results.store(static_cast<std::uint32_t>(n)); }
  /// Fetches sent to brokers and not answered in full (a worker waiting on a broker is not stuck).
  void set_fetching(std::size_t n) { progress_->fetching.store(static_cast<std::uint32_t>(n)); }
  /// The body of this rank's next heartbeat (thread-safe).
  static HeartbeatBody body_of(const RankProgress& p, double loop_idle_s);

 private:
  /// faults.block_rank: this thread stops once, as long work on a role's loop would.
  void maybe_block();
  /// If this loop itself was away (long work) since the last call, the master's messages
  /// waited unread: its silence over that time is ours, so it gets a full timeout from now.
  void forgive_own_absence();
  bool blocked_ = false;
  const double created_s_ = steady_s();
  double last_pump_s_ = steady_s();  // a role may wait for START before its first pump
  RoleContext& ctx_;
  double interval_s_, master_timeout_s_, next_ = 0, master_last_;
  std::shared_ptr<RankProgress> progress_ = std::make_shared<RankProgress>();
  bool threaded_ = false;
};

/// JSON body helpers for the rare control messages that carry structured data.
Buffer json_body(const nlohmann::json& j);
nlohmann::json parse_json_body(const Buffer& b);

}  // namespace ride

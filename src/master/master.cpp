#include "master/master.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <set>

#include "core/clock.h"
#include "core/results_codec.h"
#include "broker/partition_log.h"  // LogState names for the status line
#include "core/partition_map.h"
#include "master/assignment.h"
#include "master/liveness.h"
#include "plan/scaling.h"
#include "task/registry.h"
#include "sink/result_check.h"
#include "sink/result_store.h"

#ifndef RIDE_GIT_COMMIT
#define RIDE_GIT_COMMIT "unknown"
#endif

namespace ride {
namespace {

using nlohmann::json;

/// The scaling policy of `ride plan` over this job's workers: one instance type, "worker", of
/// one core (utilization = busy fraction) and the configured memory budget.
std::unique_ptr<plan::ScalingPolicy> make_scaling_policy(const JobConfig& cfg, const RoleLayout& layout) {
  plan::InstanceType worker;
  worker.name = "worker";
  worker.vcpus = 1;
  worker.mem_gb = cfg.scaling_mem_mb > 0 ? cfg.scaling_mem_mb / 1024.0 : 1e9;
  worker.hourly_usd = 1;
  worker.max_count = static_cast<int>(layout.workers.size() + layout.spares.size()) + cfg.replenish;
  plan::ScalingConfig c;
  c.over = cfg.scaling_high;
  c.under = cfg.scaling_low;
  c.target = cfg.scaling_target;
  c.under_for_s = cfg.scaling_low_for_s;
  return std::make_unique<plan::ScalingPolicy>(std::vector<plan::InstanceType>{worker}, c);
}

class Master {
  struct Moved {
    int partition, to;
    std::uint32_t epoch;
    bool flowing;  ///< results from the new owner have arrived
  };
  struct Failure {  ///< one rank lost, and how the job got over it
    int rank = -1;
    std::string role, cause;
    double last_heard = 0, detected = 0, recovered = -1;  ///< steady clock; -1: not yet
    std::uint64_t reprocessed = 0;
    std::vector<Moved> moved;
  };

 public:
  explicit Master(RoleContext& ctx)
      : ctx_(ctx),
        cfg_(ctx.cfg),
        layout_(ctx.layout),
        t0_(steady_s()),  // reset at START; set here for a job that fails before it
        task_(task::resolve_task(task::registry_for(ctx.cfg), ctx.cfg).info),
        table_(ctx.layout.partitions),
        liveness_(ctx.layout.world, ctx.cfg.heartbeat_timeout_ms / 1000.0, steady_s(),
                  ctx.cfg.startup_grace_s),
        active_workers_(ctx.layout.workers),
        spare_pool_(ctx.layout.spares) {
    for (int r = 0; r < layout_.world; ++r) role_now_.push_back(to_string(layout_.role_of(r)));
  }

  int run() {
    // The master's heartbeats come from a thread of its own too: an HDF5 flush of a 2.5 GB
    // result image must not make every rank think the master is gone.
    heartbeat_thread_ = ctx_.net.start_heartbeat(live_peers(), cfg_.heartbeat_interval_ms / 1000.0,
                                                 [] { return Buffer(); });
    if (!collect_hellos()) return abort_job("not every rank reported at start-up");
    print_roles();
    writer_.emplace(cfg_.results_path, task_.scalars,
                    std::map<std::string, std::string>{{"task", cfg_.task},
                                                       {"mode", cfg_.mode},
                                                       {"commit", RIDE_GIT_COMMIT},
                                                       {"config", cfg_.to_ini()}});
    table_.assign_round_robin(layout_.workers);
    // Placement first: brokers create the partitions the map gives them, ingest routes by it.
    for (int r : layout_.brokers) ctx_.net.send(r, Tag::partition_map, map_.encode());
    for (int r : layout_.ingest) ctx_.net.send(r, Tag::partition_map, map_.encode());
    if (!await_brokers_ready()) return abort_job("not every broker took its partitions within 60 s");
    for (int p = 0; p < table_.partitions(); ++p) send_assign(p, map_.broker(p));
    t0_ns_ = wall_ns();
    t0_ = steady_s();
    last_status_s_ = t0_;
    Start st;
    st.t0_ns = t0_ns_;
    for (int r = 1; r < layout_.world; ++r) ctx_.net.send(r, Tag::start, pod_body(st));
    const bool batch = cfg_.mode == "batch";
    if (!batch) start_processing();

    if (cfg_.source == "video") {
      std::cout << "[ride] " << cfg_.mode << " mode: " << cfg_.streams
                << " input(s) from ingest.inputs (cameras sampled at " << fmt(cfg_.fps, 1)
                << " fps, files frame by frame" << (batch ? "" : " at that rate") << "; "
                << (cfg_.frames > 0 ? std::to_string(cfg_.frames) + " frames each"
                                    : "cameras for " + fmt(cfg_.duration_s, 1) + " s")
                << "), " << layout_.partitions << " partition(s), task " << cfg_.task << std::endl;
    } else {
      std::cout << "[ride] " << cfg_.mode << " mode: " << cfg_.streams << " stream(s) of "
                << cfg_.width << "x" << cfg_.height << ", " << cfg_.frames_per_stream()
                << " frames each" << (batch ? "" : " at " + fmt(cfg_.fps, 1) + " fps") << ", "
                << layout_.partitions << " partition(s), task " << cfg_.task << std::endl;
    }

    transport::IdleBackoff backoff;
    double next_status = t0_ + cfg_.status_interval_s;
    last_progress_ = steady_s();
    // Everyone has been heard at start-up; silence counts from here.
    for (int r = 1; r < layout_.world; ++r) liveness_.heard(r, last_progress_);
    last_loop_s_ = last_progress_;
    std::string failure;
    while (failure.empty()) {
      bool busy = false;
      for (int i = 0; i < 64; ++i) {  // bound the burst so acks and status still go out
        auto m = ctx_.net.try_recv();
        if (!m) break;
        busy = true;
        liveness_.heard(m->source, steady_s());
        if (m->tag == Tag::heartbeat) on_heartbeat(*m, steady_s());
        if (liveness_.dead(m->source)) {
          tell_to_stand_down(m->source);  // declared dead: nothing it says counts any more
          continue;
        }
        failure = handle(*m);
        if (!failure.empty()) break;
      }
      if (!failure.empty()) break;
      flush_and_ack(!busy);
      if (batch && !processing_started_ && all_ingest_done()) start_processing();
      const double now = steady_s();
      send_heartbeats(now);
      failure = detect_failures(now);
      if (!failure.empty()) break;
      if (replenish_due_ > 0 && now >= replenish_due_) replenish(now);
      if (cfg_.scaling && processing_started_ && now >= next_scaling_s_) scale(now);
      if (now >= next_status) {
        print_status(now);
        next_status += cfg_.status_interval_s;
      }
      if (all_ingest_done() && all_partitions_done()) break;
      if (now - last_progress_ > cfg_.stall_timeout_s) {
        failure = "no progress for " + fmt(cfg_.stall_timeout_s, 1) +
                  " s (job.stall_timeout_s) although every rank answers heartbeats";
        break;
      }
      ctx_.net.progress();
      if (busy) backoff.reset();
      else backoff.wait();
    }
    end_s_ = steady_s();
    flush_and_ack(true);
    print_status(end_s_);
    if (!failure.empty()) return abort_job(failure);
    shutdown_all(false);
    return finish("");
  }

 private:
  static std::string fmt(double v, int prec) {
    char b[64];
    std::snprintf(b, sizeof b, "%.*f", prec, v);
    return b;
  }

  /// Every broker answers the partition map once its partitions exist.
  bool await_brokers_ready() {
    std::size_t ready = 0;
    const double deadline = steady_s() + 60.0;
    while (ready < layout_.brokers.size() && steady_s() < deadline) {
      auto m = ctx_.net.recv_for(0.5);
      if (!m) continue;
      if (m->tag == Tag::partition_map) ++ready;
      else if (m->tag == Tag::error) {
        errors_.push_back("rank " + std::to_string(m->source) + ": " + BodyReader(m->body).rest_str());
        return false;
      }
    }
    return ready == layout_.brokers.size();
  }

  bool collect_hellos() {
    // Rows for ranks that never say HELLO (one failed at start-up) still name their role.
    for (int r = 0; r < layout_.world; ++r) {
      ranks_.push_back({{"rank", r}, {"role", to_string(layout_.role_of(r))}, {"host", "?"}, {"pid", 0}});
    }
    ranks_[0] = {{"rank", 0}, {"role", "master"}, {"host", ctx_.net.host()}, {"pid", ::getpid()}};
    int missing = layout_.world - 1;
    const double deadline = steady_s() + 60.0;
    while (missing > 0 && steady_s() < deadline) {
      auto m = ctx_.net.recv_for(0.5);
      if (!m) continue;
      if (m->tag == Tag::hello) {
        const auto h = BodyReader(m->body).pod<Hello>();
        ranks_[static_cast<std::size_t>(m->source)] = {
            {"rank", m->source},
            {"role", to_string(static_cast<Role>(h.role))},
            {"host", std::string(h.host, strnlen(h.host, sizeof h.host))},
            {"pid", h.pid}};
        --missing;
      } else if (m->tag == Tag::error) {
        errors_.push_back("rank " + std::to_string(m->source) + ": " + BodyReader(m->body).rest_str());
        return false;
      }
    }
    return missing == 0;
  }

  void print_roles() const {
    std::cout << "[ride] " << layout_.world << " ranks: " << layout_.brokers.size() << " broker, "
              << layout_.ingest.size() << " ingest, " << layout_.workers.size() << " worker, "
              << layout_.spares.size() << " spare\n";
    std::cout << "[ride]   rank  role     host                 pid\n";
    for (const auto& r : ranks_) {
      char line[160];
      std::snprintf(line, sizeof line, "[ride]   %4d  %-7s  %-20s %d\n", r["rank"].get<int>(),
                    r["role"].get<std::string>().c_str(), r["host"].get<std::string>().c_str(),
                    r["pid"].get<int>());
      std::cout << line;
    }
    std::cout << std::flush;
  }

  void send_assign(int p, int dest) {
    Assign a;
    a.partition = static_cast<std::uint32_t>(p);
    a.epoch = table_.at(p).epoch;
    a.owner = table_.at(p).owner;
    a.broker = map_.broker(p);
    a.start_offset = committed_of(p);
    ctx_.net.send(dest, Tag::assign, pod_body(a));
  }

  void start_processing() {
    processing_started_ = true;
    processing_t0_ = steady_s();
    for (int p = 0; p < table_.partitions(); ++p) {
      send_assign(p, table_.at(p).owner);
      progress_.reset(static_cast<std::uint32_t>(p), processing_t0_ + cfg_.start_delay_s);
    }
  }

  std::vector<int> live_peers() const {
    std::vector<int> out;
    for (int r = 1; r < peers(); ++r) {
      if (!liveness_.dead(r)) out.push_back(r);
    }
    return out;
  }

  /// A rank's heartbeat: its phase (start-up is allowed a longer silence) and what its compute
  /// thread is on (straggler_rule_ tells slow from stuck by it).
  void on_heartbeat(const transport::Message& m, double now) {
    if (m.body.size() != sizeof(HeartbeatBody)) return;  // the master's own are empty
    const auto hb = m.body.read<HeartbeatBody>(0);
    if (hb.phase == RankPhase::running && liveness_.starting(m.source)) liveness_.set_running(m.source);
    activity_[m.source] = hb;
    // A worker busy on a batch within its allowance is progress, although nothing commits yet.
    if (hb.computing && !straggler_rule_.stuck(hb, group_bytes_per_s())) last_progress_ = now;
  }

  /// The workers' measured processing rate (frame bytes per second of compute), 0 = unknown.
  double group_bytes_per_s() const {
    double bytes = 0, secs = 0;
    for (const auto& [rank, hb] : activity_) {
      bytes += static_cast<double>(hb.bytes_done);
      secs += hb.compute_s;
    }
    return secs > 0 ? bytes / secs : 0.0;
  }

  void send_heartbeats(double now) {
    if (heartbeat_thread_) return;  // the thread sends them
    if (now < next_heartbeat_) return;
    next_heartbeat_ = now + cfg_.heartbeat_interval_ms / 1000.0;
    for (int r = 1; r < peers(); ++r) {
      if (!liveness_.dead(r)) ctx_.net.send(r, Tag::heartbeat, Buffer());
    }
  }

  void tell_to_stand_down(int rank) {
    const double now = steady_s();
    auto& last = stand_down_sent_[rank];
    if (now - last < 0.5) return;
    last = now;
    ctx_.net.send(rank, Tag::stand_down, Buffer());
  }

  /// Silent ranks and stragglers. Returns a reason when the job cannot go on.
  std::string detect_failures(double now) {
    // If this loop itself was held up (a slow HDF5 flush, no CPU), the others' messages are
    // queued unread: their silence is ours. Give everyone the time the master was away.
    const double gap = now - last_loop_s_;
    last_loop_s_ = now;
    if (gap > 2 * cfg_.heartbeat_interval_ms / 1000.0) {
      // (With heartbeat threads the others' heartbeats are queued meanwhile, but read in bursts
      // of 64 after the master's stall: the same reasoning holds.)
      for (int r = 1; r < peers(); ++r) liveness_.heard(r, liveness_.last_heard(r) + gap);
    }
    for (int r : liveness_.newly_dead(now)) {
      const double silent = now - liveness_.last_heard(r);
      const std::string why = "silent for " + fmt(silent, 3) + " s";
      if (auto fatal = recover_from(r, why, now); !fatal.empty()) return fatal;
    }
    if (!processing_started_ || cfg_.straggler_timeout_s <= 0) return {};
    for (std::uint32_t p : progress_.stalled(now, cfg_.straggler_timeout_s)) {
      const int owner = table_.at(static_cast<int>(p)).owner;
      if (owner < 0 || liveness_.dead(owner)) continue;
      // No commit for the timeout: stuck, or slow on a big batch? Its heartbeat tells.
      const auto hb = activity_.find(owner);
      std::string why = "straggler: alive but partition " + std::to_string(p) +
                        " committed nothing for " + fmt(cfg_.straggler_timeout_s, 1) + " s";
      if (hb != activity_.end()) {
        const auto stuck = straggler_rule_.stuck(hb->second, group_bytes_per_s());
        if (!stuck) continue;
        why = *stuck + " (partition " + std::to_string(p) + ")";
      }
      liveness_.declare_dead(owner);
      tell_to_stand_down(owner);
      if (auto fatal = recover_from(owner, why, now); !fatal.empty()) return fatal;
    }
    return {};
  }

  /// Moves a failed worker's partitions to a spare (promoted) or to the survivors, fencing the
  /// old epoch at the brokers first. Brokers and ingest ranks are not replaceable (yet): their
  /// death ends the job with a clear error.
  std::string recover_from(int rank, const std::string& why, double now) {
    const std::string role = role_now_[static_cast<std::size_t>(rank)];
    ctx_.net.cancel_sends_to(rank);
    ctx_.net.set_heartbeat_targets(live_peers());
    PeerDead pd;
    pd.rank = rank;
    for (int b : layout_.brokers) {
      if (b != rank && !liveness_.dead(b)) ctx_.net.send(b, Tag::peer_dead, pod_body(pd));
    }
    Failure f;
    f.rank = rank;
    f.role = role;
    f.cause = why;
    f.last_heard = liveness_.last_heard(rank);
    f.detected = now;
    std::cout << "[ride] failure: rank " << rank << " (" << role << ") " << why;
    if (role == "broker" || role == "ingest") {
      std::cout << std::endl;
      failures_.push_back(f);
      return "rank " + std::to_string(rank) + " (" + role + ") " + why + ": the loss of a " + role +
             " rank is not tolerated (docs/ARCHITECTURE.md, \"What is not tolerated\")";
    }
    if (role == "spare") {
      std::erase(spare_pool_, rank);
      std::cout << ": one spare fewer (" << spare_pool_.size() << " left)" << std::endl;
      f.recovered = f.detected;
      failures_.push_back(f);
      schedule_replenish(now);
      return {};
    }
    std::erase(active_workers_, rank);
    std::vector<std::pair<int, int>> moved;
    try {
      moved = table_.recover(rank, spare_pool_, active_workers_);
    } catch (const Error&) {
      std::cout << std::endl;
      failures_.push_back(f);
      return "rank " + std::to_string(rank) + " (worker) " + why + " and no worker or spare is left";
    }
    std::string to_list;
    for (const auto& [p, to] : moved) {
      join_workers(to);
      // The broker hears of the new epoch first: from then on the old owner is fenced.
      send_assign(p, map_.broker(p));
      if (processing_started_) send_assign(p, to);
      progress_.reset(static_cast<std::uint32_t>(p), now);
      f.moved.push_back({p, to, table_.at(p).epoch, false});
      to_list += (to_list.empty() ? "" : ", ") + std::to_string(p) + " -> rank " + std::to_string(to);
    }
    std::cout << ": partitions " << (to_list.empty() ? std::string("(none)") : to_list)
              << (spare_pool_.empty() ? "; no spare left" : "") << std::endl;
    if (moved.empty()) f.recovered = f.detected;
    failures_.push_back(f);
    schedule_replenish(now);
    return {};
  }

  int peers() const { return liveness_.size(); }

  /// A spare (or released worker) that is given partitions joins the working group; true if it
  /// was not in it already.
  bool join_workers(int rank) {
    auto& role = role_now_[static_cast<std::size_t>(rank)];
    if (role != "spare") return false;
    role = "worker";
    std::erase(spare_pool_, rank);
    active_workers_.push_back(rank);
    return true;
  }

  /// A worker left without partitions by the scaling policy waits as a spare.
  void release_to_spares(int rank) {
    std::erase(active_workers_, rank);
    role_now_[static_cast<std::size_t>(rank)] = "spare";
    spare_pool_.push_back(rank);
  }

  /// The scaling policy (plan/scaling.h, shared with `ride plan`) over the workers' measured load: busy fraction
  /// since the last decision, memory against scaling.mem_per_worker_mb, and each partition's
  /// frame rate from the brokers' offsets.
  void scale(double now) {
    const double dt = now - last_scaling_s_;
    next_scaling_s_ = now + cfg_.scaling_interval_s;
    if (last_scaling_s_ == 0 || dt <= 0) {
      last_scaling_s_ = now;
      for (auto& [r, l] : loads_) l.then = l.now;
      for (const auto& [p, pm] : partitions_) last_end_[p] = pm.end_offset;
      return;
    }
    last_scaling_s_ = now;
    // Workers are the policy's instances (one type: a worker's cores, its memory budget) and
    // partitions its streams: the same CAM² policy `ride plan`'s scaling uses (plan/scaling.h).
    std::vector<plan::InstanceState> instances;
    std::map<std::string, int> rank_of;
    for (int r : active_workers_) {
      if (liveness_.dead(r)) continue;
      auto& l = loads_[r];
      plan::InstanceState in;
      in.id = std::to_string(r);
      in.type = "worker";
      // Busy time arrives when a batch ends, so one long batch can read as more than the whole
      // interval: a worker is at most fully busy (the rest is backlog, which the lag shows).
      in.cpu_util = std::clamp((l.now.busy_s - l.then.busy_s) / dt, 0.0, 1.0);
      in.mem_util = cfg_.scaling_mem_mb > 0
                        ? static_cast<double>(l.now.rss_bytes) / (cfg_.scaling_mem_mb * 1048576.0)
                        : 0;
      l.then = l.now;
      const auto parts = table_.partitions_of(r);
      double total_rate = 0;
      std::vector<double> rates;
      for (int p : parts) {
        const auto it = partitions_.find(static_cast<std::uint32_t>(p));
        const std::uint64_t end = it == partitions_.end() ? 0 : it->second.end_offset;
        rates.push_back(static_cast<double>(end - std::min(end, last_end_[static_cast<std::uint32_t>(p)])) / dt);
        total_rate += rates.back();
      }
      for (std::size_t k = 0; k < parts.size(); ++k) {
        // A partition's share of the worker's load is its share of the frames.
        const double share = total_rate > 0 ? rates[k] / total_rate : 1.0 / static_cast<double>(parts.size());
        plan::StreamState st;
        st.id = std::to_string(parts[k]);
        st.program = cfg_.task;
        st.independent_frames = task_.state != task::State::per_stream;
        st.fps = rates[k];
        st.width = cfg_.width;
        st.height = cfg_.height;
        st.cpu = in.cpu_util * share;
        st.mem_gb = in.mem_util * share * scaling_mem_gb();
        st.started_at = moved_at_.count(parts[k]) ? moved_at_[parts[k]] : 0;
        in.streams.push_back(st);
      }
      rank_of[in.id] = r;
      instances.push_back(std::move(in));
    }
    for (const auto& [p, pm] : partitions_) last_end_[p] = pm.end_offset;
    std::vector<int> spares;
    for (int r : spare_pool_) {
      if (!liveness_.dead(r)) spares.push_back(r);
    }
    std::map<std::string, std::size_t> streams_of;
    for (const auto& in : instances) streams_of[in.id] = in.streams.size();
    for (const auto& a : scaling_policy_->step(now - t0_, instances)) {
      using Kind = plan::ScalingAction::Kind;
      if (a.kind == Kind::kAllocate) {
        // A new instance is a spare joining the workers; without one the moves onto it wait.
        if (spares.empty()) continue;
        rank_of[a.to] = spares.front();
        spares.erase(spares.begin());
        continue;
      }
      const auto from = rank_of.find(a.from);
      if (from == rank_of.end()) continue;
      if (a.kind == Kind::kRelease) {
        std::cout << "[ride] scaling: rank " << from->second << " released (under "
                  << fmt(100 * cfg_.scaling_low, 0) << " % for " << fmt(cfg_.scaling_low_for_s, 0)
                  << " s)" << std::endl;
        release_to_spares(from->second);
        scaling_events_.push_back({{"t_s", now - t0_}, {"action", "release"}, {"from", from->second}});
        continue;
      }
      const auto to = rank_of.find(a.to);
      // Moving the only partition of a worker onto a fresh one just moves the load along.
      if (to == rank_of.end() || (a.to.rfind("new-", 0) == 0 && streams_of[a.from] <= 1)) continue;
      const int partition = std::stoi(a.stream);
      const bool joins = join_workers(to->second);
      std::cout << "[ride] scaling: partition " << partition << " from rank " << from->second
                << " to " << (joins ? "spare " : "") << "rank " << to->second << std::endl;
      table_.reassign(partition, to->second);
      // The broker hears of the new epoch first: the old owner is fenced from then on and the
      // new one resumes at the oldest uncommitted frame, as in a takeover.
      send_assign(partition, map_.broker(partition));
      send_assign(partition, to->second);
      progress_.reset(static_cast<std::uint32_t>(partition), now);
      moved_at_[partition] = now - t0_;
      scaling_events_.push_back({{"t_s", now - t0_}, {"action", "migrate"}, {"partition", partition},
                                 {"from", from->second}, {"to", to->second}});
    }
  }

  double scaling_mem_gb() const { return cfg_.scaling_mem_mb > 0 ? cfg_.scaling_mem_mb / 1024.0 : 1e9; }

  /// With the spare pool empty and ft.replenish not used up, a new spare is spawned a moment
  /// later: not at once, because MPI_Comm_spawn holds the master and the brokers for a while
  /// (~0.3 s measured) and the takeover that just started must get its frames first.
  void schedule_replenish(double now) {
    if (!spare_pool_.empty() || spawned_ >= cfg_.replenish || replenish_due_ > 0) return;
    replenish_due_ = now + kReplenishDelayS;
  }

  /// Spawns one spare with the control group (master and brokers: the spare talks to both).
  void replenish(double now) {
    replenish_due_ = 0;
    for (int b : layout_.brokers) {
      if (liveness_.dead(b)) return;  // the job is ending anyway
    }
    Replenish r;
    r.count = 1;
    r.first_id = peers();
    for (int b : layout_.brokers) ctx_.net.send(b, Tag::replenish, pod_body(r));
    const std::string err =
        ctx_.net.replenish(ctx_.program, ctx_.args, r.count, r.first_id, kSpawnTimeoutS, 1);
    const double took = steady_s() - now;
    if (!err.empty()) {
      std::cout << "[ride] could not replenish the spare pool: " << err << std::endl;
      errors_.push_back("replenishing the spare pool: " + err);
      spawned_ = cfg_.replenish;  // the launcher said no: do not try again
      return;
    }
    ++spawned_;
    // A few seconds' grace to start up (exec, MPI_Init, configuration) before silence counts.
    const int id = liveness_.add(steady_s() + kSpawnGraceS);
    ctx_.net.set_heartbeat_targets(live_peers());
    role_now_.push_back("spare");
    ranks_.push_back({{"rank", id}, {"role", "spare"}, {"host", "?"}, {"pid", 0}, {"spawned", true}});
    spare_pool_.push_back(id);
    Start st;
    st.t0_ns = t0_ns_;
    ctx_.net.send(id, Tag::start, pod_body(st));
    replenished_.push_back({{"rank", id},
                            {"spawn_s", took},
                            {"at_unix_s", static_cast<double>(t0_ns_) / 1e9 + (now - t0_)}});
    std::cout << "[ride] replenished: spawned rank " << id << " as a spare in " << fmt(took, 3)
              << " s (" << spawned_ << " of ft.replenish = " << cfg_.replenish << ")" << std::endl;
  }

  std::uint64_t committed_of(int p) const {
    auto it = partitions_.find(static_cast<std::uint32_t>(p));
    return it == partitions_.end() ? 0 : it->second.committed;
  }

  /// Returns a non-empty reason when the job must stop.
  std::string handle(transport::Message& m) {
    switch (m.tag) {
      case Tag::results: on_results(m); break;
      case Tag::ingest_done: on_ingest_done(parse_json_body(m.body)); break;
      case Tag::broker_metrics: on_metrics(m.body); break;
      case Tag::worker_metrics: loads_[m.source].now = BodyReader(m.body).pod<WorkerMetrics>(); break;
      case Tag::partition_done: {
        const auto d = BodyReader(m.body).pod<PartitionDone>();
        done_partitions_.insert(d.partition);
        last_progress_ = steady_s();
        break;
      }
      case Tag::broker_event: {
        const auto j = parse_json_body(m.body);
        const std::string e = "partition " + std::to_string(j.value("partition", -1)) +
                              " stopped taking frames: " + j.value("error", std::string("?"));
        std::cout << "[ride] error: " << e << std::endl;
        errors_.push_back(e);
        break;
      }
      case Tag::hello: {  // a spawned spare has started
        const auto h = BodyReader(m.body).pod<Hello>();
        if (m.source >= 0 && m.source < static_cast<int>(ranks_.size())) {
          auto& row = ranks_[static_cast<std::size_t>(m.source)];
          row["host"] = std::string(h.host, strnlen(h.host, sizeof h.host));
          row["pid"] = h.pid;
          std::cout << "[ride] rank " << m.source << " (spawned spare) is up on " << row["host"].get<std::string>()
                    << ", pid " << h.pid << std::endl;
        }
        break;
      }
      case Tag::error:
        return "rank " + std::to_string(m.source) + " (" +
               ranks_[static_cast<std::size_t>(m.source)].value("role", "?") +
               ") failed: " + BodyReader(m.body).rest_str();
      default: break;
    }
    return {};
  }

  void on_results(transport::Message& m) {
    // Images and object rows are views into m.body, which outlives the appends below.
    const ResultsView v = decode_results(m.body, task_.keypoints, task_.boxes);
    const ResultsHeader& rh = v.header;
    const double sec = steady_s() - t0_;
    Failure* recovering = nullptr;  // the failure whose moved partition this batch belongs to
    for (auto& f : failures_) {
      for (auto& mv : f.moved) {
        if (mv.partition == static_cast<int>(rh.partition) && rh.epoch >= mv.epoch) recovering = &f;
      }
    }
    for (std::size_t i = 0; i < v.records.size(); ++i) {
      const auto& rec = v.records[i];
      // Effectively once: a (stream, sequence) already stored is dropped, not written twice.
      auto& seen = seen_[rec.stream];
      if (seen.size() <= rec.sequence) seen.resize(rec.sequence + 1, false);
      if (seen[rec.sequence]) {
        ++duplicates_dropped_;
        if (recovering) ++recovering->reprocessed;  // done before the failure, not committed
        continue;
      }
      seen[rec.sequence] = true;
      if (auto e = v.errors.find(static_cast<std::uint32_t>(i)); e != v.errors.end()) {
        writer_->append_error(rec, e->second);
      } else {
        writer_->append(rec, v.images[i], v.keypoints[i], v.boxes[i]);
      }
      ++processed_;
      const auto s = static_cast<std::size_t>(std::max(0.0, sec));
      if (processed_per_s_.size() <= s) processed_per_s_.resize(s + 1, 0);
      ++processed_per_s_[s];
    }
    pending_acks_.push_back({m.source, rh.batch_id});
    last_progress_ = steady_s();
    // Results from the partition's owner are progress: its commit follows once they are
    // durable, and the brokers' metrics show it a moment later still.
    if (table_.at(static_cast<int>(rh.partition)).owner == m.source) progress_.reset(rh.partition, last_progress_);
    // Every failure that moved this partition to this epoch or an earlier one is over now: a
    // takeover that was itself cut short by the next failure recovers when the partition flows.
    for (auto& f : failures_) mark_recovered(f, static_cast<int>(rh.partition), rh.epoch);
  }

  /// Recovery of a failure is complete when every moved partition has results from its new
  /// owner (they are committed right after this batch is durable).
  void mark_recovered(Failure& f, int partition, std::uint32_t epoch) {
    if (f.moved.empty()) return;
    bool all = true;
    for (auto& mv : f.moved) {
      if (mv.partition == partition && epoch >= mv.epoch) mv.flowing = true;
      all = all && mv.flowing;
    }
    if (all && f.recovered < 0) f.recovered = steady_s();
  }

  /// Group commit: one HDF5 flush makes a burst of result batches durable, then each worker
  /// hears that it may commit. Flushes when idle or every 20 ms under load.
  void flush_and_ack(bool idle) {
    if (pending_acks_.empty()) return;
    const double now = steady_s();
    if (!idle && now - last_flush_ < 0.02) return;
    writer_->flush();
    last_flush_ = now;
    for (const auto& [rank, id] : pending_acks_) {
      ResultsAck ack;
      ack.batch_id = id;
      ctx_.net.send(rank, Tag::results_ack, pod_body(ack));
    }
    pending_acks_.clear();
  }

  void on_ingest_done(const json& j) {
    ingest_reports_.push_back(j);
    for (const auto& [s, n] : j.at("streams").items()) {
      expected_[static_cast<std::uint32_t>(std::stoul(s))] += n.get<std::uint64_t>();
    }
    const auto& per_s = j.at("produced_per_s");
    if (produced_per_s_.size() < per_s.size()) produced_per_s_.resize(per_s.size(), 0);
    for (std::size_t i = 0; i < per_s.size(); ++i) produced_per_s_[i] += per_s[i].get<std::uint64_t>();
    if (all_ingest_done()) ingest_end_s_ = steady_s();
  }

  void on_metrics(const Buffer& body) {
    BodyReader r(body);
    const auto n = r.pod<std::uint32_t>();
    const std::int64_t now_ns = wall_ns();
    for (std::uint32_t i = 0; i < n; ++i) {
      const auto pm = r.pod<PartitionMetrics>();
      partitions_[pm.partition] = pm;
      progress_.observe(pm.partition, pm.end_offset, pm.committed, steady_s());
      auto& peak = peaks_[pm.partition];
      peak.lag_frames = std::max(peak.lag_frames, pm.end_offset - std::min(pm.end_offset, pm.committed));
      if (pm.oldest_capture_ns > 0 && pm.committed < pm.end_offset) {
        peak.lag_s = std::max(peak.lag_s, static_cast<double>(now_ns - pm.oldest_capture_ns) / 1e9);
      }
      const double fill = pm.ring_capacity_bytes ? static_cast<double>(pm.ring_bytes) /
                                                       static_cast<double>(pm.ring_capacity_bytes)
                                                 : 0.0;
      peak.ring_fill = std::max(peak.ring_fill, fill);
      peak.spill_bytes = std::max(peak.spill_bytes, pm.spill_bytes);
    }
  }

  bool all_ingest_done() const { return ingest_reports_.size() == layout_.ingest.size(); }
  bool all_partitions_done() const {
    return done_partitions_.size() == static_cast<std::size_t>(layout_.partitions);
  }

  void print_status(double now) {
    std::uint64_t ingested = 0, committed = 0, ring = 0, spill = 0;
    double lag_s = 0;
    const std::int64_t now_ns = wall_ns();
    std::map<std::string, std::string> why_parts;  // state → "p0,p3"
    for (const auto& [p, pm] : partitions_) {
      if (pm.oldest_capture_ns > 0 && pm.committed < pm.end_offset) {
        lag_s = std::max(lag_s, static_cast<double>(now_ns - pm.oldest_capture_ns) / 1e9);
      }
      ingested += pm.end_offset;
      committed += pm.committed;
      ring += pm.ring_bytes;
      spill += pm.spill_bytes;
      const auto st = static_cast<LogState>(pm.state);
      if (st != LogState::ok) {
        auto& list = why_parts[to_string(st)];
        list += (list.empty() ? "p" : ",p") + std::to_string(p);
      }
    }
    std::string why;
    for (const auto& [state, list] : why_parts) why += (why.empty() ? "" : "; ") + list + " " + state;
    // Broker metrics may be a fraction of a second older than the sink's own count.
    ingested = std::max(ingested, processed_);
    const double dt = now - last_status_s_;
    const double fps = dt > 0 ? static_cast<double>(processed_ - last_status_processed_) / dt : 0;
    last_status_s_ = now;
    last_status_processed_ = processed_;
    char line[256];
    std::snprintf(line, sizeof line,
                  "[ride] t=%6.1fs ingested %8llu processed %8llu committed %8llu lag %6llu "
                  "(%5.1f s) ring %7.1f MB spill %7.1f MB %7.1f fps",
                  now - t0_, static_cast<unsigned long long>(ingested),
                  static_cast<unsigned long long>(processed_),
                  static_cast<unsigned long long>(committed),
                  static_cast<unsigned long long>(ingested - std::min(ingested, committed)), lag_s,
                  static_cast<double>(ring) / 1e6, static_cast<double>(spill) / 1e6, fps);
    std::cout << line << (why.empty() ? "" : "  [" + why + "]") << std::endl;
  }

  void shutdown_all(bool abort) {
    Shutdown s;
    s.abort = abort ? 1 : 0;
    for (int r = 1; r < peers(); ++r) ctx_.net.send(r, Tag::shutdown, pod_body(s));
    // Collect final reports, bounded: a rank that is gone must not hang the master.
    std::size_t missing = 0;
    for (int r = 1; r < peers(); ++r) missing += liveness_.dead(r) ? 0 : 1;
    const double deadline = steady_s() + 10.0;
    while (missing > 0 && steady_s() < deadline) {
      auto m = ctx_.net.recv_for(0.25);
      if (!m) continue;
      if (m->tag == Tag::final_report) {
        reports_[m->source] = parse_json_body(m->body);
        if (!liveness_.dead(m->source) && missing > 0) --missing;
      } else if (m->tag == Tag::broker_metrics) {
        on_metrics(m->body);
      }
    }
    for (int r = 1; r < peers(); ++r) {
      if (!reports_.count(r) && !liveness_.dead(r)) {
        errors_.push_back("rank " + std::to_string(r) + " (" +
                          ranks_[static_cast<std::size_t>(r)].value("role", "?") +
                          ") sent no final report: it died or hung");
      }
    }
    for (int r = 1; r < peers(); ++r) {
      if (liveness_.dead(r) && !reports_.count(r)) ctx_.net.cancel_sends_to(r);
    }
    ctx_.net.drain(5.0);
  }

  int abort_job(const std::string& why) {
    errors_.push_back(why);
    end_s_ = steady_s();
    shutdown_all(true);
    finish(why);
    return 1;
  }

  /// Closes the results, re-reads them, checks them against what was ingested, and writes the
  /// summary. The counts of lost and duplicate frames come from the file, not from bookkeeping.
  int finish(const std::string& failure) {
    ResultCheck check;
    std::uint64_t rows = 0;
    std::vector<double> latency_ms;
    if (writer_) {
      writer_->close();
      const ResultFile rf = read_results(cfg_.results_path);
      rows = rf.rows.size();
      check = check_results(rf.rows, expected_);
      latency_ms.reserve(rf.rows.size());
      for (const auto& r : rf.rows) latency_ms.push_back(static_cast<double>(r.processed_ns - r.capture_ns) / 1e6);
    }
    std::uint64_t ingested = 0, committed = 0, in_brokers = 0;
    for (const auto& [s, n] : expected_) ingested += n;
    for (const auto& [p, pm] : partitions_) {
      committed += pm.committed;
      in_brokers += pm.end_offset;
    }
    // Every ingested key is exactly one of: processed (ok or failed with its error recorded),
    // dropped by a drop policy, or lost.
    std::uint64_t processed = check.unique - check.dropped;
    std::uint64_t lost = check.lost;
    const bool partial = !all_ingest_done();
    if (partial) {
      // An aborted job: some ingest rank never said what it produced. Count what the brokers
      // accepted instead, and every stored key as processed; lost is then a lower bound.
      processed = check.unique + check.unexpected - check.dropped;
      // Broker metrics can be a fraction of a second older than the results.
      ingested = std::max({ingested, in_brokers, processed + check.dropped});
      lost = ingested - std::min(ingested, processed + check.dropped);
    }

    const double elapsed = end_s_ - t0_;
    const double processing = processing_started_ ? end_s_ - processing_t0_ : 0.0;
    // Mean frame size: what ingest published (real inputs have their own sizes), else the config.
    double ingest_bytes = 0;
    for (const auto& j : ingest_reports_) ingest_bytes += j.value("bytes", 0.0);
    const double frame_mb = ingested > 0 && ingest_bytes > 0
                                ? ingest_bytes / static_cast<double>(ingested) / 1e6
                                : static_cast<double>(cfg_.width) * cfg_.height / 1e6;
    json s;
    s["ride_version"] = "0.1.0";
    s["commit"] = RIDE_GIT_COMMIT;
    s["status"] = failure.empty() && errors_.empty() && lost == 0 && check.duplicates == 0 ? "ok" : "failed";
    s["errors"] = errors_;
    s["mode"] = cfg_.mode;
    s["task"] = cfg_.task;
    s["config"] = cfg_.to_ini();
    s["results_path"] = cfg_.results_path;
    s["ranks"] = ranks_;
    s["frames"] = {{"ingested", ingested},
                   {"processed", processed},
                   {"committed", committed},
                   {"lost", lost},
                   {"accounting", partial ? "partial: an ingest rank never reported (job aborted)"
                                          : "complete"},
                   {"duplicates", check.duplicates},
                   {"duplicates_dropped", duplicates_dropped_},
                   {"dropped", check.dropped},
                   {"failed", check.failed},
                   {"unexpected", check.unexpected},
                   {"result_rows", rows}};
    s["elapsed_s"] = elapsed;
    s["processing_s"] = processing;
    s["ingest_s"] = ingest_end_s_ > 0 ? ingest_end_s_ - t0_ : 0.0;
    const double rate_window = cfg_.mode == "batch" ? processing : elapsed;
    s["throughput_fps"] = rate_window > 0 ? static_cast<double>(processed) / rate_window : 0.0;
    s["throughput_MBps"] = rate_window > 0 ? static_cast<double>(processed) * frame_mb / rate_window : 0.0;
    if (!latency_ms.empty()) {
      std::sort(latency_ms.begin(), latency_ms.end());
      auto q = [&](double f) { return latency_ms[static_cast<std::size_t>(f * static_cast<double>(latency_ms.size() - 1))]; };
      s["latency_ms"] = {{"p50", q(0.5)}, {"p90", q(0.9)}, {"p99", q(0.99)}, {"max", latency_ms.back()}};
    }
    json workers = json::array(), brokers = json::array(), ingest = json::array(),
         spares = json::array();
    for (const auto& [rank, rep] : reports_) {
      const std::string role = rep.value("role", "");
      if (role == "worker") workers.push_back(rep);
      else if (role == "spare") spares.push_back(rep);  // never promoted
      else if (role == "broker") brokers.push_back(rep);
      else if (role == "ingest") ingest.push_back(rep);
    }
    // The ingest ranks' own account (INGEST_DONE) is what the summary reports for them, even
    // for a rank whose final report never came.
    ingest = json::array();
    std::uint64_t refused = 0, rejected = 0;
    double ingest_blocked_s = 0, broker_held_s = 0;
    for (auto j : ingest_reports_) {
      j.erase("produced_per_s");
      j.erase("streams");
      j["role"] = "ingest";
      refused += j.value("refused", std::uint64_t{0});
      rejected += j.value("rejected", std::uint64_t{0});
      ingest_blocked_s += j.value("backpressure_s", 0.0);
      ingest.push_back(j);
    }
    for (const auto& b : brokers) broker_held_s += b.value("backpressure_s", 0.0);
    s["frames"]["refused"] = refused;
    s["frames"]["rejected"] = rejected;
    s["backpressure"] = {{"ingest_blocked_s", ingest_blocked_s}, {"broker_held_s", broker_held_s}};
    s["workers"] = workers;
    // What one stream needed here (as `ride profile` measures it, at this run's single rate):
    // the workers' CPU time while they had work over the longest such span, and their memory
    // growth, per stream. In stream mode this is one point of CAM²'s CPU = a*fps + b.
    {
      double cpu = 0, active = 0, mem = 0;
      for (const auto& w : workers) {
        cpu += w.value("cpu_active_s", 0.0);
        active = std::max(active, w.value("active_s", 0.0));
        mem += std::max(0.0, w.value("peak_rss_bytes", 0.0) - w.value("rss_start_bytes", 0.0));
      }
      const double streams = std::max(1, cfg_.streams);
      int width = cfg_.width, height = cfg_.height;  // real inputs: the first one's size
      for (const auto& j : ingest_reports_)
        for (const auto& src : j.value("sources", json::array()))
          if (width == cfg_.width && height == cfg_.height && src.value("width", 0) > 0) {
            width = src.value("width", 0);
            height = src.value("height", 0);
          }
      s["resources"] = {{"program", cfg_.task},
                        {"width", width},
                        {"height", height},
                        {"fps", cfg_.mode == "stream" ? json(cfg_.fps) : json(nullptr)},
                        {"cores_per_stream", active > 0 ? cpu / active / streams : 0.0},
                        {"mem_gb_per_stream", mem / 1e9 / streams},
                        {"processed_fps_per_stream",
                         active > 0 ? static_cast<double>(processed) / active / streams : 0.0}};
    }
    s["spares"] = spares;
    s["brokers"] = brokers;
    s["ingest"] = ingest;
    if (cfg_.source == "video") {  // every real input's account, in stream order
      json inputs = json::array();
      for (const auto& j : ingest_reports_)
        for (const auto& src : j.value("sources", json::array())) inputs.push_back(src);
      std::sort(inputs.begin(), inputs.end(),
                [](const json& a, const json& b) { return a.value("stream", 0) < b.value("stream", 0); });
      s["inputs"] = inputs;
    }
    json parts = json::array();
    for (int p = 0; p < table_.partitions(); ++p) {
      const auto it = partitions_.find(static_cast<std::uint32_t>(p));
      const PartitionMetrics pm = it == partitions_.end() ? PartitionMetrics{} : it->second;
      parts.push_back({{"partition", p},
                       {"broker", map_.broker(p)},
                       {"owner", table_.at(p).owner},
                       {"epoch", table_.at(p).epoch},
                       {"end_offset", pm.end_offset},
                       {"committed", pm.committed},
                       {"lag_frames", pm.end_offset - std::min(pm.end_offset, pm.committed)},
                       {"state", to_string(static_cast<LogState>(pm.state))},
                       {"ring_bytes", pm.ring_bytes},
                       {"ring_capacity_bytes", pm.ring_capacity_bytes},
                       {"spill_bytes", pm.spill_bytes},
                       {"spilled_frames", pm.spilled_frames},
                       {"dropped_frames", pm.dropped_frames},
                       {"max_lag_frames", peaks_[static_cast<std::uint32_t>(p)].lag_frames},
                       {"max_lag_s", peaks_[static_cast<std::uint32_t>(p)].lag_s},
                       {"max_ring_fill", peaks_[static_cast<std::uint32_t>(p)].ring_fill},
                       {"max_spill_bytes", peaks_[static_cast<std::uint32_t>(p)].spill_bytes}});
    }
    s["partitions"] = parts;
    json timeline = json::array();
    const std::size_t secs = std::max(produced_per_s_.size(), processed_per_s_.size());
    std::uint64_t cum_prod = 0, cum_proc = 0;
    for (std::size_t t = 0; t < secs; ++t) {
      const std::uint64_t prod = t < produced_per_s_.size() ? produced_per_s_[t] : 0;
      const std::uint64_t proc = t < processed_per_s_.size() ? processed_per_s_[t] : 0;
      cum_prod += prod;
      cum_proc += proc;
      timeline.push_back({{"t", t}, {"produced", prod}, {"processed", proc},
                          {"produced_total", cum_prod}, {"processed_total", cum_proc}});
    }
    s["timeline"] = timeline;
    json failures = json::array();
    auto unix_s = [&](double steady) { return static_cast<double>(t0_ns_) / 1e9 + (steady - t0_); };
    for (const auto& f : failures_) {
      json moved = json::array();
      for (const auto& mv : f.moved) moved.push_back({{"partition", mv.partition}, {"to", mv.to}, {"epoch", mv.epoch}});
      // The death lies between the last message heard and one heartbeat interval after it.
      failures.push_back({{"rank", f.rank},
                          {"role", f.role},
                          {"cause", f.cause},
                          {"last_heard_unix_s", unix_s(f.last_heard)},
                          {"detected_unix_s", unix_s(f.detected)},
                          {"detected_after_s", f.detected - f.last_heard},
                          {"recovered_unix_s", f.recovered >= 0 ? json(unix_s(f.recovered)) : json(nullptr)},
                          {"recovered_after_s", f.recovered >= 0 ? json(f.recovered - f.last_heard) : json(nullptr)},
                          {"frames_reprocessed", f.reprocessed},
                          {"partitions_moved", moved}});
    }
    s["failures"] = failures;
    s["replenished"] = replenished_;
    s["scaling"] = scaling_events_;
    for (auto& r : s["ranks"]) {
      const int rank = r["rank"].get<int>();
      r["alive_at_end"] = rank == 0 || !liveness_.dead(rank);
      r["role_at_end"] = role_now_[static_cast<std::size_t>(rank)];
    }

    std::cout << "[ride] done in " << fmt(elapsed, 2) << " s: ingested " << ingested
              << ", processed " << processed << ", committed " << committed << ", lost "
              << lost << (partial ? " (at least)" : "") << ", duplicates " << check.duplicates << ", failed " << check.failed
              << (check.dropped ? ", dropped " + std::to_string(check.dropped) : std::string())
              << "; " << fmt(s["throughput_fps"].get<double>(), 1) << " frames/s ("
              << fmt(s["throughput_MBps"].get<double>(), 1) << " MB/s"
              << (cfg_.mode == "batch" ? " over " + fmt(processing, 2) + " s of processing" : "")
              << ")\n";
    for (const auto& w : workers) {
      std::cout << "[ride]   worker rank " << w["rank"] << ": " << w["processed"] << " frames, "
                << fmt(w.value("fps", 0.0), 1) << " fps\n";
    }
    for (const auto& f : failures_) {
      std::cout << "[ride]   failure of rank " << f.rank << " (" << f.role << "): detected "
                << fmt(f.detected - f.last_heard, 3) << " s after it was last heard, "
                << (f.recovered >= 0 ? "frames flowing again after " + fmt(f.recovered - f.last_heard, 3) + " s"
                                     : std::string("not recovered"))
                << ", " << f.reprocessed << " frame(s) re-processed\n";
    }
    // Real inputs: a line each (a few), or a count by state and a line for each one with a
    // problem (many), so that an unreachable camera is plain to see (the job went on).
    std::uint64_t unreachable = 0;
    std::vector<json> sources;
    for (const auto& j : ingest_reports_)
      for (const auto& src : j.value("sources", json::array())) sources.push_back(src);
    std::sort(sources.begin(), sources.end(),
              [](const json& a, const json& b) { return a.value("stream", 0) < b.value("stream", 0); });
    std::map<std::string, std::uint64_t> by_state;
    for (const auto& src : sources) ++by_state[src.value("state", "")];
    if (const auto it = by_state.find("unreachable"); it != by_state.end()) unreachable = it->second;
    const bool few = sources.size() <= 10;
    if (!few) {
      std::cout << "[ride]   " << sources.size() << " inputs:";
      for (const auto& [state, n] : by_state) std::cout << " " << n << " " << state;
      std::cout << " (each one under `inputs` in the summary)\n";
    }
    std::size_t shown = 0, problems = 0;
    for (const auto& src : sources) {
      const bool problem = src.value("state", "") == "unreachable" || src.value("reconnects", 0) > 0 ||
                           src.value("skipped_files", 0) > 0 || src.value("frames_published", 0) == 0;
      problems += problem ? 1 : 0;
      if (!few && (!problem || shown >= 20)) continue;
      ++shown;
      std::cout << "[ride]   input " << src.value("stream", 0) << " (" << src.value("name", "") << "): "
                << src.value("state", "") << ", " << src.value("frames_published", 0) << " frames published of "
                << src.value("frames_read", 0) << " read";
      if (src.value("width", 0) > 0) std::cout << ", " << src.value("width", 0) << "x" << src.value("height", 0);
      if (src.value("skipped_ticks", 0) > 0) std::cout << ", " << src.value("skipped_ticks", 0) << " ticks without a new frame";
      if (src.value("attempts", 0) > 1) std::cout << ", " << src.value("attempts", 0) << " attempts to open";
      if (src.value("reconnects", 0) > 0) std::cout << ", " << src.value("reconnects", 0) << " reconnects";
      if (src.value("skipped_files", 0) > 0)
        std::cout << ", " << src.value("skipped_files", 0) << " image file(s) that did not decode skipped";
      if (!src.value("last_error", "").empty()) std::cout << "; last error: " << src.value("last_error", "");
      std::cout << "\n";
    }
    if (!few && problems > shown)
      std::cout << "[ride]   ... and " << problems - shown << " more input(s) with a problem (see the summary)\n";
    if (unreachable > 0)
      std::cout << "[ride] warning: " << unreachable << " input(s) never reached; the other streams were processed\n";
    for (const auto& e : errors_) std::cout << "[ride] error: " << e << "\n";
    std::cout << "[ride] results: " << cfg_.results_path << std::flush;
    if (!cfg_.summary_path.empty()) {
      std::ofstream out(cfg_.summary_path);
      out << s.dump(2) << "\n";
      std::cout << ", summary: " << cfg_.summary_path;
      if (!out) std::cerr << "\n[ride] error: cannot write summary " << cfg_.summary_path;
    }
    std::cout << std::endl;
    return s["status"] == "ok" ? 0 : 1;
  }

  RoleContext& ctx_;
  const JobConfig& cfg_;
  const RoleLayout& layout_;
  double t0_ = 0;
  const task::Info task_;  ///< what the results file holds: scalar names, objects
  AssignmentTable table_;
  const PartitionMap map_ = PartitionMap::spread(layout_.partitions, layout_.brokers);
  LivenessMonitor liveness_;
  ProgressWatch progress_;
  std::vector<int> active_workers_, spare_pool_;
  std::vector<std::string> role_now_;
  std::vector<Failure> failures_;
  std::map<int, double> stand_down_sent_;
  bool heartbeat_thread_ = false;
  std::map<int, HeartbeatBody> activity_;  ///< the latest heartbeat of each rank
  const StragglerRule straggler_rule_{cfg_.straggler_timeout_s, cfg_.straggler_factor,
                                      cfg_.stall_timeout_s};
  double next_heartbeat_ = 0, last_loop_s_ = 0;
  std::optional<ResultWriter> writer_;
  std::vector<json> ranks_;
  std::vector<std::string> errors_;
  std::int64_t t0_ns_ = 0;
  double end_s_ = 0, processing_t0_ = 0, ingest_end_s_ = 0, last_progress_ = 0;
  double last_flush_ = 0, last_status_s_ = 0;
  std::uint64_t last_status_processed_ = 0;
  bool processing_started_ = false;
  std::map<std::uint32_t, PartitionMetrics> partitions_;
  struct PartitionPeaks {  // the worst seen in the brokers' metrics over the run
    std::uint64_t lag_frames = 0, spill_bytes = 0;
    double lag_s = 0, ring_fill = 0;
  };
  std::map<std::uint32_t, PartitionPeaks> peaks_;
  std::set<std::uint32_t> done_partitions_;
  std::vector<json> ingest_reports_;
  std::map<int, json> reports_;
  std::map<std::uint32_t, std::uint64_t> expected_;
  std::map<std::uint32_t, std::vector<bool>> seen_;
  std::vector<std::pair<int, std::uint64_t>> pending_acks_;
  std::vector<std::uint64_t> produced_per_s_, processed_per_s_;
  std::uint64_t processed_ = 0, duplicates_dropped_ = 0;
  static constexpr double kReplenishDelayS = 1.0, kSpawnGraceS = 5.0;
  int spawned_ = 0;           ///< spares spawned so far (at most ft.replenish)
  double replenish_due_ = 0;  ///< when to spawn the next spare; 0 = none due
  json replenished_ = json::array();
  struct Load {
    WorkerMetrics now, then;   ///< latest sample, and the one at the last scaling decision
    double under_since = -1;   ///< under scaling.low since (-1: not)
  };
  std::map<int, Load> loads_;
  std::map<std::uint32_t, std::uint64_t> last_end_;  ///< partition end offsets at the last decision
  std::map<int, double> moved_at_;
  double next_scaling_s_ = 0, last_scaling_s_ = 0;
  std::unique_ptr<plan::ScalingPolicy> scaling_policy_ = make_scaling_policy(cfg_, layout_);
  json scaling_events_ = json::array();
};

}  // namespace

int run_master(RoleContext& ctx) { return Master(ctx).run(); }

}  // namespace ride

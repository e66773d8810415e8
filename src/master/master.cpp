#include "master/master.h"

#include "core/inputs.h"

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <thread>
#include <set>

#include "core/clock.h"
#include "core/format.h"
#include "core/aggregates.h"
#include "core/partition_map.h"
#include "core/rate_schedule.h"
#include "master/adaptive.h"
#include "master/allocation.h"
#include "master/job_model.h"
#include "master/liveness.h"
#include "master/load_scaling.h"
#include "master/recovery.h"
#include "master/sink.h"
#include "master/metrics_view.h"
#include "master/model_json.h"
#include "master/status_view.h"
#include "master/summary.h"
#include "status/status_server.h"
#include "task/pipeline.h"
#include "task/registry.h"

namespace ride {
namespace {

using nlohmann::json;

/// scaling.adaptive: each stage's group follows its frame rate (or scaling.schedule); the spare
/// pool is shared by every stage.
/// The process's status server: bound by open_status_server before the roles start (a port in
/// use is a configuration error every rank hears of), served from the master's loop, and kept
/// after MPI_Finalize for status.linger_s (linger_status_server).
struct StatusEndpoint {
  std::shared_ptr<status::SnapshotStore> store = std::make_shared<status::SnapshotStore>();
  std::shared_ptr<status::ControlQueue> control = std::make_shared<status::ControlQueue>();
  std::unique_ptr<status::StatusServer> server;  // declared last: stopped first
  std::string token;  ///< control's bearer token (empty: control disabled)
  bool linger = false;
} g_status;

/// Without scaling.adaptive the groups are still there, for an operator's resize
/// (POST /control/stages/NAME/workers); only scaling.adaptive lets the rates decide.
std::vector<AdaptiveGroup> make_adaptive(const JobConfig& cfg, const RoleLayout& layout) {
  std::vector<AdaptiveGroup> out;
  for (std::size_t s = 0; s < cfg.stages.size(); ++s) {
    AdaptiveConfig a;
    a.stage = static_cast<int>(s);
    a.interval_s = cfg.scaling_interval_s;
    a.lag_high_s = cfg.scaling_lag_high_s;
    a.low = cfg.scaling_low;
    a.target = cfg.scaling_target;
    a.low_for_s = cfg.scaling_low_for_s;
    a.cooldown_s = cfg.scaling_cooldown_s;
    const StageConfig& st = cfg.stages[s];
    const int min_w = st.min_workers >= 0 ? st.min_workers : cfg.scaling_min_workers;
    const int max_w = st.max_workers > 0 ? st.max_workers : cfg.scaling_max_workers;
    a.min_workers = min_w;
    a.max_workers = max_w > 0 ? max_w : static_cast<int>(layout.workers.size() + layout.spares.size());
    if (!cfg.scaling_schedule.empty() && s == 0) {  // experiments: the first stage's group by time
      for (const auto& [t, n] : parse_time_schedule(cfg.scaling_schedule, cfg.where("scaling.schedule"), true)) {
        a.schedule.emplace_back(t, static_cast<int>(n));
      }
    }
    out.emplace_back(a);
  }
  return out;
}

/// @brief Rank 0's loop: it moves messages between the wire and the parts that decide — the
/// job model (master/job_model.h), the sink, recovery, liveness and scaling — and carries out
/// their decisions (ASSIGN, PEER_DEAD, STAND_DOWN, REPLENISH). It decides nothing itself.
class Master {
 public:
  explicit Master(RoleContext& ctx)
      : ctx_(ctx),
        cfg_(ctx.cfg),
        layout_(ctx.layout),
        pipeline_(task::registry_for(ctx.cfg), ctx.cfg, ctx.layout),
        task_(pipeline_.stage(0).task.info),
        model_(ctx.layout, PartitionMap::spread(ctx.layout.partitions, ctx.layout.brokers)),
        liveness_(ctx.layout.world, ctx.cfg.heartbeat_timeout_ms / 1000.0, steady_s(), ctx.cfg.startup_grace_s),
        load_scaling_(ctx.cfg, task_.state != task::State::per_stream,
                      static_cast<int>(ctx.layout.workers.size() + ctx.layout.spares.size()) + ctx.cfg.replenish) {
    run_.cfg = &cfg_;
    run_.model = &model_;
    run_.replication = layout_.replication;
    run_.pipeline = &pipeline_;
    model_.set_entry_stages(pipeline_.ingest_readers());
    if (pipeline_.multi_stage()) {
      std::vector<std::string> names;
      for (const auto& st : pipeline_.all()) names.push_back(st.name());
      model_.set_stage_names(std::move(names));
    }
    run_.ingest_ranks = layout_.ingest.size();
    run_.t0 = steady_s();  // reset at START; set here for a job that fails before it
  }

  int run() {
    // The master's heartbeats come from a thread of its own too: an HDF5 flush of a 2.5 GB
    // result image must not make every rank think the master is gone.
    heartbeat_thread_ = ctx_.net.start_heartbeat(model_.live_peers(), cfg_.heartbeat_interval_ms / 1000.0,
                                                 [] { return Buffer(); });
    start_status_server();  // bound before the roles started (open_status_server)
    if (!collect_hellos()) return abort_job("not every rank reported at start-up");
    model_.init_streams(static_cast<std::size_t>(std::max(0, cfg_.streams)), layout_);
    print_roles();
    write_ranks_file();
    print_status_url();
    publish_status(steady_s(), true);
    if (layout_.replication > 1) {  // followers on other hosts where there are several
      std::map<int, std::string> hosts;
      for (int b : layout_.brokers) hosts[b] = model_.rank(b).host;
      model_.set_map(PartitionMap::spread(layout_.partitions, layout_.brokers, layout_.replication, hosts), true);
    }
    sink_.emplace(cfg_, pipeline_);
    run_.results_written = true;
    if (const auto& r = sink_->resumed()) {
      // job.resume (#14): the results of the run whose master died are back in the results file;
      // ingest passes over the keys they finished (sent before START, like the map).
      run_.resumed = r->finished.count();
      run_.resume = {{"journal", r->journal},
                     {"records", r->records},
                     {"rows_rebuilt", r->rows},
                     {"keys_finished", r->finished.count()},
                     {"torn_bytes_cut", r->torn_bytes},
                     {"rebuild_s", r->rebuild_s}};
      std::cout << "[ride] resuming: " << r->rows << " result row(s) of the earlier run rebuilt from " << r->journal
                << " in " << fixed(r->rebuild_s, 2) << " s; " << r->finished.count()
                << " frame key(s) finished there are passed over"
                << (r->torn_bytes > 0 ? "; an interrupted append of " + std::to_string(r->torn_bytes) + " bytes was cut off"
                                      : std::string())
                << std::endl;
      const auto keys = std::make_shared<Buffer>(r->finished.encode());
      for (int rank : layout_.ingest) ctx_.net.send(rank, Tag::resume_keys, keys);
    }
    if (dynamic_) allocator_.initial(model_);
    else model_.assignment().assign_round_robin(layout_.workers);
    for (int p = 0; p < model_.partitions(); ++p) model_.note_owner(model_.owner(p), p);
    // Placement first: brokers create the partitions the map gives them, ingest and workers
    // (which send frames on to the next stage) route by it.
    for (int r = 1; r < layout_.world; ++r) ctx_.net.send(r, Tag::partition_map, model_.map().encode());
    if (!await_brokers_ready()) return abort_job("not every broker took its partitions within 60 s");
    for (int p = 0; p < model_.partitions(); ++p) send_assign(p, model_.partition(p).broker);
    run_.t0_ns = wall_ns();
    run_.t0 = steady_s();
    last_status_s_ = run_.t0;
    Start st;
    st.t0_ns = run_.t0_ns;
    for (int r = 1; r < layout_.world; ++r) ctx_.net.send(r, Tag::start, pod_body(st));
    const bool batch = cfg_.mode == JobMode::batch;
    if (!batch) start_processing();
    print_job_line(batch);
    state_ = "running";

    transport::IdleBackoff backoff;
    double next_status = run_.t0 + cfg_.status_interval_s;
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
      if (dynamic_ && processing_started_ && now >= next_allocation_s_) {
        next_allocation_s_ = now + kAllocationIntervalS;
        for (const auto& mv : allocator_.step(model_, now - run_.t0, now)) carry_out(mv, now);
      }
      if (cfg_.adaptive && processing_started_) {
        std::set<int> moved;
        for (auto& group : adaptive_) {
          for (const auto& c : group.step(model_, now - run_.t0, now)) {
            report(c);
            for (const auto& mv : c.moved) moved.insert(mv.partition);
          }
        }
        for (int p : moved) hand_over(p, now);
      }
      if (cfg_.scaling && processing_started_) {
        for (const auto& mv : load_scaling_.step(model_, now, now - run_.t0)) carry_out(mv, now);
      }
      if (now >= next_status) {
        print_status(now);
        next_status += cfg_.status_interval_s;
      }
      serve_status(now);
      if (all_ingest_done() && model_.all_done()) break;
      if (now - last_progress_ > cfg_.stall_timeout_s) {
        failure = "no progress for " + fixed(cfg_.stall_timeout_s, 1) +
                  " s (job.stall_timeout_s) although every rank answers heartbeats";
        break;
      }
      ctx_.net.progress();
      if (busy) backoff.reset();
      else backoff.wait();
    }
    run_.end = steady_s();
    flush_and_ack(true);
    print_status(run_.end);
    if (!failure.empty()) return abort_job(failure);
    collect_aggregates();
    shutdown_all(false);
    return end_status(finish(""));
  }

 private:
  /// The stages' group reductions (core/aggregates.h): each stage's live workers and spares that
  /// served it reduce what the sink stored from them; the first of each group answers. Bounded:
  /// a group that does not answer in 10 s is left out, and the summary computes its stage from
  /// the results file instead (and says so).
  void collect_aggregates() {
    std::vector<std::vector<int>> members(pipeline_.all().size());
    std::set<int> asked;
    for (int r = 1; r < layout_.world; ++r) {  // world ranks: a spawned spare is in no world group
      const RankRecord& rec = model_.rank(r);
      if (!rec.alive || (rec.role != Role::worker && rec.role != Role::spare)) continue;
      for (int s : rec.stages_served) {
        members[static_cast<std::size_t>(s)].push_back(r);
        asked.insert(r);
      }
    }
    run_.reduce_members = members;
    if (asked.empty()) return;
    const auto body = std::make_shared<const Buffer>(encode_reduce_request(members));
    for (int r : asked) ctx_.net.send(r, Tag::reduce, body);
    std::size_t want = 0;
    for (const auto& m : members) want += m.empty() ? 0 : 1;
    const double deadline = steady_s() + 10.0;
    while (run_.reduced.size() < want && steady_s() < deadline) {
      auto m = ctx_.net.recv_for(0.25);
      if (!m || m->tag != Tag::aggregates) continue;
      auto d = ScalarAggregates::decode(m->body);
      run_.reduced[d.stage] = std::move(d.aggregates);
      run_.reduced_with[d.stage] = d.method;
    }
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
        run_.errors.push_back("rank " + std::to_string(m->source) + ": " + BodyReader(m->body).rest_str());
        return false;
      }
    }
    return ready == layout_.brokers.size();
  }

  bool collect_hellos() {
    model_.rank(0).host = ctx_.net.host();
    model_.rank(0).pid = ::getpid();
    int missing = layout_.world - 1;
    const double deadline = steady_s() + 60.0;
    while (missing > 0 && steady_s() < deadline) {
      auto m = ctx_.net.recv_for(0.5);
      if (!m) continue;
      if (m->tag == Tag::hello) {
        const auto h = BodyReader(m->body).pod<Hello>();
        RankRecord& rec = model_.rank(m->source);
        rec.host = std::string(h.host, strnlen(h.host, sizeof h.host));
        rec.pid = h.pid;
        --missing;
      } else if (m->tag == Tag::error) {
        run_.errors.push_back("rank " + std::to_string(m->source) + ": " + BodyReader(m->body).rest_str());
        return false;
      }
    }
    return missing == 0;
  }

  /// The rank table as JSON beside the summary (model_json.h, ranks_file_path), for tools and
  /// tests that signal ranks instead of reading the printed table; written once, at start-up,
  /// through a temporary file renamed into place so that a reader never sees half of it.
  void write_ranks_file() const {
    const std::string path = ranks_file_path(cfg_.summary_path);
    if (path.empty()) return;
    const std::string tmp = path + ".tmp";
    {
      std::ofstream out(tmp);
      out << nlohmann::json{{"ranks", ranks_json(model_, false)}}.dump(1) << "\n";
      if (!out) {
        std::cerr << "[ride] warning: cannot write the ranks file " << path << "\n";
        return;
      }
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) std::cerr << "[ride] warning: cannot write the ranks file " << path << "\n";
  }

  void print_roles() const {
    std::cout << "[ride] " << layout_.world << " ranks: " << layout_.brokers.size() << " broker, "
              << layout_.ingest.size() << " ingest, " << layout_.workers.size() << " worker, "
              << layout_.spares.size() << " spare"
              << (layout_.replication > 1 ? "; " + std::to_string(layout_.replication) + " copies of each partition" : std::string())
              << "\n";
    std::cout << "[ride]   rank  role     host                 pid\n";
    for (int r = 0; r < model_.ranks(); ++r) {
      const RankRecord& rec = model_.rank(r);
      char line[160];
      std::snprintf(line, sizeof line, "[ride]   %4d  %-7s  %-20s %d\n", r, to_string(rec.started_as),
                    rec.host.c_str(), rec.pid);
      std::cout << line;
    }
    std::cout << std::flush;
  }

  void print_job_line(bool batch) const {
    if (pipeline_.multi_stage()) {
      for (const auto& st : pipeline_.all()) {
        std::cout << "[ride] stage " << st.name() << ": task " << st.cfg->task << " reads " << st.cfg->input << " ("
                  << st.partitions << " partition(s), " << model_.workers_of(st.index).size() << " worker(s), "
                  << to_string(st.cfg->partitioning) << ", " << to_string(st.cfg->device) << ")"
                  << (st.cfg->forward.empty() ? std::string() : "; forwards frames where " + st.cfg->forward)
                  << (st.readers.empty() ? std::string()
                      : st.emit_image    ? "; sends its output image on"
                                         : "")
                  << std::endl;
      }
    }
    if (cfg_.source == InputSource::video) {
      // A camera list gives each camera its own desired rate.
      double lo = 0, hi = 0;
      for (const auto& spec : ingest::parse_inputs(cfg_.inputs, cfg_.where("ingest.inputs"))) {
        if (spec.fps <= 0) continue;
        lo = lo > 0 ? std::min(lo, spec.fps) : spec.fps;
        hi = std::max(hi, spec.fps);
      }
      const std::string rate = hi <= 0 ? fixed(cfg_.fps, 1) + " fps"
                               : lo == hi ? fixed(lo, 2) + " fps (the camera list's)"
                                          : fixed(lo, 2) + "-" + fixed(hi, 2) + " fps each (the camera list's)";
      std::cout << "[ride] " << to_string(cfg_.mode) << " mode: " << cfg_.streams
                << " input(s) from ingest.inputs (cameras sampled at " << rate << ", files frame by frame"
                << (batch ? "" : " at " + fixed(cfg_.fps, 1) + " fps") << "; "
                << (cfg_.frames > 0 ? std::to_string(cfg_.frames) + " frames each"
                                    : "cameras for " + fixed(cfg_.duration_s, 1) + " s")
                << "), " << layout_.partitions << " partition(s), " << tasks_line() << std::endl;
    } else {
      std::cout << "[ride] " << to_string(cfg_.mode) << " mode: " << cfg_.streams << " stream(s) of " << cfg_.width
                << "x" << cfg_.height << ", " << cfg_.frames_per_stream() << " frames each"
                << (batch                       ? ""
                    : cfg_.fps_schedule.empty() ? " at " + fixed(cfg_.fps, 1) + " fps"
                                                : " at ingest.fps_schedule " + cfg_.fps_schedule + " fps")
                << ", " << layout_.partitions << " partition(s), " << tasks_line() << std::endl;
    }
  }

  std::string tasks_line() const {
    if (!pipeline_.multi_stage()) return "task " + cfg_.task;
    return std::to_string(pipeline_.stages()) + " stages";
  }

  void send_assign(int p, int dest) {
    Assign a;
    a.partition = static_cast<std::uint32_t>(p);
    a.epoch = model_.epoch(p);
    a.owner = model_.owner(p);
    a.broker = model_.partition(p).broker;
    a.start_offset = model_.partition(p).metrics.committed;
    ctx_.net.send(dest, Tag::assign, pod_body(a));
  }

  /// A partition changed hands (recovery, scaling): the broker hears of the new epoch first, so
  /// the old owner is fenced from then on, and the new owner resumes at the oldest uncommitted
  /// frame, as in a takeover.
  /// (The new owner is the model's: a decision that moved a partition twice in one step sends
  /// one hand-over, to where it ended up.)
  void hand_over(int p, double now) {
    const int to = model_.owner(p);
    send_assign(p, model_.partition(p).broker);
    if (processing_started_ && to >= 0) send_assign(p, to);
    progress_.reset(static_cast<std::uint32_t>(p), now);
  }

  void start_processing() {
    processing_started_ = true;
    run_.processing_started = true;
    run_.processing_t0 = steady_s();
    for (int p = 0; p < model_.partitions(); ++p) {
      if (model_.owner(p) >= 0) send_assign(p, model_.owner(p));
      progress_.reset(static_cast<std::uint32_t>(p), run_.processing_t0 + cfg_.start_delay_s);
    }
  }

  /// A rank's heartbeat: its phase (start-up is allowed a longer silence) and what its compute
  /// thread is on (straggler_rule_ tells slow from stuck by it).
  void on_heartbeat(const transport::Message& m, double now) {
    if (m.body.size() != sizeof(HeartbeatBody) || m.source >= model_.ranks()) return;
    const auto hb = m.body.read<HeartbeatBody>(0);
    if (hb.phase == RankPhase::running && liveness_.starting(m.source)) liveness_.set_running(m.source);
    model_.rank(m.source).activity = hb;
    for (auto& group : adaptive_) group.on_busy(m.source, hb.compute_s);  // fresher than WORKER_METRICS
    // A worker busy on a batch within its allowance is progress, although nothing commits yet.
    if (hb.computing && !straggler_rule_.stuck(hb, group_rate_for(hb))) last_progress_ = now;
  }

  /// The workers' measured processing rate (frame bytes per second of compute), 0 = unknown.
  /// The group's rate matters only for a worker that has finished nothing yet: summing over
  /// 1,000 workers for every heartbeat was most of the master's time at that scale
  /// (bench/master_scale.py).
  double group_rate_for(const HeartbeatBody& hb) const {
    return hb.frames_done > 0 && hb.compute_s > 0 ? 0.0 : group_bytes_per_s();
  }

  double group_bytes_per_s() const {
    double bytes = 0, secs = 0;
    for (int r : model_.workers()) {
      bytes += static_cast<double>(model_.rank(r).activity.bytes_done);
      secs += model_.rank(r).activity.compute_s;
    }
    return secs > 0 ? bytes / secs : 0.0;
  }

  void send_heartbeats(double now) {
    if (heartbeat_thread_) return;  // the thread sends them
    if (now < next_heartbeat_) return;
    next_heartbeat_ = now + cfg_.heartbeat_interval_ms / 1000.0;
    for (int r : model_.live_peers()) ctx_.net.send(r, Tag::heartbeat, Buffer());
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
      for (int r = 1; r < liveness_.size(); ++r) liveness_.heard(r, liveness_.last_heard(r) + gap);
    }
    for (int r : liveness_.newly_dead(now)) {
      const double silent = now - liveness_.last_heard(r);
      if (auto fatal = recover_from(r, "silent for " + fixed(silent, 3) + " s", now); !fatal.empty()) return fatal;
    }
    if (!processing_started_ || cfg_.straggler_timeout_s <= 0) return {};
    for (std::uint32_t p : progress_.stalled(now, cfg_.straggler_timeout_s)) {
      // Handed over meanwhile (the recovery of an earlier one in this list): its new owner
      // has had no time yet, and its clock restarted.
      if (!progress_.is_stalled(p, now, cfg_.straggler_timeout_s)) continue;
      const int owner = model_.owner(static_cast<int>(p));
      if (owner < 0 || liveness_.dead(owner)) continue;
      // No commit for the timeout: stuck, or slow on a big batch? Its heartbeat tells.
      std::string why = "straggler: alive but partition " + std::to_string(p) +
                        " committed nothing for " + fixed(cfg_.straggler_timeout_s, 1) + " s";
      if (model_.rank(owner).activity.phase == RankPhase::running) {
        const auto stuck = straggler_rule_.stuck(model_.rank(owner).activity, group_rate_for(model_.rank(owner).activity));
        if (!stuck) continue;
        why = *stuck + " (partition " + std::to_string(p) + ")";
      }
      liveness_.declare_dead(owner);
      tell_to_stand_down(owner);
      if (auto fatal = recover_from(owner, why, now); !fatal.empty()) return fatal;
    }
    return {};
  }

  /// Carries out plan_recovery's decision for a lost rank.
  std::string recover_from(int rank, const std::string& why, double now) {
    const Role role = model_.rank(rank).role;
    ctx_.net.cancel_sends_to(rank);
    const double last_heard = liveness_.last_heard(rank);
    const RecoveryDecision d = plan_recovery(model_, rank, why, now, last_heard, layout_.replication, ingest_finished_);
    ctx_.net.set_heartbeat_targets(model_.live_peers());
    PeerDead pd;
    pd.rank = rank;
    for (int b : layout_.brokers) {
      if (b != rank && !liveness_.dead(b)) ctx_.net.send(b, Tag::peer_dead, pod_body(pd));
    }
    std::cout << "[ride] failure: rank " << rank << " (" << to_string(role) << ") " << why;
    if (!d.fatal.empty()) {
      std::cout << std::endl;
      return d.fatal;
    }
    if (d.spare_lost) {
      std::cout << ": one spare fewer (" << model_.spares().size() << " left)" << std::endl;
      schedule_replenish(now);
      return {};
    }
    if (d.map) return fail_over(d, now);
    if (role == Role::ingest) {
      // Ingest failover (#14): each survivor resumes the streams it is given.
      std::string list;
      for (const auto& [to, streams] : d.takeovers) {
        ingest_finished_.erase(to);  // reading again: it reports INGEST_DONE once more
        ctx_.net.send(to, Tag::ingest_takeover, encode_stream_takeovers(streams));
        for (const auto& t : streams) {
          list += (list.empty() ? "" : ", ") + std::string("stream ") + std::to_string(t.stream) + " -> ingest rank " +
                  std::to_string(to) + " from sequence " + std::to_string(t.from);
        }
      }
      std::cout << ": " << (list.empty() ? std::string("it had finished reading; nothing to resume") : list) << std::endl;
      if (!ingest_finished_.count(rank)) {
        --run_.ingest_ranks;  // its INGEST_DONE will not come: its frames by second from its reports
        std::uint64_t stored = 0;
        for (const auto& [to, streams] : d.takeovers) {
          for (const auto& t : streams) stored += t.from;
        }
        model_.add_dead_ingest_timeline(rank, stored);
      }
      if (all_ingest_done()) run_.ingest_end = steady_s();
      seal_ingest_topics();
      return {};
    }
    std::string to_list;
    for (const auto& mv : d.moved) {
      hand_over(mv.partition, now);
      to_list += (to_list.empty() ? "" : ", ") + std::to_string(mv.partition) + " -> rank " + std::to_string(mv.to);
    }
    std::cout << ": partitions " << (to_list.empty() ? std::string("(none)") : to_list)
              << (model_.spares().empty() ? "; no spare left" : "") << std::endl;
    schedule_replenish(now);
    return {};
  }

  /// Carries out a broker failover (plan_recovery, #14): every live rank hears the new map
  /// (brokers first: a promoted follower must know it leads before its producers send again),
  /// then each promoted partition is handed to its owner under a new epoch, as in a takeover.
  std::string fail_over(const RecoveryDecision& d, double now) {
    const auto peers = model_.live_peers();
    const BufferPtr map = std::make_shared<const Buffer>(model_.map().encode());  // encoded once, sent as is
    for (int r : peers) {
      if (model_.rank(r).role == Role::broker) ctx_.net.send(r, Tag::partition_map, map);
    }
    for (int r : peers) {
      if (model_.rank(r).role != Role::broker) ctx_.net.send(r, Tag::partition_map, map);
    }
    std::string led;
    for (int p : d.promoted) {
      led += (led.empty() ? "" : ", ") + std::to_string(p) + " -> broker " + std::to_string(model_.map().broker(p));
    }
    std::cout << ": partitions " << (led.empty() ? std::string("(none led)") : led) << " (leader epoch raised)";
    if (!d.rebuilt.empty()) {
      std::string list;
      for (int p : d.rebuilt) list += (list.empty() ? "" : ", ") + std::to_string(p);
      std::cout << "; new copies of " << list << " being rebuilt";
    }
    std::cout << std::endl;
    if (!d.under_replicated.empty()) {
      std::cout << "[ride] warning: " << d.under_replicated.size() << " partition(s) have fewer than topic.replication = "
                << layout_.replication << " copies now (too few live brokers): one more broker death may end the job"
                << std::endl;
    }
    for (const auto& mv : d.moved) hand_over(mv.partition, now);
    // A topic already sealed: its new leader hears it again.
    std::vector<int> sealed;
    for (int p : d.promoted) {
      const int st = model_.partition(p).stage;
      if (st >= 0 && stage_sealed_[static_cast<std::size_t>(st)]) sealed.push_back(p);
    }
    seal(sealed);
    return {};
  }

  /// Carries out a scaling decision (load_scaling.h): a moved partition, or a released worker.
  void carry_out(const PartitionMove& mv, double now) {
    if (mv.partition < 0) {
      std::cout << "[ride] scaling: rank " << mv.from << " released (under " << fixed(100 * cfg_.scaling_low, 0)
                << " % for " << fixed(cfg_.scaling_low_for_s, 0) << " s)" << std::endl;
      return;
    }
    std::cout << "[ride] scaling: partition " << mv.partition << " from rank " << mv.from << " to "
              << (mv.joins ? "spare " : "") << "rank " << mv.to << std::endl;
    hand_over(mv.partition, now);
  }

  /// Prints a change of the worker group (adaptive.h). The loop then hands each moved partition
  /// over once: a spare that joins is promoted like a takeover's; a worker that leaves is fenced
  /// off its partitions by the new epochs and waits in the pool.
  void report(const GroupChange& c) const {
    std::string who;
    for (int w : c.workers) who += (who.empty() ? "" : ", ") + std::to_string(w);
    std::cout << "[ride] scaling: " << (c.kind == GroupChange::Kind::grow ? "grow: rank(s) " + who + " join"
                                                                            : "shrink: rank " + who + " leaves")
              << " the group" << (pipeline_.multi_stage() ? " of stage " + pipeline_.stage(c.stage).name() : std::string())
              << ", now " << model_.workers_of(c.stage).size() << " worker(s) (" << c.reason << ")" << std::endl;
  }

  /// Carries out an allocation decision (allocation.h): a partition to a free worker.
  void carry_out(const AllocationMove& mv, double now) {
    if (++allocation_moves_ <= kMovesPrinted) {
      std::cout << "[ride] allocation: partition " << mv.partition << " to rank " << mv.to
                << (mv.from >= 0 ? " from rank " + std::to_string(mv.from) : std::string()) << " (" << mv.reason << ")"
                << (allocation_moves_ == kMovesPrinted ? "; further moves only in the summary" : "") << std::endl;
    }
    hand_over(mv.partition, now);
  }

  /// With the spare pool empty and ft.replenish not used up, a new spare is spawned a moment
  /// later: not at once, because MPI_Comm_spawn holds the master and the brokers for a while
  /// (~0.3 s measured) and the takeover that just started must get its frames first.
  void schedule_replenish(double now) {
    if (!model_.spares().empty() || spawned_ >= cfg_.replenish || replenish_due_ > 0) return;
    replenish_due_ = now + kReplenishDelayS;
  }

  /// Spawns one spare with the control group (master and brokers: the spare talks to both).
  void replenish(double now) {
    replenish_due_ = 0;
    for (int b : layout_.brokers) {
      if (!liveness_.dead(b)) continue;
      // MPI_Comm_spawn is collective over the control group (master and brokers): with one of
      // them dead it would never return.
      std::cout << "[ride] the spare pool is not replenished after a broker's death (rank " << b
                << "): spawning needs every broker of the control group" << std::endl;
      spawned_ = cfg_.replenish;
      return;
    }
    Replenish r;
    r.count = 1;
    r.first_id = liveness_.size();
    for (int b : layout_.brokers) ctx_.net.send(b, Tag::replenish, pod_body(r));
    const std::string err =
        ctx_.net.replenish(ctx_.program, ctx_.args, r.count, r.first_id, kSpawnTimeoutS, 1);
    const double took = steady_s() - now;
    if (!err.empty()) {
      std::cout << "[ride] could not replenish the spare pool: " << err << std::endl;
      run_.errors.push_back("replenishing the spare pool: " + err);
      spawned_ = cfg_.replenish;  // the launcher said no: do not try again
      return;
    }
    ++spawned_;
    // A few seconds' grace to start up (exec, MPI_Init, configuration) before silence counts.
    const int id = liveness_.add(steady_s() + kSpawnGraceS);
    const int model_id = model_.add_spawned_spare();
    RIDE_EXPECTS(id == model_id, "liveness and the job model disagree on the new rank's id");
    ctx_.net.set_heartbeat_targets(model_.live_peers());
    ctx_.net.send(id, Tag::partition_map, model_.map().encode());
    Start st;
    st.t0_ns = run_.t0_ns;
    ctx_.net.send(id, Tag::start, pod_body(st));
    run_.replenished.push_back({{"rank", id},
                                {"spawn_s", took},
                                {"at_unix_s", static_cast<double>(run_.t0_ns) / 1e9 + (now - run_.t0)}});
    std::cout << "[ride] replenished: spawned rank " << id << " as a spare in " << fixed(took, 3)
              << " s (" << spawned_ << " of ft.replenish = " << cfg_.replenish << ")" << std::endl;
  }

  /// Returns a non-empty reason when the job must stop.
  std::string handle(transport::Message& m) {
    switch (m.tag) {
      case Tag::results: on_results(m); break;
      case Tag::ingest_done: on_ingest_done(parse_json_body(m.body)); break;
      case Tag::broker_metrics: on_metrics(m.source, m.body); break;
      case Tag::ingest_metrics: {
        const auto reports = decode_stream_reports(m.body);
        const double now = steady_s();
        model_.on_stream_reports(m.source, reports, now);
        model_.note_ingest_progress(m.source, reports, now - run_.t0);
        break;
      }
      case Tag::worker_metrics: {
        const auto wm = BodyReader(m.body).pod<WorkerMetrics>();
        load_scaling_.on_worker_metrics(m.source, wm);
        for (auto& group : adaptive_) group.on_busy(m.source, wm.busy_s);
        break;
      }
      case Tag::partition_done: {
        const auto d = BodyReader(m.body).pod<PartitionDone>();
        if (from_leader(m.source, static_cast<int>(d.partition))) model_.mark_done(static_cast<int>(d.partition), steady_s());
        last_progress_ = steady_s();
        seal_drained_stages();
        break;
      }
      case Tag::broker_event: {
        const auto j = parse_json_body(m.body);
        if (j.value("kind", "") == "isr") {  // a replicated partition's in-sync set changed
          const int p = j.value("partition", -1);
          if (from_leader(m.source, p)) {
            model_.partition(p).isr = j.at("isr").get<std::vector<int>>();
            for (const auto& c : j.at("changes")) {
              const bool shrink = c.value("change", "") == "shrink";
              std::cout << "[ride] replication: partition " << p << ": broker " << c.value("replica", -1) << " "
                        << (shrink ? "leaves" : "rejoins") << " the in-sync replicas (" << c.value("reason", "")
                        << ")" << std::endl;
              if (!shrink) continue;
              // Recorded: an election now knows it is out of sync, so the leader may acknowledge
              // without it (replication.h, confirm_shrink).
              IsrConfirm ic;
              ic.partition = static_cast<std::uint32_t>(p);
              ic.epoch = j.value("epoch", 0u);
              ic.replica = c.value("replica", -1);
              ctx_.net.send(m.source, Tag::isr_confirm, pod_body(ic));
            }
          }
          break;
        }
        // (json::value(key, std::string) trips GCC 12's -Wnull-dereference here.)
        const auto err = j.find("error");
        const std::string e = "partition " + std::to_string(j.value("partition", -1)) + " stopped taking frames: " +
                              (err != j.end() && err->is_string() ? err->get<std::string>() : std::string("?"));
        std::cout << "[ride] error: " << e << std::endl;
        run_.errors.push_back(e);
        break;
      }
      case Tag::hello: {  // a spawned spare has started
        const auto h = BodyReader(m.body).pod<Hello>();
        if (m.source >= 0 && m.source < model_.ranks()) {
          RankRecord& rec = model_.rank(m.source);
          rec.host = std::string(h.host, strnlen(h.host, sizeof h.host));
          rec.pid = h.pid;
          std::cout << "[ride] rank " << m.source << " (spawned spare) is up on " << rec.host << ", pid "
                    << h.pid << std::endl;
        }
        break;
      }
      case Tag::error:
        return "rank " + std::to_string(m.source) + " (" +
               (m.source < model_.ranks() ? to_string(model_.rank(m.source).started_as) : "?") +
               ") failed: " + BodyReader(m.body).rest_str();
      default: break;
    }
    return {};
  }

  /// End of stream, stage by stage: once every partition of a stage's input is done (sealed,
  /// and committed — a stage commits only after the next topics took what it sends on), the
  /// topics of the stages reading it take no more frames.
  void seal_drained_stages() {
    for (const auto& st : pipeline_.all()) {
      if (st.input < 0 || stage_sealed_[static_cast<std::size_t>(st.index)]) continue;
      const task::Stage& from = pipeline_.stage(st.input);
      bool drained = true;
      for (int p = from.first_partition; p < from.first_partition + from.partitions && drained; ++p) {
        drained = model_.partition(p).done;
      }
      if (drained) seal_topic_of(st);
    }
  }

  /// Ingest's topics take no more frames once every ingest rank reported INGEST_DONE (after all
  /// its produces were acknowledged) or died with its streams resumed by another (#14).
  void seal_ingest_topics() {
    if (!all_ingest_done()) return;
    for (const auto& st : pipeline_.all()) {
      if (st.input < 0 && !stage_sealed_[static_cast<std::size_t>(st.index)]) seal_topic_of(st);
    }
  }

  /// SEAL for stage st's input topic, to each partition's leader.
  void seal_topic_of(const task::Stage& st) {
    stage_sealed_[static_cast<std::size_t>(st.index)] = true;
    std::vector<int> parts;
    for (int p = st.first_partition; p < st.first_partition + st.partitions; ++p) parts.push_back(p);
    seal(parts);
  }

  /// SEAL of these partitions, one message to each leader.
  void seal(const std::vector<int>& partitions) {
    for (int broker : layout_.brokers) {
      std::uint32_t count = 0;
      BodyWriter parts;
      for (int p : partitions) {
        if (model_.partition(p).broker != broker) continue;
        parts.pod(static_cast<std::uint32_t>(p));
        ++count;
      }
      if (count > 0) ctx_.net.send(broker, Tag::seal, BodyWriter().pod(count).append(parts).finish());
    }
  }

  void on_results(transport::Message& m) {
    const double now = steady_s();
    const Sink::Stored st = sink_->store(m.source, m.body, model_, now, now - run_.t0);
    last_progress_ = now;
    // Results from the partition's owner are progress: its commit follows once they are
    // durable, and the brokers' metrics show it a moment later still.
    if (st.partition >= 0 && st.partition < model_.partitions() && model_.owner(st.partition) == m.source) {
      progress_.reset(static_cast<std::uint32_t>(st.partition), now);
    }
  }

  /// Group commit: one HDF5 flush makes a burst of result batches durable, then each worker
  /// hears that it may commit.
  void flush_and_ack(bool idle) {
    if (!sink_) return;
    for (const auto& a : sink_->flush_if_due(idle, steady_s())) {
      ResultsAck ack;
      ack.batch_id = a.batch_id;
      BodyWriter w;
      w.pod(ack);
      if (!a.fates.empty()) {  // some records were stored before: say which (core/protocol.h, RowFate)
        w.pod(static_cast<std::uint32_t>(a.fates.size()));
        w.bytes(a.fates.data(), a.fates.size());
      }
      ctx_.net.send(a.rank, Tag::results_ack, w.finish());
    }
  }

  void on_ingest_done(const json& j) {
    const int rank = j.value("rank", -1);
    ingest_finished_.insert(rank);
    // A rank that read streams of a dead one after its first INGEST_DONE reports again, with
    // everything (#14): the new report replaces the old.
    for (auto it = run_.ingest_reports.begin(); it != run_.ingest_reports.end(); ++it) {
      if (it->value("rank", -2) != rank) continue;
      count_ingest_report(*it, -1);
      run_.ingest_reports.erase(it);
      break;
    }
    run_.ingest_reports.push_back(j);
    count_ingest_report(j, +1);
    if (all_ingest_done()) run_.ingest_end = steady_s();
    seal_ingest_topics();
  }

  /// Adds (sign +1) or takes back (-1) what an INGEST_DONE says was produced, by stream and second.
  void count_ingest_report(const json& j, int sign) {
    for (const auto& [s, n] : j.at("streams").items()) {
      auto& e = run_.expected[static_cast<std::uint32_t>(std::stoul(s))];
      e = sign > 0 ? e + n.get<std::uint64_t>() : e - std::min(e, n.get<std::uint64_t>());
    }
    const auto& per_s = j.at("produced_per_s");
    auto& produced = model_.produced_per_s;
    if (produced.size() < per_s.size()) produced.resize(per_s.size(), 0);
    for (std::size_t i = 0; i < per_s.size(); ++i) {
      const auto n = per_s[i].get<std::uint64_t>();
      produced[i] = sign > 0 ? produced[i] + n : produced[i] - std::min(produced[i], n);
    }
  }

  /// Whether `source` leads partition p now (a dead leader's last messages may still be queued).
  bool from_leader(int source, int p) const {
    return p >= 0 && p < model_.partitions() && model_.map().broker(p) == source;
  }

  void on_metrics(int source, const Buffer& body) {
    BodyReader r(body);
    const auto n = r.pod<std::uint32_t>();
    const std::int64_t now_ns = wall_ns();
    for (std::uint32_t i = 0; i < n; ++i) {
      const auto pm = r.pod<PartitionMetrics>();
      if (!from_leader(source, static_cast<int>(pm.partition))) continue;
      model_.on_partition_metrics(pm, now_ns);
      progress_.observe(pm.partition, pm.end_offset, pm.committed, steady_s());
    }
  }

  /// Every ingest rank has reported INGEST_DONE or is dead (its streams moved to another, #14).
  bool all_ingest_done() const {
    for (int r : layout_.ingest) {
      if (!ingest_finished_.count(r) && model_.rank(r).alive) return false;
    }
    return true;
  }

  void print_status(double now) {
    const double dt = now - last_status_s_;
    const double fps = dt > 0 ? static_cast<double>(model_.processed - last_status_processed_) / dt : 0;
    last_status_s_ = now;
    last_status_processed_ = model_.processed;
    std::cout << status_line(model_, now - run_.t0, fps) << std::endl;
  }

  void shutdown_all(bool abort) {
    Shutdown s;
    s.abort = abort ? 1 : 0;
    const int peers = liveness_.size();
    for (int r = 1; r < peers; ++r) s.peers_lost |= liveness_.dead(r) ? 1u : 0u;
    if (s.peers_lost) ctx_.net.note_peers_lost();
    for (int r = 1; r < peers; ++r) ctx_.net.send(r, Tag::shutdown, pod_body(s));
    // Collect final reports, bounded: a rank that is gone must not hang the master.
    std::size_t missing = 0;
    for (int r = 1; r < peers; ++r) missing += liveness_.dead(r) ? 0 : 1;
    const double deadline = steady_s() + 10.0;
    while (missing > 0 && steady_s() < deadline) {
      auto m = ctx_.net.recv_for(0.25);
      if (!m) continue;
      if (m->tag == Tag::final_report) {
        run_.final_reports[m->source] = parse_json_body(m->body);
        if (!liveness_.dead(m->source) && missing > 0) --missing;
      } else if (m->tag == Tag::broker_metrics) {
        on_metrics(m->source, m->body);
      }
    }
    for (int r = 1; r < peers; ++r) {
      if (!run_.final_reports.count(r) && !liveness_.dead(r)) {
        run_.errors.push_back("rank " + std::to_string(r) + " (" + to_string(model_.rank(r).started_as) +
                              ") sent no final report: it died or hung");
      }
    }
    for (int r = 1; r < peers; ++r) {
      if (liveness_.dead(r) && !run_.final_reports.count(r)) ctx_.net.cancel_sends_to(r);
    }
    ctx_.net.drain(5.0);
  }

  int abort_job(const std::string& why) {
    run_.errors.push_back(why);
    run_.end = steady_s();
    shutdown_all(true);
    finish(why);
    return end_status(1);
  }

  // ---- the HTTP status server (src/status): views of the model out, commands in ----

  void start_status_server() {
    if (cfg_.status_listen == "off") return;
    if (!g_status.server) open_status_server(cfg_);
    server_ = g_status.server.get();
    token_ = g_status.token;
    run_.status_server = {{"url", server_->url()}, {"control", token_.empty() ? "disabled" : "enabled"}};
  }

  void print_status_url() const {
    if (!server_) return;
    std::cout << "[ride] status: " << server_->url() << std::endl;
    if (cfg_.status_token == "auto") {
      std::cout << "[ride] status: control token " << token_ << " (POST /control/... with Authorization: Bearer TOKEN)"
                << std::endl;
    } else if (!token_.empty()) {
      std::cout << "[ride] status: control takes the token in status.token" << std::endl;
    } else {
      std::cout << "[ride] status: control disabled (status.token = off)" << std::endl;
    }
  }

  /// Between two steps of the loop: carries out the operator's commands, logs refused
  /// requests, and publishes a fresh view of the model every kPublishIntervalS.
  void serve_status(double now) {
    if (!server_) return;
    control_->serve([&](const status::ControlCommand& c) { return decide(c); });
    if (now >= next_publish_s_) publish_status(now, false);
  }

  void publish_status(double now, bool force_sample) {
    if (!server_) return;
    for (auto& line : control_->take_notes()) {
      std::cout << "[ride] control: " << line << std::endl;
      // The HTTP thread's refusals: a bad or missing token, or a malformed command.
      const bool auth = line.rfind("refused", 0) == 0;
      run_.control_log.push_back(
          {{"t_s", now - run_.t0}, {"command", line}, {"caller", ""}, {"result", auth ? "unauthorized" : "refused"}});
    }
    const double started = steady_s();
    const std::int64_t now_ns = wall_ns();
    const JobTotals t = model_.totals();
    const std::uint64_t entry_processed = model_.entry_processed();
    // The ranks' silence as liveness sees it (its one account; it forgives the loop's own gaps).
    for (int r = 1; r < model_.ranks() && r < liveness_.size(); ++r) model_.rank(r).last_heard = liveness_.last_heard(r);
    const double job_s = state_ == "starting" ? 0.0 : now - run_.t0;
    history_.sample(job_s, std::max(t.ingested, entry_processed), entry_processed, t.lag_frames,
                    model_.stage_processed, force_sample);
    StatusContext c;
    c.cfg = &cfg_;
    c.state = state_;
    c.exit_code = exit_code_;
    c.job_s = job_s;
    c.unix_s = static_cast<double>(now_ns) / 1e9;
    c.now = now;
    c.t0 = run_.t0;
    c.t0_ns = run_.t0_ns;
    c.url = server_->url();
    c.control_enabled = !token_.empty();
    c.control_log = &run_.control_log;
    c.history = &history_;
    status::Snapshot snap;
    snap.seq = ++seq_;
    snap.status_doc = std::make_shared<const json>(status_document(model_, c, snap.seq));
    snap.history_doc = std::make_shared<const json>(history_.to_json());
    const int series = cfg_.status_stream_series;
    snap.render_metrics = [series](const json& doc) { return metrics_text(doc, series); };
    store_->publish(std::move(snap));
    // A view of thousands of partitions and streams takes a while to build: at most ~5 % of the
    // loop goes to it (every 0.25 s, or 20 times the last build's time if that is longer).
    next_publish_s_ = now + std::max(kPublishIntervalS, 20 * (steady_s() - started));
  }

  /// An operator's command (POST /control/...), decided and carried out here, in the loop.
  status::ControlReply decide(const status::ControlCommand& c) {
    const double now = steady_s();
    const status::ControlReply r = carry_out(c, now);
    const bool ok = r.http_status >= 200 && r.http_status < 300;
    std::cout << "[ride] control: " << c.describe() << " from " << c.caller << ": "
              << (ok ? "" : "refused: ") << r.message << std::endl;
    run_.control_log.push_back({{"t_s", now - run_.t0},
                            {"command", c.describe()},
                            {"caller", c.caller},
                            {"result", ok ? "ok" : "refused"},
                            {"message", r.message}});
    next_publish_s_ = 0;  // the page shows it at once
    return r;
  }

  status::ControlReply carry_out(const status::ControlCommand& c, double now) {
    using Kind = status::ControlCommand::Kind;
    switch (c.kind) {
      case Kind::drain: {
        if (draining_) return {200, "already draining"};
        draining_ = true;
        run_.drained = true;
        state_ = "draining";
        for (int r : layout_.ingest) {
          if (!liveness_.dead(r)) ctx_.net.send(r, Tag::control, encode_ingest_control({IngestControl::Kind::drain, 0}));
        }
        return {202, "draining: ingest reads no more input; the job ends when every frame already ingested "
                     "is processed and committed"};
      }
      case Kind::pause:
      case Kind::resume: {
        const auto& streams = model_.streams();
        if (c.stream >= streams.size() || !streams[c.stream].reported) {
          return {404, "no stream " + std::to_string(c.stream) + " (the job has " + std::to_string(streams.size()) +
                           " stream(s), ids 0.." + std::to_string(streams.empty() ? 0 : streams.size() - 1) + ")"};
        }
        const StreamRecord& st = streams[c.stream];
        if (all_ingest_done() || draining_) return {409, "ingest has stopped reading inputs"};
        const bool pause = c.kind == Kind::pause;
        if (st.paused == pause) return {200, std::string("stream ") + std::to_string(c.stream) + " is already " + (pause ? "paused" : "running")};
        ctx_.net.send(st.ingest_rank, Tag::control,
                      encode_ingest_control({pause ? IngestControl::Kind::pause : IngestControl::Kind::resume, c.stream}));
        return {200, std::string(pause ? "paused" : "resumed") + " stream " + std::to_string(c.stream) + " (ingest rank " +
                         std::to_string(st.ingest_rank) + ")"};
      }
      case Kind::workers: {
        const int stage = cfg_.stage_index(c.stage);
        if (stage < 0) {
          std::string names;
          for (const auto& st : cfg_.stages) names += (names.empty() ? "" : ", ") + st.name;
          return {404, "no stage " + c.stage + " (stages: " + names + ")"};
        }
        if (!processing_started_) return {409, "processing has not started yet (a batch job processes after ingest)"};
        const int before = static_cast<int>(model_.workers_of(stage).size());
        auto resize = adaptive_.at(static_cast<std::size_t>(stage)).resize(model_, c.count, now - run_.t0, now);
        if (!resize.refused.empty()) return {409, "stage " + c.stage + ": " + resize.refused};
        std::set<int> moved;
        for (const auto& ch : resize.changes) {
          report(ch);
          for (const auto& mv : ch.moved) moved.insert(mv.partition);
        }
        for (int p : moved) hand_over(p, now);
        return {200, "stage " + c.stage + ": " + std::to_string(before) + " -> " +
                         std::to_string(model_.workers_of(stage).size()) + " worker(s)"};
      }
    }
    return {400, "unknown command"};
  }

  /// The job is over with exit code `rc`: the last view says so; with status.linger_s it stays
  /// served that long (the page shows "job ended").
  int end_status(int rc) {
    if (!server_) return rc;
    state_ = rc == 0 ? "ended" : "failed";
    exit_code_ = rc;
    control_->close("the job has ended");
    publish_status(steady_s(), true);
    if (cfg_.status_linger_s > 0) {
      std::cout << "[ride] status: the job has ended; serving its final status at " << server_->url() << " for "
                << fixed(cfg_.status_linger_s, 1) << " s (status.linger_s)" << std::endl;
      // Served on after MPI_Finalize (linger_status_server): the other ranks must not wait.
      g_status.linger = true;
      return rc;
    }
    server_->stop();
    return rc;
  }

  int finish(const std::string& failure) {
    if (sink_) sink_->close();
    json idle = json::object();
    for (int r = 0; r < model_.ranks(); ++r) {
      if (model_.rank(r).started_as == Role::worker || model_.rank(r).started_as == Role::spare) {
        idle[std::to_string(r)] = allocator_.idle_while_work_waits_s(r);
      }
    }
    run_.allocation = {
        {"mode", to_string(cfg_.allocation)}, {"moves", allocation_moves_}, {"idle_while_work_waits_s", idle}};
    return finish_run(run_, failure);
  }

  RoleContext& ctx_;
  const JobConfig& cfg_;
  const RoleLayout& layout_;
  const task::Pipeline pipeline_;  ///< the stages: tasks, topics, what the results file holds
  const task::Info task_;          ///< the first stage's task (CAM²'s load policy: one-stage jobs)
  std::vector<bool> stage_sealed_ = std::vector<bool>(pipeline_.all().size(), false);
  JobModel model_;         ///< the one account of the job (status line, summary, decisions)
  RunRecord run_;          ///< what the summary needs besides the model
  LivenessMonitor liveness_;
  ProgressWatch progress_;
  const StragglerRule straggler_rule_{cfg_.straggler_timeout_s, cfg_.straggler_factor, cfg_.stall_timeout_s};
  LoadScaling load_scaling_;
  std::vector<AdaptiveGroup> adaptive_ = make_adaptive(cfg_, layout_);  ///< one per stage
  const bool dynamic_ = cfg_.allocation == Allocation::dynamic;
  DynamicAllocator allocator_{AllocationConfig{cfg_.mode == JobMode::batch, cfg_.batch_frames, 2.0, 0.3}};
  double next_allocation_s_ = 0;
  int allocation_moves_ = 0;
  static constexpr int kMovesPrinted = 20;
  static constexpr double kAllocationIntervalS = 0.02;
  std::optional<Sink> sink_;
  std::map<int, double> stand_down_sent_;
  std::set<int> ingest_finished_;  ///< ingest ranks that sent INGEST_DONE
  bool heartbeat_thread_ = false, processing_started_ = false;
  double next_heartbeat_ = 0, last_loop_s_ = 0, last_progress_ = 0, last_status_s_ = 0;
  std::uint64_t last_status_processed_ = 0;
  static constexpr double kReplenishDelayS = 1.0, kSpawnGraceS = 5.0;
  int spawned_ = 0;           ///< spares spawned so far (at most ft.replenish)
  double replenish_due_ = 0;  ///< when to spawn the next spare; 0 = none due
  // The status server's side of the loop.
  // The process's status server (g_status): it outlives this loop with status.linger_s.
  std::shared_ptr<status::SnapshotStore> store_ = g_status.store;
  std::shared_ptr<status::ControlQueue> control_ = g_status.control;
  status::StatusServer* server_ = nullptr;
  std::string token_;            ///< control's bearer token (empty: control disabled)
  StatusHistory history_;
  std::uint64_t seq_ = 0;
  double next_publish_s_ = 0;
  static constexpr double kPublishIntervalS = 0.25;
  std::string state_ = "starting";
  std::optional<int> exit_code_;
  bool draining_ = false;
};

}  // namespace

int run_master(RoleContext& ctx) { return Master(ctx).run(); }

void open_status_server(const JobConfig& cfg) {
  if (cfg.status_listen == "off" || g_status.server) return;
  status::ServerOptions o;
  o.listen = cfg.status_listen;
  o.listen_where = cfg.where("status.listen");
  std::string token;
  if (cfg.status_token == "auto") {
    std::random_device rd;  // the kernel's entropy: the token guards job control
    static const char* hex = "0123456789abcdef";
    for (int i = 0; i < 32; ++i) token.push_back(hex[rd() % 16]);
  } else if (cfg.status_token != "off") {
    token = cfg.status_token;
  }
  o.token = token;
  auto server = std::make_unique<status::StatusServer>(o, *g_status.store, *g_status.control);
  server->start();  // throws ConfigError naming status.listen
  g_status.server = std::move(server);
  g_status.token = token;
}

void linger_status_server(double seconds) {
  if (!g_status.server) return;
  if (g_status.linger) std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  g_status.server->stop();
  g_status.server.reset();
}

}  // namespace ride

// The master's control plane at CAM² scale, simulated in one process (issue #11): a job of
// thousands of workers and tens of thousands of partitions (cameras) driven through ticks of
// simulated time with rate changes, failures and a straggler. The data plane (ingest, brokers,
// workers) is a cheap model here; what is measured is the master's own work on what they report:
// the pure classes of ride_master_logic, called as src/master/master.cpp calls them.
//
// Each tick (dt of simulated time, default 0.1 s):
//   data plane (not timed)  cameras produce at their rate (a schedule doubles 20 % of them, then
//                           takes them offline, then back); every worker commits frames of its
//                           partitions at its own capacity (10 % are 2.5x slower); brokers report
//                           every partition (PartitionMetrics, as every 0.1 s with the default
//                           status interval); every rank heartbeats each 50 ms (HeartbeatBody).
//   master (timed)          heartbeats: LivenessMonitor::heard, activity, and the straggler check
//                           master.cpp's on_heartbeat does (StragglerRule::stuck with the group rate);
//                           metrics: JobModel::on_partition_metrics + ProgressWatch::observe
//                           (+ mark_done in batch mode, as PARTITION_DONE);
//                           results: JobModel::on_results + count_processed (the sink's calls);
//                           liveness: newly_dead, then plan_recovery for each (+ hand-over resets);
//                           stragglers: ProgressWatch::stalled + StragglerRule::stuck, plan_recovery;
//                           allocation: DynamicAllocator::step (+ hand-over resets);
//                           totals: JobModel::totals (the status line / HTTP status).
//   checks (not timed)      every owned partition's owner is a live member of the group (every
//                           partition owned, in stream mode), epochs never go down and go up on a
//                           change of owner, the owner index agrees with the table, no partition
//                           lost, totals agree with the data plane and committed <= ingested,
//                           failed ranks are declared dead within the timeout and own nothing.
// Failures (fractions of the run): 1 % of the workers killed at 30 %, one worker stuck (heartbeats
// go on, commits stop) at 40 %, 5 workers and 2 spares killed at 50 %, 40 workers at 70 % (this
// uses up the spare pool: the rest go to the least-loaded survivors).
//
// usage: bench_master_scale [--workers 1000] [--spares 50] [--brokers 20] [--partitions 10000]
//                           [--ticks 1200] [--dt 0.1] [--quick] [--batch] [--frames 200]
//                           [--seed 1] [--eager-group-rate] [--out FILE] [--trace FILE] [--series FILE]
// Prints (or writes to FILE) one JSON object; exits 1 when a check fails, 2 on bad arguments.
// --trace writes every decision (moves with their reasons, recoveries, what on_results
// returned, the failures' and scaling events' outcomes): two builds of the master's logic that
// decide alike write the same trace. --lazy-group-rate sums the group's rate (O(workers)) only
// for a heartbeat whose worker has no rate of its own yet, the only case StragglerRule reads it;
// master.cpp's on_heartbeat sums it for every heartbeat of a computing worker today.
// --series writes each tick's timings (ms) as CSV.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "core/log_state.h"
#include "core/partition_map.h"
#include "core/protocol.h"
#include "core/role_layout.h"
#include "master/allocation.h"
#include "master/job_model.h"
#include "master/liveness.h"
#include "master/recovery.h"

namespace {

using namespace ride;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

struct Options {
  int workers = 1000, spares = 50, brokers = 20, partitions = 10000, ticks = 1200;
  double dt = 0.1;
  bool quick = false, batch = false;
  int frames = 200;  ///< batch: frames stored per partition
  unsigned seed = 1;
  bool lazy_group_rate = true;  ///< the group rate only for a worker with no rate of its own (as master.cpp does); --eager-group-rate: for every heartbeat (before)
  std::string out, trace, series;
};

[[noreturn]] void usage(const std::string& why) {
  std::cerr << "bench_master_scale: " << why
            << "\nusage: bench_master_scale [--workers N] [--spares N] [--brokers N] [--partitions N] [--ticks N]"
               " [--dt S] [--quick] [--batch] [--frames N] [--seed N] [--eager-group-rate] [--out FILE] [--trace FILE] [--series FILE]\n";
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  bool ticks_given = false, frames_given = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc) usage(a + " needs a value");
      return argv[++i];
    };
    auto num = [&](int lo) {
      const std::string v = val();
      char* end = nullptr;
      const long n = std::strtol(v.c_str(), &end, 10);
      if (!end || *end || n < lo) usage(a + " expects an integer >= " + std::to_string(lo) + ", got " + v);
      return static_cast<int>(n);
    };
    if (a == "--workers") o.workers = num(2);
    else if (a == "--spares") o.spares = num(0);
    else if (a == "--brokers") o.brokers = num(1);
    else if (a == "--partitions") o.partitions = num(1);
    else if (a == "--ticks") o.ticks = num(10), ticks_given = true;
    else if (a == "--frames") o.frames = num(1), frames_given = true;
    else if (a == "--seed") o.seed = static_cast<unsigned>(num(0));
    else if (a == "--dt") {
      const std::string v = val();
      o.dt = std::atof(v.c_str());
      if (!(o.dt > 0 && o.dt <= 1)) usage("--dt expects seconds in (0, 1], got " + v);
    } else if (a == "--quick") o.quick = true;
    else if (a == "--batch") o.batch = true;
    else if (a == "--out") o.out = val();
    else if (a == "--trace") o.trace = val();
    else if (a == "--series") o.series = val();
    else if (a == "--eager-group-rate") o.lazy_group_rate = false;
    else if (a == "-h" || a == "--help") usage("help");
    else usage("unknown argument " + a);
  }
  if (o.quick && !ticks_given) o.ticks = 300;
  if (o.quick && !frames_given) o.frames = 60;
  return o;
}

/// Milliseconds between two steady-clock points.
double ms(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double, std::milli>(b - a).count(); }

/// p50 / p99 / max (nearest rank) of a sample, in ms.
json stats(std::vector<double> v) {
  json j;
  j["n"] = v.size();
  if (v.empty()) {
    j["p50"] = j["p99"] = j["max"] = j["mean"] = nullptr;
    return j;
  }
  std::sort(v.begin(), v.end());
  auto q = [&](double p) {
    const auto k = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
    return v[std::min(v.size() - 1, k == 0 ? 0 : k - 1)];
  };
  double sum = 0;
  for (double x : v) sum += x;
  auto r = [](double x) { return std::round(x * 1e4) / 1e4; };
  j["p50"] = r(q(50));
  j["p99"] = r(q(99));
  j["max"] = r(v.back());
  j["mean"] = r(sum / static_cast<double>(v.size()));
  return j;
}

constexpr std::uint64_t kFrameBytes = 640ull * 480 * 3;  // a VGA camera frame
constexpr std::uint64_t kRingFrames = 32;                // a broker's ring per partition, in frames
constexpr int kBatchFrames = 8;                          // worker.batch_frames
constexpr double kHeartbeatS = 0.05;                     // ft.heartbeat_interval_ms
constexpr double kHeartbeatTimeoutS = 0.3;               // ft.heartbeat_timeout_ms
constexpr double kStragglerTimeoutS = 5;                 // ft.straggler_timeout_s
constexpr double kHandoverS = 0.3;                       // a moved partition pauses this long

/// The data plane's view of one partition (a camera's stream).
struct SimPart {
  double base_fps = 0, acc = 0;
  std::uint64_t end = 0, committed = 0, spilled = 0;
  std::deque<std::pair<std::uint64_t, std::int64_t>> marks;  ///< (end after a tick, capture ns then)
  double resume_at = 0;        ///< a hand-over: the new owner fetches from then on
  std::uint32_t epoch = 0;     ///< the epoch the data plane last saw
  bool sealed = false;
  bool done_reported = false;  ///< PARTITION_DONE sent (batch)
};

/// The data plane's view of one rank.
struct SimRank {
  double capacity_fps = 0, budget = 0;
  std::uint64_t frames_done = 0, bytes_done = 0;
  double compute_s = 0;
  bool killed = false;           ///< silent from now on
  bool stuck = false;            ///< heartbeats go on, nothing is computed
  double stuck_since = 0;
  std::uint32_t last_partition = 0;
  std::uint64_t last_offset = 0;
  bool computed = false;         ///< this tick
  std::size_t rr = 0;            ///< round-robin cursor over its partitions
  double kill_time = -1;         ///< when it failed (killed or stuck)
};

struct Failure {
  int rank;
  double at;
  bool stuck;
};

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  const auto wall0 = Clock::now();
  std::mt19937 rng(o.seed);

  // --- the job: rank 0 master, then brokers, one ingest rank, workers, spares ---
  RoleLayout layout;
  layout.world = 1 + o.brokers + 1 + o.workers + o.spares;
  int next = 1;
  for (int i = 0; i < o.brokers; ++i) layout.brokers.push_back(next++);
  layout.ingest.push_back(next++);
  for (int i = 0; i < o.workers; ++i) layout.workers.push_back(next++);
  for (int i = 0; i < o.spares; ++i) layout.spares.push_back(next++);
  layout.partitions = o.partitions;
  JobModel model(layout, PartitionMap::spread(o.partitions, layout.brokers));
  AllocationConfig acfg;
  acfg.batch = o.batch;
  acfg.batch_frames = kBatchFrames;
  DynamicAllocator allocator(acfg);
  allocator.initial(model);
  LivenessMonitor liveness(layout.world, kHeartbeatTimeoutS, 0.0, 30.0);
  ProgressWatch progress;
  const StragglerRule rule{kStragglerTimeoutS, 10, 30};
  const std::int64_t t0_ns = 1'700'000'000'000'000'000;

  // --- the data plane ---
  std::vector<SimPart> parts(static_cast<std::size_t>(o.partitions));
  std::vector<SimRank> ranks(static_cast<std::size_t>(layout.world));
  const double fps_choices[] = {1, 2, 5, 10};
  for (auto& sp : parts) {
    sp.base_fps = fps_choices[rng() % 4];
    if (o.batch) {
      sp.end = static_cast<std::uint64_t>(o.frames);
      sp.sealed = true;
      sp.marks.emplace_back(sp.end, t0_ns);
    }
  }
  double capacity_total = 0;
  for (std::size_t i = 0; i < layout.workers.size(); ++i) {
    const bool slow = i % 10 == 7;  // every tenth worker is 2.5x slower
    ranks[static_cast<std::size_t>(layout.workers[i])].capacity_fps = slow ? 24 : 60;
    capacity_total += slow ? 24 : 60;
  }
  for (int r : layout.spares) ranks[static_cast<std::size_t>(r)].capacity_fps = 60;
  for (int p = 0; p < o.partitions; ++p) parts[static_cast<std::size_t>(p)].epoch = model.epoch(p);

  // The run's length: stream mode `ticks`; batch mode until every partition is done (the
  // failures fall on fractions of the expected drain time, the run stops at 3x that at most).
  int plan_ticks = o.ticks;
  int max_ticks = o.ticks;
  if (o.batch) {
    const double secs = static_cast<double>(o.partitions) * o.frames / capacity_total;
    plan_ticks = std::max(20, static_cast<int>(std::ceil(secs / o.dt)));
    max_ticks = 3 * plan_ticks + static_cast<int>(60 / o.dt);
  }
  auto at = [&](double frac) { return static_cast<int>(frac * plan_ticks); };

  // Failures: workers drawn at random (seeded), and the last two spares.
  std::map<int, std::vector<Failure>> kills;  // tick -> ranks failing then
  std::set<int> chosen;
  auto pick_workers = [&](int n, int tick, bool stuck) {
    std::vector<int> pool;
    for (int r : layout.workers) {
      if (!chosen.count(r)) pool.push_back(r);
    }
    std::shuffle(pool.begin(), pool.end(), rng);
    for (int i = 0; i < n && i < static_cast<int>(pool.size()); ++i) {
      chosen.insert(pool[static_cast<std::size_t>(i)]);
      kills[tick].push_back({pool[static_cast<std::size_t>(i)], tick * o.dt, stuck});
    }
  };
  const int wave1 = std::max(1, o.workers / 100);
  pick_workers(wave1, at(0.30), false);
  pick_workers(1, at(0.40), true);
  pick_workers(5, at(0.50), false);
  for (int i = 0; i < 2 && i < o.spares; ++i) kills[at(0.50)].push_back({layout.spares[layout.spares.size() - 1 - static_cast<std::size_t>(i)], at(0.50) * o.dt, false});
  pick_workers(40, at(0.70), false);
  int failures_injected = 0, workers_failed = 0;
  for (const auto& [t, fs] : kills) {
    failures_injected += static_cast<int>(fs.size());
    for (const auto& f : fs) workers_failed += model.rank(f.rank).role == Role::worker ? 1 : 0;
  }

  // Rates: 20 % of the cameras (every fifth) double at 25 % of the run, go offline at 60 %,
  // come back at their base rate at 80 %.
  auto rate_of = [&](int p, int tick) {
    const double base = parts[static_cast<std::size_t>(p)].base_fps;
    if (p % 5 != 0) return base;
    if (tick >= at(0.80)) return base;
    if (tick >= at(0.60)) return 0.0;
    if (tick >= at(0.25)) return 2 * base;
    return base;
  };

  // --- measurements ---
  std::vector<double> tick_ms, heartbeats_ms, metrics_ms, results_ms, liveness_ms, recovery_ms, straggler_ms,
      allocator_ms, totals_ms;
  std::uint64_t moves = 0, results_batches = 0, heartbeats = 0, stalled_seen = 0;
  int recoveries = 0, stuck_detected = 0;
  double last_progress = 0;
  std::map<std::string, int> move_reasons;
  std::vector<std::string> violations;
  std::vector<PartitionMetrics> reports(static_cast<std::size_t>(o.partitions));
  std::vector<std::pair<int, std::uint64_t>> committed_now;  // (partition, frames) this tick
  std::vector<std::vector<int>> owned(static_cast<std::size_t>(layout.world));
  std::vector<std::uint32_t> prev_epoch(static_cast<std::size_t>(o.partitions), 0);
  std::vector<int> prev_owner(static_cast<std::size_t>(o.partitions), -1);
  for (int p = 0; p < o.partitions; ++p) {
    prev_epoch[static_cast<std::size_t>(p)] = model.epoch(p);
    prev_owner[static_cast<std::size_t>(p)] = model.owner(p);
  }
  std::uint64_t max_lag = 0;
  JobTotals last_totals;
  const int hb_per_tick = std::max(1, static_cast<int>(std::lround(o.dt / kHeartbeatS)));
  const std::uint32_t spilling = static_cast<std::uint32_t>(LogState::spilling);

  // The master's group rate (master.cpp group_bytes_per_s): frame bytes per second of compute.
  auto group_bytes_per_s = [&] {
    double bytes = 0, secs = 0;
    for (int r : model.workers()) {
      bytes += static_cast<double>(model.rank(r).activity.bytes_done);
      secs += model.rank(r).activity.compute_s;
    }
    return secs > 0 ? bytes / secs : 0.0;
  };

  std::ofstream trace;
  if (!o.trace.empty()) trace.open(o.trace);
  std::uint64_t results_hash = 1469598103934665603ull;  // FNV-1a over what on_results returned
  auto mix = [&](std::int64_t v) {
    results_hash ^= static_cast<std::uint64_t>(v);
    results_hash *= 1099511628211ull;
  };

  struct HeartbeatMsg {
    int rank;
    double t;
    HeartbeatBody body;
  };
  std::vector<HeartbeatMsg> heartbeat_msgs;

  int ticks_run = 0;
  for (int tick = 1; tick <= max_ticks; ++tick) {
    ticks_run = tick;
    const double now = tick * o.dt;
    const std::int64_t now_ns = t0_ns + static_cast<std::int64_t>(now * 1e9);

    // ================= the data plane (not timed) =================
    if (auto k = kills.find(tick); k != kills.end()) {
      for (const auto& f : k->second) {
        auto& sr = ranks[static_cast<std::size_t>(f.rank)];
        sr.kill_time = now;
        if (f.stuck) {
          sr.stuck = true;
          sr.stuck_since = now;
        } else {
          sr.killed = true;
        }
      }
    }
    // Ingest: every camera's log grows by its rate.
    if (!o.batch) {
      for (int p = 0; p < o.partitions; ++p) {
        auto& sp = parts[static_cast<std::size_t>(p)];
        sp.acc += rate_of(p, tick) * o.dt;
        const auto n = static_cast<std::uint64_t>(sp.acc);
        if (n == 0) continue;
        sp.acc -= static_cast<double>(n);
        sp.end += n;
        sp.marks.emplace_back(sp.end, now_ns - static_cast<std::int64_t>(o.dt * 5e8));
      }
    }
    // Ownership as the workers know it (ASSIGNs carried out last tick): a partition that changed
    // hands pauses for the hand-over, then its new owner resumes at the committed offset.
    for (auto& v : owned) v.clear();
    for (int p = 0; p < o.partitions; ++p) {
      auto& sp = parts[static_cast<std::size_t>(p)];
      const int ow = model.owner(p);
      if (model.epoch(p) != sp.epoch) {
        sp.epoch = model.epoch(p);
        sp.resume_at = now + kHandoverS;
      }
      if (ow >= 0) owned[static_cast<std::size_t>(ow)].push_back(p);
    }
    // Workers: each commits frames of its partitions in turn, batch_frames at a time, at its
    // capacity (commits are visible in the brokers' next report, this tick).
    committed_now.clear();
    for (int r = 1; r < layout.world; ++r) {
      auto& sr = ranks[static_cast<std::size_t>(r)];
      sr.computed = false;
      const auto& mine = owned[static_cast<std::size_t>(r)];
      if (sr.killed || sr.stuck || mine.empty() || sr.capacity_fps <= 0) continue;
      sr.budget = std::min(sr.budget + sr.capacity_fps * o.dt, 2 * sr.capacity_fps * o.dt);
      bool any = true;
      while (sr.budget >= 1 && any) {
        any = false;
        for (std::size_t i = 0; i < mine.size() && sr.budget >= 1; ++i) {
          sr.rr = (sr.rr + 1) % mine.size();  // in turn, on from where the last batch was
          const int p = mine[sr.rr];
          auto& sp = parts[static_cast<std::size_t>(p)];
          if (now < sp.resume_at || sp.committed >= sp.end) continue;
          const std::uint64_t k = std::min<std::uint64_t>(
              {sp.end - sp.committed, static_cast<std::uint64_t>(kBatchFrames), static_cast<std::uint64_t>(sr.budget)});
          sp.committed += k;
          sr.budget -= static_cast<double>(k);
          sr.frames_done += k;
          sr.bytes_done += k * kFrameBytes;
          sr.compute_s += static_cast<double>(k) / sr.capacity_fps;
          sr.last_partition = static_cast<std::uint32_t>(p);
          sr.last_offset = sp.committed;
          sr.computed = any = true;
          if (!committed_now.empty() && committed_now.back().first == p) committed_now.back().second += k;
          else committed_now.emplace_back(p, k);
        }
      }
      if (!sr.computed) sr.budget = std::min(sr.budget, sr.capacity_fps * o.dt);  // idle time is not banked
    }
    // What the brokers report for every partition.
    for (int p = 0; p < o.partitions; ++p) {
      auto& sp = parts[static_cast<std::size_t>(p)];
      while (!sp.marks.empty() && sp.marks.front().first <= sp.committed) sp.marks.pop_front();
      const std::uint64_t lag = sp.end - sp.committed;
      max_lag = std::max(max_lag, lag);
      PartitionMetrics& pm = reports[static_cast<std::size_t>(p)];
      pm.partition = static_cast<std::uint32_t>(p);
      pm.sealed = sp.sealed ? 1 : 0;
      pm.end_offset = sp.end;
      pm.committed = sp.committed;
      const std::uint64_t in_ring = std::min(lag, kRingFrames);
      if (lag > kRingFrames) sp.spilled = std::max(sp.spilled, lag - kRingFrames);
      pm.ring_frames = in_ring;
      pm.ring_bytes = in_ring * kFrameBytes;
      pm.ring_capacity_bytes = kRingFrames * kFrameBytes;
      pm.spill_bytes = (lag - in_ring) * kFrameBytes;
      pm.spilled_frames = sp.spilled;
      pm.oldest_capture_ns = lag > 0 && !sp.marks.empty() ? sp.marks.front().second : 0;
      pm.state = lag > kRingFrames ? spilling : 0;
      pm.as_of_ns = now_ns;
    }

    // The heartbeats the ranks send this tick (every 50 ms each).
    heartbeat_msgs.clear();
    for (int h = 0; h < hb_per_tick; ++h) {
      const double t_h = now - o.dt + (h + 1) * o.dt / hb_per_tick;
      for (int r = 1; r < layout.world; ++r) {
        const auto& sr = ranks[static_cast<std::size_t>(r)];
        if (sr.killed) continue;
        HeartbeatBody hb;
        hb.phase = RankPhase::running;
        hb.frames_done = sr.frames_done;
        hb.bytes_done = sr.bytes_done;
        hb.compute_s = sr.compute_s;
        hb.batch_bytes = kBatchFrames * kFrameBytes;
        hb.partition = sr.last_partition;
        hb.offset = sr.last_offset;
        if (sr.stuck) {
          hb.computing = 1;
          hb.computing_for_s = t_h - sr.stuck_since;
        } else if (sr.computed) {
          hb.computing = 1;
          hb.computing_for_s = 0.5 * kBatchFrames / std::max(1.0, sr.capacity_fps);
          hb.awaiting_results = 1;
        } else {
          hb.fetching = owned[static_cast<std::size_t>(r)].empty() ? 0 : 1;
        }
        heartbeat_msgs.push_back({r, t_h, hb});
      }
    }

    // ================= the master (timed) =================
    const auto t_tick = Clock::now();
    // Heartbeats: heard, its activity, and master.cpp's on_heartbeat check "busy on a batch
    // within its allowance is progress" (which sums the group's rate over all workers).
    const auto t_hb = Clock::now();
    for (const auto& [r, t_h, hb] : heartbeat_msgs) {
      ++heartbeats;
      liveness.heard(r, t_h);
      if (hb.phase == RankPhase::running && liveness.starting(r)) liveness.set_running(r);
      model.rank(r).activity = hb;
      const bool own_rate = hb.frames_done > 0 && hb.compute_s > 0;  // StragglerRule::allowance then ignores the group's
      if (hb.computing && !rule.stuck(hb, o.lazy_group_rate && own_rate ? 0.0 : group_bytes_per_s())) last_progress = t_h;
    }
    const auto t_metrics = Clock::now();
    // Brokers' reports (and PARTITION_DONE, batch).
    for (const auto& pm : reports) {
      model.on_partition_metrics(pm, now_ns);
      progress.observe(pm.partition, pm.end_offset, pm.committed, now);
    }
    if (o.batch) {
      for (int p = 0; p < o.partitions; ++p) {
        auto& sp = parts[static_cast<std::size_t>(p)];
        if (!sp.done_reported && sp.sealed && sp.committed == sp.end) {
          sp.done_reported = true;
          model.mark_done(p);
        }
      }
    }
    const auto t_results = Clock::now();
    // Results batches (the sink: on_results per batch, count_processed per frame).
    for (const auto& [p, k] : committed_now) {
      const FailureRecord* replay_of = model.on_results(p, model.epoch(p), model.owner(p), now);
      mix(replay_of ? replay_of - model.failures().data() : -1);
      for (std::uint64_t i = 0; i < k; ++i) model.count_processed(now);
      ++results_batches;
      last_progress = now;
    }
    const auto t_live = Clock::now();
    // Silent ranks.
    double rec_ms_tick = 0;
    auto recover = [&](int r, const std::string& why) {
      const auto t_r = Clock::now();
      const RecoveryDecision d = plan_recovery(model, r, why, now, liveness.last_heard(r));
      (void)model.live_peers();  // master: set_heartbeat_targets(model.live_peers())
      for (const auto& mv : d.moved) progress.reset(static_cast<std::uint32_t>(mv.partition), now);  // hand_over
      const auto t_r2 = Clock::now();
      recovery_ms.push_back(ms(t_r, t_r2));
      if (trace) {
        trace << "tick " << tick << " recover " << r << " (" << why << "):";
        for (const auto& m : d.moved) trace << " " << m.partition << "->" << m.to << "@" << m.epoch;
        trace << (d.spare_lost ? " spare lost" : "") << "\n";
      }
      rec_ms_tick += ms(t_r, t_r2);
      ++recoveries;
      if (!d.fatal.empty()) {
        std::cerr << "bench_master_scale: recovery was fatal: " << d.fatal << "\n";
        std::exit(1);
      }
    };
    for (int r : liveness.newly_dead(now)) {
      recover(r, "silent for " + std::to_string(now - liveness.last_heard(r)) + " s");
    }
    const auto t_strag = Clock::now();
    // Stragglers (master.cpp detect_failures).
    for (std::uint32_t p : progress.stalled(now, kStragglerTimeoutS)) {
      ++stalled_seen;
      if (!progress.is_stalled(p, now, kStragglerTimeoutS)) continue;  // as master.cpp: handed over meanwhile
      const int ow = model.owner(static_cast<int>(p));
      if (ow < 0 || liveness.dead(ow)) continue;
      std::string why = "straggler: alive but partition " + std::to_string(p) + " committed nothing";
      if (model.rank(ow).activity.phase == RankPhase::running) {
        const auto stuck = rule.stuck(model.rank(ow).activity, group_bytes_per_s());
        if (!stuck) continue;
        why = *stuck + " (partition " + std::to_string(p) + ")";
      }
      liveness.declare_dead(ow);
      ++stuck_detected;
      recover(ow, why);
    }
    const auto t_alloc = Clock::now();
    const auto mv = allocator.step(model, now, now);
    for (const auto& m : mv) {
      progress.reset(static_cast<std::uint32_t>(m.partition), now);  // hand_over
      ++move_reasons[m.reason.find("unassigned") != std::string::npos ? "unowned"
                     : m.reason.find(" idle at ") != std::string::npos  ? "slower_worker"
                                                                        : "waiting"];
    }
    moves += mv.size();
    if (trace) {
      for (const auto& m : mv) trace << "tick " << tick << " move " << m.partition << " " << m.from << "->" << m.to << " " << m.reason << "\n";
    }
    const auto t_totals = Clock::now();
    last_totals = model.totals();
    const auto t_end = Clock::now();

    tick_ms.push_back(ms(t_tick, t_end));
    heartbeats_ms.push_back(ms(t_hb, t_metrics));
    metrics_ms.push_back(ms(t_metrics, t_results));
    results_ms.push_back(ms(t_results, t_live));
    liveness_ms.push_back(ms(t_live, t_strag) - rec_ms_tick);  // newly_dead; recoveries counted apart
    straggler_ms.push_back(ms(t_strag, t_alloc));
    allocator_ms.push_back(ms(t_alloc, t_totals));
    totals_ms.push_back(ms(t_totals, t_end));

    // ================= checks (not timed) =================
    auto fail = [&](const std::string& what) {
      if (violations.size() < 20) violations.push_back("tick " + std::to_string(tick) + ": " + what);
    };
    if (now - last_progress > 30) fail("no progress for 30 s (job.stall_timeout_s): the master would end the job");
    if (model.partitions() != o.partitions) fail("the model has " + std::to_string(model.partitions()) + " partitions");
    std::vector<char> in_group(static_cast<std::size_t>(model.ranks()), 0);
    for (int w : model.workers()) in_group[static_cast<std::size_t>(w)] = 1;
    std::size_t owned_count = 0;
    std::uint64_t ingested = 0, committed = 0;
    for (int p = 0; p < o.partitions; ++p) {
      const auto up = static_cast<std::size_t>(p);
      const int ow = model.owner(p);
      const std::uint32_t ep = model.epoch(p);
      if (ow >= 0) {
        ++owned_count;
        if (!in_group[static_cast<std::size_t>(ow)] || !model.rank(ow).alive)
          fail("partition " + std::to_string(p) + " owned by rank " + std::to_string(ow) + ", not a live worker");
      } else if (!o.batch) {
        fail("partition " + std::to_string(p) + " has no owner");
      }
      if (ep < prev_epoch[up]) fail("partition " + std::to_string(p) + " epoch went down");
      if (ow != prev_owner[up] && ep <= prev_epoch[up]) fail("partition " + std::to_string(p) + " changed owner without a new epoch");
      prev_epoch[up] = ep;
      prev_owner[up] = ow;
      ingested += parts[up].end;
      committed += parts[up].committed;
    }
    std::size_t indexed = 0;
    for (int r = 0; r < model.ranks(); ++r) indexed += model.assignment().count_of(r);
    if (indexed != owned_count) fail("the owner index holds " + std::to_string(indexed) + " partitions, the table " + std::to_string(owned_count));
    if (last_totals.committed > last_totals.ingested) fail("committed exceeds ingested");
    if (last_totals.ingested != ingested || last_totals.committed != committed)
      fail("totals " + std::to_string(last_totals.committed) + "/" + std::to_string(last_totals.ingested) +
           " disagree with the data plane " + std::to_string(committed) + "/" + std::to_string(ingested));
    for (const auto& [t, fs] : kills) {
      for (const auto& f : fs) {
        if (f.at > now) continue;
        // Silent: declared within the timeout (+ one tick); stuck: within the straggler
        // timeout plus its allowance (+ a few ticks).
        const double limit = f.stuck ? kStragglerTimeoutS + 5 + 1 : kHeartbeatTimeoutS + 2 * o.dt;
        if (now - f.at > limit && model.rank(f.rank).alive) fail("rank " + std::to_string(f.rank) + " failed but is not declared dead");
        if (!model.rank(f.rank).alive && model.assignment().count_of(f.rank) != 0) fail("dead rank " + std::to_string(f.rank) + " still owns partitions");
      }
    }
    // A declared-dead stuck rank stands down (STAND_DOWN): it stops heartbeating.
    for (int r = 1; r < layout.world; ++r) {
      auto& sr = ranks[static_cast<std::size_t>(r)];
      if (!sr.killed && !model.rank(r).alive) sr.killed = true;
      if (!model.rank(r).alive && sr.kill_time < 0) fail("rank " + std::to_string(r) + " declared dead but never failed");
    }
    if (o.batch && model.all_done()) break;
  }

  // ================= end checks and the report =================
  int recovered = 0, moved_partitions = 0;
  for (const auto& f : model.failures()) {
    recovered += f.recovered >= 0 ? 1 : 0;
    moved_partitions += static_cast<int>(f.moved.size());
  }
  if (static_cast<int>(model.failures().size()) != failures_injected)
    violations.push_back("failures injected " + std::to_string(failures_injected) + ", recorded " + std::to_string(model.failures().size()));
  if (!o.batch && recovered != failures_injected)
    violations.push_back("only " + std::to_string(recovered) + " of " + std::to_string(failures_injected) + " failures recovered (moved partitions flowing again)");
  if (o.batch && !model.all_done()) violations.push_back("batch: " + std::to_string(model.partitions_done()) + " of " + std::to_string(o.partitions) + " partitions done after " + std::to_string(ticks_run) + " ticks");
  if (stuck_detected != 1) violations.push_back("the stuck worker was declared " + std::to_string(stuck_detected) + " times (expected 1)");

  if (trace) {
    trace << "results_hash " << results_hash << "\n";
    for (const auto& f : model.failures()) {
      trace << "failure " << f.rank << " recovered " << f.recovered << " moved";
      for (const auto& m : f.moved) trace << " " << m.partition << "->" << m.to << "@" << m.epoch << (m.flowing ? "+" : "-");
      trace << "\n";
    }
    for (const auto& e : model.scaling())
      trace << "event " << e.t_s << " " << e.action << " " << e.worker << " " << e.from << " " << e.first_commit_after_s << "\n";
    for (int r = 0; r < model.ranks(); ++r) trace << "idle_waiting " << r << " " << allocator.idle_while_work_waits_s(r) << "\n";
    for (int p = 0; p < o.partitions; ++p) trace << "final " << p << " " << model.owner(p) << "@" << model.epoch(p) << "\n";
  }

  if (!o.series.empty()) {
    std::ofstream csv(o.series);
    csv << "tick,tick_ms,heartbeats_ms,metrics_ms,results_ms,liveness_ms,straggler_ms,allocator_step_ms,totals_ms\n";
    for (std::size_t i = 0; i < tick_ms.size(); ++i) {
      csv << i + 1 << "," << tick_ms[i] << "," << heartbeats_ms[i] << "," << metrics_ms[i] << "," << results_ms[i] << ","
          << liveness_ms[i] << "," << straggler_ms[i] << "," << allocator_ms[i] << "," << totals_ms[i] << "\n";
    }
  }

  auto put = [](json& j, const std::string& name, const std::vector<double>& v) {
    const json s = stats(v);
    j[name + "_ms_p50"] = s["p50"];
    j[name + "_ms_p99"] = s["p99"];
    j[name + "_ms_max"] = s["max"];
    j[name + "_ms_mean"] = s["mean"];
    j[name + "_n"] = s["n"];
  };
  json j;
  j["benchmark"] = "master_scale";
  j["mode"] = o.batch ? "batch" : "stream";
  j["quick"] = o.quick;
  j["workers"] = o.workers;
  j["spares"] = o.spares;
  j["brokers"] = o.brokers;
  j["partitions"] = o.partitions;
  j["ranks"] = layout.world;
  j["ticks"] = ticks_run;
  j["tick_s"] = o.dt;
  j["heartbeats_per_rank_per_tick"] = hb_per_tick;
  j["allocator_steps_per_tick"] = 1;
  j["group_rate"] = o.lazy_group_rate ? "only for workers without a rate of their own (as master.cpp)"
                                      : "summed for every heartbeat of a computing worker (as master.cpp does)";
  put(j, "tick", tick_ms);
  put(j, "heartbeats", heartbeats_ms);
  put(j, "metrics", metrics_ms);
  put(j, "results", results_ms);
  put(j, "liveness", liveness_ms);
  put(j, "recovery", recovery_ms);
  put(j, "straggler", straggler_ms);
  put(j, "allocator_step", allocator_ms);
  put(j, "totals", totals_ms);
  j["moves"] = moves;
  j["move_reasons"] = move_reasons;
  j["scaling_events"] = model.scaling().size();
  j["failures_injected"] = failures_injected;
  j["workers_failed"] = workers_failed;
  j["failures_recorded"] = model.failures().size();
  j["failures_recovered"] = recovered;
  j["stuck_detected"] = stuck_detected;
  j["recoveries"] = recoveries;
  j["partitions_moved_by_recovery"] = moved_partitions;
  j["spares_left"] = model.spares().size();
  j["workers_left"] = model.workers().size();
  j["heartbeats"] = heartbeats;
  j["results_batches"] = results_batches;
  j["stalled_partition_reports"] = stalled_seen;
  j["frames_ingested"] = last_totals.ingested;
  j["frames_committed"] = last_totals.committed;
  j["max_lag_frames"] = max_lag;
  j["partitions_done"] = model.partitions_done();
  j["checks_passed"] = violations.empty();
  j["violations"] = violations;
  j["wall_s"] = std::round(ms(wall0, Clock::now())) / 1000.0;
  j["scenario"] = {
      {"rates", "cameras at 1, 2, 5 or 10 fps; every fifth doubles at 25 % of the run, is offline from 60 %, back at 80 %"},
      {"workers", "60 fps each, every tenth 24 fps"},
      {"failures", "1 % of the workers killed at 30 %; 1 worker stuck at 40 %; 5 workers + 2 spares killed at 50 %; 40 workers at 70 %"},
      {"batch_frames_per_partition", o.batch ? json(o.frames) : json(nullptr)}};
  const std::string text = j.dump(2);
  if (o.out.empty()) {
    std::cout << text << "\n";
  } else {
    std::ofstream f(o.out);
    f << text << "\n";
    if (!f) {
      std::cerr << "bench_master_scale: cannot write " << o.out << "\n";
      return 1;
    }
  }
  if (!violations.empty()) {
    std::cerr << "bench_master_scale: CHECKS FAILED:\n";
    for (const auto& v : violations) std::cerr << "  " << v << "\n";
    return 1;
  }
  return 0;
}

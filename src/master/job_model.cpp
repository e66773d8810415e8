#include "master/job_model.h"

#include <algorithm>

#include "core/error.h"
#include "core/log_state.h"

namespace ride {

JobModel::JobModel(const RoleLayout& layout, PartitionMap map)
    : map_(std::move(map)), table_(layout.partitions) {
  RIDE_EXPECTS(map_.partitions() == layout.partitions,
               "the partition map places " << map_.partitions() << " partitions, the topic has " << layout.partitions);
  for (int r = 0; r < layout.world; ++r) {
    RankRecord rec;
    rec.rank = r;
    rec.started_as = rec.role = layout.role_of(r);
    ranks_.push_back(rec);
  }
  workers_ = layout.workers;
  spares_ = layout.spares;
  stages_ = std::max<int>(1, static_cast<int>(layout.stage_first.size()));
  for (std::size_t i = 0; i < layout.workers.size(); ++i) {
    ranks_[static_cast<std::size_t>(layout.workers[i])].stage = i < layout.worker_stage.size() ? layout.worker_stage[i] : 0;
  }
  stage_processed.assign(static_cast<std::size_t>(stages_), 0);
  stage_duplicates.assign(static_cast<std::size_t>(stages_), 0);
  for (int p = 0; p < layout.partitions; ++p) {
    PartitionRecord rec;
    rec.partition = p;
    rec.stage = layout.stage_first.empty() ? 0 : layout.stage_of_partition(p);
    rec.broker = map_.broker(p);
    rec.isr = map_.replicas(p);  // every copy is empty, so in sync
    rec.metrics.partition = static_cast<std::uint32_t>(p);
    parts_.push_back(rec);
  }
}

int JobModel::add_spawned_spare() {
  RankRecord rec;
  rec.rank = ranks();
  rec.started_as = rec.role = Role::spare;
  rec.spawned = true;
  ranks_.push_back(rec);
  spares_.push_back(rec.rank);
  return rec.rank;
}

std::vector<int> JobModel::live_peers() const {
  std::vector<int> out;
  for (const auto& r : ranks_) {
    if (r.rank != 0 && r.alive) out.push_back(r.rank);
  }
  return out;
}

void JobModel::declare_dead(int r) {
  rank(r).alive = false;
  std::erase(workers_, r);
  std::erase(spares_, r);
}

std::vector<int> JobModel::workers_of(int stage) const {
  std::vector<int> out;
  for (int r : workers_) {
    if (rank(r).stage == stage) out.push_back(r);
  }
  return out;
}

void JobModel::note_owner(int r, int p) {
  if (r >= 0 && r < ranks() && p >= 0 && p < partitions()) rank(r).stages_served.insert(partition(p).stage);
}

bool JobModel::join_workers(int r, int stage) {
  auto& rec = rank(r);
  if (rec.role != Role::spare) return false;
  rec.role = Role::worker;
  rec.stage = stage;
  std::erase(spares_, r);
  workers_.push_back(r);
  return true;
}

void JobModel::release_to_spares(int r) {
  auto& rec = rank(r);
  std::erase(workers_, r);
  rec.role = Role::spare;
  rec.stage = -1;
  if (rec.alive && std::find(spares_.begin(), spares_.end(), r) == spares_.end()) spares_.push_back(r);
}

void JobModel::on_partition_metrics(const PartitionMetrics& pm, std::int64_t now_ns) {
  if (pm.partition >= parts_.size()) return;  // not a partition of this topic
  auto& rec = parts_[pm.partition];
  if (!rec.reported) {
    rec.rate_end = pm.end_offset;
    rec.rate_ns = now_ns;
  } else if (now_ns - rec.rate_ns >= 500'000'000) {
    const double fps = static_cast<double>(pm.end_offset - std::min(pm.end_offset, rec.rate_end)) /
                       (static_cast<double>(now_ns - rec.rate_ns) / 1e9);
    rec.input_fps = rec.input_fps_known ? 0.5 * rec.input_fps + 0.5 * fps : fps;
    rec.input_fps_known = true;
    rec.rate_end = pm.end_offset;
    rec.rate_ns = now_ns;
  }
  rec.metrics = pm;
  rec.reported = true;
  auto& peak = rec.peaks;
  peak.lag_frames = std::max(peak.lag_frames, rec.lag_frames());
  peak.lag_s = std::max(peak.lag_s, rec.lag_s());
  const double fill = pm.ring_capacity_bytes ? static_cast<double>(pm.ring_bytes) /
                                                   static_cast<double>(pm.ring_capacity_bytes)
                                             : 0.0;
  peak.ring_fill = std::max(peak.ring_fill, fill);
  peak.spill_bytes = std::max(peak.spill_bytes, pm.spill_bytes);
}

void JobModel::mark_done(int p, double now) {
  auto& rec = partition(p);
  if (rec.done) return;
  rec.done = true;
  ++done_;
  if (now < 0) return;
  catch_up_indexes();
  if (const auto it = moved_by_partition_.find(p); it != moved_by_partition_.end()) {
    for (const MovedRef& ref : it->second) failures_[ref.failure].moved[ref.move].flowing = true;
  }
  settle_recoveries(now);
}

JobTotals JobModel::totals() const {
  JobTotals t;
  std::map<std::string, std::string> why;  // state -> "p0,p3"
  for (const auto& rec : parts_) {
    if (!rec.reported) continue;
    const auto& pm = rec.metrics;
    t.lag_s = std::max(t.lag_s, rec.lag_s());
    if (entry_stage(rec.stage)) {
      t.ingested += pm.end_offset;
      t.committed += pm.committed;
    }
    t.ring_bytes += pm.ring_bytes;
    t.spill_bytes += pm.spill_bytes;
    const auto st = static_cast<LogState>(pm.state);
    if (st != LogState::ok) {
      auto& list = why[to_string(st)];
      list += (list.empty() ? "p" : ",p") + std::to_string(rec.partition);
    }
  }
  t.lag_frames = 0;
  for (const auto& rec : parts_) t.lag_frames += rec.reported ? rec.lag_frames() : 0;
  std::uint64_t frames = 0, ticks = 0;
  for (const auto& s : streams_) {
    if (!s.live) continue;
    frames += s.frames;
    ticks += s.frames + s.missed;
  }
  if (ticks > 0) t.eta = static_cast<double>(frames) / static_cast<double>(ticks);
  for (const auto& [state, list] : why) t.partition_states += (t.partition_states.empty() ? "" : "; ") + list + " " + state;
  return t;
}

void JobModel::catch_up_indexes() {
  if (failures_seen_ > failures_.size() || scaling_seen_ > scaling_.size()) {  // cleared: start over
    moved_by_partition_.clear();
    unrecovered_.clear();
    pending_grows_.clear();
    failures_seen_ = scaling_seen_ = 0;
  }
  for (; failures_seen_ < failures_.size(); ++failures_seen_) {
    const FailureRecord& f = failures_[failures_seen_];
    for (std::size_t i = 0; i < f.moved.size(); ++i) moved_by_partition_[f.moved[i].partition].push_back({failures_seen_, i});
    if (!f.moved.empty() && f.recovered < 0) unrecovered_.emplace_back(failures_seen_, 0);
  }
  for (; scaling_seen_ < scaling_.size(); ++scaling_seen_) {
    const ScalingEvent& e = scaling_[scaling_seen_];
    if (e.action == "grow" && e.first_commit_after_s < 0) pending_grows_.push_back(scaling_seen_);
  }
}

FailureRecord* JobModel::on_results(int p, std::uint32_t epoch, int from, double now) {
  catch_up_indexes();
  FailureRecord* replay_of = nullptr;
  // The moves of p, in the order of the failures: the latest at or below this epoch is the one
  // these results replay for.
  if (const auto it = moved_by_partition_.find(p); it != moved_by_partition_.end()) {
    for (const MovedRef& ref : it->second) {
      FailureRecord& f = failures_[ref.failure];
      MovedPartition& mv = f.moved[ref.move];
      if (epoch >= mv.epoch) {
        mv.flowing = true;
        replay_of = &f;
      }
    }
  }
  settle_recoveries(now);
  std::erase_if(pending_grows_, [&](std::size_t i) {
    ScalingEvent& e = scaling_[i];
    if (e.first_commit_after_s >= 0) return true;
    if (e.worker != from) return false;
    e.first_commit_after_s = now - e.decided_steady;
    return true;
  });
  return replay_of;
}

void JobModel::settle_recoveries(double now) {
  // A failure is recovered once all its partitions flow (flowing is never taken back, so each
  // keeps a cursor at its first partition not known to flow). A takeover that was itself cut
  // short by the next failure recovers when the partition flows.
  std::erase_if(unrecovered_, [&](std::pair<std::size_t, std::size_t>& u) {
    FailureRecord& f = failures_[u.first];
    if (f.recovered >= 0) return true;
    while (u.second < f.moved.size() && f.moved[u.second].flowing) ++u.second;
    if (u.second < f.moved.size()) return false;
    f.recovered = now;
    return true;
  });
}

void JobModel::note_ingest_progress(int ingest_rank, const std::vector<StreamReport>& reports, double job_s) {
  std::uint64_t total = 0;
  for (const StreamReport& r : reports) total += r.frames;
  auto& last = ingest_reported_total_[ingest_rank];
  if (total <= last) return;
  auto& per_s = ingest_reported_per_s_[ingest_rank];
  const auto sec = static_cast<std::size_t>(std::max(0.0, job_s));
  if (per_s.size() <= sec) per_s.resize(sec + 1, 0);
  per_s[sec] += total - last;
  last = total;
}

void JobModel::add_dead_ingest_timeline(int ingest_rank, std::uint64_t stored) {
  std::vector<std::uint64_t> per_s = ingest_reported_per_s_[ingest_rank];
  std::uint64_t sum = 0;
  for (auto& n : per_s) {
    n = std::min(n, stored - sum);
    sum += n;
  }
  // Stored frames it had not reported yet (its last report came before them): its last second.
  if (sum < stored) {
    if (per_s.empty()) per_s.push_back(0);
    per_s.back() += stored - sum;
  }
  if (produced_per_s.size() < per_s.size()) produced_per_s.resize(per_s.size(), 0);
  for (std::size_t i = 0; i < per_s.size(); ++i) produced_per_s[i] += per_s[i];
}

void JobModel::settle_stream_takeover(std::uint32_t stream, int reader, double now) {
  for (FailureRecord& f : failures_) {
    if (f.streams.empty() || f.recovered >= 0) continue;
    bool all = true;
    for (auto& m : f.streams) {
      if (m.stream == stream && m.to == reader) m.taken = true;
      all = all && m.taken;
    }
    if (all) f.recovered = now;
  }
}

void JobModel::count_processed(double job_s, int stage) {
  ++processed;
  if (stage >= 0 && static_cast<std::size_t>(stage) < stage_processed.size()) ++stage_processed[static_cast<std::size_t>(stage)];
  const auto s = static_cast<std::size_t>(std::max(0.0, job_s));
  if (processed_per_s.size() <= s) processed_per_s.resize(s + 1, 0);
  ++processed_per_s[s];
}

void JobModel::init_streams(std::size_t n, const RoleLayout& layout) {
  if (streams_.size() < n) streams_.resize(n);
  for (std::size_t i = 0; i < streams_.size(); ++i) {
    streams_[i].id = static_cast<std::uint32_t>(i);
    if (streams_[i].ingest_rank < 0 && !layout.ingest.empty()) {
      streams_[i].ingest_rank = layout.ingest_of_stream(static_cast<std::uint32_t>(i));
    }
  }
}

void JobModel::on_stream_reports(int ingest_rank, const std::vector<StreamReport>& reports, double now) {
  for (const StreamReport& r : reports) {
    if (r.stream >= (1u << 24)) continue;  // not a stream id any input list has
    if (streams_.size() <= r.stream) {
      const std::size_t from = streams_.size();
      streams_.resize(r.stream + 1);
      for (std::size_t i = from; i < streams_.size(); ++i) streams_[i].id = static_cast<std::uint32_t>(i);
    }
    StreamRecord& s = streams_[r.stream];
    // Only the stream's reader counts: a dead rank's last report, read after its streams moved
    // to another (#14), says nothing about them any more.
    if (s.ingest_rank >= 0 && s.ingest_rank != ingest_rank) continue;
    s.ingest_rank = ingest_rank;
    s.acked = std::max(s.acked, r.acked);
    // A stream taken over flows again once its new reader published a frame of it (or it ended).
    if (r.frames > 0 || r.state == StreamState::ended) settle_stream_takeover(r.stream, ingest_rank, now);
    s.state = r.state;
    s.paused = r.paused;
    s.live = r.live;
    s.desired_fps = r.desired_fps;
    s.reported = true;
    s.frames = std::max(s.frames, r.frames);
    s.missed = std::max(s.missed, r.missed);
    s.paused_ticks = std::max(s.paused_ticks, r.paused_ticks);
    if (s.rate_t < 0) {
      s.rate_t = now;
      s.rate_frames = s.frames;
    } else if (now - s.rate_t >= 1.0) {
      s.fps = static_cast<double>(s.frames - s.rate_frames) / (now - s.rate_t);
      s.fps_known = true;
      s.rate_t = now;
      s.rate_frames = s.frames;
    }
  }
}

void JobModel::set_map(PartitionMap m, bool new_copies_in_sync) {
  RIDE_EXPECTS(m.partitions() == partitions(), "a map of " << m.partitions() << " partitions for " << partitions());
  for (int p = 0; p < partitions(); ++p) {
    PartitionRecord& rec = parts_[static_cast<std::size_t>(p)];
    rec.broker = m.broker(p);
    const std::vector<int> before = map_.replicas(p), after = m.replicas(p);
    std::vector<int> isr;
    for (int r : after) {
      const bool kept = std::find(before.begin(), before.end(), r) != before.end();
      const bool was_in_sync = std::find(rec.isr.begin(), rec.isr.end(), r) != rec.isr.end();
      if ((kept && was_in_sync) || (!kept && new_copies_in_sync)) isr.push_back(r);
    }
    rec.isr = std::move(isr);
  }
  map_ = std::move(m);
}

std::uint64_t JobModel::entry_processed() const {
  std::uint64_t n = 0;
  for (int st = 0; st < stages() && static_cast<std::size_t>(st) < stage_processed.size(); ++st) {
    if (entry_stage(st)) n += stage_processed[static_cast<std::size_t>(st)];
  }
  return n;
}

}  // namespace ride

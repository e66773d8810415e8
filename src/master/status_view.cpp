#include "master/status_view.h"

#include <algorithm>
#include <cmath>

#include "core/log_state.h"
#include "master/model_json.h"

namespace ride {

using nlohmann::json;

void StatusHistory::sample(double t_s, std::uint64_t ingested, std::uint64_t processed, std::uint64_t lag_frames,
                           const std::vector<std::uint64_t>& stage_processed, bool force) {
  if (!force && !t_.empty() && t_s - t_.back() < 1.0) return;
  if (!t_.empty() && t_s <= t_.back()) return;  // one sample per instant
  if (t_.size() >= cap_) {  // thin the older half: every other sample
    std::size_t keep = 0;
    for (std::size_t i = 0; i < t_.size(); ++i) {
      if (i % 2 == 1 && i < t_.size() - 1) continue;
      t_[keep] = t_[i];
      ingested_[keep] = ingested_[i];
      processed_[keep] = processed_[i];
      lag_[keep] = lag_[i];
      stage_processed_[keep] = std::move(stage_processed_[i]);
      ++keep;
    }
    t_.resize(keep);
    ingested_.resize(keep);
    processed_.resize(keep);
    lag_.resize(keep);
    stage_processed_.resize(keep);
  }
  t_.push_back(t_s);
  ingested_.push_back(ingested);
  processed_.push_back(processed);
  lag_.push_back(lag_frames);
  stage_processed_.push_back(stage_processed);
}

namespace {
double rate(const std::vector<double>& t, const std::vector<std::uint64_t>& v) {
  const std::size_t n = t.size();
  if (n < 2 || t[n - 1] <= t[n - 2]) return 0;
  return static_cast<double>(v[n - 1] - std::min(v[n - 1], v[n - 2])) / (t[n - 1] - t[n - 2]);
}
}  // namespace

double StatusHistory::fps_in() const { return rate(t_, ingested_); }
double StatusHistory::fps_processed() const { return rate(t_, processed_); }
double StatusHistory::stage_fps(std::size_t stage) const {
  const std::size_t n = t_.size();
  if (n < 2 || t_[n - 1] <= t_[n - 2]) return 0;
  const auto& a = stage_processed_[n - 2];
  const auto& b = stage_processed_[n - 1];
  if (stage >= a.size() || stage >= b.size()) return 0;
  return static_cast<double>(b[stage] - std::min(b[stage], a[stage])) / (t_[n - 1] - t_[n - 2]);
}

json StatusHistory::to_json() const {
  return {{"t_s", t_}, {"ingested", ingested_}, {"processed", processed_}, {"lag_frames", lag_}};
}

std::string rank_state(const RankRecord& rec) {
  if (!rec.alive) return "dead";
  if (rec.role != Role::master && rec.activity.phase == RankPhase::starting && rec.last_heard >= 0 &&
      rec.role != Role::spare) {
    return "starting";
  }
  return to_string(rec.role);
}

namespace {

/// Rounded for people and for the page's check against this document: 3 decimals.
double r3(double v) { return std::round(v * 1000.0) / 1000.0; }

json or_null(bool known, double v) { return known ? json(r3(v)) : json(nullptr); }

}  // namespace

json status_document(const JobModel& model, const StatusContext& ctx, std::uint64_t seq) {
  const JobConfig& cfg = *ctx.cfg;
  const JobTotals t = model.totals();
  // What entered the job and what its first stage(s) processed, as the progress line counts.
  const std::uint64_t processed = model.entry_processed();
  const std::uint64_t ingested = std::max(t.ingested, processed);  // broker metrics may lag the sink
  json doc;
  doc["seq"] = seq;
  doc["state"] = ctx.state;
  doc["exit_code"] = ctx.exit_code ? json(*ctx.exit_code) : json(nullptr);
  doc["mode"] = to_string(cfg.mode);
  doc["elapsed_s"] = r3(ctx.job_s);
  doc["t_s"] = r3(ctx.job_s);
  doc["unix_s"] = ctx.unix_s;
  doc["url"] = ctx.url;
  const StatusHistory* h = ctx.history;
  doc["totals"] = {{"ingested", ingested},
                   {"processed", processed},
                   {"committed", t.committed},
                   {"lag_frames", t.lag_frames},
                   {"lag_s", r3(t.lag_s)},
                   {"ring_bytes", t.ring_bytes},
                   {"spill_bytes", t.spill_bytes},
                   {"duplicates", model.duplicates_dropped},
                   {"processed_all_stages", model.processed},
                   {"fps_in", r3(h ? h->fps_in() : 0.0)},
                   {"fps_processed", r3(h ? h->fps_processed() : 0.0)}};
  std::uint64_t held = 0;
  for (int p = 0; p < model.partitions(); ++p) held += model.partition(p).metrics.held_frames;
  std::string reason = t.partition_states;
  if (held > 0) reason += (reason.empty() ? "" : "; ") + std::to_string(held) + " produce(s) held waiting for room";
  doc["backpressure"] = {{"active", !reason.empty()}, {"reason", reason}, {"held_frames", held}};

  json ranks = json::array();
  for (int r = 0; r < model.ranks(); ++r) {
    const RankRecord& rec = model.rank(r);
    json parts = json::array();
    if (rec.alive && (rec.role == Role::worker || rec.role == Role::spare)) {
      for (int p : model.assignment().partitions_of(r)) parts.push_back(p);
    }
    const bool in_group = rec.stage >= 0 && rec.alive && rec.role == Role::worker;
    const std::string stage = in_group ? cfg.stages.at(static_cast<std::size_t>(rec.stage)).name : std::string();
    ranks.push_back({{"rank", r},
                     {"role", to_string(rec.role)},
                     {"started_as", to_string(rec.started_as)},
                     {"host", rec.host},
                     {"pid", rec.pid},
                     {"state", rank_state(rec)},
                     {"stage", stage.empty() ? json(nullptr) : json(stage)},
                     {"partitions", parts},
                     {"last_heard_s", r == 0 ? 0.0 : (rec.last_heard >= 0 ? r3(ctx.now - rec.last_heard) : -1.0)},
                     {"frames", rec.activity.frames_done},
                     {"spawned", rec.spawned}});
  }
  doc["ranks"] = ranks;

  json stages = json::array();
  for (std::size_t s = 0; s < cfg.stages.size(); ++s) {
    const StageConfig& sc = cfg.stages[s];
    json parts = json::array();
    std::uint64_t lag = 0;
    double lag_s = 0;
    for (int p = 0; p < model.partitions(); ++p) {
      const PartitionRecord& rec = model.partition(p);
      if (rec.stage != static_cast<int>(s)) continue;
      parts.push_back(p);
      if (!rec.reported) continue;
      lag += rec.lag_frames();
      lag_s = std::max(lag_s, rec.lag_s());
    }
    stages.push_back({{"name", sc.name},
                      {"task", sc.task},
                      {"input", sc.input},
                      {"device", to_string(sc.device)},
                      {"partitions", parts},
                      {"workers", model.workers_of(static_cast<int>(s))},
                      {"processed", s < model.stage_processed.size() ? model.stage_processed[s] : 0},
                      {"fps", r3(h ? h->stage_fps(s) : 0.0)},
                      {"lag_frames", lag},
                      {"lag_s", r3(lag_s)}});
  }
  doc["stages"] = stages;

  json partitions = json::array();
  for (int p = 0; p < model.partitions(); ++p) {
    const PartitionRecord& rec = model.partition(p);
    const PartitionMetrics& pm = rec.metrics;
    const double fill = pm.ring_capacity_bytes > 0 ? static_cast<double>(pm.ring_bytes) / static_cast<double>(pm.ring_capacity_bytes) : 0.0;
    partitions.push_back(
        {{"partition", p},
         {"stage", cfg.stages.at(static_cast<std::size_t>(std::max(0, rec.stage))).name},
         {"broker", rec.broker},
         {"owner", model.owner(p)},
         {"epoch", model.epoch(p)},
         {"log_end", pm.end_offset},
         {"committed", pm.committed},
         {"lag_frames", rec.reported ? rec.lag_frames() : 0},
         {"lag_s", r3(rec.lag_s())},
         {"ring_fill", r3(fill)},
         {"ring_bytes", pm.ring_bytes},
         {"spill_bytes", pm.spill_bytes},
         {"held_frames", pm.held_frames},
         {"dropped_frames", pm.dropped_frames},
         {"state", rec.done ? std::string("done") : std::string(to_string(static_cast<LogState>(pm.state)))},
         {"input_fps", or_null(rec.input_fps_known, rec.input_fps)},
         {"replicas", model.map().replicas(p)},
         {"isr", rec.isr}});
  }
  doc["partitions"] = partitions;

  // η (CAM²): achieved / desired frame rate. A camera's is its frames over the ticks it was due
  // at its desired rate (JobModel: StreamRecord::eta, JobTotals::eta); a paced synthetic stream's
  // its measured rate over the desired one.
  const bool paced = cfg.mode == JobMode::stream;
  json streams = json::array();
  double achieved = 0, desired = 0;
  for (const StreamRecord& s : model.streams()) {
    if (!s.reported) continue;
    const double want = s.desired_fps > 0 ? s.desired_fps : paced ? cfg.fps : 0.0;
    const bool known = !s.live && paced && s.fps_known && !s.paused && want > 0;
    if (known) {
      achieved += s.fps;
      desired += want;
    }
    const json eta = s.live ? (s.eta() >= 0 ? json(s.eta()) : json(nullptr)) : or_null(known, known ? s.fps / want : 0.0);
    streams.push_back({{"id", s.id},
                       {"name", s.id < ctx.stream_names.size() ? ctx.stream_names[s.id] : "stream " + std::to_string(s.id)},
                       {"ingest_rank", s.ingest_rank},
                       {"frames", s.frames},
                       {"fps", or_null(s.fps_known, s.fps)},
                       {"desired_fps", want > 0 ? json(want) : json(nullptr)},
                       {"eta", eta},
                       {"live", s.live},
                       {"paused", s.paused},
                       {"paused_ticks", s.paused_ticks},
                       {"missed", s.missed},
                       {"state", to_string(s.state)}});
  }
  doc["streams_total"] = streams.size();
  doc["streams"] = std::move(streams);
  // Cameras' η when there are any (their ticks), else the paced streams' rates.
  doc["eta"] = t.eta >= 0 ? json(t.eta) : or_null(desired > 0, desired > 0 ? achieved / desired : 0.0);

  doc["failures"] = failures_json(model, ctx.t0_ns, ctx.t0);
  doc["scaling"] = scaling_json(model);
  doc["control"] = {{"enabled", ctx.control_enabled},
                    {"log", ctx.control_log ? *ctx.control_log : json::array()}};
  return doc;
}

}  // namespace ride

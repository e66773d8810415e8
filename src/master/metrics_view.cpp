#include "master/metrics_view.h"

#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

#include <map>
#include <stdexcept>

namespace ride {

using nlohmann::json;

const std::vector<MetricSpec>& metric_specs() {
  static const std::vector<MetricSpec> specs = {
      {"ride_job_elapsed_seconds", "gauge", "Job time since START."},
      {"ride_job_state", "gauge", "1 for the job's current state (label state)."},
      {"ride_frames_ingested_total", "counter", "Frames appended to the topics frames enter the job by."},
      {"ride_frames_processed_total", "counter", "Frames the first stage(s) processed (results stored)."},
      {"ride_frames_committed_total", "counter", "Frames committed on the entry topics."},
      {"ride_frames_duplicate_total", "counter", "Result records dropped as duplicates by (stream, sequence)."},
      {"ride_backlog_frames", "gauge", "Frames appended and not yet committed, over every topic."},
      {"ride_backlog_age_seconds", "gauge", "Age of the oldest uncommitted frame, as its broker last reported."},
      {"ride_broker_memory_bytes", "gauge", "Frame bytes held in the brokers' rings."},
      {"ride_broker_spill_bytes", "gauge", "Frame bytes spilled to disk by the brokers."},
      {"ride_backpressure", "gauge", "1 while a partition spills or holds produces."},
      {"ride_stage_frames_processed_total", "counter", "Frames a stage processed (label stage)."},
      {"ride_stage_workers", "gauge", "Workers in a stage's group."},
      {"ride_stage_backlog_frames", "gauge", "Uncommitted frames on a stage's input topic."},
      {"ride_partition_log_end_offset", "gauge", "Frames appended to a partition (its log end offset)."},
      {"ride_partition_committed_offset", "gauge", "A partition's committed offset."},
      {"ride_partition_lag_frames", "gauge", "A partition's uncommitted frames."},
      {"ride_partition_lag_seconds", "gauge",
       "Age of a partition's oldest uncommitted frame, as its broker last reported."},
      {"ride_partition_ring_fill_ratio", "gauge", "How full a partition's memory ring is (0-1)."},
      {"ride_partition_spill_bytes", "gauge", "A partition's bytes on disk."},
      {"ride_partition_epoch", "gauge", "A partition's ownership epoch."},
      {"ride_partition_owner_rank", "gauge", "The rank that owns a partition (-1: none)."},
      {"ride_partition_replicas", "gauge", "Copies of a partition (topic.replication)."},
      {"ride_partition_in_sync_replicas", "gauge", "Copies of a partition that hold everything acknowledged."},
      {"ride_rank_up", "gauge", "1 while a rank is alive, 0 once declared dead (labels rank, role)."},
      {"ride_rank_last_heard_seconds", "gauge", "Seconds since the master last heard from a rank."},
      {"ride_rank_frames_processed_total", "counter", "Frames a worker's compute thread finished."},
      {"ride_failures_total", "counter", "Ranks lost (label role)."},
      {"ride_scaling_events_total", "counter", "Scaling decisions (labels action, stage)."},
      {"ride_control_commands_total", "counter", "Control commands carried out or refused (label result)."},
      {"ride_streams", "gauge", "Input streams reported by ingest."},
      {"ride_streams_paused", "gauge", "Input streams paused by an operator."},
      {"ride_stream_frames_total", "counter",
       "Frames a stream published (per-stream, capped by status.stream_series)."},
      {"ride_stream_missed_total", "counter", "Ticks a stream had no new frame (per-stream, capped)."},
      {"ride_stream_paused", "gauge", "1 while a stream is paused (per-stream, capped)."},
      {"ride_ingest_eta_ratio", "gauge",
       "CAM2's eta, achieved / desired frame rate: over the cameras (frames over due ticks), else over the paced "
       "streams."},
  };
  return specs;
}

namespace {

using Labels = std::vector<prometheus::ClientMetric::Label>;

class Families {
 public:
  Families() {
    for (const auto& s : metric_specs()) index_[s.name] = &s;
  }
  void add(const std::string& name, double value, Labels labels = {}) {
    const auto it = index_.find(name);
    if (it == index_.end()) throw std::logic_error("metric " + name + " is not in metric_specs()");
    auto [f, fresh] = families_.try_emplace(name);
    if (fresh) {
      f->second.name = name;
      f->second.help = it->second->help;
      f->second.type = std::string(it->second->type) == "counter" ? prometheus::MetricType::Counter
                                                                  : prometheus::MetricType::Gauge;
      order_.push_back(name);
    }
    prometheus::ClientMetric m;
    m.label = std::move(labels);
    if (f->second.type == prometheus::MetricType::Counter) m.counter.value = value;
    else m.gauge.value = value;
    f->second.metric.push_back(std::move(m));
  }
  std::vector<prometheus::MetricFamily> take() {
    std::vector<prometheus::MetricFamily> out;
    for (const auto& n : order_) out.push_back(std::move(families_[n]));
    return out;
  }

 private:
  std::map<std::string, const MetricSpec*> index_;
  std::map<std::string, prometheus::MetricFamily> families_;
  std::vector<std::string> order_;
};

double num(const json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<double>() : 0.0;
}

}  // namespace

std::string metrics_text(const json& doc, int stream_series) {
  Families f;
  f.add("ride_job_elapsed_seconds", num(doc, "elapsed_s"));
  for (const char* st : {"starting", "running", "draining", "ended", "failed"}) {
    f.add("ride_job_state", doc.value("state", "") == st ? 1.0 : 0.0, {{"state", st}});
  }
  const json& t = doc.at("totals");
  f.add("ride_frames_ingested_total", num(t, "ingested"));
  f.add("ride_frames_processed_total", num(t, "processed"));
  f.add("ride_frames_committed_total", num(t, "committed"));
  f.add("ride_frames_duplicate_total", num(t, "duplicates"));
  f.add("ride_backlog_frames", num(t, "lag_frames"));
  f.add("ride_backlog_age_seconds", num(t, "lag_s"));
  f.add("ride_broker_memory_bytes", num(t, "ring_bytes"));
  f.add("ride_broker_spill_bytes", num(t, "spill_bytes"));
  f.add("ride_backpressure", doc.at("backpressure").value("active", false) ? 1.0 : 0.0);
  for (const auto& s : doc.at("stages")) {
    const std::string name = s.at("name");
    f.add("ride_stage_frames_processed_total", num(s, "processed"), {{"stage", name}});
    f.add("ride_stage_workers", static_cast<double>(s.at("workers").size()), {{"stage", name}});
    f.add("ride_stage_backlog_frames", num(s, "lag_frames"), {{"stage", name}});
  }
  for (const auto& p : doc.at("partitions")) {
    const Labels l = {{"partition", std::to_string(p.at("partition").get<int>())}, {"stage", p.at("stage")}};
    f.add("ride_partition_log_end_offset", num(p, "log_end"), l);
    f.add("ride_partition_committed_offset", num(p, "committed"), l);
    f.add("ride_partition_lag_frames", num(p, "lag_frames"), l);
    f.add("ride_partition_lag_seconds", num(p, "lag_s"), l);
    f.add("ride_partition_ring_fill_ratio", num(p, "ring_fill"), l);
    f.add("ride_partition_spill_bytes", num(p, "spill_bytes"), l);
    f.add("ride_partition_epoch", num(p, "epoch"), l);
    f.add("ride_partition_owner_rank", num(p, "owner"), l);
    f.add("ride_partition_replicas", p.contains("replicas") ? static_cast<double>(p.at("replicas").size()) : 1.0, l);
    f.add("ride_partition_in_sync_replicas", p.contains("isr") ? static_cast<double>(p.at("isr").size()) : 1.0, l);
  }
  std::map<std::string, double> failures_by_role;
  for (const auto& r : doc.at("ranks")) {
    const std::string rank = std::to_string(r.at("rank").get<int>());
    f.add("ride_rank_up", r.at("state") == "dead" ? 0.0 : 1.0, {{"rank", rank}, {"role", r.at("started_as")}});
    f.add("ride_rank_last_heard_seconds", num(r, "last_heard_s"), {{"rank", rank}});
    const std::string as = r.at("started_as");
    if (as == "worker" || as == "spare") f.add("ride_rank_frames_processed_total", num(r, "frames"), {{"rank", rank}});
  }
  for (const auto& x : doc.at("failures")) failures_by_role[x.at("role").get<std::string>()] += 1;
  for (const char* role : {"worker", "spare", "broker", "ingest"}) {
    f.add("ride_failures_total", failures_by_role[role], {{"role", role}});
  }
  std::map<std::pair<std::string, std::string>, double> scaling;
  for (const auto& e : doc.at("scaling")) scaling[{e.at("action"), e.value("stage", "")}] += 1;
  for (const auto& [key, n] : scaling) f.add("ride_scaling_events_total", n, {{"action", key.first}, {"stage", key.second}});
  std::map<std::string, double> control;
  for (const auto& c : doc.at("control").at("log")) control[c.value("result", "")] += 1;
  for (const char* r : {"ok", "refused", "unauthorized"}) f.add("ride_control_commands_total", control[r], {{"result", r}});
  const json& streams = doc.at("streams");
  double paused = 0;
  for (const auto& s : streams) paused += s.value("paused", false) ? 1.0 : 0.0;
  f.add("ride_streams", static_cast<double>(streams.size()));
  f.add("ride_streams_paused", paused);
  int n = 0;
  for (const auto& s : streams) {
    if (n++ >= stream_series) break;
    const Labels l = {{"stream", std::to_string(s.at("id").get<std::uint32_t>())}};
    f.add("ride_stream_frames_total", num(s, "frames"), l);
    f.add("ride_stream_missed_total", num(s, "missed"), l);
    f.add("ride_stream_paused", s.value("paused", false) ? 1.0 : 0.0, l);
  }
  if (doc.contains("eta") && doc.at("eta").is_number()) f.add("ride_ingest_eta_ratio", doc.at("eta").get<double>());
  return prometheus::TextSerializer().Serialize(f.take());
}

}  // namespace ride

#include "master/model_json.h"

namespace ride {

using nlohmann::json;

json ranks_json(const JobModel& model, bool at_end) {
  json out = json::array();
  for (int r = 0; r < model.ranks(); ++r) {
    const RankRecord& rec = model.rank(r);
    json j = {{"rank", r}, {"role", to_string(rec.started_as)}, {"host", rec.host}, {"pid", rec.pid}};
    if (at_end) {
      if (rec.spawned) j["spawned"] = true;
      j["alive_at_end"] = rec.alive;
      j["role_at_end"] = to_string(rec.role);
    }
    out.push_back(j);
  }
  return out;
}

std::string ranks_file_path(const std::string& summary_path) {
  if (summary_path.empty()) return {};
  std::string base = summary_path;
  if (base.size() > 5 && base.compare(base.size() - 5, 5, ".json") == 0) base.resize(base.size() - 5);
  return base + ".ranks.json";
}

json scaling_json(const JobModel& model) {
  json out = json::array();
  for (const auto& e : model.scaling()) {
    json j = {{"t_s", e.t_s}, {"action", e.action}, {"worker", e.worker}, {"partitions", e.partitions},
              {"reason", e.reason}};
    if (e.from >= 0) j["from"] = e.from;
    if (!e.stage.empty()) j["stage"] = e.stage;
    if (e.action == "grow") j["first_commit_after_s"] = e.first_commit_after_s >= 0 ? json(e.first_commit_after_s) : json(nullptr);
    out.push_back(j);
  }
  return out;
}

json failures_json(const JobModel& model, std::int64_t t0_ns, double t0) {
  json failures = json::array();
  auto unix_s = [&](double steady) { return static_cast<double>(t0_ns) / 1e9 + (steady - t0); };
  for (const auto& f : model.failures()) {
    json moved = json::array();
    for (const auto& mv : f.moved) moved.push_back({{"partition", mv.partition}, {"to", mv.to}, {"epoch", mv.epoch}});
    json streams = json::array();  // an ingest rank's streams, resumed by another (#14)
    for (const auto& s : f.streams) streams.push_back({{"stream", s.stream}, {"to", s.to}, {"from_sequence", s.from}});
    // The death lies between the last message heard and one heartbeat interval after it.
    failures.push_back({{"rank", f.rank},
                        {"role", to_string(f.role)},
                        {"cause", f.cause},
                        {"last_heard_unix_s", unix_s(f.last_heard)},
                        {"detected_unix_s", unix_s(f.detected)},
                        {"detected_after_s", f.detected - f.last_heard},
                        {"recovered_unix_s", f.recovered >= 0 ? json(unix_s(f.recovered)) : json(nullptr)},
                        {"recovered_after_s", f.recovered >= 0 ? json(f.recovered - f.last_heard) : json(nullptr)},
                        {"frames_reprocessed", f.reprocessed},
                        {"partitions_moved", moved},
                        {"streams_moved", streams}});
  }
  return failures;
}

}  // namespace ride

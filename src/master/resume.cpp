#include "master/resume.h"

#include <sstream>
#include <utility>

namespace ride {
namespace {

/// "section.key" -> value of an INI text as JobConfig::to_ini writes it (stage sections keep
/// their dotted names: stage.NAME.key, stage.NAME.params.key).
std::map<std::string, std::string> parse_ini(const std::string& text) {
  std::map<std::string, std::string> out;
  std::istringstream in(text);
  std::string line, section;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    if (line.front() == '[' && line.back() == ']') {
      section = line.substr(1, line.size() - 2);
      continue;
    }
    const auto eq = line.find(" = ");
    if (eq == std::string::npos) continue;
    out[section + "." + line.substr(0, eq)] = line.substr(eq + 3);
  }
  return out;
}

bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

}  // namespace

std::string resume_identity(const JobConfig& cfg) { return cfg.to_ini(); }

bool resume_may_change(const std::string& key) {
  for (const char* section : {"topic.", "broker.", "worker.", "status.", "ft.", "faults.", "scaling."}) {
    if (starts_with(key, section)) return true;
  }
  for (const char* k : {"job.resume", "job.brokers", "job.ingest", "job.workers", "job.spares", "job.stall_timeout_s",
                        "output.summary", "output.journal", "output.path", "ingest.max_in_flight", "ingest.retry_s",
                        "ingest.retry_max_s", "ingest.timeout_s", "ingest.partitioning", "ingest.encoding",
                        "ingest.decoders", "ingest.http", "ingest.rtsp_transport", "ingest.batch_kb", "ingest.linger_ms"}) {
    if (key == k) return true;
  }
  if (starts_with(key, "stage.") && key.find(".params.") == std::string::npos) {
    const std::string field = key.substr(key.rfind('.') + 1);
    for (const char* f : {"partitions", "workers", "min_workers", "max_workers", "device", "threads", "partitioning"}) {
      if (field == f) return true;
    }
  }
  return false;
}

std::optional<std::string> resume_mismatch(const std::string& was, const std::string& now) {
  const auto a = parse_ini(was), b = parse_ini(now);
  auto differs = [&](const std::string& key) -> std::optional<std::string> {
    if (resume_may_change(key)) return std::nullopt;
    const auto x = a.find(key), y = b.find(key);
    const std::string vx = x == a.end() ? "(absent)" : x->second, vy = y == b.end() ? "(absent)" : y->second;
    if (vx == vy) return std::nullopt;
    return key + ": " + vx + " in the journal, " + vy + " now";
  };
  for (const auto& [key, v] : a) {
    if (auto d = differs(key)) return d;
  }
  for (const auto& [key, v] : b) {
    if (auto d = differs(key)) return d;
  }
  return std::nullopt;
}

KeyRanges finished_keys(const std::vector<ResumeStage>& stages, const StoredKeys& stored) {
  auto at = [&](int stage, std::uint32_t stream, std::uint64_t seq) -> std::uint8_t {
    if (stage < 0 || static_cast<std::size_t>(stage) >= stored.size()) return 0;
    const auto& m = stored[static_cast<std::size_t>(stage)];
    const auto s = m.find(stream);
    return s == m.end() || seq >= s->second.size() ? 0 : s->second[seq];
  };
  // Depth-first along the readers; pipelines are short and acyclic (validated at parse).
  auto finished = [&](auto&& self, int stage, std::uint32_t stream, std::uint64_t seq) -> bool {
    const std::uint8_t v = at(stage, stream, seq);
    if (v == 0) return false;
    if (v == 1) return true;
    for (int r : stages[static_cast<std::size_t>(stage)].readers) {
      if (!self(self, r, stream, seq)) return false;
    }
    return true;
  };
  std::vector<int> entry;
  for (std::size_t s = 0; s < stages.size(); ++s) {
    if (stages[s].input < 0) entry.push_back(static_cast<int>(s));
  }
  KeyRanges out;
  if (entry.empty() || static_cast<std::size_t>(entry.front()) >= stored.size()) return out;
  // Every finished key is stored by every entry stage: walk the first one's keys in order.
  for (const auto& [stream, seqs] : stored[static_cast<std::size_t>(entry.front())]) {
    for (std::uint64_t seq = 0; seq < seqs.size(); ++seq) {
      if (seqs[seq] == 0) continue;
      bool all = true;
      for (int e : entry) all = all && finished(finished, e, stream, seq);
      if (all) out.add(stream, seq);
    }
  }
  return out;
}

}  // namespace ride

// What the status server's views cost the master's loop at CAM² scale (#13): the /status
// document, its JSON text and the /metrics text built from it — what master.cpp's
// publish_status does every 0.25 s (or less often when a build takes longer: it keeps the
// document to ~5 % of the loop; the text is written on an HTTP thread, on request) — for a job of W workers, P partitions and S camera streams.
// bench/status_load.py measures the HTTP side with a running job; this measures the view.
// usage: bench_status_view_scale [--workers 1000] [--partitions 10000] [--streams 5000] [--repeat 20]
// Prints one JSON object.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/config.h"
#include "core/partition_map.h"
#include "core/role_layout.h"
#include "master/job_model.h"
#include "master/metrics_view.h"
#include "master/status_view.h"

using namespace ride;

int main(int argc, char** argv) {
  int workers = 1000, partitions = 10000, streams = 5000, repeat = 20;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    const int v = std::stoi(argv[i + 1]);
    if (a == "--workers") workers = v;
    else if (a == "--partitions") partitions = v;
    else if (a == "--streams") streams = v;
    else if (a == "--repeat") repeat = v;
  }
  JobConfig cfg = parse_job_config({});
  RoleLayout layout;
  const int brokers = std::max(1, workers / 50), spares = std::max(1, workers / 20);
  layout.world = 1 + brokers + 1 + workers + spares;
  int next = 1;
  for (int i = 0; i < brokers; ++i) layout.brokers.push_back(next++);
  layout.ingest.push_back(next++);
  for (int i = 0; i < workers; ++i) layout.workers.push_back(next++);
  for (int i = 0; i < spares; ++i) layout.spares.push_back(next++);
  layout.partitions = partitions;
  JobModel model(layout, PartitionMap::spread(partitions, layout.brokers));
  model.assignment().assign_round_robin(layout.workers);
  const std::int64_t now_ns = 1'800'000'000'000'000'000;
  for (int p = 0; p < partitions; ++p) {
    PartitionMetrics pm;
    pm.partition = static_cast<std::uint32_t>(p);
    pm.end_offset = 1000 + static_cast<std::uint64_t>(p % 7);
    pm.committed = 990;
    pm.ring_bytes = 4 << 20;
    pm.ring_capacity_bytes = 64 << 20;
    pm.oldest_capture_ns = now_ns - 200'000'000;
    pm.as_of_ns = now_ns;
    model.on_partition_metrics(pm, now_ns);
  }
  std::vector<StreamReport> reports;
  for (int s = 0; s < streams; ++s) {
    StreamReport r;
    r.stream = static_cast<std::uint32_t>(s);
    r.state = StreamState::streaming;
    r.frames = 500;
    reports.push_back(r);
  }
  model.on_stream_reports(layout.ingest[0], reports, 0.0);
  for (auto& r : reports) r.frames += 10;
  model.on_stream_reports(layout.ingest[0], reports, 1.0);
  StatusHistory history;
  for (int t = 0; t < 600; ++t) history.sample(t, 100ull * t, 99ull * t, 10, {99ull * t});
  StatusContext c;
  c.cfg = &cfg;
  c.state = "running";
  c.job_s = 600;
  c.now = 600;
  c.history = &history;
  using Clock = std::chrono::steady_clock;
  std::vector<double> doc_ms, json_ms, metrics_ms;
  std::size_t json_bytes = 0, metrics_bytes = 0;
  for (int i = 0; i < repeat; ++i) {
    const auto t0 = Clock::now();
    const nlohmann::json doc = status_document(model, c, static_cast<std::uint64_t>(i + 1));
    const auto t1 = Clock::now();
    const std::string text = doc.dump();
    const auto t2 = Clock::now();
    const std::string metrics = metrics_text(doc, cfg.status_stream_series);
    const auto t3 = Clock::now();
    doc_ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    json_ms.push_back(std::chrono::duration<double, std::milli>(t2 - t1).count());
    metrics_ms.push_back(std::chrono::duration<double, std::milli>(t3 - t2).count());
    json_bytes = text.size();
    metrics_bytes = metrics.size();
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  const double total = median(doc_ms) + median(json_ms) + median(metrics_ms);
  const nlohmann::json out = {{"workers", workers}, {"partitions", partitions}, {"streams", streams},
                              {"repeat", repeat}, {"document_ms", median(doc_ms)}, {"json_text_ms", median(json_ms)},
                              {"metrics_text_ms", median(metrics_ms)}, {"total_ms", total},
                              {"status_bytes", json_bytes}, {"metrics_bytes", metrics_bytes},
                              // the loop builds the document; the text is written on an HTTP thread
                              {"loop_ms_per_publish", median(doc_ms)},
                              {"publish_interval_s", std::max(0.25, 20 * median(doc_ms) / 1000.0)}};
  std::printf("%s\n", out.dump(2).c_str());
  return 0;
}

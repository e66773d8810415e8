#include "master/summary.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <set>

#include "core/format.h"
#include "core/log_state.h"
#include "master/model_json.h"
#include "sink/result_check.h"
#include "sink/result_store.h"

#ifndef RIDE_GIT_COMMIT
#define RIDE_GIT_COMMIT "unknown"
#endif

namespace ride {
namespace {

using nlohmann::json;

std::string rank_list(const std::set<int>& ranks) {
  std::string out;
  for (int r : ranks) out += (out.empty() ? "" : ", ") + std::to_string(r);
  return out;
}

/// A stage's aggregates (core/aggregates.h) into the results file: its group's reduction, plus
/// the stored rows of ranks outside the group (they died or left before the end) from the file;
/// every row counted once, by the rank it was stored from. Returns what the summary says of them.
json write_stage_aggregates(const RunRecord& run, int stage, const ResultFile& rf) {
  const task::Stage& st = run.pipeline->stage(stage);
  const std::vector<int> members = static_cast<std::size_t>(stage) < run.reduce_members.size()
                                       ? run.reduce_members[static_cast<std::size_t>(stage)]
                                       : std::vector<int>{};
  const auto reduced = run.reduced.find(stage);
  // A resumed run's group reduced only the rows of this run: the file holds them all.
  const bool group = reduced != run.reduced.end() && run.resume.is_null();
  ScalarAggregates total(static_cast<std::size_t>(run.cfg->streams), st.own_scalars);
  if (group) total.merge(reduced->second);
  std::set<int> from_file;
  const bool noop = st.task.info.name == "noop";
  for (const auto& r : rf.rows) {
    if (r.status != ResultStatus::ok || noop) continue;
    if (group && std::find(members.begin(), members.end(), r.worker_rank) != members.end()) continue;
    total.add(r.stream, r.scalars.data());
    from_file.insert(r.worker_rank);
  }
  std::vector<AggregateRow> rows;
  for (std::size_t s = 0; s < total.streams(); ++s) {
    for (std::size_t k = 0; k < total.scalars(); ++k) {
      if (total.count(s, k) == 0) continue;
      rows.push_back({static_cast<std::uint32_t>(s), st.task.info.scalars[k], total.count(s, k), total.sum(s, k),
                      total.min(s, k), total.max(s, k)});
    }
  }
  std::string source;
  if (group) {
    source = "group reduction of stage " + st.name() + " over its survivors (ranks " +
             rank_list(std::set<int>(members.begin(), members.end())) +
             (run.reduced_with.count(stage) && run.reduced_with.at(stage) == ScalarAggregates::Method::nccl
                  ? "; NCCL communicator over their GPUs, ncclReduce)"
                  : "; MPI_Comm_create_group + MPI_Reduce)");
    if (!from_file.empty()) source += " + the stored rows of ranks " + rank_list(from_file) + " (gone before the end), from the results file";
  } else if (!run.resume.is_null()) {
    source = "the results file (a resumed run: its group reduction covered only the rows of this run)";
  } else {
    source = members.empty() ? "the results file (no live rank of the stage's group at the end)"
                             : "the results file (the stage's group reduction did not answer)";
  }
  append_aggregates(run.cfg->results_path, run.pipeline->multi_stage() ? st.name() : std::string(), rows, source);
  json members_json = members;
  const bool nccl = group && run.reduced_with.count(stage) && run.reduced_with.at(stage) == ScalarAggregates::Method::nccl;
  return {{"source", source}, {"group_members", members_json}, {"reduced", group},
          {"method", group ? (nccl ? "nccl" : "mpi") : "file"}, {"rows", rows.size()}};
}

}  // namespace

std::string status_line(const JobModel& model, double job_s, double fps) {
  JobTotals t = model.totals();
  // What entered the job and what its first stage(s) processed; later stages after the line.
  const std::uint64_t processed = model.entry_processed();
  std::string stages;
  for (int st = 0; st < model.stages() && static_cast<std::size_t>(st) < model.stage_processed.size(); ++st) {
    if (model.stages() > 1) {
      stages.push_back(' ');
      stages.append(std::to_string(model.stage_processed[static_cast<std::size_t>(st)]));
    }
  }
  // Broker metrics may be a fraction of a second older than the sink's own count.
  t.ingested = std::max(t.ingested, processed);
  char line[256];
  std::snprintf(line, sizeof line,
                "[ride] t=%6.1fs ingested %8llu processed %8llu committed %8llu lag %6llu "
                "(%5.1f s) ring %7.1f MB spill %7.1f MB %7.1f fps",
                job_s, static_cast<unsigned long long>(t.ingested),
                static_cast<unsigned long long>(processed),
                static_cast<unsigned long long>(t.committed),
                static_cast<unsigned long long>(t.lag_frames), t.lag_s,
                static_cast<double>(t.ring_bytes) / 1e6, static_cast<double>(t.spill_bytes) / 1e6, fps);
  // CAM²'s η over the cameras: frames published over the ticks they were due.
  char eta[32] = "";
  if (t.eta >= 0) std::snprintf(eta, sizeof eta, " eta %.3f", t.eta);
  return std::string(line) + eta + (stages.empty() ? "" : "  stages" + stages) +
         (t.partition_states.empty() ? "" : "  [" + t.partition_states + "]");
}

int finish_run(const RunRecord& run, const std::string& failure) {
  const JobConfig& cfg_ = *run.cfg;
  const JobModel& model = *run.model;
  std::vector<std::string> errors_ = run.errors;
  const bool all_ingest_done = run.ingest_reports.size() == run.ingest_ranks;
  ResultCheck check;
  std::uint64_t rows = 0;
  std::vector<double> latency_ms;
  // Every stage re-read from the file: what entered it (ingest's frames, or the keys its input
  // stage stored as forwarded), what it stored, lost and duplicated.
  struct StageAccount {
    ResultCheck check;
    std::uint64_t rows = 0, forwarded = 0;
  };
  std::vector<StageAccount> stage_accounts;
  const bool multi = run.pipeline && run.pipeline->multi_stage();
  std::vector<ResultFile> files;  ///< by stage (one-stage jobs: the root tables)
  if (run.results_written && !multi) {
    files.push_back(read_results(cfg_.results_path));
    const ResultFile& rf = files.back();
    rows = rf.rows.size();
    check = check_results(rf.rows, run.expected);
    latency_ms.reserve(rf.rows.size());
    for (const auto& r : rf.rows) latency_ms.push_back(static_cast<double>(r.processed_ns - r.capture_ns) / 1e6);
    stage_accounts.push_back({check, rows, 0});
  } else if (run.results_written) {
    const auto& stages = run.pipeline->all();
    std::vector<std::vector<std::pair<std::uint32_t, std::uint64_t>>> forwarded_keys(stages.size());
    files.resize(stages.size());
    for (const auto& st : stages) files[static_cast<std::size_t>(st.index)] = read_results(cfg_.results_path, st.name());
    for (const auto& st : stages) {
      const ResultFile& rf = files[static_cast<std::size_t>(st.index)];
      if (!st.has_forwarded_column()) continue;
      auto& keys = forwarded_keys[static_cast<std::size_t>(st.index)];
      for (const auto& r : rf.rows) {
        if (r.status == ResultStatus::ok && r.scalars[st.own_scalars] == 1.0) keys.emplace_back(r.stream, r.sequence);
      }
      std::sort(keys.begin(), keys.end());
      keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    }
    stage_accounts.resize(stages.size());
    for (const auto& st : stages) {
      const ResultFile& rf = files[static_cast<std::size_t>(st.index)];
      StageAccount& a = stage_accounts[static_cast<std::size_t>(st.index)];
      a.rows = rf.rows.size();
      a.check = st.input < 0 ? check_results(rf.rows, run.expected)
                             : check_result_keys(rf.rows, forwarded_keys[static_cast<std::size_t>(st.input)]);
      a.forwarded = forwarded_keys[static_cast<std::size_t>(st.index)].size();
      rows += a.rows;
      // End-to-end latency: capture to the result of the last stage on a frame's way.
      if (st.readers.empty()) {
        for (const auto& r : rf.rows) latency_ms.push_back(static_cast<double>(r.processed_ns - r.capture_ns) / 1e6);
      }
    }
    // The job's totals: what entered the pipeline (its first stage's frames), what was lost or
    // duplicated anywhere along it.
    check = stage_accounts[static_cast<std::size_t>(run.pipeline->ingest_readers().front())].check;
    check.lost = check.duplicates = check.unexpected = 0;
    for (const auto& a : stage_accounts) {
      check.lost += a.check.lost;
      check.duplicates += a.check.duplicates;
      check.unexpected += a.check.unexpected;
    }
  }
  std::uint64_t ingested = 0, committed = 0, in_brokers = 0;
  for (const auto& [s, n] : run.expected) ingested += n;
  for (int p = 0; p < model.partitions(); ++p) {
    if (!model.entry_stage(model.partition(p).stage)) continue;  // what entered the job
    committed += model.partition(p).metrics.committed;
    in_brokers += model.partition(p).metrics.end_offset;
  }
  // Every ingested key is exactly one of: processed (ok or failed with its error recorded),
  // dropped by a drop policy, or lost.
  std::uint64_t processed = check.unique - check.dropped;
  std::uint64_t lost = check.lost;
  // A resumed run (#14): live inputs cannot be read again, so the frames of theirs the earlier
  // run had not stored when its master died are gone; ingest counted them (never as this run's loss).
  std::uint64_t lost_before_resume = 0;
  for (const auto& j : run.ingest_reports) lost_before_resume += j.value("lost_before_resume", std::uint64_t{0});
  lost -= std::min(lost, lost_before_resume);
  const bool partial = !all_ingest_done;
  if (partial) {
    // An aborted job: some ingest rank never said what it produced. Count what the brokers
    // accepted instead, and every stored key as processed; lost is then a lower bound.
    processed = check.unique + check.unexpected - check.dropped;
    // Broker metrics can be a fraction of a second older than the results.
    ingested = std::max({ingested, in_brokers, processed + check.dropped});
    lost = ingested - std::min(ingested, processed + check.dropped);
  }

  const double elapsed = run.end - run.t0;
  const double processing = run.processing_started ? run.end - run.processing_t0 : 0.0;

  // Mean frame size: what ingest published (real inputs have their own sizes), else the config.
  double ingest_bytes = 0;
  for (const auto& j : run.ingest_reports) ingest_bytes += j.value("bytes", 0.0);
  const std::uint64_t published = ingested - std::min(ingested, run.resumed);  // by this run's ingest
  const double frame_mb = published > 0 && ingest_bytes > 0
                              ? ingest_bytes / static_cast<double>(published) / 1e6
                              : static_cast<double>(cfg_.width) * cfg_.height / 1e6;
  json s;
  s["ride_version"] = "0.1.0";
  s["commit"] = RIDE_GIT_COMMIT;
  s["status"] = failure.empty() && errors_.empty() && lost == 0 && check.duplicates == 0 ? "ok" : "failed";
  s["errors"] = errors_;
  s["mode"] = to_string(cfg_.mode);
  if (multi) {
    std::string tasks;
    for (const auto& st : run.pipeline->all()) tasks += (tasks.empty() ? "" : ",") + st.cfg->task;
    s["task"] = tasks;
  } else {
    s["task"] = cfg_.task;
  }
  s["config"] = cfg_.to_ini();
  s["results_path"] = cfg_.results_path;
  s["ranks"] = ranks_json(model, true);
  s["frames"] = {{"ingested", ingested},
                 {"processed", processed},
                 {"committed", committed},
                 {"lost", lost},
                 {"accounting", partial ? "partial: an ingest rank never reported (job aborted)"
                                        : "complete"},
                 {"duplicates", check.duplicates},
                 {"duplicates_dropped", model.duplicates_dropped},
                 {"dropped", check.dropped},
                 {"failed", check.failed},
                 {"unexpected", check.unexpected},
                 {"result_rows", rows},
                 {"resumed", run.resumed},
                 {"lost_before_resume", lost_before_resume}};
  s["elapsed_s"] = elapsed;
  s["processing_s"] = processing;
  s["ingest_s"] = run.ingest_end > 0 ? run.ingest_end - run.t0 : 0.0;
  const double rate_window = cfg_.mode == JobMode::batch ? processing : elapsed;
  // What this run processed: a resumed run's earlier keys are in the file but not in its time.
  const double processed_here = static_cast<double>(processed - std::min(processed, run.resumed));
  s["throughput_fps"] = rate_window > 0 ? processed_here / rate_window : 0.0;
  s["throughput_MBps"] = rate_window > 0 ? processed_here * frame_mb / rate_window : 0.0;
  // job.resume (#14): how many keys the run whose master died had finished (kept, not redone).
  s["resumed"] = run.resumed;
  s["resume"] = run.resume;
  if (!latency_ms.empty()) {
    std::sort(latency_ms.begin(), latency_ms.end());
    auto q = [&](double f) { return latency_ms[static_cast<std::size_t>(f * static_cast<double>(latency_ms.size() - 1))]; };
    s["latency_ms"] = {{"p50", q(0.5)}, {"p90", q(0.9)}, {"p99", q(0.99)}, {"max", latency_ms.back()}};
  }
  json workers = json::array(), brokers = json::array(), ingest = json::array(),
       spares = json::array();
  for (const auto& [rank, rep] : run.final_reports) {
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
  for (auto j : run.ingest_reports) {
    j.erase("produced_per_s");
    j.erase("streams");
    j["role"] = "ingest";
    refused += j.value("refused", std::uint64_t{0});
    rejected += j.value("rejected", std::uint64_t{0});
    ingest_blocked_s += j.value("backpressure_s", 0.0);
    ingest.push_back(j);
  }
  for (const auto& b : brokers) broker_held_s += b.value("backpressure_s", 0.0);
  std::uint64_t jpeg_decoded = 0;  // JPEG frames the workers decoded (spares promoted included)
  for (const auto& w : workers) jpeg_decoded += w.value("jpeg_decoded", std::uint64_t{0});
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
    for (const auto& j : run.ingest_reports)
      for (const auto& src : j.value("sources", json::array()))
        if (width == cfg_.width && height == cfg_.height && src.value("width", 0) > 0) {
          width = src.value("width", 0);
          height = src.value("height", 0);
        }
    s["resources"] = {
        {"program", cfg_.task},
        {"width", width},
        {"height", height},
        {"fps", cfg_.mode == JobMode::stream ? json(cfg_.fps) : json(nullptr)},
        {"cores_per_stream", active > 0 ? cpu / active / streams : 0.0},
        {"mem_gb_per_stream", mem / 1e9 / streams},
        {"processed_fps_per_stream", active > 0 ? static_cast<double>(processed) / active / streams : 0.0}};
  }
  s["spares"] = spares;
  s["brokers"] = brokers;
  s["replication"] = run.replication;
  // Ingest: each rank's own account (INGEST_DONE), and CAM²'s η over every camera (frames
  // published over the ticks they were due at their desired rate), the most threads a rank ran.
  {
    std::uint64_t frames = 0, ticks = 0, cameras = 0, jpeg_frames = 0;
    double camera_cpu = 0, wire_bytes = 0, decoded_bytes = 0;
    int threads = 0;
    for (const auto& j : run.ingest_reports) {
      threads = std::max(threads, j.value("threads", 0));
      wire_bytes += j.value("bytes", 0.0);
      decoded_bytes += j.value("decoded_bytes", 0.0);
      jpeg_frames += j.value("jpeg_frames", std::uint64_t{0});
      for (const auto& src : j.value("sources", json::array())) {
        if (!src.value("live", false)) continue;
        const std::uint64_t f = src.value("frames_published", std::uint64_t{0});
        frames += f;
        ticks += f + src.value("skipped_ticks", std::uint64_t{0});
        camera_cpu += src.value("cpu_s", 0.0);
        ++cameras;
      }
    }
    s["ingest"] = {{"ranks", ingest},
                   {"eta", ticks > 0 ? json(static_cast<double>(frames) / static_cast<double>(ticks)) : json(nullptr)},
                   {"camera_frames", frames},
                   {"camera_ticks", ticks},
                   {"cameras", cameras},
                   // what a camera costs ingest: its capture thread's CPU (an RTSP/H.264 camera is
                   // decoded throughout), or the hub's decoders' on its JPEGs, over the job
                   {"camera_cpu_s", camera_cpu},
                   {"cpu_s_per_camera_per_s",
                    cameras > 0 && elapsed > 0 ? camera_cpu / static_cast<double>(cameras) / elapsed : 0.0},
                   {"threads", threads},
                   // ingest.encoding (#15): what a frame cost the brokers (and spill, and the
                   // network) against its decoded size, over the frames this run published
                   {"encoding", to_string(cfg_.encoding)},
                   {"jpeg_encode", cfg_.jpeg_encode},
                   {"jpeg_frames", jpeg_frames},
                   {"bytes_per_frame", published > 0 ? wire_bytes / static_cast<double>(published) : 0.0},
                   {"decoded_bytes_per_frame", published > 0 ? decoded_bytes / static_cast<double>(published) : 0.0},
                   {"jpeg_decoded_by_workers", jpeg_decoded}};
  }
  if (cfg_.source == InputSource::video) {  // every real input's account, in stream order
    json inputs = json::array();
    for (const auto& j : run.ingest_reports)
      for (const auto& src : j.value("sources", json::array())) inputs.push_back(src);
    std::sort(inputs.begin(), inputs.end(),
              [](const json& a, const json& b) { return a.value("stream", 0) < b.value("stream", 0); });
    s["inputs"] = inputs;
  }
  json parts = json::array();
  for (int p = 0; p < model.partitions(); ++p) {
    const PartitionRecord& rec = model.partition(p);
    const PartitionMetrics& pm = rec.metrics;
    parts.push_back({{"partition", p},
                     {"broker", rec.broker},
                     {"owner", model.owner(p)},
                     {"epoch", model.epoch(p)},
                     {"end_offset", pm.end_offset},
                     {"committed", pm.committed},
                     {"lag_frames", pm.end_offset - std::min(pm.end_offset, pm.committed)},
                     {"state", to_string(static_cast<LogState>(pm.state))},
                     {"ring_bytes", pm.ring_bytes},
                     {"ring_capacity_bytes", pm.ring_capacity_bytes},
                     {"spill_bytes", pm.spill_bytes},
                     {"spilled_frames", pm.spilled_frames},
                     {"dropped_frames", pm.dropped_frames},
                     {"max_lag_frames", rec.peaks.lag_frames},
                     {"max_lag_s", rec.peaks.lag_s},
                     {"max_ring_fill", rec.peaks.ring_fill},
                     {"max_spill_bytes", rec.peaks.spill_bytes}});
  }
  s["partitions"] = parts;
  json timeline = json::array();
  const std::size_t secs = std::max(model.produced_per_s.size(), model.processed_per_s.size());
  std::uint64_t cum_prod = 0, cum_proc = 0;
  for (std::size_t t = 0; t < secs; ++t) {
    const std::uint64_t prod = t < model.produced_per_s.size() ? model.produced_per_s[t] : 0;
    const std::uint64_t proc = t < model.processed_per_s.size() ? model.processed_per_s[t] : 0;
    cum_prod += prod;
    cum_proc += proc;
    timeline.push_back({{"t", t}, {"produced", prod}, {"processed", proc},
                        {"produced_total", cum_prod}, {"processed_total", cum_proc}});
  }
  s["timeline"] = timeline;
  json failures = failures_json(model, run.t0_ns, run.t0);
  s["failures"] = failures;
  s["replenished"] = run.replenished;
  s["scaling"] = scaling_json(model);
  // The HTTP status server (status.listen): where it was, and what operators asked of the job.
  // "status" stays the run's verdict ("ok" / "failed"), so the URL is the flat key "status.url".
  if (run.status_server.contains("url")) s["status.url"] = run.status_server.at("url");
  s["status_server"] = run.status_server;
  s["control"] = {{"drained", run.drained}, {"log", run.control_log}};
  s["allocation"] = run.allocation;
  // Per stage: what entered it, what it processed and sent on, lost and duplicates (from the
  // results file), its group, its rate and its worst lag.
  {
    json stages = json::object();
    const double window = cfg_.mode == JobMode::batch ? processing : elapsed;
    const int n = run.pipeline ? run.pipeline->stages() : 1;
    for (int si = 0; si < n; ++si) {
      const StageAccount a = static_cast<std::size_t>(si) < stage_accounts.size() ? stage_accounts[static_cast<std::size_t>(si)] : StageAccount{};
      const std::string name = run.pipeline ? run.pipeline->stage(si).name() : std::string("main");
      std::uint64_t lag_frames = 0;
      double lag_s = 0;
      for (int p = 0; p < model.partitions(); ++p) {
        if (model.partition(p).stage != si) continue;
        lag_frames = std::max(lag_frames, model.partition(p).peaks.lag_frames);
        lag_s = std::max(lag_s, model.partition(p).peaks.lag_s);
      }
      json ranks = json::array();
      for (int r : model.workers_of(si)) ranks.push_back(r);
      const std::uint64_t stage_processed = a.check.unique - std::min(a.check.unique, a.check.dropped);
      json j = {{"frames_in", a.check.expected},
                {"processed", stage_processed},
                {"forwarded", a.forwarded},
                {"lost", a.check.lost},
                {"duplicates", a.check.duplicates},
                {"failed", a.check.failed},
                {"dropped", a.check.dropped},
                {"unexpected", a.check.unexpected},
                {"result_rows", a.rows},
                {"workers", ranks.size()},
                {"worker_ranks", ranks},
                {"fps", window > 0 ? static_cast<double>(stage_processed) / window : 0.0},
                {"lag", lag_frames},
                {"lag_s", lag_s}};
      if (run.pipeline && static_cast<std::size_t>(si) < files.size()) {
        try {
          j["aggregates"] = write_stage_aggregates(run, si, files[static_cast<std::size_t>(si)]);
        } catch (const std::exception& e) {
          errors_.push_back(std::string("writing the aggregates of stage ") + name + ": " + e.what());
          s["errors"] = errors_;
          s["status"] = "failed";
        }
      }
      if (run.pipeline) {
        const task::Stage& st = run.pipeline->stage(si);
        j["task"] = st.cfg->task;
        j["input"] = st.cfg->input;
        j["partitions"] = {st.first_partition, st.first_partition + st.partitions};
        if (!st.cfg->forward.empty()) j["forward"] = st.cfg->forward;
        j["emit"] = to_string(st.cfg->emit);
        j["device"] = to_string(st.cfg->device);
        j["threads"] = st.cfg->threads;
      }
      stages[name] = j;
    }
    s["stages"] = stages;
  }

  std::cout << "[ride] done in " << fixed(elapsed, 2) << " s: ingested " << ingested << ", processed " << processed
            << (run.resumed > 0 ? " (" + std::to_string(run.resumed) + " kept from the resumed run)" : std::string())
            << ", committed " << committed << ", lost " << lost << (partial ? " (at least)" : "")
            << (lost_before_resume > 0
                    ? " (+" + std::to_string(lost_before_resume) + " live frames the resumed run had not stored)"
                    : std::string())
            << ", duplicates " << check.duplicates << ", failed " << check.failed
            << (check.dropped ? ", dropped " + std::to_string(check.dropped) : std::string()) << "; "
            << fixed(s["throughput_fps"].get<double>(), 1) << " frames/s ("
            << fixed(s["throughput_MBps"].get<double>(), 1) << " MB/s"
            << (cfg_.mode == JobMode::batch ? " over " + fixed(processing, 2) + " s of processing" : "") << ")\n";
  if (multi) {
    for (const auto& [name, st] : s["stages"].items()) {
      std::cout << "[ride]   stage " << name << " (" << st.value("task", "") << "): in " << st["frames_in"]
                << ", processed " << st["processed"] << ", forwarded " << st["forwarded"] << ", lost "
                << st["lost"] << ", duplicates " << st["duplicates"] << ", " << st["workers"] << " worker(s), "
                << fixed(st.value("fps", 0.0), 1) << " fps\n";
    }
  }
  for (const auto& w : workers) {
    std::cout << "[ride]   worker rank " << w["rank"] << ": " << w["processed"] << " frames, "
              << fixed(w.value("fps", 0.0), 1) << " fps\n";
  }
  for (const auto& f : model.failures()) {
    std::cout << "[ride]   failure of rank " << f.rank << " (" << to_string(f.role) << "): detected "
              << fixed(f.detected - f.last_heard, 3) << " s after it was last heard, "
              << (f.recovered >= 0 ? "frames flowing again after " + fixed(f.recovered - f.last_heard, 3) + " s"
                                   : std::string("not recovered"))
              << ", " << f.reprocessed << " frame(s) re-processed\n";
  }
  // Real inputs: a line each (a few), or a count by state and a line for each one with a
  // problem (many), so that an unreachable camera is plain to see (the job went on).
  std::uint64_t unreachable = 0;
  std::vector<json> sources;
  for (const auto& j : run.ingest_reports)
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
  if (!s["ingest"]["eta"].is_null()) {
    std::cout << "[ride]   cameras: eta " << fixed(s["ingest"]["eta"].get<double>(), 3) << " ("
              << s["ingest"]["camera_frames"] << " frames over " << s["ingest"]["camera_ticks"]
              << " ticks at their desired rates); " << fixed(1000 * s["ingest"]["cpu_s_per_camera_per_s"].get<double>(), 2)
              << " ms of CPU per camera per second; ingest ran at most " << s["ingest"]["threads"] << " threads\n";
  }
  std::size_t shown = 0, problems = 0;
  for (const auto& src : sources) {
    const bool problem = src.value("state", "") == "unreachable" || src.value("reconnects", 0) > 0 ||
                         src.value("skipped_files", 0) > 0 || src.value("corrupt_frames", 0) > 0 ||
                         src.value("dropped_packets", 0) > 0 ||
                         src.value("frames_published", 0) + src.value("frames_resumed", 0) == 0;
    problems += problem ? 1 : 0;
    if (!few && (!problem || shown >= 20)) continue;
    ++shown;
    std::cout << "[ride]   input " << src.value("stream", 0) << " (" << src.value("name", "") << "): "
              << src.value("state", "") << ", " << src.value("frames_published", 0) << " frames published of "
              << src.value("frames_read", 0) << " read";
    if (src.value("frames_resumed", 0) > 0)
      std::cout << " (" << src.value("frames_resumed", 0) << " finished by the resumed run, passed over)";
    if (src.value("width", 0) > 0) std::cout << ", " << src.value("width", 0) << "x" << src.value("height", 0);
    if (src.value("skipped_ticks", 0) > 0) std::cout << ", " << src.value("skipped_ticks", 0) << " ticks without a new frame";
    if (src.value("attempts", 0) > 1) std::cout << ", " << src.value("attempts", 0) << " attempts to open";
    if (src.value("reconnects", 0) > 0) std::cout << ", " << src.value("reconnects", 0) << " reconnects";
    if (src.value("skipped_files", 0) > 0)
      std::cout << ", " << src.value("skipped_files", 0) << " image file(s) that did not decode skipped";
    if (src.value("corrupt_frames", 0) > 0) std::cout << ", " << src.value("corrupt_frames", 0) << " corrupt frame(s) skipped";
    if (src.value("dropped_packets", 0) > 0)
      std::cout << ", " << src.value("dropped_packets", 0) << " packet(s) dropped (the decoders fell behind)";
    if (src.contains("eta") && src["eta"].is_number()) std::cout << ", eta " << fixed(src["eta"].get<double>(), 3);
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

}  // namespace ride

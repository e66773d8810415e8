/// The job model as /status and /metrics show it (master/status_view.h, master/metrics_view.h),
/// the chart history, stream records (JobModel::on_stream_reports) and an operator's resize of
/// a worker group (AdaptiveGroup::resize).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "job_layouts.h"

#include "core/config.h"
#include "core/log_state.h"
#include "core/role_layout.h"
#include "core/stream_report.h"
#include "master/adaptive.h"
#include "master/job_model.h"
#include "master/metrics_view.h"
#include "master/recovery.h"
#include "master/status_view.h"

namespace ride {
namespace {

using nlohmann::json;
using test::layout_of;
using test::metrics;

JobConfig one_stage_config(JobMode mode = JobMode::stream, double fps = 10) {
  JobConfig cfg;
  cfg.mode = mode;
  cfg.fps = fps;
  StageConfig s;
  s.name = "main";
  s.task = "noop";
  cfg.stages = {s};
  return cfg;
}

JobModel model_of(int workers, int spares, int partitions) {
  const RoleLayout l = layout_of(workers, spares, partitions);
  JobModel m(l, PartitionMap::spread(partitions, l.brokers));
  m.assignment().assign_round_robin(m.workers());
  return m;
}

StreamReport report(std::uint32_t id, std::uint64_t frames, bool paused = false,
                    StreamState state = StreamState::streaming) {
  return {
      .stream = id, .state = state, .paused = paused, .frames = frames, .missed = id, .paused_ticks = paused ? 5u : 0u};
}

constexpr std::int64_t kSec = 1'000'000'000;

/// 2 workers (3, 4), 1 spare (5), 4 partitions with broker metrics, one sink count, one dead
/// worker, 3 streams (two with rates), one failure and one scaling event.
struct Fixture {
  JobConfig cfg = one_stage_config();
  JobModel model = model_of(2, 1, 4);
  StatusHistory history;
  StatusContext ctx;
  Fixture() {
    auto a = metrics(0, 100, 40);
    a.oldest_capture_ns = 7 * kSec;
    a.as_of_ns = 9 * kSec;  // the broker's clock when it reported
    a.ring_bytes = 500;
    a.ring_capacity_bytes = 1000;
    a.spill_bytes = 64;
    a.held_frames = 2;
    model.on_partition_metrics(a, 9 * kSec);
    model.on_partition_metrics(metrics(1, 50, 50), 9 * kSec);
    model.on_partition_metrics(metrics(2, 30, 10), 9 * kSec);  // partition 3 never reports
    model.stage_processed = {77};
    model.processed = 80;
    model.duplicates_dropped = 2;
    model.rank(3).activity.phase = RankPhase::running;
    model.rank(3).activity.frames_done = 40;
    model.rank(3).last_heard = 99.5;
    model.rank(3).host = "node1";
    model.rank(3).pid = 1234;
    model.rank(4).last_heard = 90;
    model.declare_dead(4);
    FailureRecord f;
    f.rank = 4;
    f.role = Role::worker;
    f.cause = "silent";
    f.last_heard = 90;
    f.detected = 95;
    model.failures().push_back(f);
    ScalingEvent e;
    e.action = "grow";
    e.worker = 5;
    e.reason = "test";
    model.scaling().push_back(e);
    model.on_stream_reports(2, {report(0, 0), report(1, 0), report(2, 0, true)}, 99.0);
    model.on_stream_reports(2, {report(0, 10), report(1, 25), report(2, 0, true)}, 100.0);
    history.sample(0, 0, 0, 0, {0});
    history.sample(1, 20, 10, 5, {10});
    ctx.cfg = &cfg;
    ctx.state = "running";
    ctx.job_s = 12.3456;
    ctx.now = 100.0;
    ctx.url = "http://127.0.0.1:8080/";
    ctx.history = &history;
    ctx.stream_names = {"cam-a"};
    ctx.control_enabled = true;
    ctx.control_log = &control_log;
  }
  json control_log = json::array({json{{"result", "ok"}}, json{{"result", "ok"}}, json{{"result", "unauthorized"}}});
};

// ---------------------------------------------------------------------------------------------
// status_document

TEST(StatusDocument, SeqStateAndTotalsComeFromTheModel) {
  Fixture fx;
  const json doc = status_document(fx.model, fx.ctx, 42);
  EXPECT_EQ(doc["seq"], 42);
  EXPECT_EQ(doc["state"], "running");
  EXPECT_TRUE(doc["exit_code"].is_null());
  EXPECT_EQ(doc["mode"], "stream");
  EXPECT_EQ(doc["url"], "http://127.0.0.1:8080/");
  EXPECT_DOUBLE_EQ(doc["elapsed_s"].get<double>(), 12.346);
  const JobTotals t = fx.model.totals();
  const json& tot = doc["totals"];
  EXPECT_EQ(tot["ingested"], std::max<std::uint64_t>(t.ingested, 77));
  EXPECT_EQ(tot["ingested"], 180u);
  EXPECT_EQ(tot["processed"], 77u);  // the entry stage's count
  EXPECT_EQ(tot["committed"], t.committed);
  EXPECT_EQ(tot["lag_frames"], t.lag_frames);
  EXPECT_EQ(tot["lag_frames"], 80u);
  EXPECT_DOUBLE_EQ(tot["lag_s"].get<double>(), t.lag_s);
  EXPECT_EQ(tot["ring_bytes"], t.ring_bytes);
  EXPECT_EQ(tot["spill_bytes"], t.spill_bytes);
  EXPECT_EQ(tot["duplicates"], 2u);
  EXPECT_EQ(tot["processed_all_stages"], 80u);
  EXPECT_DOUBLE_EQ(tot["fps_in"].get<double>(), 20.0);
  EXPECT_DOUBLE_EQ(tot["fps_processed"].get<double>(), 10.0);
  EXPECT_TRUE(doc["backpressure"]["active"].get<bool>());  // 2 held produces
  EXPECT_EQ(doc["backpressure"]["held_frames"], 2u);
  // Ended, with an exit code.
  fx.ctx.state = "failed";
  fx.ctx.exit_code = 3;
  const json ended = status_document(fx.model, fx.ctx, 43);
  EXPECT_EQ(ended["seq"], 43);
  EXPECT_EQ(ended["state"], "failed");
  EXPECT_EQ(ended["exit_code"], 3);
}

TEST(StatusDocument, IngestedIsNeverBelowProcessed) {
  Fixture fx;
  fx.model.stage_processed = {1000};  // the sink ran ahead of the brokers' metrics
  const json doc = status_document(fx.model, fx.ctx, 1);
  EXPECT_EQ(doc["totals"]["ingested"], 1000u);
  EXPECT_EQ(doc["totals"]["processed"], 1000u);
}

TEST(StatusDocument, StagesCountWhatTheModelCounts) {
  Fixture fx;
  const json doc = status_document(fx.model, fx.ctx, 1);
  ASSERT_EQ(doc["stages"].size(), 1u);
  const json& s = doc["stages"][0];
  EXPECT_EQ(s["name"], "main");
  EXPECT_EQ(s["task"], "noop");
  EXPECT_EQ(s["partitions"], json({0, 1, 2, 3}));
  EXPECT_EQ(s["workers"], json(fx.model.workers_of(0)));
  EXPECT_EQ(s["workers"], json({3}));
  EXPECT_EQ(s["processed"], 77u);
  EXPECT_EQ(s["lag_frames"], 80u);
  EXPECT_DOUBLE_EQ(s["fps"].get<double>(), 10.0);
  EXPECT_DOUBLE_EQ(s["lag_s"].get<double>(), 2.0);  // partition 0's oldest frame when reported: 9 s - 7 s
}

TEST(StatusDocument, RanksCarryRoleAndState) {
  Fixture fx;
  const json doc = status_document(fx.model, fx.ctx, 1);
  const json& ranks = doc["ranks"];
  ASSERT_EQ(ranks.size(), 6u);
  for (int r = 0; r < 6; ++r) EXPECT_EQ(ranks[static_cast<std::size_t>(r)]["rank"], r);
  EXPECT_EQ(ranks[0]["role"], "master");
  EXPECT_EQ(ranks[0]["state"], "master");
  EXPECT_DOUBLE_EQ(ranks[0]["last_heard_s"].get<double>(), 0.0);
  EXPECT_EQ(ranks[1]["role"], "broker");
  EXPECT_EQ(ranks[2]["role"], "ingest");
  EXPECT_DOUBLE_EQ(ranks[2]["last_heard_s"].get<double>(), -1.0);  // never heard
  // A live worker: its partitions, stage and numbers.
  EXPECT_EQ(ranks[3]["role"], "worker");
  EXPECT_EQ(ranks[3]["state"], "worker");
  EXPECT_EQ(ranks[3]["stage"], "main");
  EXPECT_EQ(ranks[3]["partitions"], json(fx.model.assignment().partitions_of(3)));
  EXPECT_EQ(ranks[3]["frames"], 40u);
  EXPECT_EQ(ranks[3]["host"], "node1");
  EXPECT_EQ(ranks[3]["pid"], 1234);
  EXPECT_DOUBLE_EQ(ranks[3]["last_heard_s"].get<double>(), 0.5);
  // The declared-dead worker: "dead", no stage, no partitions.
  EXPECT_EQ(ranks[4]["role"], "worker");
  EXPECT_EQ(ranks[4]["state"], "dead");
  EXPECT_TRUE(ranks[4]["stage"].is_null());
  EXPECT_TRUE(ranks[4]["partitions"].empty());
  EXPECT_EQ(ranks[5]["role"], "spare");
  EXPECT_EQ(ranks[5]["state"], "spare");
  EXPECT_EQ(ranks[5]["started_as"], "spare");
}

TEST(StatusDocument, RankState) {
  RankRecord r;
  r.role = Role::worker;
  r.activity.phase = RankPhase::starting;
  EXPECT_EQ(rank_state(r), "worker");  // never heard: not "starting" yet
  r.last_heard = 1;
  EXPECT_EQ(rank_state(r), "starting");
  r.activity.phase = RankPhase::running;
  EXPECT_EQ(rank_state(r), "worker");
  r.alive = false;
  EXPECT_EQ(rank_state(r), "dead");
  RankRecord spare;
  spare.role = Role::spare;
  spare.last_heard = 1;
  EXPECT_EQ(rank_state(spare), "spare");
  RankRecord master;
  master.role = Role::master;
  master.last_heard = 1;
  EXPECT_EQ(rank_state(master), "master");
}

TEST(StatusDocument, PartitionsCarryOwnerEpochOffsetsAndLag) {
  Fixture fx;
  const json doc = status_document(fx.model, fx.ctx, 1);
  const json& parts = doc["partitions"];
  ASSERT_EQ(parts.size(), 4u);
  for (int p = 0; p < 4; ++p) {
    const json& j = parts[static_cast<std::size_t>(p)];
    const PartitionRecord& rec = fx.model.partition(p);
    EXPECT_EQ(j["partition"], p);
    EXPECT_EQ(j["stage"], "main");
    EXPECT_EQ(j["owner"], fx.model.owner(p)) << p;
    EXPECT_EQ(j["epoch"], fx.model.epoch(p)) << p;
    EXPECT_GE(j["epoch"].get<std::uint32_t>(), 1u);
    EXPECT_EQ(j["log_end"], rec.metrics.end_offset) << p;
    EXPECT_EQ(j["committed"], rec.metrics.committed) << p;
    EXPECT_EQ(j["lag_frames"], rec.reported ? rec.lag_frames() : 0) << p;
    EXPECT_EQ(j["broker"], 1);
  }
  EXPECT_EQ(parts[0]["log_end"], 100u);
  EXPECT_EQ(parts[0]["committed"], 40u);
  EXPECT_EQ(parts[0]["lag_frames"], 60u);
  EXPECT_DOUBLE_EQ(parts[0]["lag_s"].get<double>(), 2.0);
  EXPECT_DOUBLE_EQ(parts[0]["ring_fill"].get<double>(), 0.5);
  EXPECT_EQ(parts[0]["held_frames"], 2u);
  EXPECT_EQ(parts[0]["state"], "ok");
  EXPECT_EQ(parts[2]["lag_frames"], 20u);
  EXPECT_DOUBLE_EQ(parts[2]["lag_s"].get<double>(), 0.0);  // no capture time reported
  EXPECT_EQ(parts[3]["lag_frames"], 0u);                    // never reported
  // The dead worker's partitions still name it until a recovery moves them.
  EXPECT_EQ(parts[1]["owner"], 4);
  // After a move, the new owner and a higher epoch.
  const std::uint32_t before = fx.model.epoch(1);
  fx.model.assignment().reassign(1, 3);
  const json moved = status_document(fx.model, fx.ctx, 2);
  EXPECT_EQ(moved["partitions"][1]["owner"], 3);
  EXPECT_GT(moved["partitions"][1]["epoch"].get<std::uint32_t>(), before);
  fx.model.mark_done(1);
  EXPECT_EQ(status_document(fx.model, fx.ctx, 3)["partitions"][1]["state"], "done");
}

TEST(StatusDocument, StreamsWithRatesAndEtaInStreamMode) {
  Fixture fx;
  const json doc = status_document(fx.model, fx.ctx, 1);
  const json& streams = doc["streams"];
  ASSERT_EQ(streams.size(), 3u);
  EXPECT_EQ(doc["streams_total"], 3u);
  EXPECT_EQ(streams[0]["id"], 0);
  EXPECT_EQ(streams[0]["name"], "cam-a");
  EXPECT_EQ(streams[1]["name"], "stream 1");
  EXPECT_EQ(streams[0]["ingest_rank"], 2);
  EXPECT_EQ(streams[0]["frames"], 10u);
  EXPECT_EQ(streams[1]["frames"], 25u);
  EXPECT_EQ(streams[0]["state"], "streaming");
  EXPECT_DOUBLE_EQ(streams[0]["fps"].get<double>(), 10.0);
  EXPECT_DOUBLE_EQ(streams[1]["fps"].get<double>(), 25.0);
  EXPECT_DOUBLE_EQ(streams[0]["desired_fps"].get<double>(), 10.0);
  EXPECT_DOUBLE_EQ(streams[0]["eta"].get<double>(), 1.0);  // fps / cfg.fps
  EXPECT_DOUBLE_EQ(streams[1]["eta"].get<double>(), 2.5);
  // A paused stream has no eta and does not count in the job's.
  EXPECT_TRUE(streams[2]["paused"].get<bool>());
  EXPECT_EQ(streams[2]["paused_ticks"], 5u);
  EXPECT_TRUE(streams[2]["eta"].is_null());
  EXPECT_DOUBLE_EQ(doc["eta"].get<double>(), 1.75);  // (10 + 25) / (10 + 10)
  EXPECT_EQ(streams[2]["missed"], 2u);
}

TEST(StatusDocument, StreamRatesNeedASecond) {
  Fixture fx;
  JobModel& m = fx.model;
  m.on_stream_reports(2, {report(7, 100)}, 200.0);
  m.on_stream_reports(2, {report(7, 104)}, 200.5);  // half a second: no rate yet
  json doc = status_document(m, fx.ctx, 1);
  ASSERT_EQ(doc["streams"].size(), 4u);  // streams 3..6 were never reported
  const json* s7 = &doc["streams"][3];
  EXPECT_EQ((*s7)["id"], 7);
  EXPECT_EQ((*s7)["frames"], 104u);
  EXPECT_TRUE((*s7)["fps"].is_null());
  EXPECT_TRUE((*s7)["eta"].is_null());
  m.on_stream_reports(2, {report(7, 120)}, 201.0);  // 20 frames over 1 s
  doc = status_document(m, fx.ctx, 2);
  s7 = &doc["streams"][3];
  EXPECT_DOUBLE_EQ((*s7)["fps"].get<double>(), 20.0);
  EXPECT_DOUBLE_EQ((*s7)["eta"].get<double>(), 2.0);
  // A late report with a smaller count never takes the count back.
  m.on_stream_reports(2, {report(7, 50)}, 201.2);
  EXPECT_EQ(m.streams()[7].frames, 120u);
  // Ids past 2^24 are not streams.
  m.on_stream_reports(2, {report(1u << 24, 1)}, 202.0);
  EXPECT_EQ(m.streams().size(), 8u);
}

TEST(StatusDocument, BatchModeHasNoEta) {
  Fixture fx;
  fx.cfg = one_stage_config(JobMode::batch);
  const json doc = status_document(fx.model, fx.ctx, 1);
  EXPECT_EQ(doc["mode"], "batch");
  ASSERT_EQ(doc["streams"].size(), 3u);
  for (const auto& s : doc["streams"]) {
    EXPECT_TRUE(s["eta"].is_null()) << s.dump();
    EXPECT_TRUE(s["desired_fps"].is_null()) << s.dump();
  }
  EXPECT_DOUBLE_EQ(doc["streams"][0]["fps"].get<double>(), 10.0);  // the rate is still known
  EXPECT_TRUE(doc["eta"].is_null());
}

TEST(StatusDocument, FailuresScalingAndControl) {
  Fixture fx;
  const json doc = status_document(fx.model, fx.ctx, 1);
  ASSERT_EQ(doc["failures"].size(), 1u);
  EXPECT_EQ(doc["failures"][0]["rank"], 4);
  EXPECT_EQ(doc["failures"][0]["role"], "worker");
  ASSERT_EQ(doc["scaling"].size(), 1u);
  EXPECT_EQ(doc["scaling"][0]["action"], "grow");
  EXPECT_TRUE(doc["control"]["enabled"].get<bool>());
  EXPECT_EQ(doc["control"]["log"].size(), 3u);
}

// ---------------------------------------------------------------------------------------------
// metrics_text

struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

struct Exposition {
  std::map<std::string, std::string> types;  ///< # TYPE name type
  std::set<std::string> helps;
  std::vector<Sample> samples;
  std::vector<std::string> problems;

  /// The samples of `name` whose labels include `want`.
  std::vector<Sample> find(const std::string& name, const std::map<std::string, std::string>& want = {}) const {
    std::vector<Sample> out;
    for (const auto& s : samples) {
      if (s.name != name) continue;
      bool all = true;
      for (const auto& [k, v] : want) {
        const auto it = s.labels.find(k);
        all = all && it != s.labels.end() && it->second == v;
      }
      if (all) out.push_back(s);
    }
    return out;
  }
  double value(const std::string& name, const std::map<std::string, std::string>& want = {}) const {
    const auto found = find(name, want);
    EXPECT_EQ(found.size(), 1u) << name;
    return found.empty() ? std::nan("") : found.front().value;
  }
};

/// The Prometheus text format, line by line (labels without escapes: none of ours need them).
Exposition parse(const std::string& text) {
  Exposition e;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    if (line.rfind("# TYPE ", 0) == 0) {
      std::istringstream l(line.substr(7));
      std::string name, type;
      l >> name >> type;
      if (e.types.count(name)) e.problems.push_back("two TYPE lines for " + name);
      e.types[name] = type;
      continue;
    }
    if (line.rfind("# HELP ", 0) == 0) {
      std::istringstream l(line.substr(7));
      std::string name;
      l >> name;
      e.helps.insert(name);
      continue;
    }
    if (line[0] == '#') continue;
    Sample s;
    const auto brace = line.find('{');
    const auto space = line.find(' ');
    std::string rest;
    if (brace != std::string::npos && brace < space) {
      s.name = line.substr(0, brace);
      const auto close = line.find('}', brace);
      if (close == std::string::npos) {
        e.problems.push_back("unclosed labels: " + line);
        continue;
      }
      std::string labels = line.substr(brace + 1, close - brace - 1);
      std::size_t at = 0;
      while (at < labels.size()) {
        const auto eq = labels.find("=\"", at);
        const auto end = labels.find('"', eq + 2);
        if (eq == std::string::npos || end == std::string::npos) {
          e.problems.push_back("bad labels: " + line);
          break;
        }
        s.labels[labels.substr(at, eq - at)] = labels.substr(eq + 2, end - eq - 2);
        at = end + 1;
        if (at < labels.size() && labels[at] == ',') ++at;
      }
      rest = line.substr(close + 1);
    } else {
      s.name = line.substr(0, space);
      rest = line.substr(space);
    }
    std::istringstream v(rest);
    std::string value;
    v >> value;
    try {
      s.value = std::stod(value);
    } catch (const std::exception&) {
      e.problems.push_back("bad value: " + line);
    }
    e.samples.push_back(s);
  }
  return e;
}

/// A document with every family exercised: the fixture plus 10 streams.
json ten_stream_document(Fixture& fx) {
  std::vector<StreamReport> first, second;
  for (std::uint32_t i = 0; i < 10; ++i) {  // frames past the fixture's: 100 + i in the end
    first.push_back(report(i, 50 + i, i == 9));
    second.push_back(report(i, 100 + i, i == 9));
  }
  fx.model.on_stream_reports(2, first, 101.0);
  fx.model.on_stream_reports(2, second, 102.0);
  return status_document(fx.model, fx.ctx, 7);
}

TEST(MetricsText, EveryFamilyIsNamedTypedAndHelped) {
  Fixture fx;
  const json doc = ten_stream_document(fx);
  const Exposition e = parse(metrics_text(doc, 3));
  EXPECT_TRUE(e.problems.empty()) << e.problems.front();
  ASSERT_FALSE(e.samples.empty());
  std::map<std::string, std::string> spec_type;
  for (const auto& s : metric_specs()) {
    EXPECT_EQ(std::string(s.name).rfind("ride_", 0), 0u) << s.name;
    EXPECT_TRUE(std::string(s.type) == "counter" || std::string(s.type) == "gauge") << s.name;
    EXPECT_FALSE(spec_type.count(s.name)) << "named twice: " << s.name;
    spec_type[s.name] = s.type;
    const std::string name = s.name;
    if (std::string(s.type) == "counter") {
      EXPECT_EQ(name.size() > 6 ? name.substr(name.size() - 6) : "", "_total") << name;
    }
  }
  for (const auto& s : e.samples) {
    EXPECT_EQ(s.name.rfind("ride_", 0), 0u) << s.name;
    EXPECT_TRUE(spec_type.count(s.name)) << "not in metric_specs(): " << s.name;
    EXPECT_TRUE(e.types.count(s.name)) << "no # TYPE for " << s.name;
  }
  // This document exercises every family: each has its TYPE (the spec's) and HELP lines.
  for (const auto& [name, type] : spec_type) {
    ASSERT_TRUE(e.types.count(name)) << "missing family " << name;
    EXPECT_EQ(e.types.at(name), type) << name;
    EXPECT_TRUE(e.helps.count(name)) << name;
    EXPECT_FALSE(e.find(name).empty()) << name;
  }
  for (const auto& [name, type] : e.types) {
    if (type == "counter") {
      EXPECT_EQ(name.substr(name.size() - 6), "_total") << name;
    }
  }
}

TEST(MetricsText, PerStreamSeriesAreCappedTotalsAreNot) {
  Fixture fx;
  const json doc = ten_stream_document(fx);
  ASSERT_EQ(doc["streams"].size(), 10u);
  const Exposition e = parse(metrics_text(doc, 3));
  EXPECT_EQ(e.find("ride_stream_frames_total").size(), 3u);
  EXPECT_EQ(e.find("ride_stream_missed_total").size(), 3u);
  EXPECT_EQ(e.find("ride_stream_paused").size(), 3u);
  EXPECT_DOUBLE_EQ(e.value("ride_streams"), 10.0);
  EXPECT_DOUBLE_EQ(e.value("ride_streams_paused"), 1.0);  // stream 9, past the cap, still counts
  for (std::uint32_t i = 0; i < 3; ++i) {
    EXPECT_DOUBLE_EQ(e.value("ride_stream_frames_total", {{"stream", std::to_string(i)}}), 100.0 + i);
    EXPECT_DOUBLE_EQ(e.value("ride_stream_missed_total", {{"stream", std::to_string(i)}}), i);
  }
  // 0 streams of series, and more than there are.
  EXPECT_TRUE(parse(metrics_text(doc, 0)).find("ride_stream_frames_total").empty());
  EXPECT_EQ(parse(metrics_text(doc, 50)).find("ride_stream_frames_total").size(), 10u);
}

TEST(MetricsText, ValuesAreTheDocuments) {
  Fixture fx;
  const json doc = ten_stream_document(fx);
  const Exposition e = parse(metrics_text(doc, 3));
  const json& t = doc["totals"];
  EXPECT_DOUBLE_EQ(e.value("ride_job_elapsed_seconds"), doc["elapsed_s"].get<double>());
  EXPECT_DOUBLE_EQ(e.value("ride_job_state", {{"state", "running"}}), 1.0);
  for (const char* st : {"starting", "draining", "ended", "failed"}) {
    EXPECT_DOUBLE_EQ(e.value("ride_job_state", {{"state", st}}), 0.0) << st;
  }
  EXPECT_DOUBLE_EQ(e.value("ride_frames_ingested_total"), t["ingested"].get<double>());
  EXPECT_DOUBLE_EQ(e.value("ride_frames_processed_total"), t["processed"].get<double>());
  EXPECT_DOUBLE_EQ(e.value("ride_frames_committed_total"), t["committed"].get<double>());
  EXPECT_DOUBLE_EQ(e.value("ride_frames_duplicate_total"), t["duplicates"].get<double>());
  EXPECT_DOUBLE_EQ(e.value("ride_backlog_frames"), t["lag_frames"].get<double>());
  EXPECT_DOUBLE_EQ(e.value("ride_backlog_age_seconds"), t["lag_s"].get<double>());
  EXPECT_DOUBLE_EQ(e.value("ride_broker_memory_bytes"), t["ring_bytes"].get<double>());
  EXPECT_DOUBLE_EQ(e.value("ride_broker_spill_bytes"), t["spill_bytes"].get<double>());
  EXPECT_DOUBLE_EQ(e.value("ride_backpressure"), 1.0);
  EXPECT_DOUBLE_EQ(e.value("ride_stage_frames_processed_total", {{"stage", "main"}}), 77.0);
  EXPECT_DOUBLE_EQ(e.value("ride_stage_workers", {{"stage", "main"}}),
                   static_cast<double>(doc["stages"][0]["workers"].size()));
  EXPECT_DOUBLE_EQ(e.value("ride_stage_backlog_frames", {{"stage", "main"}}), 80.0);
  for (const auto& p : doc["partitions"]) {
    const std::map<std::string, std::string> l = {{"partition", std::to_string(p["partition"].get<int>())},
                                                  {"stage", "main"}};
    EXPECT_DOUBLE_EQ(e.value("ride_partition_log_end_offset", l), p["log_end"].get<double>());
    EXPECT_DOUBLE_EQ(e.value("ride_partition_committed_offset", l), p["committed"].get<double>());
    EXPECT_DOUBLE_EQ(e.value("ride_partition_lag_frames", l), p["lag_frames"].get<double>());
    EXPECT_DOUBLE_EQ(e.value("ride_partition_lag_seconds", l), p["lag_s"].get<double>());
    EXPECT_DOUBLE_EQ(e.value("ride_partition_ring_fill_ratio", l), p["ring_fill"].get<double>());
    EXPECT_DOUBLE_EQ(e.value("ride_partition_epoch", l), p["epoch"].get<double>());
    EXPECT_DOUBLE_EQ(e.value("ride_partition_owner_rank", l), p["owner"].get<double>());
  }
  EXPECT_EQ(e.find("ride_partition_epoch").size(), 4u);
  // Ranks: up, last heard, and a worker's frames.
  EXPECT_EQ(e.find("ride_rank_up").size(), 6u);
  EXPECT_DOUBLE_EQ(e.value("ride_rank_up", {{"rank", "3"}, {"role", "worker"}}), 1.0);
  EXPECT_DOUBLE_EQ(e.value("ride_rank_up", {{"rank", "4"}, {"role", "worker"}}), 0.0);  // dead
  EXPECT_DOUBLE_EQ(e.value("ride_rank_up", {{"rank", "0"}, {"role", "master"}}), 1.0);
  EXPECT_DOUBLE_EQ(e.value("ride_rank_last_heard_seconds", {{"rank", "3"}}), 0.5);
  EXPECT_DOUBLE_EQ(e.value("ride_rank_frames_processed_total", {{"rank", "3"}}), 40.0);
  EXPECT_EQ(e.find("ride_rank_frames_processed_total").size(), 3u);  // workers 3, 4 and spare 5
  EXPECT_DOUBLE_EQ(e.value("ride_failures_total", {{"role", "worker"}}), 1.0);
  EXPECT_DOUBLE_EQ(e.value("ride_failures_total", {{"role", "broker"}}), 0.0);
  EXPECT_DOUBLE_EQ(e.value("ride_scaling_events_total", {{"action", "grow"}}), 1.0);
  EXPECT_DOUBLE_EQ(e.value("ride_control_commands_total", {{"result", "ok"}}), 2.0);
  EXPECT_DOUBLE_EQ(e.value("ride_control_commands_total", {{"result", "unauthorized"}}), 1.0);
  EXPECT_DOUBLE_EQ(e.value("ride_control_commands_total", {{"result", "refused"}}), 0.0);
  EXPECT_DOUBLE_EQ(e.value("ride_ingest_eta_ratio"), doc["eta"].get<double>());
}

TEST(MetricsText, LargeCountsKeepTheirValue) {
  Fixture fx;
  json doc = status_document(fx.model, fx.ctx, 1);
  doc["totals"]["ingested"] = 123456789012ull;  // past 2^32, exact in a double
  const Exposition e = parse(metrics_text(doc, 3));
  EXPECT_DOUBLE_EQ(e.value("ride_frames_ingested_total"), 123456789012.0);
}

TEST(MetricsText, BatchModeHasNoEtaSample) {
  Fixture fx;
  fx.cfg = one_stage_config(JobMode::batch);
  const json doc = status_document(fx.model, fx.ctx, 1);
  const Exposition e = parse(metrics_text(doc, 3));
  EXPECT_TRUE(e.find("ride_ingest_eta_ratio").empty());
  EXPECT_FALSE(e.types.count("ride_ingest_eta_ratio"));
}

// ---------------------------------------------------------------------------------------------
// StatusHistory

TEST(StatusHistory, RatesFromTheTwoLatestSamples) {
  StatusHistory h;
  EXPECT_EQ(h.fps_in(), 0.0);
  h.sample(0, 0, 0, 0, {0, 0});
  EXPECT_EQ(h.size(), 1u);
  EXPECT_EQ(h.fps_in(), 0.0);  // one sample: no rate
  h.sample(2, 40, 20, 20, {20, 6});
  EXPECT_DOUBLE_EQ(h.fps_in(), 20.0);
  EXPECT_DOUBLE_EQ(h.fps_processed(), 10.0);
  EXPECT_DOUBLE_EQ(h.stage_fps(0), 10.0);
  EXPECT_DOUBLE_EQ(h.stage_fps(1), 3.0);
  EXPECT_EQ(h.stage_fps(2), 0.0);  // no such stage
  h.sample(3, 50, 50, 0, {50, 6});
  EXPECT_DOUBLE_EQ(h.fps_in(), 10.0);  // only the latest two count
  EXPECT_DOUBLE_EQ(h.fps_processed(), 30.0);
  EXPECT_DOUBLE_EQ(h.stage_fps(1), 0.0);
  h.sample(4, 45, 50, 0, {50, 6});  // a count going back reads as 0, not as a huge number
  EXPECT_EQ(h.fps_in(), 0.0);
  const json j = h.to_json();
  EXPECT_EQ(j["t_s"], json({0.0, 2.0, 3.0, 4.0}));
  EXPECT_EQ(j["ingested"], json({0, 40, 50, 45}));
  EXPECT_EQ(j["processed"], json({0, 20, 50, 50}));
  EXPECT_EQ(j["lag_frames"], json({0, 20, 0, 0}));
}

TEST(StatusHistory, OneSamplePerSecondUnlessForced) {
  StatusHistory h;
  h.sample(10.0, 0, 0, 0, {});
  h.sample(10.4, 5, 5, 0, {});
  h.sample(10.99, 9, 9, 0, {});
  EXPECT_EQ(h.size(), 1u);
  h.sample(11.0, 10, 10, 0, {});
  EXPECT_EQ(h.size(), 2u);
  EXPECT_DOUBLE_EQ(h.fps_in(), 10.0);
  h.sample(11.5, 20, 20, 0, {}, true);  // forced: the last view of a job
  EXPECT_EQ(h.size(), 3u);
  EXPECT_DOUBLE_EQ(h.fps_in(), 20.0);
  h.sample(11.5, 30, 30, 0, {}, true);  // not twice for one instant
  h.sample(11.0, 30, 30, 0, {}, true);  // nor back in time
  EXPECT_EQ(h.size(), 3u);
  for (int s = 12; s < 20; ++s) h.sample(s, 0, 0, 0, {});  // 12 is within a second of 11.5
  EXPECT_EQ(h.size(), 10u);
}

TEST(StatusHistory, ThinningKeepsFirstAndLastWithinTheCap) {
  for (std::size_t cap : {4u, 5u, 10u, 17u, 64u}) {
    StatusHistory h(cap);
    for (int s = 0; s < 1000; ++s) {
      h.sample(s, 10ull * static_cast<std::uint64_t>(s), 5ull * static_cast<std::uint64_t>(s), 0, {});
      ASSERT_LE(h.size(), cap) << "cap " << cap << " at " << s;
      ASSERT_DOUBLE_EQ(h.to_json()["t_s"].back().get<double>(), s);
    }
    const json j = h.to_json();
    const auto t = j["t_s"].get<std::vector<double>>();
    EXPECT_EQ(t.front(), 0.0) << cap;
    EXPECT_EQ(t.back(), 999.0) << cap;
    EXPECT_TRUE(std::is_sorted(t.begin(), t.end())) << cap;
    EXPECT_EQ(std::adjacent_find(t.begin(), t.end()), t.end()) << cap;  // no repeats
    EXPECT_EQ(j["ingested"].size(), t.size());
    EXPECT_EQ(j["processed"].size(), t.size());
    EXPECT_EQ(j["lag_frames"].size(), t.size());
    // Values stay with their times.
    const auto in = j["ingested"].get<std::vector<std::uint64_t>>();
    for (std::size_t i = 0; i < t.size(); ++i) EXPECT_EQ(in[i], static_cast<std::uint64_t>(10 * t[i])) << cap;
    EXPECT_DOUBLE_EQ(h.fps_in(), 10.0) << cap;  // the two latest are a second apart
    EXPECT_DOUBLE_EQ(h.fps_processed(), 5.0) << cap;
  }
}

// Thinning keeps the first and the last sample, so a cap under 4 is raised to 4: the history
// still stays bounded.
TEST(StatusHistory, TinyCapsStayBounded) {
  for (std::size_t cap : {1u, 2u, 3u}) {
    StatusHistory h(cap);
    for (int s = 0; s < 20; ++s) {
      h.sample(s, 0, 0, 0, {});
      EXPECT_LE(h.size(), 4u) << "cap " << cap << " at " << s;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// AdaptiveGroup::resize

AdaptiveConfig adaptive_config() {
  AdaptiveConfig c;
  c.interval_s = 1;
  return c;
}

/// Every partition of the stage is owned by a live member of the group.
void expect_owned_by_the_group(const JobModel& m) {
  const auto group = m.workers_of(0);
  for (int p = 0; p < m.partitions(); ++p) {
    const int o = m.owner(p);
    EXPECT_NE(std::find(group.begin(), group.end(), o), group.end()) << "partition " << p << " owner " << o;
  }
}

TEST(AdaptiveResize, GrowsFromSparesAndMovesPartitions) {
  JobModel m = model_of(2, 3, 8);  // workers 3, 4; spares 5, 6, 7
  std::vector<std::uint32_t> epochs;
  for (int p = 0; p < 8; ++p) epochs.push_back(m.epoch(p));
  AdaptiveGroup g(adaptive_config());
  EXPECT_EQ(g.pinned(), 0);
  const auto r = g.resize(m, 4, 30.0, 130.0);
  EXPECT_TRUE(r.refused.empty()) << r.refused;
  ASSERT_EQ(r.changes.size(), 1u);
  const GroupChange& c = r.changes[0];
  EXPECT_EQ(c.kind, GroupChange::Kind::grow);
  EXPECT_EQ(c.workers, (std::vector<int>{5, 6}));
  EXPECT_NE(c.reason.find("operator"), std::string::npos) << c.reason;
  EXPECT_FALSE(c.moved.empty());
  for (const auto& mv : c.moved) {
    EXPECT_EQ(m.owner(mv.partition), mv.to);
    EXPECT_TRUE(mv.to == 5 || mv.to == 6) << mv.to;
    EXPECT_TRUE(mv.from == 3 || mv.from == 4) << mv.from;
    EXPECT_GT(m.epoch(mv.partition), epochs[static_cast<std::size_t>(mv.partition)]);
  }
  EXPECT_EQ(m.workers_of(0), (std::vector<int>{3, 4, 5, 6}));
  EXPECT_EQ(m.spares(), (std::vector<int>{7}));
  for (int w : {3, 4, 5, 6}) EXPECT_EQ(m.assignment().count_of(w), 2u) << w;
  expect_owned_by_the_group(m);
  EXPECT_EQ(g.pinned(), 4);
  // Recorded as scaling events, one per worker that joined, with the operator's reason.
  ASSERT_EQ(m.scaling().size(), 2u);
  for (const auto& e : m.scaling()) {
    EXPECT_EQ(e.action, "grow");
    EXPECT_NE(e.reason.find("operator"), std::string::npos) << e.reason;
    EXPECT_DOUBLE_EQ(e.t_s, 30.0);
    EXPECT_DOUBLE_EQ(e.decided_steady, 130.0);
    EXPECT_EQ(e.partitions, m.assignment().partitions_of(e.worker));
  }
  EXPECT_EQ(m.scaling()[0].worker, 5);
  EXPECT_EQ(m.scaling()[1].worker, 6);
}

TEST(AdaptiveResize, RefusesWhenSparesAreShort) {
  JobModel m = model_of(2, 1, 8);
  AdaptiveGroup g(adaptive_config());
  const auto r = g.resize(m, 4, 1.0, 1.0);
  EXPECT_TRUE(r.changes.empty());
  EXPECT_NE(r.refused.find("spare"), std::string::npos) << r.refused;
  EXPECT_EQ(m.workers_of(0).size(), 2u);
  EXPECT_EQ(m.spares().size(), 1u);
  EXPECT_TRUE(m.scaling().empty());
  EXPECT_EQ(g.pinned(), 0);  // a refused resize pins nothing
  // No spares at all.
  JobModel none = model_of(2, 0, 8);
  const auto r2 = g.resize(none, 3, 1.0, 1.0);
  EXPECT_NE(r2.refused.find("spare"), std::string::npos) << r2.refused;
  EXPECT_TRUE(none.scaling().empty());
}

TEST(AdaptiveResize, RefusesMoreWorkersThanPartitionsAndFewerThanOne) {
  JobModel m = model_of(2, 6, 4);
  AdaptiveGroup g(adaptive_config());
  auto r = g.resize(m, 5, 1.0, 1.0);
  EXPECT_FALSE(r.refused.empty());
  EXPECT_NE(r.refused.find("partition"), std::string::npos) << r.refused;
  EXPECT_TRUE(r.changes.empty());
  for (int want : {0, -3}) {
    r = g.resize(m, want, 1.0, 1.0);
    EXPECT_FALSE(r.refused.empty()) << want;
    EXPECT_TRUE(r.changes.empty());
  }
  EXPECT_EQ(m.workers_of(0).size(), 2u);
  EXPECT_TRUE(m.scaling().empty());
  EXPECT_EQ(g.pinned(), 0);
  // Exactly as many as there are partitions is fine.
  r = g.resize(m, 4, 1.0, 1.0);
  EXPECT_TRUE(r.refused.empty()) << r.refused;
  EXPECT_EQ(m.workers_of(0).size(), 4u);
  for (int w : m.workers_of(0)) EXPECT_EQ(m.assignment().count_of(w), 1u) << w;
}

TEST(AdaptiveResize, ShrinkReleasesToSpares) {
  JobModel m = model_of(4, 0, 8);  // workers 3..6, two partitions each
  AdaptiveGroup g(adaptive_config());
  const auto r = g.resize(m, 2, 5.0, 5.0);
  EXPECT_TRUE(r.refused.empty()) << r.refused;
  ASSERT_EQ(r.changes.size(), 2u);
  for (const auto& c : r.changes) {
    EXPECT_EQ(c.kind, GroupChange::Kind::shrink);
    ASSERT_EQ(c.workers.size(), 1u);
    EXPECT_NE(c.reason.find("operator"), std::string::npos);
    EXPECT_EQ(c.moved.size(), 2u);
    for (const auto& mv : c.moved) {
      EXPECT_EQ(mv.from, c.workers[0]);
      EXPECT_TRUE(mv.to == 3 || mv.to == 4) << mv.to;
    }
  }
  EXPECT_EQ(r.changes[0].workers[0], 6);  // the last to join leaves first
  EXPECT_EQ(r.changes[1].workers[0], 5);
  EXPECT_EQ(m.workers_of(0), (std::vector<int>{3, 4}));
  EXPECT_EQ(m.spares(), (std::vector<int>{6, 5}));
  EXPECT_EQ(m.rank(5).role, Role::spare);
  EXPECT_EQ(m.rank(5).stage, -1);
  EXPECT_EQ(m.assignment().count_of(5), 0u);
  EXPECT_EQ(m.assignment().count_of(3) + m.assignment().count_of(4), 8u);
  expect_owned_by_the_group(m);
  ASSERT_EQ(m.scaling().size(), 2u);
  for (const auto& e : m.scaling()) {
    EXPECT_EQ(e.action, "shrink");
    EXPECT_EQ(e.partitions.size(), 2u);  // what it had when it left
  }
  EXPECT_EQ(g.pinned(), 2);
  // The same size again: nothing to do, still pinned.
  const auto same = g.resize(m, 2, 6.0, 6.0);
  EXPECT_TRUE(same.refused.empty());
  EXPECT_TRUE(same.changes.empty());
  // Grows back from the released spares.
  const auto back = g.resize(m, 3, 7.0, 7.0);
  EXPECT_TRUE(back.refused.empty()) << back.refused;
  EXPECT_EQ(m.workers_of(0).size(), 3u);
  expect_owned_by_the_group(m);
}

TEST(AdaptiveResize, APinnedGroupIsRefilledAfterADeath) {
  JobModel m = model_of(1, 3, 6);  // worker 3; spares 4, 5, 6
  AdaptiveGroup g(adaptive_config());
  ASSERT_TRUE(g.resize(m, 3, 1.0, 1.0).refused.empty());
  EXPECT_EQ(m.workers_of(0), (std::vector<int>{3, 4, 5}));
  EXPECT_EQ(m.spares(), (std::vector<int>{6}));
  const auto lost = m.assignment().partitions_of(4);
  ASSERT_FALSE(lost.empty());
  // Worker 4 dies; its partitions still name it.
  m.declare_dead(4);
  EXPECT_EQ(m.workers_of(0).size(), 2u);
  const std::size_t events = m.scaling().size();
  const auto changes = g.step(m, 2.0, 2.0);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].kind, GroupChange::Kind::grow);
  EXPECT_EQ(changes[0].workers, (std::vector<int>{6}));
  EXPECT_NE(changes[0].reason.find("operator"), std::string::npos) << changes[0].reason;
  EXPECT_EQ(m.workers_of(0), (std::vector<int>{3, 5, 6}));
  EXPECT_TRUE(m.spares().empty());
  for (int p : lost) EXPECT_EQ(m.owner(p), 6) << p;  // the dead worker's partitions first
  expect_owned_by_the_group(m);
  ASSERT_EQ(m.scaling().size(), events + 1);
  EXPECT_EQ(m.scaling().back().action, "grow");
  EXPECT_EQ(m.scaling().back().worker, 6);
  // Full again: later looks change nothing, whatever the rates.
  EXPECT_TRUE(g.step(m, 3.0, 3.0).empty());
  EXPECT_TRUE(g.step(m, 60.0, 60.0).empty());
  EXPECT_EQ(m.workers_of(0).size(), 3u);
}

TEST(AdaptiveResize, APinnedGroupIsRefilledWhenASpareArrivesAfterARecovery) {
  JobModel m = model_of(1, 2, 6);  // worker 3; spares 4, 5
  AdaptiveGroup g(adaptive_config());
  ASSERT_TRUE(g.resize(m, 3, 1.0, 1.0).refused.empty());
  EXPECT_TRUE(m.spares().empty());
  // Worker 5 dies with no spare left: the survivors take its partitions.
  const auto d = plan_recovery(m, 5, "silent", 2.0, 1.8);
  EXPECT_TRUE(d.fatal.empty());
  EXPECT_EQ(m.workers_of(0), (std::vector<int>{3, 4}));
  // Nothing to refill from yet.
  EXPECT_TRUE(g.step(m, 2.0, 2.0).empty());
  // A spawned spare joins the pool: the next look refills the group to its pinned size.
  const int fresh = m.add_spawned_spare();
  const auto changes = g.step(m, 3.5, 3.5);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].workers, (std::vector<int>{fresh}));
  EXPECT_EQ(m.workers_of(0).size(), 3u);
  EXPECT_EQ(m.assignment().count_of(fresh), 2u);
  expect_owned_by_the_group(m);
}

TEST(AdaptiveResize, PinnedSizeOverridesTheRates) {
  // After a resize the rates no longer decide: a group kept busy far past lag_high_s stays put.
  JobModel m = model_of(2, 3, 6);
  AdaptiveGroup g(adaptive_config());
  ASSERT_TRUE(g.resize(m, 2, 0.0, 0.0).refused.empty());  // pin at the current size
  for (int i = 1; i <= 20; ++i) {
    for (int p = 0; p < 6; ++p) {
      auto pm = metrics(p, 100ull * static_cast<std::uint64_t>(i), 0);
      pm.oldest_capture_ns = 1;
      pm.as_of_ns = i * kSec;
      m.on_partition_metrics(pm, i * kSec);
    }
    EXPECT_TRUE(g.step(m, i, i).empty()) << i;
  }
  EXPECT_EQ(m.workers_of(0).size(), 2u);
}

}  // namespace
}  // namespace ride

#include "master/sink.h"

#include <filesystem>

#include "core/clock.h"
#include "core/error.h"
#include "core/results_codec.h"

#ifndef RIDE_GIT_COMMIT
#define RIDE_GIT_COMMIT "unknown"
#endif

namespace ride {

namespace {

std::vector<ResultTableSpec> tables_of(const task::Pipeline& pipeline) {
  std::vector<ResultTableSpec> out;
  for (const auto& st : pipeline.all()) {
    out.push_back({pipeline.multi_stage() ? st.name() : std::string(), st.scalar_names});
  }
  return out;
}

std::string task_names(const task::Pipeline& pipeline) {
  std::string out;
  for (const auto& st : pipeline.all()) out += (out.empty() ? "" : ",") + st.cfg->task;
  return out;
}

/// Before the results file is truncated: a resumed run's journal must exist and be this job's.
const std::string& check_resumable(const JobConfig& cfg) {
  check_resume(cfg);
  return cfg.results_path;
}

std::vector<ResumeStage> resume_stages(const task::Pipeline& pipeline) {
  std::vector<ResumeStage> out;
  for (const auto& st : pipeline.all()) out.push_back({st.input, st.readers});
  return out;
}

}  // namespace

void check_resume(const JobConfig& cfg) {
  if (!cfg.resume) return;
  const std::string path = journal_path(cfg.results_path);
  if (!std::filesystem::exists(path)) {
    throw ConfigError("bad value for " + cfg.where("job.resume") + ": there is no results journal '" + path +
                      "' to resume from (the run wrote none: another output.path, or output.journal = false)");
  }
  std::string header;
  try {
    header = ResultJournal::read_header(path);
  } catch (const Error& e) {
    throw ConfigError("bad value for " + cfg.where("job.resume") + ": " + e.what());
  }
  if (auto diff = resume_mismatch(header, resume_identity(cfg))) {
    throw ConfigError("bad value for " + cfg.where("job.resume") + ": the journal '" + path +
                      "' was written by another job (" + *diff +
                      "); resume with the configuration of the run being resumed");
  }
}

Sink::Sink(const JobConfig& cfg, const task::Pipeline& pipeline)
    : pipeline_(pipeline),
      writer_(check_resumable(cfg), tables_of(pipeline),
              std::map<std::string, std::string>{{"task", task_names(pipeline)},
                                                 {"mode", to_string(cfg.mode)},
                                                 {"commit", RIDE_GIT_COMMIT},
                                                 {"config", cfg.to_ini()}}),
      seen_(pipeline.all().size()) {
  if (cfg.resume) {
    rebuild_from_journal(cfg);
  } else if (cfg.journal) {  // a fresh run: an earlier journal at this path is replaced
    journal_.emplace(ResultJournal::create(journal_path(cfg.results_path), resume_identity(cfg)));
  }
}

void Sink::rebuild_from_journal(const JobConfig& cfg) {
  const double t0 = steady_s();
  Resumed r;
  r.journal = journal_path(cfg.results_path);
  ResultJournal::Replay replay;
  const int stages = static_cast<int>(pipeline_.all().size());
  journal_.emplace(ResultJournal::resume(
      r.journal,
      [&](std::uint32_t table, const Buffer& body) {
        RIDE_EXPECTS(static_cast<int>(table) < stages, "results journal '" << r.journal << "': a record of stage "
                                                                          << table << ", the job has " << stages);
        r.rows += apply(body, static_cast<int>(table)).rows;
      },
      &replay));
  writer_.flush();
  r.records = replay.records;
  r.torn_bytes = replay.torn_bytes;
  r.finished = finished_keys(resume_stages(pipeline_), seen_);
  r.rebuild_s = steady_s() - t0;
  resumed_ = std::move(r);
}

Sink::Applied Sink::apply(const Buffer& body, int stage) {
  const task::Stage& st = pipeline_.stage(stage);
  // Images and object rows are views into body, which outlives the appends below.
  const ResultsView v = decode_results(body, st.task.info.keypoints, st.task.info.boxes);
  const auto table = static_cast<std::size_t>(stage);
  Applied out;
  for (std::size_t i = 0; i < v.records.size(); ++i) {
    const auto& rec = v.records[i];
    // Effectively once: a (stage, stream, sequence) already stored is dropped, not written twice.
    auto& seen = seen_[table][rec.stream];
    if (seen.size() <= rec.sequence) seen.resize(rec.sequence + 1, 0);
    if (seen[rec.sequence]) {
      if (out.fates.empty()) out.fates.assign(v.records.size(), RowFate::stored);
      out.fates[i] = seen[rec.sequence] == 2 ? RowFate::duplicate_forwarded : RowFate::duplicate;
      continue;
    }
    const bool forwarded = st.has_forwarded_column() && rec.scalars[st.own_scalars] == 1.0;
    seen[rec.sequence] = forwarded ? 2 : 1;
    if (auto e = v.errors.find(static_cast<std::uint32_t>(i)); e != v.errors.end()) {
      writer_.append_error(rec, e->second, table);
    } else {
      writer_.append(rec, v.images[i], v.keypoints[i], v.boxes[i], table);
    }
    ++out.rows;
  }
  return out;
}

Sink::Stored Sink::store(int source, const Buffer& body, JobModel& model, double now, double job_s) {
  const ResultsHeader head = peek_results_header(body);
  const int stage = pipeline_.stage_of_partition(static_cast<int>(head.partition));
  Stored out;
  out.partition = static_cast<int>(head.partition);
  out.epoch = head.epoch;
  Applied applied = apply(body, stage);
  // Durable with the next sync, before this batch is acknowledged.
  if (applied.rows > 0 && journal_) journal_->append(static_cast<std::uint32_t>(stage), body.data(), body.size());
  // The failure whose moved partition this batch belongs to: its duplicates are its replays.
  FailureRecord* replay_of = model.on_results(out.partition, head.epoch, source, now);
  const auto table = static_cast<std::size_t>(stage);
  for (RowFate f : applied.fates) {
    if (f == RowFate::stored) continue;
    ++model.duplicates_dropped;
    if (table < model.stage_duplicates.size()) ++model.stage_duplicates[table];
    ++out.duplicates;
    if (replay_of) ++replay_of->reprocessed;  // done before the failure, not committed
  }
  for (std::size_t i = 0; i < applied.rows; ++i) model.count_processed(job_s, stage);
  out.rows = applied.rows;
  pending_acks_.push_back(Ack{source, head.batch_id, std::move(applied.fates)});
  return out;
}

std::vector<Sink::Ack> Sink::flush_if_due(bool idle, double now) {
  if (pending_acks_.empty()) return {};
  if (!idle && now - last_flush_ < 0.02) return {};
  if (journal_) journal_->sync();  // the durable record: what the workers may now commit
  writer_.flush(/*sync=*/!journal_);
  last_flush_ = now;
  return std::exchange(pending_acks_, {});
}

void Sink::close() { writer_.close(); }

}  // namespace ride

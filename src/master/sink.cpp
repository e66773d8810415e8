#include "master/sink.h"

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

}  // namespace

Sink::Sink(const JobConfig& cfg, const task::Pipeline& pipeline)
    : pipeline_(pipeline),
      writer_(cfg.results_path, tables_of(pipeline),
              std::map<std::string, std::string>{{"task", task_names(pipeline)},
                                                 {"mode", cfg.mode},
                                                 {"commit", RIDE_GIT_COMMIT},
                                                 {"config", cfg.to_ini()}}),
      seen_(pipeline.all().size()) {}

Sink::Stored Sink::store(int source, const Buffer& body, JobModel& model, double now, double job_s) {
  const ResultsHeader head = peek_results_header(body);
  const int stage = pipeline_.stage_of_partition(static_cast<int>(head.partition));
  const task::Stage& st = pipeline_.stage(stage);
  // Images and object rows are views into body, which outlives the appends below.
  const ResultsView v = decode_results(body, st.task.info.keypoints, st.task.info.boxes);
  const ResultsHeader& rh = v.header;
  Stored out;
  out.partition = static_cast<int>(rh.partition);
  out.epoch = rh.epoch;
  Ack ack{source, rh.batch_id, {}};
  const std::size_t table = static_cast<std::size_t>(stage);
  // The failure whose moved partition this batch belongs to: its duplicates are its replays.
  FailureRecord* replay_of = model.on_results(out.partition, rh.epoch, source, now);
  for (std::size_t i = 0; i < v.records.size(); ++i) {
    const auto& rec = v.records[i];
    // Effectively once: a (stage, stream, sequence) already stored is dropped, not written twice.
    auto& seen = seen_[table][rec.stream];
    if (seen.size() <= rec.sequence) seen.resize(rec.sequence + 1, 0);
    if (seen[rec.sequence]) {
      ++model.duplicates_dropped;
      if (table < model.stage_duplicates.size()) ++model.stage_duplicates[table];
      ++out.duplicates;
      if (replay_of) ++replay_of->reprocessed;  // done before the failure, not committed
      if (ack.fates.empty()) ack.fates.assign(v.records.size(), RowFate::stored);
      ack.fates[i] = seen[rec.sequence] == 2 ? RowFate::duplicate_forwarded : RowFate::duplicate;
      continue;
    }
    const bool forwarded = st.has_forwarded_column() && rec.scalars[st.own_scalars] == 1.0;
    seen[rec.sequence] = forwarded ? 2 : 1;
    if (auto e = v.errors.find(static_cast<std::uint32_t>(i)); e != v.errors.end()) {
      writer_.append_error(rec, e->second, table);
    } else {
      writer_.append(rec, v.images[i], v.keypoints[i], v.boxes[i], table);
    }
    model.count_processed(job_s, stage);
    ++out.rows;
  }
  pending_acks_.push_back(std::move(ack));
  return out;
}

std::vector<Sink::Ack> Sink::flush_if_due(bool idle, double now) {
  if (pending_acks_.empty()) return {};
  if (!idle && now - last_flush_ < 0.02) return {};
  writer_.flush();
  last_flush_ = now;
  return std::exchange(pending_acks_, {});
}

void Sink::close() { writer_.close(); }

}  // namespace ride

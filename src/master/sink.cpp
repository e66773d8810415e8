#include "master/sink.h"

#include "core/results_codec.h"

#ifndef RIDE_GIT_COMMIT
#define RIDE_GIT_COMMIT "unknown"
#endif

namespace ride {

Sink::Sink(const JobConfig& cfg, const task::Info& task)
    : task_(task),
      writer_(cfg.results_path, task.scalars,
              std::map<std::string, std::string>{{"task", cfg.task},
                                                 {"mode", cfg.mode},
                                                 {"commit", RIDE_GIT_COMMIT},
                                                 {"config", cfg.to_ini()}}) {}

Sink::Stored Sink::store(int source, const Buffer& body, JobModel& model, double now, double job_s) {
  // Images and object rows are views into body, which outlives the appends below.
  const ResultsView v = decode_results(body, task_.keypoints, task_.boxes);
  const ResultsHeader& rh = v.header;
  Stored out;
  out.partition = static_cast<int>(rh.partition);
  out.epoch = rh.epoch;
  // The failure whose moved partition this batch belongs to: its duplicates are its replays.
  FailureRecord* replay_of = model.on_results(out.partition, rh.epoch, source, now);
  for (std::size_t i = 0; i < v.records.size(); ++i) {
    const auto& rec = v.records[i];
    // Effectively once: a (stream, sequence) already stored is dropped, not written twice.
    auto& seen = seen_[rec.stream];
    if (seen.size() <= rec.sequence) seen.resize(rec.sequence + 1, false);
    if (seen[rec.sequence]) {
      ++model.duplicates_dropped;
      ++out.duplicates;
      if (replay_of) ++replay_of->reprocessed;  // done before the failure, not committed
      continue;
    }
    seen[rec.sequence] = true;
    if (auto e = v.errors.find(static_cast<std::uint32_t>(i)); e != v.errors.end()) {
      writer_.append_error(rec, e->second);
    } else {
      writer_.append(rec, v.images[i], v.keypoints[i], v.boxes[i]);
    }
    model.count_processed(job_s);
    ++out.rows;
  }
  pending_acks_.emplace_back(source, rh.batch_id);
  return out;
}

std::vector<std::pair<int, std::uint64_t>> Sink::flush_if_due(bool idle, double now) {
  if (pending_acks_.empty()) return {};
  if (!idle && now - last_flush_ < 0.02) return {};
  writer_.flush();
  last_flush_ = now;
  return std::exchange(pending_acks_, {});
}

void Sink::close() { writer_.close(); }

}  // namespace ride

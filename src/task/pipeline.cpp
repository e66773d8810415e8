#include "task/pipeline.h"

#include <cmath>

#include "core/error.h"
#include "core/result_record.h"

namespace ride::task {

Pipeline::Pipeline(const TaskRegistry& registry, const JobConfig& cfg, const RoleLayout& layout)
    : multi_(cfg.multi_stage()) {
  RIDE_EXPECTS(!cfg.stages.empty(), "the configuration has no stage");
  // (A layout made in code for one stage may leave the stage ranges out: all partitions.)
  RIDE_EXPECTS(layout.stage_first.size() == cfg.stages.size() || (layout.stage_first.empty() && cfg.stages.size() == 1),
               "the role layout has " << layout.stage_first.size() << " stage(s), the configuration "
                                      << cfg.stages.size());
  const int n = static_cast<int>(cfg.stages.size());
  stages_.resize(cfg.stages.size());
  for (int s = 0; s < n; ++s) {
    Stage& st = stages_[static_cast<std::size_t>(s)];
    st.index = s;
    st.cfg = &cfg.stages[static_cast<std::size_t>(s)];
    st.task = resolve_task(registry, cfg, *st.cfg);
    st.input = st.cfg->input == "ingest" ? -1 : cfg.stage_index(st.cfg->input);
    st.first_partition = layout.stage_first.empty() ? 0 : layout.stage_first[static_cast<std::size_t>(s)];
    st.partitions = layout.stage_first.empty() ? layout.partitions : layout.stage_partitions[static_cast<std::size_t>(s)];
    st.own_scalars = st.task.info.scalars.size();
    st.emit_image = st.cfg->emit == Emit::image;
    st.keyed = st.cfg->partitioning == Partitioning::key;
    if (st.emit_image && !st.task.info.image) {
      throw ConfigError("bad value for " + cfg.where(st.cfg->key("emit")) + ": task '" + st.cfg->task +
                        "' produces no output image to send on (use emit = frame)");
    }
    if (st.input < 0) ingest_readers_.push_back(s);
  }
  for (Stage& st : stages_) {
    if (st.input >= 0) stages_[static_cast<std::size_t>(st.input)].readers.push_back(st.index);
  }
  // A stateful task needs every frame of a stream in order: its own topic keyed, and every stage
  // before it keyed too (a round-robin stage processes a stream's frames on several workers at
  // once and sends them on out of order).
  for (const Stage& st : stages_) {
    if (st.task.info.state != State::per_stream) continue;
    for (int up = st.input; up >= 0; up = stages_[static_cast<std::size_t>(up)].input) {
      const StageConfig& u = *stages_[static_cast<std::size_t>(up)].cfg;
      if (u.partitioning != Partitioning::key) {
        throw ConfigError("bad value for " + cfg.where(u.key("partitioning")) + ": stage '" + st.name() + "' (task " +
                          st.cfg->task + ") keeps state per stream and reads the frames of stage '" + u.name +
                          "', whose round-robin partitions reorder a stream's frames: set " + u.key("partitioning") +
                          " = key");
      }
    }
  }
  // Upstream names follow the inputs: resolve in an order where a stage's input comes first
  // (the config has no cycles, so n passes suffice).
  std::vector<bool> done(stages_.size(), false);
  for (int pass = 0; pass < n; ++pass) {
    for (Stage& st : stages_) {
      if (done[static_cast<std::size_t>(st.index)]) continue;
      if (st.input >= 0 && !done[static_cast<std::size_t>(st.input)]) continue;
      if (st.input >= 0) {
        const Stage& from = stages_[static_cast<std::size_t>(st.input)];
        for (const auto& name : from.task.info.scalars) st.upstream_names.push_back(from.name() + "." + name);
        st.upstream_names.insert(st.upstream_names.end(), from.upstream_names.begin(), from.upstream_names.end());
      }
      done[static_cast<std::size_t>(st.index)] = true;
    }
  }
  for (Stage& st : stages_) {
    st.scalar_names = st.task.info.scalars;
    if (st.has_forwarded_column()) st.scalar_names.push_back("forwarded");
    st.scalar_names.insert(st.scalar_names.end(), st.upstream_names.begin(), st.upstream_names.end());
    if (st.scalar_names.size() > static_cast<std::size_t>(kMaxScalars)) {
      throw ConfigError("stage '" + st.name() + "' would carry " + std::to_string(st.scalar_names.size()) +
                        " scalars (its task's, 'forwarded' and those of the stages before it); a result row holds " +
                        std::to_string(kMaxScalars) + ": use fewer or shorter chains of stages (" +
                        cfg.where(st.cfg->key("input")) + ")");
    }
    if (!st.cfg->forward.empty()) {
      if (st.readers.empty()) {
        throw ConfigError("bad value for " + cfg.where(st.cfg->key("forward")) + ": no stage reads stage '" +
                          st.name() + "', so nothing is forwarded");
      }
      std::vector<std::string> names = st.scalar_names;
      if (st.has_forwarded_column()) names[st.own_scalars] = "";  // not a name one can write
      try {
        st.forward = Predicate::parse(st.cfg->forward, names);
      } catch (const ConfigError& e) {
        throw ConfigError("bad value for " + cfg.where(st.cfg->key("forward")) + ": " + e.what());
      }
    }
  }
}

int Pipeline::stage_of_partition(int p) const {
  for (std::size_t s = stages_.size(); s-- > 0;) {
    if (p >= stages_[s].first_partition) return static_cast<int>(s);
  }
  return 0;
}

int forward_partition(const Stage& reader, std::uint32_t stream, std::uint64_t sequence) {
  const auto parts = static_cast<std::uint64_t>(reader.partitions);
  const std::uint64_t k = reader.keyed ? stream % parts : (stream + sequence) % parts;
  return reader.first_partition + static_cast<int>(k);
}

}  // namespace ride::task

#include "master/load_scaling.h"

#include <algorithm>
#include <cstdio>

#include "core/format.h"
#include "plan/scaling.h"

namespace ride {
namespace {

/// One instance type, "worker", of one core (utilization = busy fraction) and the configured
/// memory budget.
std::unique_ptr<plan::ScalingPolicy> make_policy(const JobConfig& cfg, int max_workers) {
  plan::InstanceType worker;
  worker.name = "worker";
  worker.vcpus = 1;
  worker.mem_gb = cfg.scaling_mem_mb > 0 ? cfg.scaling_mem_mb / 1024.0 : 1e9;
  worker.hourly_usd = 1;
  worker.max_count = max_workers;
  plan::ScalingConfig c;
  c.over = cfg.scaling_high;
  c.under = cfg.scaling_low;
  c.target = cfg.scaling_target;
  c.under_for_s = cfg.scaling_low_for_s;
  return std::make_unique<plan::ScalingPolicy>(std::vector<plan::InstanceType>{worker}, c);
}

}  // namespace

LoadScaling::LoadScaling(const JobConfig& cfg, bool independent_frames, int max_workers)
    : cfg_(cfg), independent_frames_(independent_frames), policy_(make_policy(cfg, max_workers)) {}

LoadScaling::~LoadScaling() = default;

std::vector<PartitionMove> LoadScaling::step(JobModel& model, double now, double job_s) {
  std::vector<PartitionMove> out;
  if (now < next_s_) return out;
  next_s_ = now + cfg_.scaling_interval_s;
  const double dt = now - last_s_;
  if (last_s_ == 0 || dt <= 0) {  // the first call only takes the baseline
    last_s_ = now;
    for (auto& [r, l] : loads_) l.then = l.now;
    for (int p = 0; p < model.partitions(); ++p) last_end_[p] = model.partition(p).metrics.end_offset;
    return out;
  }
  last_s_ = now;
  const double mem_gb = cfg_.scaling_mem_mb > 0 ? cfg_.scaling_mem_mb / 1024.0 : 1e9;
  std::vector<plan::InstanceState> instances;
  std::map<std::string, int> rank_of;
  for (int r : model.workers()) {
    auto& l = loads_[r];
    plan::InstanceState in;
    in.id = std::to_string(r);
    in.type = "worker";
    // Busy time arrives when a batch ends, so one long batch can read as more than the whole
    // interval: a worker is at most fully busy (the rest is backlog, which the lag shows).
    in.cpu_util = std::clamp((l.now.busy_s - l.then.busy_s) / dt, 0.0, 1.0);
    in.mem_util = cfg_.scaling_mem_mb > 0
                      ? static_cast<double>(l.now.rss_bytes) / (cfg_.scaling_mem_mb * 1048576.0)
                      : 0;
    l.then = l.now;
    const auto parts = model.assignment().partitions_of(r);
    double total_rate = 0;
    std::vector<double> rates;
    for (int p : parts) {
      const std::uint64_t end = model.partition(p).metrics.end_offset;
      rates.push_back(static_cast<double>(end - std::min(end, last_end_[p])) / dt);
      total_rate += rates.back();
    }
    for (std::size_t k = 0; k < parts.size(); ++k) {
      // A partition's share of the worker's load is its share of the frames.
      const double share = total_rate > 0 ? rates[k] / total_rate : 1.0 / static_cast<double>(parts.size());
      plan::StreamState st;
      st.id = std::to_string(parts[k]);
      st.program = cfg_.task;
      st.independent_frames = independent_frames_;
      st.fps = rates[k];
      st.width = cfg_.width;
      st.height = cfg_.height;
      st.cpu = in.cpu_util * share;
      st.mem_gb = in.mem_util * share * mem_gb;
      st.started_at = std::max(0.0, model.partition(parts[k]).moved_at_s);
      in.streams.push_back(st);
    }
    rank_of[in.id] = r;
    instances.push_back(std::move(in));
  }
  for (int p = 0; p < model.partitions(); ++p) last_end_[p] = model.partition(p).metrics.end_offset;
  std::vector<int> spares = model.spares();
  std::map<std::string, std::size_t> streams_of;
  for (const auto& in : instances) streams_of[in.id] = in.streams.size();
  for (const auto& a : policy_->step(job_s, instances)) {
    using Kind = plan::ScalingAction::Kind;
    if (a.kind == Kind::kAllocate) {
      // A new instance is a spare joining the workers; without one the moves onto it wait.
      if (spares.empty()) continue;
      rank_of[a.to] = spares.front();
      spares.erase(spares.begin());
      continue;
    }
    const auto from = rank_of.find(a.from);
    if (from == rank_of.end()) continue;
    if (a.kind == Kind::kRelease) {
      model.release_to_spares(from->second);
      ScalingEvent e;
      e.t_s = job_s;
      e.action = "shrink";
      e.worker = from->second;
      e.from = from->second;
      e.decided_steady = now;
      e.reason = "busy under " + fixed(100 * cfg_.scaling_low, 0) + " % for " + fixed(cfg_.scaling_low_for_s, 0) + " s";
      model.scaling().push_back(e);
      out.push_back({-1, from->second, -1, false});
      continue;
    }
    const auto to = rank_of.find(a.to);
    // Moving the only partition of a worker onto a fresh one just moves the load along.
    if (to == rank_of.end() || (a.to.rfind("new-", 0) == 0 && streams_of[a.from] <= 1)) continue;
    const int partition = std::stoi(a.stream);
    PartitionMove mv{partition, from->second, to->second, model.join_workers(to->second)};
    model.assignment().reassign(partition, mv.to);
    model.partition(partition).moved_at_s = job_s;
    ScalingEvent e;
    e.t_s = job_s;
    e.action = "move";
    e.worker = mv.to;
    e.from = mv.from;
    e.partitions = {partition};
    e.decided_steady = now;
    e.reason = "rank " + std::to_string(mv.from) + " over " + fixed(100 * cfg_.scaling_high, 0) + " % busy";
    model.scaling().push_back(e);
    out.push_back(mv);
  }
  return out;
}

}  // namespace ride

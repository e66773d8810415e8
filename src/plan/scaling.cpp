#include "plan/scaling.h"

#include <algorithm>
#include <tuple>

#include "core/error.h"

namespace ride::plan {

ScalingPolicy::ScalingPolicy(std::vector<InstanceType> catalog, ScalingConfig cfg)
    : catalog_(std::move(catalog)), cfg_(cfg) {}

std::vector<ScalingAction> ScalingPolicy::step(double now, const std::vector<InstanceState>& instances) {
  struct Live {
    std::string id;
    const InstanceType* type;
    double cpu, mem;  // projected utilization
    bool over, releasing, receiving;
  };
  auto find_type = [&](const std::string& name) -> const InstanceType* {
    for (const auto& t : catalog_)
      if (t.name == name) return &t;
    RIDE_FAIL("scaling: instance type '" << name << "' is not in the catalog");
  };
  std::vector<Live> live;
  std::vector<int> used(catalog_.size(), 0);
  for (const auto& in : instances) {
    const InstanceType* t = find_type(in.type);
    used[static_cast<std::size_t>(t - catalog_.data())]++;
    live.push_back({in.id, t, in.cpu_util, in.mem_util, in.cpu_util > cfg_.over || in.mem_util > cfg_.over,
                    false, false});
  }
  std::vector<ScalingAction> actions;
  auto place = [&](const StreamState& s, std::size_t from, bool may_allocate) -> int {
    for (std::size_t j = 0; j < live.size(); ++j) {
      if (j == from || live[j].over || live[j].releasing) continue;
      const double c = live[j].cpu + s.cpu / live[j].type->vcpus;
      const double m = live[j].mem + s.mem_gb / live[j].type->mem_gb;
      if (c <= cfg_.target + 1e-12 && m <= cfg_.target + 1e-12) {
        live[j].cpu = c;
        live[j].mem = m;
        live[j].receiving = true;
        return static_cast<int>(j);
      }
    }
    if (!may_allocate) return -1;
    const InstanceType* best = nullptr;
    for (std::size_t t = 0; t < catalog_.size(); ++t) {
      const auto& ty = catalog_[t];
      if (ty.max_count > 0 && used[t] >= ty.max_count) continue;
      if (s.cpu / ty.vcpus > cfg_.target || s.mem_gb / ty.mem_gb > cfg_.target) continue;
      if (best == nullptr || ty.hourly_usd < best->hourly_usd) best = &ty;
    }
    if (best == nullptr) return -1;
    used[static_cast<std::size_t>(best - catalog_.data())]++;
    const std::string id = "new-" + std::to_string(next_id_++);
    actions.push_back({ScalingAction::Kind::kAllocate, "", "", id, best->name});
    live.push_back({id, best, s.cpu / best->vcpus, s.mem_gb / best->mem_gb, false, false, true});
    return static_cast<int>(live.size() - 1);
  };

  // Over-utilized instances: migrate in CAM²'s preference order.
  for (std::size_t i = 0; i < instances.size(); ++i) {
    if (!live[i].over) continue;
    const auto& in = instances[i];
    const InstanceType* t = live[i].type;
    std::vector<const StreamState*> order;
    for (const auto& s : in.streams) order.push_back(&s);
    auto heavy = [&](const StreamState* s) { return std::max(s->cpu / t->vcpus, s->mem_gb / t->mem_gb); };
    std::stable_sort(order.begin(), order.end(), [&](const StreamState* a, const StreamState* b) {
      return std::make_tuple(!a->independent_frames, a->fps, -heavy(a),
                             -static_cast<double>(a->width) * a->height, -a->started_at) <
             std::make_tuple(!b->independent_frames, b->fps, -heavy(b),
                             -static_cast<double>(b->width) * b->height, -b->started_at);
    });
    for (const StreamState* s : order) {
      if (live[i].cpu <= cfg_.target && live[i].mem <= cfg_.target) break;
      const int to = place(*s, i, true);
      if (to < 0) continue;  // nothing can take it (limits): leave it
      live[i].cpu -= s->cpu / t->vcpus;
      live[i].mem -= s->mem_gb / t->mem_gb;
      actions.push_back({ScalingAction::Kind::kMigrate, s->id, in.id, live[static_cast<std::size_t>(to)].id, ""});
    }
  }

  // Under-utilized instances: track how long, release when all streams fit elsewhere.
  std::vector<std::pair<std::string, double>> still_under;
  std::vector<std::size_t> candidates;
  for (std::size_t i = 0; i < instances.size(); ++i) {
    const auto& in = instances[i];
    if (!(in.cpu_util < cfg_.under && in.mem_util < cfg_.under)) continue;
    double since = now;
    for (const auto& [id, t] : under_since_)
      if (id == in.id) since = t;
    still_under.emplace_back(in.id, since);
    if (now - since >= cfg_.under_for_s) candidates.push_back(i);
  }
  under_since_ = std::move(still_under);
  std::stable_sort(candidates.begin(), candidates.end(), [&](std::size_t a, std::size_t b) {
    return std::max(instances[a].cpu_util, instances[a].mem_util) < std::max(instances[b].cpu_util, instances[b].mem_util);
  });
  for (std::size_t i : candidates) {
    if (live[i].receiving || live[i].over) continue;
    auto saved = live;
    live[i].releasing = true;
    std::vector<ScalingAction> moves;
    bool ok = true;
    for (const auto& s : instances[i].streams) {
      const int to = place(s, i, false);
      if (to < 0) {
        ok = false;
        break;
      }
      moves.push_back({ScalingAction::Kind::kMigrate, s.id, instances[i].id, live[static_cast<std::size_t>(to)].id, ""});
    }
    if (!ok) {
      live = std::move(saved);
      continue;
    }
    actions.insert(actions.end(), moves.begin(), moves.end());
    actions.push_back({ScalingAction::Kind::kRelease, "", instances[i].id, "", ""});
    std::erase_if(under_since_, [&](const auto& p) { return p.first == instances[i].id; });
  }
  return actions;
}

}  // namespace ride::plan

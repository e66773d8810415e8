/// A task library for bench/pipeline_hop.py: `fused` runs two of ride's built-in tasks one
/// after the other on every frame, in one stage — the reference a two-stage pipeline of the same
/// two tasks is compared with (the cost of a hop through the brokers). Loaded like a user's
/// library: --task.library=build/bench/task/libride_fused_task.so --task.name=fused
/// --params.first=stddev --params.second=hessian. Both tasks run with their default parameters.
#include <memory>
#include <stdexcept>
#include <string>

#include "task/registry.h"
#include "task/ride_task.h"

namespace {

using namespace ride::task;

class FusedInstance final : public Instance {
 public:
  FusedInstance(std::unique_ptr<Instance> a, std::size_t a_scalars, std::unique_ptr<Instance> b)
      : a_(std::move(a)), b_(std::move(b)), a_scalars_(a_scalars) {}
  void process(const Frame& in, Output& out) override {
    a_->process(in, out);
    Output second;
    b_->process(in, second);  // the second task sees the same frame (a pipeline's emit = frame)
    for (std::size_t k = a_scalars_; k < kMaxScalars; ++k) out.scalars[k] = second.scalars[k - a_scalars_];
  }

 private:
  std::unique_ptr<Instance> a_, b_;
  std::size_t a_scalars_;
};

class FusedTask final : public Task {
 public:
  Info info() const override {
    return Info{.name = "fused",
                .summary = "two built-in tasks in one (bench/pipeline_hop.py): params first, second",
                .params = {{"first", "stddev", "the first task"}, {"second", "hessian", "the second task"}},
                .scalars = {"a0", "a1", "a2", "a3", "b0", "b1", "b2", "b3"}};
  }
  std::unique_ptr<Instance> create(const Setup& s) const override {
    static const TaskRegistry builtins;
    const auto a = builtins.find(param_text(s, "first"));
    const auto b = builtins.find(param_text(s, "second"));
    if (!a || !b) throw std::invalid_argument("parameters 'first' and 'second' must name built-in tasks");
    if (a->info().scalars.size() > 4 || b->info().scalars.size() > 4) {
      throw std::invalid_argument("each task may have at most 4 scalars here");
    }
    auto make = [&](const Task& t) {
      Setup one = s;
      one.params.clear();
      for (const auto& p : t.info().params) one.params[p.name] = p.default_value;
      return t.create(one);
    };
    return std::make_unique<FusedInstance>(make(*a), 4, make(*b));
  }
};

}  // namespace

extern "C" int ride_register_tasks(Registry* registry, int api_version) {
  if (api_version != kApiVersion) return 1;
  registry->add(std::make_shared<FusedTask>());
  return 0;
}

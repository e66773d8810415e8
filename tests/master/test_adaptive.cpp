/// RIDE's adaptive groups (master/adaptive.h): grow on lag, shrink after lasting under-use, and
/// never flap at a steady rate near a threshold.
#include <gtest/gtest.h>

#include "job_layouts.h"

#include "master/adaptive.h"

namespace ride {
namespace {

using test::layout_of;

/// A job fed by a simulated data plane: input at `input_fps`, each worker committing up to
/// `worker_fps` (round-robin over its partitions), busy fractions reported like WORKER_METRICS.
struct Sim {
  RoleLayout layout;
  JobModel model;
  AdaptiveGroup group;
  double worker_fps;
  std::vector<double> end_f, committed_f;  ///< frames, fractional: rates below one per tick
  std::map<int, double> busy;
  double t = 0;
  Sim(int workers, int spares, int partitions, double wfps, AdaptiveConfig cfg)
      : layout(layout_of(workers, spares, partitions)),
        model(layout, PartitionMap::spread(partitions, layout.brokers)),
        group(std::move(cfg)),
        worker_fps(wfps),
        end_f(static_cast<std::size_t>(partitions), 0),
        committed_f(static_cast<std::size_t>(partitions), 0) {
    model.assignment().assign_round_robin(model.workers());
  }
  /// Advances 0.5 s at `input_fps` over all partitions; returns the changes of that tick.
  std::vector<GroupChange> tick(double input_fps) {
    const double dt = 0.5;
    t += dt;
    const int P = model.partitions();
    for (int p = 0; p < P; ++p) end_f[static_cast<std::size_t>(p)] += input_fps * dt / P;
    for (int w : model.workers()) {
      const auto parts = model.assignment().partitions_of(w);
      double capacity = worker_fps * dt, used = 0;
      for (int pass = 0; pass < 4 && capacity - used > 1e-9 && !parts.empty(); ++pass) {  // what one leaves, the next gets
        const double each = (capacity - used) / static_cast<double>(parts.size());
        for (int p : parts) {
          const auto i = static_cast<std::size_t>(p);
          const double take = std::min(end_f[i] - committed_f[i], each);
          committed_f[i] += take;
          used += take;
        }
      }
      busy[w] += used / worker_fps;
      group.on_busy(w, busy[w]);
    }
    for (int p = 0; p < P; ++p) {
      const auto i = static_cast<std::size_t>(p);
      PartitionMetrics pm;
      pm.partition = static_cast<std::uint32_t>(p);
      pm.end_offset = static_cast<std::uint64_t>(end_f[i]);
      pm.committed = static_cast<std::uint64_t>(committed_f[i]);
      // The oldest waiting frame is as old as the backlog at this partition's rate.
      const double rate = input_fps / P;
      const double backlog_s = rate > 0 ? (end_f[i] - committed_f[i]) / rate : 0;
      pm.oldest_capture_ns = pm.end_offset > pm.committed ? static_cast<std::int64_t>((t - backlog_s) * 1e9) : 0;
      pm.as_of_ns = static_cast<std::int64_t>(t * 1e9);
      model.on_partition_metrics(pm, pm.as_of_ns);
    }
    return group.step(model, t, t);
  }
};

AdaptiveConfig config() {
  AdaptiveConfig c{.interval_s = 1, .lag_high_s = 2, .low = 0.5, .target = 0.7, .low_for_s = 10};
  c.cooldown_s = 5;
  c.min_workers = 1;
  c.max_workers = 6;
  return c;
}

TEST(AdaptiveGroup, GrowsWhenTheRateRisesAndShrinksAfterItDrops) {
  Sim sim(2, 4, 12, 10.0, config());  // each worker does 10 fps
  int grows = 0, shrinks = 0;
  auto run = [&](double fps, double seconds) {
    for (double s = 0; s < seconds; s += 0.5) {
      for (const auto& c : sim.tick(fps)) {
        if (c.kind == GroupChange::Kind::grow) {
          ++grows;
          EXPECT_NE(c.reason.find("lag over scaling.lag_high_s = 2.0 s: input"), std::string::npos) << c.reason;
          EXPECT_FALSE(c.moved.empty());
          for (const auto& mv : c.moved) EXPECT_EQ(sim.model.owner(mv.partition), mv.to);
        } else {
          ++shrinks;
          EXPECT_NE(c.reason.find("under scaling.low = 50 % busy"), std::string::npos) << c.reason;
        }
      }
    }
  };
  run(15, 20);  // 2 workers = 20 fps: enough
  EXPECT_EQ(grows, 0);
  EXPECT_EQ(sim.model.workers().size(), 2u);
  run(40, 40);  // needs 4
  EXPECT_GE(sim.model.workers().size(), 4u);
  EXPECT_GE(grows, 1);
  EXPECT_LT(sim.model.totals().lag_s, 2.0);  // caught up
  const std::size_t peak = sim.model.workers().size();
  run(8, 90);  // one worker is enough
  EXPECT_LT(sim.model.workers().size(), peak);
  EXPECT_GE(shrinks, 1);
  EXPECT_GE(sim.model.workers().size(), 1u);
  // Events carry what the summary needs.
  ASSERT_FALSE(sim.model.scaling().empty());
  for (const auto& e : sim.model.scaling()) {
    EXPECT_TRUE(e.action == "grow" || e.action == "shrink") << e.action;
    EXPECT_GE(e.worker, 3);
    EXPECT_FALSE(e.reason.empty());
  }
  // Every partition still has a live owner in the group.
  for (int p = 0; p < sim.model.partitions(); ++p) {
    const int o = sim.model.owner(p);
    EXPECT_NE(std::find(sim.model.workers().begin(), sim.model.workers().end(), o), sim.model.workers().end()) << p;
  }
}

TEST(AdaptiveGroup, NoFlappingAtASteadyRateNearAThreshold) {
  // 3 workers of 10 fps; the input sits just around the shrink line (3 x 10 x 0.5 = 15 fps:
  // busy 45-55 %), and one fewer would be over the 70 % target: nothing may change, for 10 min.
  Sim sim(3, 3, 9, 10.0, config());
  int changes = 0;
  for (int i = 0; i < 1200; ++i) changes += static_cast<int>(sim.tick(i % 4 < 2 ? 13.5 : 16.5).size());
  EXPECT_EQ(changes, 0);
  // Near the grow line: input = capacity, lag hovering; at most one change, no back-and-forth.
  Sim near(2, 3, 10, 10.0, config());
  int grows = 0, shrinks = 0;
  for (int i = 0; i < 1200; ++i) {
    for (const auto& c : near.tick(i % 2 ? 19.0 : 21.0)) (c.kind == GroupChange::Kind::grow ? grows : shrinks)++;
  }
  EXPECT_LE(grows, 1);
  EXPECT_EQ(shrinks, 0);
}

TEST(AdaptiveGroup, CooldownSpacesChangesAndLimitsHold) {
  AdaptiveConfig cfg = config();
  cfg.max_workers = 3;
  Sim sim(1, 5, 6, 10.0, cfg);
  std::vector<double> at;
  for (double s = 0; s < 60; s += 0.5) {
    for (const auto& c : sim.tick(100)) {  // far more than any group can do
      (void)c;
      at.push_back(sim.t);
    }
  }
  EXPECT_EQ(sim.model.workers().size(), 3u);  // scaling.max_workers
  for (std::size_t i = 1; i < at.size(); ++i) EXPECT_GE(at[i] - at[i - 1], 5.0 - 1e-9);
}

TEST(AdaptiveGroup, LagIsAsOfTheReportAndALookWithoutNewsDecidesNothing) {
  // mpi.scaling.no_flapping_at_a_steady_rate once grew at 2.1 s on a busy machine: no broker
  // report had come for 0.7 s, and the age of a frame then in flight was counted up to the look
  // ("input 0.0 fps, processed 0.0 fps, lag 1 frames (0.7 s)"). The test's settings:
  AdaptiveConfig cfg{.interval_s = 0.5, .lag_high_s = 0.5, .low = 0.5, .target = 0.7, .low_for_s = 2};
  cfg.cooldown_s = 2;
  cfg.max_workers = 3;
  const RoleLayout layout = layout_of(2, 1, 3);
  JobModel m(layout, PartitionMap::spread(3, layout.brokers));
  m.assignment().assign_round_robin(m.workers());  // worker 3 owns two partitions: one to give
  AdaptiveGroup g(cfg);
  std::uint64_t end = 0;  // per partition: 16 fps each, 48 in all
  // A report (every 0.1 s): partition 0's oldest uncommitted frame was captured at `capture_s`.
  auto report = [&](double t, std::uint64_t committed0, double capture_s) {
    for (int p = 0; p < 3; ++p) {
      auto pm = test::metrics(p, end, p == 0 ? committed0 : end);
      pm.oldest_capture_ns = p == 0 && committed0 < end ? static_cast<std::int64_t>(capture_s * 1e9) : 0;
      pm.as_of_ns = static_cast<std::int64_t>(t * 1e9);
      m.on_partition_metrics(pm, pm.as_of_ns);
    }
    for (int w : {3, 4}) g.on_busy(w, 0.6 * t);  // 60 % busy: no under-use either
  };
  int changes = 0;
  double t = 0;
  for (; t < 1.05; t += 0.1) {
    end = static_cast<std::uint64_t>(16 * t) + 1;
    report(t, end - 1, t - 0.02);
    changes += static_cast<int>(g.step(m, t, t).size());
  }
  EXPECT_EQ(changes, 0);
  // No report for 0.7 s: the last one said the frame had waited 0.02 s, and that is all anyone knows.
  t = 1.75;
  EXPECT_TRUE(g.step(m, t, t).empty());
  EXPECT_DOUBLE_EQ(m.partition(0).lag_s(), 0.02);
  // Reports again, the input catching up: still nothing to do.
  for (t = 1.8; t < 3.05; t += 0.1) {
    end = static_cast<std::uint64_t>(16 * t) + 1;
    report(t, end - 1, t - 0.02);
    changes += static_cast<int>(g.step(m, t, t).size());
  }
  EXPECT_EQ(changes, 0);
  // The input pauses while a frame really waits, older and older as the reports say: no news of
  // a shortage (nothing arrives, nothing is committed), no change.
  const std::uint64_t stuck = end - 1;
  for (t = 3.1; t < 5.05; t += 0.1) {
    report(t, stuck, 3.0);
    changes += static_cast<int>(g.step(m, t, t).size());
  }
  EXPECT_EQ(changes, 0);
  EXPECT_GT(m.partition(0).lag_s(), 1.9);
  // Frames arrive again and the old one still waits: the group is short, and grows.
  std::vector<GroupChange> grew;
  for (t = 5.1; t < 6.05 && grew.empty(); t += 0.1) {
    end += 2;
    report(t, stuck, 3.0);
    grew = g.step(m, t, t);
  }
  ASSERT_EQ(grew.size(), 1u);
  EXPECT_EQ(grew[0].kind, GroupChange::Kind::grow);
  EXPECT_EQ(grew[0].workers, (std::vector<int>{5}));
  EXPECT_NE(grew[0].reason.find("lag over scaling.lag_high_s = 0.5 s: input"), std::string::npos) << grew[0].reason;
  EXPECT_GT(m.partition(0).lag_s(), 2.0);
}

TEST(AdaptiveGroup, ScheduleSetsTheGroupSizeByTime) {
  AdaptiveConfig cfg = config();
  cfg.schedule = {{0, 0}, {5, 1}, {10, 3}, {20, 1}};
  Sim sim(1, 3, 4, 10.0, cfg);
  std::map<double, std::size_t> size_at;
  for (double s = 0; s < 25; s += 0.5) {
    sim.tick(5);
    size_at[sim.t] = sim.model.workers().size();
    if (sim.t == 2.0) {
      for (int p = 0; p < 4; ++p) EXPECT_LT(sim.model.owner(p), 0);  // nobody works before 5 s
    }
  }
  EXPECT_EQ(size_at[2.0], 0u);
  EXPECT_EQ(size_at[6.0], 1u);
  EXPECT_EQ(size_at[11.0], 3u);
  EXPECT_EQ(size_at[21.0], 1u);
  for (int p = 0; p < 4; ++p) EXPECT_EQ(sim.model.owner(p), sim.model.workers().front());
}

TEST(Rebalance, ANewcomerTakesItsShareFromTheBusiest) {
  const RoleLayout l = layout_of(2, 1, 8);
  JobModel m(l, PartitionMap::spread(8, l.brokers));
  m.assignment().assign_round_robin(m.workers());  // 4 each
  m.join_workers(5);
  const auto moves = rebalance_onto(m, 5);
  EXPECT_EQ(moves.size(), 2u);  // 8 / 3 = 2
  EXPECT_EQ(m.assignment().count_of(5), 2u);
  EXPECT_EQ(m.assignment().count_of(3) + m.assignment().count_of(4), 6u);
  const auto back = drain_from(m, 5);
  EXPECT_EQ(back.size(), 2u);
  EXPECT_EQ(m.assignment().count_of(5), 0u);
  EXPECT_EQ(m.assignment().count_of(3), 4u);
}

}  // namespace
}  // namespace ride

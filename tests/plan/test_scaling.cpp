#include <gtest/gtest.h>

#include "core/error.h"
#include "plan/scaling.h"

namespace rp = ride::plan;
using Kind = rp::ScalingAction::Kind;

namespace {
rp::StreamState stream(const char* id, bool indep, double fps, int w, int h, double cpu, double mem, double t0) {
  return {id, "P", indep, fps, w, h, cpu, mem, t0};  // StreamState's fields, in order
}
std::vector<rp::InstanceType> cat() {
  return {{"small", 4, 16, 0, 0.2, 0}, {"big", 8, 32, 0, 0.45, 0}};
}
}  // namespace

TEST(PlanScaling, OverUtilizedMigratesInPreferenceOrderToExistingInstance) {
  rp::ScalingPolicy pol(cat());
  rp::InstanceState a{"A", "small", 0.95, 0.3, {}};
  // order expected: independent first (s3), then low fps (s2 at 1 fps before s1/s4 at 5), then heavy,
  // then high resolution, then recent.
  a.streams = {stream("s1", false, 5, 640, 480, 0.4, 1, 0), stream("s2", false, 1, 640, 480, 0.4, 1, 0),
               stream("s3", true, 5, 640, 480, 0.4, 1, 0), stream("s4", false, 5, 1280, 720, 0.4, 1, 0)};
  rp::InstanceState b{"B", "small", 0.1, 0.1, {}};
  const auto acts = pol.step(0, {a, b});
  // 0.95 - 0.1 per stream: needs 3 migrations to reach <= 0.7 (0.85, 0.75, 0.65)
  ASSERT_EQ(acts.size(), 3u);
  EXPECT_EQ(acts[0].stream, "s3");
  EXPECT_EQ(acts[1].stream, "s2");
  EXPECT_EQ(acts[2].stream, "s4");  // same fps/need as s1, higher resolution
  for (const auto& x : acts) {
    EXPECT_EQ(x.kind, Kind::kMigrate);
    EXPECT_EQ(x.from, "A");
    EXPECT_EQ(x.to, "B");
  }
}

TEST(PlanScaling, MostRecentBreaksTiesAndNewInstanceAllocatedWhenNoRoom) {
  rp::ScalingPolicy pol(cat());
  rp::InstanceState a{"A", "small", 0.8, 0.95, {}};
  a.streams = {stream("old", false, 1, 640, 480, 0.2, 1.0, 10), stream("new", false, 1, 640, 480, 0.2, 1.0, 99)};
  rp::InstanceState full{"F", "small", 0.69, 0.69, {}};
  const auto acts = pol.step(0, {a, full});
  ASSERT_GE(acts.size(), 2u);
  EXPECT_EQ(acts[0].kind, Kind::kAllocate);
  EXPECT_EQ(acts[0].type, "small");  // cheapest type that holds it
  EXPECT_EQ(acts[1].kind, Kind::kMigrate);
  EXPECT_EQ(acts[1].stream, "new");
  EXPECT_EQ(acts[1].to, acts[0].to);
}

TEST(PlanScaling, UnderUtilizedReleasedOnlyAfterHoldAndWhenStreamsFitElsewhere) {
  rp::ScalingConfig cfg;
  cfg.under_for_s = 100;
  rp::ScalingPolicy pol(cat(), cfg);
  rp::InstanceState low{"L", "small", 0.2, 0.1, {stream("x", true, 1, 640, 480, 0.4, 1, 0)}};
  rp::InstanceState mid{"M", "small", 0.55, 0.55, {}};
  EXPECT_TRUE(pol.step(0, {low, mid}).empty());
  EXPECT_TRUE(pol.step(50, {low, mid}).empty());
  auto acts = pol.step(120, {low, mid});
  ASSERT_EQ(acts.size(), 2u);
  EXPECT_EQ(acts[0].kind, Kind::kMigrate);
  EXPECT_EQ(acts[0].to, "M");
  EXPECT_EQ(acts[1].kind, Kind::kRelease);
  EXPECT_EQ(acts[1].from, "L");

  // an interruption of the under-utilization restarts the clock
  rp::ScalingPolicy pol2(cat(), cfg);
  EXPECT_TRUE(pol2.step(0, {low, mid}).empty());
  rp::InstanceState busy = low;
  busy.cpu_util = 0.6;
  EXPECT_TRUE(pol2.step(60, {busy, mid}).empty());
  EXPECT_TRUE(pol2.step(120, {low, mid}).empty());
  EXPECT_FALSE(pol2.step(220, {low, mid}).empty());

  // no room elsewhere: nothing released
  rp::ScalingPolicy pol3(cat(), cfg);
  rp::InstanceState tight{"T", "small", 0.68, 0.3, {}};
  EXPECT_TRUE(pol3.step(0, {low, tight}).empty());
  EXPECT_TRUE(pol3.step(500, {low, tight}).empty());
}

TEST(PlanScaling, TwoUnderUtilizedInstancesDoNotReleaseEachOther) {
  rp::ScalingConfig cfg;
  cfg.under_for_s = 0;
  rp::ScalingPolicy pol(cat(), cfg);
  rp::InstanceState a{"A", "small", 0.1, 0.1, {stream("a", true, 1, 640, 480, 0.4, 1, 0)}};
  rp::InstanceState b{"B", "small", 0.2, 0.2, {stream("b", true, 1, 640, 480, 0.8, 3, 0)}};
  const auto acts = pol.step(0, {a, b});
  int releases = 0;
  for (const auto& x : acts) releases += x.kind == Kind::kRelease;
  EXPECT_EQ(releases, 1);  // A (emptiest) moves to B; B received streams so it stays
  EXPECT_EQ(acts.back().from, "A");
}

TEST(PlanScaling, UnknownTypeThrows) {
  rp::ScalingPolicy pol(cat());
  EXPECT_THROW(pol.step(0, {{"A", "nope", 0.5, 0.5, {}}}), ride::Error);
}

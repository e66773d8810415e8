#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <random>

#include "core/error.h"
#include "plan/solver.h"
#include "support/random_unit.h"

namespace rp = ride::plan;

namespace {

rp::BinType type(const char* name, double c, double m, double price, int max_count = 0, double g = 0) {
  rp::BinType t;
  t.name = name;
  t.raw = {c, m, g};
  t.cap = {0.7 * c, 0.7 * m, 0.7 * g};
  t.price = price;
  t.max_count = max_count;
  return t;
}
rp::ItemClass cls(const char* label, double c, double m, long n, double g = 0) {
  rp::ItemClass k;
  k.label = label;
  k.size = {c, m, g};
  k.count = n;
  k.source = "test";
  return k;
}

/// Table 2 at 70 %.
std::vector<rp::BinType> table2(int limit2x = 0) {
  return {type("m4.xlarge", 4, 16, 0.239), type("m4.2xlarge", 8, 32, 0.479, limit2x),
          type("c4.xlarge", 4, 7.5, 0.209), type("c4.2xlarge", 8, 15, 0.419, limit2x),
          type("r3.xlarge", 4, 30.5, 0.333), type("r3.2xlarge", 8, 61, 0.665, limit2x)};
}

/// Plain brute force: every set partition of the (expanded) items, every type for every block,
/// limits respected; returns the cheapest cost (inf when infeasible).
double brute_force(const rp::Problem& p) {
  std::vector<rp::Vec> items;
  for (const auto& c : p.classes)
    for (long k = 0; k < c.count; ++k) items.push_back(c.size);
  const std::size_t n = items.size();
  if (n == 0) return 0;
  double best = std::numeric_limits<double>::infinity();
  std::vector<int> block(n, 0);
  std::function<void(std::size_t, int)> partitions = [&](std::size_t i, int nblocks) {
    if (i == n) {
      std::vector<rp::Vec> load(static_cast<std::size_t>(nblocks), rp::Vec{});
      for (std::size_t k = 0; k < n; ++k)
        for (int d = 0; d < rp::kDims; ++d) load[static_cast<std::size_t>(block[k])][d] += items[k][d];
      std::vector<int> used(p.types.size(), 0);
      std::function<void(int, double)> assign = [&](int b, double cost) {
        if (cost >= best) return;
        if (b == nblocks) {
          best = cost;
          return;
        }
        for (std::size_t t = 0; t < p.types.size(); ++t) {
          if (p.types[t].max_count > 0 && used[t] >= p.types[t].max_count) continue;
          bool ok = true;
          for (int d = 0; d < rp::kDims; ++d)
            ok = ok && load[static_cast<std::size_t>(b)][d] <= p.types[t].cap[d] * (1 + 1e-9) + 1e-12;
          if (!ok) continue;
          ++used[t];
          assign(b + 1, cost + p.types[t].price);
          --used[t];
        }
      };
      assign(0, 0);
      return;
    }
    for (int b = 0; b <= nblocks; ++b) {
      block[i] = b;
      partitions(i + 1, std::max(nblocks, b + 1));
    }
  };
  partitions(0, 0);
  return best;
}

rp::Problem random_tiny(std::mt19937& rng) {
  std::uniform_real_distribution<double> u(0.05, 1.0);
  std::uniform_int_distribution<int> nt(1, 3), nc(1, 3), cnt(1, 3), lim(0, 2);
  rp::Problem p;
  const int types = nt(rng);
  for (int t = 0; t < types; ++t) {
    const double c = 1 + 3 * u(rng), m = 1 + 3 * u(rng);
    p.types.push_back(type("t", c, m, 0.1 + u(rng) * (c + m) / 4, lim(rng)));
  }
  long total = 0;
  const int classes = nc(rng);
  for (int k = 0; k < classes && total < 6; ++k) {
    long n = std::min<long>(cnt(rng), 6 - total);
    p.classes.push_back(cls("k", 0.1 + 1.2 * u(rng), 0.1 + 1.2 * u(rng), n));
    total += n;
  }
  return p;
}

}  // namespace

TEST(PlanSolver, ExactEqualsBruteForceOnTinyInstances) {
  std::mt19937 rng(12345);
  int compared = 0, infeasible = 0;
  for (int iter = 0; iter < 150; ++iter) {
    rp::Problem p = random_tiny(rng);
    bool fits_some = true;
    for (const auto& c : p.classes) {
      bool ok = false;
      for (const auto& t : p.types) ok = ok || rp::fits(c.size, t.cap);
      fits_some = fits_some && ok;
    }
    if (!fits_some) {
      EXPECT_THROW(rp::solve_exact(p), ride::ConfigError);
      EXPECT_THROW(rp::solve_ffod(p), ride::ConfigError);
      continue;
    }
    const double bf = brute_force(p);
    if (!std::isfinite(bf)) {  // limits make it infeasible
      ++infeasible;
      EXPECT_THROW(rp::solve_exact(p), ride::ConfigError) << iter;
      continue;
    }
    const rp::Packing ex = rp::solve_exact(p);
    rp::check_packing(p, ex);
    EXPECT_TRUE(ex.proven_optimal);
    EXPECT_NEAR(ex.cost, bf, 1e-9) << "iteration " << iter;
    EXPECT_LE(ex.lower_bound, ex.cost + 1e-9);
    ++compared;
  }
  EXPECT_GT(compared, 80);
  EXPECT_GT(infeasible, 0);  // the generator does produce limit-infeasible cases
}

TEST(PlanSolver, OrderingOfBoundsAndFeasibilityOnRandomTable5SizedInstances) {
  auto [rng, u] = ride::test::random_unit(777);
  int compared = 0;
  for (int iter = 0; iter < 12; ++iter) {
    rp::Problem p;
    p.types = table2(iter % 3 == 0 ? 2 : 0);
    const int classes = 1 + static_cast<int>(u(rng) * 4);
    for (int k = 0; k < classes; ++k)
      p.classes.push_back(cls("k", 0.1 + 1.6 * u(rng) * u(rng), 0.1 + 4 * u(rng) * u(rng),
                              5 + static_cast<long>(u(rng) * 40)));
    const rp::Packing f = rp::solve_ffod(p);
    const rp::Packing h = rp::solve_hybrid(p);
    rp::Packing e;
    try {
      e = rp::solve_exact(p, {.max_patterns = 30'000, .time_limit_s = 5});
    } catch (const ride::Error&) {
      continue;  // too many patterns for a unit test
    }
    ++compared;
    for (const rp::Packing* s : {&f, &h, static_cast<const rp::Packing*>(&e)}) EXPECT_NO_THROW(rp::check_packing(p, *s)) << s->solver;
    EXPECT_LE(e.lower_bound, e.cost + 1e-9);
    if (e.proven_optimal) {
      EXPECT_LE(e.cost, h.cost + 1e-9) << iter;
    }
    EXPECT_LE(h.cost, f.cost + 1e-9) << iter;
    EXPECT_NEAR(rp::packing_cost(p, f.bins), f.cost, 1e-9);
  }
  EXPECT_GE(compared, 8);
}

TEST(PlanSolver, LimitsRespectedAndInfeasibleLimitsThrow) {
  rp::Problem p;
  p.types = {type("small", 4, 8, 0.2, 3), type("big", 8, 16, 0.3, 2)};
  p.classes = {cls("a", 1.3, 1, 20)};  // 2 per small, 4 per big
  for (auto solve : {+[](const rp::Problem& q) { return rp::solve_ffod(q); },
                     +[](const rp::Problem& q) { return rp::solve_hybrid(q); },
                     +[](const rp::Problem& q) { return rp::solve_exact(q); }}) {
    EXPECT_THROW(solve(p), ride::ConfigError);  // at most 3*2 + 2*4 = 14 < 20
  }
  p.classes[0].count = 14;
  for (auto solve : {+[](const rp::Problem& q) { return rp::solve_ffod(q); },
                     +[](const rp::Problem& q) { return rp::solve_hybrid(q); },
                     +[](const rp::Problem& q) { return rp::solve_exact(q); }}) {
    const rp::Packing s = solve(p);
    EXPECT_NO_THROW(rp::check_packing(p, s));
    EXPECT_EQ(s.bins.size(), 5u);
  }
}

TEST(PlanSolver, StreamThatFitsNoTypeAndEmptyCatalog) {
  rp::Problem p;
  p.types = table2();
  p.classes = {cls("huge", 6, 1, 1)};  // 6 cores > 0.7 * 8
  p.classes[0].source = "s.csv:4";
  try {
    rp::solve_ffod(p);
    FAIL();
  } catch (const ride::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("s.csv:4"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("huge"), std::string::npos) << e.what();
  }
  p.types.clear();
  p.classes[0].size = {1, 1, 0};
  EXPECT_THROW(rp::solve_hybrid(p), ride::ConfigError);
  EXPECT_THROW(rp::solve_exact(p), ride::ConfigError);
}

TEST(PlanSolver, GpuIsAThirdDimension) {
  rp::Problem p;
  p.types = {type("cpu", 8, 32, 0.3), type("gpu1", 8, 32, 0.9, 0, 1)};
  p.classes = {cls("cpu-only", 1, 1, 6), cls("needs-gpu", 0.5, 1, 3, 0.2)};
  // 6 + 1.5 cores > 5.6: one cpu instance and one GPU instance are needed
  for (const rp::Packing& s : {rp::solve_ffod(p), rp::solve_hybrid(p), rp::solve_exact(p)}) {
    EXPECT_NO_THROW(rp::check_packing(p, s));
    for (const auto& b : s.bins)
      if (b.counts[1] > 0) {
        EXPECT_EQ(b.type, 1);
        EXPECT_LE(b.counts[1], 3);  // 0.7 GPU / 0.2 = 3
      }
  }
  EXPECT_NEAR(rp::solve_exact(p).cost, 0.3 + 0.9, 1e-9);
}

TEST(PlanSolver, FfodFollowsTheDocumentedRule) {
  // One type per unit cost: per-item cost price*max(c/C, m/M) picks c4.xlarge (0.209/4 < 0.419/8)
  // for a CPU item; first fit fills bins in opening order.
  rp::Problem p;
  p.types = table2();
  p.classes = {cls("cpu", 1.0, 0.5, 5)};  // 2 per c4.xlarge (2.8 cores)
  const rp::Packing f = rp::solve_ffod(p);
  ASSERT_EQ(f.bins.size(), 3u);
  for (const auto& b : f.bins) EXPECT_EQ(p.types[static_cast<std::size_t>(b.type)].name, "c4.xlarge");
  EXPECT_EQ(f.bins[0].counts[0], 2);
  EXPECT_EQ(f.bins[2].counts[0], 1);
  // The more unbalanced class goes first: memory-heavy items open r3 (cheapest per GB).
  p.classes = {cls("bal", 1.0, 2.0, 1), cls("mem", 0.1, 10, 1)};
  const rp::Packing g = rp::solve_ffod(p);
  ASSERT_GE(g.bins.size(), 1u);
  // r3.2xlarge: 0.665 x 10/42.7 = 0.1557 < r3.xlarge 0.333 x 10/21.35 = 0.1560
  EXPECT_EQ(p.types[static_cast<std::size_t>(g.bins[0].type)].name, "r3.2xlarge");
  EXPECT_EQ(g.bins[0].counts[1], 1);
  EXPECT_EQ(g.bins[0].counts[0], 1);  // first fit: the balanced item joins the open r3
}

TEST(PlanSolver, EmptyDemand) {
  rp::Problem p;
  p.types = table2();
  p.classes = {cls("none", 1, 1, 0)};
  for (const rp::Packing& s : {rp::solve_ffod(p), rp::solve_hybrid(p), rp::solve_exact(p)}) {
    EXPECT_TRUE(s.bins.empty());
    EXPECT_EQ(s.cost, 0);
  }
}

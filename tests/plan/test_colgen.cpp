// Column generation for the pattern LP (src/plan/colgen.h): the pricing knapsack against brute
// force, the column-generation LP against the full enumeration, bounds that stay valid when the
// budget stops early, and a CAM² Table 12-sized instance that enumeration cannot handle.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <limits>
#include <random>
#include <string>

#include "core/error.h"
#include "plan/colgen.h"
#include "plan/plan.h"
#include "plan/solver.h"
#include "support/random_unit.h"

namespace rp = ride::plan;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

rp::BinType type(double c, double m, double price, int max_count = 0, double g = 0) {
  rp::BinType t;
  t.name = "t";
  t.raw = {c, m, g};
  t.cap = {0.7 * c, 0.7 * m, 0.7 * g};
  t.price = price;
  t.max_count = max_count;
  return t;
}
rp::ItemClass cls(double c, double m, long n, double g = 0) {
  rp::ItemClass k;
  k.label = "k";
  k.size = {c, m, g};
  k.count = n;
  k.source = "test";
  return k;
}

/// max sum_i max(v_i, 0) a_i over every count vector that fits type t (0 <= a_i <= count_i).
double brute_max(const rp::Problem& p, int t, const std::vector<double>& v) {
  const std::size_t n = p.classes.size();
  std::vector<long> a(n, 0);
  double best = 0;
  std::function<void(std::size_t, rp::Vec, double)> rec = [&](std::size_t i, rp::Vec load, double val) {
    if (i == n) {
      best = std::max(best, val);
      return;
    }
    for (long k = 0; k <= p.classes[i].count; ++k) {
      rp::Vec l = load;
      for (int d = 0; d < rp::kDims; ++d) l[d] += static_cast<double>(k) * p.classes[i].size[d];
      if (!rp::fits(l, p.types[static_cast<std::size_t>(t)].cap)) break;
      rec(i + 1, l, val + static_cast<double>(k) * std::max(v[i], 0.0));
    }
  };
  rec(0, rp::Vec{}, 0.0);
  return best;
}

bool fits_type(const rp::Problem& p, int t, const std::vector<long>& a) {
  rp::Vec l{};
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i] < 0 || a[i] > p.classes[i].count) return false;
    for (int d = 0; d < rp::kDims; ++d) l[d] += static_cast<double>(a[i]) * p.classes[i].size[d];
  }
  return rp::fits(l, p.types[static_cast<std::size_t>(t)].cap);
}

double value_of(const std::vector<double>& v, const std::vector<long>& a) {
  double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += std::max(v[i], 0.0) * static_cast<double>(a[i]);
  return s;
}

/// Random instance: 1-3 types (limits sometimes, a GPU type sometimes), 1-5 classes with 1-14
/// items each (sometimes needing a GPU), every class fitting some type.
rp::Problem random_instance(std::mt19937& rng, bool gpus) {
  std::uniform_real_distribution<double> u(0, 1);
  rp::Problem p;
  const int types = 1 + static_cast<int>(u(rng) * 3);
  for (int t = 0; t < types; ++t) {
    const double c = 2 + 6 * u(rng), m = 2 + 14 * u(rng);
    const double g = gpus && u(rng) < 0.5 ? 1 + static_cast<int>(u(rng) * 2) : 0;
    const int lim = u(rng) < 0.35 ? 1 + static_cast<int>(u(rng) * 4) : 0;
    p.types.push_back(type(c, m, 0.1 + (c + m / 4 + 2 * g) * (0.05 + 0.05 * u(rng)), lim, g));
  }
  const int classes = 1 + static_cast<int>(u(rng) * 5);
  for (int k = 0; k < classes; ++k) {
    for (int tries = 0; tries < 20; ++tries) {
      rp::ItemClass c = cls(0.05 + 2.5 * u(rng) * u(rng), 0.05 + 6 * u(rng) * u(rng), 1 + static_cast<long>(u(rng) * 14),
                            gpus && u(rng) < 0.3 ? 0.1 + 0.6 * u(rng) : 0);
      bool ok = false;
      for (const auto& t : p.types) ok = ok || rp::fits(c.size, t.cap);
      if (ok) {
        p.classes.push_back(c);
        break;
      }
    }
  }
  if (p.classes.empty()) p.classes.push_back(cls(0.1, 0.1, 3));
  return p;
}

}  // namespace

TEST(PlanColgen, PricingKnapsackEqualsBruteForce) {
  auto [rng, u] = ride::test::random_unit(4242);
  int cases = 0;
  for (int iter = 0; iter < 400; ++iter) {
    rp::Problem p;
    const bool gpu = iter % 3 == 0;
    p.types = {type(1 + 4 * u(rng), 1 + 8 * u(rng), 1.0, 0, gpu ? 1 + static_cast<int>(u(rng) * 2) : 0)};
    const int n = 1 + static_cast<int>(u(rng) * 4);
    std::vector<double> v;
    for (int i = 0; i < n; ++i) {
      // small and large items, sometimes identical sizes, sometimes worthless classes
      const double scale = u(rng) < 0.5 ? 0.15 : 0.6;
      p.classes.push_back(cls(scale * u(rng) + 0.01, 2 * scale * u(rng), 1 + static_cast<long>(u(rng) * (scale < 0.2 ? 25 : 6)),
                              gpu && u(rng) < 0.5 ? 0.05 + 0.5 * u(rng) : 0));
      v.push_back(u(rng) < 0.15 ? -u(rng) : u(rng));
    }
    if (n >= 2 && u(rng) < 0.2) {  // ties: an identical class with the same value
      p.classes[1].size = p.classes[0].size;
      v[1] = v[0];
    }
    const double want = brute_max(p, 0, v);
    // plain maximum
    const rp::PricingResult r = rp::price_pattern(p, 0, v, -kInf);
    ASSERT_TRUE(r.complete) << iter;
    EXPECT_TRUE(fits_type(p, 0, r.counts)) << iter;
    EXPECT_NEAR(r.value, value_of(v, r.counts), 1e-12);
    EXPECT_NEAR(r.value, want, 1e-12 * std::max(1.0, want)) << iter;
    EXPECT_GE(r.upper, want - 1e-12) << iter;
    // a threshold above the maximum: only proves that nothing beats it
    const rp::PricingResult hi = rp::price_pattern(p, 0, v, want + 0.25);
    EXPECT_TRUE(hi.complete);
    EXPECT_GE(hi.upper, want - 1e-12);
    EXPECT_LE(hi.upper, want + 0.25 + 1e-12);
    // a threshold below it: the maximum is found
    if (want > 0) {
      const rp::PricingResult lo = rp::price_pattern(p, 0, v, want * 0.9);
      EXPECT_NEAR(lo.value, want, 1e-12 * want) << iter;
      for (const auto& c : lo.more) {
        EXPECT_TRUE(fits_type(p, 0, c));
        EXPECT_GT(value_of(v, c), want * 0.9);
      }
    }
    // stopped early (node limit 1 / first content above half the maximum): upper stays an upper bound
    const rp::PricingResult cut = rp::price_pattern(p, 0, v, -kInf, 1);
    EXPECT_TRUE(fits_type(p, 0, cut.counts));
    EXPECT_GE(cut.upper, want - 1e-12) << iter;
    EXPECT_LE(cut.value, want + 1e-12);
    const rp::PricingResult first = rp::price_pattern(p, 0, v, -kInf, 1'000'000, want / 2);
    EXPECT_GE(first.upper, want - 1e-12);
    if (want > 0) {
      EXPECT_GT(first.value, want / 2 - 1e-12);
    }
    ++cases;
  }
  EXPECT_EQ(cases, 400);
}

TEST(PlanColgen, ColumnGenerationLpEqualsEnumerationLp) {
  std::mt19937 rng(2718);
  int compared = 0, infeasible = 0, with_limits = 0, with_gpus = 0;
  for (int iter = 0; iter < 300; ++iter) {
    const rp::Problem p = random_instance(rng, iter % 2 == 1);
    double enumerated = 0;
    try {
      enumerated = rp::lp_lower_bound(p, {.max_patterns = 50'000, .lp = rp::LpMethod::kEnumerate});
    } catch (const ride::ConfigError&) {
      ++infeasible;  // the limits leave no fractional solution: column generation must agree
      const rp::ColgenResult cg = rp::pattern_lp_colgen(p, {});
      EXPECT_FALSE(cg.feasible) << iter;
      EXPECT_THROW(rp::lp_lower_bound(p, {.lp = rp::LpMethod::kColumnGeneration}), ride::ConfigError) << iter;
      continue;
    } catch (const ride::Error&) {
      continue;  // too many patterns for the reference
    }
    const rp::ColgenResult cg = rp::pattern_lp_colgen(p, {});
    ASSERT_TRUE(cg.feasible) << iter;
    EXPECT_TRUE(cg.converged) << iter;
    EXPECT_NEAR(cg.bound, enumerated, 1e-6 * std::max(1.0, enumerated)) << iter;
    EXPECT_LE(cg.bound, enumerated * (1 + 1e-9) + 1e-12) << iter;  // a bound, never above
    EXPECT_GE(cg.lp_value, enumerated * (1 - 1e-7)) << iter;
    EXPECT_LE(cg.fluid_bound, enumerated * (1 + 1e-7)) << iter;
    // the columns are bin contents and the solution covers the demand
    ASSERT_EQ(cg.x.size(), cg.columns.size());
    std::vector<double> cover(p.classes.size(), 0);
    for (std::size_t j = 0; j < cg.columns.size(); ++j) {
      EXPECT_TRUE(fits_type(p, cg.columns[j].type, cg.columns[j].counts));
      for (std::size_t i = 0; i < cover.size(); ++i) cover[i] += cg.x[j] * static_cast<double>(cg.columns[j].counts[i]);
    }
    for (std::size_t i = 0; i < cover.size(); ++i) EXPECT_GE(cover[i], static_cast<double>(p.classes[i].count) - 1e-6);
    // the public entry points agree
    EXPECT_NEAR(rp::lp_lower_bound(p, {.lp = rp::LpMethod::kColumnGeneration}), enumerated, 1e-6 * std::max(1.0, enumerated));
    const rp::Packing h = rp::solve_hybrid(p);
    EXPECT_NO_THROW(rp::check_packing(p, h));
    EXPECT_NEAR(h.lower_bound, enumerated, 1e-6 * std::max(1.0, enumerated)) << iter;
    EXPECT_LE(h.lower_bound, h.cost + 1e-9);
    bool limited = false, gpu = false;
    for (const auto& t : p.types) limited = limited || t.max_count > 0;
    for (const auto& c : p.classes) gpu = gpu || c.size[2] > 0;
    with_limits += limited;
    with_gpus += gpu;
    ++compared;
  }
  EXPECT_GT(compared, 200);
  EXPECT_GT(with_limits, 40);
  EXPECT_GT(with_gpus, 30);
  EXPECT_GT(infeasible, 0);
}

TEST(PlanColgen, BoundStaysValidWhenTheBudgetStopsEarly) {
  std::mt19937 rng(99);
  int compared = 0;
  for (int iter = 0; iter < 80; ++iter) {
    const rp::Problem p = random_instance(rng, iter % 2 == 0);
    double enumerated = 0;
    try {
      enumerated = rp::lp_lower_bound(p, {.max_patterns = 50'000, .lp = rp::LpMethod::kEnumerate});
    } catch (const ride::Error&) {
      continue;
    }
    for (long budget : {1L, 30L}) {
      rp::ColgenOptions o;
      o.node_budget = budget;
      o.node_limit = 1;
      o.max_iterations = 3;
      rp::ColgenResult cg;
      try {
        cg = rp::pattern_lp_colgen(p, {}, o);
      } catch (const ride::Error&) {
        continue;  // phase 1 undecided within the budget
      }
      ASSERT_TRUE(cg.feasible);
      EXPECT_LE(cg.bound, enumerated * (1 + 1e-9) + 1e-12) << iter << " budget " << budget;
      EXPECT_GE(cg.lp_value, enumerated * (1 - 1e-7)) << iter;
    }
    ++compared;
  }
  EXPECT_GT(compared, 50);
}

TEST(PlanColgen, Table12SizedInstanceGetsABoundAndAValidPlan) {
  // CAM² Table 12's 5,310 cameras in 7 classes (bench/plan/requirements_cam2_derived.csv at
  // the scenario's frame rates), built-in catalog (Table 2, 2xlarge limited to 5 each), 70 %.
  rp::Problem p = rp::make_problem(rp::builtin_catalog(), {}, 0.7);
  const double c[7][3] = {{0.0147365, 0.0847362, 2000}, {0.01048329, 0.0694411, 2000}, {0.0300568, 0.0669951, 500},
                          {0.02645985, 0.063683, 500},  {0.9236802, 0.546843, 10},     {0.350149, 0.173635, 150},
                          {0.125527005, 0.0770484, 150}};
  for (const auto& r : c) p.classes.push_back(cls(r[0], r[1], static_cast<long>(r[2])));
  EXPECT_THROW(rp::lp_lower_bound(p, {.lp = rp::LpMethod::kEnumerate}), ride::Error);
  try {
    rp::solve_exact(p);
    FAIL() << "enumeration should refuse this instance";
  } catch (const ride::ConfigError&) {
    FAIL() << "not a configuration error";
  } catch (const ride::Error& e) {
    EXPECT_NE(std::string(e.what()).find("LP lower bound"), std::string::npos) << e.what();
  }
  const auto t0 = std::chrono::steady_clock::now();
  const rp::Packing h = rp::solve_hybrid(p);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_NO_THROW(rp::check_packing(p, h));
  ASSERT_TRUE(std::isfinite(h.lower_bound));
  EXPECT_LE(h.lower_bound, h.cost);
  EXPECT_LT(secs, 1.0);  // tens of ms in Release
  const rp::Packing f = rp::solve_ffod(p);
  EXPECT_LE(h.cost, f.cost + 1e-9);
  // a larger budget: a bound at least as good, still below the plan; the LP is bracketed
  const double lb = rp::lp_lower_bound(p);
  EXPECT_LE(lb, h.cost);
  const rp::ColgenResult cg = rp::pattern_lp_colgen(p, h.bins);
  EXPECT_LE(cg.bound, cg.lp_value * (1 + 1e-9));
  EXPECT_LE(cg.lp_value, h.cost + 1e-9);  // the plan's bins are columns: the master is no worse
  EXPECT_GE(cg.bound, cg.fluid_bound * (1 - 1e-7));
  EXPECT_LT((cg.lp_value - cg.bound) / cg.lp_value, 1e-3);
  EXPECT_LT((h.cost - cg.bound) / cg.bound, 0.02);  // the hybrid is within 2 % of the bound
}

TEST(PlanColgen, PhaseOneDecidesFeasibilityUnderLimits) {
  // Single-class patterns need 6 bins, the limit is 3; only mixed bins (one of each) make it:
  // phase 1 finds them, and the LP is 3 bins.
  rp::Problem p;
  p.types = {type(4, 4, 0.25, 3)};  // 2.8 cores, 2.8 GB
  p.classes = {cls(2.0, 0.1, 3), cls(0.1, 2.0, 3)};
  const rp::ColgenResult cg = rp::pattern_lp_colgen(p, {});
  ASSERT_TRUE(cg.feasible);
  EXPECT_TRUE(cg.converged);
  EXPECT_NEAR(cg.bound, 0.75, 1e-9);
  EXPECT_NEAR(rp::lp_lower_bound(p, {.lp = rp::LpMethod::kEnumerate}), 0.75, 1e-12);
  const rp::Packing h = rp::solve_hybrid(p);
  EXPECT_NO_THROW(rp::check_packing(p, h));
  EXPECT_NEAR(h.cost, 0.75, 1e-12);
  EXPECT_TRUE(h.proven_optimal);
  // Two items never share a bin (1.5 + 1.5 cores > 2.8) but the fluid relaxation lets 1.87 in
  // one: it is feasible with 3 bins for 4 items, the pattern LP is not.
  p.classes = {cls(1.5, 0.1, 2), cls(1.5, 0.1, 2)};
  EXPECT_TRUE(rp::fluid_lp(p).feasible);
  EXPECT_FALSE(rp::pattern_lp_colgen(p, {}).feasible);
  EXPECT_THROW(rp::lp_lower_bound(p, {.lp = rp::LpMethod::kColumnGeneration}), ride::ConfigError);
  EXPECT_THROW(rp::lp_lower_bound(p, {.lp = rp::LpMethod::kEnumerate}), ride::ConfigError);
  EXPECT_THROW(rp::solve_hybrid(p), ride::ConfigError);
  // Infeasible already in the fluid relaxation: 3 x 2 + 2 x 4 = 14 < 20 items.
  p.types = {type(4, 8, 0.2, 3), type(8, 16, 0.3, 2)};
  p.classes = {cls(1.3, 1, 20)};
  EXPECT_FALSE(rp::fluid_lp(p).feasible);
  EXPECT_FALSE(rp::pattern_lp_colgen(p, {}).feasible);
}

TEST(PlanColgen, ZeroSizeClassesAndNothingToPrice) {
  rp::Problem p;
  p.types = {type(4, 8, 0.2)};
  p.classes = {cls(0, 0, 7), cls(1.0, 1.0, 3)};
  // a class that takes no room: all of it goes into any bin
  rp::PricingResult r = rp::price_pattern(p, 0, {0.5, 0.0}, -kInf);
  EXPECT_EQ(r.counts[0], 7);
  EXPECT_NEAR(r.value, 3.5, 1e-12);
  EXPECT_NEAR(r.upper, 3.5, 1e-12);
  r = rp::price_pattern(p, 0, {0.5, 0.25}, -kInf);
  EXPECT_EQ(r.counts[0], 7);
  EXPECT_EQ(r.counts[1], 2);  // 2.8 cores
  EXPECT_NEAR(r.value, 4.0, 1e-12);
  // no positive value: the empty content, upper bound 0
  r = rp::price_pattern(p, 0, {0.0, -1.0}, -kInf);
  EXPECT_NEAR(r.value, 0, 0);
  EXPECT_NEAR(r.upper, 0, 0);
  EXPECT_THROW(rp::price_pattern(p, 0, {1.0}, -kInf), ride::Error);
  EXPECT_THROW(rp::price_pattern(p, 1, {1.0, 1.0}, -kInf), ride::Error);
  const rp::ColgenResult cg = rp::pattern_lp_colgen(p, {});
  EXPECT_NEAR(cg.bound, 0.2 * 1.5, 1e-9);  // a bin holds 2 of the 1-core items: 1.5 bins
  const rp::Packing h = rp::solve_hybrid(p);
  EXPECT_NO_THROW(rp::check_packing(p, h));
  EXPECT_NEAR(h.cost, 0.4, 1e-12);
}

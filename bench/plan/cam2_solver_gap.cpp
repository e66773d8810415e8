// FFOD vs hybrid vs exact on random instances the size of CAM² Table 5 (50-120 cameras, 1-3
// programs x 2 resolutions, CAM² Table 2 catalog, 70 % target). Seeded; prints per-instance and
// mean gaps above the exact optimum, writes JSON. Instances too large for the exact solver
// (> 200,000 maximal patterns) get the gaps above the pattern LP's bound (column generation).
//   cam2_solver_gap [--instances N] [--seed S] [--json results/cam2_solver_gap.json]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <random>
#include <string>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "plan/plan.h"
#include "plan/solver.h"
#include "random_instances.h"
#include "provenance.h"

namespace rp = ride::plan;

namespace {
double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

using cam2_bench::random_instance;
}  // namespace

int main(int argc, char** argv) {
  int instances = 200;
  unsigned seed = 2024;
  std::string json_path;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--instances") instances = std::stoi(argv[i + 1]);
    else if (a == "--seed") seed = static_cast<unsigned>(std::stoul(argv[i + 1]));
    else if (a == "--json") json_path = argv[i + 1];
    else {
      std::cerr << "unknown argument " << a << "\n";
      return 2;
    }
  }
  std::mt19937 rng(seed);
  nlohmann::json rows = nlohmann::json::array();
  double sum_ffod = 0, sum_hyb = 0, max_hyb = 0, t_ffod = 0, t_hyb = 0, t_ex = 0;
  int n = 0, too_large = 0, not_proven = 0, hyb_worse_than_ffod = 0, hyb_optimal = 0;
  std::printf("%4s %7s %7s %9s %9s %9s %8s %8s\n", "#", "classes", "streams", "ffod", "hybrid", "exact", "ffod%", "hyb%");
  for (int k = 0; k < instances; ++k) {
    const rp::Problem p = random_instance(rng);
    long streams = 0;
    for (const auto& c : p.classes) streams += c.count;
    double t0 = now_s();
    const auto f = rp::solve_ffod(p);
    double t1 = now_s();
    const auto h = rp::solve_hybrid(p);
    double t2 = now_s();
    rp::Packing e;
    try {
      e = rp::solve_exact(p, {.max_patterns = 200'000, .time_limit_s = 30});
    } catch (const ride::Error& ex) {
      ++too_large;
      // the pattern LP's bound by column generation (lp_lower_bound beyond max_patterns)
      const double lb = rp::lp_lower_bound(p, {.max_patterns = 200'000});
      std::printf("%4d %7zu %7ld %9.3f %9.3f %9s %8.2f %8.2f  (vs LP bound %.4f) skipped: %s\n", k, p.classes.size(),
                  streams, f.cost, h.cost, "-", 100 * (f.cost / lb - 1), 100 * (h.cost / lb - 1), lb, ex.what());
      rows.push_back({{"instance", k}, {"classes", p.classes.size()}, {"streams", streams}, {"ffod", f.cost},
                      {"hybrid", h.cost}, {"exact", nullptr}, {"lp_bound", lb}, {"hybrid_lower_bound", h.lower_bound},
                      {"skipped", ex.what()}});
      continue;
    }
    double t3 = now_s();
    rp::check_packing(p, f);
    rp::check_packing(p, h);
    rp::check_packing(p, e);
    t_ffod += t1 - t0;
    t_hyb += t2 - t1;
    t_ex += t3 - t2;
    if (!e.proven_optimal) ++not_proven;
    const double gf = 100 * (f.cost / e.cost - 1), gh = 100 * (h.cost / e.cost - 1);
    sum_ffod += gf;
    sum_hyb += gh;
    max_hyb = std::max(max_hyb, gh);
    hyb_worse_than_ffod += h.cost > f.cost + 1e-9;
    hyb_optimal += h.cost <= e.cost + 1e-9;
    ++n;
    std::printf("%4d %7zu %7ld %9.3f %9.3f %9.3f %8.2f %8.2f%s\n", k, p.classes.size(), streams, f.cost, h.cost,
                e.cost, gf, gh, e.proven_optimal ? "" : "  (exact not proven)");
    rows.push_back({{"instance", k}, {"classes", p.classes.size()}, {"streams", streams}, {"ffod", f.cost},
                    {"hybrid", h.cost}, {"exact", e.cost}, {"lp_bound", e.lower_bound},
                    {"exact_proven", e.proven_optimal}, {"ffod_s", t1 - t0}, {"hybrid_s", t2 - t1},
                    {"exact_s", t3 - t2}});
  }
  std::printf("\nmean gap above exact: FFOD %.2f %%, hybrid %.3f %% (max %.2f %%); hybrid optimal on %d/%d; "
              "hybrid worse than FFOD on %d; exact not proven on %d; skipped (too many patterns) %d\n",
              sum_ffod / n, sum_hyb / n, max_hyb, hyb_optimal, n, hyb_worse_than_ffod, not_proven, too_large);
  std::printf("mean time per instance: FFOD %.3f ms, hybrid %.1f ms, exact %.1f ms\n", 1e3 * t_ffod / n,
              1e3 * t_hyb / n, 1e3 * t_ex / n);
  if (!json_path.empty()) {
    nlohmann::json j{{"seed", seed},
                     {"instances", n},
                     {"mean_gap_pct", {{"ffod", sum_ffod / n}, {"hybrid", sum_hyb / n}}},
                     {"max_gap_pct_hybrid", max_hyb},
                     {"hybrid_optimal", hyb_optimal},
                     {"hybrid_worse_than_ffod", hyb_worse_than_ffod},
                     {"exact_not_proven", not_proven},
                     {"skipped_too_large_for_exact", too_large},
                     {"mean_ms", {{"ffod", 1e3 * t_ffod / n}, {"hybrid", 1e3 * t_hyb / n}, {"exact", 1e3 * t_ex / n}}},
                     {"paper", {{"ffod_gap_pct_scenario_A", 4.6}, {"ffod_gap_pct_scenario_B", 5.3}}},
                     {"rows", rows}};
    j["provenance"] = ride::bench::provenance("bench/plan/cam2_solver_gap.cpp",
                                              {{"args", {{"instances", instances}, {"seed", seed}}}});
    std::ofstream(json_path) << j.dump(2) << "\n";
  }
  return 0;
}

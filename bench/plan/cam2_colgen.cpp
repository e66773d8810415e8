// Column generation for the pattern LP (src/plan/colgen.h) where enumeration cannot go: CAM²
// Table 12 (5,310 cameras, 7 classes) under ST4 and ST5 with two requirement sets (plan cost and
// time, the LP bound, the gap); and on cam2_solver_gap's random instances the hybrid with
// enumeration vs column generation, plus the bound on the instances its exact solver skips
// (more than 200,000 maximal patterns).
//   cam2_colgen [--bench DIR] [--results DIR] [--gap-instances N] [--seed S] [--repeat R]
//               [--budget NODES] [--json OUT.json]
// DIR defaults: bench/plan and results (run from the repository root); NODES (pricing
// budget of the Table 12 LP bound) 20,000,000.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "plan/colgen.h"
#include "plan/model.h"
#include "plan/plan.h"
#include "plan/solver.h"
#include "random_instances.h"
#include "provenance.h"

namespace rp = ride::plan;

namespace {
double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

using cam2_bench::random_instance;  // the gap benchmark's instances (same draws)

/// Lower bound on every ST4 plan (each program alone on one type): sum over programs of the
/// smallest single-type pattern LP (type limits are shared in ST4; dropping that coupling only
/// lowers the bound).
double st4_bound(const rp::PlanResult& r) {
  std::map<std::string, std::vector<std::size_t>> by_prog;
  for (std::size_t i = 0; i < r.classes.size(); ++i) by_prog[r.classes[i].program].push_back(i);
  double total = 0;
  for (const auto& [prog, idx] : by_prog) {
    double best = std::numeric_limits<double>::infinity();
    for (std::size_t t = 0; t < r.problem.types.size(); ++t) {
      rp::Problem sub;
      sub.types = {r.problem.types[t]};
      for (std::size_t i : idx) sub.classes.push_back(r.problem.classes[i]);
      try {
        best = std::min(best, rp::lp_lower_bound(sub, {.lp = rp::LpMethod::kColumnGeneration}));
      } catch (const ride::ConfigError&) {
        // the program does not fit this type (or its limit): not a candidate
      }
    }
    total += best;
  }
  return total;
}

}  // namespace

int main(int argc, char** argv) {
  std::string bench = "bench/plan", results = "results", json_path;
  int gap_instances = 100, repeat = 5;
  unsigned seed = 2024;
  long budget = 20'000'000;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--bench") bench = argv[i + 1];
    else if (a == "--results") results = argv[i + 1];
    else if (a == "--gap-instances") gap_instances = std::stoi(argv[i + 1]);
    else if (a == "--seed") seed = static_cast<unsigned>(std::stoul(argv[i + 1]));
    else if (a == "--repeat") repeat = std::max(1, std::stoi(argv[i + 1]));
    else if (a == "--budget") budget = std::stol(argv[i + 1]);
    else if (a == "--json") json_path = argv[i + 1];
    else {
      std::cerr << "unknown argument " << a << "\n";
      return 2;
    }
  }
  nlohmann::json j{{"table12", nlohmann::json::array()}, {"gap_skipped", nlohmann::json::array()}};

  // ---- CAM² Table 12, built-in catalog (Table 2 with the 2xlarge limits of 5), 70 % ----------
  // plan: `ride plan --strategy stN` (make_plan, hybrid, default options), best of `repeat` runs;
  // plan LB: the lower bound the plan reports (ST5: the hybrid's column generation; ST4: none);
  // LP: the pattern LP of the plan's own problem by a long column generation seeded with the
  // plan's bins (ST5), or ST4's bound (st4_bound): [bound, master value] brackets the LP value.
  std::printf("Table 12 scenario (%s/scenario_table12.csv), built-in catalog, 70 %%, hybrid; times best of %d\n",
              bench.c_str(), repeat);
  std::printf("%-32s %-3s %9s %9s %8s | %10s %10s %6s %8s %9s | %7s\n", "requirements", "st", "plan $/h", "plan ms",
              "plan LB", "LP bound", "LP master", "exact", "gap %", "LP ms", "fluid");
  const auto scenario = rp::read_scenario(bench + "/scenario_table12.csv");
  for (const std::string& req : {bench + "/requirements_cam2_derived.csv", results + "/cam2_requirements_measured.csv"}) {
    const auto reqs = rp::read_requirements(req);
    for (rp::Strategy st : {rp::Strategy::kST4, rp::Strategy::kST5}) {
      const bool st5 = st == rp::Strategy::kST5;
      rp::PlanOptions o;
      o.strategy = st;
      rp::PlanResult r;
      double best_plan = 1e9;
      for (int k = 0; k < repeat; ++k) {
        const double t0 = now_s();
        r = rp::make_plan(rp::builtin_catalog(), reqs, scenario, o);
        best_plan = std::min(best_plan, now_s() - t0);
      }
      rp::check_packing(r.problem, r.packing);
      rp::ColgenResult cg;
      double lb = 0, master = 0, t_lp = 0;
      const double t0 = now_s();
      if (st5) {
        rp::ColgenOptions co;
        co.node_budget = budget;
        cg = rp::pattern_lp_colgen(r.problem, r.packing.bins, co);
        lb = cg.bound;
        master = cg.lp_value;
      } else {
        lb = master = st4_bound(r);
      }
      t_lp = now_s() - t0;
      const double gap = 100 * (r.packing.cost / lb - 1);
      const std::string name = req.substr(req.find_last_of('/') + 1);
      const bool has_lb = std::isfinite(r.packing.lower_bound);
      std::printf("%-32s %-3s %9.3f %9.2f %8s | %10.4f %10.4f %6s %8.2f %9.1f | %7s\n", name.c_str(), st5 ? "st5" : "st4",
                  r.packing.cost, 1e3 * best_plan, has_lb ? std::to_string(r.packing.lower_bound).substr(0, 8).c_str() : "-",
                  lb, master, st5 ? (cg.converged ? "yes" : "no") : "-", gap, 1e3 * t_lp,
                  st5 ? std::to_string(cg.fluid_bound).substr(0, 7).c_str() : "-");
      nlohmann::json row{{"requirements", req},
                         {"strategy", st5 ? "st5" : "st4"},
                         {"plan_cost", r.packing.cost},
                         {"plan_ms_best", 1e3 * best_plan},
                         {"plan_lower_bound", has_lb ? nlohmann::json(r.packing.lower_bound) : nlohmann::json(nullptr)},
                         {"lp_bound", lb},
                         {"lp_master_value", master},
                         {"gap_pct", gap},
                         {"lp_ms", 1e3 * t_lp},
                         {"instances", rp::instance_counts(r)}};
      if (st5)
        row["colgen"] = {{"iterations", cg.iterations}, {"columns", cg.columns.size()},
                         {"pricing_nodes", cg.pricing_nodes}, {"converged", cg.converged},
                         {"fluid_bound", cg.fluid_bound}, {"node_budget", budget}};
      j["table12"].push_back(row);
    }
  }

  // ---- the gap benchmark's instances: enumeration vs column generation in the hybrid -------
  // Same generator and seed as cam2_solver_gap. Enumerable instances (<= 100,000 maximal
  // patterns): the hybrid with LpMethod::kEnumerate (the old behaviour) vs the default (column
  // generation). Instances with more than 200,000 (cam2_solver_gap's exact solver skips them):
  // the hybrid and lp_lower_bound.
  std::printf("\nGap-benchmark instances (seed %u, %d instances)\n", seed, gap_instances);
  std::mt19937 rng(seed);
  int n_cmp = 0, better = 0, worse = 0, lb_equal = 0;
  double te = 0, tc = 0, mte = 0, mtc = 0, sum_e = 0, sum_c = 0, max_rel = 0;
  std::vector<std::string> skipped_lines;
  for (int k = 0; k < gap_instances; ++k) {
    const rp::Problem p = random_instance(rng);
    long streams = 0;
    for (const auto& c : p.classes) streams += c.count;
    bool too_large = false;
    try {
      (void)rp::lp_lower_bound(p, {.max_patterns = 200'000, .lp = rp::LpMethod::kEnumerate});
    } catch (const ride::ConfigError&) {
      throw;
    } catch (const ride::Error&) {
      too_large = true;
    }
    if (!too_large) {
      const double t0 = now_s();
      const rp::Packing e = rp::solve_hybrid(p, {.max_patterns = 100'000, .lp = rp::LpMethod::kEnumerate});
      const double t1 = now_s();
      const rp::Packing c = rp::solve_hybrid(p);
      const double t2 = now_s();
      rp::check_packing(p, e);
      rp::check_packing(p, c);
      if (!std::isfinite(e.lower_bound)) continue;  // between 100,000 and 200,000 patterns
      ++n_cmp;
      te += t1 - t0;
      tc += t2 - t1;
      mte = std::max(mte, t1 - t0);
      mtc = std::max(mtc, t2 - t1);
      sum_e += e.cost;
      sum_c += c.cost;
      better += c.cost < e.cost - 1e-9;
      worse += c.cost > e.cost + 1e-9;
      const double rel = (e.lower_bound - c.lower_bound) / e.lower_bound;
      max_rel = std::max(max_rel, std::abs(rel));
      lb_equal += std::abs(rel) <= 1e-6;
      continue;
    }
    const auto f = rp::solve_ffod(p);
    const double t0 = now_s();
    const auto h = rp::solve_hybrid(p);
    const double t1 = now_s();
    const double lb = rp::lp_lower_bound(p);
    const double t2 = now_s();
    rp::check_packing(p, h);
    char line[256];
    std::snprintf(line, sizeof line, "%4d %7zu %7ld %9.3f %9.3f %10.4f %10.4f %8.2f %8.2f %8.2f %9.1f", k, p.classes.size(),
                  streams, f.cost, h.cost, h.lower_bound, lb, 100 * (f.cost / lb - 1), 100 * (h.cost / lb - 1), 1e3 * (t1 - t0),
                  1e3 * (t2 - t1));
    skipped_lines.emplace_back(line);
    j["gap_skipped"].push_back({{"instance", k}, {"classes", p.classes.size()}, {"streams", streams},
                                {"ffod", f.cost}, {"hybrid", h.cost}, {"hybrid_lower_bound", h.lower_bound},
                                {"lp_lower_bound", lb}, {"hybrid_ms", 1e3 * (t1 - t0)}, {"lp_lower_bound_ms", 1e3 * (t2 - t1)}});
  }
  std::printf("hybrid, enumeration vs column generation, on the %d instances with <= 100,000 maximal patterns:\n", n_cmp);
  std::printf("  cost: column generation better on %d, worse on %d, summed $%.3f vs $%.3f (enumeration)\n", better, worse,
              sum_c, sum_e);
  std::printf("  LP bound equal (1e-6 relative) on %d / %d, largest difference %.1e relative\n", lb_equal, n_cmp, max_rel);
  std::printf("  time per instance: enumeration %.2f ms mean (max %.1f), column generation %.2f ms mean (max %.1f)\n",
              1e3 * te / n_cmp, 1e3 * mte, 1e3 * tc / n_cmp, 1e3 * mtc);
  std::printf("instances with more than 200,000 maximal patterns (skipped by cam2_solver_gap's exact solver):\n");
  std::printf("%4s %7s %7s %9s %9s %10s %10s %8s %8s %8s %9s\n", "#", "classes", "streams", "ffod", "hybrid", "hybrid LB",
              "LP bound", "ffod%", "hyb%", "hyb ms", "bound ms");
  for (const auto& l : skipped_lines) std::printf("%s\n", l.c_str());
  j["gap_compare"] = {{"instances", n_cmp},
                      {"colgen_better", better},
                      {"colgen_worse", worse},
                      {"sum_cost_enumeration", sum_e},
                      {"sum_cost_colgen", sum_c},
                      {"lp_bound_equal_1e-6", lb_equal},
                      {"lp_bound_max_rel_diff", max_rel},
                      {"ms_mean", {{"enumeration", 1e3 * te / n_cmp}, {"colgen", 1e3 * tc / n_cmp}}},
                      {"ms_max", {{"enumeration", 1e3 * mte}, {"colgen", 1e3 * mtc}}}};
  if (!json_path.empty()) {
    j["provenance"] = ride::bench::provenance(
        "bench/plan/cam2_colgen.cpp",
        {{"args", {{"gap_instances", gap_instances}, {"seed", seed}, {"repeat", repeat}, {"budget", budget}}}});
    std::ofstream(json_path) << j.dump(2) << "\n";
  }
  return 0;
}

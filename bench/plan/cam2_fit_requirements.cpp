// Derives per-stream requirements consistent with CAM²'s Tables 6, 9, 11 and 13 (the paper gives
// them only as figures): simulated annealing over the per-stream CPU (at each frame rate the
// scenarios use) and memory of every (program, resolution), minimizing the summed absolute
// difference between the instance counts our planner (FFOD, as the paper) produces and the
// paper's. Writes the requirements CSV (cpu = cpu_per_fps * fps + cpu_base fitted through the two
// frame rates where a program is used at two, cpu_base = 0 where only one).
//   cam2_fit_requirements DIR_WITH_SCENARIOS OUT.csv [seconds] [seed] [START.csv]
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "plan/plan.h"

namespace rp = ride::plan;

namespace {

// Parameters: CPU points and memory per (program, resolution).
enum P {
  kHD640_05, kHD640_02, kHD720_05, kHD720_02, kFT_15, kFT_10, kME640_01, kME640_02, kME720_02,
  kMOD640_005, kMOD640_02, kMOD720_02, kMOD1080_005,
  kMemFT, kMemHD640, kMemHD720, kMemME640, kMemME720, kMemMOD640, kMemMOD720, kMemMOD1080, kN
};

struct Lin { double a, b; };
Lin through(double f1, double c1, double f2, double c2) {
  const double a = (c2 - c1) / (f2 - f1);
  return {a, c1 - a * f1};
}

std::vector<rp::Requirement> to_requirements(const std::vector<double>& x) {
  std::vector<rp::Requirement> r;
  auto add = [&](const char* prog, int w, int h, Lin l, double mem) {
    rp::Requirement q;
    q.program = prog;
    q.width = w;
    q.height = h;
    q.cpu_per_fps = l.a;
    q.cpu_base = l.b;
    q.mem_gb = mem;
    q.source = "fit";
    r.push_back(q);
  };
  add("FT", 640, 480, through(10, x[kFT_10], 15, x[kFT_15]), x[kMemFT]);
  add("HD", 640, 480, through(0.2, x[kHD640_02], 0.5, x[kHD640_05]), x[kMemHD640]);
  add("HD", 1280, 720, through(0.2, x[kHD720_02], 0.5, x[kHD720_05]), x[kMemHD720]);
  add("ME", 640, 480, through(0.1, x[kME640_01], 0.2, x[kME640_02]), x[kMemME640]);
  add("ME", 1280, 720, {x[kME720_02] / 0.2, 0}, x[kMemME720]);
  add("MOD", 640, 480, through(0.05, x[kMOD640_005], 0.2, x[kMOD640_02]), x[kMemMOD640]);
  add("MOD", 1280, 720, {x[kMOD720_02] / 0.2, 0}, x[kMemMOD720]);
  add("MOD", 1920, 1080, {x[kMOD1080_005] / 0.05, 0}, x[kMemMOD1080]);
  return r;
}

double structure_penalty(const std::vector<double>& x) {
  double pen = 0;
  auto ge = [&](double a, double b) { pen += a < b ? 10 * (b - a) / b : 0; };  // a >= b
  ge(x[kHD720_05], x[kHD640_05]);
  ge(x[kHD720_02], x[kHD640_02]);
  ge(x[kME720_02], x[kME640_02]);
  ge(x[kMOD720_02], x[kMOD640_02]);
  ge(x[kMemHD720], x[kMemHD640]);
  ge(x[kMemME720], x[kMemME640]);
  ge(x[kMemMOD720], x[kMemMOD640]);
  ge(x[kMemMOD1080], x[kMemMOD720]);
  ge(x[kMOD1080_005], x[kMOD640_005]);
  ge(x[kMOD1080_005] * 4, x[kMOD720_02]);  // per-fps cost grows with resolution
  // linear in fps with a >= 0 and b >= 0: c(f1) <= c(f2) <= c(f1) * f2 / f1
  auto lin = [&](double f1, double c1, double f2, double c2) {
    ge(c2, c1);
    ge(c1 * f2 / f1, c2);
  };
  lin(10, x[kFT_10], 15, x[kFT_15]);
  lin(0.2, x[kHD640_02], 0.5, x[kHD640_05]);
  lin(0.2, x[kHD720_02], 0.5, x[kHD720_05]);
  lin(0.1, x[kME640_01], 0.2, x[kME640_02]);
  lin(0.05, x[kMOD640_005], 0.2, x[kMOD640_02]);
  return pen;
}

using Counts = std::map<std::string, int>;
struct Target {
  std::string table, row, scenario;
  rp::Strategy st;
  rp::SolverKind solver;
  bool xlarge_only;
  Counts counts;
};

std::vector<Target> targets() {
  using S = rp::Strategy;
  using K = rp::SolverKind;
  return {
      {"6", "A heuristic", "scenario_table5_A.csv", S::kST5, K::kFfod, false, {{"c4.xlarge", 23}}},
      {"6", "A exact", "scenario_table5_A.csv", S::kST5, K::kHybrid, false, {{"c4.xlarge", 18}, {"c4.2xlarge", 2}}},
      {"6", "B heuristic", "scenario_table5_B.csv", S::kST5, K::kFfod, false, {{"c4.xlarge", 20}}},
      {"6", "B exact", "scenario_table5_B.csv", S::kST5, K::kHybrid, false, {{"c4.xlarge", 17}, {"c4.2xlarge", 1}}},
      {"6", "C heuristic", "scenario_table5_C.csv", S::kST5, K::kFfod, false, {{"c4.xlarge", 3}}},
      {"6", "C exact", "scenario_table5_C.csv", S::kST5, K::kHybrid, false, {{"c4.xlarge", 3}}},
      {"9", "ST1", "scenario_table8.csv", S::kST1, K::kFfod, true, {{"m4.xlarge", 70}}},
      {"9", "ST2", "scenario_table8.csv", S::kST2, K::kFfod, true, {{"c4.xlarge", 70}}},
      {"9", "ST3", "scenario_table8.csv", S::kST3, K::kFfod, true, {{"r3.xlarge", 70}}},
      {"9", "ST4", "scenario_table8.csv", S::kST4, K::kFfod, true, {{"c4.xlarge", 81}}},
      {"9", "ST5", "scenario_table8.csv", S::kST5, K::kFfod, true, {{"c4.xlarge", 70}}},
      {"11", "ST1", "scenario_table10.csv", S::kST1, K::kFfod, true, {{"m4.xlarge", 55}}},
      {"11", "ST2", "scenario_table10.csv", S::kST2, K::kFfod, true, {{"c4.xlarge", 117}}},
      {"11", "ST3", "scenario_table10.csv", S::kST3, K::kFfod, true, {{"r3.xlarge", 29}}},
      {"11", "ST4", "scenario_table10.csv", S::kST4, K::kFfod, true, {{"r3.xlarge", 30}}},
      {"11", "ST5", "scenario_table10.csv", S::kST5, K::kFfod, true, {{"r3.xlarge", 29}}},
      {"13", "ST1", "scenario_table12.csv", S::kST1, K::kFfod, true, {{"m4.xlarge", 69}}},
      {"13", "ST2", "scenario_table12.csv", S::kST2, K::kFfod, true, {{"c4.xlarge", 91}}},
      {"13", "ST3", "scenario_table12.csv", S::kST3, K::kFfod, true, {{"r3.xlarge", 57}}},
      {"13", "ST4", "scenario_table12.csv", S::kST4, K::kFfod, true, {{"m4.xlarge", 11}, {"c4.xlarge", 30}, {"r3.xlarge", 19}}},
      {"13", "ST5", "scenario_table12.csv", S::kST5, K::kFfod, true, {{"m4.xlarge", 9}, {"c4.xlarge", 30}, {"r3.xlarge", 18}}},
  };
}

std::vector<rp::InstanceType> catalog(bool xlarge_only) {
  std::vector<rp::InstanceType> out;
  for (auto t : rp::builtin_catalog()) {
    t.max_count = 0;  // the paper's Tables 6-13 name no limits
    if (xlarge_only && t.name.find("2xlarge") != std::string::npos) continue;
    out.push_back(t);
  }
  return out;
}

double mismatch(const Counts& got, const Counts& want) {
  double d = 0;
  std::map<std::string, int> all = want;
  for (const auto& [k, v] : got) all[k] += 0, (void)v;
  for (const auto& [k, v] : all) {
    const int g = got.count(k) ? got.at(k) : 0;
    const int w = want.count(k) ? want.at(k) : 0;
    d += std::abs(g - w);
  }
  return d;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: cam2_fit_requirements SCENARIO_DIR OUT.csv [seconds] [seed]\n";
    return 2;
  }
  const std::string dir = argv[1];
  const double seconds = argc > 3 ? std::stod(argv[3]) : 60;
  std::mt19937 rng(argc > 4 ? static_cast<unsigned>(std::stoul(argv[4])) : 7u);
  const auto tg = targets();
  std::map<std::string, std::vector<rp::ScenarioRow>> scen;
  for (const auto& t : tg) scen[t.scenario] = rp::read_scenario(dir + "/" + t.scenario);
  const auto cat_x = catalog(true), cat_all = catalog(false);

  auto evaluate = [&](const std::vector<double>& x, bool verbose) {
    double err = structure_penalty(x) * 100;
    const auto reqs = to_requirements(x);
    for (const auto& t : tg) {
      rp::PlanOptions o;
      o.strategy = t.st;
      o.solver = t.solver;
      o.exact.max_patterns = 3000;
      o.exact.lp = rp::LpMethod::kEnumerate;  // the search as fitted (before column generation), and fast
      Counts got;
      try {
        const auto r = rp::make_plan(t.xlarge_only ? cat_x : cat_all, reqs, scen[t.scenario], o);
        for (const auto& [k, v] : rp::instance_counts(r)) got[k] = v;
      } catch (const ride::Error&) {
        err += 1000;
        continue;
      }
      const double e = mismatch(got, t.counts);
      // Table 6 rows carry the 4.6 / 5.3 % gaps: weigh them like the large tables' rows.
      err += e;
      if (verbose) {
        std::printf("Table %-3s %-12s paper:", t.table.c_str(), t.row.c_str());
        for (const auto& [k, v] : t.counts) std::printf(" %s=%d", k.c_str(), v);
        std::printf("  ours:");
        for (const auto& [k, v] : got) std::printf(" %s=%d", k.c_str(), v);
        std::printf("%s\n", e == 0 ? "" : "   (differs)");
      }
    }
    return err;
  };

  // Start: plausible magnitudes (cores, GB).
  std::vector<double> x(kN);
  x[kHD640_05] = 0.5; x[kHD640_02] = 0.25; x[kHD720_05] = 0.9; x[kHD720_02] = 0.4;
  x[kFT_15] = 1.5; x[kFT_10] = 1.0;
  x[kME640_01] = 0.02; x[kME640_02] = 0.035; x[kME720_02] = 0.05;
  x[kMOD640_005] = 0.02; x[kMOD640_02] = 0.06; x[kMOD720_02] = 0.1; x[kMOD1080_005] = 0.05;
  x[kMemFT] = 0.3; x[kMemHD640] = 0.3; x[kMemHD720] = 0.5; x[kMemME640] = 0.1; x[kMemME720] = 0.15;
  x[kMemMOD640] = 0.08; x[kMemMOD720] = 0.12; x[kMemMOD1080] = 0.2;
  if (argc > 5) {  // start from a previous fit
    for (const auto& q : rp::read_requirements(argv[5])) {
      auto at = [&](double f) { return q.cpu_per_fps * f + q.cpu_base; };
      if (q.program == "FT") { x[kFT_10] = at(10); x[kFT_15] = at(15); x[kMemFT] = q.mem_gb; }
      if (q.program == "HD" && q.width == 640) { x[kHD640_02] = at(0.2); x[kHD640_05] = at(0.5); x[kMemHD640] = q.mem_gb; }
      if (q.program == "HD" && q.width == 1280) { x[kHD720_02] = at(0.2); x[kHD720_05] = at(0.5); x[kMemHD720] = q.mem_gb; }
      if (q.program == "ME" && q.width == 640) { x[kME640_01] = at(0.1); x[kME640_02] = at(0.2); x[kMemME640] = q.mem_gb; }
      if (q.program == "ME" && q.width == 1280) { x[kME720_02] = at(0.2); x[kMemME720] = q.mem_gb; }
      if (q.program == "MOD" && q.width == 640) { x[kMOD640_005] = at(0.05); x[kMOD640_02] = at(0.2); x[kMemMOD640] = q.mem_gb; }
      if (q.program == "MOD" && q.width == 1280) { x[kMOD720_02] = at(0.2); x[kMemMOD720] = q.mem_gb; }
      if (q.program == "MOD" && q.width == 1920) { x[kMOD1080_005] = at(0.05); x[kMemMOD1080] = q.mem_gb; }
    }
  }
  const double temp0 = argc > 5 ? 0.7 : 3.0;
  double cur = evaluate(x, false), best = cur;
  std::vector<double> bx = x;
  const auto t0 = std::chrono::steady_clock::now();
  std::normal_distribution<double> nd(0, 1);
  std::uniform_real_distribution<double> u(0, 1);
  std::uniform_int_distribution<int> pick(0, kN - 1);
  long iters = 0;
  for (;;) {
    const double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (el > seconds || best == 0) break;
    const double temp = temp0 * (1 - el / seconds) + 0.05;
    std::vector<double> y = x;
    const int k = 1 + static_cast<int>(u(rng) * 2);
    for (int j = 0; j < k; ++j) y[static_cast<std::size_t>(pick(rng))] *= std::exp(0.15 * nd(rng));
    const double e = evaluate(y, false);
    if (e <= cur || u(rng) < std::exp((cur - e) / temp)) {
      x = y;
      cur = e;
      if (e < best) {
        best = e;
        bx = y;
      }
    }
    ++iters;
  }
  std::printf("fit: %ld evaluations, mismatch %.0f instances (sum of |ours - paper| over all rows)\n", iters, best);
  evaluate(bx, true);
  std::ofstream out(argv[2]);
  out << "# Per-stream requirements derived by bench/plan/cam2_fit_requirements (simulated annealing,\n"
         "# FFOD planner, 70 % target) so that CAM2 Tables 6, 9, 11, 13 come out as close as possible;\n"
         "# CAM2 gives the requirements only as figures (Fig. 5-7). Estimates, not measurements.\n"
         "program,width,height,cpu_per_fps,cpu_base,mem_gb\n";
  out.precision(6);
  for (const auto& q : to_requirements(bx))
    out << q.program << "," << q.width << "," << q.height << "," << q.cpu_per_fps << "," << std::max(0.0, q.cpu_base)
        << "," << q.mem_gb << "\n";
  return 0;
}

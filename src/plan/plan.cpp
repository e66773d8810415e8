#include "plan/plan.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <limits>
#include <map>
#include <optional>
#include <ostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace ride::plan {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string label_of(const StreamClass& c) {
  std::ostringstream os;
  os << c.program << "@" << c.width << "x" << c.height << "@" << c.fps << "fps";
  return os.str();
}

Packing run_solver(const Problem& p, const PlanOptions& o) {
  switch (o.solver) {
    case SolverKind::kFfod: return solve_ffod(p);
    case SolverKind::kExact: return solve_exact(p, o.exact);
    case SolverKind::kHybrid: {
      ExactOptions e = o.exact;
      e.max_patterns = std::min<long>(e.max_patterns, 100'000);
      return solve_hybrid(p, e);
    }
  }
  return solve_ffod(p);
}

/// Solves the sub-problem made of `types` (indices into full.types, with limits `limits`) and
/// `classes` (indices into full.classes); returns bins in full-problem indices.
Packing solve_sub(const Problem& full, const std::vector<std::size_t>& types,
                  const std::vector<int>& limits, const std::vector<std::size_t>& classes,
                  const PlanOptions& o) {
  Problem sub;
  for (std::size_t k = 0; k < types.size(); ++k) {
    sub.types.push_back(full.types[types[k]]);
    sub.types.back().max_count = limits[k];
  }
  for (std::size_t c : classes) sub.classes.push_back(full.classes[c]);
  Packing s = run_solver(sub, o);
  for (auto& b : s.bins) {
    std::vector<long> counts(full.classes.size(), 0);
    for (std::size_t k = 0; k < classes.size(); ++k) counts[classes[k]] = b.counts[k];
    b.counts = std::move(counts);
    b.type = static_cast<int>(types[static_cast<std::size_t>(b.type)]);
  }
  return s;
}

std::vector<std::size_t> all_classes(const Problem& p) {
  std::vector<std::size_t> v(p.classes.size());
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = i;
  return v;
}

Packing plan_fixed(const Problem& full, std::size_t t, const PlanOptions& o) {
  return solve_sub(full, {t}, {full.types[t].max_count}, all_classes(full), o);
}

Packing plan_st4(const Problem& full, const std::vector<StreamClass>& classes, const PlanOptions& o) {
  std::vector<std::string> programs;
  for (const auto& c : classes)
    if (std::find(programs.begin(), programs.end(), c.program) == programs.end()) programs.push_back(c.program);
  std::vector<int> used(full.types.size(), 0);
  Packing total;
  total.solver = to_string(o.solver);
  total.proven_optimal = false;
  for (const auto& prog : programs) {
    std::vector<std::size_t> mine;
    for (std::size_t i = 0; i < classes.size(); ++i)
      if (classes[i].program == prog) mine.push_back(i);
    std::optional<Packing> best;
    std::string last_error;
    for (std::size_t t = 0; t < full.types.size(); ++t) {
      const int lim = full.types[t].max_count;
      if (lim > 0 && used[t] >= lim) continue;
      try {
        Packing s = solve_sub(full, {t}, {lim > 0 ? lim - used[t] : 0}, mine, o);
        if (!best || s.cost < best->cost - 1e-9) best = std::move(s);
      } catch (const ride::Error& e) {
        last_error = e.what();
      }
    }
    if (!best)
      throw ride::ConfigError("ST4: program " + prog + " fits no single instance type (" + last_error + ")");
    for (const auto& b : best->bins) ++used[static_cast<std::size_t>(b.type)];
    total.bins.insert(total.bins.end(), best->bins.begin(), best->bins.end());
  }
  total.cost = packing_cost(full, total.bins);
  return total;
}

/// A lower bound on every ST4 plan: each program alone on the one type cheapest for it, so at
/// least the smallest, over the types, of that program's pattern LP on that type with the type's
/// own limit (sharing the limits between programs can only cost more). NaN when some program has
/// no bound (every single-type LP failed).
double st4_lower_bound(const Problem& full, const std::vector<StreamClass>& classes, const PlanOptions& o) {
  std::vector<std::string> programs;
  for (const auto& c : classes)
    if (std::find(programs.begin(), programs.end(), c.program) == programs.end()) programs.push_back(c.program);
  double total = 0;
  for (const auto& prog : programs) {
    Problem sub;
    for (std::size_t i = 0; i < classes.size(); ++i)
      if (classes[i].program == prog) sub.classes.push_back(full.classes[i]);
    double best = std::numeric_limits<double>::infinity();
    for (const auto& t : full.types) {
      sub.types = {t};
      try {
        best = std::min(best, lp_lower_bound(sub, o.exact));
      } catch (const ride::Error&) {
        // the program does not fit this type (or its limit): not a candidate
      }
    }
    if (!std::isfinite(best)) return std::numeric_limits<double>::quiet_NaN();
    total += best;
  }
  return total;
}

bool is_one_of(const std::string& name, const char* want) { return name == want; }

}  // namespace

Strategy parse_strategy(const std::string& s) {
  const std::string l = lower(s);
  if (l == "st1") return Strategy::kST1;
  if (l == "st2") return Strategy::kST2;
  if (l == "st3") return Strategy::kST3;
  if (l == "st4") return Strategy::kST4;
  if (l == "st5") return Strategy::kST5;
  throw ride::ConfigError("--strategy: '" + s + "' is not one of st1, st2, st3, st4, st5");
}

SolverKind parse_solver(const std::string& s) {
  const std::string l = lower(s);
  if (l == "ffod") return SolverKind::kFfod;
  if (l == "exact") return SolverKind::kExact;
  if (l == "hybrid") return SolverKind::kHybrid;
  throw ride::ConfigError("--solver: '" + s + "' is not one of ffod, exact, hybrid");
}

std::string to_string(Strategy s) { return "st" + std::to_string(static_cast<int>(s)); }
std::string to_string(SolverKind s) {
  switch (s) {
    case SolverKind::kFfod: return "ffod";
    case SolverKind::kExact: return "exact";
    case SolverKind::kHybrid: return "hybrid";
  }
  return "?";
}

std::vector<StreamClass> build_classes(const std::vector<Requirement>& reqs,
                                       const std::vector<ScenarioRow>& scenario) {
  std::vector<StreamClass> out;
  for (const auto& row : scenario) {
    const Requirement* q = nullptr;
    bool program_known = false;
    for (const auto& r : reqs) {
      if (r.program != row.program) continue;
      program_known = true;
      if (r.width == row.width && r.height == row.height) q = &r;
    }
    if (!program_known)
      throw ride::ConfigError(row.source + ": column 'program': no requirement row for program '" +
                              row.program + "'");
    if (q == nullptr)
      throw ride::ConfigError(row.source + ": column 'width': no requirement row for program '" +
                              row.program + "' at " + std::to_string(row.width) + "x" +
                              std::to_string(row.height));
    if (row.cameras == 0) continue;
    const std::string input = row.url.empty() ? std::string() : row.url + (row.name.empty() ? "" : " " + row.name);
    auto it = std::find_if(out.begin(), out.end(), [&](const StreamClass& c) {
      return c.program == row.program && c.width == row.width && c.height == row.height && c.fps == row.fps;
    });
    if (it != out.end()) {
      if (it->inputs.empty() != input.empty())
        throw ride::ConfigError(row.source + ": column 'url': the class " + it->program + " " + std::to_string(it->width) +
                                "x" + std::to_string(it->height) + " at the same fps (first at " + it->source +
                                ") mixes cameras with and without a url");
      it->cameras += row.cameras;
      if (!input.empty()) it->inputs.push_back(input);
      continue;
    }
    StreamClass c;
    c.program = row.program;
    c.width = row.width;
    c.height = row.height;
    c.fps = row.fps;
    c.cameras = row.cameras;
    c.cpu = q->cpu_per_fps * row.fps + q->cpu_base;
    c.mem_gb = q->mem_gb;
    c.gpu = q->gpu;
    c.source = row.source;
    if (!input.empty()) c.inputs.push_back(input);
    out.push_back(c);
  }
  return out;
}

Problem make_problem(const std::vector<InstanceType>& catalog, const std::vector<StreamClass>& classes,
                     double target_util) {
  Problem p;
  for (const auto& t : catalog) {
    BinType b;
    b.name = t.name;
    b.raw = {t.vcpus, t.mem_gb, t.gpus};
    for (int d = 0; d < kDims; ++d) b.cap[d] = b.raw[d] * target_util;
    b.price = t.hourly_usd;
    b.max_count = t.max_count;
    p.types.push_back(b);
  }
  for (const auto& c : classes) {
    ItemClass ic;
    ic.label = label_of(c);
    ic.size = {c.cpu, c.mem_gb, c.gpu};
    ic.count = c.cameras;
    ic.source = c.source;
    p.classes.push_back(ic);
  }
  return p;
}

std::size_t fixed_type_index(const std::vector<InstanceType>& catalog, Strategy s,
                             const std::string& fixed_type) {
  if (catalog.empty()) throw ride::ConfigError("the instance catalog is empty");
  if (!fixed_type.empty()) {
    for (std::size_t i = 0; i < catalog.size(); ++i)
      if (catalog[i].name == fixed_type) return i;
    throw ride::ConfigError("--type: '" + fixed_type + "' is not in the catalog");
  }
  const char* want = s == Strategy::kST1 ? "m4.xlarge" : s == Strategy::kST2 ? "c4.xlarge" : "r3.xlarge";
  for (std::size_t i = 0; i < catalog.size(); ++i)
    if (is_one_of(catalog[i].name, want)) return i;
  // Smallest types (fewest vCPUs), ordered by GB per core: compute = lowest, memory = highest,
  // general = median.
  double minc = catalog[0].vcpus;
  for (const auto& t : catalog) minc = std::min(minc, t.vcpus);
  std::vector<std::size_t> small;
  for (std::size_t i = 0; i < catalog.size(); ++i)
    if (catalog[i].vcpus == minc) small.push_back(i);
  std::stable_sort(small.begin(), small.end(), [&](std::size_t a, std::size_t b) {
    return catalog[a].mem_gb / catalog[a].vcpus < catalog[b].mem_gb / catalog[b].vcpus;
  });
  if (s == Strategy::kST2) return small.front();
  if (s == Strategy::kST3) return small.back();
  return small[(small.size() - 1) / 2];
}

PlanResult make_plan(const std::vector<InstanceType>& catalog, const std::vector<StreamClass>& classes,
                     const PlanOptions& opts) {
  if (!(opts.target_util > 0 && opts.target_util <= 1))
    throw ride::ConfigError("--target-util must be in (0, 1], got " + std::to_string(opts.target_util));
  if (catalog.empty()) throw ride::ConfigError("the instance catalog is empty");
  const auto t0 = std::chrono::steady_clock::now();
  PlanResult r;
  r.catalog = catalog;
  r.classes = classes;
  r.options = opts;
  r.problem = make_problem(catalog, classes, opts.target_util);
  validate_problem(r.problem);
  switch (opts.strategy) {
    case Strategy::kST1:
    case Strategy::kST2:
    case Strategy::kST3:
      r.packing = plan_fixed(r.problem, fixed_type_index(catalog, opts.strategy, opts.fixed_type), opts);
      break;
    case Strategy::kST4:
      r.packing = plan_st4(r.problem, classes, opts);
      if (opts.solver != SolverKind::kFfod) {
        r.packing.lower_bound = st4_lower_bound(r.problem, classes, opts);
        r.packing.proven_optimal = std::isfinite(r.packing.lower_bound) &&
                                   packing_cost(r.problem, r.packing.bins) <= r.packing.lower_bound + 1e-7;
      }
      break;
    case Strategy::kST5: {
      r.packing = run_solver(r.problem, opts);
      if (opts.solver != SolverKind::kFfod) {
        const double lb = r.packing.lower_bound;
        const bool opt = r.packing.proven_optimal;
        for (Strategy s : {Strategy::kST1, Strategy::kST2, Strategy::kST3, Strategy::kST4}) {
          try {
            Packing c = s == Strategy::kST4
                            ? plan_st4(r.problem, classes, opts)
                            : plan_fixed(r.problem, fixed_type_index(catalog, s, ""), opts);
            if (c.cost < r.packing.cost - 1e-9) r.packing = std::move(c);
          } catch (const ride::Error&) {
            // that restriction is infeasible (or too large for exact): not a candidate
          }
        }
        r.packing.lower_bound = lb;
        r.packing.proven_optimal = opt;
        r.packing.solver = to_string(opts.solver);
      }
      break;
    }
  }
  r.packing.cost = packing_cost(r.problem, r.packing.bins);
  check_packing(r.problem, r.packing);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

PlanResult make_plan(const std::vector<InstanceType>& catalog, const std::vector<Requirement>& reqs,
                     const std::vector<ScenarioRow>& scenario, const PlanOptions& opts) {
  return make_plan(catalog, build_classes(reqs, scenario), opts);
}

std::vector<std::pair<std::string, int>> instance_counts(const PlanResult& r) {
  std::vector<int> n(r.problem.types.size(), 0);
  for (const auto& b : r.packing.bins) ++n[static_cast<std::size_t>(b.type)];
  std::vector<std::pair<std::string, int>> out;
  for (std::size_t t = 0; t < n.size(); ++t)
    if (n[t] > 0) out.emplace_back(r.problem.types[t].name, n[t]);
  return out;
}

Vec utilization(const PlanResult& r, const Bin& b) {
  Vec l{};
  for (std::size_t i = 0; i < r.problem.classes.size(); ++i)
    for (int d = 0; d < kDims; ++d) l[d] += static_cast<double>(b.counts[i]) * r.problem.classes[i].size[d];
  const BinType& t = r.problem.types[static_cast<std::size_t>(b.type)];
  Vec u{};
  for (int d = 0; d < kDims; ++d) u[d] = t.raw[d] > 0 ? l[d] / t.raw[d] : 0;
  return u;
}

namespace {
/// Bins sorted by type (catalog order) for presentation, with camera ranges per class.
struct Placed {
  const Bin* bin;
  std::vector<std::pair<long, long>> range;  // per class [first, last]
};
std::vector<Placed> placed(const PlanResult& r) {
  std::vector<const Bin*> order;
  for (const auto& b : r.packing.bins) order.push_back(&b);
  std::stable_sort(order.begin(), order.end(), [](const Bin* a, const Bin* b) { return a->type < b->type; });
  std::vector<long> next(r.problem.classes.size(), 0);
  std::vector<Placed> out;
  for (const Bin* b : order) {
    Placed p{b, {}};
    for (std::size_t i = 0; i < b->counts.size(); ++i) {
      p.range.emplace_back(next[i], next[i] + b->counts[i] - 1);
      next[i] += b->counts[i];
    }
    out.push_back(p);
  }
  return out;
}
}  // namespace

void write_table(const PlanResult& r, std::ostream& os) {
  const auto ps = placed(r);
  const bool gpu = std::any_of(r.problem.types.begin(), r.problem.types.end(),
                               [](const BinType& t) { return t.raw[2] > 0; });
  os << "plan: strategy " << to_string(r.options.strategy) << ", solver " << to_string(r.options.solver)
     << ", target utilization " << r.options.target_util * 100 << " %\n";
  os << std::left << std::setw(6) << "#" << std::setw(14) << "type" << std::right << std::setw(7) << "cpu%"
     << std::setw(7) << "mem%";
  if (gpu) os << std::setw(7) << "gpu%";
  os << "  streams\n";
  int k = 0;
  for (const auto& p : ps) {
    const Vec u = utilization(r, *p.bin);
    os << std::left << std::setw(6) << k++ << std::setw(14) << r.problem.types[static_cast<std::size_t>(p.bin->type)].name
       << std::right << std::fixed << std::setprecision(1) << std::setw(7) << u[0] * 100 << std::setw(7) << u[1] * 100;
    if (gpu) os << std::setw(7) << u[2] * 100;
    os << " ";
    for (std::size_t i = 0; i < p.bin->counts.size(); ++i)
      if (p.bin->counts[i] > 0) os << " " << p.bin->counts[i] << "x" << r.problem.classes[i].label;
    os << "\n";
  }
  os << std::defaultfloat << std::setprecision(6);
  os << "instances:";
  for (const auto& [name, n] : instance_counts(r)) os << " " << n << "x" << name;
  os << "\nhourly cost: $" << std::fixed << std::setprecision(3) << r.packing.cost;
  if (std::isfinite(r.packing.lower_bound)) os << " (LP lower bound $" << r.packing.lower_bound << ")";
  os << std::defaultfloat << std::setprecision(6) << "\n";
}

void write_csv(const PlanResult& r, std::ostream& os) {
  os << "instance,type,program,width,height,fps,streams,first_camera,last_camera,cpu_util,mem_util,gpu_util,hourly_usd\n";
  int k = 0;
  for (const auto& p : placed(r)) {
    const Vec u = utilization(r, *p.bin);
    const BinType& t = r.problem.types[static_cast<std::size_t>(p.bin->type)];
    for (std::size_t i = 0; i < p.bin->counts.size(); ++i) {
      if (p.bin->counts[i] == 0) continue;
      const StreamClass& c = r.classes[i];
      os << k << "," << t.name << "," << c.program << "," << c.width << "," << c.height << "," << c.fps << ","
         << p.bin->counts[i] << "," << p.range[i].first << "," << p.range[i].second << "," << u[0] << ","
         << u[1] << "," << u[2] << "," << t.price << "\n";
    }
    ++k;
  }
}

void write_json(const PlanResult& r, std::ostream& os) {
  using nlohmann::json;
  json j;
  j["hourly_cost"] = r.packing.cost;
  j["strategy"] = to_string(r.options.strategy);
  j["solver"] = to_string(r.options.solver);
  j["target_util"] = r.options.target_util;
  j["lower_bound"] = std::isfinite(r.packing.lower_bound) ? json(r.packing.lower_bound) : json(nullptr);
  j["proven_optimal"] = r.packing.proven_optimal;
  j["solve_seconds"] = r.seconds;
  j["instances"] = json::array();
  for (const auto& [name, n] : instance_counts(r)) {
    double price = 0;
    for (const auto& t : r.problem.types)
      if (t.name == name) price = t.price;
    j["instances"].push_back({{"type", name}, {"count", n}, {"hourly_usd", price}});
  }
  j["classes"] = json::array();
  for (const auto& c : r.classes)
    j["classes"].push_back({{"program", c.program}, {"width", c.width}, {"height", c.height}, {"fps", c.fps},
                            {"cameras", c.cameras}, {"cpu_cores", c.cpu}, {"mem_gb", c.mem_gb}, {"gpus", c.gpu}});
  j["placement"] = json::array();
  int k = 0;
  for (const auto& p : placed(r)) {
    const Vec u = utilization(r, *p.bin);
    json inst{{"instance", k++},
              {"type", r.problem.types[static_cast<std::size_t>(p.bin->type)].name},
              {"cpu_util", u[0]},
              {"mem_util", u[1]},
              {"gpu_util", u[2]},
              {"streams", json::array()}};
    for (std::size_t i = 0; i < p.bin->counts.size(); ++i) {
      if (p.bin->counts[i] == 0) continue;
      const StreamClass& c = r.classes[i];
      inst["streams"].push_back({{"program", c.program}, {"width", c.width}, {"height", c.height}, {"fps", c.fps},
                                 {"count", p.bin->counts[i]}, {"first_camera", p.range[i].first},
                                 {"last_camera", p.range[i].second}});
    }
    j["placement"].push_back(inst);
  }
  os << j.dump(2) << "\n";
}

namespace {
/// `s` as one shell word (single-quoted).
std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}
}  // namespace

int write_camera_lists(const PlanResult& r, const std::string& dir) {
  int n = 0;
  for (std::size_t i = 0; i < r.classes.size(); ++i) {
    const StreamClass& c = r.classes[i];
    if (c.inputs.empty()) continue;
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    const std::string path = (std::filesystem::path(dir) / (r.problem.classes[i].label + ".txt")).string();
    std::ofstream f(path);
    f << "# " << c.inputs.size() << " cameras of " << r.problem.classes[i].label << " (ride plan; ingest.inputs list)\n";
    for (const auto& line : c.inputs) f << line << "\n";
    if (!f) throw ride::ConfigError("--sbatch: cannot write the camera list '" + path + "'");
    ++n;
  }
  return n;
}

long workers_for(double cores) {
  if (!(cores > 0)) return 1;
  return std::max(1L, static_cast<long>(std::ceil(cores - 1e-9)));
}

void write_sbatch(const PlanResult& r, std::ostream& os, const SbatchOptions& o) {
  for (const auto& c : r.classes)
    if (c.program.empty() || std::any_of(c.program.begin(), c.program.end(),
                                          [](unsigned char ch) { return std::isspace(ch) != 0; }))
      throw ride::ConfigError(c.source + ": program '" + c.program +
                              "': a runnable plan needs program names without spaces (they name ride tasks)");
  const auto ps = placed(r);
  const auto counts = instance_counts(r);
  std::vector<const InstanceType*> used;  // catalog entries of the used types, in catalog order
  for (const auto& [name, n] : counts)
    for (const auto& c : r.catalog)
      if (c.name == name) used.push_back(&c);
  long total = 0;
  for (const auto& [name, n] : counts) total += n;

  const auto old_flags = os.flags();
  const auto old_prec = os.precision();
  os << std::defaultfloat << std::setprecision(10);
  os << "#!/usr/bin/env bash\n";
  os << "# ride plan: strategy " << to_string(r.options.strategy) << ", solver " << to_string(r.options.solver)
     << ", target utilization " << r.options.target_util * 100 << " %, hourly cost $" << std::fixed
     << std::setprecision(3) << r.packing.cost << std::defaultfloat << std::setprecision(10) << "\n";
  os << "# instances:";
  for (const auto* t : used) {
    long n = 0;
    for (const auto& [name, k] : counts)
      if (name == t->name) n = k;
    os << " " << n << " x " << t->name << " (" << t->vcpus << " vCPUs, " << t->mem_gb << " GB"
       << (t->gpus > 0 ? ", " + std::to_string(static_cast<int>(t->gpus)) + " GPUs" : std::string()) << ", $"
       << t->hourly_usd << "/h)";
  }
  os << "\n#\n"
        "# Runs the plan: one ride job (MPI, through scripts/ride-mpirun) per stream class, all at\n"
        "# once, each class's worker ranks on the nodes the plan gave its streams (slurm/ride-plan-run\n"
        "# says how ranks are placed). Submit from the directory the results should go to:\n"
        "#   sbatch THIS_FILE [ride run options for every class, e.g. --ingest.duration_s=3600]\n"
        "# Without Slurm, `bash THIS_FILE` runs every plan node on this machine.\n";
  if (used.size() > 1)
    os << "# Several instance types: the catalog's type names must be Slurm node features; the\n"
          "# --constraint below asks for that many nodes of each.\n";
  os << "#SBATCH --job-name=ride-plan\n";
  os << "#SBATCH --output=ride-plan-%j.out\n";
  os << "#SBATCH --nodes=" << total << "\n";
  os << "#SBATCH --exclusive\n";
  if (!used.empty()) {
    double min_cpu = used[0]->vcpus, min_mem = used[0]->mem_gb, min_gpu = used[0]->gpus, sum_gpu = 0;
    for (const auto* t : used) {
      min_cpu = std::min(min_cpu, t->vcpus);
      min_mem = std::min(min_mem, t->mem_gb);
      min_gpu = std::min(min_gpu, t->gpus);
    }
    for (const auto& p : ps) sum_gpu += std::floor(r.catalog[static_cast<std::size_t>(p.bin->type)].gpus);
    if (used.size() > 1) {
      os << "#SBATCH --constraint=[";
      for (std::size_t k = 0; k < used.size(); ++k) {
        long n = 0;
        for (const auto& [name, c] : counts)
          if (name == used[k]->name) n = c;
        os << (k ? "&" : "") << used[k]->name << "*" << n;
      }
      os << "]\n";
    }
    os << "#SBATCH --ntasks-per-node=" << std::max(1L, static_cast<long>(std::floor(min_cpu))) << "\n";
    os << "#SBATCH --cpus-per-task=1\n";
    // the plan's memory budget per node (capacity x target utilization), not the type's nominal
    // size: nodes advertise a little less than that to Slurm
    os << "#SBATCH --mem=" << static_cast<long>(std::floor(min_mem * r.options.target_util * 1024)) << "M\n";
    if (min_gpu >= 1)
      os << "#SBATCH --gpus-per-node=" << static_cast<long>(std::floor(min_gpu)) << "\n";
    else if (sum_gpu >= 1)
      os << "#SBATCH --gpus=" << static_cast<long>(sum_gpu) << "\n";
  }
  os << "#\n";
  int k = 0;
  for (const auto& p : ps) {
    const Vec u = utilization(r, *p.bin);
    os << "# node " << k++ << " " << r.catalog[static_cast<std::size_t>(p.bin->type)].name << " (cpu " << std::fixed
       << std::setprecision(1) << u[0] * 100 << " %, mem " << u[1] * 100 << " %" << std::defaultfloat
       << std::setprecision(10) << "):";
    for (std::size_t i = 0; i < p.bin->counts.size(); ++i)
      if (p.bin->counts[i] > 0)
        os << " " << r.problem.classes[i].label << " cameras " << p.range[i].first << "-" << p.range[i].second;
    os << "\n";
  }
  os << "set -uo pipefail\n";
  os << "nodes=(";
  for (std::size_t j = 0; j < ps.size(); ++j)
    os << (j ? " " : "") << shell_quote(r.catalog[static_cast<std::size_t>(ps[j].bin->type)].name);
  os << ")\n";
  os << "# LABEL PROGRAM WIDTH HEIGHT FPS CAMERAS NODE:WORKERS,... DEVICE (workers = the class's cores\n"
        "# on the node, rounded up: one single-threaded worker rank per core; DEVICE gpu when its streams\n"
        "# need GPUs, else cpu)\n";
  os << "steps=(\n";
  for (std::size_t i = 0; i < r.classes.size(); ++i) {
    const StreamClass& c = r.classes[i];
    std::ostringstream step;
    step << std::defaultfloat << std::setprecision(10) << r.problem.classes[i].label << " " << c.program << " "
         << c.width << " " << c.height << " " << c.fps << " " << c.cameras << " ";
    bool first = true;
    for (std::size_t j = 0; j < ps.size(); ++j) {
      const long n = ps[j].bin->counts[i];
      if (n <= 0) continue;
      step << (first ? "" : ",") << j << ":" << workers_for(c.cpu * static_cast<double>(n));
      first = false;
    }
    if (first) continue;  // a class with no cameras
    step << " " << (c.gpu > 0 ? "gpu" : "cpu");
    os << "  " << shell_quote(step.str()) << "\n";
  }
  os << ")\n";
  os << "root=${RIDE_ROOT:-" << (o.ride_root.empty() ? std::string() : shell_quote(o.ride_root)) << "}\n";
  if (!o.ride_binary.empty()) os << "export RIDE=${RIDE:-" << shell_quote(o.ride_binary) << "}\n";
  os << "[ -x \"$root/slurm/ride-plan-run\" ] || { echo \"ride plan job: no ride checkout at '$root'"
        " (set RIDE_ROOT)\" >&2; exit 2; }\n";
  os << "export RIDE_ROOT=$root\n";
  if (!o.inputs_dir.empty())  // the classes' camera lists, written beside this script
    os << "export RIDE_PLAN_INPUTS=${RIDE_PLAN_INPUTS:-" << shell_quote(o.inputs_dir) << "}\n";
  os << "exec \"$root/slurm/ride-plan-run\" --nodes \"${nodes[*]}\" \"${steps[@]}\" -- \"$@\"\n";
  os.flags(old_flags);
  os.precision(old_prec);
}

}  // namespace ride::plan

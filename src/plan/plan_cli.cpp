#include "plan/plan_cli.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <ostream>
#include <sstream>

#include "core/error.h"
#include "core/parse.h"
#include "plan/plan.h"

namespace ride::plan {
namespace {
/// This executable and its checkout (a directory above the binary holding slurm/ride-plan-run,
/// else the checkout it was built from); empty when neither (the script then needs RIDE_ROOT).
SbatchOptions locate_ride() {
  SbatchOptions o;
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return o;
  o.ride_binary = exe.string();
  for (auto dir = exe.parent_path(); !dir.empty() && dir != dir.root_path(); dir = dir.parent_path())
    if (std::filesystem::exists(dir / "slurm" / "ride-plan-run", ec)) {
      o.ride_root = dir.string();
      return o;
    }
  // a build directory outside the checkout: the checkout it was built from, if it is still there
  if (std::filesystem::exists(std::filesystem::path(RIDE_SOURCE_DIR) / "slurm" / "ride-plan-run", ec))
    o.ride_root = RIDE_SOURCE_DIR;
  return o;
}
}  // namespace

const char* plan_usage() {
  return R"(usage: ride plan --requirements R.csv --scenario S.csv [options]

Packs camera streams into cloud instances at a target utilization, minimizing the hourly cost
(CAM² resource manager).

  --catalog FILE       instance types: name,vcpus,mem_gb,gpus,hourly_usd,max_count
                       (max_count 0 or empty = unlimited). Default: built-in CAM² Table 2
                       (= configs/catalogs/aws_table2.csv).
  --requirements FILE  program,width,height,cpu_per_fps,cpu_base,mem_gb[,gpu]
                       (a stream needs cpu_per_fps*fps+cpu_base cores, mem_gb GB, gpu GPUs)
  --scenario FILE      program,fps,cameras,width,height[,url,name] (a row with a url is one
                       real camera: --sbatch then writes each class's camera list beside the
                       script, FILE.inputs/, and the job reads those cameras)
  --strategy st1..st5  CAM² Table 7 (default st5): st1/st2/st3 one type (m4/c4/r3.xlarge or
                       the general/compute/memory type), st4 no sharing between programs,
                       st5 sharing allowed
  --type NAME          the fixed type for st1-st3
  --solver NAME        ffod (CAM²'s heuristic), exact (CBC, small cases), hybrid (default)
  --target-util X      usable fraction of each instance, in (0,1] (default 0.7)
  --time-limit S       exact solver time limit in seconds (default 60)
  --json FILE          write the plan as JSON (hourly_cost, instances [{type,count}], placement)
  --csv FILE           write one row per (instance, stream class)
  --sbatch FILE        write a runnable Slurm job: the allocation (nodes, tasks, memory, GPUs)
                       and one `ride run` per stream class on the plan's nodes
  --quiet              no terminal table
  --help               this text
)";
}

int plan_main(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  std::map<std::string, std::string> v;
  bool quiet = false;
  static const char* with_value[] = {"--catalog", "--requirements", "--scenario", "--strategy", "--solver",
                                     "--target-util", "--json", "--csv", "--sbatch", "--type", "--time-limit"};
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string a = args[i];
    if (a == "--help" || a == "-h") {
      out << plan_usage();
      return 0;
    }
    if (a == "--quiet") {
      quiet = true;
      continue;
    }
    std::string value;
    bool has_inline = false;
    if (auto eq = a.find('='); eq != std::string::npos && a.rfind("--", 0) == 0) {
      value = a.substr(eq + 1);
      a = a.substr(0, eq);
      has_inline = true;
    }
    bool known = false;
    for (const char* w : with_value) known = known || a == w;
    if (!known) {
      err << "ride plan: unknown argument '" << args[i] << "'\n" << plan_usage();
      return 2;
    }
    if (!has_inline) {
      if (i + 1 >= args.size()) {
        err << "ride plan: " << a << " needs a value\n";
        return 2;
      }
      value = args[++i];
    }
    v[a] = value;
  }
  if (!v.count("--requirements") || !v.count("--scenario")) {
    err << "ride plan: --requirements and --scenario are required\n" << plan_usage();
    return 2;
  }
  try {
    PlanOptions o;
    if (v.count("--strategy")) o.strategy = parse_strategy(v["--strategy"]);
    if (v.count("--solver")) o.solver = parse_solver(v["--solver"]);
    if (v.count("--type")) o.fixed_type = v["--type"];
    auto number = [&](const std::string& key) {
      const std::string& s = v[key];
      const auto x = ride::whole_double(s);
      if (!x) throw ride::ConfigError(key + ": '" + s + "' is not a number");
      return *x;
    };
    if (v.count("--target-util")) o.target_util = number("--target-util");
    if (v.count("--time-limit")) o.exact.time_limit_s = number("--time-limit");
    const auto catalog = v.count("--catalog") ? read_catalog(v["--catalog"]) : builtin_catalog();
    const auto reqs = read_requirements(v["--requirements"]);
    const auto scen = read_scenario(v["--scenario"]);
    const PlanResult r = make_plan(catalog, reqs, scen, o);
    auto write = [&](const std::string& key, auto&& fn) {
      if (!v.count(key)) return;
      std::ofstream f(v[key]);
      if (!f) throw ride::ConfigError(key + ": cannot write '" + v[key] + "'");
      fn(r, f);
      if (!f) throw ride::ConfigError(key + ": error writing '" + v[key] + "'");
    };
    write("--json", [](const PlanResult& p, std::ostream& os) { write_json(p, os); });
    write("--csv", [](const PlanResult& p, std::ostream& os) { write_csv(p, os); });
    if (v.count("--sbatch")) {
      // Real cameras: one list per class beside the script, which points ride-plan-run at them.
      SbatchOptions so = locate_ride();
      const std::string dir = std::filesystem::absolute(v["--sbatch"] + ".inputs").lexically_normal().string();
      if (write_camera_lists(r, dir) > 0) so.inputs_dir = dir;
      write("--sbatch", [&](const PlanResult& p, std::ostream& os) { write_sbatch(p, os, so); });
    }
    if (!quiet) write_table(r, out);
    return 0;
  } catch (const ride::Error& e) {
    err << "ride plan: " << e.what() << "\n";
    return 2;
  }
}

}  // namespace ride::plan

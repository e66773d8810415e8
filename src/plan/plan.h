#pragma once
/// @brief `ride plan`'s core: scenario + requirements + catalog -> stream classes -> packing under
/// a strategy (CAM² Table 7) with a solver; and the plan's outputs (terminal table, CSV, JSON,
/// runnable Slurm sbatch script).
#include <iosfwd>
#include <string>
#include <vector>

#include "plan/model.h"
#include "plan/solver.h"

namespace ride::plan {

/// CAM² Table 7, defined for any catalog:
///  ST1/ST2/ST3: one fixed type: the general-purpose / compute-optimised / memory-optimised one
///    (m4.xlarge / c4.xlarge / r3.xlarge when present; else, among the types with the fewest
///    vCPUs, the one whose GB-per-core ratio is the median / the lowest / the highest), or
///    PlanOptions::fixed_type when set. Other types are not used.
///  ST4: programs do not share instances; each program is packed on its own over the single type
///    that is cheapest for it (each type tried alone with the solver, lowest cost kept); the
///    per-type limits are shared, programs processed in scenario order. With the hybrid and
///    exact solvers its lower_bound is the sum over programs of the smallest single-type pattern
///    LP (a bound on every ST4 plan).
///  ST5: all types, sharing allowed (CAM²'s manager). With the hybrid and exact solvers, ST5 also
///    considers the ST1-ST4 plans as candidates, so its cost is never above theirs; with FFOD
///    it is the plain FFOD result (the paper's setting).
enum class Strategy { kST1 = 1, kST2, kST3, kST4, kST5 };
enum class SolverKind { kFfod, kExact, kHybrid };

Strategy parse_strategy(const std::string& s);  ///< "st1".."st5" (any case); throws ConfigError
SolverKind parse_solver(const std::string& s);   ///< "ffod" | "exact" | "hybrid"; throws ConfigError
std::string to_string(Strategy s);
std::string to_string(SolverKind s);

struct PlanOptions {
  Strategy strategy = Strategy::kST5;
  SolverKind solver = SolverKind::kHybrid;
  double target_util = 0.7;  ///< in (0, 1]
  std::string fixed_type;    ///< overrides the ST1-ST3 type
  ExactOptions exact{};
};

/// One stream class: every camera of `program` at `width`x`height` and `fps` (scenario rows with
/// the same key are merged); per-stream need from its requirement row.
struct StreamClass {
  std::string program;
  int width = 0, height = 0;
  double fps = 0;
  long cameras = 0;
  double cpu = 0, mem_gb = 0, gpu = 0;
  std::string source;  ///< first scenario row "FILE:LINE"
  /// Real cameras ("URL [name]" lines, as ingest.inputs lists them), one per camera in camera
  /// order; empty for synthetic streams. A class has a url for every camera or for none.
  std::vector<std::string> inputs;
};

/// Merges scenario rows into classes and attaches requirements. Throws ConfigError naming the
/// scenario FILE:LINE and column ('program' when the program has no requirement row at all,
/// 'width' when the program exists but not at that resolution; 'url' when a class mixes rows with
/// and without urls).
std::vector<StreamClass> build_classes(const std::vector<Requirement>& reqs,
                                       const std::vector<ScenarioRow>& scenario);

/// The packing problem for `classes` over `catalog` at `target_util` (capacity = raw x target).
Problem make_problem(const std::vector<InstanceType>& catalog, const std::vector<StreamClass>& classes,
                     double target_util);

struct PlanResult {
  std::vector<InstanceType> catalog;
  std::vector<StreamClass> classes;
  Problem problem;          ///< over the full catalog (bins' type indices refer to it)
  Packing packing;          ///< feasible: check_packing(problem, packing) passes
  PlanOptions options;
  double seconds = 0;       ///< solve time
};

/// Plans `scenario`. Throws ConfigError for bad input (empty catalog, unknown program or
/// resolution, a stream no type holds, limits that make it infeasible, bad target_util).
PlanResult make_plan(const std::vector<InstanceType>& catalog, const std::vector<Requirement>& reqs,
                     const std::vector<ScenarioRow>& scenario, const PlanOptions& opts);
/// Same on already built classes.
PlanResult make_plan(const std::vector<InstanceType>& catalog, const std::vector<StreamClass>& classes,
                     const PlanOptions& opts);

/// Index of the ST1/ST2/ST3 type in `catalog` (see Strategy). Throws ConfigError for an unknown
/// fixed_type.
std::size_t fixed_type_index(const std::vector<InstanceType>& catalog, Strategy s,
                             const std::string& fixed_type);

/// Number of instances per type name, in catalog order, types with 0 omitted.
std::vector<std::pair<std::string, int>> instance_counts(const PlanResult& r);

// ---- outputs -------------------------------------------------------------------------------
/// Utilization of one instance relative to its raw capacity (fraction, 0..target).
Vec utilization(const PlanResult& r, const Bin& b);
/// Human table: one line per instance (type, streams per class, CPU/mem/GPU utilization), then
/// per-type counts and the hourly cost.
void write_table(const PlanResult& r, std::ostream& os);
/// CSV: header `instance,type,program,width,height,fps,streams,first_camera,last_camera,cpu_util,mem_util,gpu_util,hourly_usd`,
/// one row per (instance, class) with streams > 0; cameras of a class are numbered 0..cameras-1
/// in class order and assigned to instances in order (first..last inclusive).
void write_csv(const PlanResult& r, std::ostream& os);
/// JSON object: hourly_cost, strategy, solver, target_util, lower_bound (null if none),
/// proven_optimal, solve_seconds, instances: [{type, count, hourly_usd}], classes: [...],
/// placement: [{instance, type, cpu_util, mem_util, gpu_util, streams: [{program, width, height,
/// fps, count, first_camera, last_camera}]}].
void write_json(const PlanResult& r, std::ostream& os);
/// Where the generated job finds ride (written into the script; RIDE_ROOT / RIDE override them).
struct SbatchOptions {
  std::string ride_root;    ///< checkout holding slurm/ride-plan-run and scripts/ride-mpirun
  std::string ride_binary;  ///< the ride executable
  std::string inputs_dir;   ///< camera lists (write_camera_lists); the script's default RIDE_PLAN_INPUTS
};
/// For each class with real cameras, writes DIR/<label>.txt: its "URL [name]" lines (the file
/// ride-plan-run gives the class's job as ingest.inputs). Creates DIR. Returns how many files.
/// Throws ConfigError when DIR cannot be written.
int write_camera_lists(const PlanResult& r, const std::string& dir);
/// Worker ranks for a class needing `cores` on one node: ceil(cores), at least 1 (a worker rank
/// runs one frame at a time on one core).
long workers_for(double cores);
/// A runnable sbatch script for the plan. Directives: one ordinary allocation of all the plan's
/// instances (--nodes=total --exclusive), with `--constraint=[typeA*n&typeB*m]` when several
/// types are used (type names = node features), --ntasks-per-node / --gpus-per-node from the smallest
/// used type, --mem its capacity x target utilization (the plan's budget) (--gpus=total when only some types have GPUs), --cpus-per-task=1.
/// Comment lines give the cost and each node's streams. The body lists the plan's nodes (types,
/// plan order) and one step per stream class: `LABEL PROGRAM WIDTH HEIGHT FPS CAMERAS
/// NODE:WORKERS,... DEVICE` with workers_for(class cores on that node) and DEVICE gpu when the
/// class's streams need GPUs (else cpu), and runs slurm/ride-plan-run
/// on them (one `ride run` per class). Why not a heterogeneous job: mpirun cannot span hetjob
/// components, and srun would cancel a step when one rank dies, defeating ride's recovery.
/// Throws ConfigError when a program name contains whitespace.
void write_sbatch(const PlanResult& r, std::ostream& os, const SbatchOptions& o = {});

}  // namespace ride::plan

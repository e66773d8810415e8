#pragma once
/// @brief Multiple-type vector bin packing (CAM² Sec. 4.3): pack classes of identical streams into
/// instances (bins) of priced types, minimizing the summed hourly price.
///
/// Dimensions: 0 = CPU cores, 1 = memory GB, 2 = GPUs. A bin of type t accepts a set of items when,
/// in every dimension d, the summed item sizes are <= cap[t][d] (the type's raw capacity times the
/// target utilization, e.g. 0.7 x 4 cores = 2.8 cores) up to a relative tolerance of 1e-9.
/// Items of one class are interchangeable, so a bin's content is a vector of counts per class.
///
/// Threading: all functions are pure (no shared state) and may run concurrently on different
/// problems; each runs on the calling thread. No GPU path (this is planning, not a kernel).
#include <array>
#include <limits>
#include <string>
#include <vector>

namespace ride::plan {

inline constexpr int kDims = 3;
using Vec = std::array<double, kDims>;

struct BinType {
  std::string name;
  Vec cap{};           ///< usable capacity (raw capacity x target utilization)
  Vec raw{};           ///< raw capacity (for utilization reports)
  double price = 0;    ///< hourly price
  int max_count = 0;   ///< 0 = unlimited
};

struct ItemClass {
  std::string label;   ///< e.g. "HD@1280x720@0.5fps"
  Vec size{};          ///< per-item need
  long count = 0;      ///< number of identical items (streams)
  std::string source;  ///< where it came from (scenario FILE:LINE), for errors
};

struct Problem {
  std::vector<BinType> types;
  std::vector<ItemClass> classes;
};

struct Bin {
  int type = 0;
  std::vector<long> counts;  ///< per class, same order as Problem::classes
};

struct Packing {
  std::vector<Bin> bins;
  double cost = 0;                                          ///< sum of bin prices
  double lower_bound = std::numeric_limits<double>::quiet_NaN();  ///< LP bound when computed
  bool proven_optimal = false;                              ///< exact solver proved optimality
  std::string solver;
};

/// True when `load` fits `cap` in every dimension (relative tolerance 1e-9).
bool fits(const Vec& load, const Vec& cap);
/// Sum of bin prices.
double packing_cost(const Problem& p, const std::vector<Bin>& bins);
/// Throws ride::Error naming the first violation: a bin over capacity in some dimension, a class
/// not placed exactly `count` times, a type used more than max_count times, or a bad type index.
void check_packing(const Problem& p, const Packing& s);

/// Throws ride::ConfigError when a class fits no bin type on its own (message names the class,
/// its source and sizes), when there are no types, or when a size is negative/non-finite.
void validate_problem(const Problem& p);

/// FFOD as this project reads Han, Diehr & Cook (1994) through its one public implementation
/// (distriopt's FirstFitOrderedDeviation); no text of the original rule is public.
///  1. Order: each class's shape is its size normalized by the catalog's mean raw capacity per
///     dimension, s_d = size_d / mean_t(raw[t][d]) (dimensions no class uses are dropped). Its
///     deviation is dev = (max_d s_d - min_d s_d) / sum_d s_d (in 2-D this is distriopt's
///     |m - c| / (m + c)). Items are taken in non-increasing deviation, ties by non-increasing
///     max_d s_d, then input order.
///  2. First fit: an item goes into the first open bin (in opening order) it fits.
///  3. Opening: when it fits no open bin, open the type that is cheapest *for the item*: the
///     minimum of price_t x max_d(size_d / cap[t][d]) among types that hold it and have not reached
///     max_count (ties: lower price, then catalog order).
/// Throws ride::ConfigError when the limits leave no type for some item.
Packing solve_ffod(const Problem& p);

/// How the pattern LP (LP bound, LP rounding of the hybrid) is solved.
enum class LpMethod {
  /// solve_hybrid: column generation (as good as enumeration and faster on the gap benchmark:
  /// results/cam2_solver_gap.md); lp_lower_bound: enumeration when the maximal patterns number
  /// <= max_patterns (the exact LP value), else column generation.
  kAuto,
  kEnumerate,         ///< enumeration only: no LP beyond max_patterns (the behaviour before colgen.h)
  kColumnGeneration,  ///< always column generation (colgen.h)
};

/// Options of the pattern-based solvers.
struct ExactOptions {
  /// solve_exact (and lp_lower_bound, hybrid with kEnumerate): refuse (throw, or skip the LP)
  /// beyond this many maximal patterns
  long max_patterns = 200'000;
  double time_limit_s = 60;     ///< CBC time limit; proven_optimal=false if reached
  LpMethod lp = LpMethod::kAuto;  ///< LP of solve_hybrid and lp_lower_bound (solve_exact enumerates)
  /// Pricing budget (branch-and-bound nodes, all searches together) of solve_hybrid's column
  /// generation; lp_lower_bound uses 100x. The bound stays valid when it runs out, only weaker.
  long colgen_node_budget = 20'000;
};

/// Exact optimum: enumerates every maximal feasible bin content (pattern) per type, then solves
/// min sum price x_p s.t. sum_p a_ip x_p >= count_i, sum_{p of type t} x_p <= max_count_t, x
/// integer, with COIN-OR CBC. Surplus items are dropped from the chosen patterns, so the result is
/// an exact packing. lower_bound = the LP relaxation (CLP). Throws ride::Error when the pattern
/// count exceeds opts.max_patterns ("too large for the exact solver"; the message gives the LP
/// bound from column generation), ride::ConfigError when infeasible. Ignores opts.lp.
Packing solve_exact(const Problem& p, const ExactOptions& opts = {});

/// LP lower bound only: the value of solve_exact's pattern LP. By enumeration (exact LP value) when
/// the maximal patterns number <= opts.max_patterns and opts.lp allows; otherwise by column
/// generation (colgen.h, pricing budget 100 x opts.colgen_node_budget): always a valid lower
/// bound (ColgenResult::bound); within ~1e-9 relative of the LP value when the pricing proves
/// the LP solved within the budget, else below it by what is left unproven (1.3e-4 relative on CAM²
/// Table 12 with results/cam2_requirements_measured.csv). ride::Error when too large and opts.lp ==
/// kEnumerate; ride::ConfigError when the limits make it infeasible (or the problem is invalid).
/// 0 when there is nothing to place.
double lp_lower_bound(const Problem& p, const ExactOptions& opts = {});

/// This project's heuristic ("hybrid"); result cost <= solve_ffod(p).cost always, since FFOD is
/// one of its candidates. Candidates, best kept:
///  - FFOD and first-fit variants over 5 item orderings x 2 opening rules (FFOD's per-unit cost,
///    and cost per item actually placed: price / min(remaining, how many fit in an empty bin)) x
///    type subsets (all types, each single type, each pair), every result followed by a downgrade
///    pass (each bin moved to the cheapest type that holds its content, limits respected);
///  - the pattern LP's solution (column generation seeded with the best packing so far, pricing
///    budget opts.colgen_node_budget; with LpMethod::kEnumerate: over all maximal patterns when
///    they number <= opts.max_patterns, default 100,000) rounded down, the residual packed by the
///    best greedy variant, then downgraded; and rounded up with surplus dropped (when limits
///    allow).
/// lower_bound = the LP bound (column generation: ColgenResult::bound, valid even when the budget
/// stops it early, then somewhat below the LP value: 4e-5 and 1e-4 relative on CAM² Table 12,
/// results/cam2_solver_gap.md); NaN when there is nothing to place, or with kEnumerate above
/// max_patterns. proven_optimal when cost <= lower_bound + 1e-7.
Packing solve_hybrid(const Problem& p, const ExactOptions& opts = {.max_patterns = 100'000});

/// Moves every bin to the cheapest type that holds its content (respecting max_count); never
/// raises cost.
void downgrade(const Problem& p, std::vector<Bin>& bins);

}  // namespace ride::plan

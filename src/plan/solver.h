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

/// Options of the pattern-based solvers.
struct ExactOptions {
  long max_patterns = 200'000;  ///< refuse (throw) beyond this many maximal patterns
  double time_limit_s = 60;     ///< CBC time limit; proven_optimal=false if reached
};

/// Exact optimum: enumerates every maximal feasible bin content (pattern) per type, then solves
/// min sum price x_p s.t. sum_p a_ip x_p >= count_i, sum_{p of type t} x_p <= max_count_t, x
/// integer, with COIN-OR CBC. Surplus items are dropped from the chosen patterns, so the result is
/// an exact packing. lower_bound = the LP relaxation (CLP). Throws ride::Error when the pattern
/// count exceeds opts.max_patterns ("too large for the exact solver"), ride::ConfigError when
/// infeasible.
Packing solve_exact(const Problem& p, const ExactOptions& opts = {});

/// LP lower bound only (same pattern LP as solve_exact); throws like solve_exact when too large.
double lp_lower_bound(const Problem& p, const ExactOptions& opts = {});

/// This project's heuristic ("hybrid"); result cost <= solve_ffod(p).cost always, since FFOD is
/// one of its candidates. Candidates, best kept:
///  - FFOD and first-fit variants over 5 item orderings x 2 opening rules (FFOD's per-unit cost,
///    and cost per item actually placed: price / min(remaining, how many fit in an empty bin)) x
///    type subsets (all types, each single type, each pair), every result followed by a downgrade
///    pass (each bin moved to the cheapest type that holds its content, limits respected);
///  - when the maximal patterns number <= opts.max_patterns (default 100,000): LP relaxation over the patterns,
///    rounded down, the residual packed by the best greedy variant, then downgraded; and the LP
///    rounded up with surplus dropped (when limits allow).
/// lower_bound is set when the LP was solved.
Packing solve_hybrid(const Problem& p, const ExactOptions& opts = {.max_patterns = 100'000});

/// Moves every bin to the cheapest type that holds its content (respecting max_count); never
/// raises cost.
void downgrade(const Problem& p, std::vector<Bin>& bins);

}  // namespace ride::plan

#pragma once
/// @brief Delayed column generation (Gilmore-Gomory) for the pattern LP of the bin packing in
/// solver.h, for problems whose maximal patterns are too many to enumerate (CAM² Table 12: 5,310
/// cameras in 7 classes).
///
/// The pattern LP: min sum_p price_p x_p s.t. sum_p a_ip x_p >= count_i (every class i),
/// sum_{p of type t} x_p <= max_count_t (limited types), x >= 0, over every feasible bin content
/// a_p of every type (0 <= a_ip <= count_i, fits() in every dimension). Its value is the same as
/// over the maximal patterns only (solve_exact's LP): a non-maximal pattern is dominated by a
/// maximal one of the same type and price.
///
/// Threading: all functions are pure (no shared state) and may run concurrently on different
/// problems; each runs on the calling thread (CLP single-threaded).
#include <limits>
#include <vector>

#include "plan/solver.h"

namespace ride::plan {

/// How many items of size `s` fit on top of `load` in `cap`, at most `limit` (>= 0): the largest k
/// with fits(load + k s, cap). `limit` when s is zero in every dimension.
long fit_count(const Vec& load, const Vec& cap, const Vec& s, long limit);

/// Result of the pricing problem of one bin type.
struct PricingResult {
  std::vector<long> counts;  ///< the best bin content found (feasible, counts[i] <= count_i)
  double value = 0;          ///< sum_i max(values[i], 0) * counts[i]
  /// Proven upper bound on the maximum value over all feasible contents (>= value, <= the root
  /// node's relaxation bound): == value when the search completed and the maximum is above the threshold;
  /// max(value, threshold) when it completed and nothing beats the threshold; otherwise the
  /// largest bound of a subtree left unexplored.
  double upper = 0;
  std::vector<std::vector<long>> more;  ///< up to 4 other contents found worth > threshold, best first
  bool complete = true;  ///< false when node_limit or stop_above stopped the search (value may be < max)
  long nodes = 0;        ///< branch-and-bound nodes (each count tried for the last-but-one class counts)
};

/// Pricing knapsack of bin type `type`: maximize sum_i max(values[i], 0) a_i over integer
/// 0 <= a_i <= count_i with fits(sum_i a_i size_i, cap_type) (the capacity test of
/// check_packing, so the contents are exactly the bins a packing may use).
/// Method: the LP relaxation (CLP) first; an incumbent from greedy fills, the LP solution rounded
/// down and filled, and exchange moves; then an exact depth-first branch and bound (classes with
/// the fewest possible counts first, counts from the largest; the last two classes enumerated
/// directly; a node's bound is the smallest of the fractional knapsack bounds of each dimension
/// and of the surrogate constraint weighted by the root LP's duals, counts capped by the room).
/// Only contents worth more than `threshold` matter: subtrees whose bound is <= max(best found,
/// threshold) are pruned. The search stops after `node_limit` nodes, or as soon as a content is
/// worth more than `stop_above` (complete = false in both cases; `upper` stays valid).
/// Pass threshold = -infinity for the plain maximum. values.size() must equal p.classes.size().
PricingResult price_pattern(const Problem& p, int type, const std::vector<double>& values,
                            double threshold, long node_limit = 2'000'000,
                            double stop_above = std::numeric_limits<double>::infinity());

/// The fluid relaxation of the pattern LP: every type's bins may hold fractional items, any point
/// of {a : sum_i a_i size_i <= cap_t, 0 <= a_i <= u_ti} (u_ti = how many of class i fit alone,
/// capped at count_i). A compact LP (bins per type, items per (type, class)) solved once by CLP;
/// its value is a lower bound on the pattern LP (up to CLP's tolerances, 1e-9), usually within
/// ~1e-4 relative of it when items are small against the bins. pattern_lp_colgen turns its duals
/// into a rigorous bound.
struct FluidResult {
  bool feasible = true;  ///< false: the limits leave no fractional solution
  double value = 0;      ///< the fluid LP's optimum (NaN when infeasible)
  std::vector<double> y;   ///< duals of the cover rows (>= 0)
  std::vector<double> mu;  ///< duals of the limits (>= 0, 0 for unlimited types)
};
FluidResult fluid_lp(const Problem& p);  ///< any problem (nothing to place: value 0)

struct ColgenOptions {
  /// A column of type t enters when its value sum_i y_i a_i exceeds price_t + mu_t (mu_t = the
  /// limit row's dual) by more than eps * max(price_t + mu_t, largest price): relative tolerance of
  /// the pricing test.
  double eps = 1e-9;
  /// Stop as soon as the master's value is within gap_tol (relative) of the proven bound.
  double gap_tol = 1e-9;
  int max_iterations = 1000;      ///< pricing rounds; the bound stays valid when reached
  long node_limit = 5'000;        ///< first node limit of one pricing search (raised 8x at a time)
  long node_budget = 2'000'000;   ///< all pricing searches together; the bound stays valid
  /// Stop each pricing search at the first content that prices out (the heuristic incumbent
  /// usually is one) instead of searching for the best; the final proof is unaffected.
  bool first_improving = true;
  /// Wentges dual smoothing factor in [0, 1): price at smoothing * (duals of the best bound so
  /// far) + (1 - smoothing) * (master duals). 0 = plain pricing at the master's duals.
  double smoothing = 0.5;
};

struct ColgenResult {
  /// false: no fractional solution meets the limits (the fluid LP is infeasible, or phase 1
  /// ends with more than 1e-7 items uncovered and nothing prices out).
  bool feasible = true;
  /// Valid lower bound on the pattern LP (and so on every packing's cost): the best Lagrangian
  /// (dual) bound, at the fluid LP's duals and at every round's duals, each made dual feasible for
  /// *all* patterns with the pricing's proven upper bounds (y scaled, limit duals raised). It does
  /// not depend on CLP's accuracy (only on floating-point rounding, ~1e-12); when `converged`, within
  /// max(gap_tol, ~eps) relative of the LP value. NaN when infeasible.
  double bound = 0;
  double fluid_bound = 0;  ///< the fluid LP's value (fluid_lp; CLP's, not made rigorous)
  double lp_value = 0;     ///< final restricted master's value: >= the LP value (to CLP's 1e-9) >= bound
  std::vector<Bin> columns;  ///< the master's patterns (type, counts), the initial ones first
  std::vector<double> x;     ///< restricted master solution, one value per column
  /// The LP is solved: bound within gap_tol of lp_value, or no column prices out under the
  /// master's duals with every pricing search complete.
  bool converged = false;
  int iterations = 0;         ///< pricing rounds (master solves and mis-priced rounds)
  long pricing_nodes = 0;     ///< branch-and-bound nodes over all pricing searches
  bool pricing_exact = true;  ///< the last round's searches all completed at the master's duals
};

/// Solves the pattern LP by column generation. Initial columns: `seed` (e.g. the bins of a greedy
/// packing; counts above count_i are clipped, contents are made maximal, duplicates dropped) plus,
/// for every type and class, the single-class maximal pattern. When these leave the restricted
/// master infeasible (tight limits) a phase 1 (artificial cover columns) runs first. Every round
/// re-solves the master with CLP (primal simplex, warm start), prices every type with
/// price_pattern at smoothed duals (first improving content, up to 5 per type) and adds what
/// prices out under the master's duals; it stops when the LP is solved (see `converged`), or at
/// max_iterations or node_budget, the bound staying valid. Throws ride::Error when the budget
/// runs out in phase 1 before feasibility is decided. Call validate_problem first.
ColgenResult pattern_lp_colgen(const Problem& p, const std::vector<Bin>& seed, const ColgenOptions& o = {});

}  // namespace ride::plan

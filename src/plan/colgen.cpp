#include "plan/colgen.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <set>
#include <utility>
#include <vector>

#include <ClpSimplex.hpp>
#include <CoinPackedMatrix.hpp>

#include "core/error.h"

namespace ride::plan {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

/// The capacity fits() accepts (same relative tolerance 1e-9).
double slack_cap(double cap) { return cap * (1 + 1e-9) + 1e-12; }

}  // namespace

long fit_count(const Vec& load, const Vec& cap, const Vec& s, long limit) {
  long k = limit;
  for (int d = 0; d < kDims; ++d) {
    if (s[d] <= 0) continue;
    const double room = slack_cap(cap[d]) - load[d];
    if (room < 0) return 0;
    const double q = std::floor(room / s[d]);
    if (q < static_cast<double>(k)) k = static_cast<long>(q);
  }
  // Guard the floor against rounding: the result must satisfy fits().
  while (k > 0) {
    Vec l = load;
    for (int d = 0; d < kDims; ++d) l[d] += static_cast<double>(k) * s[d];
    if (fits(l, cap)) break;
    --k;
  }
  return std::max(k, 0L);
}

PricingResult price_pattern(const Problem& p, int type, const std::vector<double>& values, double threshold,
                            long node_limit, double stop_above) {
  const std::size_t n = p.classes.size();
  RIDE_EXPECTS(values.size() == n, "price_pattern: " << values.size() << " values for " << n << " classes");
  RIDE_EXPECTS(type >= 0 && static_cast<std::size_t>(type) < p.types.size(), "price_pattern: bad type " << type);
  const Vec& cap = p.types[static_cast<std::size_t>(type)].cap;
  PricingResult r;
  r.counts.assign(n, 0);

  struct Item {
    std::size_t cls;
    double v;
    Vec s;
    long u;  // most copies alone in an empty bin (<= count)
  };
  std::vector<Item> items;
  for (std::size_t i = 0; i < n; ++i) {
    const ItemClass& c = p.classes[i];
    if (!(values[i] > 0) || c.count <= 0) continue;
    const long u = fit_count(Vec{}, cap, c.size, c.count);
    if (u > 0) items.push_back({i, values[i], c.size, u});
  }
  if (items.empty()) return r;  // the empty content (value 0) is optimal: upper = 0
  Vec room0{};
  for (int d = 0; d < kDims; ++d) room0[d] = slack_cap(cap[d]);
  // Branching order: fewest possible counts first (the classes with many small items last, where
  // the last two are searched without bounds), then value per normalized size.
  auto density = [&](const Item& it) {
    double w = 0;
    for (int d = 0; d < kDims; ++d)
      if (it.s[d] > 0) w = std::max(w, it.s[d] / room0[d]);
    return w > 0 ? it.v / w : kInf;
  };
  std::stable_sort(items.begin(), items.end(), [&](const Item& a, const Item& b) {
    return a.u < b.u || (a.u == b.u && density(a) > density(b));
  });
  const std::size_t m = items.size();

  // Root LP relaxation (CLP): its solution seeds the incumbent, its duals lambda give the
  // surrogate relaxation below.
  std::array<bool, kDims> dim_used{};
  for (std::size_t j = 0; j < m; ++j)
    for (int d = 0; d < kDims; ++d)
      dim_used[static_cast<std::size_t>(d)] = dim_used[static_cast<std::size_t>(d)] || items[j].s[d] > 0;
  std::vector<double> x_lp;
  Vec lambda_lp{};
  {
    CoinPackedMatrix a(false, 0, 0);  // row-ordered
    a.setDimensions(0, static_cast<int>(m));
    std::vector<double> rlo, rhi, clo(m, 0), chi(m), obj(m);
    for (std::size_t j = 0; j < m; ++j) {
      chi[j] = static_cast<double>(items[j].u);
      obj[j] = -items[j].v;  // CLP minimizes
    }
    std::vector<int> dims;
    for (int d = 0; d < kDims; ++d) {
      if (!dim_used[static_cast<std::size_t>(d)]) continue;
      std::vector<int> idx;
      std::vector<double> val;
      for (std::size_t j = 0; j < m; ++j)
        if (items[j].s[d] > 0) {
          idx.push_back(static_cast<int>(j));
          val.push_back(items[j].s[d]);
        }
      a.appendRow(static_cast<int>(idx.size()), idx.data(), val.data());
      rlo.push_back(-COIN_DBL_MAX);
      rhi.push_back(room0[d]);
      dims.push_back(d);
    }
    if (!dims.empty()) {
      ClpSimplex lp;
      lp.setLogLevel(0);
      lp.loadProblem(a, clo.data(), chi.data(), obj.data(), rlo.data(), rhi.data());
      lp.dual();
      if (lp.status() == 0) {
        const double* dual = lp.dualRowSolution();
        for (std::size_t k = 0; k < dims.size(); ++k) lambda_lp[dims[k]] = std::abs(dual[k]);
        const double* x = lp.primalColumnSolution();
        x_lp.assign(x, x + m);
      }
    }
  }
  // Relaxations: for a multiplier vector lambda >= 0, sum_d lambda_d (dimension d's constraint)
  // is one knapsack constraint whose fractional bound bounds the value (surrogate relaxation).
  // Used: each dimension alone, and the root LP's duals (which make the root bound the LP bound;
  // any lambda >= 0 is valid, so CLP's accuracy does not matter for the bound).
  std::vector<Vec> lambdas;
  for (int d = 0; d < kDims; ++d)
    if (dim_used[static_cast<std::size_t>(d)]) {
      Vec e{};
      e[d] = 1;
      lambdas.push_back(e);
    }
  if (lambdas.size() > 1 && lambda_lp[0] + lambda_lp[1] + lambda_lp[2] > 0) lambdas.push_back(lambda_lp);
  // Per relaxation: item weights and the items by value per weight (zero weight first).
  const std::size_t nl = lambdas.size();
  std::vector<std::vector<double>> weight(nl, std::vector<double>(m, 0));
  std::vector<std::vector<std::size_t>> order(nl);
  for (std::size_t l = 0; l < nl; ++l) {
    for (std::size_t j = 0; j < m; ++j) {
      for (int d = 0; d < kDims; ++d) weight[l][j] += lambdas[l][d] * items[j].s[d];
      order[l].push_back(j);
    }
    std::stable_sort(order[l].begin(), order[l].end(), [&](std::size_t x, std::size_t y) {
      const double rx = weight[l][x] > 0 ? items[x].v / weight[l][x] : kInf;
      const double ry = weight[l][y] > 0 ? items[y].v / weight[l][y] : kInf;
      return rx > ry;
    });
  }

  // Upper bound on the value items[from..] can add on top of `load`: each item's count capped by
  // the room in every dimension, then the smallest of (no constraint, each relaxation's
  // fractional knapsack). Rounding only loosens it (counts are rounded up, room inflated).
  std::vector<double> ub(m, 0);
  auto bound = [&](std::size_t from, const Vec& load) -> double {
    double all = 0;
    for (std::size_t j = from; j < m; ++j) {
      double u = static_cast<double>(items[j].u);
      for (int d = 0; d < kDims; ++d)
        if (items[j].s[d] > 0) u = std::min(u, std::floor((room0[d] - load[d]) / items[j].s[d] + 1e-9));
      ub[j] = std::max(u, 0.0);
      all += ub[j] * items[j].v;
    }
    double best = all;
    for (std::size_t l = 0; l < nl; ++l) {
      double room = 0, b = 0;
      for (int d = 0; d < kDims; ++d) room += lambdas[l][d] * std::max(room0[d] - load[d], 0.0);
      room *= 1 + 1e-12;
      for (std::size_t j : order[l]) {
        if (j < from || ub[j] <= 0) continue;
        const double w = weight[l][j];
        if (w <= 0) {
          b += ub[j] * items[j].v;
          continue;
        }
        if (room <= 0) break;
        const double take = std::min(ub[j], room / w);
        b += take * items[j].v;
        room -= take * w;
      }
      best = std::min(best, b);
    }
    return best;
  };

  // ---- incumbent: greedy fills, the LP solution rounded down and filled, then exchanges -------
  auto load_of_counts = [&](const std::vector<long>& c) {
    Vec l{};
    for (std::size_t j = 0; j < m; ++j)
      for (int d = 0; d < kDims; ++d) l[d] += static_cast<double>(c[j]) * items[j].s[d];
    return l;
  };
  auto value_of = [&](const std::vector<long>& c) {
    double v = 0;
    for (std::size_t j = 0; j < m; ++j) v += static_cast<double>(c[j]) * items[j].v;
    return v;
  };
  std::vector<std::size_t> fill_order(m);  // the LP duals' order when present
  for (std::size_t j = 0; j < m; ++j) fill_order[j] = j;
  if (!order.empty()) fill_order = order.back();
  auto fill = [&](std::vector<long>& c, Vec& l, const std::vector<std::size_t>& ord) {
    for (std::size_t j : ord) {
      const long k = fit_count(l, cap, items[j].s, items[j].u - c[j]);
      c[j] += k;
      for (int d = 0; d < kDims; ++d) l[d] += static_cast<double>(k) * items[j].s[d];
    }
  };
  std::vector<long> cur(m, 0), best_c(m, 0);
  double best_v = -1;
  std::vector<std::pair<double, std::vector<long>>> alts;  // contents worth more than threshold
  auto keep_alt = [&](double v, const std::vector<long>& c) {
    if (v > threshold && alts.size() < 64) alts.emplace_back(v, c);
  };
  auto offer = [&](const std::vector<long>& c) {
    const double v = value_of(c);
    keep_alt(v, c);
    if (v > best_v) {
      best_v = v;
      best_c = c;
    }
  };
  {
    std::vector<std::size_t> branch(m);
    for (std::size_t j = 0; j < m; ++j) branch[j] = j;
    std::vector<std::vector<std::size_t>> orders = order;
    orders.push_back(branch);
    for (const auto& ord : orders) {
      std::vector<long> c(m, 0);
      Vec l{};
      fill(c, l, ord);
      offer(c);
    }
    if (!x_lp.empty()) {
      std::vector<long> c(m, 0);
      for (std::size_t j = 0; j < m; ++j) c[j] = std::clamp(static_cast<long>(std::floor(x_lp[j] + 1e-9)), 0L, items[j].u);
      Vec l = load_of_counts(c);
      while (!fits(l, cap)) {  // LP rounding noise: drop one item of the largest count
        const std::size_t j = static_cast<std::size_t>(std::max_element(c.begin(), c.end()) - c.begin());
        --c[j];
        l = load_of_counts(c);
      }
      fill(c, l, fill_order);
      offer(c);
    }
    // Exchanges: take q items of class i out (the fewest that make room for one more of class j),
    // put as many of j in as fit, refill; keep the best improvement; repeat.
    for (int round = 0; round < 50; ++round) {
      std::vector<long> best_move;
      double best_move_v = best_v;
      const Vec l0 = load_of_counts(best_c);
      for (std::size_t i = 0; i < m; ++i) {
        if (best_c[i] == 0) continue;
        for (std::size_t j = 0; j < m; ++j) {
          if (j == i || best_c[j] >= items[j].u) continue;
          long q = 1;
          bool possible = true;
          for (int d = 0; d < kDims && possible; ++d) {
            const double need = l0[d] + items[j].s[d] - room0[d];
            if (need <= 0) continue;
            if (items[i].s[d] <= 0) possible = false;
            else q = std::max(q, static_cast<long>(std::ceil(need / items[i].s[d])));
          }
          if (!possible || q > best_c[i]) continue;
          std::vector<long> c = best_c;
          c[i] -= q;
          Vec l = load_of_counts(c);
          const long k = fit_count(l, cap, items[j].s, items[j].u - c[j]);
          if (k == 0) continue;
          c[j] += k;
          for (int d = 0; d < kDims; ++d) l[d] += static_cast<double>(k) * items[j].s[d];
          fill(c, l, fill_order);
          const double v = value_of(c);
          keep_alt(v, c);
          if (v > best_move_v * (1 + 1e-15)) {
            best_move_v = v;
            best_move = std::move(c);
          }
        }
      }
      if (best_move.empty()) break;
      best_v = best_move_v;
      best_c = std::move(best_move);
    }
  }

  const double root = bound(0, Vec{});
  long nodes = 0;
  bool aborted = false;  // node limit reached, or stop_above beaten
  // Depth-first; `nb` is the node's bound (value included). When the search stops early,
  // open_max collects the bounds of every subtree left unexplored.
  double open_max = -kInf;
  auto improve = [&](double v, std::size_t depth, long k, long k2) {
    best_v = v;
    best_c = cur;
    best_c[depth] = k;
    if (k2 >= 0) best_c[depth + 1] = k2;
    keep_alt(v, best_c);
    if (best_v > stop_above) aborted = true;
  };
  auto dfs = [&](auto&& self, std::size_t depth, const Vec& load, double value, double nb) -> void {
    if (aborted || ++nodes > node_limit) {
      aborted = true;
      open_max = std::max(open_max, nb);
      return;
    }
    const Item& it = items[depth];
    const long kmax = fit_count(load, cap, it.s, it.u);
    if (depth + 1 == m) {  // last item: as many as fit (its value is positive)
      const double v = value + static_cast<double>(kmax) * it.v;
      if (v > best_v) improve(v, depth, kmax, -1);
      return;
    }
    if (depth + 2 == m) {  // two items left: every count of this one, the last one greedily
      const Item& last = items[depth + 1];
      nodes += kmax;  // each count tried costs about one node
      for (long k = kmax; k >= 0; --k) {
        Vec l = load;
        for (int d = 0; d < kDims; ++d) l[d] += static_cast<double>(k) * it.s[d];
        const long k2 = fit_count(l, cap, last.s, last.u);
        const double v = value + static_cast<double>(k) * it.v + static_cast<double>(k2) * last.v;
        if (v > best_v) {
          improve(v, depth, k, k2);
          if (aborted) {  // stop_above beaten: the counts below k are left unexplored
            if (k > 0) open_max = std::max(open_max, nb);
            break;
          }
        }
      }
      return;
    }
    for (long k = kmax; k >= 0; --k) {
      Vec l = load;
      for (int d = 0; d < kDims; ++d) l[d] += static_cast<double>(k) * it.s[d];
      const double v = value + static_cast<double>(k) * it.v;
      const double b = v + bound(depth + 1, l);
      if (aborted) {  // only collect the bounds of what is left
        open_max = std::max(open_max, b);
        continue;
      }
      if (b <= std::max(best_v, threshold)) continue;
      cur[depth] = k;
      self(self, depth + 1, l, v, b);
    }
    cur[depth] = 0;
  };
  if (best_v > stop_above) aborted = true, open_max = root;
  else if (root > std::max(best_v, threshold)) dfs(dfs, 0, Vec{}, 0.0, root);

  for (std::size_t j = 0; j < m; ++j) r.counts[items[j].cls] = best_c[j];
  // The best few other contents found that beat the threshold, best first, distinct.
  std::stable_sort(alts.begin(), alts.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  for (const auto& [v, c] : alts) {
    if (r.more.size() >= 4) break;
    if (c == best_c) continue;
    std::vector<long> full(n, 0);
    for (std::size_t j = 0; j < m; ++j) full[items[j].cls] = c[j];
    if (std::find(r.more.begin(), r.more.end(), full) == r.more.end()) r.more.push_back(std::move(full));
  }
  r.value = 0;
  for (std::size_t i = 0; i < n; ++i)
    if (values[i] > 0) r.value += static_cast<double>(r.counts[i]) * values[i];
  r.nodes = nodes;
  r.complete = !aborted;
  // Pruned subtrees were worth <= max(best, threshold); unexplored ones <= open_max.
  r.upper = std::min(root, std::max({r.value, threshold, aborted ? open_max : -kInf}));
  r.upper = std::max(r.upper, r.value);
  return r;
}

namespace {

/// max over theta >= 0 of the dual objective of (theta y, mu(theta)): theta * sum_i count_i y_i -
/// sum_{limited t} max_count_t * max(0, theta V_t - price_t), with theta V_t <= price_t for every
/// unlimited type (V_t = an upper bound on max_a y.a over type t's contents). Weak duality makes
/// it a lower bound on the pattern LP. Concave piecewise linear in theta: the maximum is at a
/// breakpoint or at the largest admissible theta.
double lagrangian_bound(const Problem& p, double b_dot_y, const std::vector<double>& v_upper) {
  double theta_max = kInf;
  std::vector<double> cand{0.0, 1.0};
  for (std::size_t t = 0; t < p.types.size(); ++t) {
    const double v = v_upper[t];
    if (!(v > 0)) continue;
    const double bp = p.types[t].price / v;
    if (p.types[t].max_count == 0) theta_max = std::min(theta_max, bp);
    else cand.push_back(bp);
  }
  if (std::isfinite(theta_max)) cand.push_back(theta_max);
  double best = 0;
  for (double th : cand) {
    if (!(th <= theta_max) || th < 0) continue;
    double f = th * b_dot_y;
    for (std::size_t t = 0; t < p.types.size(); ++t)
      if (p.types[t].max_count > 0 && v_upper[t] > 0)
        f -= static_cast<double>(p.types[t].max_count) * std::max(0.0, th * v_upper[t] - p.types[t].price);
    best = std::max(best, f);
  }
  return best;
}

}  // namespace

FluidResult fluid_lp(const Problem& p) {
  const std::size_t n = p.classes.size(), nt = p.types.size();
  FluidResult res;
  res.y.assign(n, 0);
  res.mu.assign(nt, 0);
  // Columns: n_t (bins of type t, cost price_t, <= max_count_t), then A_ti (items of class i in
  // type t bins) for the pairs where one item fits. Rows: cover_i: sum_t A_ti >= count_i;
  // cap_td: sum_i s_id A_ti - cap_td n_t <= 0; per pair: A_ti - u_ti n_t <= 0.
  CoinPackedMatrix a(false, 0, 0);  // row-ordered
  const int ncols0 = static_cast<int>(nt);
  std::vector<std::pair<std::size_t, std::size_t>> pairs;
  std::vector<long> u;
  for (std::size_t t = 0; t < nt; ++t)
    for (std::size_t i = 0; i < n; ++i) {
      if (p.classes[i].count <= 0) continue;
      const long k = fit_count(Vec{}, p.types[t].cap, p.classes[i].size, p.classes[i].count);
      if (k <= 0) continue;
      pairs.emplace_back(t, i);
      u.push_back(k);
    }
  const int ncols = ncols0 + static_cast<int>(pairs.size());
  a.setDimensions(0, ncols);
  std::vector<double> collb(static_cast<std::size_t>(ncols), 0), colub(static_cast<std::size_t>(ncols), COIN_DBL_MAX),
      obj(static_cast<std::size_t>(ncols), 0), rowlb, rowub;
  for (std::size_t t = 0; t < nt; ++t) {
    obj[t] = p.types[t].price;
    if (p.types[t].max_count > 0) colub[t] = p.types[t].max_count;
  }
  for (std::size_t i = 0; i < n; ++i) {  // cover rows first: their duals are y
    std::vector<int> idx;
    std::vector<double> val;
    for (std::size_t k = 0; k < pairs.size(); ++k)
      if (pairs[k].second == i) {
        idx.push_back(ncols0 + static_cast<int>(k));
        val.push_back(1.0);
      }
    a.appendRow(static_cast<int>(idx.size()), idx.data(), val.data());
    rowlb.push_back(static_cast<double>(p.classes[i].count));
    rowub.push_back(COIN_DBL_MAX);
  }
  for (std::size_t t = 0; t < nt; ++t)
    for (int d = 0; d < kDims; ++d) {
      std::vector<int> idx{static_cast<int>(t)};
      std::vector<double> val{-slack_cap(p.types[t].cap[d])};
      for (std::size_t k = 0; k < pairs.size(); ++k)
        if (pairs[k].first == t && p.classes[pairs[k].second].size[d] > 0) {
          idx.push_back(ncols0 + static_cast<int>(k));
          val.push_back(p.classes[pairs[k].second].size[d]);
        }
      if (idx.size() == 1) continue;
      a.appendRow(static_cast<int>(idx.size()), idx.data(), val.data());
      rowlb.push_back(-COIN_DBL_MAX);
      rowub.push_back(0);
    }
  for (std::size_t k = 0; k < pairs.size(); ++k) {
    const int idx[2] = {static_cast<int>(pairs[k].first), ncols0 + static_cast<int>(k)};
    const double val[2] = {-static_cast<double>(u[k]), 1.0};
    a.appendRow(2, idx, val);
    rowlb.push_back(-COIN_DBL_MAX);
    rowub.push_back(0);
  }
  ClpSimplex lp;
  lp.setLogLevel(0);
  lp.setPrimalTolerance(1e-9);
  lp.setDualTolerance(1e-9);
  lp.loadProblem(a, collb.data(), colub.data(), obj.data(), rowlb.data(), rowub.data());
  lp.dual();
  if (lp.status() == 1 || lp.isProvenPrimalInfeasible()) {
    res.feasible = false;
    res.value = std::numeric_limits<double>::quiet_NaN();
    return res;
  }
  RIDE_EXPECTS(lp.status() == 0, "fluid LP: CLP status " << lp.status());
  res.value = lp.objectiveValue();
  const double* dual = lp.dualRowSolution();
  for (std::size_t i = 0; i < n; ++i) res.y[i] = std::max(0.0, dual[i]);
  // Limit duals = reduced costs of n_t at its upper bound.
  const double* dj = lp.dualColumnSolution();
  for (std::size_t t = 0; t < nt; ++t) res.mu[t] = p.types[t].max_count > 0 ? std::max(0.0, -dj[t]) : 0.0;
  return res;
}

ColgenResult pattern_lp_colgen(const Problem& p, const std::vector<Bin>& seed, const ColgenOptions& o) {
  const std::size_t n = p.classes.size(), nt = p.types.size();
  ColgenResult res;
  // The fluid relaxation first: infeasible there means infeasible here; its value is a bound to
  // start from and its duals the first stability center.
  const FluidResult fluid = fluid_lp(p);
  res.fluid_bound = fluid.value;
  if (!fluid.feasible) {
    res.feasible = false;
    res.bound = std::numeric_limits<double>::quiet_NaN();
    return res;
  }
  // Rows: one cover row per class (>= count), one limit row per limited type (<= max_count).
  std::vector<int> limit_row(nt, -1);
  int rows = static_cast<int>(n);
  for (std::size_t t = 0; t < nt; ++t)
    if (p.types[t].max_count > 0) limit_row[t] = rows++;
  std::vector<double> rowlb, rowub;
  for (const auto& c : p.classes) {
    rowlb.push_back(static_cast<double>(c.count));
    rowub.push_back(COIN_DBL_MAX);
  }
  for (std::size_t t = 0; t < nt; ++t)
    if (limit_row[t] >= 0) {
      rowlb.push_back(-COIN_DBL_MAX);
      rowub.push_back(p.types[t].max_count);
    }
  // Columns 0..n-1: artificial covers (one unit of class i), used by phase 1 only (upper bound 0
  // otherwise). Then the patterns.
  CoinPackedMatrix art(true, 0, 0);
  art.setDimensions(rows, 0);
  std::vector<double> collb(n, 0), colub(n, 0), obj(n, 1);
  for (std::size_t i = 0; i < n; ++i) {
    const int r = static_cast<int>(i);
    const double one = 1;
    art.appendCol(1, &r, &one);
  }
  ClpSimplex m;
  m.setLogLevel(0);
  m.setPrimalTolerance(1e-9);
  m.setDualTolerance(1e-9);
  m.loadProblem(art, collb.data(), colub.data(), obj.data(), rowlb.data(), rowub.data());

  int phase = 2;
  std::set<std::pair<int, std::vector<long>>> seen;
  auto add = [&](const std::vector<Bin>& cols) {
    std::vector<CoinBigIndex> starts{0};
    std::vector<int> idx;
    std::vector<double> val, lo, hi, cost;
    for (const Bin& b : cols) {
      for (std::size_t i = 0; i < n; ++i)
        if (b.counts[i] > 0) {
          idx.push_back(static_cast<int>(i));
          val.push_back(static_cast<double>(b.counts[i]));
        }
      if (limit_row[static_cast<std::size_t>(b.type)] >= 0) {
        idx.push_back(limit_row[static_cast<std::size_t>(b.type)]);
        val.push_back(1.0);
      }
      starts.push_back(static_cast<CoinBigIndex>(idx.size()));
      lo.push_back(0);
      hi.push_back(COIN_DBL_MAX);
      cost.push_back(phase == 1 ? 0.0 : p.types[static_cast<std::size_t>(b.type)].price);
      res.columns.push_back(b);
    }
    if (!cols.empty())
      m.addColumns(static_cast<int>(cols.size()), lo.data(), hi.data(), cost.data(), starts.data(), idx.data(),
                   val.data());
  };
  // A content made maximal (more items of any class with room and demand left), deduplicated.
  auto admit = [&](Bin b, std::vector<Bin>& out) {
    if (b.type < 0 || static_cast<std::size_t>(b.type) >= nt || b.counts.size() != n) return;
    const Vec& cap = p.types[static_cast<std::size_t>(b.type)].cap;
    Vec load{};
    for (std::size_t i = 0; i < n; ++i) {
      b.counts[i] = std::clamp(b.counts[i], 0L, p.classes[i].count);
      for (int d = 0; d < kDims; ++d) load[d] += static_cast<double>(b.counts[i]) * p.classes[i].size[d];
    }
    if (!fits(load, cap)) return;
    for (std::size_t i = 0; i < n; ++i) {
      const long k = fit_count(load, cap, p.classes[i].size, p.classes[i].count - b.counts[i]);
      b.counts[i] += k;
      for (int d = 0; d < kDims; ++d) load[d] += static_cast<double>(k) * p.classes[i].size[d];
    }
    if (std::all_of(b.counts.begin(), b.counts.end(), [](long c) { return c == 0; })) return;
    if (seen.insert({b.type, b.counts}).second) out.push_back(std::move(b));
  };
  {
    std::vector<Bin> init;
    for (const Bin& b : seed) admit(b, init);
    for (std::size_t t = 0; t < nt; ++t)
      for (std::size_t i = 0; i < n; ++i) {
        const long k = fit_count(Vec{}, p.types[t].cap, p.classes[i].size, p.classes[i].count);
        if (k <= 0) continue;
        Bin b{static_cast<int>(t), std::vector<long>(n, 0)};
        b.counts[i] = k;
        if (seen.insert({b.type, b.counts}).second) init.push_back(std::move(b));
      }
    add(init);
  }
  m.dual();
  if (m.status() == 1 || m.isProvenPrimalInfeasible()) {  // phase 1: minimize the artificials
    phase = 1;
    for (std::size_t j = 0; j < res.columns.size(); ++j) m.setObjectiveCoefficient(static_cast<int>(n + j), 0.0);
    for (std::size_t i = 0; i < n; ++i) m.setColumnUpper(static_cast<int>(i), COIN_DBL_MAX);
    m.primal();
  }
  RIDE_EXPECTS(m.status() == 0, "column generation: CLP status " << m.status() << " on the initial master");

  double ref = 0;  // price scale of the reduced-cost test
  for (const auto& t : p.types) ref = std::max(ref, t.price);
  if (!(ref > 0)) ref = 1;
  auto thr_of = [&](std::size_t t, const std::vector<double>& mu) {
    const double c = phase == 1 ? 0.0 : p.types[t].price;
    return c + mu[t] + o.eps * (phase == 1 ? 1.0 : std::max(c + mu[t], ref));
  };
  // Dual smoothing (Wentges): price at y = alpha y_stab + (1 - alpha) y_master, y_stab = the duals
  // of the best Lagrangian bound so far (first: the fluid LP's); a column enters when it prices
  // out under the master's duals. When the smoothed duals find none (mis-pricing), the next round
  // prices the master's duals themselves, which alone can prove that nothing prices out.
  std::vector<double> y_m(n), mu_m(nt), y(n), mu(nt), y_stab = fluid.y, mu_stab = fluid.mu, v_upper(nt);
  bool at_master = false;
  {
    // The fluid duals' Lagrangian bound, with the pricing's relaxation bounds only (no search):
    // the fluid LP's value made rigorous (independent of CLP's tolerances).
    double b_dot_y = 0;
    for (std::size_t i = 0; i < n; ++i) b_dot_y += static_cast<double>(p.classes[i].count) * y_stab[i];
    for (std::size_t t = 0; t < nt; ++t)
      v_upper[t] = price_pattern(p, static_cast<int>(t), y_stab, -kInf, 0).upper * (1 + 1e-12);
    res.bound = lagrangian_bound(p, b_dot_y, v_upper);
  }
  long budget = o.node_budget;
  for (;;) {
    ++res.iterations;
    const double* dual = m.dualRowSolution();
    for (std::size_t i = 0; i < n; ++i) y_m[i] = std::max(0.0, dual[i]);
    for (std::size_t t = 0; t < nt; ++t) mu_m[t] = limit_row[t] >= 0 ? std::max(0.0, -dual[limit_row[t]]) : 0.0;
    const bool smooth = phase == 2 && !at_master && o.smoothing > 0;
    const double al = smooth ? o.smoothing : 0.0;
    for (std::size_t i = 0; i < n; ++i) y[i] = al * y_stab[i] + (1 - al) * y_m[i];
    for (std::size_t t = 0; t < nt; ++t) mu[t] = al * mu_stab[t] + (1 - al) * mu_m[t];
    // Price every type; when nothing prices out but some searches hit their node limit, price
    // those again with 8x the limit (same duals) while the budget lasts.
    std::vector<Bin> fresh;
    std::vector<char> todo(nt, 1);
    bool priced_out = false, exact = true;
    for (long limit = o.node_limit;; limit *= 8) {
      exact = true;
      for (std::size_t t = 0; t < nt; ++t) {
        if (!todo[t]) continue;
        const double thr = thr_of(t, mu);
        const PricingResult pr = price_pattern(p, static_cast<int>(t), y, thr, std::min(limit, std::max(budget, 1L)),
                                               o.first_improving ? thr : kInf);
        budget -= pr.nodes;
        res.pricing_nodes += pr.nodes;
        // rounding in the sums only: inflate the bound on the maximum by 1e-12 relative
        v_upper[t] = pr.upper * (1 + 1e-12);
        todo[t] = !pr.complete;
        exact = exact && pr.complete;
        const double thr_m = thr_of(t, mu_m);  // enter what prices out under the master's duals
        auto offer = [&](const std::vector<long>& c) {
          double v = 0;
          for (std::size_t i = 0; i < n; ++i) v += y_m[i] * static_cast<double>(c[i]);
          if (v > thr_m) {
            priced_out = true;
            admit(Bin{static_cast<int>(t), c}, fresh);
          }
        };
        if (pr.value > thr) offer(pr.counts);
        for (const auto& c : pr.more) offer(c);
      }
      if (priced_out || exact || budget <= 0 || smooth) break;
    }
    if (phase == 2) {
      double b_dot_y = 0;
      for (std::size_t i = 0; i < n; ++i) b_dot_y += static_cast<double>(p.classes[i].count) * y[i];
      const double lb = lagrangian_bound(p, b_dot_y, v_upper);
      if (lb > res.bound) {
        res.bound = lb;
        y_stab = y;
        mu_stab = mu;
      }
    }
    const double lp = m.objectiveValue();
    const bool closed = phase == 2 && lp - res.bound <= o.gap_tol * std::abs(lp);
    const bool out_of_work = res.iterations >= o.max_iterations || budget <= 0;
    if (!closed && smooth && fresh.empty() && !out_of_work) {
      at_master = true;  // mis-pricing: the same master duals again, unsmoothed
      continue;
    }
    at_master = false;
    const bool done = closed || (!smooth && !priced_out && exact);
    if (done || fresh.empty() || out_of_work) {
      res.converged = done;
      res.pricing_exact = exact && !smooth;
      if (phase == 2) break;
      // end of phase 1
      if (lp > 1e-7) {
        RIDE_EXPECTS(done, "column generation: phase 1 stopped after " << res.iterations
                                                                      << " iterations without a verdict on feasibility");
        res.feasible = false;
        res.bound = std::numeric_limits<double>::quiet_NaN();
        return res;
      }
      phase = 2;
      for (std::size_t j = 0; j < res.columns.size(); ++j)
        m.setObjectiveCoefficient(static_cast<int>(n + j), p.types[static_cast<std::size_t>(res.columns[j].type)].price);
      for (std::size_t i = 0; i < n; ++i) m.setColumnUpper(static_cast<int>(i), 0.0);
      m.primal();
      RIDE_EXPECTS(m.status() == 0, "column generation: CLP status " << m.status() << " after phase 1");
      continue;
    }
    add(fresh);
    m.primal();
    RIDE_EXPECTS(m.status() == 0, "column generation: CLP status " << m.status() << " on the master");
  }
  res.lp_value = m.objectiveValue();
  const double* x = m.primalColumnSolution();
  res.x.assign(x + n, x + n + res.columns.size());
  return res;
}

}  // namespace ride::plan

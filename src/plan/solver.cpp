#include "plan/solver.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <optional>
#include <sstream>

#include <ClpSimplex.hpp>
#include <CbcModel.hpp>
#include <CoinPackedMatrix.hpp>
#include <OsiClpSolverInterface.hpp>

#include "core/error.h"
#include "plan/colgen.h"

namespace ride::plan {
namespace {

constexpr double kRelTol = 1e-9;

double slack_cap(double cap) { return cap * (1 + kRelTol) + 1e-12; }

/// How many more items of size `s` fit on top of `load` in `cap` (capped at `limit`).
long how_many(const Vec& load, const Vec& cap, const Vec& s, long limit) { return fit_count(load, cap, s, limit); }

Vec load_of(const Problem& p, const Bin& b) {
  Vec l{};
  for (std::size_t i = 0; i < p.classes.size(); ++i)
    for (int d = 0; d < kDims; ++d) l[d] += static_cast<double>(b.counts[i]) * p.classes[i].size[d];
  return l;
}

bool limit_ok(const BinType& t, int used) { return t.max_count == 0 || used < t.max_count; }

// ---- greedy first fit with configurable order and opening rule ------------------------------

enum class Order { kDevDesc, kDevAsc, kSizeDesc, kCpuDesc, kMemDesc };
enum class OpenRule { kPerUnit, kPerPlaced };

std::vector<std::size_t> class_order(const Problem& p, Order o) {
  const std::size_t n = p.classes.size();
  Vec mean{};
  for (const auto& t : p.types)
    for (int d = 0; d < kDims; ++d) mean[d] += t.raw[d] / static_cast<double>(p.types.size());
  std::vector<double> dev(n, 0), size(n, 0), cpu(n, 0), mem(n, 0);
  for (std::size_t i = 0; i < n; ++i) {
    double mx = 0, mn = std::numeric_limits<double>::infinity(), sum = 0;
    bool any = false;
    for (int d = 0; d < kDims; ++d) {
      // a dimension no class uses is dropped (GPU when nobody needs one)
      bool used = false;
      for (const auto& c : p.classes) used = used || c.size[d] > 0;
      if (!used || mean[d] <= 0) continue;
      const double s = p.classes[i].size[d] / mean[d];
      mx = std::max(mx, s);
      mn = std::min(mn, s);
      sum += s;
      any = true;
    }
    dev[i] = (any && sum > 0) ? (mx - mn) / sum : 0;
    size[i] = mx;
    cpu[i] = mean[0] > 0 ? p.classes[i].size[0] / mean[0] : 0;
    mem[i] = mean[1] > 0 ? p.classes[i].size[1] / mean[1] : 0;
  }
  std::vector<std::size_t> idx(n);
  std::iota(idx.begin(), idx.end(), 0);
  auto key = [&](std::size_t i) -> std::pair<double, double> {
    switch (o) {
      case Order::kDevDesc: return {-dev[i], -size[i]};
      case Order::kDevAsc: return {dev[i], -size[i]};
      case Order::kSizeDesc: return {-size[i], -dev[i]};
      case Order::kCpuDesc: return {-cpu[i], -mem[i]};
      case Order::kMemDesc: return {-mem[i], -cpu[i]};
    }
    return {0, 0};
  };
  std::stable_sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) { return key(a) < key(b); });
  return idx;
}

/// First fit of `demand` (per class) into new bins; `used` = instances per type already in use
/// elsewhere (for limits). Returns nullopt when limits leave no type for some item.
std::optional<std::vector<Bin>> greedy(const Problem& p, const std::vector<long>& demand,
                                       std::vector<int> used, Order order, OpenRule rule,
                                       const std::vector<char>& allowed) {
  const std::size_t n = p.classes.size();
  std::vector<Bin> bins;
  std::vector<Vec> loads;
  for (std::size_t ci : class_order(p, order)) {
    const ItemClass& c = p.classes[ci];
    long rem = demand[ci];
    for (std::size_t b = 0; b < bins.size() && rem > 0; ++b) {
      const long k = how_many(loads[b], p.types[static_cast<std::size_t>(bins[b].type)].cap, c.size, rem);
      if (k <= 0) continue;
      bins[b].counts[ci] += k;
      for (int d = 0; d < kDims; ++d) loads[b][d] += static_cast<double>(k) * c.size[d];
      rem -= k;
    }
    while (rem > 0) {
      int best = -1;
      double best_score = 0;
      long best_k = 0;
      for (std::size_t t = 0; t < p.types.size(); ++t) {
        const BinType& bt = p.types[t];
        if (!allowed[t] || !limit_ok(bt, used[t])) continue;
        const long k = how_many(Vec{}, bt.cap, c.size, rem);
        if (k <= 0) continue;
        double score = 0;
        if (rule == OpenRule::kPerUnit) {
          double frac = 0;
          for (int d = 0; d < kDims; ++d)
            if (bt.cap[d] > 0) frac = std::max(frac, c.size[d] / bt.cap[d]);
          score = bt.price * frac;
        } else {
          score = bt.price / static_cast<double>(k);
        }
        const bool better = best < 0 || score < best_score - 1e-12 ||
                            (std::abs(score - best_score) <= 1e-12 && bt.price < p.types[static_cast<std::size_t>(best)].price);
        if (better) {
          best = static_cast<int>(t);
          best_score = score;
          best_k = k;
        }
      }
      if (best < 0) return std::nullopt;
      Bin b;
      b.type = best;
      b.counts.assign(n, 0);
      b.counts[ci] = best_k;
      Vec l{};
      for (int d = 0; d < kDims; ++d) l[d] = static_cast<double>(best_k) * c.size[d];
      bins.push_back(std::move(b));
      loads.push_back(l);
      ++used[static_cast<std::size_t>(best)];
      rem -= best_k;
    }
  }
  return bins;
}

std::vector<int> usage(const Problem& p, const std::vector<Bin>& bins) {
  std::vector<int> u(p.types.size(), 0);
  for (const auto& b : bins) ++u[static_cast<std::size_t>(b.type)];
  return u;
}

std::vector<long> demand_of(const Problem& p) {
  std::vector<long> d;
  for (const auto& c : p.classes) d.push_back(c.count);
  return d;
}

/// Removes items placed beyond each class's count (from the last bins first) and empty bins.
void drop_surplus(const Problem& p, std::vector<Bin>& bins) {
  for (std::size_t i = 0; i < p.classes.size(); ++i) {
    long placed = 0;
    for (const auto& b : bins) placed += b.counts[i];
    long surplus = placed - p.classes[i].count;
    for (auto it = bins.rbegin(); it != bins.rend() && surplus > 0; ++it) {
      const long k = std::min(surplus, it->counts[i]);
      it->counts[i] -= k;
      surplus -= k;
    }
  }
  std::erase_if(bins, [](const Bin& b) {
    return std::all_of(b.counts.begin(), b.counts.end(), [](long c) { return c == 0; });
  });
}

// ---- patterns and LP / MIP ------------------------------------------------------------------

using Pattern = Bin;  // a bin content (type, counts per class)

class TooLarge : public ride::Error {
 public:
  using ride::Error::Error;
};

std::vector<Pattern> maximal_patterns(const Problem& p, long max_patterns) {
  const std::size_t n = p.classes.size();
  std::vector<Pattern> out;
  long nodes = 0;
  const long max_nodes = max_patterns * 20 + 100'000;
  // Cheap upper bound on the DFS size (product of the per-class choices but the last): when it
  // is far beyond the budget, give up at once instead of burning the node budget.
  double bound = 0;
  for (const auto& bt : p.types) {
    double prod = 1;
    for (std::size_t i = 0; i + 1 < n; ++i)
      prod *= static_cast<double>(how_many(Vec{}, bt.cap, p.classes[i].size, p.classes[i].count) + 1);
    bound += prod;
  }
  if (bound > 20.0 * static_cast<double>(max_patterns)) throw TooLarge("too many patterns");
  for (std::size_t t = 0; t < p.types.size(); ++t) {
    const BinType& bt = p.types[t];
    std::vector<long> cnt(n, 0);
    Vec load{};
    auto rec = [&](auto&& self, std::size_t i) -> void {
      if (++nodes > max_nodes) throw TooLarge("too many patterns");
      if (i == n) {
        bool any = false;
        for (std::size_t j = 0; j < n; ++j) {
          any = any || cnt[j] > 0;
          if (cnt[j] < p.classes[j].count && how_many(load, bt.cap, p.classes[j].size, 1) > 0) return;
        }
        if (!any) return;
        out.push_back({static_cast<int>(t), cnt});
        if (static_cast<long>(out.size()) > max_patterns) throw TooLarge("too many patterns");
        return;
      }
      const ItemClass& c = p.classes[i];
      const long kmax = how_many(load, bt.cap, c.size, c.count);
      // The last class can only be at its maximum in a maximal pattern.
      const long kmin = i + 1 == n ? kmax : 0;
      for (long k = kmax; k >= kmin; --k) {
        cnt[i] = k;
        for (int d = 0; d < kDims; ++d) load[d] += static_cast<double>(k) * c.size[d];
        self(self, i + 1);
        for (int d = 0; d < kDims; ++d) load[d] -= static_cast<double>(k) * c.size[d];
      }
      cnt[i] = 0;
    };
    rec(rec, 0);
  }
  return out;
}

struct Lp {
  CoinPackedMatrix matrix;
  std::vector<double> collb, colub, obj, rowlb, rowub;
};

Lp build_lp(const Problem& p, const std::vector<Pattern>& pats) {
  const int n = static_cast<int>(p.classes.size());
  std::vector<int> limit_row(p.types.size(), -1);
  int rows = n;
  for (std::size_t t = 0; t < p.types.size(); ++t)
    if (p.types[t].max_count > 0) limit_row[t] = rows++;
  Lp lp;
  lp.matrix = CoinPackedMatrix(true, 0, 0);
  lp.matrix.setDimensions(rows, 0);
  // appendCol grows the storage by a small amount each time: reserve, or 10^5 columns are O(n^2).
  lp.matrix.reserve(static_cast<int>(pats.size()), static_cast<CoinBigIndex>(pats.size() * (static_cast<std::size_t>(n) + 1)));
  for (const auto& pt : pats) {
    std::vector<int> idx;
    std::vector<double> val;
    for (int i = 0; i < n; ++i)
      if (pt.counts[static_cast<std::size_t>(i)] > 0) {
        idx.push_back(i);
        val.push_back(static_cast<double>(pt.counts[static_cast<std::size_t>(i)]));
      }
    if (limit_row[static_cast<std::size_t>(pt.type)] >= 0) {
      idx.push_back(limit_row[static_cast<std::size_t>(pt.type)]);
      val.push_back(1.0);
    }
    lp.matrix.appendCol(static_cast<int>(idx.size()), idx.data(), val.data());
    lp.collb.push_back(0);
    lp.colub.push_back(COIN_DBL_MAX);
    lp.obj.push_back(p.types[static_cast<std::size_t>(pt.type)].price);
  }
  for (int i = 0; i < n; ++i) {
    lp.rowlb.push_back(static_cast<double>(p.classes[static_cast<std::size_t>(i)].count));
    lp.rowub.push_back(COIN_DBL_MAX);
  }
  for (std::size_t t = 0; t < p.types.size(); ++t)
    if (limit_row[t] >= 0) {
      lp.rowlb.push_back(0);
      lp.rowub.push_back(p.types[t].max_count);
    }
  return lp;
}

/// Solves the LP relaxation; returns nullopt when infeasible.
std::optional<std::pair<double, std::vector<double>>> solve_lp(const Lp& lp) {
  ClpSimplex m;
  m.setLogLevel(0);
  m.loadProblem(lp.matrix, lp.collb.data(), lp.colub.data(), lp.obj.data(), lp.rowlb.data(),
                lp.rowub.data());
  m.dual();
  if (m.status() != 0) return std::nullopt;
  const double* x = m.primalColumnSolution();
  return std::make_pair(m.objectiveValue(), std::vector<double>(x, x + m.numberColumns()));
}

std::vector<Bin> bins_from_patterns(const Problem& p, const std::vector<Pattern>& pats,
                                    const std::vector<long>& copies) {
  std::vector<Bin> bins;
  for (std::size_t j = 0; j < pats.size(); ++j)
    for (long c = 0; c < copies[j]; ++c) bins.push_back({pats[j].type, pats[j].counts});
  (void)p;
  return bins;
}

std::string infeasible_msg(const Problem& p) {
  std::ostringstream os;
  os << "no packing satisfies the per-type instance limits (" << p.classes.size()
     << " stream classes; limits:";
  for (const auto& t : p.types)
    os << " " << t.name << "=" << (t.max_count ? std::to_string(t.max_count) : "unlimited");
  os << ")";
  return os.str();
}

std::vector<char> all_allowed(const Problem& p) { return std::vector<char>(p.types.size(), 1); }

/// Best greedy variant (all orders x rules x type subsets, each downgraded) for `demand`.
std::optional<std::vector<Bin>> best_greedy(const Problem& p, const std::vector<long>& demand,
                                            const std::vector<int>& used) {
  const std::size_t nt = p.types.size();
  std::vector<std::vector<char>> subsets{all_allowed(p)};
  for (std::size_t a = 0; a < nt; ++a) {
    std::vector<char> s(nt, 0);
    s[a] = 1;
    subsets.push_back(s);
    for (std::size_t b = a + 1; b < nt; ++b) {
      auto s2 = s;
      s2[b] = 1;
      subsets.push_back(s2);
    }
  }
  std::optional<std::vector<Bin>> best;
  double best_cost = 0;
  for (Order o : {Order::kDevDesc, Order::kDevAsc, Order::kSizeDesc, Order::kCpuDesc, Order::kMemDesc})
    for (OpenRule r : {OpenRule::kPerUnit, OpenRule::kPerPlaced})
      for (const auto& s : subsets) {
        auto bins = greedy(p, demand, used, o, r, s);
        if (!bins) continue;
        // Downgrade within the limits left by `used`. A limit used up would read 0 = unlimited,
        // so such a type is priced out instead (downgrade skips non-finite prices).
        Problem q = p;
        for (std::size_t t = 0; t < nt; ++t) {
          if (q.types[t].max_count == 0) continue;
          if (used[t] >= q.types[t].max_count) q.types[t].price = std::numeric_limits<double>::infinity();
          else q.types[t].max_count -= used[t];
        }
        downgrade(q, *bins);
        const double c = packing_cost(p, *bins);
        if (!best || c < best_cost - 1e-9) {
          best = std::move(bins);
          best_cost = c;
        }
      }
  return best;
}

/// The LP rounding candidates of the hybrid over columns `pats` with LP solution `x`: (a) x rounded
/// down, the residual packed by the best greedy variant; (b) x rounded up (surplus dropped by
/// `consider`) when the limits allow.
template <class Consider>
void round_lp(const Problem& p, const std::vector<Pattern>& pats, const std::vector<double>& x, Consider&& consider) {
  // (a) round down, pack the residual greedily
  std::vector<long> down(pats.size());
  for (std::size_t j = 0; j < pats.size(); ++j) down[j] = static_cast<long>(std::floor(x[j] + 1e-9));
  auto bins = bins_from_patterns(p, pats, down);
  drop_surplus(p, bins);
  std::vector<long> residual = demand_of(p);
  for (const auto& b : bins)
    for (std::size_t i = 0; i < residual.size(); ++i) residual[i] -= b.counts[i];
  if (auto rest = best_greedy(p, residual, usage(p, bins))) {
    bins.insert(bins.end(), rest->begin(), rest->end());
    consider(std::move(bins));
  }
  // (b) round up (surplus dropped) when the limits allow
  std::vector<long> up(pats.size());
  for (std::size_t j = 0; j < pats.size(); ++j) up[j] = static_cast<long>(std::ceil(x[j] - 1e-9));
  auto ub = bins_from_patterns(p, pats, up);
  const auto u = usage(p, ub);
  bool ok = true;
  for (std::size_t t = 0; t < p.types.size(); ++t)
    ok = ok && (p.types[t].max_count == 0 || u[t] <= p.types[t].max_count);
  if (ok) consider(std::move(ub));
}

}  // namespace

bool fits(const Vec& load, const Vec& cap) {
  for (int d = 0; d < kDims; ++d)
    if (load[d] > slack_cap(cap[d])) return false;
  return true;
}

double packing_cost(const Problem& p, const std::vector<Bin>& bins) {
  double c = 0;
  for (const auto& b : bins) c += p.types[static_cast<std::size_t>(b.type)].price;
  return c;
}

void check_packing(const Problem& p, const Packing& s) {
  std::vector<long> placed(p.classes.size(), 0);
  std::vector<int> used(p.types.size(), 0);
  for (std::size_t bi = 0; bi < s.bins.size(); ++bi) {
    const Bin& b = s.bins[bi];
    RIDE_EXPECTS(b.type >= 0 && static_cast<std::size_t>(b.type) < p.types.size(),
                 "bin " << bi << ": bad type index " << b.type);
    RIDE_EXPECTS(b.counts.size() == p.classes.size(), "bin " << bi << ": wrong count vector size");
    const Vec l = load_of(p, b);
    const BinType& t = p.types[static_cast<std::size_t>(b.type)];
    RIDE_EXPECTS(fits(l, t.cap), "bin " << bi << " (" << t.name << ") over capacity: load " << l[0]
                                        << " cores, " << l[1] << " GB, " << l[2] << " GPUs; cap "
                                        << t.cap[0] << ", " << t.cap[1] << ", " << t.cap[2]);
    for (std::size_t i = 0; i < b.counts.size(); ++i) {
      RIDE_EXPECTS(b.counts[i] >= 0, "bin " << bi << ": negative count");
      placed[i] += b.counts[i];
    }
    ++used[static_cast<std::size_t>(b.type)];
  }
  for (std::size_t i = 0; i < p.classes.size(); ++i)
    RIDE_EXPECTS(placed[i] == p.classes[i].count, "class " << p.classes[i].label << ": placed "
                                                           << placed[i] << " of " << p.classes[i].count);
  for (std::size_t t = 0; t < p.types.size(); ++t)
    RIDE_EXPECTS(p.types[t].max_count == 0 || used[t] <= p.types[t].max_count,
                 "type " << p.types[t].name << ": " << used[t] << " instances > limit "
                         << p.types[t].max_count);
}

void validate_problem(const Problem& p) {
  if (p.types.empty()) throw ride::ConfigError("the instance catalog is empty");
  for (const auto& c : p.classes) {
    for (int d = 0; d < kDims; ++d)
      if (!std::isfinite(c.size[d]) || c.size[d] < 0)
        throw ride::ConfigError(c.source + ": stream class " + c.label + " has an invalid size");
    if (c.count < 0) throw ride::ConfigError(c.source + ": negative camera count");
    if (c.count == 0) continue;
    bool ok = false;
    for (const auto& t : p.types) ok = ok || (t.max_count >= 0 && fits(c.size, t.cap));
    if (!ok) {
      std::ostringstream os;
      os << c.source << ": one stream of " << c.label << " needs " << c.size[0] << " cores, "
         << c.size[1] << " GB";
      if (c.size[2] > 0) os << ", " << c.size[2] << " GPUs";
      os << "; no instance type in the catalog holds it at the target utilization";
      throw ride::ConfigError(os.str());
    }
  }
}

void downgrade(const Problem& p, std::vector<Bin>& bins) {
  std::vector<int> used = usage(p, bins);
  for (auto& b : bins) {
    const Vec l = load_of(p, b);
    const std::size_t cur = static_cast<std::size_t>(b.type);
    std::size_t best = cur;
    for (std::size_t t = 0; t < p.types.size(); ++t) {
      if (t == cur || !std::isfinite(p.types[t].price)) continue;
      if (p.types[t].price >= p.types[best].price - 1e-12) continue;
      if (!limit_ok(p.types[t], used[t]) || !fits(l, p.types[t].cap)) continue;
      best = t;
    }
    if (best != cur) {
      --used[cur];
      ++used[best];
      b.type = static_cast<int>(best);
    }
  }
}

Packing solve_ffod(const Problem& p) {
  validate_problem(p);
  auto bins = greedy(p, demand_of(p), std::vector<int>(p.types.size(), 0), Order::kDevDesc,
                     OpenRule::kPerUnit, all_allowed(p));
  if (!bins) throw ride::ConfigError("FFOD: " + infeasible_msg(p));
  Packing s;
  s.bins = std::move(*bins);
  s.cost = packing_cost(p, s.bins);
  s.solver = "ffod";
  return s;
}

/// The pattern LP by column generation, seeded with the best greedy packing's bins (when the
/// greedy variants find one). ConfigError when the limits make it infeasible.
static ColgenResult colgen_lp(const Problem& p, const std::vector<Bin>& seed, const ExactOptions& opts) {
  ColgenOptions co;
  co.node_budget = 100 * opts.colgen_node_budget;
  ColgenResult cg = pattern_lp_colgen(p, seed, co);
  if (!cg.feasible) throw ride::ConfigError(infeasible_msg(p));
  return cg;
}

static std::vector<Bin> greedy_seed(const Problem& p) {
  auto g = best_greedy(p, demand_of(p), std::vector<int>(p.types.size(), 0));
  return g ? std::move(*g) : std::vector<Bin>{};
}

/// The validated problem's maximal patterns for the exact solver; ride::Error when there are more
/// than opts.max_patterns (the message gives the LP bound from column generation).
static std::vector<Pattern> exact_patterns(const Problem& p, const ExactOptions& opts) {
  validate_problem(p);
  try {
    return maximal_patterns(p, opts.max_patterns);
  } catch (const TooLarge&) {
    std::ostringstream bound;
    try {
      bound << "; LP lower bound $" << colgen_lp(p, greedy_seed(p), opts).bound << "/h by column generation";
    } catch (const ride::ConfigError&) {
      throw;  // the limits leave no packing at all
    } catch (const ride::Error&) {
      // no verdict within the budget: the message goes without the bound
    }
    RIDE_FAIL("problem too large for the exact solver (more than " << opts.max_patterns << " maximal patterns"
                                                                   << bound.str() << "); use --solver hybrid");
  }
}

double lp_lower_bound(const Problem& p, const ExactOptions& opts) {
  validate_problem(p);
  if (opts.lp != LpMethod::kColumnGeneration) {
    try {
      const std::vector<Pattern> pats = maximal_patterns(p, opts.max_patterns);
      if (pats.empty()) return 0;
      auto r = solve_lp(build_lp(p, pats));
      if (!r) throw ride::ConfigError(infeasible_msg(p));
      return r->first;
    } catch (const TooLarge&) {
      if (opts.lp == LpMethod::kEnumerate)
        RIDE_FAIL("problem too large for the pattern enumeration (more than " << opts.max_patterns
                                                                               << " maximal patterns)");
    }
  }
  long demand = 0;
  for (const auto& c : p.classes) demand += c.count;
  if (demand == 0) return 0;
  return colgen_lp(p, greedy_seed(p), opts).bound;
}

/// A candidate packing, finished (surplus items dropped, bins moved to the cheapest type that
/// holds them), replaces `best` when it is cheaper or when there is none yet (`have`).
static void offer_candidate(const Problem& p, std::vector<Bin> bins, Packing& best, bool& have) {
  drop_surplus(p, bins);
  downgrade(p, bins);
  const double c = packing_cost(p, bins);
  if (!have || c < best.cost - 1e-9) {
    best.bins = std::move(bins);
    best.cost = c;
    have = true;
  }
}

Packing solve_exact(const Problem& p, const ExactOptions& opts) {
  const std::vector<Pattern> pats = exact_patterns(p, opts);
  if (pats.empty()) {  // nothing to place
    Packing s;
    s.solver = "exact";
    s.proven_optimal = true;
    s.lower_bound = 0;
    return s;
  }
  auto relax = solve_lp(build_lp(p, pats));
  if (!relax) throw ride::ConfigError(infeasible_msg(p));
  // Incumbent from the heuristic: CBC only has to find something cheaper or prove there is none.
  Packing inc;
  bool have_inc = true;
  try {
    inc = solve_hybrid(p, opts);
  } catch (const ride::ConfigError&) {
    have_inc = false;  // the heuristics found nothing under the limits: CBC decides
  }
  inc.solver = "exact";
  inc.lower_bound = relax->first;
  if (have_inc && inc.cost <= relax->first + 1e-9) {
    inc.proven_optimal = true;
    return inc;
  }

  // MIP: x_p (copies of pattern p, integer, cost 0), n_t (instances of type t, integer, cost
  // price_t, upper bound max_count); cover rows sum_p a_ip x_p >= count_i; link rows
  // sum_{p of t} x_p - n_t <= 0. Branching on n_t first (priority) settles the type mix, the
  // expensive part of the gap between the LP and the integer optimum.
  const std::size_t nt = p.types.size(), np = pats.size(), nc = p.classes.size();
  // Prices given in tenths of a cent (all of CAM²'s) make the objective integral after scaling,
  // which lets CBC prune any node whose bound is within one unit of the incumbent.
  bool integral = true;
  for (const auto& t : p.types) integral = integral && std::abs(t.price * 1000 - std::round(t.price * 1000)) < 1e-6;
  CoinPackedMatrix m(true, 0, 0);
  m.setDimensions(static_cast<int>(nc + nt), 0);
  m.reserve(static_cast<int>(np + nt), static_cast<CoinBigIndex>(np * (nc + 1) + nt));
  std::vector<double> collb, colub, obj, rowlb, rowub;
  for (const auto& pt : pats) {
    std::vector<int> idx;
    std::vector<double> val;
    for (std::size_t i = 0; i < nc; ++i)
      if (pt.counts[i] > 0) {
        idx.push_back(static_cast<int>(i));
        val.push_back(static_cast<double>(pt.counts[i]));
      }
    idx.push_back(static_cast<int>(nc) + pt.type);
    val.push_back(1.0);
    m.appendCol(static_cast<int>(idx.size()), idx.data(), val.data());
    collb.push_back(0);
    colub.push_back(COIN_DBL_MAX);
    obj.push_back(0);
  }
  for (std::size_t t = 0; t < nt; ++t) {
    const int idx = static_cast<int>(nc + t);
    const double val = -1.0;
    m.appendCol(1, &idx, &val);
    collb.push_back(0);
    colub.push_back(p.types[t].max_count > 0 ? p.types[t].max_count : COIN_DBL_MAX);
    obj.push_back(integral ? std::round(p.types[t].price * 1000) : p.types[t].price);
  }
  for (std::size_t i = 0; i < nc; ++i) {
    rowlb.push_back(static_cast<double>(p.classes[i].count));
    rowub.push_back(COIN_DBL_MAX);
  }
  for (std::size_t t = 0; t < nt; ++t) {
    rowlb.push_back(-COIN_DBL_MAX);
    rowub.push_back(0);
  }
  OsiClpSolverInterface si;
  si.messageHandler()->setLogLevel(0);
  si.loadProblem(m, collb.data(), colub.data(), obj.data(), rowlb.data(), rowub.data());
  for (int j = 0; j < si.getNumCols(); ++j) si.setInteger(j);
  CbcModel cbc(si);
  cbc.setLogLevel(0);
  cbc.messageHandler()->setLogLevel(0);
  cbc.setMaximumSeconds(opts.time_limit_s);
  std::vector<int> prio(np + nt, 1000);
  for (std::size_t t = 0; t < nt; ++t) prio[np + t] = 1;
  cbc.passInPriorities(prio.data(), false);
  // Strong branching trips an assertion in OsiClpSolverInterface::markHotStart (CBC 2.10.8,
  // Debian 12) on some of these models; pseudo-cost branching alone is enough here.
  cbc.setNumberStrong(0);
  cbc.setNumberBeforeTrust(0);
  if (have_inc) {
    const double inc_scaled = integral ? std::round(inc.cost * 1000) : inc.cost;
    cbc.setCutoff(integral ? inc_scaled - 0.5 : inc_scaled - 1e-7);
  }
  if (integral) cbc.setDblParam(CbcModel::CbcCutoffIncrement, 0.999);
  cbc.setAllowableGap(integral ? 0.5 : 1e-7);
  cbc.setAllowableFractionGap(1e-12);
  cbc.branchAndBound();
  const double* x = cbc.bestSolution();
  const bool finished = !cbc.isSecondsLimitReached() && cbc.status() == 0;
  if (x == nullptr) {
    if (!have_inc) {
      if (finished) throw ride::ConfigError(infeasible_msg(p));
      RIDE_FAIL("exact solver found no solution within " << opts.time_limit_s << " s");
    }
    // nothing cheaper than the incumbent exists when the search finished
    inc.proven_optimal = finished;
    return inc;
  }
  std::vector<long> copies(np);
  for (std::size_t j = 0; j < np; ++j) copies[j] = std::lround(x[j]);
  offer_candidate(p, bins_from_patterns(p, pats, copies), inc, have_inc);
  inc.proven_optimal = finished && cbc.isProvenOptimal();
  return inc;
}

Packing solve_hybrid(const Problem& p, const ExactOptions& opts) {
  validate_problem(p);
  const std::vector<int> none(p.types.size(), 0);
  Packing best;
  bool have = false;
  try {
    best = solve_ffod(p);
    have = true;
  } catch (const ride::ConfigError&) {
    // FFOD ran into the limits; the other candidates may still find a packing
  }
  auto consider = [&](std::vector<Bin> bins) { offer_candidate(p, std::move(bins), best, have); };
  if (auto g = best_greedy(p, demand_of(p), none)) consider(std::move(*g));

  long demand = 0;
  for (const auto& c : p.classes) demand += c.count;
  double lb = std::numeric_limits<double>::quiet_NaN();
  if (opts.lp == LpMethod::kEnumerate) {
    try {
      const std::vector<Pattern> pats = maximal_patterns(p, opts.max_patterns);
      if (!pats.empty())
        if (auto relax = solve_lp(build_lp(p, pats))) {
          lb = relax->first;
          round_lp(p, pats, relax->second, consider);
        }
    } catch (const TooLarge&) {
      // too many patterns: no LP candidates, no bound (the behaviour before column generation)
    }
  }
  if (opts.lp != LpMethod::kEnumerate && demand > 0) {
    ColgenOptions co;
    co.node_budget = opts.colgen_node_budget;
    try {
      const ColgenResult cg = pattern_lp_colgen(p, have ? best.bins : std::vector<Bin>{}, co);
      if (cg.feasible) {
        lb = cg.bound;
        round_lp(p, cg.columns, cg.x, consider);
      }
    } catch (const ride::Error&) {
      // phase 1 ran out of budget before deciding feasibility: no LP candidates, no bound
    }
  }
  if (!have) throw ride::ConfigError("hybrid: " + infeasible_msg(p) + " (no heuristic found a packing)");
  best.lower_bound = lb;
  best.solver = "hybrid";
  best.proven_optimal = std::isfinite(lb) && best.cost <= lb + 1e-7;
  return best;
}

}  // namespace ride::plan

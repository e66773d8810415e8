#pragma once
/// @brief The solver-gap benchmark's random instances (cam2_solver_gap and cam2_colgen draw the
/// same ones from the same seed).
#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "plan/plan.h"
#include "plan/solver.h"

namespace cam2_bench {

namespace rp = ride::plan;

/// Per-stream needs drawn around the ranges CAM² Fig. 5-7 show: light programs (ME/MOD-like,
/// 0.02-0.3 cores, 0.05-0.6 GB), heavy ones (HD-like at 0.2-0.5 fps, 0.3-1.4 cores, 0.3-1.5 GB),
/// tracking (FT-like at 10-15 fps, 0.8-1.9 cores, 0.2-0.8 GB). 1280x720 needs 1.2-1.8x 640x480.
inline rp::Problem random_instance(std::mt19937& rng) {
  std::uniform_real_distribution<double> u(0, 1);
  rp::Problem p;
  p.types = rp::make_problem(rp::builtin_catalog(), {}, 0.7).types;
  for (auto& t : p.types) t.max_count = 0;  // Table 5 runs had no limits
  const int programs = 1 + static_cast<int>(u(rng) * 3);
  const long cameras = 50 + static_cast<long>(u(rng) * 71);
  std::vector<double> share;
  for (int k = 0; k < programs; ++k) share.push_back(0.2 + u(rng));
  double tot = 0;
  for (double s : share) tot += s;
  long left = cameras;
  for (int k = 0; k < programs; ++k) {
    const double kind = u(rng);
    double c = 0, m = 0;
    if (kind < 0.4) {
      c = 0.02 + 0.28 * u(rng);
      m = 0.05 + 0.55 * u(rng);
    } else if (kind < 0.8) {
      c = 0.3 + 1.1 * u(rng);
      m = 0.3 + 1.2 * u(rng);
    } else {
      c = 0.8 + 1.1 * u(rng);
      m = 0.2 + 0.6 * u(rng);
    }
    long n = k + 1 == programs ? left : std::max(1L, std::lround(cameras * share[static_cast<std::size_t>(k)] / tot));
    n = std::min(n, left);
    left -= n;
    const long n_low = n / 2 + (n % 2), n_high = n / 2;
    const double f = 1.2 + 0.6 * u(rng);
    rp::ItemClass lo;
    lo.label = "p" + std::to_string(k) + "@640x480";
    lo.size = {c, m, 0};
    lo.count = n_low;
    lo.source = "generated";
    rp::ItemClass hi = lo;
    hi.label = "p" + std::to_string(k) + "@1280x720";
    hi.size = {std::min(c * f, 2.7), std::min(m * f, 10.0), 0};
    hi.count = n_high;
    if (n_low > 0) p.classes.push_back(lo);
    if (n_high > 0) p.classes.push_back(hi);
  }
  return p;
}

}  // namespace cam2_bench

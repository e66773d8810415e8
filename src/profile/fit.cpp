#include "profile/fit.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace ride::profile {

LinearFit fit_linear(const std::vector<double>& x, const std::vector<double>& y) {
  RIDE_EXPECTS(x.size() == y.size(), "fit_linear: " << x.size() << " x values but " << y.size() << " y values");
  const double n = static_cast<double>(x.size());
  RIDE_EXPECTS(x.size() >= 2 && std::any_of(x.begin(), x.end(), [&](double v) { return v != x[0]; }),
               "a linear fit needs at least two different frame rates");
  double mx = 0, my = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    mx += x[i];
    my += y[i];
  }
  mx /= n;
  my /= n;
  double sxx = 0, sxy = 0, syy = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    sxx += (x[i] - mx) * (x[i] - mx);
    sxy += (x[i] - mx) * (y[i] - my);
    syy += (y[i] - my) * (y[i] - my);
  }
  LinearFit f;
  f.a = sxy / sxx;
  f.b = my - f.a * mx;
  double ss_res = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double e = y[i] - (f.a * x[i] + f.b);
    ss_res += e * e;
  }
  f.r2 = syy > 0 ? 1.0 - ss_res / syy : 1.0;
  return f;
}

}  // namespace ride::profile

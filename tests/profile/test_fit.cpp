// The fit `ride profile` makes: exact on points on a line, least squares otherwise, refuses
// what cannot define a line.
#include <gtest/gtest.h>

#include "core/error.h"
#include "profile/fit.h"

namespace ride::profile {
namespace {

TEST(FitLinear, PointsOnALineGiveItBack) {
  const auto f = fit_linear({1, 2, 5, 10}, {0.05 + 0.01, 0.05 + 0.02, 0.05 + 0.05, 0.05 + 0.1});
  EXPECT_NEAR(f.a, 0.01, 1e-12);
  EXPECT_NEAR(f.b, 0.05, 1e-12);
  EXPECT_NEAR(f.r2, 1.0, 1e-12);
}

TEST(FitLinear, LeastSquaresAgainstTheClosedForm) {
  // y = 2x + 1 with residuals +1, -1, -1, +1 at x = 0..3: the fit is y = 2x + 1 exactly,
  // SS_res = 4, SS_tot = sum (y - 4)^2 = (-2)^2 + (-2)^2 + 2^2 + 2^2... computed below.
  const std::vector<double> x{0, 1, 2, 3}, y{2, 2, 4, 8};
  const auto f = fit_linear(x, y);
  // Closed form: mean x 1.5, mean y 4; Sxy = (-1.5)(-2)+(-0.5)(-2)+(0.5)(0)+(1.5)(4) = 10;
  // Sxx = 5; a = 2; b = 4 - 3 = 1; SS_res = 1 + 1 + 1 + 1 = 4; SS_tot = 4 + 4 + 0 + 16 = 24.
  EXPECT_NEAR(f.a, 2.0, 1e-12);
  EXPECT_NEAR(f.b, 1.0, 1e-12);
  EXPECT_NEAR(f.r2, 1.0 - 4.0 / 24.0, 1e-12);
}

TEST(FitLinear, RefusesFewerThanTwoDistinctRates) {
  EXPECT_THROW(fit_linear({5}, {1}), Error);
  EXPECT_THROW(fit_linear({5, 5, 5}, {1, 2, 3}), Error);
  EXPECT_THROW(fit_linear({1, 2}, {1}), Error);
}

}  // namespace
}  // namespace ride::profile

#pragma once
/// @brief The fits `ride profile` makes (CAM² Sec. 4.2, Fig. 7): CPU = a * fps + b, memory =
/// constant. Pure logic.
#include <vector>

namespace ride::profile {

struct LinearFit {
  double a = 0, b = 0;  ///< y = a * x + b
  double r2 = 1;        ///< coefficient of determination (1 when every point lies on the line)
};

/// Least squares over (x, y) pairs. Throws ride::Error with fewer than two distinct x values.
LinearFit fit_linear(const std::vector<double>& x, const std::vector<double>& y);

}  // namespace ride::profile

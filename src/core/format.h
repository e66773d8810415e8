#pragma once
/// @brief Numbers as people read them in ride's messages (status lines, decisions' reasons).
#include <cstdio>
#include <string>

namespace ride {

/// `v` with `prec` digits after the point ("%.*f").
inline std::string fixed(double v, int prec) {
  char b[64];
  std::snprintf(b, sizeof b, "%.*f", prec, v);
  return b;
}

}  // namespace ride

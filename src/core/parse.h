#pragma once
/// @brief Numbers read from text the way the configuration and the CLIs read them: the whole
/// text must be the number (leading blanks allowed, as strtod allows them; nothing after it),
/// and a value out of range is no number. Callers say what was expected and where.
#include <cerrno>
#include <cstdlib>
#include <optional>
#include <string>

namespace ride {

inline std::optional<double> whole_double(const std::string& text) {
  const char* begin = text.c_str();
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(begin, &end);
  if (end == begin || end != begin + text.size() || errno == ERANGE) return std::nullopt;
  return v;
}

inline std::optional<long long> whole_integer(const std::string& text) {
  const char* begin = text.c_str();
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(begin, &end, 10);
  if (end == begin || end != begin + text.size() || errno == ERANGE) return std::nullopt;
  return v;
}

}  // namespace ride

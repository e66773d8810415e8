#pragma once
/// @brief Exceptions inside, exit codes at the edge: every failure carries file:line.
#include <sstream>
#include <stdexcept>
#include <string>

namespace ride {

/// @brief A failure inside ride; what() already names the source location.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// @brief A user-facing configuration error: names the key and where it came from.
class ConfigError : public Error {
 public:
  using Error::Error;
};

/// @brief The accelerator's context is unusable (a sticky CUDA error such as an illegal address:
/// every later call in the process fails too). Not a per-frame failure: the rank must exit so
/// that recovery moves its partitions to a healthy rank (STYLE.md).
class DeviceLost : public Error {
 public:
  using Error::Error;
};

namespace detail {
[[noreturn]] inline void throw_error(const char* file, int line, const std::string& msg) {
  std::ostringstream os;
  os << msg << " [" << file << ":" << line << "]";
  throw Error(os.str());
}
}  // namespace detail

}  // namespace ride

#define RIDE_EXPECTS(cond, msg)                                                    \
  do {                                                                             \
    if (!(cond)) {                                                                 \
      std::ostringstream ride_expects_os_;                                         \
      ride_expects_os_ << msg; /* NOLINT */                                        \
      ::ride::detail::throw_error(__FILE__, __LINE__, ride_expects_os_.str());     \
    }                                                                              \
  } while (0)

#define RIDE_FAIL(msg) RIDE_EXPECTS(false, msg)

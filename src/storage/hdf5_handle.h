#pragma once
/// @brief Shared by the result sink and the broker spill (target ride_hdf5): RAII for HDF5 ids and the check that turns a negative HDF5
/// return into a ride::Error. Includes hdf5.h, so public headers must not include it.
#include <hdf5.h>

#include <sstream>
#include <string>
#include <utility>

namespace ride::h5 {

/// @brief Owns one HDF5 id and closes it with `Close`. Move-only.
template <herr_t (*Close)(hid_t)>
class Handle {
 public:
  Handle() = default;
  explicit Handle(hid_t id) : id_(id) {}
  ~Handle() { reset(); }
  Handle(Handle&& other) noexcept : id_(std::exchange(other.id_, H5I_INVALID_HID)) {}
  Handle& operator=(Handle&& other) noexcept {
    if (this != &other) {
      reset();
      id_ = std::exchange(other.id_, H5I_INVALID_HID);
    }
    return *this;
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;

  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }
  /// Closes and returns HDF5's status, for callers that must know (the file's close).
  herr_t close() { return id_ >= 0 ? Close(std::exchange(id_, H5I_INVALID_HID)) : 0; }
  /// Closes, ignoring failure: for destructors and unwinding.
  void reset() noexcept { static_cast<void>(close()); }

 private:
  hid_t id_ = H5I_INVALID_HID;
};

using File = Handle<H5Fclose>;
using Dataset = Handle<H5Dclose>;
using Dataspace = Handle<H5Sclose>;
using Datatype = Handle<H5Tclose>;
using Group = Handle<H5Gclose>;
using PropList = Handle<H5Pclose>;
using Attribute = Handle<H5Aclose>;

/// @brief Stops HDF5 from printing its error stack to stderr (our exceptions carry it instead).
/// The setting is per thread in thread-safe builds (Debian's is one), so every entry point calls
/// it.
void silence_error_printing();

/// @brief Throws ride::Error with `msg`, the innermost and outermost entries of HDF5's error
/// stack (which name the cause, e.g. errno), and file:line; clears the stack.
[[noreturn]] void fail(const char* file, int line, const std::string& msg);

}  // namespace ride::h5

/// Evaluates an HDF5 call; if it returns a negative value, throws ride::Error built from the
/// stream-style `msg` (name the operation and the file's path). Yields the call's value.
#define RIDE_H5_CHECK(call, msg)                               \
  ([&]() {                                                     \
    auto ride_h5_result_ = (call);                             \
    if (ride_h5_result_ < 0) {                                 \
      std::ostringstream ride_h5_os_;                          \
      ride_h5_os_ << msg; /* NOLINT */                         \
      ::ride::h5::fail(__FILE__, __LINE__, ride_h5_os_.str()); \
    }                                                          \
    return ride_h5_result_;                                    \
  }())

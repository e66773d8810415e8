#include "storage/hdf5_handle.h"

#include <string>

#include "core/error.h"

namespace ride::h5 {

void silence_error_printing() {
  thread_local bool silenced = false;
  if (!silenced) {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    silenced = true;
  }
}

namespace {

struct StackEnds {
  std::string innermost;  // where HDF5 detected the problem (e.g. "... errno = 2 ...")
  std::string outermost;  // the API call that failed
};

herr_t collect_stack_ends(unsigned n, const H5E_error2_t* err, void* data) {
  auto* ends = static_cast<StackEnds*>(data);
  try {
    std::string entry =
        std::string(err->func_name ? err->func_name : "?") + "(): " + (err->desc ? err->desc : "");
    if (n == 0) ends->innermost = entry;
    ends->outermost = std::move(entry);
  } catch (...) {
    return -1;  // no exception may cross HDF5's C frames
  }
  return 0;
}

}  // namespace

void fail(const char* file, int line, const std::string& msg) {
  StackEnds ends;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, collect_stack_ends, &ends);
  H5Eclear2(H5E_DEFAULT);
  std::string full = msg;
  if (!ends.innermost.empty()) {
    full += " (HDF5: " + ends.outermost;
    if (ends.innermost != ends.outermost) full += " <- " + ends.innermost;
    full += ")";
  }
  ::ride::detail::throw_error(file, line, full);
}

}  // namespace ride::h5

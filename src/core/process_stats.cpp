#include "core/process_stats.h"

#include <sys/resource.h>

#include <fstream>
#include <string>

namespace ride {
namespace {

std::uint64_t status_value(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string key;
  while (in >> key) {
    if (key == field) {
      std::uint64_t v = 0;
      in >> v;
      return v;
    }
    in.ignore(1 << 20, '\n');
  }
  return 0;
}

std::uint64_t status_bytes(const char* field) { return status_value(field) * 1024; }

}  // namespace

std::uint64_t peak_rss_bytes() { return status_bytes("VmHWM:"); }

std::uint64_t current_rss_bytes() { return status_bytes("VmRSS:"); }

int process_threads() { return static_cast<int>(status_value("Threads:")); }

double process_cpu_s() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

}  // namespace ride

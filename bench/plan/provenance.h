#pragma once
// Where a bench/plan result came from, as every one of its JSON files records it: the commit, the
// host and its hardware threads, the program that wrote it, and its arguments.
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <string>

namespace ride::bench {

inline std::string host_name() {
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  return host;
}

inline nlohmann::json provenance(const char* generator, nlohmann::json args = nlohmann::json::object()) {
  nlohmann::json p = {{"commit", RIDE_GIT_COMMIT},
                      {"host", host_name()},
                      {"hardware_threads", sysconf(_SC_NPROCESSORS_ONLN)},
                      {"generator", generator}};
  for (auto& [k, v] : args.items()) p[k] = v;
  return p;
}

}  // namespace ride::bench

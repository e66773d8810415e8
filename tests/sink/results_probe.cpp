// Reads a results file in its own process and prints what it holds, for test_result_store.
// Usage: sink_results_probe FILE [STAGE]  ->  "rows=N errors=E scalars=S last_sequence=Q"
// (STAGE: the table set of that stage; by default the root tables).
#include <cstdio>
#include <exception>
#include <string>

#include "sink/result_store.h"

int main(int argc, char** argv) {
  if (argc != 2 && argc != 3) {
    std::fprintf(stderr, "usage: %s RESULTS.h5 [STAGE]\n", argv[0]);
    return 2;
  }
  try {
    const ride::ResultFile file = ride::read_results(argv[1], argc == 3 ? argv[2] : "");
    const unsigned long long last = file.rows.empty() ? 0ULL : file.rows.back().sequence;
    std::printf("rows=%zu errors=%zu scalars=%zu last_sequence=%llu\n", file.rows.size(),
                file.errors.size(), file.scalar_names.size(), last);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  return 0;
}

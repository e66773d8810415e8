// The sink's write path: rows/s for append + flush (flush fsyncs) at three flush intervals,
// 100,000 rows each, then every 9,973rd row read back. Prints one JSON line per interval; exits 1
// when what was read back is not what was written. Run by ctest as bench.sink_result_store
// (label bench, not in the default suite): timing is measured here, never asserted.
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <string>
#include <system_error>

#include "sink/result_store.h"

namespace {

constexpr std::uint64_t kRows = 100'000;

ride::ResultRecord row(std::uint64_t i) {
  ride::ResultRecord r;
  r.sequence = i / 4;
  r.stream = static_cast<std::uint32_t>(i % 4);
  r.offset = i;
  r.input_checksum = i * 0x9E3779B97F4A7C15ULL;
  r.width = 900;
  r.height = 900;
  for (int k = 0; k < 4; ++k) r.scalars[static_cast<std::size_t>(k)] = static_cast<double>(i + k);
  return r;
}

/// Appends kRows rows, flushing every `flush_every` rows (and at the end); returns rows/s.
double measure(const std::string& path, std::uint64_t flush_every) {
  const auto start = std::chrono::steady_clock::now();
  ride::ResultWriter writer(path, {"mean", "stddev", "min", "max"}, {{"task", "throughput"}});
  for (std::uint64_t i = 0; i < kRows; ++i) {
    writer.append(row(i));
    if ((i + 1) % flush_every == 0) writer.flush();
  }
  writer.close();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return static_cast<double>(kRows) / seconds;
}

/// Empty when the file holds exactly the rows written, else what differs.
std::string check(const std::string& path) {
  const ride::ResultFile file = ride::read_results(path);
  if (file.rows.size() != kRows) return "rows " + std::to_string(file.rows.size());
  for (std::uint64_t i = 0; i < kRows; i += 9973) {
    if (file.rows[i].offset != i || file.rows[i].scalars[3] != static_cast<double>(i + 3))
      return "row " + std::to_string(i);
  }
  return "";
}

}  // namespace

int main() {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() /
                                    ("ride_result_store_bench_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  int status = 0;
  try {
    for (const std::uint64_t flush_every : {kRows, std::uint64_t{10'000}, std::uint64_t{1'000}}) {
      const std::string path = (dir / ("rows_" + std::to_string(flush_every) + ".h5")).string();
      const double rate = measure(path, flush_every);
      const std::string wrong = check(path);
      std::printf("{\"rows\": %llu, \"flush_every\": %llu, \"rows_per_s\": %.0f, \"read_back\": \"%s\"}\n",
                  static_cast<unsigned long long>(kRows), static_cast<unsigned long long>(flush_every), rate,
                  wrong.empty() ? "ok" : wrong.c_str());
      if (!wrong.empty()) status = 1;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "result_store_throughput: %s\n", e.what());
    status = 1;
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
  return status;
}

// Micro-check of the sink's write path: rows/s for append + flush. Prints, never asserts on time
// (CI machines vary); it does verify what it timed.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstdio>

#include "sink/result_store.h"
#include "temp_dir.h"

namespace ride {
namespace {

constexpr std::uint64_t kRows = 100'000;

ResultRecord row(std::uint64_t i) {
  ResultRecord r;
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
  ResultWriter writer(path, {"mean", "stddev", "min", "max"}, {{"task", "throughput"}});
  for (std::uint64_t i = 0; i < kRows; ++i) {
    writer.append(row(i));
    if ((i + 1) % flush_every == 0) writer.flush();
  }
  writer.close();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(writer.rows_written(), kRows);
  return static_cast<double>(kRows) / seconds;
}

TEST(ResultStoreThroughput, AppendFlush100kRows) {
  test::TempDir dir;
  for (const std::uint64_t flush_every : {kRows, std::uint64_t{10'000}, std::uint64_t{1'000}}) {
    const std::string path = dir.file("throughput_" + std::to_string(flush_every) + ".h5");
    const double rate = measure(path, flush_every);
    std::printf("[ result_store ] %llu rows, flush (with fsync) every %llu rows: %.3g rows/s\n",
                static_cast<unsigned long long>(kRows),
                static_cast<unsigned long long>(flush_every), rate);
    RecordProperty("rows_per_s_flush_every_" + std::to_string(flush_every),
                   std::to_string(static_cast<long long>(rate)));
    const ResultFile file = read_results(path);
    ASSERT_EQ(file.rows.size(), kRows);
    for (std::uint64_t i = 0; i < kRows; i += 9973) {
      EXPECT_EQ(file.rows[i].offset, i);
      EXPECT_EQ(file.rows[i].scalars[3], static_cast<double>(i + 3));
    }
  }
}

}  // namespace
}  // namespace ride

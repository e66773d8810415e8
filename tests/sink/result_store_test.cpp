#include "sink/result_store.h"

#include <gtest/gtest.h>
#include <hdf5.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "core/error.h"
#include "temp_dir.h"

namespace ride {
namespace {

using test::TempDir;

/// A row whose every field depends on `i`, so a mix-up of fields or rows shows.
ResultRecord make_row(std::uint64_t i, std::size_t scalar_count) {
  ResultRecord r;
  r.sequence = i;
  r.offset = 1000 + 3 * i;
  r.capture_ns = 1'700'000'000'000'000'000 + static_cast<std::int64_t>(i);
  r.processed_ns = -static_cast<std::int64_t>(i) - 7;
  r.input_checksum = 0x9E3779B97F4A7C15ULL * (i + 1);
  r.stream = static_cast<std::uint32_t>(i % 5);
  r.partition = static_cast<std::uint32_t>(i % 3);
  r.worker_rank = static_cast<std::int32_t>(i % 7) - 1;
  r.epoch = static_cast<std::uint32_t>(i / 100);
  r.width = 640 + static_cast<std::uint32_t>(i % 2);
  r.height = 480;
  r.status = ResultStatus::ok;
  for (std::size_t k = 0; k < scalar_count; ++k) r.scalars[k] = 0.5 * static_cast<double>(i) + k;
  return r;
}

void expect_same_row(const ResultRecord& a, const ResultRecord& b, std::size_t scalar_count) {
  EXPECT_EQ(a.sequence, b.sequence);
  EXPECT_EQ(a.offset, b.offset);
  EXPECT_EQ(a.capture_ns, b.capture_ns);
  EXPECT_EQ(a.processed_ns, b.processed_ns);
  EXPECT_EQ(a.input_checksum, b.input_checksum);
  EXPECT_EQ(a.stream, b.stream);
  EXPECT_EQ(a.partition, b.partition);
  EXPECT_EQ(a.worker_rank, b.worker_rank);
  EXPECT_EQ(a.epoch, b.epoch);
  EXPECT_EQ(a.width, b.width);
  EXPECT_EQ(a.height, b.height);
  EXPECT_EQ(a.status, b.status);
  for (std::size_t k = 0; k < kMaxScalars; ++k) {
    EXPECT_EQ(b.scalars[k], k < scalar_count ? a.scalars[k] : 0.0) << "scalar " << k;
  }
}

/// "s3" style names. (Not `"s" + std::to_string(k)`: GCC 12 warns falsely there, -Wrestrict,
/// GCC bug 105329.)
std::string numbered(const char* prefix, std::size_t k) {
  std::string name = prefix;
  name += std::to_string(k);
  return name;
}

/// Runs `command` and returns its stdout and exit status.
std::pair<std::string, int> run(const std::string& command) {
  std::string output;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return {"", -1};
  std::array<char, 4096> buffer{};
  while (std::fgets(buffer.data(), static_cast<int>(buffer.size()), pipe) != nullptr) {
    output += buffer.data();
  }
  const int status = ::pclose(pipe);
  return {output, WIFEXITED(status) ? WEXITSTATUS(status) : -1};
}

bool have_command(const std::string& name) {
  return std::system(("command -v " + name + " >/dev/null 2>&1").c_str()) == 0;
}

std::string probe(const std::string& path) {
  return run(std::string(RIDE_RESULTS_PROBE) + " '" + path + "'").first;
}

TEST(ResultStore, RoundTripsRowsScalarsAndAttributes) {
  TempDir dir;
  const std::string path = dir.file("run.h5");
  const std::vector<std::string> names = {"mean", "stddev", "keypoints"};
  const std::map<std::string, std::string> attributes = {{"task", "stddev_filter"},
                                                         {"config", "[run]\nframes = 100\n"},
                                                         {"commit", "0123abc-dirty"},
                                                         {"note", "caméra 3 — ünïcode"},
                                                         {"empty", ""}};
  constexpr std::uint64_t kRows = 2500;  // crosses chunk boundaries (1024 rows per chunk)
  {
    ResultWriter writer(path, names, attributes);
    for (std::uint64_t i = 0; i < kRows; ++i) {
      writer.append(make_row(i, names.size()));
      if (i == 999) writer.flush();
    }
    writer.close();
    EXPECT_EQ(writer.rows_written(), kRows);
  }
  const ResultFile file = read_results(path);
  EXPECT_EQ(file.scalar_names, names);
  EXPECT_EQ(file.attributes, attributes);
  EXPECT_TRUE(file.errors.empty());
  ASSERT_EQ(file.rows.size(), kRows);
  for (std::uint64_t i = 0; i < kRows; ++i) {
    SCOPED_TRACE(i);
    expect_same_row(make_row(i, names.size()), file.rows[i], names.size());
  }
}

TEST(ResultStore, EmptyRunKeepsItsSchema) {
  TempDir dir;
  const std::string path = dir.file("empty.h5");
  ResultWriter(path, {"a", "b"}, {}).close();
  const ResultFile file = read_results(path);
  EXPECT_EQ(file.scalar_names, (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(file.rows.empty());
  EXPECT_TRUE(file.errors.empty());
  EXPECT_TRUE(file.attributes.empty());
}

TEST(ResultStore, AllEightScalarsAndNoScalars) {
  TempDir dir;
  std::vector<std::string> eight;
  for (int k = 0; k < kMaxScalars; ++k) eight.push_back(numbered("s", static_cast<std::size_t>(k)));
  for (const auto& names : {eight, std::vector<std::string>{}}) {
    const std::string path = dir.file(numbered("n", names.size()) + ".h5");
    {
      ResultWriter writer(path, names, {});
      for (std::uint64_t i = 0; i < 10; ++i) writer.append(make_row(i, names.size()));
    }  // the destructor flushes and closes
    const ResultFile file = read_results(path);
    EXPECT_EQ(file.scalar_names, names);
    ASSERT_EQ(file.rows.size(), 10U);
    for (std::uint64_t i = 0; i < 10; ++i) {
      expect_same_row(make_row(i, names.size()), file.rows[i], names.size());
    }
  }
}

TEST(ResultStore, RejectsBadScalarNamesAndAttributes) {
  TempDir dir;
  const std::string path = dir.file("bad.h5");
  std::vector<std::string> nine(kMaxScalars + 1);
  for (std::size_t k = 0; k < nine.size(); ++k) nine[k] = numbered("s", k);
  EXPECT_THROW(ResultWriter(path, nine, {}), Error);
  EXPECT_THROW(ResultWriter(path, {"a", "a"}, {}), Error);
  EXPECT_THROW(ResultWriter(path, {""}, {}), Error);
  EXPECT_THROW(ResultWriter(path, {"sequence"}, {}), Error);
  EXPECT_THROW(ResultWriter(path, {}, {{"ride_results_version", "2"}}), Error);
}

TEST(ResultStore, ImagesRoundTrip) {
  TempDir dir;
  const std::string path = dir.file("images.h5");
  std::vector<float> first(3 * 2), second(4 * 5), duplicate(3 * 2, -1.0F);
  for (std::size_t p = 0; p < first.size(); ++p) first[p] = static_cast<float>(p) + 0.25F;
  for (std::size_t p = 0; p < second.size(); ++p) second[p] = -static_cast<float>(p);
  {
    ResultWriter writer(path, {"mean"}, {});
    ResultRecord a = make_row(0, 1);
    a.stream = 2;
    a.sequence = 17;
    a.width = 3;
    a.height = 2;
    writer.append(a, first.data());
    ResultRecord b = a;
    b.stream = 4;
    b.sequence = 0;
    b.width = 4;
    b.height = 5;
    writer.append(b, second.data());
    writer.append(a, duplicate.data());  // a re-delivered result: the first image stays
    ResultRecord zero = a;
    zero.sequence = 18;
    zero.width = 0;
    EXPECT_THROW(writer.append(zero, first.data()), Error);
    writer.append(make_row(5, 1));  // a row without an image
    writer.close();
  }
  std::uint32_t width = 0, height = 0;
  const auto image_a = read_result_image(path, 2, 17, &width, &height);
  ASSERT_TRUE(image_a.has_value());
  EXPECT_EQ(width, 3U);
  EXPECT_EQ(height, 2U);
  EXPECT_EQ(*image_a, first);
  const auto image_b = read_result_image(path, 4, 0, &width, &height);
  ASSERT_TRUE(image_b.has_value());
  EXPECT_EQ(width, 4U);
  EXPECT_EQ(height, 5U);
  EXPECT_EQ(*image_b, second);
  EXPECT_EQ(read_result_image(path, 2, 18), std::nullopt);  // stream known, sequence not
  EXPECT_EQ(read_result_image(path, 9, 0), std::nullopt);   // stream unknown
  EXPECT_EQ(read_results(path).rows.size(), 4U);            // duplicate rows are kept
}

TEST(ResultStore, FlushMakesRowsVisibleToAnotherProcess) {
  TempDir dir;
  const std::string path = dir.file("live.h5");
  ResultWriter writer(path, {"mean", "max"}, {{"task", "live"}});
  // The file is valid from construction on, before any row.
  EXPECT_EQ(probe(path), "rows=0 errors=0 scalars=2 last_sequence=0\n");

  for (std::uint64_t i = 0; i < 10; ++i) writer.append(make_row(i, 2));
  writer.flush();
  EXPECT_EQ(writer.rows_written(), 10U);
  EXPECT_EQ(probe(path), "rows=10 errors=0 scalars=2 last_sequence=9\n");

  // Appending after a flush extends the table.
  for (std::uint64_t i = 10; i < 1500; ++i) writer.append(make_row(i, 2));
  writer.append_error(make_row(1500, 2), "task threw");
  writer.flush();
  EXPECT_EQ(writer.rows_written(), 1501U);
  EXPECT_EQ(probe(path), "rows=1501 errors=1 scalars=2 last_sequence=1500\n");

  writer.flush();  // nothing new: a no-op
  EXPECT_EQ(writer.rows_written(), 1501U);
  writer.close();
  writer.close();  // idempotent
  EXPECT_THROW(writer.append(make_row(0, 2)), Error);

  const ResultFile file = read_results(path);
  ASSERT_EQ(file.rows.size(), 1501U);
  for (std::uint64_t i = 0; i < 1500; ++i) {
    expect_same_row(make_row(i, 2), file.rows[i], 2);
  }
}

TEST(ResultStore, ErrorsTable) {
  TempDir dir;
  const std::string path = dir.file("errors.h5");
  const std::string long_message(1000, 'x');
  {
    ResultWriter writer(path, {"mean"}, {});
    writer.append(make_row(0, 1));
    ResultRecord bad = make_row(1, 1);
    bad.status = ResultStatus::ok;  // append_error marks it failed whatever it says
    writer.append_error(bad, "kernel failed: division by zero in tile (3, 4)");
    writer.flush();
    ResultRecord bad2 = make_row(2, 1);
    writer.append_error(bad2, long_message);
    writer.append_error(make_row(3, 1), "");
    writer.append_error(make_row(4, 1), "décodage échoué ✗");
  }
  const ResultFile file = read_results(path);
  ASSERT_EQ(file.rows.size(), 5U);
  EXPECT_EQ(file.rows[0].status, ResultStatus::ok);
  for (std::size_t i = 1; i < 5; ++i) {
    EXPECT_EQ(file.rows[i].status, ResultStatus::task_error);
    EXPECT_EQ(file.rows[i].sequence, i);
    EXPECT_EQ(file.rows[i].input_checksum, make_row(i, 1).input_checksum);
  }
  using E = std::tuple<std::uint32_t, std::uint64_t, std::string>;
  const std::vector<E> expected = {
      E{make_row(1, 1).stream, 1, "kernel failed: division by zero in tile (3, 4)"},
      E{make_row(2, 1).stream, 2, long_message}, E{make_row(3, 1).stream, 3, ""},
      E{make_row(4, 1).stream, 4, "décodage échoué ✗"}};
  EXPECT_EQ(file.errors, expected);
}

TEST(ResultStore, MoveKeepsTheFileOpen) {
  TempDir dir;
  const std::string path = dir.file("moved.h5");
  const std::string other_path = dir.file("other.h5");
  {
    ResultWriter writer(path, {}, {});
    writer.append(make_row(0, 0));
    ResultWriter moved(std::move(writer));
    moved.append(make_row(1, 0));
    EXPECT_EQ(writer.rows_written(), 0U);  // NOLINT(bugprone-use-after-move): moved-from is empty
    ResultWriter other(other_path, {}, {});
    other.append(make_row(7, 0));
    other = std::move(moved);  // closes other.h5 (with its row), takes over moved.h5
    other.append(make_row(2, 0));
  }
  EXPECT_EQ(read_results(path).rows.size(), 3U);
  EXPECT_EQ(read_results(other_path).rows.size(), 1U);
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no exception)";
}

TEST(ResultStore, MissingFileThrowsNamingThePath) {
  TempDir dir;
  const std::string path = dir.file("does_not_exist.h5");
  const std::string message = error_of([&] { read_results(path); });
  EXPECT_NE(message.find(path), std::string::npos) << message;
  EXPECT_NE(message.find("No such file"), std::string::npos) << message;
  EXPECT_NE(error_of([&] { read_result_image(path, 0, 0); }).find(path), std::string::npos);
}

TEST(ResultStore, CorruptFileThrowsNamingThePath) {
  TempDir dir;
  const std::string path = dir.file("corrupt.h5");
  std::ofstream(path) << "this is not an HDF5 file\n" << std::string(4096, '\x7f');
  const std::string message = error_of([&] { read_results(path); });
  EXPECT_NE(message.find(path), std::string::npos) << message;

  // A truncated results file: the superblock survives, the objects it points at do not.
  const std::string truncated = dir.file("truncated.h5");
  {
    ResultWriter writer(truncated, {"mean"}, {{"task", "t"}});
    for (std::uint64_t i = 0; i < 5000; ++i) writer.append(make_row(i, 1));
  }
  std::filesystem::resize_file(truncated, 2048);
  const std::string truncated_message = error_of([&] { read_results(truncated); });
  EXPECT_NE(truncated_message.find(truncated), std::string::npos) << truncated_message;
}

TEST(ResultStore, HdfFileWithoutFramesIsRejected) {
  TempDir dir;
  const std::string path = dir.file("other.h5");
  const hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  ASSERT_GE(file, 0);
  ASSERT_GE(H5Fclose(file), 0);
  const std::string message = error_of([&] { read_results(path); });
  EXPECT_NE(message.find(path), std::string::npos) << message;
  EXPECT_NE(message.find("/frames"), std::string::npos) << message;
}

TEST(ResultStore, WriterInMissingDirectoryThrowsNamingThePath) {
  TempDir dir;
  const std::string path = dir.file("no/such/dir/run.h5");
  const std::string message = error_of([&] { ResultWriter(path, {}, {}); });
  EXPECT_NE(message.find(path), std::string::npos) << message;
}

TEST(ResultStore, H5dumpReadsTheFile) {
  if (!have_command("h5dump")) GTEST_SKIP() << "h5dump not installed";
  TempDir dir;
  const std::string path = dir.file("dump.h5");
  std::vector<float> image(2 * 2, 1.5F);
  ResultWriter writer(path, {"mean", "keypoints"}, {{"task", "surf"}, {"commit", "abc123"}});
  ResultRecord r = make_row(3, 2);
  r.width = 2;
  r.height = 2;
  writer.append(r, image.data());
  writer.append_error(make_row(4, 2), "bad frame");
  writer.flush();  // still open: h5dump must read it between flushes

  const auto [header, header_rc] = run("h5dump -H '" + path + "' 2>&1");
  EXPECT_EQ(header_rc, 0) << header;
  for (const char* expected :
       {"DATASET \"frames\"", "H5T_COMPOUND", "\"input_checksum\"", "\"keypoints\"",
        "H5S_UNLIMITED", "DATASET \"errors\"", "GROUP \"images\"", "ATTRIBUTE \"commit\""}) {
    EXPECT_NE(header.find(expected), std::string::npos) << expected << " missing in\n" << header;
  }
  writer.close();
  const auto [dump, dump_rc] = run("h5dump '" + path + "' 2>&1");
  EXPECT_EQ(dump_rc, 0) << dump;
  for (const char* expected : {"task_error", "\"bad frame\"", "\"surf\"", "DATASET \"3\""}) {
    EXPECT_NE(dump.find(expected), std::string::npos) << expected << " missing in\n" << dump;
  }
}

TEST(ResultStore, H5pyReadsTheFile) {
  // A pyenv or venv python3 first on PATH may lack Debian's python3-h5py: try both.
  std::string python;
  for (const char* candidate : {"python3", "/usr/bin/python3"}) {
    if (std::system((std::string(candidate) + " -c 'import h5py' >/dev/null 2>&1").c_str()) == 0) {
      python = candidate;
      break;
    }
  }
  if (python.empty()) GTEST_SKIP() << "no python3 with h5py installed";
  TempDir dir;
  const std::string path = dir.file("h5py.h5");
  {
    ResultWriter writer(path, {"mean"}, {{"task", "stddev_filter"}});
    std::vector<float> image(3 * 2, 2.0F);
    ResultRecord r = make_row(1, 1);
    r.stream = 7;
    r.width = 3;
    r.height = 2;
    writer.append(r, image.data());
    writer.append_error(make_row(2, 1), "oops");
  }
  const auto [out, rc] =
      run(python + " " + RIDE_SINK_TEST_DIR + "/read_with_h5py.py '" + path + "' 2>&1");
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(out, "frames=2 mean=0.5 status=0,1 task=stddev_filter error=oops image=(2, 3)\n");
}

}  // namespace
}  // namespace ride

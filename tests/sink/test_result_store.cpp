#include "sink/result_store.h"

#include <gtest/gtest.h>
#include <hdf5.h>
#include <sys/wait.h>

#include <array>
#include <cfloat>
#include <cmath>
#include <cstdint>
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
#include "support/temp_dir.h"

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
  const auto fields = [](const ResultRecord& r) {
    return std::tie(r.sequence, r.offset, r.capture_ns, r.processed_ns, r.input_checksum, r.stream, r.partition,
                    r.worker_rank, r.epoch, r.width, r.height, r.status);
  };
  EXPECT_EQ(fields(a), fields(b));
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

std::string probe(const std::string& path, const std::string& stage = "") {
  return run(std::string(RIDE_RESULTS_PROBE) + " '" + path + "'" +
             (stage.empty() ? "" : " '" + stage + "'"))
      .first;
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

TEST(ResultStore, AllScalarsAndNoScalars) {
  TempDir dir;
  static_assert(kMaxScalars == 24);
  std::vector<std::string> all;
  for (int k = 0; k < kMaxScalars; ++k) all.push_back(numbered("s", static_cast<std::size_t>(k)));
  for (const auto& names : {all, std::vector<std::string>{}}) {
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
  std::vector<std::string> too_many(kMaxScalars + 1);  // 25
  for (std::size_t k = 0; k < too_many.size(); ++k) too_many[k] = numbered("s", k);
  EXPECT_THROW(ResultWriter(path, too_many, {}), Error);
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

/// A python3 that can import h5py; "" if none. A pyenv or venv python3 first on PATH may lack
/// Debian's python3-h5py: try both.
std::string python_with_h5py() {
  for (const char* candidate : {"python3", "/usr/bin/python3"}) {
    if (std::system((std::string(candidate) + " -c 'import h5py' >/dev/null 2>&1").c_str()) == 0) {
      return candidate;
    }
  }
  return "";
}

TEST(ResultStore, H5pyReadsTheFile) {
  const std::string python = python_with_h5py();
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


// ---------------------------------------------------------------------------------------------
// Table sets: stages under /stages/NAME, aggregates

using Specs = std::vector<ResultTableSpec>;

/// Read-only access to a results file through the HDF5 C API, to check the layout itself.
class RawFile {
 public:
  explicit RawFile(const std::string& path)
      : id_(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT)) {}
  ~RawFile() {
    if (id_ >= 0) H5Fclose(id_);
  }
  RawFile(const RawFile&) = delete;
  RawFile& operator=(const RawFile&) = delete;
  bool ok() const { return id_ >= 0; }

  /// Whether the object `name` (a path from the root, no leading '/') exists.
  bool has(const std::string& name) const {
    std::string prefix;
    std::size_t start = 0;
    while (true) {
      const std::size_t slash = name.find('/', start);
      prefix = name.substr(0, slash);
      if (H5Lexists(id_, prefix.c_str(), H5P_DEFAULT) <= 0) return false;
      if (slash == std::string::npos) return true;
      start = slash + 1;
    }
  }

  /// The names of the links in group `group` ("/" for the root), sorted.
  std::vector<std::string> links(const std::string& group) const {
    std::vector<std::string> names;
    auto collect = [](hid_t, const char* name, const H5L_info_t*, void* data) -> herr_t {
      static_cast<std::vector<std::string>*>(data)->emplace_back(name);
      return 0;
    };
    hsize_t index = 0;
    H5Literate_by_name(id_, group.c_str(), H5_INDEX_NAME, H5_ITER_INC, &index, collect, &names,
                        H5P_DEFAULT);
    return names;
  }

  /// The int32 attribute `name` of the root; -1 when absent.
  std::int32_t int_attribute(const char* name) const {
    if (H5Aexists(id_, name) <= 0) return -1;
    const hid_t attr = H5Aopen(id_, name, H5P_DEFAULT);
    std::int32_t value = -1;
    H5Aread(attr, H5T_NATIVE_INT32, &value);
    H5Aclose(attr);
    return value;
  }

  /// An (n, 5) float32 dataset's rows and its `columns` attribute.
  std::pair<std::vector<float>, std::string> objects(const std::string& name) const {
    std::pair<std::vector<float>, std::string> out;
    const hid_t dataset = H5Dopen2(id_, name.c_str(), H5P_DEFAULT);
    if (dataset < 0) return out;
    const hid_t space = H5Dget_space(dataset);
    hsize_t dims[2] = {0, 0};
    if (H5Sget_simple_extent_ndims(space) == 2) H5Sget_simple_extent_dims(space, dims, nullptr);
    H5Sclose(space);
    out.first.resize(dims[0] * dims[1]);
    if (dims[1] != 5) out.first.assign(1, -12345.0F);  // shows as a mismatch
    if (!out.first.empty() && dims[1] == 5) {
      H5Dread(dataset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.first.data());
    }
    if (H5Aexists(dataset, "columns") > 0) {
      const hid_t attr = H5Aopen(dataset, "columns", H5P_DEFAULT);
      const hid_t type = H5Tcopy(H5T_C_S1);
      H5Tset_size(type, H5T_VARIABLE);
      H5Tset_cset(type, H5T_CSET_UTF8);
      char* value = nullptr;
      if (H5Aread(attr, type, &value) >= 0 && value != nullptr) {
        out.second = value;
        H5free_memory(value);
      }
      H5Tclose(type);
      H5Aclose(attr);
    }
    H5Dclose(dataset);
    return out;
  }

 private:
  hid_t id_;
};

/// The scalar names of a stage with `n` scalars: "<prefix>0", ...
std::vector<std::string> numbered_names(const char* prefix, std::size_t n) {
  std::vector<std::string> names;
  for (std::size_t k = 0; k < n; ++k) names.push_back(numbered(prefix, k));
  return names;
}

/// Row `i` of stage `stage`: make_row with scalars moved by 1000 * stage, so stages differ.
ResultRecord stage_row(std::size_t stage, std::uint64_t i, std::size_t scalar_count) {
  ResultRecord r = make_row(i, scalar_count);
  for (std::size_t k = 0; k < scalar_count; ++k) {
    r.scalars[k] += 1000.0 * static_cast<double>(stage);
  }
  return r;
}

/// motion -> objects -> people, each with its own columns; people uses all kMaxScalars.
Specs three_stages() {
  return {{"motion", {"changed_pct"}},
          {"objects", {"changed_pct", "objects", "best_score"}},
          {"people", numbered_names("p", static_cast<std::size_t>(kMaxScalars))}};
}

/// What a stage's frames and errors should read back as.
struct ExpectedStage {
  std::vector<ResultRecord> rows;
  std::vector<std::tuple<std::uint32_t, std::uint64_t, std::string>> errors;
};

/// Writes the three-stage file of the tests below: motion sees 1500 frames (a flush in the
/// middle, crossing chunks) and stores an image for sequence 3; objects sees every third frame,
/// stores another image, boxes and keypoints for 3, "looked, found none" boxes for 6 and fails
/// on 9; people sees 3 and 6 and fails on 12. Returns what each stage should hold.
std::vector<ExpectedStage> write_three_stages(ResultWriter& writer,
                                              const std::vector<float>& motion_image,
                                              const std::vector<float>& objects_image,
                                              const std::vector<float>& boxes,
                                              const std::vector<float>& keypoints) {
  const Specs specs = three_stages();
  std::vector<ExpectedStage> expected(3);
  for (std::uint64_t i = 0; i < 1500; ++i) {
    ResultRecord m = stage_row(0, i, specs[0].scalar_names.size());
    ImageRef image;
    if (i == 3) {
      m.width = 3;
      m.height = 2;
      image = ImageRef{motion_image.data(), 3, 2, 1, false};
    }
    writer.append(m, image, {}, {}, 0);
    expected[0].rows.push_back(m);
    if (i == 700) writer.flush();

    if (i % 3 == 0) {
      ResultRecord o = stage_row(1, i, specs[1].scalar_names.size());
      if (i == 9) {
        writer.append_error(o, "no objects model", 1);
        o.status = ResultStatus::task_error;
        expected[1].errors.emplace_back(o.stream, o.sequence, "no objects model");
      } else if (i == 3) {
        o.width = 2;
        o.height = 2;
        writer.append(o, ImageRef{objects_image.data(), 2, 2, 1, false},
                      ObjectsRef{keypoints.data(), 1}, ObjectsRef{boxes.data(), 2}, 1);
      } else if (i == 6) {
        writer.append(o, ImageRef{}, {}, ObjectsRef{boxes.data(), 0}, 1);
      } else {
        writer.append(o, ImageRef{}, {}, {}, 1);
      }
      expected[1].rows.push_back(o);
    }
    if (i == 3 || i == 6 || i == 12) {
      ResultRecord p = stage_row(2, i, specs[2].scalar_names.size());
      if (i == 12) {
        writer.append_error(p, "people failed ✗", 2);
        p.status = ResultStatus::task_error;
        expected[2].errors.emplace_back(p.stream, p.sequence, "people failed ✗");
      } else {
        writer.append(p, ImageRef{}, {}, {}, 2);
      }
      expected[2].rows.push_back(p);
    }
  }
  return expected;
}

TEST(ResultStore, ThreeStagesKeepTheirOwnTables) {
  TempDir dir;
  const std::string path = dir.file("stages.h5");
  const std::map<std::string, std::string> attributes = {{"task", "motion>objects>people"},
                                                         {"commit", "abc"}};
  const std::vector<float> motion_image = {1, 2, 3, 4, 5, 6};
  const std::vector<float> objects_image = {-1, -2, -3, -4};
  const std::vector<float> boxes = {10, 20, 30, 40, 0.9F, 1, 2, 3, 4, 0.25F};
  const std::vector<float> keypoints = {5, 6, 7, 0.5F, 99};
  const Specs specs = three_stages();
  std::vector<ExpectedStage> expected;
  {
    ResultWriter writer(path, specs, attributes);
    EXPECT_EQ(writer.tables(), 3U);
    expected = write_three_stages(writer, motion_image, objects_image, boxes, keypoints);
    writer.close();
    EXPECT_EQ(writer.rows_written(0), 1500U);
    EXPECT_EQ(writer.rows_written(1), 500U);
    EXPECT_EQ(writer.rows_written(2), 3U);
    EXPECT_EQ(writer.rows_written(), 1500U);  // table 0 by default
  }

  EXPECT_EQ(result_stages(path), (std::vector<std::string>{"motion", "objects", "people"}));
  auto with_stages = attributes;
  with_stages["stages"] = "motion,objects,people";
  for (std::size_t t = 0; t < specs.size(); ++t) {
    SCOPED_TRACE(specs[t].stage);
    const ResultFile file = read_results(path, specs[t].stage);
    EXPECT_EQ(file.scalar_names, specs[t].scalar_names);
    EXPECT_EQ(file.attributes, with_stages);
    EXPECT_EQ(file.errors, expected[t].errors);
    ASSERT_EQ(file.rows.size(), expected[t].rows.size());
    for (std::size_t i = 0; i < file.rows.size(); ++i) {
      SCOPED_TRACE(i);
      expect_same_row(expected[t].rows[i], file.rows[i], specs[t].scalar_names.size());
    }
  }

  // Images: one per stage and key, each in its own stage.
  const std::uint32_t stream3 = make_row(3, 0).stream;
  std::uint32_t width = 0, height = 0;
  EXPECT_EQ(read_result_image(path, stream3, 3, &width, &height, "motion"), motion_image);
  EXPECT_EQ(width, 3U);
  EXPECT_EQ(height, 2U);
  EXPECT_EQ(read_result_image(path, stream3, 3, &width, &height, "objects"), objects_image);
  EXPECT_EQ(width, 2U);
  EXPECT_EQ(height, 2U);
  EXPECT_EQ(read_result_image(path, stream3, 3, nullptr, nullptr, "people"), std::nullopt);
  EXPECT_EQ(read_result_image(path, stream3, 3), std::nullopt);  // nothing at the root
  EXPECT_THROW(read_result_image(path, stream3, 3, nullptr, nullptr, "nope"), Error);

  // The layout itself.
  const RawFile raw(path);
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(raw.int_attribute("ride_results_version"), 2);
  EXPECT_EQ(raw.links("/"), (std::vector<std::string>{"stages"}));
  EXPECT_EQ(raw.links("/stages"), (std::vector<std::string>{"motion", "objects", "people"}));
  EXPECT_EQ(raw.links("/stages/motion"), (std::vector<std::string>{"errors", "frames", "images"}));
  EXPECT_EQ(raw.links("/stages/objects"),
            (std::vector<std::string>{"boxes", "errors", "frames", "images", "keypoints"}));
  EXPECT_EQ(raw.links("/stages/people"), (std::vector<std::string>{"errors", "frames", "images"}));
  const std::string s3 = std::to_string(stream3);
  const std::string s6 = std::to_string(make_row(6, 0).stream);
  EXPECT_EQ(raw.objects("stages/objects/boxes/" + s3 + "/3"),
            std::make_pair(boxes, std::string("x,y,width,height,score")));
  EXPECT_EQ(raw.objects("stages/objects/boxes/" + s6 + "/6"),
            std::make_pair(std::vector<float>{}, std::string("x,y,width,height,score")));
  EXPECT_EQ(raw.objects("stages/objects/keypoints/" + s3 + "/3"),
            std::make_pair(keypoints, std::string("x,y,size,angle,response")));
  EXPECT_TRUE(raw.has("stages/motion/images/" + s3 + "/3"));
  EXPECT_FALSE(raw.has("stages/people/images/" + s3));
}

TEST(ResultStore, StagedFileRefusesRootAndUnknownStageReads) {
  TempDir dir;
  const std::string path = dir.file("stages.h5");
  ResultWriter(path, Specs{{"a", {"x"}}, {"b", {}}}, {}).close();
  const std::string root = error_of([&] { read_results(path); });
  EXPECT_NE(root.find(path), std::string::npos) << root;
  EXPECT_NE(root.find("a, b"), std::string::npos) << root;  // names the stages to read instead
  const std::string unknown = error_of([&] { read_results(path, "c"); });
  EXPECT_NE(unknown.find("no stage 'c'"), std::string::npos) << unknown;
  EXPECT_THROW(read_results(path, "a/../b"), Error);
  EXPECT_THROW(read_aggregates(path, "c"), Error);
  EXPECT_EQ(read_results(path, "b").rows.size(), 0U);
  EXPECT_EQ(read_results(path, "a").scalar_names, (std::vector<std::string>{"x"}));
}

TEST(ResultStore, RootOnlyLayoutIsUnchanged) {
  TempDir dir;
  std::vector<float> image(2 * 2, 0.5F);
  const std::vector<float> box = {1, 2, 3, 4, 0.5F};
  auto fill = [&](ResultWriter& writer) {
    ResultRecord r = make_row(3, 1);
    r.width = 2;
    r.height = 2;
    writer.append(r, ImageRef{image.data(), 2, 2, 1, false}, {}, ObjectsRef{box.data(), 1});
    writer.append_error(make_row(4, 1), "bad");
  };
  const std::string old_api = dir.file("old.h5");
  const std::string new_api = dir.file("new.h5");
  {
    ResultWriter a(old_api, {"mean"}, {{"task", "t"}});
    fill(a);
    ResultWriter b(new_api, Specs{{"", {"mean"}}}, {{"task", "t"}});
    EXPECT_EQ(b.tables(), 1U);
    fill(b);
  }
  for (const std::string& path : {old_api, new_api}) {
    SCOPED_TRACE(path);
    const RawFile raw(path);
    ASSERT_TRUE(raw.ok());
    EXPECT_EQ(raw.links("/"), (std::vector<std::string>{"boxes", "errors", "frames", "images"}));
    EXPECT_EQ(raw.int_attribute("ride_results_version"), 1);
    EXPECT_TRUE(result_stages(path).empty());
    const ResultFile file = read_results(path);
    EXPECT_EQ(file.attributes, (std::map<std::string, std::string>{{"task", "t"}}));  // no stages
    EXPECT_EQ(file.scalar_names, (std::vector<std::string>{"mean"}));
    EXPECT_EQ(file.rows.size(), 2U);
    EXPECT_EQ(file.errors.size(), 1U);
    EXPECT_EQ(raw.objects("boxes/" + std::to_string(make_row(3, 1).stream) + "/3").first, box);
    EXPECT_TRUE(read_aggregates(path).empty());
  }
}

void expect_same_aggregates(const std::vector<AggregateRow>& a,
                            const std::vector<AggregateRow>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(a[i].stream, b[i].stream);
    EXPECT_EQ(a[i].scalar, b[i].scalar);
    EXPECT_EQ(a[i].count, b[i].count);
    EXPECT_EQ(a[i].sum, b[i].sum);
    EXPECT_EQ(a[i].min, b[i].min);
    EXPECT_EQ(a[i].max, b[i].max);
    EXPECT_FALSE(std::isnan(b[i].min) || std::isnan(b[i].max) || std::isnan(b[i].sum));
  }
}

TEST(ResultStore, AggregatesRoundTrip) {
  TempDir dir;
  const std::vector<AggregateRow> rows = {
      {0, "mean", 10, 55.5, -1.25, 12.0},
      {0, "max", 10, 1e300, -1e-300, DBL_MAX},
      {1, "mean", 0, 0, 0, 0},  // a stream without rows: count 0, no NaN
      {4294967295U, "écart ✓", UINT64_MAX, -0.0, -DBL_MAX, DBL_MIN},
  };
  const std::string source = "sink: ok rows as stored, after de-duplication";

  // Root tables: /aggregates beside /frames.
  const std::string root_path = dir.file("root.h5");
  {
    ResultWriter writer(root_path, {"mean", "max"}, {});
    writer.append(make_row(0, 2));
    writer.write_aggregates(0, rows, source);
    EXPECT_THROW(writer.write_aggregates(0, rows, source), Error);  // once per table set
    EXPECT_THROW(writer.write_aggregates(1, rows, source), Error);  // no such table set
    writer.close();
    EXPECT_THROW(writer.write_aggregates(0, rows, source), Error);  // closed
  }
  std::string read_source = "unset";
  expect_same_aggregates(rows, read_aggregates(root_path, "", &read_source));
  EXPECT_EQ(read_source, source);
  EXPECT_EQ(read_results(root_path).rows.size(), 1U);
  EXPECT_TRUE(RawFile(root_path).has("aggregates"));

  // Stages: each its own; absent reads as empty, written-empty keeps its source.
  const std::string staged = dir.file("staged.h5");
  {
    ResultWriter writer(staged, three_stages(), {});
    writer.append(stage_row(1, 0, 3), ImageRef{}, {}, {}, 1);
    writer.write_aggregates(1, rows, source);
    writer.write_aggregates(2, {}, "none: people stage had no rows");
  }
  read_source = "unset";
  EXPECT_TRUE(read_aggregates(staged, "motion", &read_source).empty());
  EXPECT_EQ(read_source, "");
  expect_same_aggregates(rows, read_aggregates(staged, "objects", &read_source));
  EXPECT_EQ(read_source, source);
  EXPECT_TRUE(read_aggregates(staged, "people", &read_source).empty());
  EXPECT_EQ(read_source, "none: people stage had no rows");
  const RawFile raw(staged);
  EXPECT_TRUE(raw.has("stages/objects/aggregates"));
  EXPECT_TRUE(raw.has("stages/people/aggregates"));
  EXPECT_FALSE(raw.has("stages/motion/aggregates"));
  EXPECT_FALSE(raw.has("aggregates"));
}

TEST(ResultStore, RejectsBadStages) {
  TempDir dir;
  const std::string path = dir.file("bad_stages.h5");
  EXPECT_THROW(ResultWriter(path, Specs{}, {}), Error);
  EXPECT_THROW(ResultWriter(path, Specs{{"", {}}, {"a", {}}}, {}), Error);  // "" only alone
  EXPECT_THROW(ResultWriter(path, Specs{{"a", {}}, {"", {}}}, {}), Error);
  for (const char* bad : {"a/b", "a b", ".", "a-b", "é", "a,b", "stages/a"}) {
    SCOPED_TRACE(bad);
    EXPECT_THROW(ResultWriter(path, Specs{{bad, {}}}, {}), Error);
  }
  EXPECT_THROW(ResultWriter(path, Specs{{"a", {}}, {"b", {}}, {"a", {}}}, {}), Error);
  // Scalar names are checked per table set, and the message names the stage.
  const std::string repeated =
      error_of([&] { ResultWriter(path, Specs{{"a", {"x"}}, {"objects", {"y", "y"}}}, {}); });
  EXPECT_NE(repeated.find("stage 'objects'"), std::string::npos) << repeated;
  EXPECT_THROW(ResultWriter(path, Specs{{"a", {"status"}}}, {}), Error);
  EXPECT_THROW(ResultWriter(path, Specs{{"a", numbered_names("s", kMaxScalars + 1)}}, {}), Error);
  // `stages` is reserved, with stages or without.
  EXPECT_THROW(ResultWriter(path, Specs{{"a", {}}}, {{"stages", "x"}}), Error);
  EXPECT_THROW(ResultWriter(path, {"mean"}, {{"stages", "x"}}), Error);

  // Good names; the same scalar name in two stages is fine. Table indexes are checked.
  ResultWriter writer(path, Specs{{"A_1", {"x"}}, {"b2", {"x"}}}, {});
  EXPECT_THROW(writer.append(make_row(0, 1), ImageRef{}, {}, {}, 2), Error);
  EXPECT_THROW(writer.append_error(make_row(0, 1), "e", 2), Error);
  EXPECT_THROW(static_cast<void>(writer.rows_written(2)), Error);
  writer.close();
  EXPECT_EQ(result_stages(path), (std::vector<std::string>{"A_1", "b2"}));
}

TEST(ResultStore, StagedFlushMakesRowsVisibleToAnotherProcess) {
  TempDir dir;
  const std::string path = dir.file("live_stages.h5");
  ResultWriter writer(path, Specs{{"a", {"x"}}, {"b", {"y", "z"}}}, {});
  EXPECT_EQ(probe(path, "a"), "rows=0 errors=0 scalars=1 last_sequence=0\n");
  EXPECT_EQ(probe(path, "b"), "rows=0 errors=0 scalars=2 last_sequence=0\n");
  for (std::uint64_t i = 0; i < 5; ++i) writer.append(make_row(i, 2), ImageRef{}, {}, {}, 1);
  writer.append_error(make_row(9, 1), "a failed", 0);
  writer.flush();
  EXPECT_EQ(probe(path, "a"), "rows=1 errors=1 scalars=1 last_sequence=9\n");
  EXPECT_EQ(probe(path, "b"), "rows=5 errors=0 scalars=2 last_sequence=4\n");
  EXPECT_EQ(writer.rows_written(0), 1U);
  EXPECT_EQ(writer.rows_written(1), 5U);
}

TEST(ResultStore, H5pyReadsTheStagedFile) {
  const std::string python = python_with_h5py();
  if (python.empty()) GTEST_SKIP() << "no python3 with h5py installed";
  TempDir dir;
  const std::string path = dir.file("h5py_stages.h5");
  const std::vector<float> motion_image = {1, 2, 3, 4, 5, 6};
  const std::vector<float> objects_image = {-1, -2, -3, -4};
  const std::vector<float> boxes = {10, 20, 30, 40, 0.9F, 1, 2, 3, 4, 0.25F};
  const std::vector<float> keypoints = {5, 6, 7, 0.5F, 99};
  {
    ResultWriter writer(path, three_stages(), {{"task", "pipeline"}});
    write_three_stages(writer, motion_image, objects_image, boxes, keypoints);
    writer.write_aggregates(1, {{3, "objects", 2, 5.0, 1.0, 4.0}}, "test");
  }
  const auto [out, rc] =
      run(python + " " + RIDE_SINK_TEST_DIR + "/read_stages_with_h5py.py '" + path + "' 2>&1");
  EXPECT_EQ(rc, 0) << out;
  // people's first row is sequence 3: scalar k is 0.5 * 3 + k + 2000.
  std::string people_scalars, people_first;
  for (std::size_t k = 0; k < static_cast<std::size_t>(kMaxScalars); ++k) {
    if (k > 0) {
      people_scalars += ",";
      people_first += ",";
    }
    people_scalars += numbered("p", k);
    people_first += numbered("", 2001 + k);
    people_first += ".5";
  }
  const std::string expected =
      "version=2 stages=motion,objects,people root=stages task=pipeline\n"
      "motion: tables=errors,frames,images frames=1500 scalars=changed_pct first=0.0 errors= "
      "images=3/3(2, 3)\n"
      "objects: tables=aggregates,boxes,errors,frames,images,keypoints frames=500 "
      "scalars=changed_pct,objects,best_score first=1000.0,1001.0,1002.0 errors=no objects model "
      "images=3/3(2, 2) boxes=1/6(0, 5);3/3(2, 5) keypoints=3/3(1, 5) "
      "box_columns=x,y,width,height,score aggregates=3/objects/2/5.0/1.0/4.0 source=test\n"
      "people: tables=errors,frames,images frames=3 scalars=" +
      people_scalars + " first=" + people_first + " errors=people failed ✗ images=\n";
  EXPECT_EQ(out, expected);
}

}  // namespace
}  // namespace ride

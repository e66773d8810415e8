/// RAII for HDF5 ids and the error check (storage/hdf5_handle.h), on real files: a handle closes
/// its id exactly once, a move leaves the source empty, close() reports HDF5's status, and a
/// failing call becomes a ride::Error that names the operation, HDF5's cause and file:line,
/// prints nothing and leaves HDF5's error stack clear.
#include "storage/hdf5_handle.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>
#include <type_traits>
#include <thread>
#include <utility>
#include <vector>

#include "core/error.h"
#include "support/temp_dir.h"

namespace ride::h5 {
namespace {

using test::TempDir;

class Hdf5Handle : public ::testing::Test {
 protected:
  void SetUp() override { silence_error_printing(); }
  File create(const std::string& name) {
    return File(H5Fcreate(dir_.file(name).c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
  }
  TempDir dir_;
};

/// Is `id` an open HDF5 id? (H5Iis_valid itself is quiet about closed ids.)
bool open_id(hid_t id) { return H5Iis_valid(id) > 0; }

int closes = 0;
herr_t counting_close(hid_t id) {
  ++closes;
  return H5Fclose(id);
}
using CountedFile = Handle<counting_close>;

TEST_F(Hdf5Handle, ADefaultHandleHoldsNothingAndClosesNothing) {
  closes = 0;
  {
    CountedFile h;
    EXPECT_FALSE(h.valid());
    EXPECT_EQ(h.get(), H5I_INVALID_HID);
    EXPECT_EQ(h.close(), 0);  // nothing to close: success, and Close is not called
  }
  {
    CountedFile failed_open(H5I_INVALID_HID);  // what a failed H5Fopen returns, wrapped
    EXPECT_FALSE(failed_open.valid());
  }
  EXPECT_EQ(closes, 0);
}

TEST_F(Hdf5Handle, TheDestructorClosesTheIdExactlyOnce) {
  closes = 0;
  hid_t id = H5I_INVALID_HID;
  {
    CountedFile h(H5Fcreate(dir_.file("a.h5").c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
    ASSERT_TRUE(h.valid());
    id = h.get();
    // A second reference of our own: one close leaves the id open with one reference, two
    // closes would leave none, no close two.
    ASSERT_EQ(H5Iinc_ref(id), 2);
  }
  EXPECT_EQ(closes, 1);
  EXPECT_EQ(H5Iget_ref(id), 1);
  EXPECT_EQ(H5Fclose(id), 0);
  EXPECT_FALSE(open_id(id));
}

TEST_F(Hdf5Handle, CloseReportsSuccessEmptiesTheHandleAndIsNotRepeated) {
  closes = 0;
  {
    CountedFile h(H5Fcreate(dir_.file("a.h5").c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
    const hid_t id = h.get();
    ASSERT_TRUE(open_id(id));
    EXPECT_GE(h.close(), 0);
    EXPECT_FALSE(h.valid());
    EXPECT_FALSE(open_id(id));
    EXPECT_EQ(h.close(), 0);  // a second close does nothing
    h.reset();
  }
  EXPECT_EQ(closes, 1);  // and neither did reset() nor the destructor
}

TEST_F(Hdf5Handle, CloseReportsHdf5sFailure) {
  File h = create("a.h5");
  const hid_t id = h.get();
  ASSERT_GE(H5Fclose(id), 0);  // closed behind the handle's back
  EXPECT_LT(h.close(), 0);     // HDF5 refuses the stale id, and the caller hears of it
  EXPECT_FALSE(h.valid());
  H5Eclear2(H5E_DEFAULT);
}

TEST_F(Hdf5Handle, ResetIgnoresFailureWithoutThrowing) {
  static_assert(noexcept(std::declval<File&>().reset()));
  File h = create("a.h5");
  ASSERT_GE(H5Fclose(h.get()), 0);
  EXPECT_NO_THROW(h.reset());
  EXPECT_FALSE(h.valid());
  H5Eclear2(H5E_DEFAULT);
}

TEST_F(Hdf5Handle, MoveConstructionLeavesTheSourceEmpty) {
  static_assert(!std::is_copy_constructible_v<File> && !std::is_copy_assignable_v<File>);
  static_assert(std::is_nothrow_move_constructible_v<File> && std::is_nothrow_move_assignable_v<File>);
  closes = 0;
  hid_t id = H5I_INVALID_HID;
  {
    CountedFile a(H5Fcreate(dir_.file("a.h5").c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
    id = a.get();
    CountedFile b(std::move(a));
    EXPECT_FALSE(a.valid());              // NOLINT(bugprone-use-after-move): the contract under test
    EXPECT_EQ(a.get(), H5I_INVALID_HID);  // NOLINT(bugprone-use-after-move)
    EXPECT_EQ(b.get(), id);
    EXPECT_TRUE(open_id(id));
  }
  EXPECT_EQ(closes, 1);  // only the handle that held it closed it
  EXPECT_FALSE(open_id(id));
}

TEST_F(Hdf5Handle, MoveAssignmentClosesWhatTheTargetHeldAndTakesTheSource) {
  closes = 0;
  {
    CountedFile a(H5Fcreate(dir_.file("a.h5").c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
    CountedFile b(H5Fcreate(dir_.file("b.h5").c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
    const hid_t ida = a.get(), idb = b.get();
    b = std::move(a);
    EXPECT_EQ(closes, 1);
    EXPECT_FALSE(open_id(idb));
    EXPECT_TRUE(open_id(ida));
    EXPECT_EQ(b.get(), ida);
    EXPECT_FALSE(a.valid());  // NOLINT(bugprone-use-after-move)
    // Moving an empty handle in closes the target's id and leaves both empty.
    b = std::move(a);  // NOLINT(bugprone-use-after-move)
    EXPECT_EQ(closes, 2);
    EXPECT_FALSE(open_id(ida));
    EXPECT_FALSE(b.valid());
  }
  EXPECT_EQ(closes, 2);
}

/// Through references, so the compiler sees no self-move (the case is a real one: a container
/// shuffling its elements).
void move_assign(CountedFile& to, CountedFile& from) { to = std::move(from); }

TEST_F(Hdf5Handle, SelfMoveAssignmentKeepsTheId) {
  closes = 0;
  CountedFile a(H5Fcreate(dir_.file("a.h5").c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
  const hid_t id = a.get();
  move_assign(a, a);
  EXPECT_EQ(a.get(), id);
  EXPECT_TRUE(open_id(id));
  EXPECT_EQ(closes, 0);
}

TEST_F(Hdf5Handle, HandlesInAVectorSurviveReallocation) {
  closes = 0;
  std::vector<hid_t> ids;
  {
    std::vector<CountedFile> files;
    for (int i = 0; i < 9; ++i) {  // growth moves the handles several times
      std::string name = "f";      // (not "f" + std::to_string(i): GCC 12 warns falsely there, -Wrestrict)
      name += std::to_string(i);
      const std::string path = dir_.file(name);
      files.emplace_back(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
      ids.push_back(files.back().get());
    }
    for (hid_t id : ids) EXPECT_TRUE(open_id(id));
    EXPECT_EQ(closes, 0);
  }
  EXPECT_EQ(closes, 9);
  for (hid_t id : ids) EXPECT_FALSE(open_id(id));
}

TEST_F(Hdf5Handle, EveryAliasClosesItsKindOfIdAndTheDataReachesTheFile) {
  const std::string path = dir_.file("data.h5");
  std::vector<hid_t> ids;
  {
    File file(RIDE_H5_CHECK(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), "create " << path));
    Group group(RIDE_H5_CHECK(H5Gcreate2(file.get(), "/g", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "group"));
    const hsize_t dims[1] = {4};
    Dataspace space(RIDE_H5_CHECK(H5Screate_simple(1, dims, nullptr), "space"));
    Datatype type(RIDE_H5_CHECK(H5Tcopy(H5T_NATIVE_INT32), "type"));
    PropList props(RIDE_H5_CHECK(H5Pcreate(H5P_DATASET_CREATE), "props"));
    Dataset data(RIDE_H5_CHECK(
        H5Dcreate2(group.get(), "d", type.get(), space.get(), H5P_DEFAULT, props.get(), H5P_DEFAULT), "dataset"));
    const std::int32_t values[4] = {3, 1, 4, 1};
    RIDE_H5_CHECK(H5Dwrite(data.get(), H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, values), "write");
    Dataspace scalar(RIDE_H5_CHECK(H5Screate(H5S_SCALAR), "scalar space"));
    Attribute attr(RIDE_H5_CHECK(
        H5Acreate2(data.get(), "frames", H5T_NATIVE_INT32, scalar.get(), H5P_DEFAULT, H5P_DEFAULT), "attribute"));
    const std::int32_t frames = 4;
    RIDE_H5_CHECK(H5Awrite(attr.get(), H5T_NATIVE_INT32, &frames), "write attribute");
    ids = {file.get(), group.get(), space.get(), type.get(), props.get(), data.get(), scalar.get(), attr.get()};
    for (hid_t id : ids) EXPECT_TRUE(open_id(id));
    EXPECT_GE(file.close(), 0);  // the file's own close, checked (its objects keep it open)
  }
  for (hid_t id : ids) EXPECT_FALSE(open_id(id)) << "id " << id << " left open";
  EXPECT_EQ(H5Fget_obj_count(static_cast<hid_t>(H5F_OBJ_ALL), H5F_OBJ_ALL), 0) << "an HDF5 object is still open";

  // Another open of the file sees what was written.
  File file(RIDE_H5_CHECK(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), "open " << path));
  Dataset data(RIDE_H5_CHECK(H5Dopen2(file.get(), "/g/d", H5P_DEFAULT), "open dataset"));
  std::int32_t back[4] = {};
  RIDE_H5_CHECK(H5Dread(data.get(), H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, back), "read");
  EXPECT_EQ(std::vector<std::int32_t>(back, back + 4), (std::vector<std::int32_t>{3, 1, 4, 1}));
  Attribute attr(RIDE_H5_CHECK(H5Aopen(data.get(), "frames", H5P_DEFAULT), "open attribute"));
  std::int32_t frames = 0;
  RIDE_H5_CHECK(H5Aread(attr.get(), H5T_NATIVE_INT32, &frames), "read attribute");
  EXPECT_EQ(frames, 4);
}

TEST_F(Hdf5Handle, CheckYieldsTheCallsValueAndEvaluatesItOnce) {
  int calls = 0;
  const hid_t id = RIDE_H5_CHECK((++calls, H5Screate(H5S_SCALAR)), "scalar space");
  Dataspace space(id);
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(open_id(id));
  EXPECT_EQ(RIDE_H5_CHECK(H5Sget_simple_extent_ndims(space.get()), "rank"), 0);
}

/// What RIDE_H5_CHECK threw for `path` opened read-only, with stderr captured; "" if nothing.
struct Thrown {
  std::string what, stderr_text;
};
Thrown open_and_catch(const std::string& path) {
  Thrown t;
  ::testing::internal::CaptureStderr();
  try {
    File f(RIDE_H5_CHECK(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), "open results file " << path));
  } catch (const Error& e) {
    t.what = e.what();
  }
  t.stderr_text = ::testing::internal::GetCapturedStderr();
  return t;
}

TEST_F(Hdf5Handle, AMissingFileThrowsAnErrorNamingThePathTheCauseAndTheSourceLine) {
  const std::string path = dir_.file("missing.h5");
  const Thrown t = open_and_catch(path);
  ASSERT_FALSE(t.what.empty()) << "no ride::Error thrown";
  EXPECT_EQ(t.what.rfind("open results file " + path, 0), 0u) << t.what;         // the message first
  EXPECT_NE(t.what.find("(HDF5: H5Fopen(): "), std::string::npos) << t.what;     // the API call that failed
  EXPECT_NE(t.what.find(" <- "), std::string::npos) << t.what;                   // ... and the innermost cause
  EXPECT_NE(t.what.find("errno = 2"), std::string::npos) << t.what;              // ENOENT, named
  EXPECT_NE(t.what.find("test_hdf5_handle.cpp:"), std::string::npos) << t.what;  // where it was checked
  EXPECT_EQ(t.stderr_text, "") << "HDF5 printed its error stack";
  EXPECT_EQ(H5Eget_num(H5E_DEFAULT), 0) << "the error stack was left uncleared";
}

TEST_F(Hdf5Handle, AFileThatIsNotHdf5ThrowsToo) {
  const std::string path = dir_.file("not_hdf5.h5");
  std::ofstream(path) << "this is a text file, not HDF5\n";
  const Thrown t = open_and_catch(path);
  ASSERT_FALSE(t.what.empty()) << "no ride::Error thrown";
  EXPECT_NE(t.what.find("open results file " + path), std::string::npos) << t.what;
  EXPECT_NE(t.what.find("(HDF5: H5Fopen(): "), std::string::npos) << t.what;
  EXPECT_EQ(t.stderr_text, "");
  EXPECT_EQ(H5Eget_num(H5E_DEFAULT), 0);
}

TEST_F(Hdf5Handle, AnErrorIsThrownOnceAndTheNextFailureCarriesOnlyItsOwnCause) {
  const Thrown first = open_and_catch(dir_.file("missing.h5"));
  ASSERT_FALSE(first.what.empty());
  // The stack was cleared: a different failure next does not drag the first one's entries along.
  std::string second;
  try {
    RIDE_H5_CHECK(H5Dopen2(H5I_INVALID_HID, "/nowhere", H5P_DEFAULT), "open dataset /nowhere");
  } catch (const Error& e) {
    second = e.what();
  }
  EXPECT_EQ(second.rfind("open dataset /nowhere", 0), 0u) << second;
  EXPECT_NE(second.find("H5Dopen2()"), std::string::npos) << second;
  EXPECT_EQ(second.find("H5Fopen"), std::string::npos) << second;
}

TEST_F(Hdf5Handle, FailWithAnEmptyStackStillNamesTheMessageAndLine) {
  H5Eclear2(H5E_DEFAULT);
  try {
    fail("storage_test.cpp", 42, "spill file full");
    FAIL() << "fail() returned";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "spill file full [storage_test.cpp:42]");
  }
}

TEST_F(Hdf5Handle, SilencingIsPerThreadAndEachThreadCanAskForIt) {
  // HDF5's automatic printing is per thread in this (thread-safe) build: a new thread prints
  // unless it silences itself, which is why every entry point calls silence_error_printing().
  std::string printed_silenced, printed_loud;
  const std::string missing = dir_.file("missing.h5");
  std::thread([&] {
    silence_error_printing();
    silence_error_printing();  // idempotent
    printed_silenced = open_and_catch(missing).stderr_text;
  }).join();
  EXPECT_EQ(printed_silenced, "");
  std::thread([&] {
    ::testing::internal::CaptureStderr();
    const hid_t bad = H5Fopen(missing.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    printed_loud = ::testing::internal::GetCapturedStderr();
    EXPECT_LT(bad, 0);
    H5Eclear2(H5E_DEFAULT);
  }).join();
#ifndef H5_HAVE_THREADSAFE
  GTEST_SKIP() << "not a thread-safe HDF5 build: the printing setting is global there";
#endif
  EXPECT_NE(printed_loud.find("HDF5-DIAG"), std::string::npos)
      << "a thread that did not silence itself printed nothing: " << printed_loud;
}

}  // namespace
}  // namespace ride::h5

/// The results journal (sink/result_journal.h): what was appended comes back in order, a torn
/// tail (an append interrupted by a SIGKILL) is cut off and appending goes on after the last
/// intact record, and a file that is not a journal is refused with its path named.
#include "sink/result_journal.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "support/temp_dir.h"

namespace ride {
namespace {

std::string body_text(const Buffer& b) { return std::string(reinterpret_cast<const char*>(b.data()), b.size()); }

struct Seen {
  std::vector<std::pair<std::uint32_t, std::string>> records;
  std::function<void(std::uint32_t, const Buffer&)> fn() {
    return [this](std::uint32_t t, const Buffer& b) { records.emplace_back(t, body_text(b)); };
  }
};

TEST(ResultJournal, RecordsComeBackInOrderWithTheHeader) {
  test::TempDir dir;
  const std::string path = journal_path(dir.file("r.h5"));
  EXPECT_EQ(path, dir.file("r.h5.journal"));
  {
    auto j = ResultJournal::create(path, "[job]\nmode = batch\n");
    const std::string a = "first body", b(100000, 'x'), empty;
    j.append(0, a.data(), a.size());
    j.append(2, b.data(), b.size());
    j.append(1, empty.data(), 0);
    j.sync();
  }
  EXPECT_EQ(ResultJournal::read_header(path), "[job]\nmode = batch\n");
  Seen seen;
  ResultJournal::Replay r;
  auto j = ResultJournal::resume(path, seen.fn(), &r);
  EXPECT_EQ(r.header, "[job]\nmode = batch\n");
  EXPECT_EQ(r.records, 3u);
  EXPECT_EQ(r.bytes, 100010u);
  EXPECT_EQ(r.torn_bytes, 0u);
  ASSERT_EQ(seen.records.size(), 3u);
  EXPECT_EQ(seen.records[0], std::make_pair(0u, std::string("first body")));
  EXPECT_EQ(seen.records[1].first, 2u);
  EXPECT_EQ(seen.records[1].second, std::string(100000, 'x'));
  EXPECT_EQ(seen.records[2], std::make_pair(1u, std::string()));
}

TEST(ResultJournal, ATornTailIsCutOffAndAppendingGoesOnAfterTheLastIntactRecord) {
  test::TempDir dir;
  const std::string path = dir.file("r.h5.journal");
  std::uint64_t intact = 0;
  {
    auto j = ResultJournal::create(path, "h");
    const std::string a = "kept 1", b = "kept 2", c(5000, 'c');
    j.append(0, a.data(), a.size());
    j.append(0, b.data(), b.size());
    intact = j.size();
    j.append(0, c.data(), c.size());
    j.sync();
  }
  // Cut the last record in the middle of its body, as a SIGKILL mid-append would.
  std::filesystem::resize_file(path, intact + 24 + 1000);
  {
    Seen seen;
    ResultJournal::Replay r;
    auto j = ResultJournal::resume(path, seen.fn(), &r);
    EXPECT_EQ(r.records, 2u);
    EXPECT_EQ(r.torn_bytes, 24u + 1000u);
    EXPECT_EQ(j.size(), intact);
    EXPECT_EQ(std::filesystem::file_size(path), intact);
    const std::string d = "after resume";
    j.append(4, d.data(), d.size());
    j.sync();
  }
  // Garbage after the last record (a record head cut short) is cut off too.
  {
    std::ofstream f(path, std::ios::app | std::ios::binary);
    f << "REC";
  }
  Seen seen;
  ResultJournal::Replay r;
  auto j = ResultJournal::resume(path, seen.fn(), &r);
  EXPECT_EQ(r.torn_bytes, 3u);
  ASSERT_EQ(seen.records.size(), 3u);
  EXPECT_EQ(seen.records[0].second, "kept 1");
  EXPECT_EQ(seen.records[1].second, "kept 2");
  EXPECT_EQ(seen.records[2], std::make_pair(4u, std::string("after resume")));
}

TEST(ResultJournal, AFlippedByteEndsTheIntactPart) {
  test::TempDir dir;
  const std::string path = dir.file("r.h5.journal");
  std::uint64_t first_end = 0;
  {
    auto j = ResultJournal::create(path, "h");
    const std::string a = "good", b = "damaged body";
    j.append(0, a.data(), a.size());
    first_end = j.size();
    j.append(0, b.data(), b.size());
  }
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(first_end + 24 + 3));
    f.put('#');
  }
  Seen seen;
  ResultJournal::Replay r;
  ResultJournal::resume(path, seen.fn(), &r);
  EXPECT_EQ(r.records, 1u);
  EXPECT_EQ(r.torn_bytes, 24u + 12u);
}

TEST(ResultJournal, AMissingOrForeignFileIsRefusedWithItsPath) {
  test::TempDir dir;
  const std::string missing = dir.file("none.journal");
  try {
    ResultJournal::read_header(missing);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(missing), std::string::npos) << e.what();
  }
  const std::string foreign = dir.file("foreign.journal");
  std::ofstream(foreign) << "this is an HDF5 file, honest";
  Seen seen;
  try {
    ResultJournal::resume(foreign, seen.fn(), nullptr);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not a ride results journal"), std::string::npos) << e.what();
  }
  // A damaged header: nothing after it can be trusted.
  { ResultJournal::create(foreign, "the job's identity"); }
  {
    std::fstream f(foreign, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(26);
    f.put('!');
  }
  EXPECT_THROW(ResultJournal::read_header(foreign), Error);
}

}  // namespace
}  // namespace ride

#include <gtest/gtest.h>

#include <filesystem>
#include <random>
#include <set>
#include <unistd.h>
#include <vector>

#include "broker/spill_store.h"

namespace ride {
namespace {

struct TempDir {
  std::filesystem::path path;
  TempDir() : path(std::filesystem::temp_directory_path() / ("ride_spill_" + std::to_string(::getpid()))) {
    std::filesystem::create_directories(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

Buffer frame_of(std::size_t n, std::uint32_t seed) {
  Buffer b(n);
  std::mt19937 g(seed);
  for (std::size_t i = 0; i < n; ++i) b.data()[i] = static_cast<std::byte>(g());
  return b;
}

TEST(SpillStore, SizeClassesPadAtMostAnEighth) {
  EXPECT_EQ(SpillStore::size_class(1), 64u);
  EXPECT_EQ(SpillStore::size_class(64), 64u);
  EXPECT_EQ(SpillStore::size_class(4096), 4096u);
  for (std::uint64_t n : {65ull, 1000ull, 40'000ull, 40'961ull, 307'200ull, 6'250'000ull, (1ull << 31) + 1}) {
    const auto c = SpillStore::size_class(n);
    EXPECT_GE(c, n);
    EXPECT_LE(static_cast<double>(c - n), 0.125 * static_cast<double>(n)) << n;
  }
  // Sizes that differ a little share a class: that is the point.
  EXPECT_EQ(SpillStore::size_class(40'001), SpillStore::size_class(40'900));
}

// JPEG frames (ingest.encoding = jpeg) are each of their own size: every one reads back exactly
// as written, and the segment does not grow a dataset per size.
TEST(SpillStore, FramesOfManySizesReadBackExactly) {
  TempDir dir;
  SpillStore store(dir.path.string(), "p0", 1ull << 30);
  std::vector<SpillStore::Location> at;
  std::vector<std::size_t> sizes;
  std::uint64_t padded = 0, exact = 0;
  std::mt19937 g(7);
  for (std::uint32_t i = 0; i < 300; ++i) {
    const std::size_t n = 30'000 + g() % 20'000;  // a 640x480 camera's JPEGs: 30-50 KB
    sizes.push_back(n);
    at.push_back(store.write(frame_of(n, i)));
    EXPECT_EQ(at.back().size, n);
    EXPECT_GE(at.back().stored, n);
    padded += at.back().stored;
    exact += n;
  }
  EXPECT_EQ(store.bytes_on_disk(), padded);
  EXPECT_LE(static_cast<double>(padded), 1.125 * static_cast<double>(exact));
  std::set<std::uint64_t> widths;
  for (const auto& l : at) widths.insert(l.stored);
  // 8 exact sizes, then the classes between 30 and 50 KB (steps of 2 or 4 KB).
  EXPECT_LE(widths.size(), SpillStore::kExactSizes + 10);
  for (std::uint32_t i = 0; i < at.size(); ++i) {
    const Buffer back = store.read(at[i]);
    const Buffer want = frame_of(sizes[i], i);
    ASSERT_EQ(back.size(), want.size()) << i;
    ASSERT_EQ(0, std::memcmp(back.data(), want.data(), want.size())) << i;
  }
}

// Frames of one size (raw frames) keep a dataset of their exact size: no padding, no copy.
TEST(SpillStore, FramesOfOneSizeAreStoredExactly) {
  TempDir dir;
  SpillStore store(dir.path.string(), "p1", 1ull << 30);
  for (std::uint32_t i = 0; i < 20; ++i) {
    const auto l = store.write(frame_of(810'040, i));
    EXPECT_EQ(l.stored, 810'040u);
  }
  EXPECT_EQ(store.bytes_on_disk(), 20u * 810'040u);
}

}  // namespace
}  // namespace ride

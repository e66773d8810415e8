#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "core/buffer.h"
#include "core/frame_allocator.h"

namespace ride {
namespace {

TEST(FrameAllocator, SizesAcrossSmallSlabAndBigPathsKeepTheirBytes) {
  const auto before = frame_allocator_stats();
  std::vector<Buffer> bufs;
  const std::size_t sizes[] = {1, 4096, 65536, 262144, 829440 + 40, 1 << 21, (1 << 21) + 1, 6250040};
  for (int round = 0; round < 3; ++round) {
    for (std::size_t n : sizes) {
      bufs.emplace_back(n);
      std::memset(bufs.back().data(), static_cast<int>(n % 251), n);
    }
  }
  for (const auto& b : bufs) {
    const auto v = static_cast<std::byte>(b.size() % 251);
    EXPECT_EQ(b.data()[0], v);
    EXPECT_EQ(b.data()[b.size() - 1], v);
  }
  EXPECT_GT(frame_allocator_stats().live_bytes, before.live_bytes);
  bufs.clear();
  EXPECT_EQ(frame_allocator_stats().live_bytes, before.live_bytes);
}

TEST(FrameAllocator, TwoFramesOf810KbShareOneHugePageAndMemoryIsReused) {
  const auto before = frame_allocator_stats();
  {
    Buffer a(829480), b(829480);
    // Slab slots are page-rounded and carved from one 2 MiB block.
    const auto da = reinterpret_cast<std::uintptr_t>(a.data()), db = reinterpret_cast<std::uintptr_t>(b.data());
    EXPECT_EQ(da >> 21, db >> 21);
    EXPECT_EQ(da % 4096, 0u);
  }
  const auto mid = frame_allocator_stats();
  // A steady stream of frames reuses what was freed instead of mapping more.
  std::mt19937 rng(1);
  for (int i = 0; i < 2000; ++i) {
    Buffer f(829480);
    f.data()[rng() % f.size()] = std::byte{1};
  }
  EXPECT_EQ(frame_allocator_stats().mapped_bytes, mid.mapped_bytes);
  EXPECT_EQ(frame_allocator_stats().live_bytes, before.live_bytes);
}

TEST(FrameAllocator, FreedMemoryBeyondTheCacheIsReturned) {
  const auto before = frame_allocator_stats();
  {
    std::vector<Buffer> many;
    for (int i = 0; i < 200; ++i) many.emplace_back(1 << 20);  // 200 MiB live
    EXPECT_GE(frame_allocator_stats().mapped_bytes, before.mapped_bytes + (200u << 20));
  }
  // At most the 64 MiB reuse cache stays mapped once everything is freed.
  EXPECT_LE(frame_allocator_stats().mapped_bytes, before.mapped_bytes + (64u << 20) + (2u << 20));
}

}  // namespace
}  // namespace ride

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "core/frame_batch.h"
#include "core/protocol.h"

namespace ride {
namespace {

std::vector<std::byte> bytes_of(std::size_t n, int seed) {
  std::vector<std::byte> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::byte>((i * 31 + static_cast<std::size_t>(seed) * 7) % 251);
  return v;
}

TEST(Buffer, AViewSharesItsParentsBytesAndKeepsThemAlive) {
  auto parent = std::make_shared<Buffer>(100);
  for (int i = 0; i < 100; ++i) parent->data()[i] = static_cast<std::byte>(i);
  Buffer view(std::shared_ptr<const Buffer>(parent), 10, 20);
  EXPECT_TRUE(view.is_view());
  EXPECT_EQ(view.size(), 20u);
  EXPECT_EQ(std::to_integer<int>(view.data()[0]), 10);
  const std::byte* where = parent->data() + 10;
  parent.reset();  // the view alone keeps the bytes
  EXPECT_EQ(view.data(), where);
  EXPECT_EQ(std::to_integer<int>(view.data()[19]), 29);
  Buffer moved(std::move(view));
  EXPECT_EQ(moved.size(), 20u);
  EXPECT_EQ(view.size(), 0u);  // NOLINT(bugprone-use-after-move): a moved-from buffer is empty
  EXPECT_EQ(view.data(), nullptr);
}

// Ingest writes frames in place into its batch; the broker splits the message into views that
// are the same bytes.
TEST(FrameBatch, BuiltInPlaceAndSplitBackIntoTheSameFrames) {
  FrameBatchBuilder b(64 * 1024, 8);
  std::vector<std::vector<std::byte>> want;
  const std::byte* first = nullptr;
  for (int i = 0; i < 5; ++i) {
    want.push_back(bytes_of(1000 + static_cast<std::size_t>(i) * 333, i));
    auto slot = b.reserve(want.back().size());
    ASSERT_TRUE(slot);
    EXPECT_TRUE(b.holds(*slot));
    if (!first) first = slot->data();
    EXPECT_EQ(static_cast<std::size_t>(slot->data() - first) % kFrameBatchAlign, 0u) << i;  // frames 64-byte apart
    std::memcpy(slot->data(), want.back().data(), want.back().size());
  }
  Buffer elsewhere(10);
  EXPECT_FALSE(b.holds(elsewhere));
  EXPECT_EQ(b.count(), 5u);
  const auto message = b.finish();
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(frame_batch_defect(*message), "");
  std::vector<Buffer> got;
  split_frame_batch(message, [&](Buffer f) { got.push_back(std::move(f)); });
  ASSERT_EQ(got.size(), 5u);
  for (std::size_t i = 0; i < got.size(); ++i) {
    ASSERT_EQ(got[i].size(), want[i].size());
    EXPECT_EQ(0, std::memcmp(got[i].data(), want[i].data(), want[i].size())) << i;
    EXPECT_TRUE(got[i].is_view());
  }
}

TEST(FrameBatch, ABatchIsFullByFramesOrByBytes) {
  FrameBatchBuilder by_frames(1 << 20, 3);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(by_frames.reserve(10));
  EXPECT_FALSE(by_frames.reserve(10));
  FrameBatchBuilder by_bytes(4096, 64);
  ASSERT_TRUE(by_bytes.reserve(1000));
  EXPECT_FALSE(by_bytes.reserve(4000));  // does not fit after the first: the caller sends, starts again
  by_bytes.finish();
  EXPECT_TRUE(by_bytes.reserve(2000));
}

/// `n` frames of `size` bytes written in place into one batch, as ingest sends them.
std::vector<BufferPtr> batched(FrameBatchBuilder& b, std::size_t n, std::size_t size) {
  std::vector<BufferPtr> out;
  for (std::size_t i = 0; i < n; ++i) {
    auto f = b.reserve(size);
    std::memset(f->data(), static_cast<int>(i + 1), size);
    out.push_back(f);
  }
  return out;
}

/// The frames `plan` describes, as the worker rebuilds them from the runs it received.
std::vector<std::vector<std::byte>> received(const FetchRuns& plan) {
  std::vector<std::vector<std::byte>> out;
  for (const RunSlot& s : plan.slots) {
    const auto& r = plan.runs.at(s.run);
    const std::byte* p = r.buffer->data() + r.begin + s.offset;
    EXPECT_LE(r.begin + s.offset + s.size, r.end);
    out.emplace_back(p, p + s.size);
  }
  return out;
}

std::vector<std::vector<std::byte>> contents(const std::vector<BufferPtr>& frames) {
  std::vector<std::vector<std::byte>> out;
  for (const auto& f : frames) out.emplace_back(f->data(), f->data() + f->size());
  return out;
}

// A fetch of frames that came in one ingest batch goes as that run of the batch buffer: one
// message, nothing copied.
TEST(FetchRuns, FramesOfOneBatchGoAsOneUncopiedRun) {
  FrameBatchBuilder b(1 << 20, 64);
  const auto frames = batched(b, 10, 4000);
  FetchRuns plan;
  plan_fetch_runs(frames, 1 << 20, plan);
  ASSERT_EQ(plan.runs.size(), 1u);
  EXPECT_FALSE(plan.copied);
  EXPECT_EQ(plan.runs[0].buffer, frames[0]->parent());  // the batch's own buffer
  EXPECT_EQ(received(plan), contents(frames));
}

// Frames of two batches: two runs. Frames with much else between them (another partition's, in
// the same batches) are copied together into one run instead.
TEST(FetchRuns, FramesApartAreCopiedTogether) {
  FrameBatchBuilder b1(1 << 20, 64), b2(1 << 20, 64);
  auto a = batched(b1, 3, 4000);
  const auto c = batched(b2, 3, 4000);
  a.insert(a.end(), c.begin(), c.end());
  FetchRuns plan;
  plan_fetch_runs(a, 1 << 20, plan);
  EXPECT_EQ(plan.runs.size(), 2u);
  EXPECT_EQ(received(plan), contents(a));

  FrameBatchBuilder mixed(1 << 20, 64);
  const auto all = batched(mixed, 8, 4000);
  const std::vector<BufferPtr> every_other = {all[0], all[2], all[4], all[6]};
  plan_fetch_runs(every_other, 1 << 20, plan);
  EXPECT_TRUE(plan.copied);
  ASSERT_EQ(plan.runs.size(), 1u);
  EXPECT_EQ(received(plan), contents(every_other));
}

// Big frames, or frames that are not views (spilled and read back, replicated), past the byte
// budget: each is its own run, the stored buffer itself.
TEST(FetchRuns, BigFetchesSendEachStoredFrameAlone) {
  std::vector<BufferPtr> frames;
  for (int i = 0; i < 3; ++i) {
    auto f = std::make_shared<Buffer>(100'000);
    std::memset(f->data(), i + 7, f->size());
    frames.push_back(f);
  }
  FetchRuns plan;
  plan_fetch_runs(frames, 64 * 1024, plan);
  ASSERT_EQ(plan.runs.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(plan.runs[i].buffer, frames[i]);
  EXPECT_FALSE(plan.copied);
  EXPECT_EQ(received(plan), contents(frames));
  plan_fetch_runs({}, 64 * 1024, plan);
  EXPECT_TRUE(plan.runs.empty() && plan.slots.empty());
}

TEST(FrameBatch, MalformedTablesAreRefused) {
  FrameBatchBuilder b(8192, 4);
  b.reserve(100);
  b.reserve(200);
  const auto good = b.finish();
  auto copy = [&] {
    Buffer c(good->size());
    std::memcpy(c.data(), good->data(), good->size());
    return c;
  };
  EXPECT_EQ(frame_batch_defect(Buffer(4)), "shorter than its batch header");
  Buffer too_many = copy();
  too_many.write(0, FrameBatchHeader{5, 4});
  EXPECT_EQ(frame_batch_defect(too_many), "counts 5 frames in 4 slots");
  Buffer huge_table = copy();
  huge_table.write(0, FrameBatchHeader{1, 1u << 30});
  EXPECT_EQ(frame_batch_defect(huge_table), "shorter than its table");
  Buffer outside = copy();
  outside.write(sizeof(FrameBatchHeader) + sizeof(FrameSlot), FrameSlot{good->size() - 10, 200});
  EXPECT_NE(frame_batch_defect(outside).find("lies outside"), std::string::npos);
  Buffer overlapping = copy();
  const auto first = overlapping.read<FrameSlot>(sizeof(FrameBatchHeader));
  overlapping.write(sizeof(FrameBatchHeader) + sizeof(FrameSlot), FrameSlot{first.offset + 50, 10});
  EXPECT_NE(frame_batch_defect(overlapping).find("overlaps"), std::string::npos);
  const auto shared = std::make_shared<const Buffer>(std::move(outside));
  EXPECT_THROW(split_frame_batch(shared, [](Buffer) {}), Error);
}

TEST(ProduceAcks, RoundTripSeveralInOneMessage) {
  std::vector<ProduceAck> acks(3);
  for (std::uint32_t i = 0; i < 3; ++i) {
    acks[i].partition = i;
    acks[i].sequence = 100 + i;
    acks[i].stream = 7;
    acks[i].status = i == 1 ? ProduceStatus::duplicate : ProduceStatus::accepted;
    acks[i].offset = 1000 + i;
  }
  const Buffer body = encode_produce_acks(acks);
  std::vector<ProduceAck> back;
  for_each_produce_ack(body, [&](const ProduceAck& a) { back.push_back(a); });
  ASSERT_EQ(back.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(back[i].partition, acks[i].partition);
    EXPECT_EQ(back[i].sequence, acks[i].sequence);
    EXPECT_EQ(back[i].status, acks[i].status);
    EXPECT_EQ(back[i].offset, acks[i].offset);
  }
  EXPECT_THROW(for_each_produce_ack(Buffer(sizeof(ProduceAck) + 3), [](const ProduceAck&) {}), Error);
  EXPECT_THROW(for_each_produce_ack(Buffer(), [](const ProduceAck&) {}), Error);
}

}  // namespace
}  // namespace ride

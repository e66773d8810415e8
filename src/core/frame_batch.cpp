#include "core/frame_batch.h"

#include <algorithm>
#include <cstring>

namespace ride {

std::string frame_batch_defect(const Buffer& body) {
  if (body.size() < sizeof(FrameBatchHeader)) return "shorter than its batch header";
  const auto h = body.read<FrameBatchHeader>(0);
  if (h.count > h.slots) return "counts " + std::to_string(h.count) + " frames in " + std::to_string(h.slots) + " slots";
  const std::size_t table_end = sizeof(FrameBatchHeader) + std::size_t{h.slots} * sizeof(FrameSlot);
  if (h.slots > body.size() / sizeof(FrameSlot) || body.size() < table_end) return "shorter than its table";
  std::size_t end = table_end;  // frames lie in order, after the table, without overlapping
  for (std::uint32_t i = 0; i < h.count; ++i) {
    const auto s = body.read<FrameSlot>(sizeof(FrameBatchHeader) + i * sizeof(FrameSlot));
    if (s.offset < end || s.offset > body.size() || s.size > body.size() - s.offset) {
      return "frame " + std::to_string(i) + " at " + std::to_string(s.offset) + " (" + std::to_string(s.size) +
             " bytes) lies outside its message of " + std::to_string(body.size()) + " bytes or overlaps another";
    }
    end = static_cast<std::size_t>(s.offset + s.size);
  }
  return {};
}

namespace {

/// The runs of `frames` as they lie in their batch buffers; false when one is not a view, or the
/// runs are too many or carry too much else.
bool plan_uncopied(const std::vector<BufferPtr>& frames, std::size_t bytes, FetchRuns& out) {
  for (const auto& f : frames) {
    if (!f->is_view()) return false;
    const std::size_t at = f->offset_in_parent();
    if (out.runs.empty() || out.runs.back().buffer != f->parent() || at < out.runs.back().end) {
      if (out.runs.size() == FetchRuns::kMaxRuns) return false;
      out.runs.push_back({f->parent(), at, at});
    }
    FetchRuns::Run& r = out.runs.back();
    out.slots.push_back({static_cast<std::uint32_t>(out.runs.size() - 1), 0, at - r.begin, f->size()});
    r.end = at + f->size();
  }
  std::size_t span = 0;
  for (const auto& r : out.runs) span += r.end - r.begin;
  return span <= bytes + bytes / 4;
}

}  // namespace

void plan_fetch_runs(const std::vector<BufferPtr>& frames, std::size_t small_bytes, FetchRuns& out) {
  out.runs.clear();
  out.slots.clear();
  out.copied = false;
  std::size_t bytes = 0;
  for (const auto& f : frames) bytes += f->size();
  if (frames.size() >= 2 && bytes <= small_bytes) {
    if (plan_uncopied(frames, bytes, out)) return;
    out.runs.clear();
    out.slots.clear();
    std::size_t total = 0;
    for (const auto& f : frames) total = align_frame_offset(total) + f->size();
    auto copy = std::make_shared<Buffer>(total);
    std::byte* d = copy->data();
    RIDE_EXPECTS(d != nullptr, "no memory for a fetch of " << frames.size() << " frames");
    std::size_t at = 0;
    for (const auto& f : frames) {
      at = align_frame_offset(at);
      std::memcpy(d + at, f->data(), f->size());
      out.slots.push_back({0, 0, at, f->size()});
      at += f->size();
    }
    out.runs.push_back({std::move(copy), 0, total});
    out.copied = true;
    return;
  }
  for (std::size_t i = 0; i < frames.size(); ++i) {
    out.runs.push_back({frames[i], 0, frames[i]->size()});
    out.slots.push_back({static_cast<std::uint32_t>(i), 0, 0, frames[i]->size()});
  }
}

FrameBatchBuilder::FrameBatchBuilder(std::size_t capacity, std::size_t max_frames)
    : capacity_(capacity), max_frames_(std::max<std::size_t>(1, max_frames)) {}

void FrameBatchBuilder::start() {
  buffer_ = std::make_shared<Buffer>(capacity_);
  used_ = frame_batch_data_at(max_frames_);
  count_ = 0;
}

std::shared_ptr<Buffer> FrameBatchBuilder::reserve(std::size_t n) {
  if (!buffer_) start();
  const std::size_t at = align_frame_offset(used_);
  if (count_ >= max_frames_ || at + n > capacity_) return nullptr;
  buffer_->write(sizeof(FrameBatchHeader) + count_ * sizeof(FrameSlot), FrameSlot{at, n});
  ++count_;
  used_ = at + n;
  return std::make_shared<Buffer>(std::shared_ptr<const Buffer>(buffer_), at, n);
}

bool FrameBatchBuilder::holds(const Buffer& frame) const {
  if (!buffer_ || count_ == 0) return false;
  const std::byte* p = frame.data();
  return p >= buffer_->data() && p < buffer_->data() + used_;
}

std::shared_ptr<const Buffer> FrameBatchBuilder::finish() {
  RIDE_EXPECTS(buffer_ && count_ > 0, "an empty frame batch is never sent");
  FrameBatchHeader h;
  h.count = static_cast<std::uint32_t>(count_);
  h.slots = static_cast<std::uint32_t>(max_frames_);
  buffer_->write(0, h);
  auto message = std::make_shared<const Buffer>(std::shared_ptr<const Buffer>(buffer_), 0, used_);
  buffer_.reset();
  used_ = 0;
  count_ = 0;
  return message;
}

}  // namespace ride

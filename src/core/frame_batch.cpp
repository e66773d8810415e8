#include "core/frame_batch.h"

#include <algorithm>
#include <cstring>

namespace ride {

std::string frame_batch_defect(const Buffer& body, std::size_t table_at) {
  if (body.size() < table_at + sizeof(FrameBatchHeader)) return "shorter than its batch header";
  const auto h = body.read<FrameBatchHeader>(table_at);
  if (h.count > h.slots) return "counts " + std::to_string(h.count) + " frames in " + std::to_string(h.slots) + " slots";
  const std::size_t table_end = table_at + sizeof(FrameBatchHeader) + std::size_t{h.slots} * sizeof(FrameSlot);
  if (h.slots > (body.size() - table_at) / sizeof(FrameSlot) || body.size() < table_end) return "shorter than its table";
  std::size_t end = table_end;  // frames lie in order, after the table, without overlapping
  for (std::uint32_t i = 0; i < h.count; ++i) {
    const auto s = body.read<FrameSlot>(table_at + sizeof(FrameBatchHeader) + i * sizeof(FrameSlot));
    if (s.offset < end || s.offset > body.size() || s.size > body.size() - s.offset) {
      return "frame " + std::to_string(i) + " at " + std::to_string(s.offset) + " (" + std::to_string(s.size) +
             " bytes) lies outside its message of " + std::to_string(body.size()) + " bytes or overlaps another";
    }
    end = static_cast<std::size_t>(s.offset + s.size);
  }
  return {};
}

Buffer pack_frame_batch(std::size_t prefix, const std::vector<std::span<const std::byte>>& frames) {
  const std::size_t n = frames.size();
  std::size_t total = frame_batch_data_at(prefix, n);
  for (const auto& f : frames) total = align_frame_offset(total) + f.size();
  Buffer b(total);
  std::byte* d = b.data();
  RIDE_EXPECTS(d != nullptr, "no memory for a batch of " << n << " frames");
  const FrameBatchHeader h{static_cast<std::uint32_t>(n), static_cast<std::uint32_t>(n)};
  std::memcpy(d + prefix, &h, sizeof h);
  std::size_t at = frame_batch_data_at(prefix, n);
  for (std::size_t i = 0; i < n; ++i) {
    at = align_frame_offset(at);
    const FrameSlot slot{at, frames[i].size()};
    std::memcpy(d + prefix + sizeof(FrameBatchHeader) + i * sizeof(FrameSlot), &slot, sizeof slot);
    if (!frames[i].empty()) std::memcpy(d + at, frames[i].data(), frames[i].size());
    at += frames[i].size();
  }
  return b;
}

FrameBatchBuilder::FrameBatchBuilder(std::size_t capacity, std::size_t max_frames)
    : capacity_(capacity), max_frames_(std::max<std::size_t>(1, max_frames)) {}

void FrameBatchBuilder::start() {
  buffer_ = std::make_shared<Buffer>(capacity_);
  used_ = frame_batch_data_at(0, max_frames_);
  count_ = 0;
}

bool FrameBatchBuilder::fits_empty(std::size_t n) const { return frame_batch_data_at(0, max_frames_) + n <= capacity_; }

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

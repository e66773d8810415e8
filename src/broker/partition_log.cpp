#include "broker/partition_log.h"

#include <sys/statvfs.h>

#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "core/protocol.h"

namespace ride {


PartitionLog::PartitionLog(LogLimits limits) : limits_(std::move(limits)) {}

bool PartitionLog::ring_has_room(std::uint64_t bytes) const {
  if (limits_.ring_frames > 0 && ring_frames_ + 1 > limits_.ring_frames) return false;
  // An empty ring always takes one frame, so a frame larger than the ring still flows.
  return ring_frames_ == 0 || ring_bytes_ + bytes <= limits_.ring_bytes;
}

std::optional<LogState> PartitionLog::spill_refusal(std::uint64_t bytes) const {
  if (!limits_.spill) return LogState::ring_full_no_spill;
  if (limits_.spill_max_bytes > 0 && spill_bytes() + bytes > limits_.spill_max_bytes) {
    return LogState::spill_over_limit;
  }
  struct statvfs fs {};
  if (::statvfs(limits_.spill_dir.c_str(), &fs) == 0) {
    const std::uint64_t free_bytes = std::uint64_t{fs.f_bavail} * fs.f_frsize;
    if (free_bytes < limits_.spill_min_free_bytes + bytes) return LogState::spill_disk_full;
  }
  // statvfs failing (a missing directory) is left to the write, which reports the cause.
  return std::nullopt;
}

BufferPtr PartitionLog::dropped_header(const Buffer& frame, std::size_t header_bytes) const {
  const std::size_t n = std::max(std::min(header_bytes, frame.size()), sizeof(ProduceHeader));
  auto h = std::make_shared<Buffer>(n);
  std::memset(h->data(), 0, n);
  std::memcpy(h->data(), frame.data(), std::min(n, frame.size()));
  auto ph = h->read<ProduceHeader>(0);
  ph.flags |= kFrameFlagDropped;
  h->write(0, ph);
  return h;
}

bool PartitionLog::evict_oldest(std::size_t header_bytes) {
  for (std::size_t i = evict_scan_; i < entries_.size(); ++i) {
    Slot& s = entries_[i];
    if (s.dropped || s.spilled || !s.mem) continue;
    ring_bytes_ -= s.mem->size();
    --ring_frames_;
    s.mem = dropped_header(*s.mem, header_bytes);
    s.dropped = true;
    ++stats_.dropped_oldest;
    evict_scan_ = i + 1;
    return true;
  }
  evict_scan_ = entries_.size();
  return false;
}

std::uint64_t PartitionLog::append_slot(Slot s) {
  entries_.push_back(std::move(s));
  ++stats_.appended;
  stats_.peak_ring_bytes = std::max(stats_.peak_ring_bytes, ring_bytes_);
  stats_.peak_spill_bytes = std::max(stats_.peak_spill_bytes, spill_bytes());
  return end_offset() - 1;
}

std::optional<std::uint64_t> PartitionLog::try_append(BufferPtr frame, std::int64_t capture_ns,
                                                      std::size_t header_bytes) {
  RIDE_EXPECTS(!sealed_, "append to a sealed partition");
  RIDE_EXPECTS(frame != nullptr, "append of a null frame");
  // After a spill failure the partition takes nothing more: the error is loud and ingest moves
  // on (other partitions) rather than frames silently living on in a degraded log.
  if (state_ == LogState::spill_failed) return std::nullopt;
  const std::uint64_t bytes = frame->size();
  Slot slot;
  slot.capture_ns = capture_ns;
  if (ring_has_room(bytes)) {
    state_ = LogState::ok;
    ring_bytes_ += bytes;
    ++ring_frames_;
    slot.mem = std::move(frame);
    return append_slot(std::move(slot));
  }
  const auto refusal = spill_refusal(bytes);
  if (!refusal) {
    try {
      if (!spill_) {
        spill_ = std::make_unique<SpillStore>(limits_.spill_dir, limits_.spill_prefix,
                                              limits_.spill_segment_bytes);
      }
      slot.spill = spill_->write(*frame);
      slot.spilled = true;
      ++stats_.spilled_frames;
      state_ = LogState::spilling;
      return append_slot(std::move(slot));
    } catch (const Error& e) {
      // The frame is not stored and not lost: the caller keeps it; ingest for this partition
      // stops and the reason travels to the master.
      state_ = LogState::spill_failed;
      error_ = e.what();
      return std::nullopt;
    }
  }
  if (limits_.drop != DropPolicy::none) {
    if (limits_.drop == DropPolicy::drop_oldest) {
      while (!ring_has_room(bytes) && evict_oldest(header_bytes)) {
      }
      if (ring_has_room(bytes)) {
        ring_bytes_ += bytes;
        ++ring_frames_;
        slot.mem = std::move(frame);
        state_ = *refusal;
        return append_slot(std::move(slot));
      }
    }
    // drop_newest, or nothing left to evict: keep the key, discard the pixels.
    slot.mem = dropped_header(*frame, header_bytes);
    slot.dropped = true;
    ++stats_.dropped_newest;
    state_ = *refusal;
    return append_slot(std::move(slot));
  }
  state_ = *refusal;
  return std::nullopt;
}

std::vector<PartitionLog::Entry> PartitionLog::read(std::uint64_t offset, std::size_t max_frames) {
  RIDE_EXPECTS(offset >= start_ && offset <= end_offset(),
               "read at offset " << offset << " outside the retained range [" << start_ << ", "
                                 << end_offset() << "]");
  const std::uint64_t n = std::min<std::uint64_t>(max_frames, end_offset() - offset);
  std::vector<Entry> out;
  out.reserve(n);
  for (std::uint64_t i = 0; i < n; ++i) {
    const Slot& s = entries_[offset - start_ + i];
    if (s.spilled) {
      out.push_back({offset + i, std::make_shared<const Buffer>(spill_->read(s.spill))});
    } else {
      out.push_back({offset + i, s.mem});
    }
  }
  return out;
}

std::size_t PartitionLog::frames_for_fetch(std::uint64_t offset, std::uint64_t end, std::size_t max_frames,
                                           std::uint64_t max_bytes) const {
  end = std::min(end, end_offset());
  if (offset < start_ || offset >= end) return 0;
  const std::size_t available = static_cast<std::size_t>(end - offset);
  std::size_t n = std::min(max_frames, available);
  if (n >= available || max_bytes == 0) return n;
  std::uint64_t bytes = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const Slot& s = entries_[offset - start_ + i];
    bytes += s.spilled ? s.spill.size : s.mem->size();
  }
  while (n < available && n < kMaxFetchFrames) {
    const Slot& s = entries_[offset - start_ + n];
    const std::uint64_t next = s.spilled ? s.spill.size : s.mem->size();
    if (bytes + next > max_bytes) break;
    bytes += next;
    ++n;
  }
  return n;
}

bool PartitionLog::commit(std::uint64_t offset) {
  if (offset < committed_ || offset > end_offset()) return false;
  committed_ = offset;
  while (start_ < committed_) {
    Slot& s = entries_.front();
    if (s.spilled) {
      spill_->release(s.spill.segment);
    } else if (!s.dropped && s.mem) {
      ring_bytes_ -= s.mem->size();
      --ring_frames_;
    }
    entries_.pop_front();
    ++start_;
    if (evict_scan_ > 0) --evict_scan_;
  }
  if (state_ == LogState::spilling && spill_bytes() == 0) state_ = LogState::ok;
  return true;
}

void PartitionLog::skip_to(std::uint64_t offset) {
  RIDE_EXPECTS(offset >= end_offset(), "skip back from " << end_offset() << " to " << offset);
  commit(end_offset());
  start_ = committed_ = offset;
  evict_scan_ = 0;
}

std::int64_t PartitionLog::oldest_uncommitted_capture_ns() const {
  return entries_.empty() ? 0 : entries_.front().capture_ns;
}

bool EpochFence::admit(std::uint32_t partition, std::uint32_t epoch) {
  if (partition >= epochs_.size()) epochs_.resize(partition + 1, 0);
  if (epoch < epochs_[partition]) return false;
  epochs_[partition] = epoch;
  return true;
}

std::uint32_t EpochFence::current(std::uint32_t partition) const {
  return partition < epochs_.size() ? epochs_[partition] : 0;
}

bool SeenKeys::insert(std::uint32_t stream, std::uint64_t sequence) {
  if (seen_.size() <= stream) seen_.resize(std::size_t{stream} + 1);
  auto& bits = seen_[stream];
  if (bits.size() <= sequence) bits.resize(std::max<std::size_t>(sequence + 1, bits.size() * 2), false);
  if (bits[sequence]) return false;
  bits[sequence] = true;
  return true;
}

bool StreamWatermarks::insert(std::uint32_t stream, std::uint64_t sequence, bool rerouted) {
  if (next_.size() <= stream) next_.resize(std::size_t{stream} + 1, 0);
  std::uint64_t& next = next_[stream];
  if (sequence < next) return rerouted;
  next = sequence + 1;
  return true;
}

bool SeenKeys::contains(std::uint32_t stream, std::uint64_t sequence) const {
  return stream < seen_.size() && sequence < seen_[stream].size() && seen_[stream][sequence];
}

}  // namespace ride

#include "broker/partition_log.h"

#include <algorithm>

#include "core/error.h"

namespace ride {

std::uint64_t PartitionLog::append(BufferPtr frame) {
  RIDE_EXPECTS(!sealed_, "append to a sealed partition");
  RIDE_EXPECTS(frame != nullptr, "append of a null frame");
  retained_bytes_ += frame->size();
  entries_.push_back(std::move(frame));
  return end_offset() - 1;
}

std::vector<PartitionLog::Entry> PartitionLog::read(std::uint64_t offset,
                                                    std::size_t max_frames) const {
  RIDE_EXPECTS(offset >= start_ && offset <= end_offset(),
               "read at offset " << offset << " outside the retained range [" << start_ << ", "
                                 << end_offset() << "]");
  const std::uint64_t n = std::min<std::uint64_t>(max_frames, end_offset() - offset);
  std::vector<Entry> out;
  out.reserve(n);
  for (std::uint64_t i = 0; i < n; ++i) {
    out.push_back({offset + i, entries_[offset - start_ + i]});
  }
  return out;
}

bool PartitionLog::commit(std::uint64_t offset) {
  if (offset < committed_ || offset > end_offset()) return false;
  committed_ = offset;
  while (start_ < committed_) {
    retained_bytes_ -= entries_.front()->size();
    entries_.pop_front();
    ++start_;
  }
  return true;
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

}  // namespace ride

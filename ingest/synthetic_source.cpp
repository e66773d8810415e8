#include "ingest/synthetic_source.h"

#include <cstring>
#include <limits>

#include "core/checksum.h"
#include "core/error.h"

namespace ride::ingest {

void fill_synthetic_frame(std::uint64_t seed, std::uint32_t stream, std::uint64_t sequence,
                          std::byte* dst, std::size_t n) {
  // splitmix64 over a state derived from the key: ~8 bytes per ns, no shared generator state.
  std::uint64_t state = mix64(seed ^ mix64((std::uint64_t{stream} << 40) ^ sequence ^
                                           0x6a09e667f3bcc909ULL));
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    state += 0x9e3779b97f4a7c15ULL;
    const std::uint64_t z = mix64(state);
    std::memcpy(dst + i, &z, 8);
  }
  if (i < n) {
    state += 0x9e3779b97f4a7c15ULL;
    const std::uint64_t z = mix64(state);
    std::memcpy(dst + i, &z, n - i);
  }
}

FrameSchedule::FrameSchedule(std::vector<std::uint32_t> streams, int total_streams, double fps,
                             std::uint64_t frames_per_stream, bool paced)
    : streams_(std::move(streams)),
      next_seq_(streams_.size(), 0),
      total_streams_(total_streams),
      fps_(fps),
      frames_per_stream_(frames_per_stream),
      paced_(paced),
      remaining_(frames_per_stream * streams_.size()),
      total_(remaining_) {
  RIDE_EXPECTS(fps > 0, "fps must be > 0");
  RIDE_EXPECTS(total_streams > 0, "no streams");
}

double FrameSchedule::due(std::size_t i) const {
  if (!paced_) return 0.0;
  const double phase = static_cast<double>(streams_[i]) / (fps_ * total_streams_);
  return static_cast<double>(next_seq_[i]) / fps_ + phase;
}

FrameSchedule::Item FrameSchedule::peek() const {
  RIDE_EXPECTS(!done(), "schedule exhausted");
  std::size_t best = streams_.size();
  double best_due = std::numeric_limits<double>::infinity();
  for (std::size_t i = 0; i < streams_.size(); ++i) {
    if (next_seq_[i] >= frames_per_stream_) continue;
    // Unpaced (batch): interleave streams by sequence so every stream progresses evenly.
    const double d = paced_ ? due(i) : static_cast<double>(next_seq_[i]);
    if (d < best_due) {
      best_due = d;
      best = i;
    }
  }
  return {streams_[best], next_seq_[best], due(best)};
}

void FrameSchedule::pop() {
  const Item it = peek();
  for (std::size_t i = 0; i < streams_.size(); ++i) {
    if (streams_[i] == it.stream) {
      ++next_seq_[i];
      break;
    }
  }
  --remaining_;
}

Partitioner::Partitioner(std::string policy, int partitions, int ingest_index)
    : keyed_(policy == "key"), partitions_(partitions), counter_(static_cast<std::uint64_t>(ingest_index)) {
  RIDE_EXPECTS(policy == "key" || policy == "round_robin", "unknown partitioning '" << policy << "'");
  RIDE_EXPECTS(partitions > 0, "no partitions");
}

int Partitioner::next(std::uint32_t stream) {
  if (keyed_) return static_cast<int>(stream % static_cast<std::uint32_t>(partitions_));
  return static_cast<int>(counter_++ % static_cast<std::uint64_t>(partitions_));
}

}  // namespace ride::ingest

#include "ingest/synthetic_source.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "core/checksum.h"
#include "core/error.h"

namespace ride::ingest {

namespace {

/// Word i of a frame is murmur3's fmix32 of (i * golden + key): a bijection of a counter, so
/// every lane is independent and the loop vectorises (the clones pick AVX-512/AVX2 at load
/// time); ~4x faster than a serial splitmix64 stream, which made ingest the bottleneck.
__attribute__((target_clones("arch=x86-64-v4", "avx2", "default"))) void fill_words(
    std::uint32_t* dst, std::size_t words, std::uint32_t key) {
  for (std::size_t i = 0; i < words; ++i) {
    std::uint32_t h = static_cast<std::uint32_t>(i) * 0x9e3779b1u + key;
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    dst[i] = h;
  }
}

}  // namespace

void fill_synthetic_frame(std::uint64_t seed, std::uint32_t stream, std::uint64_t sequence,
                          std::byte* dst, std::size_t n) {
  const auto key = static_cast<std::uint32_t>(
      mix64(seed ^ mix64((std::uint64_t{stream} << 40) ^ sequence ^ 0x6a09e667f3bcc909ULL)));
  const std::size_t words = n / 4;
  // Buffers are at least 4-byte aligned here (frame pixels follow 48 bytes of headers).
  if (reinterpret_cast<std::uintptr_t>(dst) % alignof(std::uint32_t) == 0) {
    fill_words(reinterpret_cast<std::uint32_t*>(dst), words, key);
  } else {
    std::uint32_t tmp[256];
    for (std::size_t i = 0; i < words; i += 256) {
      const std::size_t k = std::min<std::size_t>(256, words - i);
      fill_words(tmp, k, key + static_cast<std::uint32_t>(i) * 0x9e3779b1u);
      std::memcpy(dst + 4 * i, tmp, 4 * k);
    }
  }
  if (n % 4) {
    std::uint32_t last;
    fill_words(&last, 1, key + static_cast<std::uint32_t>(words) * 0x9e3779b1u);
    std::memcpy(dst + 4 * words, &last, n % 4);
  }
}

namespace {
RateSchedule constant_rate(double fps) {
  RIDE_EXPECTS(fps > 0, "fps must be > 0");
  return RateSchedule(fps);
}
}  // namespace

FrameSchedule::FrameSchedule(std::vector<std::uint32_t> streams, int total_streams, double fps,
                             std::uint64_t frames_per_stream, bool paced)
    : FrameSchedule(std::move(streams), total_streams, constant_rate(fps), frames_per_stream, paced) {}

FrameSchedule::FrameSchedule(std::vector<std::uint32_t> streams, int total_streams, RateSchedule rate,
                             std::uint64_t frames_per_stream, bool paced)
    : streams_(std::move(streams)),
      next_seq_(streams_.size(), 0),
      total_streams_(total_streams),
      rate_(std::move(rate)),
      frames_per_stream_(frames_per_stream),
      paced_(paced),
      remaining_(frames_per_stream * streams_.size()),
      total_(remaining_) {
  RIDE_EXPECTS(total_streams > 0, "no streams");
}

void FrameSchedule::add(std::uint32_t stream, std::uint64_t from) {
  for (std::size_t i = 0; i < streams_.size(); ++i) {
    RIDE_EXPECTS(streams_[i] != stream, "stream " << stream << " is already in the schedule");
  }
  streams_.push_back(stream);
  next_seq_.push_back(std::min(from, frames_per_stream_));
  const std::uint64_t n = frames_per_stream_ - next_seq_.back();
  remaining_ += n;
  total_ += n;
}

double FrameSchedule::due(std::size_t i) const {
  if (!paced_) return 0.0;
  // Phases spread the streams over one frame interval of the rate at the time.
  const double phase = static_cast<double>(streams_[i]) / total_streams_;
  return rate_.time_of(static_cast<double>(next_seq_[i]) + phase);
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

Partitioner::Partitioner(Partitioning policy, int partitions)
    : keyed_(policy == Partitioning::key), partitions_(partitions) {
  RIDE_EXPECTS(partitions > 0, "no partitions");
}

int Partitioner::of(std::uint32_t stream, std::uint64_t sequence, int attempt) const {
  const auto p = static_cast<std::uint64_t>(partitions_);
  const std::uint64_t a = static_cast<std::uint64_t>(std::max(0, attempt));
  if (keyed_) return static_cast<int>((stream + a) % p);
  // Consecutive frames of a stream, and the streams' frames of one tick, land on successive
  // partitions.
  return static_cast<int>((stream + sequence + a) % p);
}

}  // namespace ride::ingest

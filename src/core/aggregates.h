#pragma once
/// @brief A stage's group-level reduction (RIDE's per-stage aggregates): for every stream and
/// every scalar of the stage's task, the count of frames with a value, its sum, min and max.
/// Workers keep one per stage over the rows the sink stored from them; at the end of a job each
/// stage's group reduces them (transport: a survivors' communicator), and the master adds the
/// rows of ranks no longer in the group from the results file. Also the two messages of that
/// exchange (REDUCE, AGGREGATES), with their codecs. Pure.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/buffer.h"

namespace ride {

class ScalarAggregates {
 public:
  ScalarAggregates() = default;
  ScalarAggregates(std::size_t streams, std::size_t scalars);

  /// One frame of `stream`: values[k] for scalar k (NaN: the task gave none, not counted).
  /// Streams past the ones sized for are added.
  void add(std::uint32_t stream, const double* values);
  /// Adds another's counts (same number of scalars; streams grow to the larger).
  void merge(const ScalarAggregates& other);

  std::size_t streams() const { return streams_; }
  std::size_t scalars() const { return scalars_; }
  std::uint64_t count(std::size_t stream, std::size_t k) const;
  double sum(std::size_t stream, std::size_t k) const;
  double min(std::size_t stream, std::size_t k) const;  ///< +inf when count is 0
  double max(std::size_t stream, std::size_t k) const;  ///< -inf when count is 0

  /// The arrays a reduction combines element by element: (count, sum) pairs (summed), minima,
  /// maxima; index (stream * scalars + k).
  std::vector<double>& sums() { return sums_; }
  std::vector<double>& mins() { return mins_; }
  std::vector<double>& maxs() { return maxs_; }
  /// Grows to `streams` (a reduction needs the same lengths on every member).
  void resize_streams(std::size_t streams);

  /// How a group reduced: over MPI (its survivors' communicator) or NCCL (its GPUs).
  enum class Method : std::uint32_t { mpi = 0, nccl = 1 };
  /// AGGREGATES body: u32 stage, u32 method, u32 streams, u32 scalars, u32 member count, members
  /// (i32), then the three arrays (f64).
  Buffer encode(int stage, const std::vector<int>& members, Method method = Method::mpi) const;
  struct Decoded;
  /// Throws ride::Error on a malformed body.
  static Decoded decode(const Buffer& body);

  bool operator==(const ScalarAggregates&) const = default;

 private:
  std::size_t streams_ = 0, scalars_ = 0;
  std::vector<double> sums_, mins_, maxs_;
};

struct ScalarAggregates::Decoded {
  int stage = 0;
  Method method = Method::mpi;
  std::vector<int> members;
  ScalarAggregates aggregates;
};

/// REDUCE body: the members of each stage's group reduction (world ranks, ascending; empty: no
/// reduction for that stage): u32 stages, then per stage u32 count and count x i32.
Buffer encode_reduce_request(const std::vector<std::vector<int>>& members);
std::vector<std::vector<int>> decode_reduce_request(const Buffer& body);

}  // namespace ride

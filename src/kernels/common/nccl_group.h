#pragma once
/// @brief A GPU stage group's NCCL communicator, for its group-level reductions (issue #12):
/// one member per GPU, built from a unique id the first member makes and the others receive
/// (over MPI: the caller's job). Plain C++ (no CUDA or NCCL types); nccl_group.cpp in builds
/// with NCCL, nccl_group_stub.cpp otherwise.
#include <cstddef>
#include <memory>
#include <vector>

namespace ride::kernels {

/// True in a build with NCCL (CMake found nccl.h and libnccl).
bool nccl_compiled();
/// Bytes of an NCCL unique id.
constexpr std::size_t kNcclIdBytes = 128;
/// A new unique id for a communicator. Throws ride::Error without NCCL.
std::vector<std::byte> nccl_unique_id();

class NcclGroup {
 public:
  /// Joins the communicator `id` as member `index` of `members`, on the CUDA device current on
  /// the calling thread (each member on a GPU of its own: NCCL refuses two on one device).
  /// Collective over the members (ncclCommInitRank). Throws ride::Error (ride::DeviceLost for a
  /// sticky CUDA error) on failure, or without NCCL.
  NcclGroup(const std::vector<std::byte>& id, int members, int index);
  ~NcclGroup();
  NcclGroup(const NcclGroup&) = delete;
  NcclGroup& operator=(const NcclGroup&) = delete;
  int members() const;
  int index() const;
  /// ncclReduce to member 0 on the GPUs: element-wise sums, minima and maxima (float64), in
  /// place; member 0's vectors hold the results when it returns. Collective.
  void reduce(std::vector<double>& sums, std::vector<double>& mins, std::vector<double>& maxs);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ride::kernels

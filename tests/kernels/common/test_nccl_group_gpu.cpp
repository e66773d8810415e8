// A GPU stage group's NCCL communicator (kernels/common/nccl_group.h), one member: the reduction
// on the device gives back what went in. Label `gpu`; skips without NCCL or a device. (Groups of
// several members run in mpi.gpu.pipeline_nccl_reduction.)
#include <gtest/gtest.h>

#include <vector>

#include "core/error.h"
#include "kernels/common/cuda_device.h"
#include "kernels/common/nccl_group.h"

namespace ride::kernels {
namespace {

TEST(NcclGroupGpu, OneMemberReducesToItself) {
  if (!nccl_compiled()) GTEST_SKIP() << "no NCCL in this build";
  if (cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device";
  cuda_bind_device(0);
  const auto id = nccl_unique_id();
  ASSERT_EQ(id.size(), kNcclIdBytes);
  NcclGroup g(id, 1, 0);
  EXPECT_EQ(g.members(), 1);
  std::vector<double> sums = {1, 2.5, 3}, mins = {-1, 4}, maxs = {7, 8};
  g.reduce(sums, mins, maxs);
  EXPECT_EQ(sums, (std::vector<double>{1, 2.5, 3}));
  EXPECT_EQ(mins, (std::vector<double>{-1, 4}));
  EXPECT_EQ(maxs, (std::vector<double>{7, 8}));
  std::vector<double> none;
  g.reduce(none, none, none);  // an empty stage: nothing to move
}

TEST(NcclGroupGpu, BadArgumentsAreErrors) {
  if (!nccl_compiled()) {
    EXPECT_THROW(nccl_unique_id(), Error);
    EXPECT_THROW(NcclGroup({}, 1, 0), Error);
    return;
  }
  EXPECT_THROW(NcclGroup(std::vector<std::byte>(3), 1, 0), Error);
  EXPECT_THROW(NcclGroup(std::vector<std::byte>(kNcclIdBytes), 2, 5), Error);
}

}  // namespace
}  // namespace ride::kernels

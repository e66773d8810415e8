// The sticky-fault drill on a real device: an illegal address leaves the context unusable, the
// drill reports it as ride::DeviceLost, and so does the next kernel call (what a worker would
// see on its next frame). Label `gpu`; skips without a device.
#include <gtest/gtest.h>

#include <vector>

#include "core/error.h"
#include "kernels/common/cuda_device.h"
#include "kernels/stddev/stddev.h"

namespace ride::kernels {
namespace {

TEST(CudaFaultGpu, IllegalAddressIsStickyAndReportedAsDeviceLost) {
  if (cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device";
  cuda_bind_device(0);
  EXPECT_THROW(cuda_inject_sticky_fault(), DeviceLost);
  std::vector<std::uint8_t> src(64 * 64, 7);
  std::vector<float> dst(src.size());
  EXPECT_THROW(stddev_filter_u8_cuda(src.data(), 64, 64, 64, 5, dst.data(), 64), DeviceLost);
}

}  // namespace
}  // namespace ride::kernels

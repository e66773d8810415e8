// Device selection and the sticky-fault drill (kernels/common/cuda_device.h). Without a device
// both must refuse with a plain ride::Error (never DeviceLost: nothing was lost). With one, the
// drill must leave a real sticky error that surfaces as ride::DeviceLost; that case lives in
// its own binary (test_cuda_fault_gpu) because it ruins the process's CUDA context.
#include <gtest/gtest.h>

#include "core/error.h"
#include "kernels/common/cuda_device.h"
#include "kernels/stddev/stddev.h"

namespace ride::kernels {
namespace {

TEST(CudaDevice, CountAgreesWithAvailability) {
  EXPECT_EQ(cuda_device_count() > 0, cuda_device_available());
  if (!cuda_compiled()) {
    EXPECT_EQ(cuda_device_count(), 0);
  }
}

TEST(CudaDevice, WithoutADeviceBindingAndTheDrillRefuse) {
  if (cuda_device_count() > 0) GTEST_SKIP() << "this host has a CUDA device";
  try {
    cuda_bind_device(0);
    FAIL() << "cuda_bind_device succeeded without a device";
  } catch (const DeviceLost&) {
    FAIL() << "no device is not a lost device";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("CUDA"), std::string::npos) << e.what();
  }
  EXPECT_THROW(cuda_inject_sticky_fault(), Error);
}

TEST(CudaDevice, BindsLocalRankModuloCount) {
  const int n = cuda_device_count();
  if (n == 0) GTEST_SKIP() << "no CUDA device";
  EXPECT_EQ(cuda_bind_device(0), 0);
  EXPECT_EQ(cuda_bind_device(n), 0);
  EXPECT_EQ(cuda_bind_device(2 * n - 1), n - 1);
}

}  // namespace
}  // namespace ride::kernels

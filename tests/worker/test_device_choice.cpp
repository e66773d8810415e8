/// Where a stage's task runs (worker/device_choice.h): cpu | gpu | auto against the task's GPU
/// path and the host's devices; and the node-local rank a GPU is bound by.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "core/error.h"
#include "worker/device_choice.h"

namespace ride {
namespace {

using Outcome = DeviceDecision::Outcome;

DeviceQuery query(DeviceChoice setting, bool task_has_gpu, int devices, bool cuda_compiled = true) {
  return {setting, "stage.second.device", task_has_gpu, [devices] { return devices; }, cuda_compiled, "node7"};
}

TEST(ChooseDevice, CpuAlwaysRunsOnTheCpu) {
  for (bool gpu_task : {false, true}) {
    for (int devices : {0, 1, 4}) {
      const DeviceDecision c = choose_device(query(DeviceChoice::cpu, gpu_task, devices));
      EXPECT_EQ(c.outcome, Outcome::cpu) << gpu_task << " " << devices;
      EXPECT_FALSE(c.use_gpu());
      EXPECT_TRUE(c.message.empty());
    }
  }
}

TEST(ChooseDevice, TheDevicesAreCountedOnlyWhenTheDecisionNeedsThem) {
  // Counting starts the CUDA runtime: a stage that cannot run on a GPU must not pay for it.
  int asked = 0;
  auto counting = [&](DeviceChoice setting, bool task_has_gpu) {
    DeviceQuery q = query(setting, task_has_gpu, 1);
    q.device_count = [&asked] {
      ++asked;
      return 1;
    };
    return choose_device(q).outcome;
  };
  EXPECT_EQ(counting(DeviceChoice::cpu, true), Outcome::cpu);
  EXPECT_EQ(counting(DeviceChoice::automatic, false), Outcome::cpu);
  EXPECT_EQ(asked, 0);
  EXPECT_EQ(counting(DeviceChoice::automatic, true), Outcome::gpu);
  EXPECT_EQ(counting(DeviceChoice::gpu, false), Outcome::gpu);
  EXPECT_EQ(asked, 2);
}

TEST(ChooseDevice, AutoForATaskWithoutAGpuPathRunsOnTheCpuSilently) {
  for (int devices : {0, 2}) {
    const DeviceDecision c = choose_device(query(DeviceChoice::automatic, false, devices));
    EXPECT_EQ(c.outcome, Outcome::cpu);
    EXPECT_TRUE(c.message.empty()) << "no notice: the GPU was never an option";
  }
}

TEST(ChooseDevice, AutoForAGpuTaskUsesTheDevice) {
  const DeviceDecision c = choose_device(query(DeviceChoice::automatic, true, 1));
  EXPECT_EQ(c.outcome, Outcome::gpu);
  EXPECT_TRUE(c.use_gpu());
  EXPECT_TRUE(c.message.empty());
}

TEST(ChooseDevice, AutoForAGpuTaskWithoutADeviceFallsBackWithANotice) {
  const DeviceDecision c = choose_device(query(DeviceChoice::automatic, true, 0));
  EXPECT_EQ(c.outcome, Outcome::cpu_fallback);
  EXPECT_FALSE(c.use_gpu());
  EXPECT_EQ(c.message, "stage.second.device=auto: no CUDA device on node7, the task runs on the CPU");
}

TEST(ChooseDevice, GpuWithADeviceRunsThereWhateverTheTask) {
  for (bool gpu_task : {false, true}) {
    const DeviceDecision c = choose_device(query(DeviceChoice::gpu, gpu_task, 2));
    EXPECT_EQ(c.outcome, Outcome::gpu) << gpu_task;
    EXPECT_TRUE(c.use_gpu());
  }
}

TEST(ChooseDevice, GpuWithoutADeviceIsAnErrorNamingTheKeyAndHost) {
  for (bool gpu_task : {false, true}) {
    const DeviceDecision c = choose_device(query(DeviceChoice::gpu, gpu_task, 0, true));
    EXPECT_EQ(c.outcome, Outcome::error);
    EXPECT_FALSE(c.use_gpu());
    EXPECT_EQ(c.message, "stage.second.device=gpu but host node7 has no usable CUDA device");
  }
}

TEST(ChooseDevice, TheErrorSaysWhenTheBuildHasNoCuda) {
  const DeviceDecision c = choose_device(query(DeviceChoice::gpu, true, 0, false));
  EXPECT_EQ(c.outcome, Outcome::error);
  EXPECT_EQ(c.message, "stage.second.device=gpu but host node7 has no usable CUDA device (no CUDA build)");
}

/// A fake environment: only the variables in the map are set.
EnvLookup env_of(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const char* name) -> const char* {
    auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  };
}

TEST(LocalRank, WithoutALauncherVariableItIsTheWorldRank) {
  EXPECT_EQ(local_rank(env_of({}), 5), 5);
  EXPECT_EQ(local_rank(env_of({{"OMPI_COMM_WORLD_RANK", "3"}, {"SLURM_PROCID", "2"}}), 5), 5)
      << "world-rank variables are not local ranks";
}

TEST(LocalRank, EachLauncherVariableAloneIsRead) {
  EXPECT_EQ(local_rank(env_of({{"OMPI_COMM_WORLD_LOCAL_RANK", "3"}}), 9), 3);
  EXPECT_EQ(local_rank(env_of({{"SLURM_LOCALID", "1"}}), 9), 1);
  EXPECT_EQ(local_rank(env_of({{"MPI_LOCALRANKID", "2"}}), 9), 2);
  EXPECT_EQ(local_rank(env_of({{"MPI_LOCALRANKID", "0"}}), 9), 0);
}

TEST(LocalRank, OpenMpiThenSlurmThenHydra) {
  EXPECT_EQ(
      local_rank(env_of({{"OMPI_COMM_WORLD_LOCAL_RANK", "3"}, {"SLURM_LOCALID", "1"}, {"MPI_LOCALRANKID", "2"}}), 9),
      3);
  EXPECT_EQ(local_rank(env_of({{"SLURM_LOCALID", "1"}, {"MPI_LOCALRANKID", "2"}}), 9), 1);
  EXPECT_EQ(local_rank(env_of({{"OMPI_COMM_WORLD_LOCAL_RANK", "4"}, {"MPI_LOCALRANKID", "2"}}), 9), 4);
}

TEST(LocalRank, ANonNumberIsAnErrorNamingTheVariable) {
  for (const char* bad : {"", "abc", "1x", " 1", "-1", "99999999999999999999"}) {
    try {
      local_rank(env_of({{"SLURM_LOCALID", bad}, {"MPI_LOCALRANKID", "2"}}), 9);
      FAIL() << "SLURM_LOCALID='" << bad << "' was accepted";
    } catch (const Error& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("SLURM_LOCALID='" + std::string(bad) + "'"), std::string::npos) << what;
      EXPECT_NE(what.find("not a node-local rank"), std::string::npos) << what;
    }
  }
}

}  // namespace
}  // namespace ride

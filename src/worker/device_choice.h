#pragma once
/// @brief Where a stage's task runs on this rank (CPU or a CUDA device), and which device a rank
/// binds: pure decisions, tested without CUDA or MPI. The worker reads the device count and the
/// launcher's environment, passes them in, and prints or throws what comes back.
#include <functional>
#include <string>

#include "core/choices.h"

namespace ride {

/// @brief What the decision depends on; nothing here reads CUDA or the environment itself.
struct DeviceQuery {
  DeviceChoice setting = DeviceChoice::cpu;  ///< the stage's device (worker.device, stage.NAME.device)
  std::string key;                           ///< the setting's key, for messages (e.g. "stage.second.device")
  bool task_has_gpu = false;                 ///< the stage's task has a GPU path (task::Info::gpu)
  /// Usable CUDA devices on this host. Asked only when the decision depends on it: asking
  /// starts the CUDA runtime, which a stage on the CPU must not pay for.
  std::function<int()> device_count;
  bool cuda_compiled = false;  ///< this build has CUDA
  std::string host;            ///< this rank's host, for messages
};

/// @brief The decision, with the text to print (fallback) or to throw (error).
struct DeviceDecision {
  enum class Outcome {
    cpu,           ///< asked for (cpu), or auto for a task without a GPU path
    gpu,           ///< gpu or auto, and the host has a device
    cpu_fallback,  ///< auto for a GPU task on a host without a device: `message` says so
    error,         ///< gpu on a host without a device: `message` names the key and the host
  };
  Outcome outcome = Outcome::cpu;
  std::string message;  ///< empty for cpu and gpu
  bool use_gpu() const { return outcome == Outcome::gpu; }
};

/// @brief cpu runs on the CPU. auto runs on a device when the task has a GPU path and the host a
/// device, else on the CPU (with a notice when only the device was missing). gpu runs on a device
/// whenever the host has one (the task decides what it does there), and is an error without one.
DeviceDecision choose_device(const DeviceQuery& q);

/// @brief A getenv-like lookup: the variable's value, or nullptr when it is not set.
using EnvLookup = std::function<const char*(const char*)>;

/// @brief The rank's node-local index (one GPU per rank: device = local rank mod device count),
/// from the launcher's environment: OMPI_COMM_WORLD_LOCAL_RANK (Open MPI), then SLURM_LOCALID
/// (srun), then MPI_LOCALRANKID (MPICH's hydra); the first one set wins. None set: `world_rank`.
/// A set variable whose value is not a non-negative integer (all of it) throws ride::Error
/// naming the variable and its value (a launcher bug; binding every rank to device 0, as atoi
/// once did, would hide it).
int local_rank(const EnvLookup& env, int world_rank);

}  // namespace ride

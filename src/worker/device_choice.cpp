#include "worker/device_choice.h"

#include <charconv>
#include <string_view>

#include "core/error.h"

namespace ride {

DeviceDecision choose_device(const DeviceQuery& q) {
  using Outcome = DeviceDecision::Outcome;
  if (q.setting == DeviceChoice::cpu) return {Outcome::cpu, {}};
  if (q.setting == DeviceChoice::automatic && !q.task_has_gpu) return {Outcome::cpu, {}};
  if (q.device_count() > 0) return {Outcome::gpu, {}};
  if (q.setting == DeviceChoice::gpu) {
    return {Outcome::error, q.key + "=gpu but host " + q.host + " has no usable CUDA device" +
                                (q.cuda_compiled ? "" : " (no CUDA build)")};
  }
  return {Outcome::cpu_fallback, q.key + "=auto: no CUDA device on " + q.host + ", the task runs on the CPU"};
}

int local_rank(const EnvLookup& env, int world_rank) {
  for (const char* name : {"OMPI_COMM_WORLD_LOCAL_RANK", "SLURM_LOCALID", "MPI_LOCALRANKID"}) {
    const char* s = env(name);
    if (s == nullptr) continue;
    const std::string_view text(s);
    int value = -1;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    RIDE_EXPECTS(ec == std::errc() && end == text.data() + text.size() && value >= 0,
                 name << "='" << text << "' is not a node-local rank (a non-negative integer)");
    return value;
  }
  return world_rank;
}

}  // namespace ride

#pragma once
/// @brief The tasks a process can run: the built-in ones plus those of task libraries loaded at
/// run time (dlopen; see ride_task.h), and the resolution of a job's [task] and [params] into
/// one task with its parameters. Pure logic apart from dlopen: no MPI.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/config.h"
#include "task/ride_task.h"

namespace ride::task {

class TaskRegistry final : public Registry {
 public:
  /// The built-in tasks only.
  TaskRegistry();
  /// Loads a task library and registers its tasks. Throws ride::Error naming the path when it
  /// cannot be opened, lacks ride_register_tasks, refuses the API version, or declares a task
  /// badly (a name taken already, more than kMaxScalars scalars, no CPU and no GPU path).
  void load_library(const std::string& path);
  void add(std::shared_ptr<const Task> task) override;
  /// nullptr when there is no such task.
  std::shared_ptr<const Task> find(const std::string& name) const;
  std::vector<std::string> names() const;
  /// "built-in" or the library's path.
  const std::string& origin(const std::string& name) const { return origin_.at(name); }

 private:
  std::map<std::string, std::shared_ptr<const Task>> tasks_;
  std::map<std::string, std::string> origin_;
  std::string loading_ = "built-in";
};

/// The registry of this process for the job's configuration: built-ins plus task.library
/// entries (comma-separated paths), loaded once. Throws ConfigError naming task.library.
TaskRegistry& registry_for(const JobConfig& cfg);

/// A job's task, resolved.
struct ResolvedTask {
  std::shared_ptr<const Task> task;
  Info info;
  std::map<std::string, std::string> params;  ///< every declared parameter, defaults filled in
};

/// task.name and [params] against the registry. Throws ConfigError naming the key and where it
/// was set: an unknown task (listing the available ones), an undeclared parameter, a stateful
/// task without ingest.partitioning = key, worker.device = gpu for a task without a GPU path.
/// Parameter values themselves are checked by creating an instance (check_task_params).
ResolvedTask resolve_task(const TaskRegistry& registry, const JobConfig& cfg);
/// The same for one stage of the job (its task, [stage.NAME.params], partitioning, device);
/// errors name the stage's keys.
ResolvedTask resolve_task(const TaskRegistry& registry, const JobConfig& cfg, const StageConfig& stage);

/// Creates one CPU instance to let the task check its parameter values; a refusal becomes a
/// ConfigError naming the [params] keys' origins.
void check_task_params(const ResolvedTask& t, const JobConfig& cfg);
void check_task_params(const ResolvedTask& t, const JobConfig& cfg, const StageConfig& stage);

/// Text for `ride tasks`: every task with its summary, state, devices, outputs and parameters.
std::string describe_tasks(const TaskRegistry& registry);

/// Registers ride's own tasks (task/builtin_*.cpp).
void register_builtin_tasks(Registry& registry);

}  // namespace ride::task

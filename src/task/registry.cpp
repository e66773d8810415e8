#include "task/registry.h"

#include <dlfcn.h>

#include <mutex>
#include <sstream>

#include "core/error.h"

namespace ride::task {

TaskRegistry::TaskRegistry() { register_builtin_tasks(*this); }

void TaskRegistry::add(std::shared_ptr<const Task> task) {
  RIDE_EXPECTS(task != nullptr, loading_ << ": registered a null task");
  const Info info = task->info();
  RIDE_EXPECTS(!info.name.empty() && info.name.find_first_not_of(
                                         "abcdefghijklmnopqrstuvwxyz0123456789_") == std::string::npos,
               loading_ << ": task name '" << info.name << "' is not [a-z0-9_]+");
  if (auto it = origin_.find(info.name); it != origin_.end()) {
    RIDE_FAIL(loading_ << ": task '" << info.name << "' is already defined by " << it->second);
  }
  RIDE_EXPECTS(info.scalars.size() <= kMaxScalars,
               loading_ << ": task '" << info.name << "' declares " << info.scalars.size()
                        << " scalars; at most " << kMaxScalars);
  RIDE_EXPECTS(info.cpu || info.gpu, loading_ << ": task '" << info.name << "' has no CPU and no GPU path");
  RIDE_EXPECTS(info.gray || info.bgr, loading_ << ": task '" << info.name << "' accepts no input format");
  tasks_[info.name] = std::move(task);
  origin_[info.name] = loading_;
}

void TaskRegistry::load_library(const std::string& path) {
  // RTLD_NOW: a missing symbol is reported here, not in the middle of a run. Never dlclose'd:
  // the tasks' code lives in the library for the rest of the process.
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  RIDE_EXPECTS(handle != nullptr, "cannot load task library '" << path << "': " << dlerror());
  using Entry = int (*)(Registry*, int);
  auto entry = reinterpret_cast<Entry>(dlsym(handle, "ride_register_tasks"));
  RIDE_EXPECTS(entry != nullptr, "task library '" << path
                                                  << "' does not export ride_register_tasks "
                                                     "(declare it extern \"C\", see ride_task.h)");
  loading_ = path;
  int rc = 0;
  try {
    rc = entry(this, kApiVersion);
  } catch (...) {
    loading_ = "built-in";
    throw;
  }
  loading_ = "built-in";
  RIDE_EXPECTS(rc == 0, "task library '" << path << "' refused to register (returned " << rc
                                         << "; ride's task API version is " << kApiVersion << ")");
}

std::shared_ptr<const Task> TaskRegistry::find(const std::string& name) const {
  auto it = tasks_.find(name);
  return it == tasks_.end() ? nullptr : it->second;
}

std::vector<std::string> TaskRegistry::names() const {
  std::vector<std::string> out;
  for (const auto& [name, t] : tasks_) out.push_back(name);
  return out;
}

TaskRegistry& registry_for(const JobConfig& cfg) {
  static std::mutex mu;
  static std::unique_ptr<TaskRegistry> registry;
  static std::string loaded;
  std::lock_guard lock(mu);
  if (!registry || loaded != cfg.task_library) {
    auto r = std::make_unique<TaskRegistry>();
    std::stringstream list(cfg.task_library);
    for (std::string path; std::getline(list, path, ',');) {
      const auto b = path.find_first_not_of(" \t");
      if (b == std::string::npos) continue;
      path = path.substr(b, path.find_last_not_of(" \t") - b + 1);
      try {
        r->load_library(path);
      } catch (const Error& e) {
        throw ConfigError("bad value for " + cfg.where("task.library") + ": " + e.what());
      }
    }
    registry = std::move(r);
    loaded = cfg.task_library;
  }
  return *registry;
}

ResolvedTask resolve_task(const TaskRegistry& registry, const JobConfig& cfg) {
  // (A JobConfig built in code, not parsed, has no stages yet: its [task] is the one stage.)
  return resolve_task(registry, cfg, cfg.stages.empty() ? cfg.single_stage() : cfg.stages.front());
}

ResolvedTask resolve_task(const TaskRegistry& registry, const JobConfig& cfg, const StageConfig& stage) {
  ResolvedTask out;
  const std::string task_key = stage.key("task");
  out.task = registry.find(stage.task);
  if (!out.task) {
    std::string names;
    for (const auto& n : registry.names()) names += (names.empty() ? "" : ", ") + n;
    throw ConfigError("bad value for " + cfg.where(task_key) + ": unknown task '" + stage.task +
                      "'; available: " + names + " ('ride tasks' describes them)");
  }
  out.info = out.task->info();
  for (const auto& p : out.info.params) out.params[p.name] = p.default_value;
  for (const auto& [key, value] : stage.params) {
    if (!out.params.count(key)) {
      std::string declared;
      for (const auto& p : out.info.params) declared += (declared.empty() ? "" : ", ") + p.name;
      throw ConfigError("unknown key " + cfg.where(stage.key("params." + key)) + ": task '" + stage.task +
                        "' has " + (declared.empty() ? "no parameters" : "parameters " + declared));
    }
    out.params[key] = value;
  }
  if (out.info.state == State::per_stream && stage.partitioning != Partitioning::key) {
    throw ConfigError("bad value for " + cfg.where(stage.key("partitioning")) + ": task '" + stage.task +
                      "' keeps state per stream, so every frame of a stream must reach the same "
                      "partition in order: set " + stage.key("partitioning") + " = key");
  }
  if (stage.device == DeviceChoice::gpu && !out.info.gpu) {
    throw ConfigError("bad value for " + cfg.where(stage.key("device")) + ": task '" + stage.task +
                      "' has no GPU path (use cpu or auto)");
  }
  if (stage.device == DeviceChoice::cpu && !out.info.cpu) {
    throw ConfigError("bad value for " + cfg.where(stage.key("device")) + ": task '" + stage.task +
                      "' has no CPU path (use gpu or auto)");
  }
  return out;
}

void check_task_params(const ResolvedTask& t, const JobConfig& cfg) {
  check_task_params(t, cfg, cfg.stages.empty() ? cfg.single_stage() : cfg.stages.front());
}

void check_task_params(const ResolvedTask& t, const JobConfig& cfg, const StageConfig& stage) {
  Setup setup;
  setup.params = t.params;
  setup.device = t.info.cpu ? Device::cpu : Device::gpu;
  setup.threads = 1;
  try {
    (void)t.task->create(setup);
  } catch (const std::exception& e) {
    std::string where;
    for (const auto& [key, value] : stage.params) {
      where += (where.empty() ? "" : ", ") + cfg.where(stage.key("params." + key));
    }
    throw ConfigError("task '" + stage.task + "'" + (stage.single ? "" : " (stage " + stage.name + ")") +
                      " refused its parameters" +
                      (where.empty() ? std::string(" (all defaults)") : " (" + where + ")") + ": " +
                      e.what());
  }
}

std::string describe_tasks(const TaskRegistry& registry) {
  std::ostringstream os;
  for (const auto& name : registry.names()) {
    const Info i = registry.find(name)->info();
    os << name << " — " << i.summary << "\n";
    os << "    " << (i.state == State::per_stream ? "stateful per stream (needs ingest.partitioning = key)"
                                                   : "stateless")
       << "; runs on " << (i.cpu ? "cpu" : "") << (i.cpu && i.gpu ? ", " : "") << (i.gpu ? "gpu" : "")
       << "; input " << (i.gray ? "gray" : "") << (i.gray && i.bgr ? " or " : "") << (i.bgr ? "bgr" : "")
       << "; from " << registry.origin(name) << "\n";
    std::string outs;
    for (const auto& s : i.scalars) outs += (outs.empty() ? "" : ", ") + s;
    os << "    outputs: scalars [" << outs << "]" << (i.image ? ", image" : "")
       << (i.keypoints ? ", keypoints" : "") << (i.boxes ? ", boxes" : "") << "\n";
    for (const auto& p : i.params) {
      os << "    params." << p.name << " = " << p.default_value << "    " << p.help << "\n";
    }
  }
  return os.str();
}

}  // namespace ride::task

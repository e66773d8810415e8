#pragma once
/// @brief Registration of ride's own tasks, one function per family (task/builtin_*.cpp).
#include "task/ride_task.h"

namespace ride::task {
void register_basic_tasks(Registry& r);     ///< stddev, noop
}  // namespace ride::task

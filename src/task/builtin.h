#pragma once
/// @brief Registration of ride's own tasks, one function per family (task/builtin_*.cpp).
#include "task/ride_task.h"

namespace ride::task {
void register_basic_tasks(Registry& r);     ///< stddev, noop
void register_ride_app_tasks(Registry& r);  ///< hessian, matmul, fft (RIDE Fig. 9)
void register_cam2_tasks(Registry& r);      ///< ia, me, mod, ft, hd (CAM² Table 4)
}  // namespace ride::task

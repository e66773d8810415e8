#pragma once
/// @brief This process's resource use, from the kernel (/proc/self/status, getrusage): what the
/// broker reports about its buffers and what `ride profile` divides by streams.
#include <cstdint>

namespace ride {

/// Peak resident set (VmHWM), in bytes; 0 if /proc is unavailable.
std::uint64_t peak_rss_bytes();
/// Current resident set (VmRSS), in bytes; 0 if /proc is unavailable.
std::uint64_t current_rss_bytes();
/// Threads of this process now (Threads: in /proc/self/status); 0 if /proc is unavailable.
int process_threads();
/// CPU time (user + system) of the whole process, all threads, in seconds.
double process_cpu_s();

}  // namespace ride

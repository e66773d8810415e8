#pragma once
/// @brief RIDE_CPU_CLONES: put before a hot CPU function to get AVX2 and AVX-512 clones of it,
/// picked at load time (GCC target_clones), since the baseline build targets plain x86-64
/// (SSE2). Expands to nothing on other compilers and architectures. None of the clone targets
/// enables FMA, so a clone rounds like the baseline code wherever contraction is off.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define RIDE_CPU_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define RIDE_CPU_CLONES
#endif

#pragma once
// Seeded draws in [0, 1) for randomized tests: `auto [rng, u] = random_unit(seed);` then u(rng).
#include <cstdint>
#include <random>
#include <utility>

namespace ride::test {

inline std::pair<std::mt19937, std::uniform_real_distribution<double>> random_unit(std::uint32_t seed) {
  return {std::mt19937(seed), std::uniform_real_distribution<double>(0, 1)};
}

}  // namespace ride::test

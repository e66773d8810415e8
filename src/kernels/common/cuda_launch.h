#pragma once
/// @brief Launch geometry of the element-wise grid-stride kernels (one thread per element, the
/// grid capped so that huge counts loop instead). Include only from .cu files.
#include <algorithm>
#include <cstdint>

namespace ride::kernels::cuda {

/// Threads per block of the grid-stride kernels (and of reductions launched beside them).
inline constexpr int kBlock = 256;
/// Most blocks one grid-stride launch uses.
inline constexpr std::int64_t kMaxBlocks = std::int64_t{1} << 20;

/// Blocks of kBlock threads for `count` elements: ceil(count / kBlock), at least 1, at most
/// kMaxBlocks.
inline int blocks_for(std::int64_t count) {
  return static_cast<int>(std::clamp<std::int64_t>((count + kBlock - 1) / kBlock, 1, kMaxBlocks));
}

}  // namespace ride::kernels::cuda

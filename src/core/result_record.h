#pragma once
/// @brief The plain per-frame result types shared by the worker (which fills them), the RESULTS
/// codec (core/results_codec.h) and the sink (which stores them). They live in core, not in
/// sink/result_store.h, so that the codec can use them while core stays free of HDF5.
#include <array>
#include <cstdint>

namespace ride {

/// Scalars a ResultRecord carries: the task's own (at most ride::task::kMaxScalars, 8) plus, in a
/// pipeline of stages, the scalars of upstream stages carried along with the frame.
constexpr int kMaxScalars = 24;

/// dropped: a drop policy discarded the frame's pixels at the broker; the key is accounted for.
enum class ResultStatus : std::int32_t { ok = 0, task_error = 1, dropped = 2 };

/// @brief One processed (or failed) frame, as the sink stores it. Trivially copyable: it travels
/// as raw bytes in RESULTS messages.
struct ResultRecord {
  std::uint64_t sequence = 0;
  std::uint64_t offset = 0;  ///< partition offset of the frame
  std::int64_t capture_ns = 0;
  std::int64_t processed_ns = 0;
  std::uint64_t input_checksum = 0;  ///< hash of the input pixels: proves which frame was processed
  std::uint32_t stream = 0;
  std::uint32_t partition = 0;
  std::int32_t worker_rank = 0;
  std::uint32_t epoch = 0;
  std::uint32_t width = 0;
  std::uint32_t height = 0;
  ResultStatus status = ResultStatus::ok;
  std::array<double, kMaxScalars> scalars{};  ///< the task's per-frame scalars, named by the writer
};

/// @brief An output image: row-major, `channels` interleaved, float32 or (u8) uint8.
struct ImageRef {
  const void* data = nullptr;  ///< null: no image
  std::uint32_t width = 0, height = 0, channels = 1;
  bool u8 = false;
};

/// @brief `count` rows of 5 float32 values (keypoints or boxes); rows null: none stored.
struct ObjectsRef {
  const float* rows = nullptr;
  std::uint32_t count = 0;
};

}  // namespace ride

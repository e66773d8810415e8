#pragma once
/// @brief Frames that overflow a partition's memory ring, appended to HDF5 segment files on
/// local disk and read back by position. Layout: one 2-D dataset `frames_<bytes>` per frame size,
/// one chunk per frame, written with H5Dwrite_chunk. Frames of many sizes (JPEG frames,
/// ingest.encoding = jpeg, are each of their own size) would make a dataset each: past
/// kExactSizes sizes in a segment, a frame goes to the dataset of its size class (the size
/// rounded up to 1/8 of its power of two: at most 12.5 % padding), zero-padded, and is cut back
/// to its size when read. — one write per frame, no chunk cache in
/// between, so a full disk fails the write that hit it (not a later, unrelated call) and the
/// free space the broker checks is the free space left. A segment file is deleted as soon as every frame in it
/// has been committed (the log tells the store; the store knows nothing of offsets).
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "core/buffer.h"

namespace ride {

class SpillStore {
 public:
  struct Location {
    std::uint32_t segment = 0;
    std::uint64_t index = 0;  ///< row in the segment's dataset of frames of this size
    std::uint64_t size = 0;    ///< the frame's bytes
    std::uint64_t stored = 0;  ///< the dataset's row width (size, or its size class)
  };
  /// Sizes a segment stores exactly before frames go to size classes.
  static constexpr std::size_t kExactSizes = 8;
  /// The size class of `bytes`: rounded up to a multiple of 1/8 of its power of two.
  static std::uint64_t size_class(std::uint64_t bytes);

  /// Files are named DIR/PREFIX-sN.h5. Nothing is created until the first write.
  SpillStore(std::string dir, std::string prefix, std::uint64_t segment_bytes);
  ~SpillStore();  ///< closes and removes every file it still has
  SpillStore(const SpillStore&) = delete;
  SpillStore& operator=(const SpillStore&) = delete;

  /// Appends one frame; throws ride::Error naming the file and the cause (e.g. "No space left
  /// on device", "Permission denied") if it cannot be created or written.
  Location write(const Buffer& frame);
  /// Reads a frame back; throws ride::Error on failure.
  Buffer read(const Location& at);
  /// One frame of `segment` is no longer needed; the file goes when none is left (and the
  /// segment is no longer the one being written).
  void release(std::uint32_t segment);

  std::uint64_t bytes_on_disk() const { return bytes_on_disk_; }
  std::size_t open_segments() const { return segments_.size(); }
  std::string path_of(std::uint32_t segment) const;

 private:
  struct Segment;
  void remove_segment(std::uint32_t segment);

  std::string dir_, prefix_;
  std::uint64_t segment_bytes_;
  std::map<std::uint32_t, std::unique_ptr<Segment>> segments_;
  std::uint32_t writing_ = 0;
  bool have_writing_ = false;
  std::uint64_t bytes_on_disk_ = 0;
  Buffer staging_;  ///< a padded frame on its way to (or from) a size-class dataset
};

}  // namespace ride

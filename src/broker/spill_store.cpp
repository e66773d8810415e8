#include "broker/spill_store.h"

#include <cstdio>

#include "core/error.h"
#include "storage/hdf5_handle.h"

namespace ride {

namespace {
// 1 MiB chunks with a cache of several: appends fill whole chunks in the cache, so each chunk
// reaches the disk once and never as a read-modify-write of a partial chunk.
constexpr hsize_t kChunkBytes = 1 << 20;
constexpr std::size_t kChunkCacheBytes = 16 << 20;
}  // namespace

struct SpillStore::Segment {
  h5::File file;
  h5::Dataset bytes;
  std::uint64_t length = 0;  ///< bytes written
  std::uint64_t live = 0;    ///< frames not yet released
  std::string path;
};

SpillStore::SpillStore(std::string dir, std::string prefix, std::uint64_t segment_bytes)
    : dir_(std::move(dir)), prefix_(std::move(prefix)), segment_bytes_(segment_bytes) {
  RIDE_EXPECTS(segment_bytes_ > 0, "spill segment size must be > 0");
}

SpillStore::~SpillStore() {
  while (!segments_.empty()) remove_segment(segments_.begin()->first);
}

std::string SpillStore::path_of(std::uint32_t segment) const {
  return dir_ + "/" + prefix_ + "-s" + std::to_string(segment) + ".h5";
}

SpillStore::Location SpillStore::write(const Buffer& frame) {
  h5::silence_error_printing();
  if (!have_writing_ || segments_.at(writing_)->length >= segment_bytes_) {
    const std::uint32_t next = have_writing_ ? writing_ + 1 : writing_;
    auto seg = std::make_unique<Segment>();
    seg->path = path_of(next);
    try {
      seg->file = h5::File(RIDE_H5_CHECK(H5Fcreate(seg->path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT),
                                         "create spill file '" << seg->path << "'"));
      const hsize_t zero = 0, unlimited = H5S_UNLIMITED;
      h5::Dataspace space(RIDE_H5_CHECK(H5Screate_simple(1, &zero, &unlimited), "spill dataspace"));
      h5::PropList dcpl(RIDE_H5_CHECK(H5Pcreate(H5P_DATASET_CREATE), "spill dcpl"));
      RIDE_H5_CHECK(H5Pset_chunk(dcpl.get(), 1, &kChunkBytes), "spill chunking");
      h5::PropList dapl(RIDE_H5_CHECK(H5Pcreate(H5P_DATASET_ACCESS), "spill dapl"));
      RIDE_H5_CHECK(H5Pset_chunk_cache(dapl.get(), 521, kChunkCacheBytes, 1.0), "spill chunk cache");
      seg->bytes = h5::Dataset(RIDE_H5_CHECK(H5Dcreate2(seg->file.get(), "frames", H5T_NATIVE_UINT8,
                                                        space.get(), H5P_DEFAULT, dcpl.get(), dapl.get()),
                                             "create dataset in spill file '" << seg->path << "'"));
    } catch (...) {
      seg->bytes.reset();
      seg->file.reset();
      std::remove(seg->path.c_str());
      throw;
    }
    // Only now does the segment count: a failed create leaves nothing half-registered.
    segments_[next] = std::move(seg);
    writing_ = next;
    have_writing_ = true;
  }
  Segment& seg = *segments_.at(writing_);
  const hsize_t start = seg.length, count = frame.size(), new_len = seg.length + frame.size();
  RIDE_H5_CHECK(H5Dset_extent(seg.bytes.get(), &new_len), "extend spill file '" << seg.path << "'");
  h5::Dataspace file_space(RIDE_H5_CHECK(H5Dget_space(seg.bytes.get()), "spill space"));
  RIDE_H5_CHECK(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, &start, nullptr, &count, nullptr),
                "spill selection");
  h5::Dataspace mem_space(RIDE_H5_CHECK(H5Screate_simple(1, &count, nullptr), "spill memory space"));
  RIDE_H5_CHECK(H5Dwrite(seg.bytes.get(), H5T_NATIVE_UINT8, mem_space.get(), file_space.get(), H5P_DEFAULT,
                         frame.data()),
                "write " << frame.size() << " bytes to spill file '" << seg.path << "'");
  seg.length = new_len;
  ++seg.live;
  bytes_on_disk_ += frame.size();
  bytes_written_ += frame.size();
  return {writing_, start, frame.size()};
}

Buffer SpillStore::read(const Location& at) {
  h5::silence_error_printing();
  auto it = segments_.find(at.segment);
  RIDE_EXPECTS(it != segments_.end(), "spill segment " << at.segment << " is gone");
  Segment& seg = *it->second;
  Buffer out(at.size);
  const hsize_t start = at.pos, count = at.size;
  h5::Dataspace file_space(RIDE_H5_CHECK(H5Dget_space(seg.bytes.get()), "spill space"));
  RIDE_H5_CHECK(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, &start, nullptr, &count, nullptr),
                "spill selection");
  h5::Dataspace mem_space(RIDE_H5_CHECK(H5Screate_simple(1, &count, nullptr), "spill memory space"));
  RIDE_H5_CHECK(H5Dread(seg.bytes.get(), H5T_NATIVE_UINT8, mem_space.get(), file_space.get(), H5P_DEFAULT,
                        out.data()),
                "read " << at.size << " bytes from spill file '" << seg.path << "'");
  return out;
}

void SpillStore::release(std::uint32_t segment) {
  auto it = segments_.find(segment);
  if (it == segments_.end()) return;
  Segment& seg = *it->second;
  if (seg.live > 0) --seg.live;
  if (seg.live > 0) return;
  if (have_writing_ && segment == writing_) {
    // Everything written so far is committed: start the segment afresh rather than keep a
    // file of dead bytes growing.
    have_writing_ = false;
    ++writing_;
  }
  remove_segment(segment);
}

void SpillStore::remove_segment(std::uint32_t segment) {
  auto it = segments_.find(segment);
  if (it == segments_.end()) return;
  bytes_on_disk_ -= std::min(bytes_on_disk_, it->second->length);
  const std::string path = it->second->path;
  it->second->bytes.reset();
  it->second->file.reset();
  segments_.erase(it);
  if (have_writing_ && segment == writing_) {
    have_writing_ = false;
    ++writing_;
  }
  std::remove(path.c_str());
}

}  // namespace ride

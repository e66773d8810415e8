#include "broker/spill_store.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "core/error.h"
#include "storage/hdf5_handle.h"

namespace ride {

struct SpillStore::Segment {
  h5::File file;
  std::map<std::uint64_t, h5::Dataset> by_size;  ///< frames_<bytes>: [rows, bytes], chunk [1, bytes]
  std::map<std::uint64_t, std::uint64_t> rows;
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

namespace {

h5::Dataset create_frames_dataset(hid_t file, std::uint64_t bytes, const std::string& path) {
  const hsize_t dims[2] = {0, bytes}, maxdims[2] = {H5S_UNLIMITED, bytes}, chunk[2] = {1, bytes};
  h5::Dataspace space(RIDE_H5_CHECK(H5Screate_simple(2, dims, maxdims), "spill dataspace"));
  h5::PropList dcpl(RIDE_H5_CHECK(H5Pcreate(H5P_DATASET_CREATE), "spill dcpl"));
  RIDE_H5_CHECK(H5Pset_chunk(dcpl.get(), 2, chunk), "spill chunking");
  // Space is allocated per chunk as it is written (never a fill of the whole extent).
  RIDE_H5_CHECK(H5Pset_alloc_time(dcpl.get(), H5D_ALLOC_TIME_INCR), "spill allocation time");
  RIDE_H5_CHECK(H5Pset_fill_time(dcpl.get(), H5D_FILL_TIME_NEVER), "spill fill time");
  h5::PropList dapl(RIDE_H5_CHECK(H5Pcreate(H5P_DATASET_ACCESS), "spill dapl"));
  RIDE_H5_CHECK(H5Pset_chunk_cache(dapl.get(), 0, 0, 1.0), "spill chunk cache");
  const std::string name = "frames_" + std::to_string(bytes);
  return h5::Dataset(RIDE_H5_CHECK(H5Dcreate2(file, name.c_str(), H5T_NATIVE_UINT8, space.get(),
                                              H5P_DEFAULT, dcpl.get(), dapl.get()),
                                   "create dataset " << name << " in spill file '" << path << "'"));
}

}  // namespace

SpillStore::Location SpillStore::write(const Buffer& frame) {
  h5::silence_error_printing();
  RIDE_EXPECTS(frame.size() > 0 && frame.size() < (std::uint64_t{1} << 32),
               "spill frames must be 1 byte to 4 GiB (HDF5 chunk limit), got " << frame.size());
  if (!have_writing_ || segments_.at(writing_)->length >= segment_bytes_) {
    const std::uint32_t next = have_writing_ ? writing_ + 1 : writing_;
    auto seg = std::make_unique<Segment>();
    seg->path = path_of(next);
    try {
      // Newest format: an extensible-array chunk index, O(1) per appended chunk (the default
      // v1 B-tree costs more with every frame). Spill files are never read by other tools' old
      // HDF5 versions: they live only while the job runs.
      h5::PropList fapl(RIDE_H5_CHECK(H5Pcreate(H5P_FILE_ACCESS), "spill fapl"));
      RIDE_H5_CHECK(H5Pset_libver_bounds(fapl.get(), H5F_LIBVER_V110, H5F_LIBVER_LATEST), "spill format");
      seg->file = h5::File(RIDE_H5_CHECK(H5Fcreate(seg->path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get()),
                                         "create spill file '" << seg->path << "'"));
    } catch (...) {
      std::remove(seg->path.c_str());
      throw;
    }
    // Only now does the segment count: a failed create leaves nothing half-registered.
    segments_[next] = std::move(seg);
    writing_ = next;
    have_writing_ = true;
  }
  Segment& seg = *segments_.at(writing_);
  const std::uint64_t size = frame.size();
  std::uint64_t bytes = size;
  const std::byte* data = frame.data();
  if (!seg.by_size.count(size) && seg.by_size.size() >= kExactSizes) {
    bytes = size_class(size);
    if (bytes != size) {
      if (staging_.size() < bytes) staging_ = Buffer(std::max<std::uint64_t>(bytes, 2 * staging_.size()));
      std::memcpy(staging_.data(), frame.data(), size);
      std::memset(staging_.data() + size, 0, bytes - size);
      data = staging_.data();
    }
  }
  auto ds = seg.by_size.find(bytes);
  if (ds == seg.by_size.end()) {
    ds = seg.by_size.emplace(bytes, create_frames_dataset(seg.file.get(), bytes, seg.path)).first;
  }
  const std::uint64_t row = seg.rows[bytes];
  // The extent grows 64 rows at a time; rows not yet written have no chunk and take no space.
  if (row % 64 == 0) {
    const hsize_t new_dims[2] = {row + 64, bytes};
    RIDE_H5_CHECK(H5Dset_extent(ds->second.get(), new_dims), "extend spill file '" << seg.path << "'");
  }
  const hsize_t offset[2] = {row, 0};
  RIDE_H5_CHECK(H5Dwrite_chunk(ds->second.get(), H5P_DEFAULT, 0, offset, bytes, data),
                "write " << bytes << " bytes to spill file '" << seg.path << "'");
  seg.rows[bytes] = row + 1;
  seg.length += bytes;
  ++seg.live;
  bytes_on_disk_ += bytes;
  return {writing_, row, size, bytes};
}

std::uint64_t SpillStore::size_class(std::uint64_t bytes) {
  if (bytes <= 64) return 64;
  std::uint64_t top = 1;
  while (top < bytes) top <<= 1;  // the power of two at or above
  const std::uint64_t step = top / 16;  // 1/8 of the power of two below it
  return (bytes + step - 1) / step * step;
}

Buffer SpillStore::read(const Location& at) {
  h5::silence_error_printing();
  auto it = segments_.find(at.segment);
  RIDE_EXPECTS(it != segments_.end(), "spill segment " << at.segment << " is gone");
  Segment& seg = *it->second;
  const std::uint64_t stored = at.stored > 0 ? at.stored : at.size;
  auto ds = seg.by_size.find(stored);
  RIDE_EXPECTS(ds != seg.by_size.end(), "no frames of " << stored << " bytes in " << seg.path);
  Buffer out(at.size);
  std::byte* into = out.data();
  if (stored != at.size) {  // padded to its size class: read whole, cut back
    if (staging_.size() < stored) staging_ = Buffer(std::max<std::uint64_t>(stored, 2 * staging_.size()));
    into = staging_.data();
  }
  const hsize_t offset[2] = {at.index, 0};
  std::uint32_t filters = 0;
  RIDE_H5_CHECK(H5Dread_chunk(ds->second.get(), H5P_DEFAULT, offset, &filters, into),
                "read " << stored << " bytes from spill file '" << seg.path << "'");
  if (into != out.data()) std::memcpy(out.data(), into, at.size);
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
  it->second->by_size.clear();
  it->second->file.reset();
  segments_.erase(it);
  if (have_writing_ && segment == writing_) {
    have_writing_ = false;
    ++writing_;
  }
  std::remove(path.c_str());
}

}  // namespace ride

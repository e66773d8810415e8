#include "sink/result_store.h"

#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <exception>
#include <iostream>
#include <string_view>
#include <utility>

#include "core/error.h"
#include "storage/hdf5_handle.h"

namespace ride {
namespace {

constexpr int kFormatVersion = 1;
constexpr const char* kVersionAttribute = "ride_results_version";
constexpr hsize_t kFrameChunkRows = 1024;  // ~70-130 KB per chunk, depending on scalar count
constexpr hsize_t kErrorChunkRows = 256;

/// One field of /frames that every results file has, in file order.
struct FixedField {
  const char* name;
  std::size_t offset;  // in ResultRecord
  hid_t memory_type;   // negative: the status enum
  hid_t file_type;
};

std::vector<FixedField> fixed_fields() {
  // H5T_NATIVE_* are not constants (they call H5open), hence a function.
  return {
      {"stream", offsetof(ResultRecord, stream), H5T_NATIVE_UINT32, H5T_STD_U32LE},
      {"sequence", offsetof(ResultRecord, sequence), H5T_NATIVE_UINT64, H5T_STD_U64LE},
      {"partition", offsetof(ResultRecord, partition), H5T_NATIVE_UINT32, H5T_STD_U32LE},
      {"offset", offsetof(ResultRecord, offset), H5T_NATIVE_UINT64, H5T_STD_U64LE},
      {"worker_rank", offsetof(ResultRecord, worker_rank), H5T_NATIVE_INT32, H5T_STD_I32LE},
      {"epoch", offsetof(ResultRecord, epoch), H5T_NATIVE_UINT32, H5T_STD_U32LE},
      {"capture_ns", offsetof(ResultRecord, capture_ns), H5T_NATIVE_INT64, H5T_STD_I64LE},
      {"processed_ns", offsetof(ResultRecord, processed_ns), H5T_NATIVE_INT64, H5T_STD_I64LE},
      {"width", offsetof(ResultRecord, width), H5T_NATIVE_UINT32, H5T_STD_U32LE},
      {"height", offsetof(ResultRecord, height), H5T_NATIVE_UINT32, H5T_STD_U32LE},
      {"input_checksum", offsetof(ResultRecord, input_checksum), H5T_NATIVE_UINT64, H5T_STD_U64LE},
      {"status", offsetof(ResultRecord, status), H5I_INVALID_HID, H5I_INVALID_HID},
  };
}

bool is_fixed_field(std::string_view name) {
  for (const auto& f : fixed_fields()) {
    if (name == f.name) return true;
  }
  return false;
}

/// The status enum over `base` (native int32 in memory, little-endian int32 in the file), so
/// h5dump and h5py show "ok" / "task_error" / "dropped".
h5::Datatype status_type(hid_t base, const std::string& path) {
  h5::Datatype t{
      RIDE_H5_CHECK(H5Tenum_create(base), "create status enum type for '" << path << "'")};
  const std::int32_t ok = static_cast<std::int32_t>(ResultStatus::ok);
  const std::int32_t task_error = static_cast<std::int32_t>(ResultStatus::task_error);
  RIDE_H5_CHECK(H5Tenum_insert(t.get(), "ok", &ok), "define status 'ok' for '" << path << "'");
  RIDE_H5_CHECK(H5Tenum_insert(t.get(), "task_error", &task_error),
                "define status 'task_error' for '" << path << "'");
  const std::int32_t dropped = static_cast<std::int32_t>(ResultStatus::dropped);
  RIDE_H5_CHECK(H5Tenum_insert(t.get(), "dropped", &dropped),
                "define status 'dropped' for '" << path << "'");
  return t;
}

/// Compound type laid over ResultRecord; scalar i is the field named scalar_names[i].
h5::Datatype frame_memory_type(const std::vector<std::string>& scalar_names,
                               const std::string& path) {
  h5::Datatype t{RIDE_H5_CHECK(H5Tcreate(H5T_COMPOUND, sizeof(ResultRecord)),
                               "create memory row type for '" << path << "'")};
  const h5::Datatype status = status_type(H5T_NATIVE_INT32, path);
  for (const auto& f : fixed_fields()) {
    const hid_t member = f.memory_type >= 0 ? f.memory_type : status.get();
    RIDE_H5_CHECK(H5Tinsert(t.get(), f.name, f.offset, member),
                  "add field '" << f.name << "' to the memory row type for '" << path << "'");
  }
  for (std::size_t i = 0; i < scalar_names.size(); ++i) {
    const std::size_t offset = offsetof(ResultRecord, scalars) + i * sizeof(double);
    RIDE_H5_CHECK(
        H5Tinsert(t.get(), scalar_names[i].c_str(), offset, H5T_NATIVE_DOUBLE),
        "add scalar field '" << scalar_names[i] << "' to the memory row type for '" << path << "'");
  }
  return t;
}

/// Packed, little-endian compound type of /frames on disk.
h5::Datatype frame_file_type(const std::vector<std::string>& scalar_names,
                             const std::string& path) {
  const h5::Datatype status = status_type(H5T_STD_I32LE, path);
  std::vector<std::pair<std::string, hid_t>> members;
  for (const auto& f : fixed_fields()) {
    members.emplace_back(f.name, f.file_type >= 0 ? f.file_type : status.get());
  }
  for (const auto& name : scalar_names) members.emplace_back(name, H5T_IEEE_F64LE);
  std::size_t size = 0;
  for (const auto& m : members) size += H5Tget_size(m.second);
  h5::Datatype t{
      RIDE_H5_CHECK(H5Tcreate(H5T_COMPOUND, size), "create file row type for '" << path << "'")};
  std::size_t offset = 0;
  for (const auto& [name, member] : members) {
    RIDE_H5_CHECK(H5Tinsert(t.get(), name.c_str(), offset, member),
                  "add field '" << name << "' to the file row type for '" << path << "'");
    offset += H5Tget_size(member);
  }
  return t;
}

/// One /errors row in memory; `message` is a variable-length string.
struct ErrorRow {
  std::uint32_t stream;
  std::uint64_t sequence;
  const char* message;
};

h5::Datatype utf8_string_type(const std::string& path, H5T_cset_t cset = H5T_CSET_UTF8) {
  h5::Datatype t{RIDE_H5_CHECK(H5Tcopy(H5T_C_S1), "create string type for '" << path << "'")};
  RIDE_H5_CHECK(H5Tset_size(t.get(), H5T_VARIABLE), "size string type for '" << path << "'");
  RIDE_H5_CHECK(H5Tset_cset(t.get(), cset), "set string charset for '" << path << "'");
  return t;
}

h5::Datatype error_memory_type(const std::string& path, H5T_cset_t cset = H5T_CSET_UTF8) {
  const h5::Datatype text = utf8_string_type(path, cset);
  h5::Datatype t{RIDE_H5_CHECK(H5Tcreate(H5T_COMPOUND, sizeof(ErrorRow)),
                               "create memory error type for '" << path << "'")};
  RIDE_H5_CHECK(H5Tinsert(t.get(), "stream", offsetof(ErrorRow, stream), H5T_NATIVE_UINT32),
                "build memory error type for '" << path << "'");
  RIDE_H5_CHECK(H5Tinsert(t.get(), "sequence", offsetof(ErrorRow, sequence), H5T_NATIVE_UINT64),
                "build memory error type for '" << path << "'");
  RIDE_H5_CHECK(H5Tinsert(t.get(), "message", offsetof(ErrorRow, message), text.get()),
                "build memory error type for '" << path << "'");
  return t;
}

h5::Datatype error_file_type(const std::string& path) {
  const h5::Datatype text = utf8_string_type(path);
  const std::size_t size = 4 + 8 + H5Tget_size(text.get());
  h5::Datatype t{
      RIDE_H5_CHECK(H5Tcreate(H5T_COMPOUND, size), "create file error type for '" << path << "'")};
  RIDE_H5_CHECK(H5Tinsert(t.get(), "stream", 0, H5T_STD_U32LE),
                "build file error type for '" << path << "'");
  RIDE_H5_CHECK(H5Tinsert(t.get(), "sequence", 4, H5T_STD_U64LE),
                "build file error type for '" << path << "'");
  RIDE_H5_CHECK(H5Tinsert(t.get(), "message", 12, text.get()),
                "build file error type for '" << path << "'");
  return t;
}

h5::Dataset create_table(hid_t file, const char* name, hid_t file_type, hsize_t chunk_rows,
                         const std::string& path) {
  const hsize_t initial = 0;
  const hsize_t unlimited = H5S_UNLIMITED;
  h5::Dataspace space{RIDE_H5_CHECK(H5Screate_simple(1, &initial, &unlimited),
                                    "create dataspace of /" << name << " in '" << path << "'")};
  h5::PropList dcpl{RIDE_H5_CHECK(H5Pcreate(H5P_DATASET_CREATE),
                                  "create properties of /" << name << " in '" << path << "'")};
  RIDE_H5_CHECK(H5Pset_chunk(dcpl.get(), 1, &chunk_rows),
                "set chunking of /" << name << " in '" << path << "'");
  return h5::Dataset{RIDE_H5_CHECK(
      H5Dcreate2(file, name, file_type, space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT),
      "create dataset /" << name << " in '" << path << "'")};
}

/// Appends `count` rows of `memory_type` from `data` to the 1-D table `dataset` that holds
/// `rows_before` rows: one H5Dset_extent and one H5Dwrite. Setting the extent to an absolute size
/// makes a retry after a failed write safe.
void append_rows(hid_t dataset, hid_t memory_type, const void* data, hsize_t rows_before,
                 hsize_t count, const char* name, const std::string& path) {
  if (count == 0) return;
  const hsize_t new_size = rows_before + count;
  RIDE_H5_CHECK(H5Dset_extent(dataset, &new_size),
                "extend /" << name << " to " << new_size << " rows in '" << path << "'");
  h5::Dataspace file_space{
      RIDE_H5_CHECK(H5Dget_space(dataset), "get dataspace of /" << name << " in '" << path << "'")};
  RIDE_H5_CHECK(
      H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, &rows_before, nullptr, &count, nullptr),
      "select rows of /" << name << " in '" << path << "'");
  h5::Dataspace memory_space{RIDE_H5_CHECK(H5Screate_simple(1, &count, nullptr),
                                           "create memory dataspace for '" << path << "'")};
  RIDE_H5_CHECK(
      H5Dwrite(dataset, memory_type, memory_space.get(), file_space.get(), H5P_DEFAULT, data),
      "write " << count << " rows to /" << name << " in '" << path << "'");
}

void write_string_attribute(hid_t location, const std::string& key, const std::string& value,
                            const std::string& path) {
  const h5::Datatype text = utf8_string_type(path);
  h5::Dataspace scalar{
      RIDE_H5_CHECK(H5Screate(H5S_SCALAR), "create dataspace for '" << path << "'")};
  h5::Attribute attr{RIDE_H5_CHECK(
      H5Acreate2(location, key.c_str(), text.get(), scalar.get(), H5P_DEFAULT, H5P_DEFAULT),
      "create attribute '" << key << "' in '" << path << "'")};
  const char* data = value.c_str();
  RIDE_H5_CHECK(H5Awrite(attr.get(), text.get(), &data),
                "write attribute '" << key << "' in '" << path << "'");
}

void write_version_attribute(hid_t location, const std::string& path) {
  h5::Dataspace scalar{
      RIDE_H5_CHECK(H5Screate(H5S_SCALAR), "create dataspace for '" << path << "'")};
  h5::Attribute attr{
      RIDE_H5_CHECK(H5Acreate2(location, kVersionAttribute, H5T_STD_I32LE, scalar.get(),
                               H5P_DEFAULT, H5P_DEFAULT),
                    "create attribute '" << kVersionAttribute << "' in '" << path << "'")};
  const std::int32_t version = kFormatVersion;
  RIDE_H5_CHECK(H5Awrite(attr.get(), H5T_NATIVE_INT32, &version),
                "write attribute '" << kVersionAttribute << "' in '" << path << "'");
}

void validate_names(const std::vector<std::string>& scalar_names,
                    const std::map<std::string, std::string>& attributes, const std::string& path) {
  RIDE_EXPECTS(scalar_names.size() <= static_cast<std::size_t>(kMaxScalars),
               "results file '" << path << "': " << scalar_names.size()
                                << " scalar names given, at most " << kMaxScalars
                                << " are supported");
  for (std::size_t i = 0; i < scalar_names.size(); ++i) {
    const std::string& name = scalar_names[i];
    RIDE_EXPECTS(!name.empty(), "results file '" << path << "': scalar name " << i << " is empty");
    RIDE_EXPECTS(!is_fixed_field(name), "results file '"
                                            << path << "': scalar name '" << name
                                            << "' collides with a fixed field of /frames");
    for (std::size_t j = 0; j < i; ++j) {
      RIDE_EXPECTS(scalar_names[j] != name,
                   "results file '" << path << "': scalar name '" << name << "' is repeated");
    }
  }
  for (const auto& [key, value] : attributes) {
    RIDE_EXPECTS(!key.empty(), "results file '" << path << "': empty attribute name");
    RIDE_EXPECTS(key != kVersionAttribute,
                 "results file '" << path << "': attribute name '" << key << "' is reserved");
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// ResultWriter

struct ResultWriter::Impl {
  std::string path;
  std::vector<std::string> scalar_names;
  // Declaration order is destruction order reversed: the file id outlives every object in it.
  h5::PropList file_access;
  h5::File file;
  h5::Datatype frame_memory;
  h5::Datatype error_memory;
  h5::Dataset frames;
  h5::Dataset errors;
  h5::Group images;
  std::map<std::string, h5::Group> roots;  // /keypoints, /boxes: created on first use
  std::map<std::pair<std::string, std::uint32_t>, h5::Group> stream_groups;  // /<root>/<stream>

  std::vector<ResultRecord> pending_rows;
  std::vector<std::pair<ErrorRow, std::string>> pending_errors;  // message pointer set at flush
  std::uint64_t rows_written = 0;
  std::uint64_t errors_written = 0;
  bool dirty = false;  // something was appended since the last flush

  void expect_open() const {
    RIDE_EXPECTS(file.valid(), "results file '" << path << "' is already closed");
  }

  /// /<root>/<stream>, created on first use (root: images, keypoints or boxes).
  hid_t stream_group(const std::string& root, std::uint32_t stream) {
    auto key = std::make_pair(root, stream);
    auto it = stream_groups.find(key);
    if (it != stream_groups.end()) return it->second.get();
    hid_t parent = images.get();
    if (root != "images") {
      auto r = roots.find(root);
      if (r == roots.end()) {
        h5::Group g{RIDE_H5_CHECK(
            H5Gcreate2(file.get(), root.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
            "create group /" << root << " in '" << path << "'")};
        r = roots.emplace(root, std::move(g)).first;
      }
      parent = r->second.get();
    }
    const std::string name = std::to_string(stream);
    h5::Group group{RIDE_H5_CHECK(
        H5Gcreate2(parent, name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
        "create group /" << root << "/" << name << " in '" << path << "'")};
    return stream_groups.emplace(key, std::move(group)).first->second.get();
  }

  /// /<root>/<stream>/<sequence> = data (rank-D, file_type), unless a duplicate result already
  /// stored one (the first stored for a key wins). `columns` (optional) names the last axis.
  void write_dataset(const std::string& root, const ResultRecord& rec, hid_t file_type,
                     hid_t memory_type, int rank, const hsize_t* dims, const void* data,
                     const std::string& columns) {
    const hid_t group = stream_group(root, rec.stream);
    const std::string name = std::to_string(rec.sequence);
    const std::string where = "/" + root + "/" + std::to_string(rec.stream) + "/" + name;
    const htri_t exists = RIDE_H5_CHECK(H5Lexists(group, name.c_str(), H5P_DEFAULT),
                                        "look up " << where << " in '" << path << "'");
    if (exists > 0) return;
    h5::Dataspace space{RIDE_H5_CHECK(H5Screate_simple(rank, dims, nullptr),
                                      "create dataspace for " << where << " in '" << path << "'")};
    h5::Dataset dataset{RIDE_H5_CHECK(
        H5Dcreate2(group, name.c_str(), file_type, space.get(), H5P_DEFAULT, H5P_DEFAULT,
                   H5P_DEFAULT),
        "create dataset " << where << " in '" << path << "'")};
    try {
      if (dims[0] > 0) {
        RIDE_H5_CHECK(H5Dwrite(dataset.get(), memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data),
                      "write dataset " << where << " in '" << path << "'");
      }
      if (!columns.empty()) write_string_attribute(dataset.get(), "columns", columns, path);
    } catch (...) {
      // Do not leave a half-written dataset behind: a retry would find it and keep it.
      dataset.reset();
      H5Ldelete(group, name.c_str(), H5P_DEFAULT);
      H5Eclear2(H5E_DEFAULT);
      throw;
    }
  }

  void write_image(const ResultRecord& rec, const ImageRef& image) {
    RIDE_EXPECTS(image.width > 0 && image.height > 0 && image.channels > 0,
                 "results file '" << path << "': image for stream " << rec.stream << " sequence "
                                  << rec.sequence << " has shape " << image.width << "x"
                                  << image.height << "x" << image.channels
                                  << "; every dimension must be positive");
    const hsize_t dims[3] = {image.height, image.width, image.channels};
    write_dataset("images", rec, image.u8 ? H5T_STD_U8LE : H5T_IEEE_F32LE,
                  image.u8 ? H5T_NATIVE_UINT8 : H5T_NATIVE_FLOAT, image.channels == 1 ? 2 : 3,
                  dims, image.data, "");
  }

  void write_objects(const std::string& root, const ResultRecord& rec, const ObjectsRef& rows,
                     const char* columns) {
    const hsize_t dims[2] = {rows.count, 5};
    write_dataset(root, rec, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 2, dims, rows.rows, columns);
  }

  void write_pending() {
    append_rows(frames.get(), frame_memory.get(), pending_rows.data(), rows_written,
                pending_rows.size(), "frames", path);
    rows_written += pending_rows.size();
    pending_rows.clear();

    std::vector<ErrorRow> rows;
    rows.reserve(pending_errors.size());
    for (auto& [row, message] : pending_errors) {
      row.message = message.c_str();
      rows.push_back(row);
    }
    append_rows(errors.get(), error_memory.get(), rows.data(), errors_written, rows.size(),
                "errors", path);
    errors_written += rows.size();
    pending_errors.clear();
  }

  /// H5Fflush hands HDF5's caches to the OS; fsync puts them on disk.
  void flush_file() {
    RIDE_H5_CHECK(H5Fflush(file.get(), H5F_SCOPE_GLOBAL), "flush '" << path << "'");
    void* handle = nullptr;
    RIDE_H5_CHECK(H5Fget_vfd_handle(file.get(), file_access.get(), &handle),
                  "get the file descriptor of '" << path << "'");
    const int fd = *static_cast<int*>(handle);  // the sec2 driver's handle is an int fd
    RIDE_EXPECTS(::fsync(fd) == 0,
                 "fsync of results file '" << path << "' failed: " << std::strerror(errno));
  }
};

ResultWriter::ResultWriter(const std::string& path, std::vector<std::string> scalar_names,
                           const std::map<std::string, std::string>& attributes)
    : impl_(std::make_unique<Impl>()) {
  h5::silence_error_printing();
  Impl& s = *impl_;
  s.path = path;
  validate_names(scalar_names, attributes, path);
  s.scalar_names = std::move(scalar_names);

  s.file_access = h5::PropList{RIDE_H5_CHECK(H5Pcreate(H5P_FILE_ACCESS),
                                             "create file access properties for '" << path << "'")};
  RIDE_H5_CHECK(H5Pset_fapl_sec2(s.file_access.get()),
                "select the POSIX driver for '" << path << "'");
  // No file lock: with HDF5's default exclusive lock held for the whole run, h5dump, h5py or a
  // checker could not open the file until the job ends. Readers that open it after a flush()
  // see a consistent file; one writer per path is the sink's contract.
  RIDE_H5_CHECK(H5Pset_file_locking(s.file_access.get(), false, true),
                "disable file locking for '" << path << "'");
  s.file = h5::File{
      RIDE_H5_CHECK(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, s.file_access.get()),
                    "create results file '" << path << "'")};

  write_version_attribute(s.file.get(), path);
  for (const auto& [key, value] : attributes)
    write_string_attribute(s.file.get(), key, value, path);

  s.frame_memory = frame_memory_type(s.scalar_names, path);
  s.error_memory = error_memory_type(path);
  s.frames = create_table(s.file.get(), "frames", frame_file_type(s.scalar_names, path).get(),
                          kFrameChunkRows, path);
  s.errors =
      create_table(s.file.get(), "errors", error_file_type(path).get(), kErrorChunkRows, path);
  s.images = h5::Group{
      RIDE_H5_CHECK(H5Gcreate2(s.file.get(), "images", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                    "create group /images in '" << path << "'")};
  s.flush_file();  // a valid, empty results file exists from the start
}

ResultWriter::~ResultWriter() {
  try {
    close();
  } catch (const std::exception& e) {
    std::cerr << "ride: closing a results file failed: " << e.what() << std::endl;
  } catch (...) {
    std::cerr << "ride: closing a results file failed" << std::endl;
  }
}

ResultWriter::ResultWriter(ResultWriter&&) noexcept = default;

ResultWriter& ResultWriter::operator=(ResultWriter&& other) {
  if (this != &other) {
    close();
    impl_ = std::move(other.impl_);
  }
  return *this;
}

void ResultWriter::append(const ResultRecord& rec, const float* image) {
  append(rec, ImageRef{image, rec.width, rec.height, 1, false});
}

void ResultWriter::append(const ResultRecord& rec, const ImageRef& image,
                          const ObjectsRef& keypoints, const ObjectsRef& boxes) {
  RIDE_EXPECTS(impl_ != nullptr, "append to a moved-from ResultWriter");
  impl_->expect_open();
  h5::silence_error_printing();
  if (image.data != nullptr) impl_->write_image(rec, image);
  if (keypoints.rows != nullptr) {
    impl_->write_objects("keypoints", rec, keypoints, "x,y,size,angle,response");
  }
  if (boxes.rows != nullptr) impl_->write_objects("boxes", rec, boxes, "x,y,width,height,score");
  impl_->pending_rows.push_back(rec);
  impl_->dirty = true;
}

void ResultWriter::append_error(const ResultRecord& rec, const std::string& message) {
  RIDE_EXPECTS(impl_ != nullptr, "append_error to a moved-from ResultWriter");
  impl_->expect_open();
  ResultRecord row = rec;
  row.status = ResultStatus::task_error;
  impl_->pending_errors.emplace_back(ErrorRow{rec.stream, rec.sequence, nullptr}, message);
  impl_->pending_rows.push_back(row);
  impl_->dirty = true;
}

void ResultWriter::flush() {
  RIDE_EXPECTS(impl_ != nullptr, "flush of a moved-from ResultWriter");
  impl_->expect_open();
  h5::silence_error_printing();
  if (!impl_->dirty) return;
  impl_->write_pending();
  impl_->flush_file();
  impl_->dirty = false;
}

void ResultWriter::close() {
  if (impl_ == nullptr || !impl_->file.valid()) return;
  h5::silence_error_printing();
  Impl& s = *impl_;
  std::exception_ptr flush_error;
  try {
    flush();
  } catch (...) {
    flush_error = std::current_exception();
  }
  s.stream_groups.clear();
  s.roots.clear();
  s.images.reset();
  s.errors.reset();
  s.frames.reset();
  s.error_memory.reset();
  s.frame_memory.reset();
  const herr_t closed = s.file.close();
  s.file_access.reset();
  if (flush_error) std::rethrow_exception(flush_error);
  RIDE_H5_CHECK(closed, "close results file '" << s.path << "'");
}

std::uint64_t ResultWriter::rows_written() const {
  return impl_ == nullptr ? 0 : impl_->rows_written;
}

// ---------------------------------------------------------------------------------------------
// Reading

namespace {

h5::File open_read_only(const std::string& path) {
  h5::silence_error_printing();
  h5::PropList fapl{RIDE_H5_CHECK(H5Pcreate(H5P_FILE_ACCESS),
                                  "create file access properties for '" << path << "'")};
  // Take HDF5's shared lock where the file system supports it, read without it where it does not.
  RIDE_H5_CHECK(H5Pset_file_locking(fapl.get(), true, true),
                "set file locking for '" << path << "'");
  return h5::File{RIDE_H5_CHECK(H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl.get()),
                                "open results file '" << path << "' for reading")};
}

bool link_exists(hid_t location, const std::string& name, const std::string& path) {
  return RIDE_H5_CHECK(H5Lexists(location, name.c_str(), H5P_DEFAULT),
                       "look up " << name << " in '" << path << "'") > 0;
}

/// Names the 1-D extent of `dataset`.
hsize_t row_count(hid_t dataset, const char* name, const std::string& path) {
  h5::Dataspace space{
      RIDE_H5_CHECK(H5Dget_space(dataset), "get dataspace of /" << name << " in '" << path << "'")};
  const int rank = RIDE_H5_CHECK(H5Sget_simple_extent_ndims(space.get()),
                                 "get rank of /" << name << " in '" << path << "'");
  RIDE_EXPECTS(rank == 1, "results file '" << path << "': /" << name << " has rank " << rank
                                           << ", expected a 1-D table");
  hsize_t rows = 0;
  RIDE_H5_CHECK(H5Sget_simple_extent_dims(space.get(), &rows, nullptr),
                "get size of /" << name << " in '" << path << "'");
  return rows;
}

std::string member_name(hid_t compound, unsigned index, const std::string& path) {
  char* raw = H5Tget_member_name(compound, index);
  if (raw == nullptr)
    h5::fail(__FILE__, __LINE__, "read a field name of /frames in '" + path + "'");
  std::string name(raw);
  H5free_memory(raw);
  return name;
}

std::map<std::string, std::string> read_string_attributes(hid_t file, const std::string& path) {
  std::vector<std::string> names;
  auto collect = [](hid_t, const char* name, const H5A_info_t*, void* data) -> herr_t {
    try {
      static_cast<std::vector<std::string>*>(data)->emplace_back(name);
    } catch (...) {
      return -1;
    }
    return 0;
  };
  hsize_t index = 0;
  RIDE_H5_CHECK(H5Aiterate2(file, H5_INDEX_NAME, H5_ITER_INC, &index, collect, &names),
                "list attributes of / in '" << path << "'");

  std::map<std::string, std::string> result;
  for (const auto& name : names) {
    h5::Attribute attr{RIDE_H5_CHECK(H5Aopen(file, name.c_str(), H5P_DEFAULT),
                                     "open attribute '" << name << "' in '" << path << "'")};
    h5::Datatype type{RIDE_H5_CHECK(H5Aget_type(attr.get()),
                                    "get type of attribute '" << name << "' in '" << path << "'")};
    if (H5Tget_class(type.get()) != H5T_STRING) continue;  // e.g. ride_results_version
    h5::Dataspace space{RIDE_H5_CHECK(H5Aget_space(attr.get()), "get dataspace of attribute '"
                                                                    << name << "' in '" << path
                                                                    << "'")};
    if (H5Sget_simple_extent_npoints(space.get()) != 1) continue;  // not a single string
    const htri_t variable = RIDE_H5_CHECK(H5Tis_variable_str(type.get()),
                                          "inspect attribute '" << name << "' in '" << path << "'");
    if (variable > 0) {
      h5::Datatype memory = utf8_string_type(path, H5Tget_cset(type.get()));
      char* value = nullptr;
      RIDE_H5_CHECK(H5Aread(attr.get(), memory.get(), &value),
                    "read attribute '" << name << "' in '" << path << "'");
      result[name] = value != nullptr ? value : "";
      H5free_memory(value);
    } else {
      std::string value(H5Tget_size(type.get()), '\0');
      RIDE_H5_CHECK(H5Aread(attr.get(), type.get(), value.data()),
                    "read attribute '" << name << "' in '" << path << "'");
      value.resize(std::strlen(value.c_str()));  // fixed-length strings are NUL- or space-padded
      while (!value.empty() && value.back() == ' ') value.pop_back();
      result[name] = std::move(value);
    }
  }
  return result;
}

void check_version(hid_t file, const std::string& path) {
  if (RIDE_H5_CHECK(H5Aexists(file, kVersionAttribute),
                    "look up attribute '" << kVersionAttribute << "' in '" << path << "'") <= 0) {
    return;
  }
  h5::Attribute attr{
      RIDE_H5_CHECK(H5Aopen(file, kVersionAttribute, H5P_DEFAULT),
                    "open attribute '" << kVersionAttribute << "' in '" << path << "'")};
  std::int32_t version = 0;
  RIDE_H5_CHECK(H5Aread(attr.get(), H5T_NATIVE_INT32, &version),
                "read attribute '" << kVersionAttribute << "' in '" << path << "'");
  RIDE_EXPECTS(version <= kFormatVersion,
               "results file '" << path << "' has format version " << version
                                << "; this build reads versions up to " << kFormatVersion);
}

void read_frames(hid_t file, const std::string& path, ResultFile& out) {
  RIDE_EXPECTS(link_exists(file, "frames", path),
               "'" << path << "' is not a ride results file: it has no /frames dataset");
  h5::Dataset frames{
      RIDE_H5_CHECK(H5Dopen2(file, "frames", H5P_DEFAULT), "open /frames in '" << path << "'")};
  h5::Datatype type{
      RIDE_H5_CHECK(H5Dget_type(frames.get()), "get type of /frames in '" << path << "'")};
  RIDE_EXPECTS(H5Tget_class(type.get()) == H5T_COMPOUND,
               "results file '" << path << "': /frames is not a compound table");
  for (const auto& f : fixed_fields()) {
    RIDE_EXPECTS(H5Tget_member_index(type.get(), f.name) >= 0,
                 "results file '" << path << "': /frames has no field '" << f.name << "'");
  }
  const int members =
      RIDE_H5_CHECK(H5Tget_nmembers(type.get()), "count fields of /frames in '" << path << "'");
  for (int i = 0; i < members; ++i) {
    std::string name = member_name(type.get(), static_cast<unsigned>(i), path);
    if (is_fixed_field(name)) continue;
    RIDE_EXPECTS(H5Tget_member_class(type.get(), static_cast<unsigned>(i)) == H5T_FLOAT,
                 "results file '" << path << "': scalar field '" << name
                                  << "' of /frames is not floating point");
    out.scalar_names.push_back(std::move(name));
  }
  RIDE_EXPECTS(out.scalar_names.size() <= static_cast<std::size_t>(kMaxScalars),
               "results file '" << path << "': /frames has " << out.scalar_names.size()
                                << " scalar fields, at most " << kMaxScalars << " are supported");

  const hsize_t rows = row_count(frames.get(), "frames", path);
  out.rows.resize(rows);
  if (rows == 0) return;
  const h5::Datatype memory = frame_memory_type(out.scalar_names, path);
  RIDE_H5_CHECK(H5Dread(frames.get(), memory.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, out.rows.data()),
                "read " << rows << " rows of /frames in '" << path << "'");
}

void read_errors(hid_t file, const std::string& path, ResultFile& out) {
  if (!link_exists(file, "errors", path)) return;
  h5::Dataset errors{
      RIDE_H5_CHECK(H5Dopen2(file, "errors", H5P_DEFAULT), "open /errors in '" << path << "'")};
  const hsize_t rows = row_count(errors.get(), "errors", path);
  if (rows == 0) return;
  // Read the message in the charset it was written in; HDF5 does not convert between charsets.
  h5::Datatype type{
      RIDE_H5_CHECK(H5Dget_type(errors.get()), "get type of /errors in '" << path << "'")};
  const int message_index = H5Tget_member_index(type.get(), "message");
  RIDE_EXPECTS(message_index >= 0, "results file '" << path << "': /errors has no 'message'");
  h5::Datatype message_type{
      RIDE_H5_CHECK(H5Tget_member_type(type.get(), static_cast<unsigned>(message_index)),
                    "get type of /errors.message in '" << path << "'")};
  RIDE_EXPECTS(H5Tis_variable_str(message_type.get()) > 0,
               "results file '" << path << "': /errors.message is not a variable-length string");
  const h5::Datatype memory = error_memory_type(path, H5Tget_cset(message_type.get()));

  std::vector<ErrorRow> buffer(rows, ErrorRow{0, 0, nullptr});
  h5::Dataspace space{RIDE_H5_CHECK(H5Screate_simple(1, &rows, nullptr),
                                    "create memory dataspace for '" << path << "'")};
  struct Reclaim {  // HDF5 allocates the strings; give them back on every path (null is fine)
    hid_t type, space;
    void* data;
    ~Reclaim() { H5Dvlen_reclaim(type, space, H5P_DEFAULT, data); }
  } reclaim{memory.get(), space.get(), buffer.data()};
  RIDE_H5_CHECK(
      H5Dread(errors.get(), memory.get(), space.get(), H5S_ALL, H5P_DEFAULT, buffer.data()),
      "read " << rows << " rows of /errors in '" << path << "'");
  out.errors.reserve(rows);
  for (const auto& row : buffer) {
    out.errors.emplace_back(row.stream, row.sequence, row.message ? row.message : "");
  }
}

}  // namespace

ResultFile read_results(const std::string& path) {
  const h5::File file = open_read_only(path);
  ResultFile out;
  check_version(file.get(), path);
  out.attributes = read_string_attributes(file.get(), path);
  read_frames(file.get(), path, out);
  read_errors(file.get(), path, out);
  return out;
}

std::optional<std::vector<float>> read_result_image(const std::string& path, std::uint32_t stream,
                                                    std::uint64_t sequence, std::uint32_t* width,
                                                    std::uint32_t* height) {
  const h5::File file = open_read_only(path);
  // H5Lexists fails on a missing intermediate group, so walk the path one link at a time.
  std::string link = "images";
  for (const std::string& next : {std::to_string(stream), std::to_string(sequence)}) {
    if (!link_exists(file.get(), link, path)) return std::nullopt;
    link += "/" + next;
  }
  if (!link_exists(file.get(), link, path)) return std::nullopt;

  h5::Dataset dataset{RIDE_H5_CHECK(H5Dopen2(file.get(), link.c_str(), H5P_DEFAULT),
                                    "open /" << link << " in '" << path << "'")};
  h5::Datatype type{
      RIDE_H5_CHECK(H5Dget_type(dataset.get()), "get type of /" << link << " in '" << path << "'")};
  RIDE_EXPECTS(H5Tget_class(type.get()) == H5T_FLOAT,
               "results file '" << path << "': /" << link << " is not a float image");
  h5::Dataspace space{RIDE_H5_CHECK(H5Dget_space(dataset.get()),
                                    "get dataspace of /" << link << " in '" << path << "'")};
  RIDE_EXPECTS(H5Sget_simple_extent_ndims(space.get()) == 2,
               "results file '" << path << "': /" << link << " is not a 2-D image");
  hsize_t dims[2] = {0, 0};
  RIDE_H5_CHECK(H5Sget_simple_extent_dims(space.get(), dims, nullptr),
                "get shape of /" << link << " in '" << path << "'");
  RIDE_EXPECTS(dims[0] <= UINT32_MAX && dims[1] <= UINT32_MAX,
               "results file '" << path << "': /" << link << " is too large");
  std::vector<float> pixels(dims[0] * dims[1]);
  if (!pixels.empty()) {
    RIDE_H5_CHECK(
        H5Dread(dataset.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, pixels.data()),
        "read /" << link << " in '" << path << "'");
  }
  if (height != nullptr) *height = static_cast<std::uint32_t>(dims[0]);
  if (width != nullptr) *width = static_cast<std::uint32_t>(dims[1]);
  return pixels;
}

}  // namespace ride

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

constexpr std::int32_t kRootFormatVersion = 1;    // root tables only (single-stage jobs)
constexpr std::int32_t kStagedFormatVersion = 2;  // table sets under /stages; the newest read
constexpr const char* kVersionAttribute = "ride_results_version";
constexpr const char* kStagesAttribute = "stages";
constexpr hsize_t kFrameChunkRows = 1024;  // ~70-270 KB per chunk, depending on scalar count
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

/// One /aggregates row in memory; `scalar` is a variable-length string.
struct AggregateMemoryRow {
  std::uint32_t stream;
  const char* scalar;
  std::uint64_t count;
  double sum, min, max;
};

h5::Datatype aggregate_memory_type(const std::string& path, H5T_cset_t cset = H5T_CSET_UTF8) {
  const h5::Datatype text = utf8_string_type(path, cset);
  h5::Datatype t{RIDE_H5_CHECK(H5Tcreate(H5T_COMPOUND, sizeof(AggregateMemoryRow)),
                               "create memory aggregate type for '" << path << "'")};
  const std::pair<const char*, std::pair<std::size_t, hid_t>> members[] = {
      {"stream", {offsetof(AggregateMemoryRow, stream), H5T_NATIVE_UINT32}},
      {"scalar", {offsetof(AggregateMemoryRow, scalar), text.get()}},
      {"count", {offsetof(AggregateMemoryRow, count), H5T_NATIVE_UINT64}},
      {"sum", {offsetof(AggregateMemoryRow, sum), H5T_NATIVE_DOUBLE}},
      {"min", {offsetof(AggregateMemoryRow, min), H5T_NATIVE_DOUBLE}},
      {"max", {offsetof(AggregateMemoryRow, max), H5T_NATIVE_DOUBLE}},
  };
  for (const auto& [name, where] : members) {
    RIDE_H5_CHECK(H5Tinsert(t.get(), name, where.first, where.second),
                  "build memory aggregate type for '" << path << "'");
  }
  return t;
}

/// Packed, little-endian: stream u32, scalar (vlen UTF-8), count u64, sum, min, max f64.
h5::Datatype aggregate_file_type(const std::string& path) {
  const h5::Datatype text = utf8_string_type(path);
  const std::pair<const char*, hid_t> members[] = {
      {"stream", H5T_STD_U32LE}, {"scalar", text.get()},   {"count", H5T_STD_U64LE},
      {"sum", H5T_IEEE_F64LE},   {"min", H5T_IEEE_F64LE}, {"max", H5T_IEEE_F64LE},
  };
  std::size_t size = 0;
  for (const auto& m : members) size += H5Tget_size(m.second);
  h5::Datatype t{RIDE_H5_CHECK(H5Tcreate(H5T_COMPOUND, size),
                               "create file aggregate type for '" << path << "'")};
  std::size_t offset = 0;
  for (const auto& [name, member] : members) {
    RIDE_H5_CHECK(H5Tinsert(t.get(), name, offset, member),
                  "build file aggregate type for '" << path << "'");
    offset += H5Tget_size(member);
  }
  return t;
}

/// Creates the empty, unlimited, chunked 1-D table `name` in `location`; `where` is its full
/// name (e.g. /frames, /stages/motion/frames), for messages.
h5::Dataset create_table(hid_t location, const char* name, const std::string& where,
                         hid_t file_type, hsize_t chunk_rows, const std::string& path) {
  const hsize_t initial = 0;
  const hsize_t unlimited = H5S_UNLIMITED;
  h5::Dataspace space{RIDE_H5_CHECK(H5Screate_simple(1, &initial, &unlimited),
                                    "create dataspace of " << where << " in '" << path << "'")};
  h5::PropList dcpl{RIDE_H5_CHECK(H5Pcreate(H5P_DATASET_CREATE),
                                  "create properties of " << where << " in '" << path << "'")};
  RIDE_H5_CHECK(H5Pset_chunk(dcpl.get(), 1, &chunk_rows),
                "set chunking of " << where << " in '" << path << "'");
  return h5::Dataset{RIDE_H5_CHECK(
      H5Dcreate2(location, name, file_type, space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT),
      "create dataset " << where << " in '" << path << "'")};
}

/// Appends `count` rows of `memory_type` from `data` to the 1-D table `dataset` (named `where`)
/// that holds `rows_before` rows: one H5Dset_extent and one H5Dwrite. Setting the extent to an
/// absolute size makes a retry after a failed write safe.
void append_rows(hid_t dataset, hid_t memory_type, const void* data, hsize_t rows_before,
                 hsize_t count, const std::string& where, const std::string& path) {
  if (count == 0) return;
  const hsize_t new_size = rows_before + count;
  RIDE_H5_CHECK(H5Dset_extent(dataset, &new_size),
                "extend " << where << " to " << new_size << " rows in '" << path << "'");
  h5::Dataspace file_space{
      RIDE_H5_CHECK(H5Dget_space(dataset), "get dataspace of " << where << " in '" << path << "'")};
  RIDE_H5_CHECK(
      H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, &rows_before, nullptr, &count, nullptr),
      "select rows of " << where << " in '" << path << "'");
  h5::Dataspace memory_space{RIDE_H5_CHECK(H5Screate_simple(1, &count, nullptr),
                                           "create memory dataspace for '" << path << "'")};
  RIDE_H5_CHECK(
      H5Dwrite(dataset, memory_type, memory_space.get(), file_space.get(), H5P_DEFAULT, data),
      "write " << count << " rows to " << where << " in '" << path << "'");
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

void write_version_attribute(hid_t location, std::int32_t version, const std::string& path) {
  h5::Dataspace scalar{
      RIDE_H5_CHECK(H5Screate(H5S_SCALAR), "create dataspace for '" << path << "'")};
  h5::Attribute attr{
      RIDE_H5_CHECK(H5Acreate2(location, kVersionAttribute, H5T_STD_I32LE, scalar.get(),
                               H5P_DEFAULT, H5P_DEFAULT),
                    "create attribute '" << kVersionAttribute << "' in '" << path << "'")};
  RIDE_H5_CHECK(H5Awrite(attr.get(), H5T_NATIVE_INT32, &version),
                "write attribute '" << kVersionAttribute << "' in '" << path << "'");
}

bool is_stage_name(const std::string& stage) {
  if (stage.empty()) return false;
  for (const char c : stage) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '_';
    if (!ok) return false;
  }
  return true;
}

/// "results file 'PATH'" or "results file 'PATH', stage 'NAME'", to start messages with.
std::string describe(const std::string& path, const std::string& stage) {
  std::string text = "results file '" + path + "'";
  if (!stage.empty()) text += ", stage '" + stage + "'";
  return text;
}

void validate_scalar_names(const std::vector<std::string>& scalar_names, const std::string& path,
                           const std::string& stage) {
  const std::string file = describe(path, stage);
  const std::string frames = stage.empty() ? "/frames" : "/stages/" + stage + "/frames";
  RIDE_EXPECTS(scalar_names.size() <= static_cast<std::size_t>(kMaxScalars),
               file << ": " << scalar_names.size() << " scalar names given, at most "
                    << kMaxScalars << " are supported");
  for (std::size_t i = 0; i < scalar_names.size(); ++i) {
    const std::string& name = scalar_names[i];
    RIDE_EXPECTS(!name.empty(), file << ": scalar name " << i << " is empty");
    RIDE_EXPECTS(!is_fixed_field(name),
                 file << ": scalar name '" << name << "' collides with a fixed field of "
                      << frames);
    for (std::size_t j = 0; j < i; ++j) {
      RIDE_EXPECTS(scalar_names[j] != name, file << ": scalar name '" << name << "' is repeated");
    }
  }
}

void validate_tables(const std::vector<ResultTableSpec>& tables,
                     const std::map<std::string, std::string>& attributes,
                     const std::string& path) {
  RIDE_EXPECTS(!tables.empty(), "results file '" << path << "': no table set given");
  for (std::size_t i = 0; i < tables.size(); ++i) {
    const std::string& stage = tables[i].stage;
    if (stage.empty()) {
      RIDE_EXPECTS(tables.size() == 1, "results file '" << path << "': table set " << i
                                                         << " has no stage name; the root tables "
                                                            "(stage \"\") may only appear alone");
    } else {
      RIDE_EXPECTS(is_stage_name(stage), "results file '"
                                             << path << "': stage name '" << stage
                                             << "' is not made of letters, digits and '_'");
      for (std::size_t j = 0; j < i; ++j) {
        RIDE_EXPECTS(tables[j].stage != stage,
                     "results file '" << path << "': stage '" << stage << "' is repeated");
      }
    }
    validate_scalar_names(tables[i].scalar_names, path, stage);
  }
  for (const auto& [key, value] : attributes) {
    RIDE_EXPECTS(!key.empty(), "results file '" << path << "': empty attribute name");
    RIDE_EXPECTS(key != kVersionAttribute && key != kStagesAttribute,
                 "results file '" << path << "': attribute name '" << key << "' is reserved");
  }
}

/// <at>/aggregates = rows, with the attribute `source`; nothing is left behind on failure.
void create_aggregates(hid_t at, const std::string& path, const std::string& where,
                       const std::vector<AggregateRow>& rows, const std::string& source) {
  std::vector<AggregateMemoryRow> memory_rows;
  memory_rows.reserve(rows.size());
  for (const auto& r : rows) {
    memory_rows.push_back({r.stream, r.scalar.c_str(), r.count, r.sum, r.min, r.max});
  }
  const hsize_t count = memory_rows.size();
  h5::Dataspace space{RIDE_H5_CHECK(H5Screate_simple(1, &count, nullptr),
                                    "create dataspace for " << where << " in '" << path << "'")};
  h5::Dataset dataset{
      RIDE_H5_CHECK(H5Dcreate2(at, "aggregates", aggregate_file_type(path).get(), space.get(),
                               H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                    "create dataset " << where << " in '" << path << "'")};
  try {
    if (count > 0) {
      RIDE_H5_CHECK(H5Dwrite(dataset.get(), aggregate_memory_type(path).get(), H5S_ALL, H5S_ALL,
                             H5P_DEFAULT, memory_rows.data()),
                    "write " << count << " rows to " << where << " in '" << path << "'");
    }
    write_string_attribute(dataset.get(), "source", source, path);
  } catch (...) {
    // Leave nothing half-written: a retry creates it again.
    dataset.reset();
    H5Ldelete(at, "aggregates", H5P_DEFAULT);
    H5Eclear2(H5E_DEFAULT);
    throw;
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// ResultWriter

/// One table set: frames, errors, images, keypoints, boxes (and aggregates) of one stage.
struct ResultWriter::Table {
  std::string stage;  // "" = the root tables
  std::string root;   // "" or "/stages/NAME": the prefix of its objects' names, for messages
  std::vector<std::string> scalar_names;
  // Declaration order is destruction order reversed: the stage group outlives what is in it.
  h5::Group group;  // /stages/NAME; invalid for the root tables (the file is their location)
  h5::Datatype frame_memory;
  h5::Dataset frames;
  h5::Dataset errors;
  h5::Group images;
  std::map<std::string, h5::Group> roots;  // keypoints, boxes: created on first use
  std::map<std::pair<std::string, std::uint32_t>, h5::Group> stream_groups;  // <root>/<stream>

  std::vector<ResultRecord> pending_rows;
  std::vector<std::pair<ErrorRow, std::string>> pending_errors;  // message pointer set at flush
  std::uint64_t rows_written = 0;
  std::uint64_t errors_written = 0;
  bool aggregates_written = false;

  void close_objects() noexcept {
    stream_groups.clear();
    roots.clear();
    images.reset();
    errors.reset();
    frames.reset();
    frame_memory.reset();
    group.reset();
  }
};

struct ResultWriter::Impl {
  std::string path;
  // Declaration order is destruction order reversed: the file id outlives every object in it.
  h5::PropList file_access;
  h5::File file;
  h5::Datatype error_memory;
  h5::Group stages;  // /stages, when the file has stages
  std::vector<Table> tables;
  bool dirty = false;  // something was appended since the last flush
  bool unsynced = false;  // flushed without fsync since the last fsync

  void expect_open() const {
    RIDE_EXPECTS(file.valid(), "results file '" << path << "' is already closed");
  }

  Table& table(std::size_t index) {
    RIDE_EXPECTS(index < tables.size(), "results file '" << path << "': table set " << index
                                                         << " does not exist (it has "
                                                         << tables.size() << ")");
    return tables[index];
  }

  /// Where the table set's objects live: the file for the root tables, else /stages/NAME.
  hid_t location(const Table& t) const { return t.group.valid() ? t.group.get() : file.get(); }

  /// Creates the table set's group (for a stage), frames, errors and images.
  void create_table_set(Table& t) {
    if (!t.stage.empty()) {
      t.group = h5::Group{
          RIDE_H5_CHECK(H5Gcreate2(stages.get(), t.stage.c_str(), H5P_DEFAULT, H5P_DEFAULT,
                                   H5P_DEFAULT),
                        "create group " << t.root << " in '" << path << "'")};
    }
    const hid_t at = location(t);
    t.frame_memory = frame_memory_type(t.scalar_names, path);
    t.frames = create_table(at, "frames", t.root + "/frames",
                            frame_file_type(t.scalar_names, path).get(), kFrameChunkRows, path);
    t.errors = create_table(at, "errors", t.root + "/errors", error_file_type(path).get(),
                            kErrorChunkRows, path);
    t.images = h5::Group{
        RIDE_H5_CHECK(H5Gcreate2(at, "images", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                      "create group " << t.root << "/images in '" << path << "'")};
  }

  /// <table root>/<root>/<stream>, created on first use (root: images, keypoints or boxes).
  hid_t stream_group(Table& t, const std::string& root, std::uint32_t stream) {
    auto key = std::make_pair(root, stream);
    auto it = t.stream_groups.find(key);
    if (it != t.stream_groups.end()) return it->second.get();
    hid_t parent = t.images.get();
    if (root != "images") {
      auto r = t.roots.find(root);
      if (r == t.roots.end()) {
        h5::Group g{RIDE_H5_CHECK(
            H5Gcreate2(location(t), root.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
            "create group " << t.root << "/" << root << " in '" << path << "'")};
        r = t.roots.emplace(root, std::move(g)).first;
      }
      parent = r->second.get();
    }
    const std::string name = std::to_string(stream);
    h5::Group group{RIDE_H5_CHECK(
        H5Gcreate2(parent, name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
        "create group " << t.root << "/" << root << "/" << name << " in '" << path << "'")};
    return t.stream_groups.emplace(key, std::move(group)).first->second.get();
  }

  /// <table root>/<root>/<stream>/<sequence> = data (rank-D, file_type), unless a duplicate
  /// result already stored one (the first stored for a key wins). `columns` (optional) names the
  /// last axis.
  void write_dataset(Table& t, const std::string& root, const ResultRecord& rec, hid_t file_type,
                     hid_t memory_type, int rank, const hsize_t* dims, const void* data,
                     const std::string& columns) {
    const hid_t group = stream_group(t, root, rec.stream);
    const std::string name = std::to_string(rec.sequence);
    const std::string where =
        t.root + "/" + root + "/" + std::to_string(rec.stream) + "/" + name;
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

  void write_image(Table& t, const ResultRecord& rec, const ImageRef& image) {
    RIDE_EXPECTS(image.width > 0 && image.height > 0 && image.channels > 0,
                 describe(path, t.stage)
                     << ": image for stream " << rec.stream << " sequence " << rec.sequence
                     << " has shape " << image.width << "x" << image.height << "x"
                     << image.channels << "; every dimension must be positive");
    const hsize_t dims[3] = {image.height, image.width, image.channels};
    write_dataset(t, "images", rec, image.u8 ? H5T_STD_U8LE : H5T_IEEE_F32LE,
                  image.u8 ? H5T_NATIVE_UINT8 : H5T_NATIVE_FLOAT, image.channels == 1 ? 2 : 3,
                  dims, image.data, "");
  }

  void write_objects(Table& t, const std::string& root, const ResultRecord& rec,
                     const ObjectsRef& rows, const char* columns) {
    const hsize_t dims[2] = {rows.count, 5};
    write_dataset(t, root, rec, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 2, dims, rows.rows, columns);
  }

  /// At most one H5Dwrite per table: frames, then errors (none when nothing is pending).
  void write_pending(Table& t) {
    append_rows(t.frames.get(), t.frame_memory.get(), t.pending_rows.data(), t.rows_written,
                t.pending_rows.size(), t.root + "/frames", path);
    t.rows_written += t.pending_rows.size();
    t.pending_rows.clear();

    std::vector<ErrorRow> rows;
    rows.reserve(t.pending_errors.size());
    for (auto& [row, message] : t.pending_errors) {
      row.message = message.c_str();
      rows.push_back(row);
    }
    append_rows(t.errors.get(), error_memory.get(), rows.data(), t.errors_written, rows.size(),
                t.root + "/errors", path);
    t.errors_written += rows.size();
    t.pending_errors.clear();
  }

  /// H5Fflush hands HDF5's caches to the OS; fsync puts them on disk.
  void flush_file(bool sync) {
    RIDE_H5_CHECK(H5Fflush(file.get(), H5F_SCOPE_GLOBAL), "flush '" << path << "'");
    if (!sync) return;
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
    : ResultWriter(path, std::vector<ResultTableSpec>{ResultTableSpec{"", std::move(scalar_names)}},
                   attributes) {}

ResultWriter::ResultWriter(const std::string& path,
                           std::initializer_list<std::string> scalar_names,
                           const std::map<std::string, std::string>& attributes)
    : ResultWriter(path, std::vector<std::string>(scalar_names), attributes) {}

ResultWriter::ResultWriter(const std::string& path, std::vector<ResultTableSpec> tables,
                           const std::map<std::string, std::string>& attributes)
    : impl_(std::make_unique<Impl>()) {
  h5::silence_error_printing();
  Impl& s = *impl_;
  s.path = path;
  validate_tables(tables, attributes, path);
  const bool staged = !tables.front().stage.empty();

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

  write_version_attribute(s.file.get(), staged ? kStagedFormatVersion : kRootFormatVersion, path);
  for (const auto& [key, value] : attributes)
    write_string_attribute(s.file.get(), key, value, path);
  s.error_memory = error_memory_type(path);
  if (staged) {
    std::string names;
    for (const auto& t : tables) names += (names.empty() ? "" : ",") + t.stage;
    write_string_attribute(s.file.get(), kStagesAttribute, names, path);
    s.stages = h5::Group{
        RIDE_H5_CHECK(H5Gcreate2(s.file.get(), "stages", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                      "create group /stages in '" << path << "'")};
  }

  s.tables.resize(tables.size());
  for (std::size_t i = 0; i < tables.size(); ++i) {
    Table& t = s.tables[i];
    t.stage = std::move(tables[i].stage);
    t.root = staged ? "/stages/" + t.stage : "";
    t.scalar_names = std::move(tables[i].scalar_names);
    s.create_table_set(t);
  }
  s.flush_file(true);  // a valid, empty results file exists from the start
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
                          const ObjectsRef& keypoints, const ObjectsRef& boxes,
                          std::size_t table) {
  RIDE_EXPECTS(impl_ != nullptr, "append to a moved-from ResultWriter");
  impl_->expect_open();
  Table& t = impl_->table(table);
  h5::silence_error_printing();
  if (image.data != nullptr) impl_->write_image(t, rec, image);
  if (keypoints.rows != nullptr) {
    impl_->write_objects(t, "keypoints", rec, keypoints, "x,y,size,angle,response");
  }
  if (boxes.rows != nullptr) {
    impl_->write_objects(t, "boxes", rec, boxes, "x,y,width,height,score");
  }
  t.pending_rows.push_back(rec);
  impl_->dirty = true;
}

void ResultWriter::append_error(const ResultRecord& rec, const std::string& message,
                                std::size_t table) {
  RIDE_EXPECTS(impl_ != nullptr, "append_error to a moved-from ResultWriter");
  impl_->expect_open();
  Table& t = impl_->table(table);
  ResultRecord row = rec;
  row.status = ResultStatus::task_error;
  t.pending_errors.emplace_back(ErrorRow{rec.stream, rec.sequence, nullptr}, message);
  t.pending_rows.push_back(row);
  impl_->dirty = true;
}

void ResultWriter::write_aggregates(std::size_t table, const std::vector<AggregateRow>& rows,
                                    const std::string& source) {
  RIDE_EXPECTS(impl_ != nullptr, "write_aggregates to a moved-from ResultWriter");
  Impl& s = *impl_;
  s.expect_open();
  Table& t = s.table(table);
  const std::string& path = s.path;
  const std::string where = t.root + "/aggregates";
  RIDE_EXPECTS(!t.aggregates_written,
               describe(path, t.stage) << ": " << where << " is already written");
  h5::silence_error_printing();

  create_aggregates(s.location(t), path, where, rows, source);
  t.aggregates_written = true;
  s.dirty = true;
}

void ResultWriter::flush(bool sync) {
  RIDE_EXPECTS(impl_ != nullptr, "flush of a moved-from ResultWriter");
  impl_->expect_open();
  h5::silence_error_printing();
  if (!impl_->dirty) {
    if (sync && impl_->unsynced) impl_->flush_file(true);
    impl_->unsynced = impl_->unsynced && !sync;
    return;
  }
  for (Table& t : impl_->tables) impl_->write_pending(t);
  impl_->flush_file(sync);
  impl_->dirty = false;
  impl_->unsynced = !sync;
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
  for (Table& t : s.tables) t.close_objects();
  s.stages.reset();
  s.error_memory.reset();
  const herr_t closed = s.file.close();
  s.file_access.reset();
  if (flush_error) std::rethrow_exception(flush_error);
  RIDE_H5_CHECK(closed, "close results file '" << s.path << "'");
}

std::uint64_t ResultWriter::rows_written(std::size_t table) const {
  if (impl_ == nullptr) return 0;
  RIDE_EXPECTS(table < impl_->tables.size(), "results file '" << impl_->path << "': table set "
                                                              << table << " does not exist");
  return impl_->tables[table].rows_written;
}

std::size_t ResultWriter::tables() const { return impl_ == nullptr ? 0 : impl_->tables.size(); }

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

/// Names the 1-D extent of `dataset` (named `where`).
hsize_t row_count(hid_t dataset, const std::string& where, const std::string& path) {
  h5::Dataspace space{
      RIDE_H5_CHECK(H5Dget_space(dataset), "get dataspace of " << where << " in '" << path << "'")};
  const int rank = RIDE_H5_CHECK(H5Sget_simple_extent_ndims(space.get()),
                                 "get rank of " << where << " in '" << path << "'");
  RIDE_EXPECTS(rank == 1, "results file '" << path << "': " << where << " has rank " << rank
                                           << ", expected a 1-D table");
  hsize_t rows = 0;
  RIDE_H5_CHECK(H5Sget_simple_extent_dims(space.get(), &rows, nullptr),
                "get size of " << where << " in '" << path << "'");
  return rows;
}

std::string member_name(hid_t compound, unsigned index, const std::string& where,
                        const std::string& path) {
  char* raw = H5Tget_member_name(compound, index);
  if (raw == nullptr)
    h5::fail(__FILE__, __LINE__, "read a field name of " + where + " in '" + path + "'");
  std::string name(raw);
  H5free_memory(raw);
  return name;
}

/// The string attributes of `location` (named `where`) holding a single string.
std::map<std::string, std::string> read_string_attributes(hid_t location, const std::string& where,
                                                          const std::string& path) {
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
  RIDE_H5_CHECK(H5Aiterate2(location, H5_INDEX_NAME, H5_ITER_INC, &index, collect, &names),
                "list attributes of " << where << " in '" << path << "'");

  std::map<std::string, std::string> result;
  for (const auto& name : names) {
    h5::Attribute attr{RIDE_H5_CHECK(H5Aopen(location, name.c_str(), H5P_DEFAULT),
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
  RIDE_EXPECTS(version <= kStagedFormatVersion,
               "results file '" << path << "' has format version " << version
                                << "; this build reads versions up to " << kStagedFormatVersion);
}

/// The `stages` attribute of the root, split at ","; empty when absent.
std::vector<std::string> stages_of(const std::map<std::string, std::string>& attributes) {
  std::vector<std::string> stages;
  const auto it = attributes.find(kStagesAttribute);
  if (it == attributes.end() || it->second.empty()) return stages;
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = it->second.find(',', start);
    stages.push_back(it->second.substr(start, comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return stages;
}

/// Where one table set of an open file lives: the file itself for stage "", else /stages/NAME.
struct TableRoot {
  h5::Group group;   // open for a stage
  hid_t id = H5I_INVALID_HID;
  std::string name;  // "" or "/stages/NAME", the prefix of its objects' names
};

TableRoot open_table_root(hid_t file, const std::string& stage, const std::string& path) {
  TableRoot root;
  if (stage.empty()) {
    root.id = file;
    return root;
  }
  RIDE_EXPECTS(is_stage_name(stage), "results file '" << path << "': '" << stage
                                                      << "' is not a stage name");
  const std::string link = "stages/" + stage;
  RIDE_EXPECTS(link_exists(file, "stages", path) && link_exists(file, link, path),
               "results file '" << path << "' has no stage '" << stage << "'");
  root.name = "/" + link;
  root.group = h5::Group{RIDE_H5_CHECK(H5Gopen2(file, link.c_str(), H5P_DEFAULT),
                                       "open group " << root.name << " in '" << path << "'")};
  root.id = root.group.get();
  return root;
}

void read_frames(const TableRoot& root, const std::string& path, ResultFile& out) {
  const std::string where = root.name + "/frames";
  if (!link_exists(root.id, "frames", path)) {
    const std::vector<std::string> stages = stages_of(out.attributes);
    std::string names;
    for (const auto& s : stages) names += (names.empty() ? "" : ", ") + s;
    RIDE_EXPECTS(!root.name.empty() || stages.empty(),
                 "results file '" << path << "' has no /frames dataset: its tables are those of "
                                  << "its stages (" << names << "); read one of them");
    RIDE_EXPECTS(false,
                 "'" << path << "' is not a ride results file: it has no " << where << " dataset");
  }
  h5::Dataset frames{RIDE_H5_CHECK(H5Dopen2(root.id, "frames", H5P_DEFAULT),
                                   "open " << where << " in '" << path << "'")};
  h5::Datatype type{
      RIDE_H5_CHECK(H5Dget_type(frames.get()), "get type of " << where << " in '" << path << "'")};
  RIDE_EXPECTS(H5Tget_class(type.get()) == H5T_COMPOUND,
               "results file '" << path << "': " << where << " is not a compound table");
  for (const auto& f : fixed_fields()) {
    RIDE_EXPECTS(H5Tget_member_index(type.get(), f.name) >= 0,
                 "results file '" << path << "': " << where << " has no field '" << f.name << "'");
  }
  const int members = RIDE_H5_CHECK(H5Tget_nmembers(type.get()),
                                    "count fields of " << where << " in '" << path << "'");
  for (int i = 0; i < members; ++i) {
    std::string name = member_name(type.get(), static_cast<unsigned>(i), where, path);
    if (is_fixed_field(name)) continue;
    RIDE_EXPECTS(H5Tget_member_class(type.get(), static_cast<unsigned>(i)) == H5T_FLOAT,
                 "results file '" << path << "': scalar field '" << name << "' of " << where
                                  << " is not floating point");
    out.scalar_names.push_back(std::move(name));
  }
  RIDE_EXPECTS(out.scalar_names.size() <= static_cast<std::size_t>(kMaxScalars),
               "results file '" << path << "': " << where << " has " << out.scalar_names.size()
                                << " scalar fields, at most " << kMaxScalars << " are supported");

  const hsize_t rows = row_count(frames.get(), where, path);
  out.rows.resize(rows);
  if (rows == 0) return;
  const h5::Datatype memory = frame_memory_type(out.scalar_names, path);
  RIDE_H5_CHECK(H5Dread(frames.get(), memory.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, out.rows.data()),
                "read " << rows << " rows of " << where << " in '" << path << "'");
}

/// Gives the variable-length strings HDF5 allocated in a read back, on every path (null is fine).
struct Reclaim {
  hid_t type, space;
  void* data;
  ~Reclaim() { H5Dvlen_reclaim(type, space, H5P_DEFAULT, data); }
};

/// The character set of the variable-length string field `field` of `dataset`'s compound type:
/// strings are read in the charset they were written in (HDF5 does not convert between them).
H5T_cset_t string_field_cset(hid_t dataset, const char* field, const std::string& where,
                             const std::string& path) {
  h5::Datatype type{
      RIDE_H5_CHECK(H5Dget_type(dataset), "get type of " << where << " in '" << path << "'")};
  RIDE_EXPECTS(H5Tget_class(type.get()) == H5T_COMPOUND,
               "results file '" << path << "': " << where << " is not a compound table");
  const int index = H5Tget_member_index(type.get(), field);
  RIDE_EXPECTS(index >= 0,
               "results file '" << path << "': " << where << " has no field '" << field << "'");
  h5::Datatype field_type{
      RIDE_H5_CHECK(H5Tget_member_type(type.get(), static_cast<unsigned>(index)),
                    "get type of " << where << "." << field << " in '" << path << "'")};
  RIDE_EXPECTS(H5Tis_variable_str(field_type.get()) > 0,
               "results file '" << path << "': " << where << "." << field
                                << " is not a variable-length string");
  return H5Tget_cset(field_type.get());
}

void read_errors(const TableRoot& root, const std::string& path, ResultFile& out) {
  if (!link_exists(root.id, "errors", path)) return;
  const std::string where = root.name + "/errors";
  h5::Dataset errors{RIDE_H5_CHECK(H5Dopen2(root.id, "errors", H5P_DEFAULT),
                                   "open " << where << " in '" << path << "'")};
  const hsize_t rows = row_count(errors.get(), where, path);
  if (rows == 0) return;
  const h5::Datatype memory =
      error_memory_type(path, string_field_cset(errors.get(), "message", where, path));

  std::vector<ErrorRow> buffer(rows, ErrorRow{0, 0, nullptr});
  h5::Dataspace space{RIDE_H5_CHECK(H5Screate_simple(1, &rows, nullptr),
                                    "create memory dataspace for '" << path << "'")};
  const Reclaim reclaim{memory.get(), space.get(), buffer.data()};
  RIDE_H5_CHECK(
      H5Dread(errors.get(), memory.get(), space.get(), H5S_ALL, H5P_DEFAULT, buffer.data()),
      "read " << rows << " rows of " << where << " in '" << path << "'");
  out.errors.reserve(rows);
  for (const auto& row : buffer) {
    out.errors.emplace_back(row.stream, row.sequence, row.message ? row.message : "");
  }
}

}  // namespace

ResultFile read_results(const std::string& path, const std::string& stage) {
  const h5::File file = open_read_only(path);
  ResultFile out;
  check_version(file.get(), path);
  out.attributes = read_string_attributes(file.get(), "/", path);
  const TableRoot root = open_table_root(file.get(), stage, path);
  read_frames(root, path, out);
  read_errors(root, path, out);
  return out;
}

std::vector<std::string> result_stages(const std::string& path) {
  const h5::File file = open_read_only(path);
  check_version(file.get(), path);
  return stages_of(read_string_attributes(file.get(), "/", path));
}

void append_aggregates(const std::string& path, const std::string& stage, const std::vector<AggregateRow>& rows,
                       const std::string& source) {
  h5::silence_error_printing();
  h5::PropList fapl{RIDE_H5_CHECK(H5Pcreate(H5P_FILE_ACCESS), "create file access properties for '" << path << "'")};
  RIDE_H5_CHECK(H5Pset_file_locking(fapl.get(), false, true), "disable file locking for '" << path << "'");
  h5::File file{RIDE_H5_CHECK(H5Fopen(path.c_str(), H5F_ACC_RDWR, fapl.get()),
                              "open results file '" << path << "' to add aggregates")};
  check_version(file.get(), path);
  {
    const TableRoot root = open_table_root(file.get(), stage, path);
    RIDE_EXPECTS(!link_exists(root.id, "aggregates", path),
                 "results file '" << path << "': " << root.name << "/aggregates is already written");
    create_aggregates(root.id, path, root.name + "/aggregates", rows, source);
  }
  RIDE_H5_CHECK(H5Fflush(file.get(), H5F_SCOPE_GLOBAL), "flush '" << path << "'");
  RIDE_H5_CHECK(file.close(), "close results file '" << path << "'");
}

std::vector<AggregateRow> read_aggregates(const std::string& path, const std::string& stage,
                                          std::string* source) {
  const h5::File file = open_read_only(path);
  check_version(file.get(), path);
  const TableRoot root = open_table_root(file.get(), stage, path);
  if (source != nullptr) source->clear();
  std::vector<AggregateRow> out;
  if (!link_exists(root.id, "aggregates", path)) return out;
  const std::string where = root.name + "/aggregates";
  h5::Dataset dataset{RIDE_H5_CHECK(H5Dopen2(root.id, "aggregates", H5P_DEFAULT),
                                    "open " << where << " in '" << path << "'")};
  const H5T_cset_t cset = string_field_cset(dataset.get(), "scalar", where, path);
  {
    h5::Datatype type{RIDE_H5_CHECK(H5Dget_type(dataset.get()),
                                    "get type of " << where << " in '" << path << "'")};
    for (const char* field : {"stream", "count", "sum", "min", "max"}) {
      RIDE_EXPECTS(H5Tget_member_index(type.get(), field) >= 0,
                   "results file '" << path << "': " << where << " has no field '" << field
                                    << "'");
    }
  }
  if (source != nullptr) {
    const auto attributes = read_string_attributes(dataset.get(), where, path);
    const auto it = attributes.find("source");
    if (it != attributes.end()) *source = it->second;
  }
  const hsize_t rows = row_count(dataset.get(), where, path);
  if (rows == 0) return out;
  const h5::Datatype memory = aggregate_memory_type(path, cset);
  std::vector<AggregateMemoryRow> buffer(rows, AggregateMemoryRow{0, nullptr, 0, 0, 0, 0});
  h5::Dataspace space{RIDE_H5_CHECK(H5Screate_simple(1, &rows, nullptr),
                                    "create memory dataspace for '" << path << "'")};
  const Reclaim reclaim{memory.get(), space.get(), buffer.data()};
  RIDE_H5_CHECK(
      H5Dread(dataset.get(), memory.get(), space.get(), H5S_ALL, H5P_DEFAULT, buffer.data()),
      "read " << rows << " rows of " << where << " in '" << path << "'");
  out.reserve(rows);
  for (const auto& r : buffer) {
    out.push_back(AggregateRow{r.stream, r.scalar != nullptr ? r.scalar : "", r.count, r.sum,
                               r.min, r.max});
  }
  return out;
}

std::optional<std::vector<float>> read_result_image(const std::string& path, std::uint32_t stream,
                                                    std::uint64_t sequence, std::uint32_t* width,
                                                    std::uint32_t* height,
                                                    const std::string& stage) {
  const h5::File file = open_read_only(path);
  const TableRoot root = open_table_root(file.get(), stage, path);
  // H5Lexists fails on a missing intermediate group, so walk the path one link at a time.
  std::string link = "images";
  for (const std::string& next : {std::to_string(stream), std::to_string(sequence)}) {
    if (!link_exists(root.id, link, path)) return std::nullopt;
    link += "/" + next;
  }
  if (!link_exists(root.id, link, path)) return std::nullopt;
  const std::string where = root.name + "/" + link;

  h5::Dataset dataset{RIDE_H5_CHECK(H5Dopen2(root.id, link.c_str(), H5P_DEFAULT),
                                    "open " << where << " in '" << path << "'")};
  h5::Datatype type{
      RIDE_H5_CHECK(H5Dget_type(dataset.get()), "get type of " << where << " in '" << path << "'")};
  RIDE_EXPECTS(H5Tget_class(type.get()) == H5T_FLOAT,
               "results file '" << path << "': " << where << " is not a float image");
  h5::Dataspace space{RIDE_H5_CHECK(H5Dget_space(dataset.get()),
                                    "get dataspace of " << where << " in '" << path << "'")};
  RIDE_EXPECTS(H5Sget_simple_extent_ndims(space.get()) == 2,
               "results file '" << path << "': " << where << " is not a 2-D image");
  hsize_t dims[2] = {0, 0};
  RIDE_H5_CHECK(H5Sget_simple_extent_dims(space.get(), dims, nullptr),
                "get shape of " << where << " in '" << path << "'");
  RIDE_EXPECTS(dims[0] <= UINT32_MAX && dims[1] <= UINT32_MAX,
               "results file '" << path << "': " << where << " is too large");
  std::vector<float> pixels(dims[0] * dims[1]);
  if (!pixels.empty()) {
    RIDE_H5_CHECK(
        H5Dread(dataset.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, pixels.data()),
        "read " << where << " in '" << path << "'");
  }
  if (height != nullptr) *height = static_cast<std::uint32_t>(dims[0]);
  if (width != nullptr) *width = static_cast<std::uint32_t>(dims[1]);
  return pixels;
}

}  // namespace ride

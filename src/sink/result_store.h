#pragma once
/// @brief The run's results file: one HDF5 file per run, rows keyed by (stream, sequence).
///
/// Layout (readable with h5dump and h5py; HDF5 1.10 file format, default library bounds):
///   /                     string attributes: job metadata (task, config, commit, ...), plus the
///                         int32 attribute `ride_results_version` (1; 2 when the file has stages)
///                         and, only when the file has stages, the string attribute `stages`:
///                         the stage names joined by "," in pipeline order
///
/// A file holds one or more table sets. A single-stage job has one, at the root (the layout
/// below, unchanged since version 1). A pipeline of named stages has one per stage under
/// /stages/NAME/ (NAME: [A-Za-z0-9_]+) and nothing at the root but the attributes: the same
/// datasets as below, each under its stage (/stages/NAME/frames, /stages/NAME/errors,
/// /stages/NAME/images/<stream>/<sequence>, /stages/NAME/keypoints/..., /stages/NAME/boxes/...,
/// /stages/NAME/aggregates), each stage with its own scalar columns. In a table set (<T> = "" or
/// /stages/NAME):
///   <T>/frames            1-D, unlimited, chunked compound table, one row per result:
///                         stream, sequence, partition, offset, worker_rank, epoch, capture_ns,
///                         processed_ns, width, height, input_checksum, status (enum ok |
///                         task_error, dropped), then one float64 field per scalar name
///   <T>/errors            1-D, unlimited, chunked compound (stream, sequence, message: UTF-8
///                         variable-length string), one row per failing frame
///   <T>/images/<stream>/<sequence>   the task's output image: float32 or uint8, shape (height,
///                         width) or (height, width, channels), row-major
///   <T>/keypoints/<stream>/<sequence>, <T>/boxes/<stream>/<sequence>   float32 (n, 5); the
///                         string attribute `columns` names them (x,y,size,angle,response |
///                         x,y,width,height,score); n may be 0
///   <T>/aggregates        (only once written, at the end of a job) 1-D compound table, one row
///                         per (stream, scalar): stream (uint32), scalar (UTF-8 variable-length
///                         string), count (uint64), sum, min, max (float64); the string
///                         attribute `source` says how they were computed
///
/// Concurrency: use a ResultWriter from one thread. The writer takes no HDF5 file lock, so h5dump,
/// h5py or read_results in another process can open the file during a run: opened after a
/// flush() and before the next append, it shows everything appended until that flush (between
/// flushes the file on disk may be mid-update and a reader may fail; retry after the next flush).
/// In the writer's own process, read only after close(): HDF5 would share the open file and show
/// unflushed state. Nothing stops two writers from truncating the same path: one path per run.
#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "core/result_record.h"  // ResultRecord, ImageRef, ObjectsRef (plain types)

namespace ride {

/// @brief One set of tables in a results file: stage "" is the root (/frames, /errors, /images,
/// ..., today's layout, used by single-stage jobs); stage "NAME" lives under /stages/NAME/ with
/// the same datasets (/stages/NAME/frames, /stages/NAME/errors, /stages/NAME/images/<stream>/<seq>,
/// /stages/NAME/keypoints/..., /stages/NAME/boxes/...). Each table set has its own scalar columns
/// (at most kMaxScalars, unique, non-empty, not a fixed field name of /frames).
struct ResultTableSpec {
  std::string stage;
  std::vector<std::string> scalar_names;
};

/// @brief One row of <table root>/aggregates: a scalar's aggregate over one stream's rows.
struct AggregateRow {
  std::uint32_t stream = 0;
  std::string scalar;
  std::uint64_t count = 0;
  double sum = 0, min = 0, max = 0;
};

/// @brief Writes one run's results file. Rows are buffered and written by flush(), one H5Dwrite
/// per table per flush; images are written as they are appended. Not thread-safe.
class ResultWriter {
 public:
  /// Creates or truncates `path` with one table set, at the root (stage ""). `scalar_names` (at
  /// most kMaxScalars, unique, non-empty, not a fixed field name) become float64 fields of
  /// /frames, in order: row.scalars[i] is stored under scalar_names[i]. `attributes` become string
  /// attributes of the root group. Throws ride::Error naming the path and the failed operation.
  ResultWriter(const std::string& path, std::vector<std::string> scalar_names,
               const std::map<std::string, std::string>& attributes);
  /// The same for a braced list of names; it also makes `ResultWriter(path, {}, {})` and
  /// `ResultWriter(path, {"a", "b"}, {})` unambiguous next to the table-set constructor.
  ResultWriter(const std::string& path, std::initializer_list<std::string> scalar_names,
               const std::map<std::string, std::string>& attributes);
  /// Creates or truncates `path` with the table sets `tables` (at least one), addressed by their
  /// index in `tables` in append() and the others. Stage names are unique and [A-Za-z0-9_]+;
  /// stage "" (the root tables) may only appear alone. With stages, the root also gets the
  /// string attribute `stages` (the names joined by ","). `attributes` may not use the names
  /// `stages` and `ride_results_version`, in any file.
  ResultWriter(const std::string& path, std::vector<ResultTableSpec> tables,
               const std::map<std::string, std::string>& attributes);
  ~ResultWriter();  ///< closes; reports a failure on stderr instead of throwing
  ResultWriter(ResultWriter&&) noexcept;
  ResultWriter& operator=(ResultWriter&&);  ///< closes this writer's file first (may throw)
  ResultWriter(const ResultWriter&) = delete;
  ResultWriter& operator=(const ResultWriter&) = delete;

  /// Buffers the row in table set 0. `image` (nullable) holds rec.width * rec.height float32
  /// pixels, row-major; it is written at once to /images/<stream>/<sequence>. Rows with a repeated
  /// key are all kept (the checker counts duplicates); for images the first one written for a key
  /// wins.
  void append(const ResultRecord& rec, const float* image = nullptr);
  /// The general form: buffers the row in table set `table`; any output image (written at once to
  /// <table root>/images/<stream>/<sequence>), and keypoints and boxes (to .../keypoints/... and
  /// .../boxes/...; rows may be non-null with count 0: "looked, found none"). For every key the
  /// first dataset stored wins. rec.scalars[i] is stored under the table's scalar_names[i].
  void append(const ResultRecord& rec, const ImageRef& image, const ObjectsRef& keypoints = {},
              const ObjectsRef& boxes = {}, std::size_t table = 0);
  /// Records a failing frame without failing the run: the row goes to <table root>/frames with
  /// status task_error, and (stream, sequence, message) to <table root>/errors.
  void append_error(const ResultRecord& rec, const std::string& message, std::size_t table = 0);
  /// Writes <table root>/aggregates (see the layout above) with the string attribute `source`,
  /// at once; flush() or close() makes it durable. Once per table set: a second call throws.
  void write_aggregates(std::size_t table, const std::vector<AggregateRow>& rows,
                        const std::string& source);
  /// Writes every table set's buffered rows, flushes HDF5 and fsyncs the file (once): when it
  /// returns, everything appended so far is on disk and visible to readers that open the file
  /// afterwards. With `sync` false the file is not fsynced: readers see everything, but a crash
  /// of the machine may lose it (for a writer whose rows are durable elsewhere: the sink's
  /// journal, sink/result_journal.h); a later flush(true) or close() fsyncs.
  void flush(bool sync = true);
  /// flush(), then closes the file. Further appends throw. Idempotent.
  void close();
  /// Rows of table set `table`'s frames (including error rows) written by flush() so far; 0 for
  /// a moved-from writer.
  std::uint64_t rows_written(std::size_t table = 0) const;
  /// The number of table sets (0 for a moved-from writer).
  std::size_t tables() const;

 private:
  struct Table;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// @brief Everything in one table set of a results file except the images.
struct ResultFile {
  std::vector<std::string> scalar_names;
  std::vector<ResultRecord> rows;  ///< in file order; scalars past scalar_names.size() are 0
  std::map<std::string, std::string> attributes;  ///< string attributes of the root group
  std::vector<std::tuple<std::uint32_t, std::uint64_t, std::string>> errors;  ///< stream, seq, msg
};

/// @brief Reads the tables of one stage ("" = the root tables) of a results file (opened
/// read-only). Throws ride::Error naming the path on failure, and naming the stage when the file
/// has no such stage (a file with stages has no root tables: read one of result_stages()).
ResultFile read_results(const std::string& path, const std::string& stage = "");

/// @brief The stage names of a results file, in pipeline order (its `stages` attribute); empty for
/// a single-stage file. Throws ride::Error naming the path if the file cannot be read.
std::vector<std::string> result_stages(const std::string& path);

/// @brief Reads <stage's table root>/aggregates; empty when the file has none (yet). Sets
/// *source (when non-null) to its `source` attribute ("" when absent). Throws ride::Error naming
/// the path on failure, and naming the stage when the file has no such stage.
/// Writes a stage's aggregates ("" = the root tables) into a closed results file (opened for
/// writing, then flushed and closed): the master adds them at the end of a job, once the group
/// reductions are in. Throws ride::Error when they exist already or the file cannot be written.
void append_aggregates(const std::string& path, const std::string& stage, const std::vector<AggregateRow>& rows,
                       const std::string& source);
std::vector<AggregateRow> read_aggregates(const std::string& path, const std::string& stage = "",
                                          std::string* source = nullptr);

/// @brief Reads <stage's table root>/images/<stream>/<sequence>; nullopt if the file has no image
/// for that key. Sets *width / *height (when non-null) to the image's shape. Throws ride::Error
/// naming the path if the file cannot be read, has no such stage, or the dataset is not a 2-D
/// float image.
std::optional<std::vector<float>> read_result_image(const std::string& path, std::uint32_t stream,
                                                    std::uint64_t sequence,
                                                    std::uint32_t* width = nullptr,
                                                    std::uint32_t* height = nullptr,
                                                    const std::string& stage = "");

}  // namespace ride

#pragma once
/// @brief The run's results file: one HDF5 file per run, rows keyed by (stream, sequence).
///
/// Layout (readable with h5dump and h5py; HDF5 1.10 file format, default library bounds):
///   /                     string attributes: job metadata (task, config, commit, ...), plus the
///                         int32 attribute `ride_results_version`
///   /frames               1-D, unlimited, chunked compound table, one row per result:
///                         stream, sequence, partition, offset, worker_rank, epoch, capture_ns,
///                         processed_ns, width, height, input_checksum, status (enum ok |
///                         task_error, dropped), then one float64 field per scalar name
///   /errors               1-D, unlimited, chunked compound (stream, sequence, message: UTF-8
///                         variable-length string), one row per failing frame
///   /images/<stream>/<sequence>   the task's output image: float32 or uint8, shape (height,
///                         width) or (height, width, channels), row-major
///   /keypoints/<stream>/<sequence>, /boxes/<stream>/<sequence>   float32 (n, 5); the string
///                         attribute `columns` names them (x,y,size,angle,response |
///                         x,y,width,height,score); n may be 0
///
/// Concurrency: use a ResultWriter from one thread. The writer takes no HDF5 file lock, so h5dump,
/// h5py or read_results in another process can open the file during a run: opened after a
/// flush() and before the next append, it shows everything appended until that flush (between
/// flushes the file on disk may be mid-update and a reader may fail; retry after the next flush).
/// In the writer's own process, read only after close(): HDF5 would share the open file and show
/// unflushed state. Nothing stops two writers from truncating the same path: one path per run.
#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "core/result_record.h"  // ResultRecord, ImageRef, ObjectsRef (plain types)

namespace ride {

/// @brief Writes one run's results file. Rows are buffered and written by flush(), one H5Dwrite
/// per table per flush; images are written as they are appended. Not thread-safe.
class ResultWriter {
 public:
  /// Creates or truncates `path`. `scalar_names` (at most kMaxScalars, unique, non-empty, not a
  /// fixed field name) become float64 fields of /frames, in order: row.scalars[i] is stored under
  /// scalar_names[i]. `attributes` become string attributes of the root group.
  /// Throws ride::Error naming the path and the failed operation.
  ResultWriter(const std::string& path, std::vector<std::string> scalar_names,
               const std::map<std::string, std::string>& attributes);
  ~ResultWriter();  ///< closes; reports a failure on stderr instead of throwing
  ResultWriter(ResultWriter&&) noexcept;
  ResultWriter& operator=(ResultWriter&&);  ///< closes this writer's file first (may throw)
  ResultWriter(const ResultWriter&) = delete;
  ResultWriter& operator=(const ResultWriter&) = delete;

  /// Buffers the row. `image` (nullable) holds rec.width * rec.height float32 pixels, row-major;
  /// it is written at once to /images/<stream>/<sequence>. Rows with a repeated key are all kept
  /// (the checker counts duplicates); for images the first one written for a key wins.
  void append(const ResultRecord& rec, const float* image = nullptr);
  /// The general form: any output image (written at once to /images/<stream>/<sequence>), and
  /// keypoints and boxes (to /keypoints/... and /boxes/...; rows may be non-null with count 0:
  /// "looked, found none"). For every key the first dataset stored wins.
  void append(const ResultRecord& rec, const ImageRef& image, const ObjectsRef& keypoints = {},
              const ObjectsRef& boxes = {});
  /// Records a failing frame without failing the run: the row goes to /frames with status
  /// task_error, and (stream, sequence, message) to /errors.
  void append_error(const ResultRecord& rec, const std::string& message);
  /// Writes the buffered rows, flushes HDF5 and fsyncs the file: when it returns, everything
  /// appended so far is on disk and visible to readers that open the file afterwards.
  void flush();
  /// flush(), then closes the file. Further appends throw. Idempotent.
  void close();
  /// Rows of /frames (including error rows) written by flush() so far.
  std::uint64_t rows_written() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// @brief Everything in a results file except the images.
struct ResultFile {
  std::vector<std::string> scalar_names;
  std::vector<ResultRecord> rows;  ///< in file order; scalars past scalar_names.size() are 0
  std::map<std::string, std::string> attributes;  ///< string attributes of the root group
  std::vector<std::tuple<std::uint32_t, std::uint64_t, std::string>> errors;  ///< stream, seq, msg
};

/// @brief Reads a results file (opened read-only). Throws ride::Error naming the path on failure.
ResultFile read_results(const std::string& path);

/// @brief Reads /images/<stream>/<sequence>; nullopt if the file has no image for that key.
/// Sets *width / *height (when non-null) to the image's shape. Throws ride::Error naming the path
/// if the file cannot be read or the dataset is not a 2-D float image.
std::optional<std::vector<float>> read_result_image(const std::string& path, std::uint32_t stream,
                                                    std::uint64_t sequence,
                                                    std::uint32_t* width = nullptr,
                                                    std::uint32_t* height = nullptr);

}  // namespace ride

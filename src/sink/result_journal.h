#pragma once
/// @brief The results journal (#14, master loss -> resume): an append-only file beside the
/// results file that holds every RESULTS body the sink stored, each framed with its length and a
/// checksum. The sink appends a body as it stores it and syncs the journal (fdatasync) before it
/// acknowledges a batch, so everything a worker was told is durable is in the journal on disk.
/// HDF5 is not crash-safe (a master SIGKILLed mid-flush can leave the results file unreadable);
/// the journal is, because a torn tail is recognised and cut off. A resumed run rebuilds the
/// results file from it.
///
/// File layout (little-endian):
///   header  "RIDEJRN1", u32 version (1), u32 0, u64 n, n bytes of text (the job's identity:
///           its configuration), u64 checksum64 of the text
///   record  u32 0x31434552 ("REC1"), u32 table (stage index), u64 n, u64 checksum64 of the body,
///           n bytes of body (a RESULTS message, core/results_codec.h)
#include <cstdint>
#include <functional>
#include <string>

#include "core/buffer.h"

namespace ride {

class ResultJournal {
 public:
  /// What reading an existing journal found.
  struct Replay {
    std::string header;              ///< the text written at creation
    std::uint64_t records = 0;       ///< intact records, handed to the callback in order
    std::uint64_t bytes = 0;         ///< their bodies' bytes
    std::uint64_t torn_bytes = 0;    ///< bytes after the last intact record (cut off)
  };

  /// Creates (truncates) `path` with `header` and syncs it. Throws ride::Error naming the path.
  static ResultJournal create(const std::string& path, const std::string& header);
  /// Reads `path`, calls `record(table, body)` for every intact record in order, cuts off a torn
  /// tail (an interrupted append) and opens the file to append after the last intact record.
  /// Throws ride::Error naming the path when it is missing or not a journal (its header is
  /// damaged: nothing in it can be trusted).
  static ResultJournal resume(const std::string& path,
                              const std::function<void(std::uint32_t table, const Buffer& body)>& record,
                              Replay* replay);
  /// The header text of the journal at `path` (reads only the header). Throws like resume().
  static std::string read_header(const std::string& path);

  ResultJournal(ResultJournal&&) noexcept;
  ResultJournal& operator=(ResultJournal&&) noexcept;
  ResultJournal(const ResultJournal&) = delete;
  ResultJournal& operator=(const ResultJournal&) = delete;
  ~ResultJournal();

  /// Appends one record (to the page cache: sync() makes it durable). Throws ride::Error.
  void append(std::uint32_t table, const void* body, std::size_t n);
  /// Makes every record appended so far durable (fdatasync); nothing to do when none was.
  void sync();
  /// Bytes in the file (header included).
  std::uint64_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  ResultJournal(std::string path, int fd, std::uint64_t size);
  std::string path_;
  int fd_ = -1;
  std::uint64_t size_ = 0;
  bool dirty_ = false;
};

/// The journal beside a results file: "<results_path>.journal".
std::string journal_path(const std::string& results_path);

}  // namespace ride

#include "sink/result_journal.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include "core/checksum.h"
#include "core/error.h"

namespace ride {
namespace {

constexpr char kMagic[8] = {'R', 'I', 'D', 'E', 'J', 'R', 'N', '1'};
constexpr std::uint32_t kVersion = 1;
constexpr std::uint32_t kRecordMagic = 0x31434552;  // "REC1"

struct RecordHead {
  std::uint32_t magic;
  std::uint32_t table;
  std::uint64_t n;
  std::uint64_t checksum;
};
static_assert(sizeof(RecordHead) == 24);

std::string errno_text() { return std::strerror(errno); }

/// Writes all of [p, p+n) at the file's end; throws naming the path.
void write_all(int fd, const std::string& path, const struct iovec* iov, int count) {
  std::array<struct iovec, 4> v{};
  std::size_t left = 0;
  for (int i = 0; i < count; ++i) {
    v[static_cast<std::size_t>(i)] = iov[i];
    left += iov[i].iov_len;
  }
  int first = 0;
  while (left > 0) {
    const ssize_t w = ::writev(fd, v.data() + first, count - first);
    if (w < 0) {
      if (errno == EINTR) continue;
      RIDE_FAIL("results journal '" << path << "': write failed: " << errno_text());
    }
    auto done = static_cast<std::size_t>(w);
    left -= done;
    while (first < count && done >= v[static_cast<std::size_t>(first)].iov_len) {
      done -= v[static_cast<std::size_t>(first)].iov_len;
      ++first;
    }
    if (first < count) {
      auto& cur = v[static_cast<std::size_t>(first)];
      cur.iov_base = static_cast<char*>(cur.iov_base) + done;
      cur.iov_len -= done;
    }
  }
}

/// Reads exactly n bytes at `at`; false at the end of the file (a short read).
bool read_at(int fd, const std::string& path, void* p, std::size_t n, std::uint64_t at) {
  auto* b = static_cast<char*>(p);
  while (n > 0) {
    const ssize_t r = ::pread(fd, b, n, static_cast<off_t>(at));
    if (r < 0) {
      if (errno == EINTR) continue;
      RIDE_FAIL("results journal '" << path << "': read failed: " << errno_text());
    }
    if (r == 0) return false;
    b += r;
    n -= static_cast<std::size_t>(r);
    at += static_cast<std::uint64_t>(r);
  }
  return true;
}

/// Reads and checks the header; returns its text and where the records start.
std::pair<std::string, std::uint64_t> read_header_at(int fd, const std::string& path) {
  char magic[8];
  std::uint32_t version = 0, reserved = 0;
  std::uint64_t n = 0;
  const bool ok = read_at(fd, path, magic, 8, 0) && read_at(fd, path, &version, 4, 8) &&
                  read_at(fd, path, &reserved, 4, 12) && read_at(fd, path, &n, 8, 16);
  RIDE_EXPECTS(ok && std::memcmp(magic, kMagic, 8) == 0,
               "'" << path << "' is not a ride results journal (no RIDEJRN1 header)");
  RIDE_EXPECTS(version == kVersion, "results journal '" << path << "' has version " << version
                                                         << "; this ride reads version " << kVersion);
  RIDE_EXPECTS(n < (std::uint64_t{1} << 26), "results journal '" << path << "': its header is damaged");
  std::string text(n, '\0');
  std::uint64_t sum = 0;
  RIDE_EXPECTS(read_at(fd, path, text.data(), n, 24) && read_at(fd, path, &sum, 8, 24 + n) &&
                   sum == checksum64(text.data(), text.size()),
               "results journal '" << path << "': its header is damaged");
  return {std::move(text), 24 + n + 8};
}

int open_or_fail(const std::string& path, int flags) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC, 0644);
  RIDE_EXPECTS(fd >= 0, "results journal '" << path << "': cannot open: " << errno_text());
  return fd;
}

}  // namespace

std::string journal_path(const std::string& results_path) { return results_path + ".journal"; }

ResultJournal::ResultJournal(std::string path, int fd, std::uint64_t size)
    : path_(std::move(path)), fd_(fd), size_(size) {}

ResultJournal::ResultJournal(ResultJournal&& o) noexcept
    : path_(std::move(o.path_)), fd_(std::exchange(o.fd_, -1)), size_(o.size_), dirty_(o.dirty_) {}

ResultJournal& ResultJournal::operator=(ResultJournal&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    path_ = std::move(o.path_);
    fd_ = std::exchange(o.fd_, -1);
    size_ = o.size_;
    dirty_ = o.dirty_;
  }
  return *this;
}

ResultJournal::~ResultJournal() {
  if (fd_ >= 0) {
    if (dirty_) ::fdatasync(fd_);
    ::close(fd_);
  }
}

ResultJournal ResultJournal::create(const std::string& path, const std::string& header) {
  const int fd = open_or_fail(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND);
  ResultJournal j(path, fd, 0);
  const std::uint32_t version = kVersion, reserved = 0;
  const std::uint64_t n = header.size();
  const std::uint64_t sum = checksum64(header.data(), header.size());
  // The fixed part, then the text and its checksum.
  std::array<char, 24> head{};
  std::memcpy(head.data(), kMagic, 8);
  std::memcpy(head.data() + 8, &version, 4);
  std::memcpy(head.data() + 12, &reserved, 4);
  std::memcpy(head.data() + 16, &n, 8);
  const std::array<struct iovec, 3> iov{{{head.data(), head.size()},
                                         {const_cast<char*>(header.data()), header.size()},
                                         {const_cast<std::uint64_t*>(&sum), sizeof sum}}};
  write_all(fd, path, iov.data(), static_cast<int>(iov.size()));
  j.size_ = head.size() + header.size() + sizeof sum;
  RIDE_EXPECTS(::fsync(fd) == 0, "results journal '" << path << "': fsync failed: " << errno_text());
  return j;
}

std::string ResultJournal::read_header(const std::string& path) {
  const int fd = open_or_fail(path, O_RDONLY);
  try {
    auto text = read_header_at(fd, path).first;
    ::close(fd);
    return text;
  } catch (...) {
    ::close(fd);
    throw;
  }
}

ResultJournal ResultJournal::resume(const std::string& path,
                                    const std::function<void(std::uint32_t, const Buffer&)>& record,
                                    Replay* replay) {
  const int fd = open_or_fail(path, O_RDWR);
  ResultJournal j(path, fd, 0);  // closes fd on a throw below
  Replay r;
  auto [text, at] = read_header_at(fd, path);
  r.header = std::move(text);
  struct stat st {};
  RIDE_EXPECTS(::fstat(fd, &st) == 0, "results journal '" << path << "': stat failed: " << errno_text());
  const auto file_size = static_cast<std::uint64_t>(st.st_size);
  for (;;) {
    RecordHead h{};
    if (at + sizeof h > file_size || !read_at(fd, path, &h, sizeof h, at)) break;
    if (h.magic != kRecordMagic || h.n > file_size - at - sizeof h) break;
    Buffer body(static_cast<std::size_t>(h.n));
    if (!read_at(fd, path, body.data(), body.size(), at + sizeof h)) break;
    if (checksum64(body.data(), body.size()) != h.checksum) break;
    at += sizeof h + h.n;
    ++r.records;
    r.bytes += h.n;
    record(h.table, body);
  }
  r.torn_bytes = file_size - at;
  if (r.torn_bytes > 0) {
    RIDE_EXPECTS(::ftruncate(fd, static_cast<off_t>(at)) == 0 && ::fsync(fd) == 0,
                 "results journal '" << path << "': cannot cut off its torn tail: " << errno_text());
  }
  RIDE_EXPECTS(::lseek(fd, static_cast<off_t>(at), SEEK_SET) >= 0,
               "results journal '" << path << "': seek failed: " << errno_text());
  j.size_ = at;
  if (replay) *replay = std::move(r);
  return j;
}

void ResultJournal::append(std::uint32_t table, const void* body, std::size_t n) {
  RIDE_EXPECTS(fd_ >= 0, "results journal: append after close");
  const RecordHead h{kRecordMagic, table, n, checksum64(body, n)};
  const std::array<struct iovec, 2> iov{{{const_cast<RecordHead*>(&h), sizeof h}, {const_cast<void*>(body), n}}};
  write_all(fd_, path_, iov.data(), static_cast<int>(iov.size()));
  size_ += sizeof h + n;
  dirty_ = true;
}

void ResultJournal::sync() {
  if (!dirty_ || fd_ < 0) return;
  RIDE_EXPECTS(::fdatasync(fd_) == 0, "results journal '" << path_ << "': fdatasync failed: " << errno_text());
  dirty_ = false;
}

}  // namespace ride

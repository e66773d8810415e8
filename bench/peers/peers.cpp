// bench_peers: the reference measurements the broker benchmark compares against.
//
//   bench_peers memcpy --bytes N [--seconds S]
//   bench_peers disk   --dir D --mb M
//   bench_peers redis  --bytes N --frames K [--host H] [--port P] [--batch B] [--window W]
//   common:            [--timeout S]   watchdog: a run still going after S seconds exits 124
//
// Prints one JSON object on stdout. On failure it prints {"test":..., "error":...} on stdout,
// the message on stderr, and exits 1 (2 for bad arguments, 124 for the watchdog). Every timed
// run verifies what it moved; the metric definitions are in bench/peers/README.md.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

#ifndef RIDE_GIT_COMMIT
#define RIDE_GIT_COMMIT "unknown"
#endif

namespace {

using Clock = std::chrono::steady_clock;
using json = nlohmann::json;

double seconds_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// ---------------------------------------------------------------------------------------------
// Arguments: a subcommand, then --key value pairs. Unknown keys are errors.

class Args {
 public:
  Args(int argc, char** argv, int first) {
    for (int i = first; i < argc; ++i) {
      std::string key = argv[i];
      if (key.rfind("--", 0) != 0 || key.size() < 3) throw UsageError("unexpected argument '" + key + "'");
      if (i + 1 >= argc) throw UsageError("option '" + key + "' needs a value");
      values_[key.substr(2)] = argv[++i];
    }
  }
  bool has(const std::string& k) const { return values_.count(k) != 0; }
  std::string str(const std::string& k, const std::string& def) {
    used_.push_back(k);
    auto it = values_.find(k);
    return it == values_.end() ? def : it->second;
  }
  std::string required(const std::string& k) {
    if (!has(k)) throw UsageError("missing --" + k);
    return str(k, "");
  }
  std::uint64_t u64(const std::string& k, std::uint64_t def, std::uint64_t min_value) {
    if (!has(k)) {
      used_.push_back(k);
      return def;
    }
    const std::string v = str(k, "");
    std::size_t pos = 0;
    unsigned long long n = 0;
    try {
      if (v.empty() || v[0] == '-') throw std::invalid_argument(v);
      n = std::stoull(v, &pos, 10);
    } catch (const std::exception&) {
      throw UsageError("--" + k + " must be a non-negative integer, got '" + v + "'");
    }
    if (pos != v.size()) throw UsageError("--" + k + " must be an integer, got '" + v + "'");
    if (n < min_value) throw UsageError("--" + k + " must be at least " + std::to_string(min_value));
    return n;
  }
  double real(const std::string& k, double def, double min_value) {
    if (!has(k)) {
      used_.push_back(k);
      return def;
    }
    const std::string v = str(k, "");
    std::size_t pos = 0;
    double d = 0;
    try {
      d = std::stod(v, &pos);
    } catch (const std::exception&) {
      throw UsageError("--" + k + " must be a number, got '" + v + "'");
    }
    if (pos != v.size() || !(d >= min_value)) {
      throw UsageError("--" + k + " must be a number >= " + std::to_string(min_value) + ", got '" + v + "'");
    }
    return d;
  }
  // Call after reading every option a subcommand knows.
  void reject_unknown() const {
    for (const auto& [k, v] : values_) {
      if (std::find(used_.begin(), used_.end(), k) == used_.end()) throw UsageError("unknown option --" + k);
    }
  }

 private:
  std::map<std::string, std::string> values_;
  std::vector<std::string> used_;
};

// ---------------------------------------------------------------------------------------------
// Watchdog: ends a hung run (a stalled server, a disk that stops answering).

class Watchdog {
 public:
  Watchdog(double seconds, std::string test) : test_(std::move(test)) {
    thread_ = std::thread([this, seconds] {
      std::unique_lock lock(mutex_);
      if (!cv_.wait_for(lock, std::chrono::duration<double>(seconds), [this] { return done_; })) {
        const json j = {{"test", test_}, {"error", "watchdog: still running after " + std::to_string(seconds) + " s"}};
        std::cout << j.dump() << std::endl;
        std::cerr << "bench_peers: watchdog: " << test_ << " still running after " << seconds << " s\n";
        std::_Exit(124);
      }
    });
  }
  ~Watchdog() {
    {
      std::lock_guard lock(mutex_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

 private:
  std::string test_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

// ---------------------------------------------------------------------------------------------
// Page-aligned memory.

struct FreeDeleter {
  void operator()(void* p) const { std::free(p); }
};
using Buffer = std::unique_ptr<unsigned char, FreeDeleter>;

Buffer aligned_buffer(std::size_t bytes, std::size_t alignment = 4096) {
  const std::size_t rounded = (bytes + alignment - 1) / alignment * alignment;
  void* p = std::aligned_alloc(alignment, rounded);
  if (p == nullptr) throw std::runtime_error("cannot allocate " + std::to_string(rounded) + " bytes");
  return Buffer(static_cast<unsigned char*>(p));
}

// Cheap deterministic pseudo-random bytes (xorshift64*), so nothing compresses or dedups them.
void fill_pseudo_random(unsigned char* p, std::size_t n, std::uint64_t seed) {
  std::uint64_t x = seed * 0x9E3779B97F4A7C15ULL + 0x2545F4914F6CDD1DULL;
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    const std::uint64_t v = x * 0x2545F4914F6CDD1DULL;
    std::memcpy(p + i, &v, 8);
  }
  for (; i < n; ++i) p[i] = static_cast<unsigned char>(i * 131 + seed);
}

// ---------------------------------------------------------------------------------------------
// memcpy: single-core bandwidth for frame-sized copies, from memory rather than cache.

json run_memcpy(Args& args) {
  const std::uint64_t bytes = args.u64("bytes", 0, 1);
  if (!args.has("bytes")) throw UsageError("missing --bytes");
  const double seconds = args.real("seconds", 2.0, 0.01);
  args.reject_unknown();

  // Slots are page-aligned; even slots are sources, odd slots destinations. The whole arena is
  // at least 256 MiB (the last-level cache here is 32 MiB), so each copy reads and writes lines
  // that were evicted long ago.
  constexpr std::size_t kArenaMin = std::size_t{256} << 20;
  const std::size_t slot = (bytes + 4095) / 4096 * 4096;
  std::size_t nslots = std::max<std::size_t>(4, (kArenaMin + slot - 1) / slot);
  nslots += nslots % 2;
  const std::size_t npairs = nslots / 2;
  Buffer arena = aligned_buffer(slot * nslots);
  unsigned char* base = arena.get();
  auto src = [&](std::size_t k) { return base + (2 * k) * slot; };
  auto dst = [&](std::size_t k) { return base + (2 * k + 1) * slot; };

  // Page in and give every slot distinct content (a skipped or partial copy cannot verify).
  for (std::size_t s = 0; s < nslots; ++s) fill_pseudo_random(base + s * slot, slot, s + 1);
  // One untimed pass: first-touch effects (TLB, page tables) out of the measurement.
  for (std::size_t k = 0; k < npairs; ++k) std::memcpy(dst(k), src(k), bytes);
  for (std::size_t k = 0; k < npairs; ++k) fill_pseudo_random(dst(k), bytes, 1000 + k);

  std::uint64_t copies = 0;
  std::size_t k = 0;
  const auto t0 = Clock::now();
  auto t1 = t0;
  const auto deadline = t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  // Run at least one full rotation so every destination is written inside the timed loop.
  while (true) {
    std::memcpy(dst(k), src(k), bytes);
    ++copies;
    if (++k == npairs) k = 0;
    t1 = Clock::now();
    if (t1 >= deadline && copies >= npairs) break;
  }
  const double elapsed = seconds_between(t0, t1);

  // Verify: every destination holds its source (the last copy included).
  for (std::size_t j = 0; j < npairs; ++j) {
    if (std::memcmp(dst(j), src(j), bytes) != 0) {
      throw std::runtime_error("memcpy verification failed for pair " + std::to_string(j));
    }
  }
  const double moved = static_cast<double>(bytes) * static_cast<double>(copies);
  return {{"test", "memcpy"},
          {"bytes", bytes},
          {"GBps", moved / elapsed / 1e9},
          {"frames_per_s", static_cast<double>(copies) / elapsed},
          {"copies", copies},
          {"seconds", elapsed},
          {"arena_bytes", slot * nslots},
          {"pairs", npairs},
          {"verified", true}};
}

// ---------------------------------------------------------------------------------------------
// disk: sequential write bandwidth of the file system behind a directory.

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_;
};

[[noreturn]] void throw_errno(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), what);
}

class Unlinker {
 public:
  explicit Unlinker(std::string path) : path_(std::move(path)) {}
  ~Unlinker() {
    if (!path_.empty()) ::unlink(path_.c_str());
  }
  Unlinker(const Unlinker&) = delete;
  Unlinker& operator=(const Unlinker&) = delete;
  void done() {
    if (::unlink(path_.c_str()) != 0) throw_errno("unlink " + path_);
    path_.clear();
  }

 private:
  std::string path_;
};

void stamp_block(unsigned char* block, std::uint64_t index) {
  std::memcpy(block, &index, sizeof index);
  const std::uint64_t inverse = ~index;
  std::memcpy(block + 64, &inverse, sizeof inverse);
}

// Writes the whole file; returns false when the first O_DIRECT write is refused (EINVAL), so the
// caller can fall back to buffered I/O.
bool write_file(int fd, unsigned char* block, std::size_t block_bytes, std::uint64_t total, bool direct) {
  std::uint64_t offset = 0;
  for (std::uint64_t index = 0; offset < total; ++index) {
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(block_bytes, total - offset));
    stamp_block(block, index);
    std::size_t done = 0;
    while (done < n) {
      const ssize_t w = ::pwrite(fd, block + done, n - done, static_cast<off_t>(offset + done));
      if (w < 0) {
        if (errno == EINTR) continue;
        if (direct && errno == EINVAL && offset == 0 && done == 0) return false;
        throw_errno("write");
      }
      if (w == 0) throw std::runtime_error("write returned 0");
      done += static_cast<std::size_t>(w);
    }
    offset += n;
  }
  if (::fdatasync(fd) != 0) throw_errno("fdatasync");
  return true;
}

json run_disk(Args& args) {
  const std::string dir = args.required("dir");
  const std::uint64_t mb = args.u64("mb", 0, 1);
  if (!args.has("mb")) throw UsageError("missing --mb");
  args.reject_unknown();

  constexpr std::size_t kBlock = std::size_t{4} << 20;
  const std::uint64_t total = mb << 20;  // M MiB: a whole number of 4 KiB pages, as O_DIRECT needs
  Buffer block = aligned_buffer(kBlock);
  fill_pseudo_random(block.get(), kBlock, 77);
  Buffer expected = aligned_buffer(kBlock);
  std::memcpy(expected.get(), block.get(), kBlock);

  const std::string path = dir + "/.bench_peers_disk." + std::to_string(::getpid()) + "." +
                           std::to_string(Clock::now().time_since_epoch().count());
  const int base_flags = O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC;
  bool direct = true;
  Fd fd(::open(path.c_str(), base_flags | O_DIRECT, 0600));
  if (fd.get() < 0) {
    if (errno != EINVAL) throw_errno("open " + path);
    direct = false;  // e.g. tmpfs: no O_DIRECT
    fd.reset(::open(path.c_str(), base_flags, 0600));
    if (fd.get() < 0) throw_errno("open " + path);
  }
  Unlinker unlinker(path);

  auto t0 = Clock::now();
  if (!write_file(fd.get(), block.get(), kBlock, total, direct)) {
    // O_DIRECT opened but the file system refused the write: time the buffered run instead.
    direct = false;
    fd.reset(::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC));
    if (fd.get() < 0) throw_errno("reopen " + path);
    t0 = Clock::now();
    write_file(fd.get(), block.get(), kBlock, total, false);
  }
  const auto t1 = Clock::now();
  fd.reset();

  // Verify (untimed): the size, and every block read back equals what was written.
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw_errno("stat " + path);
  if (static_cast<std::uint64_t>(st.st_size) != total) {
    throw std::runtime_error("file has " + std::to_string(st.st_size) + " bytes, wrote " + std::to_string(total));
  }
  Fd in(::open(path.c_str(), O_RDONLY | O_CLOEXEC | (direct ? O_DIRECT : 0)));
  if (in.get() < 0) throw_errno("open for verification " + path);
  std::uint64_t offset = 0;
  for (std::uint64_t index = 0; offset < total; ++index) {
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(kBlock, total - offset));
    std::size_t done = 0;
    while (done < n) {
      const ssize_t r = ::pread(in.get(), block.get() + done, n - done, static_cast<off_t>(offset + done));
      if (r < 0) {
        if (errno == EINTR) continue;
        throw_errno("read back");
      }
      if (r == 0) throw std::runtime_error("short file while reading back");
      done += static_cast<std::size_t>(r);
    }
    stamp_block(expected.get(), index);
    if (std::memcmp(block.get(), expected.get(), n) != 0) {
      throw std::runtime_error("read-back mismatch in block " + std::to_string(index));
    }
    offset += n;
  }
  in.reset();
  unlinker.done();

  const double elapsed = seconds_between(t0, t1);
  return {{"test", "disk_write"},
          {"dir", dir},
          {"bytes", total},
          {"block_bytes", kBlock},
          {"MBps", static_cast<double>(total) / elapsed / 1e6},
          {"seconds", elapsed},
          {"direct", direct},
          {"verified", true}};
}

// ---------------------------------------------------------------------------------------------
// redis: Redis Streams as a frame buffer (producer XADD, consumer group XREADGROUP/XACK/XDEL).

struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

struct ContextDeleter {
  void operator()(redisContext* c) const { redisFree(c); }
};

class Redis {
 public:
  Redis(const std::string& host, int port) {
    const timeval connect_timeout{5, 0};
    ctx_.reset(redisConnectWithTimeout(host.c_str(), port, connect_timeout));
    if (!ctx_) throw std::runtime_error("redis: cannot allocate a context");
    if (ctx_->err != 0) {
      throw std::runtime_error("redis: cannot connect to " + host + ":" + std::to_string(port) + ": " + ctx_->errstr);
    }
    const timeval io_timeout{30, 0};
    if (redisSetTimeout(ctx_.get(), io_timeout) != REDIS_OK) throw std::runtime_error("redis: cannot set timeout");
  }

  // Binary-safe: each argument is a (pointer, length) pair.
  void append(const std::vector<std::string_view>& argv) {
    argv_.clear();
    lens_.clear();
    for (const auto& a : argv) {
      argv_.push_back(a.data());
      lens_.push_back(a.size());
    }
    if (redisAppendCommandArgv(ctx_.get(), static_cast<int>(argv_.size()), argv_.data(), lens_.data()) != REDIS_OK) {
      throw std::runtime_error(std::string("redis: append failed: ") + ctx_->errstr);
    }
  }

  Reply get() {
    void* raw = nullptr;
    if (redisGetReply(ctx_.get(), &raw) != REDIS_OK || raw == nullptr) {
      throw std::runtime_error(std::string("redis: ") + (ctx_->err != 0 ? ctx_->errstr : "no reply"));
    }
    Reply r(static_cast<redisReply*>(raw));
    if (r->type == REDIS_REPLY_ERROR) throw std::runtime_error("redis: " + std::string(r->str, r->len));
    return r;
  }

  Reply command(const std::vector<std::string_view>& argv) {
    append(argv);
    return get();
  }

 private:
  std::unique_ptr<redisContext, ContextDeleter> ctx_;
  std::vector<const char*> argv_;
  std::vector<std::size_t> lens_;
};

std::string info_field(Redis& r, const std::string& section, const std::string& field) {
  Reply info = r.command({"INFO", section});
  if (info->type != REDIS_REPLY_STRING && info->type != REDIS_REPLY_STATUS) return "";
  const std::string text(info->str, info->len);
  const std::string key = field + ":";
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.rfind(key, 0) == 0) return line.substr(key.size());
    pos = end + 1;
  }
  return "";
}

// What frame `seq` holds: one of 4 pseudo-random buffers (by seq % 4) with seq stamped into its
// first and last 8 bytes, so the consumer detects loss, duplication, reordering and truncation.
constexpr std::size_t kCycle = 4;

void check_frame(const redisReply* entry, std::uint64_t seq, std::size_t bytes,
                 const std::vector<Buffer>& cycle) {
  if (entry->type != REDIS_REPLY_ARRAY || entry->elements != 2) throw std::runtime_error("malformed stream entry");
  const redisReply* fields = entry->element[1];
  if (fields->type != REDIS_REPLY_ARRAY || fields->elements != 2) {
    throw std::runtime_error("entry " + std::to_string(seq) + ": expected one field");
  }
  const redisReply* name = fields->element[0];
  const redisReply* value = fields->element[1];
  if (name->type != REDIS_REPLY_STRING || std::string_view(name->str, name->len) != "f") {
    throw std::runtime_error("entry " + std::to_string(seq) + ": unexpected field name");
  }
  if (value->type != REDIS_REPLY_STRING || value->len != bytes) {
    throw std::runtime_error("entry " + std::to_string(seq) + ": " + std::to_string(value->len) + " bytes, sent " +
                             std::to_string(bytes));
  }
  const auto* p = reinterpret_cast<const unsigned char*>(value->str);
  std::uint64_t head = 0;
  std::uint64_t tail = 0;
  std::memcpy(&head, p, 8);
  std::memcpy(&tail, p + bytes - 8, 8);
  if (head != seq || tail != seq) {
    throw std::runtime_error("expected frame " + std::to_string(seq) + ", got head " + std::to_string(head) +
                             " tail " + std::to_string(tail));
  }
  const std::size_t mid = bytes / 2;
  if (mid >= 8 && mid + 8 < bytes && p[mid] != cycle[seq % kCycle].get()[mid]) {
    throw std::runtime_error("frame " + std::to_string(seq) + ": content differs from the sent buffer");
  }
}

json run_redis(Args& args) {
  const std::uint64_t bytes = args.u64("bytes", 0, 16);
  if (!args.has("bytes")) throw UsageError("missing --bytes");
  const std::uint64_t frames = args.u64("frames", 0, 1);
  if (!args.has("frames")) throw UsageError("missing --frames");
  const std::string host = args.str("host", "127.0.0.1");
  const std::uint64_t port = args.u64("port", 6379, 1);
  if (port > 65535) throw UsageError("--port must be at most 65535");
  const std::uint64_t batch = args.u64("batch", 16, 1);
  // Frames the producer may be ahead of the consumer's XDEL: bounds the server's memory.
  const std::uint64_t default_window = std::max<std::uint64_t>(2 * batch, ((std::uint64_t{256} << 20) + bytes - 1) / bytes);
  const std::uint64_t window = std::max(args.u64("window", default_window, 1), batch);
  args.reject_unknown();

  std::vector<Buffer> cycle;
  for (std::size_t c = 0; c < kCycle; ++c) {
    cycle.push_back(aligned_buffer(bytes));
    fill_pseudo_random(cycle.back().get(), bytes, 100 + c);
  }

  Redis control(host, static_cast<int>(port));
  Redis producer_conn(host, static_cast<int>(port));
  Redis consumer_conn(host, static_cast<int>(port));
  const std::string version = info_field(control, "server", "redis_version");

  const std::string key = "bench_peers:" + std::to_string(::getpid()) + ":" +
                          std::to_string(Clock::now().time_since_epoch().count());
  if (control.command({"EXISTS", key})->integer != 0) throw std::runtime_error("stream key " + key + " exists");
  control.command({"XGROUP", "CREATE", key, "g", "$", "MKSTREAM"});
  struct KeyGuard {
    Redis& r;
    const std::string& k;
    ~KeyGuard() {
      try {
        r.command({"DEL", k});
      } catch (...) {
      }
    }
  } key_guard{control, key};

  std::atomic<bool> abort{false};
  std::mutex mutex;
  std::condition_variable cv;
  std::uint64_t acked = 0;  // frames acked and deleted by the consumer
  std::string producer_error;
  std::string consumer_error;
  Clock::time_point t_first{};
  Clock::time_point t_last{};
  const std::string count = std::to_string(batch);

  auto fail = [&](std::string& slot, const std::string& what) {
    {
      std::lock_guard lock(mutex);
      slot = what;
    }
    abort = true;
    cv.notify_all();
  };

  std::thread producer([&] {
    try {
      std::vector<unsigned char> scratch;
      std::uint64_t pending = 0;
      auto flush = [&] {
        for (; pending > 0; --pending) {
          Reply id = producer_conn.get();
          if (id->type != REDIS_REPLY_STRING) throw std::runtime_error("XADD: unexpected reply type");
        }
      };
      for (std::uint64_t seq = 0; seq < frames; ++seq) {
        {
          std::unique_lock lock(mutex);
          if (seq - acked >= window) {
            lock.unlock();
            flush();  // the consumer can only drain what has been sent
            lock.lock();
            cv.wait(lock, [&] { return seq - acked < window || abort.load(); });
          }
        }
        if (abort) return;
        unsigned char* frame = cycle[seq % kCycle].get();
        std::memcpy(frame, &seq, 8);
        std::memcpy(frame + bytes - 8, &seq, 8);
        if (seq == 0) t_first = Clock::now();
        // hiredis copies the arguments into its output buffer here, so the next stamp is safe.
        producer_conn.append({"XADD", key, "*", "f",
                              std::string_view(reinterpret_cast<const char*>(frame), bytes)});
        if (++pending == batch) flush();
      }
      flush();
    } catch (const std::exception& e) {
      fail(producer_error, std::string("producer: ") + e.what());
    }
  });

  std::thread consumer([&] {
    try {
      std::uint64_t received = 0;
      std::vector<std::string_view> ack;
      std::vector<std::string_view> del;
      while (received < frames) {
        if (abort) return;
        Reply r = consumer_conn.command({"XREADGROUP", "GROUP", "g", "c", "COUNT", count, "BLOCK", "100", "STREAMS", key, ">"});
        if (r->type == REDIS_REPLY_NIL) continue;
        if (r->type != REDIS_REPLY_ARRAY || r->elements != 1 || r->element[0]->type != REDIS_REPLY_ARRAY ||
            r->element[0]->elements != 2 || r->element[0]->element[1]->type != REDIS_REPLY_ARRAY) {
          throw std::runtime_error("XREADGROUP: malformed reply");
        }
        const redisReply* entries = r->element[0]->element[1];
        if (entries->elements == 0) continue;
        ack = {"XACK", key, "g"};
        del = {"XDEL", key};
        for (std::size_t i = 0; i < entries->elements; ++i) {
          if (received >= frames) throw std::runtime_error("received more frames than were sent");
          const redisReply* entry = entries->element[i];
          check_frame(entry, received, bytes, cycle);
          const redisReply* id = entry->element[0];
          ack.emplace_back(id->str, id->len);
          del.emplace_back(id->str, id->len);
          ++received;
        }
        consumer_conn.append(ack);
        consumer_conn.append(del);
        Reply acked_reply = consumer_conn.get();
        if (received == frames) t_last = Clock::now();
        Reply deleted_reply = consumer_conn.get();
        const auto n = static_cast<long long>(entries->elements);
        if (acked_reply->integer != n) throw std::runtime_error("XACK acknowledged " + std::to_string(acked_reply->integer) + " of " + std::to_string(n));
        if (deleted_reply->integer != n) throw std::runtime_error("XDEL deleted " + std::to_string(deleted_reply->integer) + " of " + std::to_string(n));
        {
          std::lock_guard lock(mutex);
          acked = received;
        }
        cv.notify_all();
      }
    } catch (const std::exception& e) {
      fail(consumer_error, std::string("consumer: ") + e.what());
    }
  });

  producer.join();
  consumer.join();
  if (!producer_error.empty() || !consumer_error.empty()) {
    throw std::runtime_error(producer_error + (producer_error.empty() || consumer_error.empty() ? "" : "; ") + consumer_error);
  }

  // Nothing left behind: every entry acked (no pending) and deleted (length 0).
  const long long left = control.command({"XLEN", key})->integer;
  Reply pending = control.command({"XPENDING", key, "g"});
  const long long unacked = (pending->type == REDIS_REPLY_ARRAY && pending->elements >= 1) ? pending->element[0]->integer : -1;
  if (left != 0 || unacked != 0) {
    throw std::runtime_error("stream not drained: length " + std::to_string(left) + ", pending " + std::to_string(unacked));
  }
  const std::string peak = info_field(control, "memory", "used_memory_peak");
  if (control.command({"DEL", key})->integer != 1) throw std::runtime_error("DEL " + key + " did not delete the stream");

  const double elapsed = seconds_between(t_first, t_last);
  const double fps = static_cast<double>(frames) / elapsed;
  json out = {{"test", "redis_streams"},
              {"bytes", bytes},
              {"frames", frames},
              {"frames_per_s", fps},
              {"MBps", fps * static_cast<double>(bytes) / 1e6},
              {"seconds", elapsed},
              {"batch", batch},
              {"window", window},
              {"trim", "XDEL after XACK"},
              {"redis_version", version},
              {"host", host},
              {"port", port},
              {"verified", frames}};
  if (!peak.empty()) out["server_used_memory_peak_bytes"] = std::stoull(peak);
  return out;
}

void usage(std::ostream& os) {
  os << "usage: bench_peers memcpy --bytes N [--seconds S]\n"
        "       bench_peers disk --dir D --mb M\n"
        "       bench_peers redis --bytes N --frames K [--host H] [--port P] [--batch B] [--window W]\n"
        "       common: [--timeout S] (watchdog, default 60)\n";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::string_view(argv[1]) == "--help" || std::string_view(argv[1]) == "-h") {
    usage(argc < 2 ? std::cerr : std::cout);
    return argc < 2 ? 2 : 0;
  }
  const std::string sub = argv[1];
  const std::string test = sub == "disk" ? "disk_write" : sub == "redis" ? "redis_streams" : sub;
  auto report_error = [&](const std::string& message) {
    std::cout << json{{"test", test}, {"error", message}}.dump() << std::endl;
    std::cerr << "bench_peers " << sub << ": " << message << "\n";
  };
  try {
    Args args(argc, argv, 2);
    const double timeout = args.real("timeout", 60.0, 0.1);
    json result;
    {
      Watchdog watchdog(timeout, test);
      if (sub == "memcpy") {
        result = run_memcpy(args);
      } else if (sub == "disk") {
        result = run_disk(args);
      } else if (sub == "redis") {
        result = run_redis(args);
      } else {
        throw UsageError("unknown subcommand '" + sub + "'");
      }
    }
    result["commit"] = RIDE_GIT_COMMIT;
    std::cout << result.dump() << std::endl;
    return 0;
  } catch (const UsageError& e) {
    report_error(e.what());
    usage(std::cerr);
    return 2;
  } catch (const std::exception& e) {
    report_error(e.what());
    return 1;
  }
}

#pragma once
// Helpers the real-input tests share (test_video_source, test_stream_pool): temporary paths,
// whether ffmpeg is installed, a free loopback port, a server process (ffmpeg) started on one and
// waited for until it listens, waiting for a condition instead of sleeping, and an independent
// decode of a video file.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

namespace ride::test {

inline std::string tmp(const std::string& name) { return ::testing::TempDir() + name; }

inline bool have_ffmpeg() { return std::system("command -v ffmpeg >/dev/null 2>&1") == 0; }

/// Polls `done` every `every` until it holds or `deadline` has passed; its last value. For waiting
/// on a state another thread reaches (a retry counted, a failure reported), instead of sleeping
/// for a time that is usually enough: the deadline is generous because a passing run never waits
/// it out.
template <class Done>
bool wait_until(Done&& done, std::chrono::milliseconds deadline = std::chrono::seconds(10),
                std::chrono::milliseconds every = std::chrono::milliseconds(5)) {
  const auto end = std::chrono::steady_clock::now() + deadline;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= end) return done();
    std::this_thread::sleep_for(every);
  }
  return true;
}

/// A free TCP port on the loopback (bound, read, released); 0 when none could be had. Another
/// process may take it before the caller binds it: serve_on_free_port tries again then.
inline int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  int port = 0;
  if (fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
    port = ntohs(a.sin_port);
  }
  if (fd >= 0) ::close(fd);
  return port;
}

/// "-f lavfi -i x" -> {"-f", "lavfi", "-i", "x"} (words separated by spaces; no quoting).
inline std::vector<std::string> words(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

/// The inodes of the sockets process `pid` has open (/proc/PID/fd/* -> "socket:[INODE]").
inline std::set<unsigned long> socket_inodes(pid_t pid) {
  std::set<unsigned long> out;
  const std::string dir = "/proc/" + std::to_string(pid) + "/fd";
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return out;
  while (const dirent* e = ::readdir(d)) {
    char target[64];
    const ssize_t n = ::readlink((dir + "/" + e->d_name).c_str(), target, sizeof target - 1);
    if (n <= 0) continue;
    target[n] = '\0';
    unsigned long inode = 0;
    if (std::sscanf(target, "socket:[%lu]", &inode) == 1) out.insert(inode);
  }
  ::closedir(d);
  return out;
}

/// Whether process `pid` has a TCP socket in LISTEN state on `port` (any address), read from
/// /proc/net/tcp and /proc/net/tcp6 and matched by inode with the process's own sockets, so that
/// another program on that port does not count. Nothing connects: a probe would be the one client
/// an ffmpeg `-listen 1` serves.
inline bool listens_on(pid_t pid, int port) {
  const auto mine = socket_inodes(pid);
  if (mine.empty()) return false;
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream in(table);
    std::string line;
    std::getline(in, line);  // the header
    while (std::getline(in, line)) {
      // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
      std::istringstream s(line);
      std::string sl, local, remote, st, queues, timer, retransmits, uid, timeout;
      unsigned long inode = 0;
      if (!(s >> sl >> local >> remote >> st >> queues >> timer >> retransmits >> uid >> timeout >> inode)) continue;
      const auto colon = local.rfind(':');
      if (st != "0A" || colon == std::string::npos) continue;  // 0A: TCP_LISTEN
      if (std::strtol(local.c_str() + colon + 1, nullptr, 16) == port && mine.count(inode) > 0) return true;
    }
  }
  return false;
}

/// A server process a test started (ffmpeg serving a stream): killed if it still runs, and
/// reaped, when this goes out of scope, so that none outlives its test (nor stays a zombie).
class ServerProcess {
 public:
  ServerProcess() = default;
  ServerProcess(ServerProcess&& o) noexcept
      : url(std::move(o.url)), error(std::move(o.error)), pid_(std::exchange(o.pid_, -1)), port_(o.port_) {}
  ServerProcess& operator=(ServerProcess&& o) noexcept {
    if (this != &o) {
      stop();
      url = std::move(o.url);
      error = std::move(o.error);
      pid_ = std::exchange(o.pid_, -1);
      port_ = o.port_;
    }
    return *this;
  }
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;
  ~ServerProcess() { stop(); }

  /// It listens (url is set); else `error` says why not.
  bool listening() const { return !url.empty(); }
  int port() const { return port_; }

  /// Kills it (SIGKILL: it serves the loopback, nothing to flush) unless it has ended, and reaps it.
  void stop() {
    if (pid_ <= 0) return;
    int st = 0;
    if (::waitpid(pid_, &st, WNOHANG) == 0) {
      ::kill(pid_, SIGKILL);
      while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
      }
    }
    pid_ = -1;
  }

  std::string url;    ///< what its client opens; empty when it could not be started
  std::string error;  ///< why not

  /// serve_on_free_port, below.
  static ServerProcess start(const std::vector<std::string>& argv, const std::string& url, int tries,
                             std::chrono::milliseconds deadline);

 private:
  pid_t pid_ = -1;
  int port_ = 0;
};

/// Starts `argv` (a program on the PATH and its arguments; "{port}" in any of them becomes a free
/// loopback port) and returns once that process listens on the port (listens_on, polled every
/// 10 ms up to `deadline`). free_port's port may be taken by another process before the server
/// binds it: when the server exits without listening, another port is tried, `tries` in all.
/// The result's url is `url` with "{port}" replaced; on failure it is empty and error says why,
/// with the end of the server's stderr.
inline ServerProcess serve_on_free_port(const std::vector<std::string>& argv, const std::string& url, int tries = 5,
                                        std::chrono::milliseconds deadline = std::chrono::seconds(10)) {
  return ServerProcess::start(argv, url, tries, deadline);
}

inline ServerProcess ServerProcess::start(const std::vector<std::string>& argv, const std::string& url, int tries,
                                          std::chrono::milliseconds deadline) {
  ServerProcess out;
  auto with_port = [](std::string s, int port) {
    for (auto at = s.find("{port}"); at != std::string::npos; at = s.find("{port}"))
      s.replace(at, 6, std::to_string(port));
    return s;
  };
  for (int attempt = 1; attempt <= tries; ++attempt) {
    const int port = free_port();
    if (port == 0) {
      out.error = "no free loopback port";
      continue;
    }
    std::vector<std::string> args;
    for (const auto& a : argv) args.push_back(with_port(a, port));
    std::vector<char*> cargs;
    for (auto& a : args) cargs.push_back(a.data());
    cargs.push_back(nullptr);
    const std::string log = tmp("server_" + std::to_string(::getpid()) + "_" + std::to_string(port) + ".log");
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    pid_t pid = -1;
    const int rc = ::posix_spawnp(&pid, cargs[0], &fa, nullptr, cargs.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
      out.error = "cannot start " + args[0] + ": " + std::strerror(rc);
      return out;
    }
    out.pid_ = pid;
    out.port_ = port;
    bool exited = false;
    const bool up = wait_until(
        [&] {
          int st = 0;
          if (::waitpid(pid, &st, WNOHANG) == pid) {  // ended (and reaped) before it listened
            exited = true;
            out.pid_ = -1;
            return true;
          }
          return listens_on(pid, port);
        },
        deadline, std::chrono::milliseconds(10));
    if (up && !exited) {
      out.url = with_port(url, port);
      out.error.clear();
      std::remove(log.c_str());
      return out;
    }
    std::string text;
    std::ifstream in(log);
    for (std::string line; std::getline(in, line);) text += line + "\n";
    if (text.size() > 600) text = "..." + text.substr(text.size() - 600);
    std::remove(log.c_str());
    if (!exited) {  // alive but never listening: a wrong command, not a taken port
      out.stop();
      out.error = args[0] + " did not listen on 127.0.0.1:" + std::to_string(port) + " within " +
                  std::to_string(deadline.count()) + " ms; its stderr: " + text;
      return out;
    }
    out.error = args[0] + " ended before it listened on port " + std::to_string(port) + " (try " +
                std::to_string(attempt) + " of " + std::to_string(tries) + "); its stderr: " + text;
  }
  return out;
}

/// Every frame of a video file, decoded by OpenCV independently of ride and made gray.
inline std::vector<cv::Mat> decode_gray(const std::string& path) {
  cv::VideoCapture cap(path, cv::CAP_FFMPEG);
  std::vector<cv::Mat> out;
  cv::Mat m, g;
  while (cap.read(m)) {
    cv::cvtColor(m, g, cv::COLOR_BGR2GRAY);
    out.push_back(g.clone());
  }
  return out;
}

}  // namespace ride::test

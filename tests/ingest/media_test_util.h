#pragma once
// Helpers the real-input tests share (test_video_source, test_stream_pool): temporary paths,
// whether ffmpeg is installed, a free loopback port, and an independent decode of a video file.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

namespace ride::test {

inline std::string tmp(const std::string& name) { return ::testing::TempDir() + name; }

inline bool have_ffmpeg() { return std::system("command -v ffmpeg >/dev/null 2>&1") == 0; }

/// A free TCP port on the loopback (bound, read, released); 0 when none could be had.
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

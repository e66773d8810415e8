// video_decode_peer: what a user would write instead of ride's video ingest - one thread per
// file, cv::VideoCapture (OpenCV's FFmpeg backend, as ride uses) and cv::cvtColor to gray, every
// frame of every file, nothing else. The peer of bench/video_ingest.py.
//
//   video_decode_peer FILE...
//
// Prints {"test": "opencv_decode", "frames": N, "seconds": S, "fps": N/S} on stdout; exits 1 when
// a file cannot be opened or gives no frame.
#include <chrono>
#include <cstdint>
#include <iostream>
#include <thread>
#include <vector>

#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: video_decode_peer FILE...\n";
    return 2;
  }
  std::vector<std::uint64_t> frames(static_cast<std::size_t>(argc - 1), 0);
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int k = 1; k < argc; ++k)
    threads.emplace_back([&, k] {
      cv::VideoCapture cap(argv[k], cv::CAP_FFMPEG);
      cv::Mat m, g;
      std::uint64_t sum = 0;
      while (cap.read(m)) {
        cv::cvtColor(m, g, cv::COLOR_BGR2GRAY);
        sum += g.data[0];  // keep the conversion from being optimised away
        ++frames[static_cast<std::size_t>(k - 1)];
      }
      if (sum == 1) std::cerr << "";
    });
  for (auto& t : threads) t.join();
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::uint64_t n = 0;
  for (std::size_t k = 0; k < frames.size(); ++k) {
    if (frames[k] == 0) {
      std::cerr << "video_decode_peer: no frame from " << argv[k + 1] << "\n";
      return 1;
    }
    n += frames[k];
  }
  std::cout << "{\"test\": \"opencv_decode\", \"frames\": " << n << ", \"seconds\": " << s
            << ", \"fps\": " << static_cast<double>(n) / s << "}\n";
  return 0;
}

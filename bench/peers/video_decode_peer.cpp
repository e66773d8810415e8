// video_decode_peer: what a user would write instead of ride's video ingest - one thread per
// file, cv::VideoCapture (OpenCV's FFmpeg backend, as ride uses) and cv::cvtColor to gray, every
// frame of every file, nothing else. The peer of bench/video_ingest.py.
//
//   video_decode_peer FILE...
//   video_decode_peer --live FPS SECONDS URL...   sample cameras: each thread read()s its camera
//                                                 continuously, keeping the newest frame (gray),
//                                                 and takes one FPS times a second for SECONDS
//
// Prints {"test": "opencv_decode", "frames": N, "seconds": S, "fps": N/S, "cpu_s": C} on stdout
// (live: "frames" = samples taken, "read" = frames read); exits 1 when an input gives no frame.
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <cstdint>
#include <iostream>
#include <thread>
#include <vector>

#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

namespace {
double cpu_s() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/// The way one samples a camera with OpenCV: read() every frame (decode + BGR conversion), keep
/// the newest as gray, hand one over at each sampling instant.
int live(double fps, double seconds, int argc, char** argv) {
  std::atomic<bool> stop{false};
  std::vector<std::uint64_t> read(static_cast<std::size_t>(argc), 0), taken(static_cast<std::size_t>(argc), 0);
  std::vector<std::thread> threads;
  const auto t0 = std::chrono::steady_clock::now();
  const double cpu0 = cpu_s();  // from here on, as ride's ingest counts from START
  for (int k = 0; k < argc; ++k)
    threads.emplace_back([&, k] {
      cv::VideoCapture cap(argv[k], cv::CAP_FFMPEG);
      std::mutex mu;
      cv::Mat m, g, newest;
      bool fresh = false;
      std::thread sampler([&] {
        for (int tick = 1; !stop; ++tick) {
          std::this_thread::sleep_until(t0 + std::chrono::duration<double>(tick / fps));
          std::lock_guard lk(mu);
          if (fresh) ++taken[static_cast<std::size_t>(k)];
          fresh = false;
        }
      });
      while (!stop && cap.read(m)) {
        cv::cvtColor(m, g, cv::COLOR_BGR2GRAY);
        std::lock_guard lk(mu);
        std::swap(newest, g);
        fresh = true;
        ++read[static_cast<std::size_t>(k)];
      }
      sampler.join();
    });
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& t : threads) t.join();
  std::uint64_t n = 0, r = 0;
  for (int k = 0; k < argc; ++k) {
    if (read[static_cast<std::size_t>(k)] == 0) {
      std::cerr << "video_decode_peer: no frame from " << argv[k] << "\n";
      return 1;
    }
    n += taken[static_cast<std::size_t>(k)];
    r += read[static_cast<std::size_t>(k)];
  }
  std::cout << "{\"test\": \"opencv_live\", \"frames\": " << n << ", \"read\": " << r << ", \"seconds\": " << seconds
            << ", \"cpu_s\": " << cpu_s() - cpu0 << "}\n";
  return 0;
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: video_decode_peer FILE... | --live FPS SECONDS URL...\n";
    return 2;
  }
  if (std::string(argv[1]) == "--live") {
    if (argc < 5) {
      std::cerr << "usage: video_decode_peer --live FPS SECONDS URL...\n";
      return 2;
    }
    return live(std::stod(argv[2]), std::stod(argv[3]), argc - 4, argv + 4);
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
            << ", \"fps\": " << static_cast<double>(n) / s << ", \"cpu_s\": " << cpu_s() << "}\n";
  return 0;
}

#pragma once
/// @brief Real sources: video files and network cameras (MJPEG over HTTP, RTSP, ...) read through
/// OpenCV's FFmpeg backend, one capture thread per input, with reconnection.
///
/// Two kinds of input, told apart by the URL:
///  - **live** (a scheme among http, https, rtsp, rtsps, rtmp, udp, tcp, srt, or a /dev/video*
///    device): the capture thread reads continuously and keeps only the newest frame; ingest
///    samples it at `ingest.fps` (CAM²'s "desired frame rate" of a camera). A tick with no frame
///    newer than the last one taken is skipped and counted, never filled with a stale frame.
///  - **file** (anything else, a path): every frame in order, through a small bounded queue, so
///    a slow consumer slows the decoder instead of dropping frames. A directory is an **image
///    folder**: its image files (png, jpg, bmp, tif, pgm/ppm, webp) in name order, one frame
///    each; a file that does not decode is skipped, counted and named in last_error. A path
///    ending in .h5/.hdf5 (optionally `#/dataset`, default /frames) is an **HDF5 replay**: an
///    8-bit dataset (n, height, width) or (n, height, width, 1|3 BGR), one frame per index.
/// An input that cannot be opened, or a live one whose connection drops, is retried with
/// exponential backoff (retry_s doubling up to retry_max_s) until the job stops it; its state,
/// attempts and last error are reported, and the other inputs go on. A file that ends is done.
///
/// Threading: each VideoInput owns one capture thread; take()/status()/stop() may be called from
/// one other thread (the ingest rank's loop). Idle threads block (in FFmpeg reads or on a
/// condition variable); nothing spins.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/inputs.h"

namespace cv {
class Mat;
}

namespace ride::ingest {

/// A decoded frame: tightly packed 8-bit rows, 1 (gray) or 3 (BGR) channels.
struct VideoFrame {
  std::vector<std::byte> pixels;
  int width = 0, height = 0, channels = 0;
  std::uint64_t index = 0;      ///< frames read from this input so far, 1-based
  std::int64_t capture_ns = 0;  ///< wall clock when it was read
};

struct VideoOptions {
  bool gray = true;              ///< convert to 1 channel (else BGR, 3 channels)
  double retry_s = 1;            ///< first wait after a failed open or a dropped connection
  double retry_max_s = 30;       ///< backoff ceiling
  double timeout_s = 5;          ///< FFmpeg open and read timeouts
  std::size_t file_queue = 4;    ///< decoded frames a file input may hold ahead
  bool loop = false;             ///< files, folders and HDF5 start over at their end (never "ended")
};

/// State of one input as reported in the summary.
struct InputStatus {
  std::string state;             ///< connecting | streaming | retrying | ended (file done) |
                                 ///< stopped (by the job) | unreachable (never opened)
  std::uint64_t attempts = 0;    ///< opens tried
  std::uint64_t reconnects = 0;  ///< live connections lost after streaming
  std::uint64_t frames_read = 0; ///< decoded
  std::string last_error;        ///< empty when none
  int width = 0, height = 0;     ///< of the last frame
  bool ever_opened = false;
  std::uint64_t skipped_files = 0;  ///< image folder: files that did not decode
  std::uint64_t loops = 0;          ///< loop: times the input started over
};

class VideoInput {
 public:
  VideoInput(InputSpec spec, VideoOptions opts);
  ~VideoInput();  ///< stops and joins the thread
  VideoInput(const VideoInput&) = delete;
  VideoInput& operator=(const VideoInput&) = delete;

  /// Starts the capture thread (once).
  void start();

  enum class Got { frame, none, ended };
  /// File: the next frame in order, waiting up to `wait_s` for the decoder (none when it has
  /// not decoded one yet; ended after the last frame). Live: asks for a frame, then returns the
  /// newest one grabbed since the ask, waiting up to `wait_s` (none when the camera delivered
  /// none yet: ask again shortly; never ended, the job stops it). Between a frame taken and the
  /// next ask the camera is still read, but its frames are not converted.
  Got take(VideoFrame& out, double wait_s);

  InputStatus status() const;
  const InputSpec& spec() const { return spec_; }
  /// Asks the thread to stop; it ends after its current FFmpeg call (bounded by timeout_s).
  void stop();
  /// stop(), then waits for the thread; status() is final afterwards.
  void join();

 private:
  void run();
  /// Image folder: every image file in name order; false when the folder holds none.
  bool run_folder();
  /// HDF5 replay: every frame of the dataset; empty, or why it could not be read.
  std::string run_hdf5();
  /// Converts and queues one decoded frame (live: replaces the newest); false when stopped.
  bool push_frame(const cv::Mat& raw, cv::Mat& conv);
  bool sleep_unless_stopped(double seconds);
  /// At the end of a file, folder or HDF5 dataset: ended, or with loop a count of loops.
  void end_of_input();

  InputSpec spec_;
  VideoOptions opts_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<VideoFrame> queue_;  ///< file: frames in order; live: at most the newest one
  bool ended_ = false;
  bool want_ = false;  ///< live: ingest asked for a frame and has not taken one yet
  bool decode_all_ = false;  ///< live: its packets turned out not to be JPEG: always decode
  InputStatus status_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace ride::ingest

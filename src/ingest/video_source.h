#pragma once
/// @brief Real sources: video files, image folders, HDF5 replays and network cameras, with
/// reconnection. Files, folders and HDF5 are read by a thread each through OpenCV's FFmpeg backend;
/// http(s) cameras by the process's camera hub (http_camera.h), network streams (RTSP, ...) by its
/// stream pool (stream_pool.h); with those off (ingest.http = ffmpeg, ingest.stream_decoders = 0)
/// a camera is read by its own OpenCV capture thread, as described below.
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
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "core/buffer.h"
#include "core/choices.h"
#include "core/inputs.h"



namespace ride::ingest {

/// A decoded frame: tightly packed 8-bit rows, 1 (gray) or 3 (BGR) channels, at
/// VideoOptions::header_bytes into `buffer` (the reader converts straight into the buffer that
/// ingest then sends, headers written in front: no further copy of the pixels).
struct VideoFrame {
  std::shared_ptr<Buffer> buffer;
  std::size_t offset = 0;  ///< where the pixels start in buffer
  int width = 0, height = 0, channels = 0;
  std::uint64_t index = 0;      ///< frames read from this input so far, 1-based
  std::int64_t capture_ns = 0;  ///< wall clock when it was read
  /// > 0: the buffer holds, at `offset`, a JPEG of this many bytes instead of pixels
  /// (VideoOptions::keep_jpeg); width, height and channels are those of the decoded frame.
  std::size_t encoded_bytes = 0;

  /// The decoded frame's size.
  std::size_t bytes() const {
    return static_cast<std::size_t>(width) * static_cast<std::size_t>(height) * static_cast<std::size_t>(channels);
  }
  /// What the buffer holds after `offset`: the JPEG, or the pixels.
  std::size_t stored_bytes() const { return encoded_bytes > 0 ? encoded_bytes : bytes(); }
  /// The pixels (a raw frame) or the JPEG (an encoded one).
  std::span<const std::byte> pixels() const { return {buffer->data() + offset, stored_bytes()}; }
};

struct VideoOptions {
  bool gray = true;              ///< convert to 1 channel (else BGR, 3 channels)
  double retry_s = 1;            ///< first wait after a failed open or a dropped connection
  double retry_max_s = 30;       ///< backoff ceiling
  double timeout_s = 5;          ///< FFmpeg open and read timeouts
  std::size_t file_queue = 4;    ///< decoded frames a file input may hold ahead
  std::size_t header_bytes = 0;  ///< room left in front of each frame's pixels (VideoFrame::offset)
  bool loop = false;             ///< files, folders and HDF5 start over at their end (never "ended")
  /// http:// and https:// cameras through the process's camera hub (ingest/http_camera.h: one
  /// I/O thread for all, JPEG snapshots and MJPEG); false: each through its own FFmpeg thread.
  bool http_hub = true;
  int decoders = 2;              ///< the camera hub's JPEG decoder threads
  /// Network streams (rtsp, rtmp, srt, udp, tcp URLs) through the process's stream pool
  /// (ingest/stream_pool.h) with this many decoder threads; 0: each through its own FFmpeg thread.
  int stream_decoders = 2;
  /// ingest.encoding = jpeg: frames that arrive as JPEG (snapshot and MJPEG cameras, .jpg files
  /// of an image folder) are kept as their JPEG bytes (VideoFrame::encoded_bytes), checked only
  /// for being whole (codec/jpeg.h, jpeg_looks_whole), and decoded by the worker. A camera frame
  /// of another size than its declared one is decoded, scaled and sent as pixels.
  bool keep_jpeg = false;
  /// ingest.jpeg_encode (with keep_jpeg): > 0 encodes frames that did not arrive as JPEG at this
  /// quality where they are made (the reader, the stream pool, the camera hub for a scaled frame),
  /// not on the ingest loop; 0: they stay pixels.
  int jpeg_encode = 0;
  /// RTSP over tcp or udp (FFmpeg's rtsp_transport), or automatic: FFmpeg's default.
  RtspTransport rtsp_transport = RtspTransport::automatic;
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
  std::uint64_t corrupt_frames = 0; ///< JPEGs from a camera that did not decode (skipped)
  std::uint64_t resized_frames = 0; ///< frames scaled to the declared size (a camera list's)
  /// A network stream the stream pool's decoders fell behind on: packets dropped (its queue, then
  /// until the next key frame).
  std::uint64_t dropped_packets = 0;
  /// CPU seconds spent on this input: its capture thread's (reading, decoding — an RTSP/H.264
  /// camera decodes every frame), or for a camera on the hub the decoders' time on its JPEGs.
  double cpu_s = 0;
};

/// With VideoOptions::jpeg_encode > 0, replaces a frame of pixels by its JPEG at that quality
/// (header room kept in front); a frame that is a JPEG already, or options without it, is left as
/// it is.
void encode_frame_if_asked(VideoFrame& f, const VideoOptions& opts);

/// CPU seconds of the calling thread (CLOCK_THREAD_CPUTIME_ID).
double thread_cpu_s();

/// One input being read. The implementation (OpenCV/FFmpeg, libjpeg, HDF5) lives in the video
/// module, libride_video.so, which a ride process loads only when it reads real inputs: the ~240
/// libraries OpenCV's videoio and imgcodecs bring would otherwise be mapped into every rank
/// (about 60 MB and 0.15 s of CPU each; results/broker_cpu_per_frame.md).
class VideoInput {
 public:
  virtual ~VideoInput() = default;  ///< stops and joins the capture thread
  VideoInput() = default;
  VideoInput(const VideoInput&) = delete;
  VideoInput& operator=(const VideoInput&) = delete;

  /// Starts the capture thread (once).
  virtual void start() = 0;

  enum class Got { frame, none, ended };
  /// File: the next frame in order, waiting up to `wait_s` for the decoder (none when it has
  /// not decoded one yet; ended after the last frame). Live: asks for a frame, then returns the
  /// newest one grabbed since the ask, waiting up to `wait_s` (none when the camera delivered
  /// none yet: ask again shortly; never ended, the job stops it). Between a frame taken and the
  /// next ask the camera is still read, but its frames are not converted.
  virtual Got take(VideoFrame& out, double wait_s) = 0;

  virtual InputStatus status() const = 0;
  virtual const InputSpec& spec() const = 0;
  /// Asks the thread to stop; it ends after its current FFmpeg call (bounded by timeout_s).
  virtual void stop() = 0;
  /// stop(), then waits for the thread; status() is final afterwards.
  virtual void join() = 0;
};

/// The implementation, for code linked with the static library ride_ingest_video (the module
/// and the tests): OpenCV/FFmpeg for files, folders, HDF5 and streams.
std::unique_ptr<VideoInput> make_opencv_video_input(InputSpec spec, VideoOptions opts);
/// What the module creates: http(s) cameras through the camera hub (with VideoOptions::http_hub),
/// network streams through the stream pool (with VideoOptions::stream_decoders > 0), everything
/// else through make_opencv_video_input.
std::unique_ptr<VideoInput> make_video_input(InputSpec spec, VideoOptions opts);

/// Through the video module: libride_video.so beside the running executable, or the path in
/// $RIDE_VIDEO_MODULE; loaded once, on first use. Throws ride::Error naming the path (and
/// dlerror()) when it cannot be loaded.
std::unique_ptr<VideoInput> open_video_input(InputSpec spec, VideoOptions opts);
/// Loads the module now (it maps ~190 libraries: ~0.15 s of CPU), so that the first frames do not
/// wait for it. Throws like open_video_input.
void load_video_module();

/// Where open_video_input loads the module from ($RIDE_VIDEO_MODULE, else libride_video.so beside
/// the running executable).
std::string video_module_path();
/// Throws ConfigError naming `where` (the key that asked for real inputs) and the path when the
/// module is not there (a cheap check every rank can make before roles start).
void check_video_module(const std::string& where);

}  // namespace ride::ingest

/// The module's entry point (C linkage so that dlsym finds it by name; C++ types, same
/// toolchain). Never throws: returns nullptr and sets `error` on failure.
extern "C" ride::ingest::VideoInput* ride_video_create(const ride::ingest::InputSpec* spec,
                                                        const ride::ingest::VideoOptions* opts,
                                                        std::string* error);

namespace ride::ingest {

}  // namespace ride::ingest

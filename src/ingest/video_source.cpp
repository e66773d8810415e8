#include "ingest/video_source.h"
#include "ingest/http_camera.h"
#include "ingest/stream_pool.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <cstdlib>
#include <ctime>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include "codec/jpeg.h"
#include "core/clock.h"
#include "storage/hdf5_handle.h"
#include "core/error.h"

namespace ride::ingest {

class CvVideoInput final : public VideoInput {
 public:
  CvVideoInput(InputSpec spec, VideoOptions opts);
  ~CvVideoInput() override;

  /// Starts the capture thread (once).
  void start() override;

  /// File: the next frame in order, waiting up to `wait_s` for the decoder (none when it has
  /// not decoded one yet; ended after the last frame). Live: asks for a frame, then returns the
  /// newest one grabbed since the ask, waiting up to `wait_s` (none when the camera delivered
  /// none yet: ask again shortly; never ended, the job stops it). Between a frame taken and the
  /// next ask the camera is still read, but its frames are not converted.
  Got take(VideoFrame& out, double wait_s) override;

  InputStatus status() const override;
  const InputSpec& spec() const override { return spec_; }
  /// Asks the thread to stop; it ends after its current FFmpeg call (bounded by timeout_s).
  void stop() override;
  /// stop(), then waits for the thread; status() is final afterwards.
  void join() override;

 private:
  void run();
  /// Image folder: every image file in name order; false when the folder holds none.
  bool run_folder();
  /// HDF5 replay: every frame of the dataset; empty, or why it could not be read.
  std::string run_hdf5();
  /// Converts and queues one decoded frame (live: replaces the newest); false when stopped.
  bool push_frame(const cv::Mat& raw);
  /// Queues a frame made ready (live: replaces the newest); false when stopped.
  bool push(VideoFrame f);
  /// A JPEG file of an image folder, through codec/jpeg.h as a camera's JPEG is: kept whole
  /// (keep_jpeg) or decoded into the frame. Nullopt and `error` when it is not a whole JPEG.
  std::optional<VideoFrame> read_jpeg_file(const std::filesystem::path& file, std::string& error) const;
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
CvVideoInput::CvVideoInput(InputSpec spec, VideoOptions opts) : spec_(std::move(spec)), opts_(opts) {
  status_.state = "connecting";
}

CvVideoInput::~CvVideoInput() {
  stop();
  if (thread_.joinable()) thread_.join();
}

void CvVideoInput::start() {
  if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
}

void CvVideoInput::stop() {
  {
    // Set under the lock: a thread between testing stop_ and blocking on cv_ cannot miss it.
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
}

void CvVideoInput::join() {
  stop();
  if (thread_.joinable()) thread_.join();
}

InputStatus CvVideoInput::status() const {
  std::lock_guard lk(mu_);
  return status_;
}

bool CvVideoInput::sleep_unless_stopped(double seconds) {
  std::unique_lock lk(mu_);
  cv_.wait_for(lk, std::chrono::duration<double>(seconds), [this] { return stop_.load(); });
  return !stop_;
}

CvVideoInput::Got CvVideoInput::take(VideoFrame& out, double wait_s) {
  std::unique_lock lk(mu_);
  if (spec_.live) want_ = true;  // from now on the capture thread converts what it grabs
  if (wait_s > 0)
    cv_.wait_for(lk, std::chrono::duration<double>(wait_s), [this] { return !queue_.empty() || ended_ || stop_; });
  if (!queue_.empty()) {
    out = std::move(queue_.front());
    queue_.pop_front();
    want_ = false;
    cv_.notify_all();  // room for the decoder
    return Got::frame;
  }
  return ended_ && !spec_.live ? Got::ended : Got::none;
}


bool CvVideoInput::push_frame(const cv::Mat& raw) {
  const int channels = opts_.gray ? 1 : 3;
  VideoFrame f;
  f.width = raw.cols;
  f.height = raw.rows;
  f.channels = channels;
  f.offset = opts_.header_bytes;
  f.capture_ns = wall_ns();
  f.buffer = std::make_shared<Buffer>(f.offset + f.bytes());
  // Converted (or copied, when already in the wanted format) straight into the buffer ingest sends.
  // (dst has the size and type the result needs, so OpenCV writes into it without reallocating;
  // anything deeper than 8 bits is brought to 8 first.)
  cv::Mat dst(f.height, f.width, CV_8UC(channels), f.buffer->data() + f.offset), src8;
  const cv::Mat* src = &raw;
  if (raw.depth() != CV_8U) {
    raw.convertTo(src8, CV_8U, raw.depth() == CV_16U ? 1.0 / 256 : 1.0);
    src = &src8;
  }
  if (src->channels() == channels) src->copyTo(dst);
  else if (opts_.gray) cv::cvtColor(*src, dst, src->channels() == 4 ? cv::COLOR_BGRA2GRAY : cv::COLOR_BGR2GRAY);
  else cv::cvtColor(*src, dst, src->channels() == 4 ? cv::COLOR_BGRA2BGR : cv::COLOR_GRAY2BGR);
  return push(std::move(f));
}

bool CvVideoInput::push(VideoFrame f) {
  encode_frame_if_asked(f, opts_);  // (ingest.jpeg_encode) on this thread, counted in its CPU
  std::unique_lock lk(mu_);
  status_.cpu_s = thread_cpu_s();  // the capture thread's, all of it (it reads only this input)
  f.index = spec_.live ? status_.frames_read : ++status_.frames_read;  // live: counted when grabbed
  status_.width = f.width;
  status_.height = f.height;
  if (spec_.live) {
    queue_.clear();  // only the newest frame matters for a sampled camera
    queue_.push_back(std::move(f));
  } else {
    cv_.wait(lk, [this] { return queue_.size() < opts_.file_queue || stop_; });
    if (stop_) return false;
    queue_.push_back(std::move(f));
  }
  lk.unlock();
  cv_.notify_all();
  return true;
}

bool CvVideoInput::run_folder() {
  namespace fs = std::filesystem;
  std::vector<fs::path> files;
  std::error_code ec;
  for (fs::directory_iterator it(spec_.url, ec), end; !ec && it != end; it.increment(ec))
    if (it->is_regular_file(ec) && is_image_file_name(it->path().filename().string())) files.push_back(it->path());
  if (files.empty()) return false;
  std::sort(files.begin(), files.end());
  {
    std::lock_guard lk(mu_);
    status_.ever_opened = true;
    status_.state = "streaming";
  }
  cv::Mat raw;
  for (const auto& file : files) {
    if (stop_) return true;
    std::string ext = file.extension().string();
    for (auto& ch : ext) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (ext == ".jpg" || ext == ".jpeg") {
      // JPEGs are decoded the one way cameras' are (and as the worker decodes a kept one), so a
      // folder gives the same pixels with ingest.encoding = raw or jpeg.
      std::string error;
      auto f = read_jpeg_file(file, error);
      if (!f) {
        std::lock_guard lk(mu_);
        ++status_.skipped_files;
        status_.last_error = "cannot decode '" + file.filename().string() + "' (skipped): " + error;
        continue;
      }
      if (!push(std::move(*f))) return true;
      continue;
    }
    raw = cv::imread(file.string(), cv::IMREAD_COLOR);
    if (raw.empty()) {  // a bad image is skipped and reported, the folder goes on
      std::lock_guard lk(mu_);
      ++status_.skipped_files;
      status_.last_error = "cannot decode '" + file.filename().string() + "' (skipped)";
      continue;
    }
    if (!push_frame(raw)) return true;
  }
  end_of_input();
  return true;
}

std::optional<VideoFrame> CvVideoInput::read_jpeg_file(const std::filesystem::path& file, std::string& error) const {
  std::ifstream in(file, std::ios::binary);
  std::vector<std::uint8_t> jpeg((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof()) {
    error = "cannot read it";
    return std::nullopt;
  }
  codec::JpegInfo info;
  const int channels = opts_.gray ? 1 : 3;
  VideoFrame f;
  f.offset = opts_.header_bytes;
  f.channels = channels;
  f.capture_ns = wall_ns();
  if (opts_.keep_jpeg) {
    if (!codec::jpeg_looks_whole(jpeg, info, error)) return std::nullopt;
    f.buffer = std::make_shared<Buffer>(f.offset + jpeg.size());
    std::memcpy(f.buffer->data() + f.offset, jpeg.data(), jpeg.size());
    f.encoded_bytes = jpeg.size();
  } else {
    if (!codec::jpeg_info(jpeg, info, error)) return std::nullopt;
    const std::size_t bytes = static_cast<std::size_t>(info.width) * static_cast<std::size_t>(info.height) *
                              static_cast<std::size_t>(channels);
    f.buffer = std::make_shared<Buffer>(f.offset + bytes);
    if (!codec::jpeg_decode(jpeg, channels, f.buffer->data() + f.offset, bytes, info, error)) return std::nullopt;
  }
  f.width = info.width;
  f.height = info.height;
  return f;
}

void CvVideoInput::end_of_input() {
  std::lock_guard lk(mu_);
  if (opts_.loop && status_.frames_read > 0 && !stop_) {
    ++status_.loops;  // the caller starts over
    return;
  }
  ended_ = true;
  status_.state = "ended";
  cv_.notify_all();
}

std::string CvVideoInput::run_hdf5() {
  const auto [path, name] = split_hdf5_url(spec_.url);
  h5::silence_error_printing();
  if (!std::filesystem::is_regular_file(path)) return "no file '" + path + "'";
  h5::File file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
  if (!file.valid()) return "'" + path + "' is not an HDF5 file";
  if (H5Lexists(file.get(), name.c_str(), H5P_DEFAULT) <= 0) return "'" + path + "' has no dataset '" + name + "'";
  h5::Dataset ds(H5Dopen2(file.get(), name.c_str(), H5P_DEFAULT));
  h5::Datatype type(H5Dget_type(ds.get()));
  h5::Dataspace space(H5Dget_space(ds.get()));
  if (!ds.valid() || !type.valid() || !space.valid()) return "cannot open dataset '" + name + "' in '" + path + "'";
  const int rank = H5Sget_simple_extent_ndims(space.get());
  hsize_t dims[4] = {0, 0, 0, 1};
  if (H5Tget_class(type.get()) != H5T_INTEGER || H5Tget_size(type.get()) != 1 || rank < 3 || rank > 4 ||
      H5Sget_simple_extent_dims(space.get(), dims, nullptr) != rank || (rank == 4 && dims[3] != 1 && dims[3] != 3))
    return "dataset '" + name + "' in '" + path + "' is not 8-bit frames (n, height, width[, 1 or 3])";
  {
    std::lock_guard lk(mu_);
    status_.ever_opened = true;
    status_.state = "streaming";
  }
  const int h = static_cast<int>(dims[1]), w = static_cast<int>(dims[2]), c = static_cast<int>(dims[3]);
  cv::Mat raw(h, w, CV_8UC(c));
  hsize_t count[4] = {1, dims[1], dims[2], dims[3]};
  h5::Dataspace mem(H5Screate_simple(rank, count, nullptr));
  for (hsize_t k = 0; k < dims[0]; ++k) {
    if (stop_) return {};
    hsize_t start[4] = {k, 0, 0, 0};
    if (H5Sselect_hyperslab(space.get(), H5S_SELECT_SET, start, nullptr, count, nullptr) < 0 ||
        H5Dread(ds.get(), H5T_NATIVE_UINT8, mem.get(), space.get(), H5P_DEFAULT, raw.data) < 0) {
      std::lock_guard lk(mu_);  // a frame that cannot be read is skipped and reported
      ++status_.skipped_files;
      status_.last_error = "cannot read frame " + std::to_string(k) + " of '" + name + "' (skipped)";
      continue;
    }
    if (!push_frame(raw)) return {};
  }
  end_of_input();
  return {};
}

void CvVideoInput::run() {
  double backoff = opts_.retry_s;
  bool restart = false;  // loop: starting over is not another attempt to open
  const bool hdf5 = is_hdf5_input(spec_.url);
  if (!spec_.live && (hdf5 || std::filesystem::is_directory(spec_.url))) {  // an image folder or HDF5
    while (!stop_) {
      if (!restart) {
        std::lock_guard lk(mu_);
        ++status_.attempts;
      }
      restart = false;
      std::string error;
      bool done = false;
      if (hdf5) {
        try {
          error = run_hdf5();
        } catch (const std::exception& e) {
          error = e.what();
        }
        done = error.empty();
      } else {
        done = run_folder();
        if (!done) error = "no image files in folder '" + spec_.url + "'";
      }
      if (done) {
        std::lock_guard lk(mu_);
        if (ended_ || stop_) break;
        backoff = opts_.retry_s;
        restart = true;
        continue;  // loop: start over
      }
      {
        std::lock_guard lk(mu_);
        status_.state = "retrying";
        status_.last_error = error;
      }
      if (!sleep_unless_stopped(backoff)) break;
      backoff = std::min(backoff * 2, opts_.retry_max_s);
    }
    std::lock_guard lk(mu_);
    if (status_.state != "ended") status_.state = status_.ever_opened || status_.attempts == 0 ? "stopped" : "unreachable";
    cv_.notify_all();
    return;
  }
  const int timeout_ms = static_cast<int>(opts_.timeout_s * 1000);
  auto set = [this](const char* state, const std::string& error = {}) {
    std::lock_guard lk(mu_);
    status_.state = state;
    if (!error.empty()) status_.last_error = error;
  };
  cv::Mat raw;
  while (!stop_) {
    if (!restart) {
      std::lock_guard lk(mu_);
      ++status_.attempts;
    }
    restart = false;
    cv::VideoCapture cap;
    const std::vector<int> params = {cv::CAP_PROP_OPEN_TIMEOUT_MSEC, timeout_ms, cv::CAP_PROP_READ_TIMEOUT_MSEC,
                                     timeout_ms};
    if (spec_.url.rfind("rtsp", 0) == 0 && opts_.rtsp_transport != RtspTransport::automatic) {
      // OpenCV hands FFmpeg the options in this variable at each open; the ingest rank set it
      // before any input started (rtsp_capture_options).
      RIDE_EXPECTS(
          std::getenv("OPENCV_FFMPEG_CAPTURE_OPTIONS") != nullptr,
          "RTSP over " << to_string(opts_.rtsp_transport) << " asked, but OPENCV_FFMPEG_CAPTURE_OPTIONS is not set");
    }
    bool opened = false;
    try {
      opened = cap.open(spec_.url, cv::CAP_FFMPEG, params);
    } catch (const cv::Exception& e) {
      set("retrying", std::string("open failed: ") + e.what());
    }
    if (!opened) {
      set("retrying", "cannot open '" + spec_.url + "' (unreachable, refused, or not a video)");
      if (!sleep_unless_stopped(backoff)) break;
      backoff = std::min(backoff * 2, opts_.retry_max_s);
      continue;
    }
    {
      std::lock_guard lk(mu_);
      status_.ever_opened = true;
      status_.state = "streaming";
    }
    bool streamed = false;
    // A live MJPEG camera (most IP cameras over HTTP) is read as raw packets: each frame is a
    // JPEG, so frames nobody asked for are not even decoded, and a sampled one is decoded
    // straight to gray by libjpeg (cv::imdecode). Other codecs depend on earlier frames and are
    // decoded throughout.
    cv::Mat packet;
    bool raw_jpeg = false;
    if (spec_.live && !decode_all_) {
      // The codec from its FOURCC (the stream's tag, or the first letters of FFmpeg's codec name)
      const auto cc = static_cast<std::uint32_t>(cap.get(cv::CAP_PROP_FOURCC));
      std::string fourcc;
      for (int i = 0; i < 4; ++i) fourcc += static_cast<char>(std::toupper(static_cast<int>((cc >> (8 * i)) & 0xFF)));
      try {
        if ((fourcc == "MJPG" || fourcc == "MJPE" || fourcc == "JPEG") && cap.set(cv::CAP_PROP_FORMAT, -1)) {
          raw_jpeg = cap.read(packet) && packet.total() > 4 && packet.data[0] == 0xFF && packet.data[1] == 0xD8;
          if (!raw_jpeg && !packet.empty()) {  // not JPEG after all: reconnect decoding everything
            decode_all_ = true;
            set("retrying", "'" + spec_.url + "' is not JPEG frames; reconnecting to decode them");
            if (!sleep_unless_stopped(opts_.retry_s)) break;
            restart = true;
            continue;
          }
        }
      } catch (const cv::Exception& e) {
        set("retrying", std::string("read failed: ") + e.what());
      }
    }
    while (raw_jpeg && !stop_) {
      bool ok = !packet.empty();
      try {
        if (!ok) ok = cap.read(packet);  // demux only
      } catch (const cv::Exception& e) {
        set("retrying", std::string("read failed: ") + e.what());
        ok = false;
      }
      if (!ok || packet.empty()) break;
      if (!streamed) backoff = opts_.retry_s;
      streamed = true;
      bool wanted = false;
      {
        std::lock_guard lk(mu_);
        ++status_.frames_read;
        wanted = want_;
      }
      if (wanted) {
        raw = cv::imdecode(packet, opts_.gray ? cv::IMREAD_GRAYSCALE : cv::IMREAD_COLOR);
        if (raw.empty()) {
          std::lock_guard lk(mu_);
          ++status_.skipped_files;
          status_.last_error = "a frame from the camera did not decode (skipped)";
        } else if (!push_frame(raw)) {
          break;
        }
      }
      packet.release();
    }
    while (!raw_jpeg && !stop_) {
      bool ok = false;
      try {
        if (spec_.live) {
          // A camera is read continuously (so a sample is never stale) but a frame is converted
          // only while ingest wants one: grab() demuxes and decodes, retrieve() converts to BGR,
          // about half of OpenCV's cost per frame (bench/live_sampling.py).
          ok = cap.grab();
          bool wanted = false;
          {
            std::lock_guard lk(mu_);
            if (ok) ++status_.frames_read;
            wanted = want_;
          }
          if (ok && wanted) ok = cap.retrieve(raw);
          else raw = cv::Mat();
          if (ok && !wanted) {
            if (!streamed) backoff = opts_.retry_s;
            streamed = true;
            continue;
          }
        } else {
          ok = cap.read(raw);
        }
      } catch (const cv::Exception& e) {
        set("retrying", std::string("read failed: ") + e.what());
        ok = false;
      }
      if (!ok || raw.empty()) break;
      if (!streamed) backoff = opts_.retry_s;  // a working connection resets the backoff
      streamed = true;
      if (!push_frame(raw)) break;
    }
    if (stop_) break;
    if (!spec_.live) {
      if (!streamed) {  // opened but no frame at all: not a usable video; retry like an open failure
        set("retrying", "'" + spec_.url + "' opened but gave no frame");
        if (!sleep_unless_stopped(backoff)) break;
        backoff = std::min(backoff * 2, opts_.retry_max_s);
        continue;
      }
      end_of_input();
      {
        std::lock_guard lk(mu_);
        if (ended_) return;
      }
      backoff = opts_.retry_s;
      restart = true;
      continue;  // loop: open it again from the start
    }
    {
      std::lock_guard lk(mu_);
      if (streamed) ++status_.reconnects;
      status_.state = "retrying";
      status_.last_error = streamed ? "connection lost or read timed out; reconnecting"
                                    : "opened but gave no frame";
    }
    if (!sleep_unless_stopped(backoff)) break;
    backoff = std::min(backoff * 2, opts_.retry_max_s);
  }
  std::lock_guard lk(mu_);
  if (status_.state != "ended") status_.state = status_.ever_opened || status_.attempts == 0 ? "stopped" : "unreachable";
  cv_.notify_all();
}

void encode_frame_if_asked(VideoFrame& f, const VideoOptions& opts) {
  if (opts.jpeg_encode <= 0 || f.encoded_bytes > 0 || !f.buffer) return;
  const auto jpeg = codec::jpeg_encode(f.buffer->data() + f.offset, f.width, f.height, f.channels, opts.jpeg_encode);
  auto b = std::make_shared<Buffer>(opts.header_bytes + jpeg.size());
  std::memcpy(b->data() + opts.header_bytes, jpeg.data(), jpeg.size());
  f.buffer = std::move(b);
  f.offset = opts.header_bytes;
  f.encoded_bytes = jpeg.size();
}

double thread_cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

std::unique_ptr<VideoInput> make_opencv_video_input(InputSpec spec, VideoOptions opts) {
  return std::make_unique<CvVideoInput>(std::move(spec), opts);
}

std::unique_ptr<VideoInput> make_video_input(InputSpec spec, VideoOptions opts) {
  const bool http = spec.url.rfind("http://", 0) == 0 || spec.url.rfind("https://", 0) == 0;
  if (http && opts.http_hub) return make_http_camera(std::move(spec), opts);
  if (spec.live && opts.stream_decoders > 0 && is_network_stream_url(spec.url)) {
    return make_stream_camera(std::move(spec), opts);
  }
  return make_opencv_video_input(std::move(spec), opts);
}

}  // namespace ride::ingest


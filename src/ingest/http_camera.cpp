#include "ingest/http_camera.h"

#include <curl/curl.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <optional>
#include <queue>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include <opencv2/imgproc.hpp>

#include "codec/jpeg.h"
#include "core/clock.h"
#include "core/error.h"
#include "ingest/jpeg_scanner.h"
#include "ingest/live_slot.h"

namespace ride::ingest {
namespace {

using Bytes = std::vector<std::uint8_t>;

// ---------------------------------------------------------------------------------------------
// JPEG decoding (codec/jpeg.h, libjpeg): straight into the buffer ingest sends, headers' room in
// front.

/// Decodes `jpeg` to gray or BGR rows at `header` bytes into a new buffer; nullopt and `error`
/// when it does not decode.
std::optional<VideoFrame> decode_jpeg(const Bytes& jpeg, bool gray, std::size_t header, std::string& error) {
  codec::JpegInfo info;
  if (!codec::jpeg_info(jpeg, info, error)) return std::nullopt;
  const std::size_t channels = gray ? 1 : 3;
  const std::size_t bytes = static_cast<std::size_t>(info.width) * static_cast<std::size_t>(info.height) * channels;
  auto buffer = std::make_shared<Buffer>(header + bytes);
  if (!codec::jpeg_decode(jpeg, static_cast<int>(channels), buffer->data() + header, bytes, info, error)) {
    return std::nullopt;
  }
  VideoFrame f;
  f.buffer = std::move(buffer);
  f.offset = header;
  f.width = info.width;
  f.height = info.height;
  f.channels = static_cast<int>(channels);
  return f;
}

/// ingest.encoding = jpeg: the JPEG itself at `header` bytes into a new buffer, once it is seen
/// to be whole (its size read from its header); nullopt and `error` when it is not.
std::optional<VideoFrame> keep_jpeg(const Bytes& jpeg, bool gray, std::size_t header, std::string& error) {
  codec::JpegInfo info;
  if (!codec::jpeg_looks_whole(jpeg, info, error)) return std::nullopt;
  VideoFrame f;
  f.buffer = std::make_shared<Buffer>(header + jpeg.size());
  std::memcpy(f.buffer->data() + header, jpeg.data(), jpeg.size());
  f.offset = header;
  f.width = info.width;
  f.height = info.height;
  f.channels = gray ? 1 : 3;
  f.encoded_bytes = jpeg.size();
  return f;
}

/// Scales a frame to the declared size (a camera list's width x height).
VideoFrame scaled(const VideoFrame& in, int w, int h, std::size_t header) {
  VideoFrame out = in;
  out.buffer = std::make_shared<Buffer>(header + static_cast<std::size_t>(w) * h * in.channels);
  const int type = in.channels == 1 ? CV_8UC1 : CV_8UC3;
  const cv::Mat src(in.height, in.width, type, in.buffer->data() + in.offset);
  cv::Mat dst(h, w, type, out.buffer->data() + header);
  cv::resize(src, dst, dst.size(), 0, 0, cv::INTER_AREA);
  out.width = w;
  out.height = h;
  out.offset = header;
  return out;
}

// ---------------------------------------------------------------------------------------------
// One camera: what the ingest loop, the I/O thread and the decoders share.

struct Camera : LiveSlot, std::enable_shared_from_this<Camera> {
  Camera(InputSpec s, VideoOptions o) : spec(std::move(s)), opts(o), backoff(o.retry_s) {}
  const InputSpec spec;
  const VideoOptions opts;

  // Under mu (LiveSlot's, with the ask and the frame): the ingest loop's side.
  std::int64_t asked_ns = 0;         ///< when (wall clock): a frame completed before is stale
  bool decoding = false;             ///< a JPEG of it is with the decoders
  double not_before = 0;             ///< after a corrupt JPEG: ask the camera again only then

  // Only the I/O thread's.
  enum class Mode { unknown, snapshot, mjpeg } mode = Mode::unknown;
  class Hub* hub = nullptr;          ///< set when the hub takes it (libcurl's write callback finds it here)
  CURL* easy = nullptr;
  bool type_checked = false;
  std::string bad_type;              ///< a response that is no camera image (an error page)
  std::string content_type;          ///< of the current response
  std::uint64_t images = 0;          ///< whole JPEGs in the current response
  JpegScanner scanner;
  double retry_at = 0;
  double backoff;
  std::int64_t received_ns = 0;
  char curl_error[CURL_ERROR_SIZE] = {};
};

// ---------------------------------------------------------------------------------------------
// The hub: one I/O thread (libcurl multi) and the decoders, shared by the process's cameras.

class Hub {
 public:
  static std::shared_ptr<Hub> get(int decoders) {
    static std::mutex m;
    static std::weak_ptr<Hub> current;
    std::lock_guard lk(m);
    auto h = current.lock();
    if (!h) {
      h = std::shared_ptr<Hub>(new Hub(std::max(1, decoders)));
      current = h;
    }
    return h;
  }
  static int threads() {
    return live_threads_.load();
  }

  ~Hub() {
    {
      std::lock_guard lk(mu_);
      stop_ = true;
    }
    curl_multi_wakeup(multi_);
    {
      std::lock_guard lk(dq_mu_);
      dq_stop_ = true;
    }
    dq_cv_.notify_all();
    if (io_.joinable()) io_.join();
    for (auto& t : decoders_) t.join();
    live_threads_ -= 1 + static_cast<int>(decoders_.size());
    curl_multi_cleanup(multi_);
  }

  void add(const std::shared_ptr<Camera>& c) {
    {
      std::lock_guard lk(mu_);
      adds_.push_back(c);
    }
    curl_multi_wakeup(multi_);
  }
  void remove(const std::shared_ptr<Camera>& c) {
    {
      std::lock_guard lk(mu_);
      removes_.push_back(c);
    }
    curl_multi_wakeup(multi_);
  }
  /// Ingest asked `c` for a frame (or a decoder found its JPEG corrupt): the I/O thread looks at
  /// it on its next turn. Only cameras asked, and those whose timer is due, are looked at: a
  /// thousand cameras are not scanned (nor their locks taken) at every socket event.
  void ask(const std::shared_ptr<Camera>& c) {
    {
      std::lock_guard lk(mu_);
      asked_.push_back(c);
    }
    curl_multi_wakeup(multi_);
  }

 private:
  explicit Hub(int decoders) {
    static std::once_flag global;
    std::call_once(global, [] {
      curl_global_init(CURL_GLOBAL_DEFAULT);
      // A socket per streaming camera: thousands of MJPEG cameras need more than the usual soft
      // limit of 1,024 descriptors; the hard limit is ours to take.
      rlimit r{};
      if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
        r.rlim_cur = r.rlim_max;
        setrlimit(RLIMIT_NOFILE, &r);
      }
    });
    multi_ = curl_multi_init();
    RIDE_EXPECTS(multi_ != nullptr, "libcurl: curl_multi_init failed");
    // Many cameras on one host (a camera server) share connections; no pipelining needed.
    curl_multi_setopt(multi_, CURLMOPT_MAX_HOST_CONNECTIONS, 0L);
    io_ = std::thread([this] { io_loop(); });
    for (int i = 0; i < decoders; ++i) decoders_.emplace_back([this] { decode_loop(); });
    live_threads_ += 1 + decoders;
  }

  static std::size_t on_body(char* data, std::size_t size, std::size_t n, void* user) {
    auto* c = static_cast<Camera*>(user);
    return c->hub->body_bytes(*c, data, size * n);
  }

  std::size_t body_bytes(Camera& c, const char* data, std::size_t n) {
    if (!c.type_checked) {
      c.type_checked = true;
      char* ct = nullptr;
      curl_easy_getinfo(c.easy, CURLINFO_CONTENT_TYPE, &ct);
      std::string type = ct ? ct : "";
      for (auto& ch : type) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      c.content_type = type.empty() ? "(none)" : type;
      // An error page (text/html, ...) is no camera image; anything else is read for JPEGs (some
      // servers, ffmpeg's among them, send MJPEG as application/octet-stream).
      if (type.rfind("text/", 0) == 0) {
        c.bad_type = type;
        return 0;  // aborts the transfer: CURLE_WRITE_ERROR
      }
      if (type.rfind("multipart/", 0) == 0) c.mode = Camera::Mode::mjpeg;
    }
    // Whole JPEGs out of the body: a snapshot's one, or a stream's (multipart parts or
    // back-to-back images). Only the newest is kept; it goes to the decoders once ingest has
    // asked (an image completed before the ask is stale).
    const std::size_t completed = c.scanner.feed(data, n);
    if (completed > 0) {
      c.images += completed;
      c.received_ns = wall_ns();
      c.scanner.keep_newest();
      if (c.images >= 2) c.mode = Camera::Mode::mjpeg;  // more than one image: a stream
      {
        std::lock_guard lk(c.mu);
        c.status.ever_opened = true;
      }
      deliver_mjpeg(c);
    }
    return n;
  }

  /// The newest whole JPEG goes to the decoders if ingest asked before it was complete.
  void deliver_mjpeg(Camera& c) {
    if (c.scanner.ready() == 0) return;
    bool fresh = false;
    {
      std::lock_guard lk(c.mu);
      if (!c.want || c.ready || c.decoding) return;
      fresh = c.received_ns >= c.asked_ns;
    }
    Bytes jpeg;
    c.scanner.take(jpeg);
    if (fresh) submit(c, std::move(jpeg));  // else: completed before the ask, stale
  }

  void submit(Camera& c, Bytes jpeg) {
    std::shared_ptr<Camera> keep = c.shared_from_this();
    {
      std::lock_guard lk(c.mu);
      c.decoding = true;
    }
    {
      std::lock_guard lk(dq_mu_);
      dq_.emplace_back(std::move(keep), std::move(jpeg), c.received_ns);
    }
    dq_cv_.notify_one();
  }

  void start_transfer(Camera& c) {
    c.easy = curl_easy_init();
    RIDE_EXPECTS(c.easy != nullptr, "libcurl: curl_easy_init failed");
    c.type_checked = false;
    c.bad_type.clear();
    c.content_type.clear();
    c.images = 0;
    c.scanner = JpegScanner();
    c.curl_error[0] = '\0';
    const long timeout_ms = static_cast<long>(c.opts.timeout_s * 1000);
    curl_easy_setopt(c.easy, CURLOPT_URL, c.spec.url.c_str());
    curl_easy_setopt(c.easy, CURLOPT_WRITEFUNCTION, &Hub::on_body);
    curl_easy_setopt(c.easy, CURLOPT_WRITEDATA, &c);
    curl_easy_setopt(c.easy, CURLOPT_PRIVATE, &c);
    curl_easy_setopt(c.easy, CURLOPT_ERRORBUFFER, c.curl_error);
    curl_easy_setopt(c.easy, CURLOPT_FAILONERROR, 1L);  // 4xx/5xx are failures, not frames
    curl_easy_setopt(c.easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c.easy, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c.easy, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(c.easy, CURLOPT_CONNECTTIMEOUT_MS, std::max(100L, timeout_ms));
    // A stream that stalls (or a snapshot that never ends) for timeout_s is a failure.
    curl_easy_setopt(c.easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c.easy, CURLOPT_LOW_SPEED_TIME, std::max(1L, static_cast<long>(c.opts.timeout_s + 0.999)));
    curl_easy_setopt(c.easy, CURLOPT_TCP_NODELAY, 1L);
    curl_multi_add_handle(multi_, c.easy);
    std::lock_guard lk(c.mu);
    if (c.status.state != "streaming") ++c.status.attempts;
  }

  void end_transfer(Camera& c) {
    curl_multi_remove_handle(multi_, c.easy);
    curl_easy_cleanup(c.easy);
    c.easy = nullptr;
  }

  /// A transfer ended. A snapshot (one whole JPEG) was handed to the decoders as it completed;
  /// a stream that ended is reopened at once; a failure is retried with backoff.
  void done(Camera& c, CURLcode result, double now) {
    long code = 0;
    curl_easy_getinfo(c.easy, CURLINFO_RESPONSE_CODE, &code);
    end_transfer(c);
    if (result == CURLE_OK && c.images == 1 && c.mode != Camera::Mode::mjpeg) {
      c.mode = Camera::Mode::snapshot;
      c.backoff = c.opts.retry_s;
      return;
    }
    if (result == CURLE_OK && c.images == 0 && c.scanner.in_image()) {
      // A JPEG cut short (the camera sent a damaged image): counted and asked again shortly.
      c.scanner.reset();
      std::lock_guard lk(c.mu);
      ++c.status.corrupt_frames;
      c.status.last_error = "corrupt JPEG (truncated: no end-of-image marker)";
      c.not_before = now + 0.1;
      timers_.emplace(c.not_before, c.shared_from_this());
      return;
    }
    std::string error;
    const bool stream_ended = result == CURLE_OK && c.mode == Camera::Mode::mjpeg;
    if (stream_ended) {
      error = "the camera ended its MJPEG stream";
    } else if (!c.bad_type.empty()) {
      error = "'" + c.spec.url + "' answered " + c.bad_type + ", not a JPEG or an MJPEG stream";
    } else if (result == CURLE_OK) {
      error = "'" + c.spec.url + "' answered no JPEG (Content-Type " + c.content_type + ")";
    } else {
      error = std::string(c.curl_error[0] ? c.curl_error : curl_easy_strerror(result));
      if (code >= 400) error = "HTTP " + std::to_string(code) + " from '" + c.spec.url + "'";
    }
    std::lock_guard lk(c.mu);
    if (c.status.state == "streaming") ++c.status.reconnects;
    c.status.state = "retrying";
    c.status.last_error = error;
    // A stream that ended cleanly is reopened at once; failures wait, longer each time.
    c.retry_at = now + (stream_ended ? 0.0 : c.backoff);
    timers_.emplace(c.retry_at, c.shared_from_this());  // reopened then if still wanted (or a stream)
    c.backoff = stream_ended ? c.opts.retry_s : std::min(c.backoff * 2, c.opts.retry_max_s);
  }

  /// Looks at one camera: an open stream gets the ask (deliver_mjpeg); a camera asked, or a
  /// stream to keep open, gets a transfer, unless a wait (after a corrupt JPEG, or a failure's
  /// backoff) is not over: then a timer brings it back.
  void consider(const std::shared_ptr<Camera>& cam, double now) {
    Camera& c = *cam;
    if (c.easy) {
      deliver_mjpeg(c);  // an ask since the last image completed
      return;
    }
    bool want = false;
    {
      std::lock_guard lk(c.mu);
      if (c.stopped) return;
      want = c.want && !c.ready && !c.decoding;
      if (want && now < c.not_before) {
        timers_.emplace(c.not_before, cam);
        return;
      }
    }
    // The first ask opens the camera (its answer tells a snapshot camera from a stream); then a
    // snapshot camera is asked only when ingest samples it, and a stream stays open.
    // (Not at start-up: a thousand cameras opened at once would make the first ticks late.)
    const bool due = want || c.mode == Camera::Mode::mjpeg;
    if (!due) return;
    if (now < c.retry_at) {
      timers_.emplace(c.retry_at, cam);
      return;
    }
    start_transfer(c);
  }

  void io_loop() {
    std::vector<std::shared_ptr<Camera>> asked;
    for (;;) {
      {
        std::lock_guard lk(mu_);
        if (stop_) break;
        for (auto& c : adds_) {
          c->hub = this;
          cams_.push_back(c);
        }
        adds_.clear();
        for (auto& c : removes_) {
          if (c->easy) end_transfer(*c);
          for (std::size_t i = 0; i < cams_.size(); ++i) {
            if (cams_[i] == c) {
              cams_.erase(cams_.begin() + static_cast<long>(i));
              break;
            }
          }
        }
        removes_.clear();
        asked.swap(asked_);
      }
      double now = steady_s();
      for (auto& c : asked) {
        if (c->hub == this) consider(c, now);  // (a camera removed meanwhile is not its any more)
      }
      asked.clear();
      while (!timers_.empty() && timers_.top().first <= now) {
        const std::shared_ptr<Camera> c = timers_.top().second;
        timers_.pop();
        if (c->hub == this) consider(c, now);
      }
      int running = 0;
      curl_multi_perform(multi_, &running);
      int left = 0;
      while (CURLMsg* m = curl_multi_info_read(multi_, &left)) {
        if (m->msg != CURLMSG_DONE) continue;
        Camera* c = nullptr;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, reinterpret_cast<char**>(&c));
        if (c) done(*c, m->data.result, steady_s());
      }
      now = steady_s();
      const double next = timers_.empty() ? now + 0.1 : std::min(now + 0.1, timers_.top().first);
      const int wait_ms = static_cast<int>(std::clamp((next - now) * 1000.0, 1.0, 100.0));
      curl_multi_poll(multi_, nullptr, 0, wait_ms, nullptr);
    }
    for (auto& c : cams_) {
      if (c->easy) end_transfer(*c);
    }
    cams_.clear();
  }

  void decode_loop() {
    for (;;) {
      std::shared_ptr<Camera> cam;
      Bytes jpeg;
      std::int64_t received_ns = 0;
      {
        std::unique_lock lk(dq_mu_);
        dq_cv_.wait(lk, [&] { return dq_stop_ || !dq_.empty(); });
        if (dq_stop_ && dq_.empty()) return;
        std::tie(cam, jpeg, received_ns) = std::move(dq_.front());
        dq_.pop_front();
      }
      Camera& c = *cam;
      std::string error;
      const double cpu0 = thread_cpu_s();
      std::optional<VideoFrame> f = c.opts.keep_jpeg ? keep_jpeg(jpeg, c.opts.gray, c.opts.header_bytes, error)
                                                     : decode_jpeg(jpeg, c.opts.gray, c.opts.header_bytes, error);
      bool resized = false;
      if (f && c.spec.width > 0 && (f->width != c.spec.width || f->height != c.spec.height)) {
        // Of another size than declared: scaled, and so sent as pixels even with keep_jpeg.
        if (f->encoded_bytes > 0) f = decode_jpeg(jpeg, c.opts.gray, c.opts.header_bytes, error);
        if (f) {
          *f = scaled(*f, c.spec.width, c.spec.height, c.opts.header_bytes);
          resized = true;
          encode_frame_if_asked(*f, c.opts);  // scaled: pixels again; ingest.jpeg_encode compresses them
        }
      }
      const double cpu = thread_cpu_s() - cpu0;
      {
        std::lock_guard lk(c.mu);
        c.decoding = false;
        c.status.cpu_s += cpu;
        if (!f) {
          ++c.status.corrupt_frames;
          c.status.last_error = error;
          c.not_before = steady_s() + 0.1;  // a camera sending damaged images is not hammered
        } else {
          ++c.status.frames_read;
          c.status.ever_opened = true;
          c.status.state = "streaming";
          c.status.width = f->width;
          c.status.height = f->height;
          if (resized) ++c.status.resized_frames;
          f->index = ++c.index;
          f->capture_ns = received_ns;
          if (c.want && !c.stopped) c.ready = std::move(f);
        }
      }
      c.cv.notify_all();
      if (!f) ask(cam);  // a corrupt frame: the I/O thread asks again after not_before
    }
  }

  CURLM* multi_ = nullptr;
  std::thread io_;
  std::vector<std::thread> decoders_;
  std::mutex mu_;
  bool stop_ = false;
  std::vector<std::shared_ptr<Camera>> cams_;  ///< the I/O thread's (adds and removes under mu_)
  std::vector<std::shared_ptr<Camera>> adds_, removes_;
  std::vector<std::shared_ptr<Camera>> asked_;  ///< under mu_: asked since the I/O thread's last turn
  /// The I/O thread's: when to look at a camera again (after a corrupt JPEG or a failure).
  using Timer = std::pair<double, std::shared_ptr<Camera>>;
  std::priority_queue<Timer, std::vector<Timer>, std::greater<>> timers_;
  std::mutex dq_mu_;
  std::condition_variable dq_cv_;
  bool dq_stop_ = false;
  std::deque<std::tuple<std::shared_ptr<Camera>, Bytes, std::int64_t>> dq_;
  static inline std::atomic<int> live_threads_{0};
};

class HttpCamera final : public VideoInput {
 public:
  HttpCamera(InputSpec spec, VideoOptions opts)
      : cam_(std::make_shared<Camera>(std::move(spec), opts)), hub_(Hub::get(opts.decoders)) {}
  ~HttpCamera() override { join(); }

  void start() override {
    if (!started_) {
      started_ = true;
      hub_->add(cam_);
    }
  }

  Got take(VideoFrame& out, double wait_s) override {
    return cam_->take(out, wait_s, [&](std::unique_lock<std::mutex>& lk) {
      cam_->asked_ns = wall_ns();
      lk.unlock();
      hub_->ask(cam_);  // the I/O thread requests a snapshot, or takes the stream's next JPEG
      lk.lock();
    });
  }

  InputStatus status() const override { return cam_->snapshot(); }
  const InputSpec& spec() const override { return cam_->spec; }
  void stop() override { cam_->stop(); }

  void join() override {
    stop();
    if (started_ && !removed_) {
      removed_ = true;
      hub_->remove(cam_);
    }
    cam_->settle();
  }

 private:
  std::shared_ptr<Camera> cam_;
  std::shared_ptr<Hub> hub_;
  bool started_ = false, removed_ = false;
};

}  // namespace

std::unique_ptr<VideoInput> make_http_camera(InputSpec spec, VideoOptions opts) {
  return std::make_unique<HttpCamera>(std::move(spec), opts);
}

int http_hub_threads() { return Hub::threads(); }

}  // namespace ride::ingest

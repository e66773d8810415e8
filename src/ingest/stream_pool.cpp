#include "ingest/stream_pool.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/error.h>
#include <libavutil/log.h>
#include <libswscale/swscale.h>
}

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/error.h"
#include "ingest/live_slot.h"

namespace ride::ingest {
namespace {

constexpr std::size_t kDecodeTurn = 16;      ///< packets a pool thread decodes of one stream per turn
constexpr std::size_t kMaxQueued = 256;      ///< packets queued for a stream before it is behind
constexpr double kMaxQueuedSeconds = 2.0;    ///< age of its oldest queued packet before it is behind
constexpr std::uint64_t kNoKeyFlags = 300;   ///< packets without a key frame flag before decoding anyway

std::string av_error(int code) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(code, buf, sizeof buf);
  return buf;
}

struct PacketFree {
  void operator()(AVPacket* p) const { av_packet_free(&p); }
};
using PacketPtr = std::unique_ptr<AVPacket, PacketFree>;
struct FrameFree {
  void operator()(AVFrame* f) const { av_frame_free(&f); }
};

/// One connection's decoder. Its packets carry it, so that a reconnect (a new decoder, perhaps
/// another codec or size) never mixes with the packets of the connection before.
struct Session {
  AVCodecContext* dec = nullptr;
  SwsContext* sws = nullptr;  ///< the pool thread's that holds the stream (one at a time)
  /// The reader's: a key frame was queued (a camera joined mid-GOP sends packets that refer to
  /// frames before it; they are passed over, not decoded into errors), or kNoKeyFlags packets
  /// came without one (a stream that does not flag its key frames is decoded as it comes).
  bool keyed = false;
  std::uint64_t before_key = 0;
  Session() = default;
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  ~Session() {
    avcodec_free_context(&dec);
    sws_freeContext(sws);
  }
};

struct Queued {
  PacketPtr pkt;
  std::shared_ptr<Session> session;
  double at = 0;       ///< steady seconds when it was queued
  bool flush = false;  ///< the first packet after a drop: the decoder starts over from it
};

/// One stream: what the ingest loop, its reader thread and the pool share.
struct Stream : LiveSlot {
  Stream(InputSpec s, VideoOptions o) : spec(std::move(s)), opts(o) {}
  const InputSpec spec;
  const VideoOptions opts;

  // Under mu (LiveSlot's, with the ask and the frame):
  std::deque<Queued> packets;  ///< for the pool, in order
  bool scheduled = false;      ///< with the pool (queued there or being decoded)
  bool resync = false;         ///< packets were dropped: wait for a key frame

  std::atomic<bool> halt{false};  ///< the job stopped it: FFmpeg's current call returns, the reader ends
  std::atomic<double> deadline{0};  ///< steady seconds: FFmpeg's current call is interrupted after it
};

int interrupt_cb(void* opaque) {
  const auto* s = static_cast<const Stream*>(opaque);
  return s->halt.load() || steady_s() > s->deadline.load() ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------
// The pool: decoder threads shared by the process's streams.

class Pool {
 public:
  static std::shared_ptr<Pool> get(int decoders) {
    static std::mutex m;
    static std::weak_ptr<Pool> current;
    std::lock_guard lk(m);
    auto p = current.lock();
    if (!p) {
      p = std::shared_ptr<Pool>(new Pool(std::max(1, decoders)));
      current = p;
    }
    return p;
  }
  static int threads() { return live_threads_.load(); }

  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;
  ~Pool() {
    {
      std::lock_guard lk(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
    live_threads_ -= static_cast<int>(threads_.size());
  }

  /// `s` has packets queued and is not with the pool yet.
  void schedule(std::shared_ptr<Stream> s) {
    {
      std::lock_guard lk(mu_);
      q_.push_back(std::move(s));
    }
    cv_.notify_one();
  }

 private:
  explicit Pool(int decoders) {
    for (int i = 0; i < decoders; ++i) threads_.emplace_back([this] { loop(); });
    live_threads_ += decoders;
  }

  void loop() {
    std::unique_ptr<AVFrame, FrameFree> frame(av_frame_alloc());
    RIDE_EXPECTS(frame != nullptr, "stream pool: out of memory for a frame");
    for (;;) {
      std::shared_ptr<Stream> s;
      {
        std::unique_lock lk(mu_);
        cv_.wait(lk, [&] { return stop_ || !q_.empty(); });
        if (q_.empty()) return;  // stopping, nothing left
        s = std::move(q_.front());
        q_.pop_front();
      }
      if (decode_turn(*s, *frame)) schedule(std::move(s));  // more queued: its next turn after the others'
    }
  }

  /// Decodes up to kDecodeTurn of the stream's packets in order; true when more are queued.
  bool decode_turn(Stream& s, AVFrame& frame) {
    const double cpu0 = thread_cpu_s();
    std::vector<Queued> turn;
    {
      std::lock_guard lk(s.mu);
      while (!s.packets.empty() && turn.size() < kDecodeTurn) {
        turn.push_back(std::move(s.packets.front()));
        s.packets.pop_front();
      }
    }
    std::uint64_t corrupt = 0;
    std::string error;
    for (auto& q : turn) {
      AVCodecContext* dec = q.session->dec;
      if (q.flush) avcodec_flush_buffers(dec);
      int r = avcodec_send_packet(dec, q.pkt.get());
      if (r < 0 && r != AVERROR(EAGAIN)) {
        ++corrupt;
        error = "a packet did not decode (" + av_error(r) + "); skipped";
        continue;
      }
      while ((r = avcodec_receive_frame(dec, &frame)) >= 0) {
        on_frame(s, *q.session, frame);
        av_frame_unref(&frame);
      }
      if (r != AVERROR(EAGAIN) && r != AVERROR_EOF) {
        ++corrupt;
        error = "a frame did not decode (" + av_error(r) + "); skipped";
      }
    }
    turn.clear();  // packets (and perhaps a finished session's decoder) freed on this thread's clock
    std::lock_guard lk(s.mu);
    s.status.cpu_s += thread_cpu_s() - cpu0;
    s.status.corrupt_frames += corrupt;
    if (!error.empty()) s.status.last_error = error;
    if (!s.packets.empty() && !s.stopped) return true;
    s.scheduled = false;
    return false;
  }

  /// A decoded frame: counted; converted (gray or BGR, the declared size) only when ingest asked.
  static void on_frame(Stream& s, Session& session, const AVFrame& in) {
    const int w = s.spec.width > 0 ? s.spec.width : in.width;
    const int h = s.spec.height > 0 ? s.spec.height : in.height;
    const bool resized = w != in.width || h != in.height;
    {
      std::lock_guard lk(s.mu);
      ++s.status.frames_read;
      s.status.width = w;
      s.status.height = h;
      if (!s.want || s.ready || s.stopped) return;
    }
    const int channels = s.opts.gray ? 1 : 3;
    const std::size_t header = s.opts.header_bytes;
    VideoFrame f;
    f.buffer = std::make_shared<Buffer>(header + static_cast<std::size_t>(w) * static_cast<std::size_t>(h) *
                                                     static_cast<std::size_t>(channels));
    session.sws = sws_getCachedContext(session.sws, in.width, in.height, static_cast<AVPixelFormat>(in.format), w, h,
                                       s.opts.gray ? AV_PIX_FMT_GRAY8 : AV_PIX_FMT_BGR24,
                                       resized ? SWS_AREA : SWS_POINT, nullptr, nullptr, nullptr);
    if (session.sws == nullptr) {
      std::lock_guard lk(s.mu);
      ++s.status.corrupt_frames;
      s.status.last_error = "cannot convert frames of pixel format " + std::to_string(in.format);
      return;
    }
    std::uint8_t* dst[4] = {reinterpret_cast<std::uint8_t*>(f.buffer->data() + header), nullptr, nullptr, nullptr};
    const int dst_stride[4] = {w * channels, 0, 0, 0};
    sws_scale(session.sws, in.data, in.linesize, 0, in.height, dst, dst_stride);
    f.offset = header;
    f.width = w;
    f.height = h;
    f.channels = channels;
    f.capture_ns = wall_ns();
    encode_frame_if_asked(f, s.opts);  // ingest.jpeg_encode: on the pool's thread and clock
    std::lock_guard lk(s.mu);
    if (!s.want || s.ready || s.stopped) return;
    f.index = ++s.index;
    if (resized) ++s.status.resized_frames;
    s.ready = std::move(f);
    s.cv.notify_all();
  }

  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::deque<std::shared_ptr<Stream>> q_;
  std::vector<std::thread> threads_;
  static inline std::atomic<int> live_threads_{0};
};

// ---------------------------------------------------------------------------------------------
// A stream's VideoInput: its reader thread, and take() for the ingest loop.

class StreamCamera final : public VideoInput {
 public:
  StreamCamera(InputSpec spec, VideoOptions opts)
      : s_(std::make_shared<Stream>(std::move(spec), opts)), pool_(Pool::get(opts.stream_decoders)) {
    static std::once_flag global;
    std::call_once(global, [] {
      avformat_network_init();
      // FFmpeg's own messages (an H.264 decoder joining mid-GOP complains for every frame before
      // the first key frame) would flood the job's log; what matters is counted and reported.
      av_log_set_level(AV_LOG_FATAL);
    });
  }
  ~StreamCamera() override { join(); }
  StreamCamera(const StreamCamera&) = delete;
  StreamCamera& operator=(const StreamCamera&) = delete;

  void start() override {
    if (!reader_.joinable()) reader_ = std::thread([this] { run(); });
  }

  Got take(VideoFrame& out, double wait_s) override {
    // (from the ask on, the pool converts the next frame it decodes)
    return s_->take(out, wait_s, [](std::unique_lock<std::mutex>&) {});
  }

  InputStatus status() const override { return s_->snapshot(); }
  const InputSpec& spec() const override { return s_->spec; }

  void stop() override {
    s_->halt = true;  // FFmpeg's current call returns (interrupt callback)
    s_->stop();
  }

  void join() override {
    stop();
    if (reader_.joinable()) reader_.join();
    {
      std::lock_guard lk(s_->mu);
      s_->packets.clear();
    }
    s_->settle();
  }

 private:
  bool sleep_unless_stopped(double seconds) {
    std::unique_lock lk(s_->mu);
    s_->cv.wait_for(lk, std::chrono::duration<double>(seconds), [&] { return s_->stopped; });
    return !s_->stopped;
  }

  void arm() { s_->deadline = steady_s() + s_->opts.timeout_s; }

  void run() {
    double backoff = s_->opts.retry_s;
    while (!s_->halt) {
      {
        std::lock_guard lk(s_->mu);
        ++s_->status.attempts;
      }
      std::string error;
      const bool streamed = read_connection(error);
      if (s_->halt) break;
      {
        std::lock_guard lk(s_->mu);
        if (streamed) ++s_->status.reconnects;
        s_->status.state = "retrying";
        s_->status.last_error = error;
      }
      if (streamed) backoff = s_->opts.retry_s;  // a working connection resets the backoff
      if (!sleep_unless_stopped(backoff)) break;
      backoff = std::min(backoff * 2, s_->opts.retry_max_s);
    }
  }

  /// One connection: opened, then read until it fails or the job stops it. True when it
  /// delivered at least one packet of its video; `error` says why it ended.
  bool read_connection(std::string& error) {
    double cpu_counted = thread_cpu_s();
    auto count_cpu = [&] {  // the reader's CPU since it was last counted, into the stream's
      const double now = thread_cpu_s();
      std::lock_guard lk(s_->mu);
      s_->status.cpu_s += now - cpu_counted;
      cpu_counted = now;
    };
    const std::string& url = s_->spec.url;
    AVFormatContext* fmt = avformat_alloc_context();
    RIDE_EXPECTS(fmt != nullptr, "stream pool: out of memory for a demuxer");
    fmt->interrupt_callback.callback = interrupt_cb;
    fmt->interrupt_callback.opaque = s_.get();
    AVDictionary* options = nullptr;
    const bool rtsp = url.rfind("rtsp", 0) == 0;
    if (rtsp && s_->opts.rtsp_transport != RtspTransport::automatic) {
      av_dict_set(&options, "rtsp_transport", to_string(s_->opts.rtsp_transport).c_str(), 0);
    }
    if (rtsp) av_dict_set(&options, "timeout", std::to_string(static_cast<std::int64_t>(s_->opts.timeout_s * 1e6)).c_str(), 0);
    arm();
    int r = avformat_open_input(&fmt, url.c_str(), nullptr, &options);  // frees fmt when it fails
    av_dict_free(&options);
    if (r < 0) {
      error = "cannot open '" + url + "': " + (r == AVERROR_EXIT ? "timed out" : av_error(r));
      count_cpu();
      return false;
    }
    struct Close {
      AVFormatContext** f;
      ~Close() { avformat_close_input(f); }
    } close{&fmt};
    arm();
    r = avformat_find_stream_info(fmt, nullptr);
    const AVCodec* codec = nullptr;
    const int video = r < 0 ? r : av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
    if (r < 0 || video < 0 || codec == nullptr) {
      error = "'" + url + "' opened but " +
              (r < 0 ? "its streams could not be read: " + av_error(r) : std::string("has no video stream we can decode"));
      count_cpu();
      return false;
    }
    for (unsigned i = 0; i < fmt->nb_streams; ++i) {
      if (static_cast<int>(i) != video) fmt->streams[i]->discard = AVDISCARD_ALL;
    }
    auto session = std::make_shared<Session>();
    session->dec = avcodec_alloc_context3(codec);
    RIDE_EXPECTS(session->dec != nullptr, "stream pool: out of memory for a decoder");
    r = avcodec_parameters_to_context(session->dec, fmt->streams[video]->codecpar);
    session->dec->thread_count = 1;  // the pool is the parallelism: one core per stream at most
    if (r >= 0) r = avcodec_open2(session->dec, codec, nullptr);
    if (r < 0) {
      error = "cannot open a " + std::string(codec->name) + " decoder for '" + url + "': " + av_error(r);
      count_cpu();
      return false;
    }
    {
      std::lock_guard lk(s_->mu);
      s_->status.ever_opened = true;
      s_->status.state = "streaming";
    }
    bool streamed = false;
    for (std::uint64_t n = 0; !s_->halt; ++n) {
      PacketPtr pkt(av_packet_alloc());
      RIDE_EXPECTS(pkt != nullptr, "stream pool: out of memory for a packet");
      arm();
      r = av_read_frame(fmt, pkt.get());
      if (r < 0) {
        error = r == AVERROR_EOF ? "the stream ended; reconnecting"
                : r == AVERROR_EXIT ? "no packet for " + std::to_string(s_->opts.timeout_s) + " s; reconnecting"
                                    : "connection lost (" + av_error(r) + "); reconnecting";
        break;
      }
      if (pkt->stream_index != video) continue;
      streamed = true;
      enqueue(std::move(pkt), session);
      if (n % 64 == 63) count_cpu();
    }
    count_cpu();
    return streamed;
  }

  /// Queues a packet for the pool; a stream the pool is behind on drops its queue first.
  void enqueue(PacketPtr pkt, const std::shared_ptr<Session>& session) {
    const double now = steady_s();
    {
      std::lock_guard lk(s_->mu);
      if (s_->stopped) return;
      auto& q = s_->packets;
      if (!q.empty() && (q.size() >= kMaxQueued || now - q.front().at > kMaxQueuedSeconds)) {
        s_->status.dropped_packets += q.size();
        s_->status.last_error = "the decoders fell behind (" + std::to_string(q.size()) +
                                " packets queued); dropped them and waited for a key frame";
        q.clear();
        s_->resync = true;
      }
      if (!session->keyed) {
        if ((pkt->flags & AV_PKT_FLAG_KEY) == 0 && ++session->before_key < kNoKeyFlags) return;
        session->keyed = true;
      }
      bool flush = false;
      if (s_->resync) {
        if ((pkt->flags & AV_PKT_FLAG_KEY) == 0) {
          ++s_->status.dropped_packets;
          return;
        }
        s_->resync = false;
        flush = true;
      }
      q.push_back(Queued{std::move(pkt), session, now, flush});
      if (s_->scheduled) return;
      s_->scheduled = true;
    }
    pool_->schedule(s_);
  }

  std::shared_ptr<Stream> s_;
  std::shared_ptr<Pool> pool_;
  std::thread reader_;
};

}  // namespace

bool is_network_stream_url(const std::string& url) {
  for (const char* scheme : {"rtsp://", "rtsps://", "rtmp://", "rtmps://", "srt://", "udp://", "tcp://"}) {
    if (url.rfind(scheme, 0) == 0) return true;
  }
  return false;
}

std::unique_ptr<VideoInput> make_stream_camera(InputSpec spec, VideoOptions opts) {
  return std::make_unique<StreamCamera>(std::move(spec), opts);
}

int stream_pool_threads() { return Pool::threads(); }

}  // namespace ride::ingest

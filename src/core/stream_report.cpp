#include "core/stream_report.h"

#include "core/error.h"
#include "core/protocol.h"

namespace ride {

std::string to_string(StreamState s) {
  switch (s) {
    case StreamState::synthetic: return "synthetic";
    case StreamState::connecting: return "connecting";
    case StreamState::streaming: return "streaming";
    case StreamState::retrying: return "retrying";
    case StreamState::unreachable: return "unreachable";
    case StreamState::ended: return "ended";
    case StreamState::unknown: break;
  }
  return "unknown";
}

StreamState stream_state_from(const std::string& name) {
  for (auto s : {StreamState::synthetic, StreamState::connecting, StreamState::streaming, StreamState::retrying,
                 StreamState::unreachable, StreamState::ended}) {
    if (to_string(s) == name) return s;
  }
  return StreamState::unknown;
}

namespace {
struct WireReport {
  std::uint32_t stream;
  std::uint8_t state, paused;
  std::uint16_t flags;  // bit 0: live
  std::uint64_t frames, missed, paused_ticks, acked;
  double desired_fps;
};
static_assert(sizeof(WireReport) == 48);
}  // namespace

Buffer encode_stream_reports(const std::vector<StreamReport>& reports) {
  BodyWriter w;
  w.pod(static_cast<std::uint32_t>(reports.size()));
  for (const auto& r : reports) {
    w.pod(WireReport{r.stream, static_cast<std::uint8_t>(r.state), static_cast<std::uint8_t>(r.paused ? 1 : 0),
                     static_cast<std::uint16_t>(r.live ? 1 : 0),
                     r.frames, r.missed, r.paused_ticks, r.acked, r.desired_fps});
  }
  return w.finish();
}

std::vector<StreamReport> decode_stream_reports(const Buffer& body) {
  BodyReader r(body);
  const auto n = r.pod<std::uint32_t>();
  RIDE_EXPECTS(r.remaining() == static_cast<std::size_t>(n) * sizeof(WireReport),
               "INGEST_METRICS: " << n << " reports need " << n * sizeof(WireReport) << " bytes, have "
                                  << r.remaining());
  std::vector<StreamReport> out;
  out.reserve(n);
  for (std::uint32_t i = 0; i < n; ++i) {
    const auto w = r.pod<WireReport>();
    StreamReport s;
    s.stream = w.stream;
    s.state = w.state <= static_cast<std::uint8_t>(StreamState::ended) ? static_cast<StreamState>(w.state)
                                                                         : StreamState::unknown;
    s.paused = w.paused != 0;
    s.frames = w.frames;
    s.missed = w.missed;
    s.paused_ticks = w.paused_ticks;
    s.acked = w.acked;
    s.live = (w.flags & 1) != 0;
    s.desired_fps = w.desired_fps;
    out.push_back(s);
  }
  return out;
}

Buffer encode_stream_takeovers(const std::vector<StreamTakeover>& t) {
  BodyWriter w;
  w.pod(static_cast<std::uint32_t>(t.size()));
  for (const auto& x : t) w.pod(x.stream).pod(std::uint32_t{0}).pod(x.from);
  return w.finish();
}

std::vector<StreamTakeover> decode_stream_takeovers(const Buffer& body) {
  BodyReader r(body);
  const auto n = r.pod<std::uint32_t>();
  constexpr std::size_t kEach = 16;
  RIDE_EXPECTS(r.remaining() == static_cast<std::size_t>(n) * kEach,
               "INGEST_TAKEOVER: " << n << " streams need " << n * kEach << " bytes, have " << r.remaining());
  std::vector<StreamTakeover> out(n);
  for (auto& x : out) {
    x.stream = r.pod<std::uint32_t>();
    r.pod<std::uint32_t>();
    x.from = r.pod<std::uint64_t>();
  }
  return out;
}

Buffer encode_ingest_control(const IngestControl& c) {
  return BodyWriter().pod(static_cast<std::uint32_t>(c.kind)).pod(c.stream).finish();
}

IngestControl decode_ingest_control(const Buffer& body) {
  BodyReader r(body);
  IngestControl c;
  const auto kind = r.pod<std::uint32_t>();
  RIDE_EXPECTS(kind >= 1 && kind <= 3, "CONTROL: unknown command " << kind);
  c.kind = static_cast<IngestControl::Kind>(kind);
  c.stream = r.pod<std::uint32_t>();
  RIDE_EXPECTS(r.remaining() == 0, "CONTROL: " << r.remaining() << " bytes too many");
  return c;
}

}  // namespace ride

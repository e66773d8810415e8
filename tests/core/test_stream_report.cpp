/// INGEST_METRICS and CONTROL codecs (core/stream_report.h): round trips, malformed bodies, and
/// the stream state names.
#include <gtest/gtest.h>

#include <cstdint>
#include <algorithm>
#include <cstring>
#include <limits>
#include <vector>

#include "core/error.h"
#include "core/protocol.h"
#include "core/stream_report.h"

namespace ride {
namespace {

constexpr std::uint64_t kMax64 = std::numeric_limits<std::uint64_t>::max();
constexpr std::uint32_t kMax32 = std::numeric_limits<std::uint32_t>::max();
constexpr std::size_t kWire = 48;  // bytes per report on the wire (header comment)

/// A copy of `b` with its first `n` bytes (n <= size) or with `extra` zero bytes appended.
Buffer resized(const Buffer& b, std::size_t n) {
  Buffer out(n);
  if (n > 0) {
    std::memset(out.data(), 0, n);
    std::memcpy(out.data(), b.data(), std::min(n, b.size()));
  }
  return out;
}

std::vector<StreamReport> sample_reports() {
  std::vector<StreamReport> v;
  const StreamState states[] = {StreamState::unknown,   StreamState::synthetic,   StreamState::connecting,
                                StreamState::streaming, StreamState::retrying,    StreamState::unreachable,
                                StreamState::ended};
  for (std::uint32_t i = 0; i < 7; ++i) {
    StreamReport r;
    r.stream = i * 1000 + 3;
    r.state = states[i];
    r.paused = i % 2 == 1;
    r.frames = 1000ull * i + 17;
    r.missed = i;
    r.paused_ticks = 3ull * i;
    r.acked = 1000ull * i + 9;
    v.push_back(r);
  }
  return v;
}

TEST(StreamReportCodec, RoundTripsEveryState) {
  const auto in = sample_reports();
  const Buffer b = encode_stream_reports(in);
  EXPECT_EQ(b.size(), 4 + in.size() * kWire);
  EXPECT_EQ(decode_stream_reports(b), in);
}

TEST(StreamReportCodec, RoundTripsAnEmptyList) {
  const Buffer b = encode_stream_reports({});
  EXPECT_EQ(b.size(), 4u);
  EXPECT_TRUE(decode_stream_reports(b).empty());
}

TEST(StreamReportCodec, RoundTripsLargeIdsAndCounts) {
  StreamReport r;
  r.stream = kMax32;
  r.state = StreamState::ended;
  r.paused = true;
  r.frames = kMax64;
  r.missed = kMax64 - 1;
  r.paused_ticks = 1ull << 63;
  r.acked = kMax64 - 2;
  std::vector<StreamReport> in = {r};
  StreamReport z;  // all zero / defaults
  in.push_back(z);
  const auto out = decode_stream_reports(encode_stream_reports(in));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0], r);
  EXPECT_EQ(out[0].stream, kMax32);
  EXPECT_EQ(out[0].frames, kMax64);
  EXPECT_EQ(out[0].missed, kMax64 - 1);
  EXPECT_EQ(out[0].paused_ticks, 1ull << 63);
  EXPECT_EQ(out[0].acked, kMax64 - 2);
  EXPECT_EQ(out[1], z);
}

TEST(StreamReportCodec, RoundTripsManyReports) {
  std::vector<StreamReport> in;
  for (std::uint32_t i = 0; i < 5000; ++i) {
    StreamReport r;
    r.stream = i;
    r.state = StreamState::streaming;
    r.frames = i * 7ull;
    in.push_back(r);
  }
  EXPECT_EQ(decode_stream_reports(encode_stream_reports(in)), in);
}

TEST(StreamReportCodec, TruncatedBodiesThrow) {
  const Buffer good = encode_stream_reports(sample_reports());
  EXPECT_THROW(decode_stream_reports(Buffer()), Error);               // no count at all
  EXPECT_THROW(decode_stream_reports(resized(good, 3)), Error);       // part of the count
  EXPECT_THROW(decode_stream_reports(resized(good, 4)), Error);       // count, no reports
  EXPECT_THROW(decode_stream_reports(resized(good, good.size() - 1)), Error);
  EXPECT_THROW(decode_stream_reports(resized(good, 4 + kWire)), Error);  // one of seven
}

TEST(StreamReportCodec, OversizedBodiesThrow) {
  const Buffer good = encode_stream_reports(sample_reports());
  EXPECT_THROW(decode_stream_reports(resized(good, good.size() + 1)), Error);
  EXPECT_THROW(decode_stream_reports(resized(good, good.size() + kWire)), Error);  // one report too many
  const Buffer empty = encode_stream_reports({});
  EXPECT_THROW(decode_stream_reports(resized(empty, 4 + kWire)), Error);
}

TEST(StreamReportCodec, AHugeCountWithASmallBodyThrowsWithoutAllocating) {
  const Buffer b = BodyWriter().pod(kMax32).finish();
  EXPECT_THROW(decode_stream_reports(b), Error);
}

TEST(StreamReportCodec, AnUnknownStateByteDecodesAsUnknownAndAnyNonzeroPausedIsTrue) {
  StreamReport r;
  r.stream = 9;
  r.state = StreamState::streaming;
  Buffer b = encode_stream_reports({r});
  b.write<std::uint8_t>(4 + 4, 200);  // state byte of the first report
  b.write<std::uint8_t>(4 + 5, 7);    // paused byte
  const auto out = decode_stream_reports(b);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].state, StreamState::unknown);
  EXPECT_TRUE(out[0].paused);
  EXPECT_EQ(out[0].stream, 9u);
}

TEST(StreamTakeoverCodec, RoundTripsAndRefusesMalformedBodies) {
  const std::vector<StreamTakeover> in = {{3, 0}, {kMax32, kMax64}, {7, 12345}};
  const Buffer b = encode_stream_takeovers(in);
  EXPECT_EQ(b.size(), 4u + 3u * 16u);
  EXPECT_EQ(decode_stream_takeovers(b), in);
  EXPECT_TRUE(decode_stream_takeovers(encode_stream_takeovers({})).empty());
  for (std::size_t n = 0; n < b.size(); ++n) EXPECT_THROW(decode_stream_takeovers(resized(b, n)), Error) << n;
  EXPECT_THROW(decode_stream_takeovers(resized(b, b.size() + 16)), Error);
  EXPECT_THROW(decode_stream_takeovers(BodyWriter().pod(kMax32).finish()), Error);
}

TEST(IngestControlCodec, RoundTripsEveryKind) {
  for (auto kind : {IngestControl::Kind::drain, IngestControl::Kind::pause, IngestControl::Kind::resume}) {
    for (std::uint32_t stream : {0u, 1u, 12345u, kMax32}) {
      const IngestControl c{kind, stream};
      const Buffer b = encode_ingest_control(c);
      EXPECT_EQ(b.size(), 8u);
      EXPECT_EQ(decode_ingest_control(b), c);
    }
  }
}

TEST(IngestControlCodec, UnknownKindsThrow) {
  for (std::uint32_t kind : {0u, 4u, 99u, kMax32}) {
    const Buffer b = BodyWriter().pod(kind).pod(std::uint32_t{1}).finish();
    EXPECT_THROW(decode_ingest_control(b), Error) << kind;
  }
}

TEST(IngestControlCodec, TruncatedAndOversizedBodiesThrow) {
  const Buffer good = encode_ingest_control({IngestControl::Kind::pause, 5});
  EXPECT_THROW(decode_ingest_control(Buffer()), Error);
  EXPECT_THROW(decode_ingest_control(resized(good, 3)), Error);
  EXPECT_THROW(decode_ingest_control(resized(good, 4)), Error);  // kind, no stream
  EXPECT_THROW(decode_ingest_control(resized(good, 7)), Error);
  EXPECT_THROW(decode_ingest_control(resized(good, 9)), Error);
  EXPECT_THROW(decode_ingest_control(resized(good, 16)), Error);
}

TEST(StreamState, NamesRoundTrip) {
  const StreamState named[] = {StreamState::synthetic, StreamState::connecting,  StreamState::streaming,
                               StreamState::retrying,  StreamState::unreachable, StreamState::ended};
  for (StreamState s : named) {
    const std::string n = to_string(s);
    EXPECT_NE(n, "unknown");
    EXPECT_EQ(stream_state_from(n), s) << n;
  }
  EXPECT_EQ(to_string(StreamState::unknown), "unknown");
  EXPECT_EQ(stream_state_from("unknown"), StreamState::unknown);
  EXPECT_EQ(to_string(StreamState::streaming), "streaming");
  EXPECT_EQ(to_string(StreamState::ended), "ended");
}

TEST(StreamState, UnknownNamesAreUnknown) {
  for (const char* n : {"", "Streaming", "streaming ", "bogus", "paused", "STREAMING"}) {
    EXPECT_EQ(stream_state_from(n), StreamState::unknown) << '"' << n << '"';
  }
  // Out-of-range enum values have no name of their own.
  EXPECT_EQ(to_string(static_cast<StreamState>(200)), "unknown");
}

}  // namespace
}  // namespace ride

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "core/protocol.h"

namespace ride {
namespace {

/// A PRODUCE body: `ph`, a frame header of w x h x channels `t`, then `rest` bytes (zeroed).
Buffer body_of(const ProduceHeader& ph, std::uint32_t w, std::uint32_t h, std::uint16_t channels, PixelType t,
               std::size_t rest) {
  Buffer b(kPixelsAt + rest);
  std::memset(b.data(), 0, b.size());
  FrameHeader fh;
  fh.width = w;
  fh.height = h;
  fh.channels = channels;
  fh.pixel = t;
  b.write(0, ph);
  b.write(kFrameHeaderAt, fh);
  return b;
}

Buffer produce_body(std::uint32_t w, std::uint32_t h, std::size_t pixel_bytes, PixelType t = PixelType::u8) {
  return body_of(ProduceHeader{}, w, h, 1, t, pixel_bytes);
}

TEST(Protocol, WellFormedProduceHasNoDefect) {
  EXPECT_EQ(produce_defect(produce_body(30, 20, 600)), "");
  EXPECT_EQ(produce_defect(produce_body(30, 20, 2400, PixelType::f32)), "");
  EXPECT_EQ(produce_defect(produce_body(0, 0, 0)), "");
}

TEST(Protocol, SizeDisagreeingWithHeaderIsADefect) {
  EXPECT_EQ(produce_defect(produce_body(30, 20, 599)), "carries 599 pixel bytes, its header says 600");
  EXPECT_EQ(produce_defect(produce_body(30, 20, 601)), "carries 601 pixel bytes, its header says 600");
  EXPECT_EQ(produce_defect(Buffer(10)), "shorter than its headers");
  Buffer bad = produce_body(2, 2, 4);
  auto fh = bad.read<FrameHeader>(kFrameHeaderAt);
  fh.pixel = static_cast<PixelType>(9);
  bad.write(kFrameHeaderAt, fh);
  EXPECT_EQ(produce_defect(bad), "unknown pixel type");
}

/// A JPEG frame's body: the headers, then `jpeg` bytes starting with SOI (FF D8), then scalars.
Buffer jpeg_body(std::uint32_t w, std::uint32_t h, std::uint16_t channels, std::size_t jpeg,
                 std::vector<double> scalars = {}) {
  ProduceHeader ph;
  ph.flags = kFrameFlagJpeg | (scalars.empty() ? 0 : kFrameFlagScalars);
  ph.encoded_bytes = jpeg;
  Buffer b = body_of(ph, w, h, channels, PixelType::u8,
                     jpeg + (scalars.empty() ? 0 : scalars_trailer_bytes(scalars.size())));
  if (jpeg >= 2) {
    b.data()[kPixelsAt] = std::byte{0xFF};
    b.data()[kPixelsAt + 1] = std::byte{0xD8};
  }
  if (!scalars.empty()) {
    ScalarsTrailer t;
    t.count = static_cast<std::uint32_t>(scalars.size());
    b.write(kPixelsAt + jpeg, t);
    std::memcpy(b.data() + kPixelsAt + jpeg + sizeof t, scalars.data(), 8 * scalars.size());
  }
  return b;
}

// ingest.encoding = jpeg: the body carries the JPEG's length in place of width x height pixels.
TEST(Protocol, AJpegFrameIsSizedByItsEncodedBytes) {
  EXPECT_EQ(produce_defect(jpeg_body(640, 480, 1, 41'234)), "");
  EXPECT_EQ(produce_defect(jpeg_body(640, 480, 3, 100)), "");
  EXPECT_EQ(stored_pixel_bytes(jpeg_body(640, 480, 1, 777).read<ProduceHeader>(0), FrameHeader{}), 777u);
  // Scalars carried after the JPEG are found after its bytes, not after width x height.
  const Buffer b = jpeg_body(640, 480, 1, 5'001, {1.5, -2.0});
  EXPECT_EQ(produce_defect(b), "");
  double got[4] = {};
  ASSERT_EQ(read_frame_scalars(b, got, 4), 2u);
  EXPECT_EQ(got[0], 1.5);
  EXPECT_EQ(got[1], -2.0);
}

TEST(Protocol, MalformedJpegFramesAreDefects) {
  Buffer b = jpeg_body(64, 48, 1, 100);
  b.data()[kPixelsAt] = std::byte{0};
  EXPECT_EQ(produce_defect(b), "its JPEG bytes do not start with a start-of-image marker");
  EXPECT_EQ(produce_defect(jpeg_body(64, 48, 2, 100)), "a JPEG frame must be u8 x1 or x3");
  Buffer longer = jpeg_body(64, 48, 1, 100);
  auto ph = longer.read<ProduceHeader>(0);
  ph.encoded_bytes = 99;  // one byte more in the body than the JPEG it announces
  longer.write(0, ph);
  EXPECT_EQ(produce_defect(longer), "carries 100 pixel bytes, its header says 99");
  ph.encoded_bytes = 200;
  longer.write(0, ph);
  EXPECT_EQ(produce_defect(longer), "shorter than its JPEG");
}

TEST(Protocol, BodyReaderRefusesShortMessages) {
  const Buffer b = BodyWriter().pod(std::uint32_t{7}).finish();
  BodyReader r(b);
  EXPECT_EQ(r.pod<std::uint32_t>(), 7u);
  EXPECT_THROW(r.pod<std::uint64_t>(), Error);
}

}  // namespace
}  // namespace ride

#include <gtest/gtest.h>

#include "core/protocol.h"

namespace ride {
namespace {

Buffer produce_body(std::uint32_t w, std::uint32_t h, std::size_t pixel_bytes, PixelType t = PixelType::u8) {
  Buffer b(kPixelsAt + pixel_bytes);
  ProduceHeader ph;
  FrameHeader fh;
  fh.width = w;
  fh.height = h;
  fh.pixel = t;
  b.write(0, ph);
  b.write(kFrameHeaderAt, fh);
  return b;
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

TEST(Protocol, BodyReaderRefusesShortMessages) {
  const Buffer b = BodyWriter().pod(std::uint32_t{7}).finish();
  BodyReader r(b);
  EXPECT_EQ(r.pod<std::uint32_t>(), 7u);
  EXPECT_THROW(r.pod<std::uint64_t>(), Error);
}

}  // namespace
}  // namespace ride

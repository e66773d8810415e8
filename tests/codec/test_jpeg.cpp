#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include <opencv2/imgcodecs.hpp>

#include "codec/jpeg.h"

namespace ride::codec {
namespace {

/// A BGR test card: gradients and blocks, so JPEG has something to keep.
std::vector<std::byte> card(int w, int h) {
  std::vector<std::byte> px(static_cast<std::size_t>(w) * h * 3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c)
        px[(static_cast<std::size_t>(y) * w + x) * 3 + c] =
            static_cast<std::byte>(x * 150 / w + y * 60 / h + c * 20 + ((x / 16 + y / 16) % 2) * 20);
  return px;
}

TEST(Jpeg, EncodesAndDecodesBackCloseToTheOriginal) {
  const int w = 161, h = 97;  // odd sizes: no whole MCUs
  const auto px = card(w, h);
  const auto jpeg = jpeg_encode(px.data(), w, h, 3, 95);
  ASSERT_GT(jpeg.size(), 100u);
  EXPECT_LT(jpeg.size(), px.size());
  JpegInfo info;
  std::string error;
  ASSERT_TRUE(jpeg_info(jpeg, info, error)) << error;
  EXPECT_EQ(info.width, w);
  EXPECT_EQ(info.height, h);
  EXPECT_EQ(info.components, 3);
  ASSERT_TRUE(jpeg_looks_whole(jpeg, info, error)) << error;
  std::vector<std::byte> back(px.size());
  ASSERT_TRUE(jpeg_decode(jpeg, 3, back.data(), back.size(), info, error)) << error;
  double err = 0;
  for (std::size_t i = 0; i < px.size(); ++i) err += std::abs(std::to_integer<int>(px[i]) - std::to_integer<int>(back[i]));
  EXPECT_LT(err / static_cast<double>(px.size()), 4.0);  // quality 95: a few levels at most on average
}

// The worker and the verifier must see what ingest's camera hub sees: the same decode as
// OpenCV's imdecode (which verify_run uses for served JPEGs), gray and BGR.
TEST(Jpeg, DecodesAsOpenCvDoes) {
  const int w = 320, h = 240;
  const auto jpeg = jpeg_encode(card(w, h).data(), w, h, 3, 80);
  for (int channels : {1, 3}) {
    std::vector<std::byte> ours(static_cast<std::size_t>(w) * h * channels);
    JpegInfo info;
    std::string error;
    ASSERT_TRUE(jpeg_decode(jpeg, channels, ours.data(), ours.size(), info, error)) << error;
    const cv::Mat cv = cv::imdecode(jpeg, channels == 1 ? cv::IMREAD_GRAYSCALE : cv::IMREAD_COLOR);
    ASSERT_EQ(cv.total() * cv.elemSize(), ours.size());
    EXPECT_EQ(0, std::memcmp(cv.data, ours.data(), ours.size())) << channels << " channel(s)";
  }
}

TEST(Jpeg, ATruncatedJpegIsNotWhole) {
  const auto jpeg = jpeg_encode(card(256, 256).data(), 256, 256, 3, 90);
  // Cut in its compressed data (past the tables), as a transfer cut short would.
  const std::vector<std::uint8_t> cut(jpeg.begin(), jpeg.begin() + static_cast<std::ptrdiff_t>(jpeg.size() * 3 / 4));
  JpegInfo info;
  std::string error;
  EXPECT_FALSE(jpeg_looks_whole(cut, info, error));
  EXPECT_NE(error.find("truncated"), std::string::npos) << error;
  std::vector<std::byte> out(256 * 256);
  error.clear();
  EXPECT_FALSE(jpeg_decode(cut, 1, out.data(), out.size(), info, error));
  EXPECT_NE(error.find("corrupt JPEG"), std::string::npos) << error;
}

TEST(Jpeg, DamageInsideTheDataIsFoundByDecoding) {
  auto jpeg = jpeg_encode(card(128, 128).data(), 128, 128, 3, 90);
  // Overwrite part of the entropy-coded data with a marker that does not belong there.
  const std::size_t mid = jpeg.size() * 2 / 3;
  jpeg[mid] = 0xFF;
  jpeg[mid + 1] = 0xD9;  // an early end of image
  JpegInfo info;
  std::string error;
  std::vector<std::byte> out(128 * 128);
  EXPECT_FALSE(jpeg_decode(jpeg, 1, out.data(), out.size(), info, error));
  EXPECT_NE(error.find("corrupt JPEG"), std::string::npos) << error;
}

TEST(Jpeg, AFrameOfAnotherSizeThanExpectedIsRefused) {
  const auto jpeg = jpeg_encode(card(64, 48).data(), 64, 48, 3, 90);
  JpegInfo info;
  std::string error;
  std::vector<std::byte> out(32 * 48);
  EXPECT_FALSE(jpeg_decode(jpeg, 1, out.data(), out.size(), info, error));
  EXPECT_NE(error.find("64x48"), std::string::npos) << error;
}

TEST(Jpeg, NotAJpegAtAll) {
  const std::vector<std::uint8_t> html = {'<', 'h', 't', 'm', 'l', '>'};
  JpegInfo info;
  std::string error;
  EXPECT_FALSE(jpeg_info(html, info, error));
  EXPECT_NE(error.find("no start-of-image"), std::string::npos) << error;
}

}  // namespace
}  // namespace ride::codec

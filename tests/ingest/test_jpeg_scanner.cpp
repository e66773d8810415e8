/// JpegScanner (ingest/jpeg_scanner.h): whole JPEG images out of an MJPEG byte stream, whatever
/// the chunking, with multipart text between them, restart markers and stuffed bytes inside,
/// an EXIF thumbnail's own SOI/EOI inside APP1, and truncated or oversized parts.
#include "ingest/jpeg_scanner.h"

#include <gtest/gtest.h>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <random>
#include <string>
#include <vector>

namespace ri = ride::ingest;
using Bytes = std::vector<std::uint8_t>;

namespace {

Bytes jpeg(int seed, int w, int h, int restart = 0) {
  cv::Mat m(h, w, CV_8UC3);
  cv::randu(m, cv::Scalar::all(0), cv::Scalar::all(255));
  cv::circle(m, {w / 2, h / 2}, std::min(w, h) / 3, cv::Scalar(seed * 40 % 255, 20, 200), -1);
  Bytes out;
  std::vector<int> params{cv::IMWRITE_JPEG_QUALITY, 85};
  if (restart > 0) params.insert(params.end(), {cv::IMWRITE_JPEG_RST_INTERVAL, restart});
  cv::imencode(".jpg", m, out, params);
  return out;
}

void append(Bytes& to, const std::string& s) { to.insert(to.end(), s.begin(), s.end()); }
void append(Bytes& to, const Bytes& b) { to.insert(to.end(), b.begin(), b.end()); }

Bytes multipart(const std::vector<Bytes>& images) {
  Bytes out;
  for (const auto& im : images) {
    append(out, "--myboundary\r\nContent-Type: image/jpeg\r\nContent-Length: " + std::to_string(im.size()) + "\r\n\r\n");
    append(out, im);
    append(out, "\r\n");
  }
  return out;
}

/// Every whole image the scanner holds now, in order.
std::vector<Bytes> take_all(ri::JpegScanner& sc) {
  std::vector<Bytes> out;
  for (Bytes im; sc.take(im);) out.push_back(im);
  return out;
}

TEST(JpegScanner, FindsEveryImageOfAStreamWhateverTheChunks) {
  const std::vector<Bytes> images{jpeg(1, 64, 48), jpeg(2, 37, 29, 2), jpeg(3, 160, 120, 1), jpeg(4, 8, 8)};
  const Bytes stream = multipart(images);
  std::mt19937 rng(11);
  for (int chunking = 0; chunking < 20; ++chunking) {
    ri::JpegScanner sc;
    std::vector<Bytes> got;
    std::size_t at = 0;
    while (at < stream.size()) {
      const std::size_t n = chunking == 0 ? 1 : std::min<std::size_t>(stream.size() - at, 1 + rng() % 700);
      sc.feed(stream.data() + at, n);
      at += n;
      Bytes im;
      while (sc.take(im)) got.push_back(im);
    }
    ASSERT_EQ(got.size(), images.size()) << "chunking " << chunking;
    for (std::size_t i = 0; i < images.size(); ++i) EXPECT_EQ(got[i], images[i]) << "image " << i;
    EXPECT_EQ(sc.truncated(), 0u);
  }
}

TEST(JpegScanner, AThumbnailInsideApp1DoesNotEndTheImage) {
  const Bytes thumb = jpeg(5, 16, 12);
  Bytes main = jpeg(6, 64, 48);
  // APP1 segment right after SOI holding a whole JPEG (as EXIF thumbnails are).
  Bytes app1{0xFF, 0xE1};
  const std::size_t len = thumb.size() + 2;
  app1.push_back(static_cast<std::uint8_t>(len >> 8));
  app1.push_back(static_cast<std::uint8_t>(len & 0xFF));
  append(app1, thumb);
  Bytes with_thumb(main.begin(), main.begin() + 2);
  append(with_thumb, app1);
  with_thumb.insert(with_thumb.end(), main.begin() + 2, main.end());
  ri::JpegScanner sc;
  const Bytes stream = multipart({with_thumb});
  EXPECT_EQ(sc.feed(stream.data(), stream.size()), 1u);
  Bytes im;
  ASSERT_TRUE(sc.take(im));
  EXPECT_EQ(im, with_thumb);
  EXPECT_FALSE(cv::imdecode(im, cv::IMREAD_COLOR).empty());
}

TEST(JpegScanner, ATruncatedPartIsCountedAndTheNextImageKept) {
  const Bytes a = jpeg(7, 64, 48), b = jpeg(8, 32, 24);
  Bytes cut(a.begin(), a.begin() + static_cast<long>(a.size() / 2));
  ri::JpegScanner sc;
  Bytes stream;
  append(stream, "--b\r\n\r\n");
  append(stream, cut);
  append(stream, multipart({b}));
  sc.feed(stream.data(), stream.size());
  EXPECT_EQ(take_all(sc), std::vector<Bytes>{b});  // the cut image is skipped, not glued to b
  EXPECT_GE(sc.truncated(), 1u);
  // A connection that drops mid-image: reset() forgets it and counts it.
  ri::JpegScanner sc2;
  sc2.feed(cut.data(), cut.size());
  sc2.reset();
  EXPECT_EQ(sc2.truncated(), 1u);
  sc2.feed(b.data(), b.size());
  EXPECT_EQ(take_all(sc2), std::vector<Bytes>{b});
}

TEST(JpegScanner, OversizedImagesAreDroppedAndCounted) {
  const Bytes big = jpeg(9, 320, 240), small = jpeg(10, 16, 16);
  ri::JpegScanner sc(small.size() + 100);
  const Bytes stream = multipart({big, small, big});
  sc.feed(stream.data(), stream.size());
  EXPECT_EQ(take_all(sc), std::vector<Bytes>{small});
  EXPECT_EQ(sc.oversized(), 2u);
}

TEST(JpegScanner, KeepNewestLeavesOnlyTheLatest) {
  const std::vector<Bytes> images{jpeg(11, 16, 16), jpeg(12, 16, 16), jpeg(13, 16, 16)};
  ri::JpegScanner sc;
  const Bytes stream = multipart(images);
  EXPECT_EQ(sc.feed(stream.data(), stream.size()), 3u);
  sc.keep_newest();
  EXPECT_EQ(sc.ready(), 1u);
  Bytes im;
  ASSERT_TRUE(sc.take(im));
  EXPECT_EQ(im, images.back());
}

}  // namespace

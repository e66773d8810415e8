// CAM²'s five programs against independent expectations: synthetic scenes with known truth
// (moving rectangles, a shadow, a region of fresh noise, drawn silhouettes), plain reference
// code for IA, and OpenCV's own HOGDescriptor::detectMultiScale for HD.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/objdetect.hpp>
#include <string>
#include <vector>

#include "cam2_scene.h"
#include "core/checksum.h"
#include "core/error.h"
#include "kernels/cam2/cam2.h"

namespace ride::kernels::cam2 {
namespace {

using testing::draw_person;
using testing::iou;
using testing::MovingRect;
using testing::people_backdrop;
using testing::Scene;

const char* const kAstronaut = "/usr/lib/python3/dist-packages/skimage/data/astronaut.png";

cv::Rect rect_of(const Box& b) { return {b.x, b.y, b.w, b.h}; }

cv::Mat gray_of(const cv::Mat& bgr) {
  cv::Mat g;
  cv::cvtColor(bgr, g, cv::COLOR_BGR2GRAY);
  return g;
}

/// Deterministic pseudo-random u8 frame, width * channels + pad bytes per row.
std::vector<std::uint8_t> random_bytes(std::size_t n, unsigned seed) {
  std::vector<std::uint8_t> v(n);
  std::uint32_t x = seed * 2654435761u + 1;
  for (auto& b : v) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    b = static_cast<std::uint8_t>(x >> 24);
  }
  return v;
}

// --------------------------------------------------------------------------------- info

TEST(Cam2Info, NamesScalarsAndKinds) {
  const ProgramInfo ia = ImageArchival::info(), me = MotionEstimation::info(),
                    mod = MovingObjectDetection::info(), ft = FeatureTracking::info(),
                    hd = HumanDetection::info();
  EXPECT_EQ(ia.name, "ia");
  EXPECT_EQ(me.name, "me");
  EXPECT_EQ(mod.name, "mod");
  EXPECT_EQ(ft.name, "ft");
  EXPECT_EQ(hd.name, "hd");
  EXPECT_FALSE(ia.stateful);
  EXPECT_TRUE(me.stateful);
  EXPECT_TRUE(mod.stateful);
  EXPECT_TRUE(ft.stateful);
  EXPECT_FALSE(hd.stateful);
  EXPECT_TRUE(ia.image);
  EXPECT_TRUE(mod.boxes);
  EXPECT_TRUE(hd.boxes);
  EXPECT_TRUE(ft.points);
  EXPECT_FALSE(ft.boxes);
  ASSERT_EQ(ia.scalar_names.size(), 2u);
  EXPECT_EQ(ia.scalar_names[0], "bytes");
  EXPECT_EQ(ia.scalar_names[1], "compressed_bytes");
  ASSERT_GE(me.scalar_names.size(), 1u);
  EXPECT_EQ(me.scalar_names[0], "foreground_pct");
  ASSERT_EQ(mod.scalar_names.size(), 1u);
  EXPECT_EQ(mod.scalar_names[0], "objects");
  ASSERT_EQ(hd.scalar_names.size(), 1u);
  EXPECT_EQ(hd.scalar_names[0], "people");
  const std::vector<std::string> ft_names(ft.scalar_names.begin(), ft.scalar_names.end());
  for (const char* name : {"tracked", "mean_speed", "median_speed"}) {
    EXPECT_NE(std::find(ft_names.begin(), ft_names.end(), name), ft_names.end()) << name;
  }
  for (const auto* info : {&ia, &me, &mod, &ft, &hd}) EXPECT_LE(info->scalar_names.size(), 8u);
  // scalars() follows the names.
  FtResult r;
  r.tracked = 3;
  r.median_speed = 2.5;
  const auto s = r.scalars();
  for (std::size_t i = 0; i < ft_names.size(); ++i) {
    if (ft_names[i] == "tracked") {
      EXPECT_EQ(s[i], 3.0);
    }
    if (ft_names[i] == "median_speed") {
      EXPECT_EQ(s[i], 2.5);
    }
  }
}

// --------------------------------------------------------------------------------- bad input

TEST(Cam2Contract, BadFramesThrow) {
  const std::vector<std::uint8_t> buf(64 * 64 * 3, 0);
  ImageArchival ia;
  MotionEstimation me;
  MovingObjectDetection mod;
  FeatureTracking ft;
  HumanDetection hd;
  auto all_throw = [&](const std::uint8_t* d, int w, int h, int c, std::ptrdiff_t s) {
    EXPECT_THROW(ia.process(d, w, h, c, s), ride::Error);
    EXPECT_THROW(me.process(d, w, h, c, s), ride::Error);
    EXPECT_THROW(mod.process(d, w, h, c, s), ride::Error);
    EXPECT_THROW(ft.process(d, w, h, c, s), ride::Error);
    EXPECT_THROW(hd.process(d, w, h, c, s), ride::Error);
  };
  all_throw(buf.data(), 8, 8, 2, 16);  // 2 channels
  all_throw(buf.data(), 8, 8, 4, 32);  // 4 channels
  all_throw(buf.data(), 8, 8, 0, 8);   // 0 channels
  all_throw(buf.data(), -1, 8, 1, 8);  // negative width
  all_throw(buf.data(), 8, -2, 1, 8);  // negative height
  all_throw(buf.data(), 8, 8, 3, 23);  // stride < width * channels
  all_throw(nullptr, 8, 8, 1, 8);      // null data
  const cv::Mat wrong_depth(8, 8, CV_16UC1, cv::Scalar(0));
  const cv::Mat four(8, 8, CV_8UC4, cv::Scalar(0));
  for (const cv::Mat* m : {&wrong_depth, &four}) {
    EXPECT_THROW(ia.process(*m), ride::Error);
    EXPECT_THROW(me.process(*m), ride::Error);
    EXPECT_THROW(mod.process(*m), ride::Error);
    EXPECT_THROW(ft.process(*m), ride::Error);
    EXPECT_THROW(hd.process(*m), ride::Error);
  }
  try {
    ia.process(buf.data(), 8, 8, 2, 16);
    FAIL() << "no throw";
  } catch (const ride::Error& e) {
    EXPECT_NE(std::string(e.what()).find("channels"), std::string::npos) << e.what();
  }
}

TEST(Cam2Contract, BadParamsThrow) {
  EXPECT_THROW(ImageArchival(IaParams{.jpeg_quality = 101}), ride::Error);
  EXPECT_THROW(ImageArchival(IaParams{.jpeg_quality = -1}), ride::Error);
  EXPECT_THROW(ImageArchival(IaParams{.threads = 0}), ride::Error);
  EXPECT_THROW(MotionEstimation(MeParams{.history = 0}), ride::Error);
  EXPECT_THROW(MotionEstimation(MeParams{.var_threshold = 0}), ride::Error);
  EXPECT_THROW(MotionEstimation(MeParams{.learning_rate = 1.5}), ride::Error);
  EXPECT_THROW(MotionEstimation(MeParams{.threads = 0}), ride::Error);
  EXPECT_THROW(MovingObjectDetection(ModParams{.open_kernel = 4}), ride::Error);
  EXPECT_THROW(MovingObjectDetection(ModParams{.close_kernel = -3}), ride::Error);
  EXPECT_THROW(MovingObjectDetection(ModParams{.min_area = -1}), ride::Error);
  EXPECT_THROW(FeatureTracking(FtParams{.max_features = 0}), ride::Error);
  EXPECT_THROW(FeatureTracking(FtParams{.quality_level = 0}), ride::Error);
  EXPECT_THROW(FeatureTracking(FtParams{.lk_window = 2}), ride::Error);
  EXPECT_THROW(FeatureTracking(FtParams{.fb_threshold = 0}), ride::Error);
  EXPECT_THROW(FeatureTracking(FtParams{.redetect_fraction = 1.5}), ride::Error);
  EXPECT_THROW(HumanDetection(HdParams{.win_stride = 0}), ride::Error);
  EXPECT_THROW(HumanDetection(HdParams{.scale = 1.0}), ride::Error);
  EXPECT_THROW(HumanDetection(HdParams{.max_levels = 0}), ride::Error);
  EXPECT_THROW(HumanDetection(HdParams{.threads = 0}), ride::Error);
  EXPECT_THROW(set_opencv_threads(0), ride::Error);
}

TEST(Cam2Contract, EmptyFramesGiveZeroResultsAndKeepState) {
  ImageArchival ia(IaParams{.jpeg_quality = 80});
  const IaResult a = ia.process(nullptr, 0, 5, 3, 0);
  EXPECT_EQ(a.bytes, 0u);
  EXPECT_EQ(a.compressed_bytes, 0u);
  EXPECT_TRUE(a.pixels.empty());
  EXPECT_TRUE(a.jpeg.empty());
  EXPECT_EQ(a.checksum, ride::checksum64(nullptr, 0));
  EXPECT_EQ(ia.process(cv::Mat()).bytes, 0u);

  Scene scene;
  MotionEstimation me;
  for (int t = 0; t < 5; ++t) me.process(scene.frame(t));
  EXPECT_EQ(me.process(nullptr, 7, 0, 1, 7).foreground_pct, 0.0);
  // The model survived the empty frame: the background is still background.
  EXPECT_LT(me.process(scene.frame(5)).foreground_pct, 5.0);

  MovingObjectDetection mod;
  EXPECT_EQ(mod.process(cv::Mat()).objects, 0);
  FeatureTracking ft;
  ft.process(scene.frame(0));
  const FtResult e = ft.process(nullptr, 0, 0, 3, 0);
  EXPECT_EQ(e.features, 0);
  EXPECT_EQ(e.tracked, 0);
  EXPECT_GT(ft.process(scene.frame(1)).tracked, 0);  // still tracking frame 0's features
  HumanDetection hd;
  EXPECT_EQ(hd.process(cv::Mat()).people, 0);
}

// --------------------------------------------------------------------------------------- IA

TEST(Cam2Ia, RoundTripsBytesExactly) {
  for (int channels : {1, 3}) {
    for (int width : {1, 2, 31, 32, 33, 100}) {
      for (int height : {1, 3, 17}) {
        for (int pad : {0, 5}) {
          const std::ptrdiff_t stride = std::ptrdiff_t{width} * channels + pad;
          const auto buf = random_bytes(static_cast<std::size_t>(stride * height),
                                        static_cast<unsigned>(width * 131 + height + pad));
          // Reference: the rows without their padding, written out plainly.
          std::vector<std::uint8_t> packed;
          for (int y = 0; y < height; ++y) {
            for (int x = 0; x < width * channels; ++x) packed.push_back(buf[y * stride + x]);
          }
          const IaResult r = ImageArchival().process(buf.data(), width, height, channels, stride);
          SCOPED_TRACE(::testing::Message()
                       << width << "x" << height << "x" << channels << " pad " << pad);
          EXPECT_EQ(r.bytes, packed.size());
          EXPECT_EQ(r.pixels, packed);
          EXPECT_EQ(r.checksum, ride::checksum64(packed.data(), packed.size()));
          EXPECT_EQ(r.width, width);
          EXPECT_EQ(r.height, height);
          EXPECT_EQ(r.channels, channels);
          EXPECT_EQ(r.compressed_bytes, 0u);
          EXPECT_TRUE(r.jpeg.empty());
          EXPECT_EQ(r.scalars()[0], static_cast<double>(packed.size()));
        }
      }
    }
  }
}

TEST(Cam2Ia, MatViewsAndChecksumWithoutPixels) {
  Scene scene;
  const cv::Mat big = scene.frame(0);
  const cv::Mat roi = big(cv::Rect(3, 5, 33, 20));  // not continuous
  ASSERT_FALSE(roi.isContinuous());
  const cv::Mat packed = roi.clone();
  const IaResult r = ImageArchival().process(roi);
  ASSERT_EQ(r.pixels.size(), packed.total() * 3);
  EXPECT_TRUE(std::equal(r.pixels.begin(), r.pixels.end(), packed.data));
  EXPECT_EQ(r.checksum, ride::checksum64(packed.data, packed.total() * 3));

  const IaResult no_pixels = ImageArchival(IaParams{.keep_pixels = false}).process(roi);
  EXPECT_TRUE(no_pixels.pixels.empty());
  EXPECT_EQ(no_pixels.bytes, r.bytes);
  EXPECT_EQ(no_pixels.checksum, r.checksum);
}

TEST(Cam2Ia, JpegDecodesToTheSameFrame) {
  Scene scene;
  scene.width = 97;
  scene.height = 61;
  for (int channels : {1, 3}) {
    cv::Mat f = scene.frame(0);
    if (channels == 1) f = gray_of(f);
    const IaResult r = ImageArchival(IaParams{.jpeg_quality = 95}).process(f);
    ASSERT_GT(r.compressed_bytes, 0u);
    EXPECT_EQ(r.compressed_bytes, r.jpeg.size());
    EXPECT_EQ(r.scalars()[1], static_cast<double>(r.jpeg.size()));
    const cv::Mat decoded = cv::imdecode(r.jpeg, cv::IMREAD_UNCHANGED);
    ASSERT_FALSE(decoded.empty());
    EXPECT_EQ(decoded.cols, f.cols);
    EXPECT_EQ(decoded.rows, f.rows);
    EXPECT_EQ(decoded.channels(), channels);
    EXPECT_GT(cv::PSNR(decoded, f), 30.0) << channels << " channels";
    // Lower quality, smaller file.
    const IaResult low = ImageArchival(IaParams{.jpeg_quality = 10}).process(f);
    EXPECT_LT(low.compressed_bytes, r.compressed_bytes);
  }
  // Tiny frames encode too.
  const cv::Mat one(1, 1, CV_8UC3, cv::Scalar(1, 2, 3));
  const IaResult tiny = ImageArchival(IaParams{.jpeg_quality = 50}).process(one);
  const cv::Mat decoded = cv::imdecode(tiny.jpeg, cv::IMREAD_UNCHANGED);
  EXPECT_EQ(decoded.size(), cv::Size(1, 1));
}

// --------------------------------------------------------------------------------------- ME

/// Two bright textured rectangles moving (4, 0) and (-3, 2) px/frame, a moving shadow, on a
/// static background. They appear after `warmup` background-only frames, at frame `warmup`
/// at (10, 20), (120, 40) and (60, 90).
Scene moving_scene(int channels, int warmup) {
  Scene s;
  s.channels = channels;
  s.objects.push_back({cv::Rect(10 - 4 * warmup, 20, 20, 16), 4, 0, warmup});
  s.objects.push_back({cv::Rect(120 + 3 * warmup, 40 - 2 * warmup, 18, 22), -3, 2, warmup});
  s.shadows.push_back({cv::Rect(60, 90 - 2 * warmup, 30, 14), 0, 2, warmup});
  return s;
}

/// MOG2 marks a stream's first frame as all new: foreground, or shadow with detect_shadows
/// (each pixel matches, as a shadow, the mode just created for it).
double not_background_pct(const MeResult& r) { return r.foreground_pct + r.shadow_pct; }

constexpr int kWarmup = 40;
constexpr int kMoving = 8;  // frames with the objects in view

TEST(Cam2Me, ForegroundMatchesTheObjectsAndExcludesShadows) {
  for (int channels : {3, 1}) {
    SCOPED_TRACE(::testing::Message() << channels << " channels");
    const Scene scene = moving_scene(channels, kWarmup);
    MotionEstimation me;
    for (int t = 0; t < kWarmup + kMoving; ++t) {
      const MeResult r = me.process(scene.frame(t));
      if (t == 0) {
        EXPECT_EQ(not_background_pct(r), 100.0);  // empty model: everything is new
      } else if (t >= 10 && t < kWarmup) {
        EXPECT_LT(r.foreground_pct, 0.5) << "t=" << t;
      } else if (t >= kWarmup) {
        const double truth = scene.object_pct(t);
        ASSERT_GT(truth, 3.0);
        EXPECT_NEAR(r.foreground_pct, truth, 0.05 * truth) << "t=" << t;
        // The shadow is seen, and not counted as foreground.
        const double shadow = scene.shadow_pct(t);
        ASSERT_GT(shadow, 1.0);
        EXPECT_NEAR(r.shadow_pct, shadow, 0.1 * shadow) << "t=" << t;
      }
    }
  }
}

TEST(Cam2Me, MaskIsTheSameForAnyThreadCount) {
  const Scene scene = moving_scene(3, 10);
  MotionEstimation one(MeParams{.output_mask = true, .threads = 1});
  MotionEstimation three(MeParams{.output_mask = true, .threads = 3});
  MotionEstimation many(MeParams{.output_mask = true, .threads = 500});  // > height: clamped
  for (int t = 0; t < 16; ++t) {
    const cv::Mat f = scene.frame(t);
    const MeResult a = one.process(f), b = three.process(f), c = many.process(f);
    ASSERT_EQ(a.mask.size(), f.total());
    ASSERT_EQ(a.mask, b.mask) << "t=" << t;
    ASSERT_EQ(a.mask, c.mask) << "t=" << t;
    EXPECT_EQ(a.foreground_pct, b.foreground_pct);
    // foreground_pct is the share of 255 in the mask.
    const auto fg = std::count(a.mask.begin(), a.mask.end(), std::uint8_t{255});
    EXPECT_DOUBLE_EQ(a.foreground_pct, 100.0 * static_cast<double>(fg) / f.total());
  }
}

TEST(Cam2Me, StreamsAreIndependentAndResetForgets) {
  Scene first, second;
  first.seed = 11;
  second.seed = 12;
  MotionEstimation a, b;
  for (int t = 0; t < 20; ++t) {
    a.process(first.frame(t));
    b.process(second.frame(t));
  }
  const cv::Mat probe = first.frame(20);
  EXPECT_LT(a.process(probe).foreground_pct, 1.0);   // a learned this background
  EXPECT_GT(b.process(probe).foreground_pct, 50.0);  // b never saw it
  a.reset();
  EXPECT_EQ(not_background_pct(a.process(probe)), 100.0);  // a new stream
  // A frame of another size restarts the stream, too.
  MotionEstimation c;
  for (int t = 0; t < 5; ++t) c.process(first.frame(t));
  EXPECT_EQ(not_background_pct(c.process(first.frame(5)(cv::Rect(0, 0, 33, 31)).clone())), 100.0);
}

TEST(Cam2Me, OddAndTinySizesViaPointers) {
  for (int width : {1, 2, 31, 32, 33}) {
    for (int height : {1, 3, 20}) {
      for (int channels : {1, 3}) {
        const std::ptrdiff_t stride = std::ptrdiff_t{width} * channels + 3;
        std::vector<std::uint8_t> buf(static_cast<std::size_t>(stride * height), 90);
        MotionEstimation me(MeParams{.threads = 2});
        EXPECT_EQ(not_background_pct(me.process(buf.data(), width, height, channels, stride)),
                  100.0);
        // (Within its first ~5 frames MOG2 learns so fast that a new value right away passes
        // its shadow test against the mode just created for it; 10 frames are past that.)
        for (int t = 0; t < 10; ++t) {
          const MeResult r = me.process(buf.data(), width, height, channels, stride);
          EXPECT_EQ(not_background_pct(r), 0.0);
        }
        // A bright first row moves in: exactly that row is foreground.
        std::fill(buf.begin(), buf.begin() + width * channels, std::uint8_t{250});
        EXPECT_NEAR(me.process(buf.data(), width, height, channels, stride).foreground_pct,
                    100.0 / height, 1e-9)
            << width << "x" << height << "x" << channels;
      }
    }
  }
}

// -------------------------------------------------------------------------------------- MOD

TEST(Cam2Mod, FindsEachMovingRectangle) {
  for (int channels : {3, 1}) {
    SCOPED_TRACE(::testing::Message() << channels << " channels");
    const Scene scene = moving_scene(channels, kWarmup);
    MovingObjectDetection mod(ModParams{.threads = 2});
    for (int t = 0; t < kWarmup + kMoving; ++t) {
      const ModResult r = mod.process(scene.frame(t));
      if (t >= 10 && t < kWarmup) {
        EXPECT_EQ(r.objects, 0) << "t=" << t;
      }
      if (t < kWarmup + 1) continue;
      ASSERT_EQ(r.objects, 2) << "t=" << t;
      ASSERT_EQ(r.boxes.size(), 2u);
      EXPECT_EQ(r.scalars()[0], 2.0);
      for (const auto& o : scene.objects) {
        const cv::Rect truth = o.at(t);
        double best = 0;
        for (const auto& b : r.boxes) best = std::max(best, iou(rect_of(b), truth));
        EXPECT_GT(best, 0.5) << "t=" << t << " truth " << truth;
      }
      EXPECT_GE(r.boxes[0].score, r.boxes[1].score);  // by decreasing area
    }
  }
}

TEST(Cam2Mod, MinAreaDropsSmallObjectsAndOpeningDropsSpecks) {
  Scene scene;
  scene.channels = 1;
  scene.objects.push_back({cv::Rect(20 - 2 * 30, 20, 30, 30), 2, 0});  // area ~ 29 * 29
  scene.objects.push_back({cv::Rect(100 - 2 * 30, 80, 8, 8), 2, 0});   // area ~ 7 * 7
  const cv::Mat speck_frame = [&] {
    cv::Mat f = scene.frame(31);
    f.at<std::uint8_t>(5, 150) = 255;  // a lone bright pixel: removed by the opening
    return f;
  }();
  MovingObjectDetection all(ModParams{.min_area = 10});
  MovingObjectDetection big_only(ModParams{.min_area = 200});
  MovingObjectDetection no_opening(ModParams{.open_kernel = 0, .close_kernel = 0, .min_area = 0});
  for (int t = 0; t <= 30; ++t) {
    const cv::Mat f = scene.frame(t);
    all.process(f);
    big_only.process(f);
    no_opening.process(f);
  }
  const ModResult a = all.process(speck_frame), b = big_only.process(speck_frame),
                  c = no_opening.process(speck_frame);
  EXPECT_EQ(a.objects, 2);
  EXPECT_EQ(b.objects, 1);
  ASSERT_GE(b.boxes.size(), 1u);
  EXPECT_GT(iou(rect_of(b.boxes[0]), scene.objects[0].at(31)), 0.5);
  // Without the opening the speck survives as an object of its own.
  bool speck = false;
  for (const auto& box : c.boxes) speck |= box.x == 150 && box.y == 5;
  EXPECT_TRUE(speck);
}

TEST(Cam2Mod, OddAndTinySizes) {
  for (int width : {1, 2, 31, 32, 33}) {
    for (int height : {1, 3, 24}) {
      MovingObjectDetection mod;
      const cv::Mat flat(height, width, CV_8UC3, cv::Scalar(60, 70, 80));
      EXPECT_LE(mod.process(flat).objects, 1);
      for (int t = 0; t < 3; ++t) EXPECT_EQ(mod.process(flat).objects, 0);
    }
  }
}

// --------------------------------------------------------------------------------------- FT

/// One textured patch moving (3, 2) px/frame over a static background, and a square of
/// fresh noise every frame (features there cannot be tracked). The patch's texture has the
/// background's value range, so its outline does not dominate the LK windows of the
/// background features next to it.
Scene tracking_scene(int channels) {
  Scene s;
  s.width = 200;
  s.height = 150;
  s.channels = channels;
  s.camera_noise_sigma = 1.0;
  s.object_lo = 30;
  s.object_hi = 170;
  s.objects.push_back({cv::Rect(30, 30, 90, 70), 3, 2});
  s.noise_region = cv::Rect(150, 5, 45, 45);
  return s;
}

TEST(Cam2Ft, MedianSpeedIsTheKnownDisplacement) {
  const double truth = std::hypot(3.0, 2.0);
  for (int channels : {3, 1}) {
    SCOPED_TRACE(::testing::Message() << channels << " channels");
    const Scene scene = tracking_scene(channels);
    FeatureTracking ft;
    const FtResult first = ft.process(scene.frame(0));
    EXPECT_EQ(first.tracked, 0);
    EXPECT_EQ(first.moving, 0);
    EXPECT_GT(first.features, 100);
    EXPECT_LE(first.features, 2500);
    for (int t = 1; t < 8; ++t) {
      const FtResult r = ft.process(scene.frame(t));
      EXPECT_GT(r.tracked, 100) << "t=" << t;
      EXPECT_GE(r.moving, 30) << "t=" << t;
      EXPECT_NEAR(r.median_speed, truth, 0.1) << "t=" << t;
      EXPECT_GT(r.mean_speed, 0.5);
      EXPECT_EQ(r.points.size(), static_cast<std::size_t>(r.tracked));
      EXPECT_GE(r.features, r.tracked);
      // Most moving features are on the patch; those well inside it move exactly with it.
      const cv::Rect patch = scene.objects[0].at(t);
      const cv::Rect interior(patch.x + 8, patch.y + 8, patch.width - 16, patch.height - 16);
      int on_patch = 0, inside = 0, moving = 0;
      for (const auto& p : r.points) {
        const cv::Point at(cvRound(p.x), cvRound(p.y));
        moving += std::hypot(p.dx, p.dy) >= 0.5;
        if (std::hypot(p.dx, p.dy) >= 0.5) on_patch += patch.contains(at);
        if (!interior.contains(at)) continue;
        ++inside;
        EXPECT_NEAR(p.dx, 3.0, 0.25) << "t=" << t << " at " << at;
        EXPECT_NEAR(p.dy, 2.0, 0.25) << "t=" << t << " at " << at;
      }
      EXPECT_EQ(moving, r.moving);
      EXPECT_GE(inside, 20) << "t=" << t;
      EXPECT_GE(3 * on_patch, 2 * r.moving) << "t=" << t;
    }
  }
}

TEST(Cam2Ft, BackTrackingRejectsFeaturesInChangingNoise) {
  // Forward LK alone "tracks" every feature of the noise square to somewhere. Tracking back
  // must reject most of them over the run. (Not all: about half of the features just detected
  // on fresh pixel noise come back within 1 px by chance; measured on this scene: 63 kept of
  // 159 over 8 frames.)
  const Scene scene = tracking_scene(1);
  FeatureTracking verified;
  FeatureTracking unverified(FtParams{.fb_threshold = 1e9});  // back-tracking effectively off
  const cv::Rect noise = scene.noise_region;
  auto from_noise = [&](const FtResult& r) {
    int n = 0;
    for (const auto& p : r.points)
      n += noise.contains(cv::Point(cvRound(p.x - p.dx), cvRound(p.y - p.dy)));
    return n;
  };
  int verified_from_noise = 0, unverified_from_noise = 0, rejected = 0, unverified_rejected = 0;
  for (int t = 0; t < 8; ++t) {
    const cv::Mat f = scene.frame(t);
    const FtResult a = verified.process(f), b = unverified.process(f);
    rejected += a.rejected;
    unverified_rejected += b.rejected;
    verified_from_noise += from_noise(a);
    unverified_from_noise += from_noise(b);
    if (t > 0) {
      EXPECT_NEAR(a.median_speed, std::hypot(3.0, 2.0), 0.1);
    }
  }
  EXPECT_GT(unverified_from_noise, 100);
  EXPECT_EQ(unverified_rejected, 0);
  EXPECT_GT(rejected, 40);
  EXPECT_LE(2 * verified_from_noise, unverified_from_noise);
}

TEST(Cam2Ft, TracksAreTheSameForAnyThreadCount) {
  const Scene scene = tracking_scene(3);
  FeatureTracking three(FtParams{.min_distance = 3, .threads = 3});
  FeatureTracking three_ref(FtParams{.min_distance = 3, .threads = 1});
  for (int t = 0; t < 5; ++t) {
    const cv::Mat f = scene.frame(t);
    const FtResult a = three.process(f), b = three_ref.process(f);
    if (t > 0) {
      ASSERT_GT(a.tracked, 3 * 64);  // enough points for three chunks
    }
    EXPECT_EQ(a.points, b.points) << "t=" << t;
    EXPECT_EQ(a.scalars(), b.scalars()) << "t=" << t;
  }
}

TEST(Cam2Ft, RedetectsWhenTooFewRemainAndResetForgets) {
  const Scene scene = tracking_scene(1);
  FeatureTracking ft(FtParams{.max_features = 40, .redetect_interval = 0});
  const FtResult first = ft.process(scene.frame(0));
  EXPECT_EQ(first.features, 40);  // capped
  // A flat frame loses every track: the stream has no features left, then re-detects none.
  const cv::Mat flat(scene.height, scene.width, CV_8UC1, cv::Scalar(100));
  const FtResult lost = ft.process(flat);
  EXPECT_EQ(lost.tracked, 0);
  EXPECT_EQ(lost.rejected, 40);
  EXPECT_EQ(lost.features, 0);
  const FtResult again = ft.process(scene.frame(2));
  EXPECT_EQ(again.tracked, 0);
  EXPECT_EQ(again.features, 40);  // re-detected
  ft.reset();
  const FtResult fresh = ft.process(scene.frame(3));
  EXPECT_EQ(fresh.tracked, 0);
  EXPECT_EQ(fresh.features, 40);

  // Independence: a second stream's instance does not see the first one's features.
  FeatureTracking other;
  EXPECT_EQ(other.process(scene.frame(4)).tracked, 0);
}

TEST(Cam2Ft, OddAndTinySizes) {
  const Scene scene = tracking_scene(3);
  for (int width : {1, 2, 31, 32, 33}) {
    for (int height : {1, 3, 40}) {
      FeatureTracking ft;
      for (int t = 0; t < 3; ++t) {
        const cv::Mat f = scene.frame(t)(cv::Rect(40, 40, width, height));  // a strided view
        const FtResult r = ft.process(f);
        EXPECT_GE(r.features, 0);
        EXPECT_LE(r.tracked, r.features);
      }
    }
  }
}

// --------------------------------------------------------------------------------------- HD

/// Two people of different sizes on a textured backdrop.
cv::Mat people_scene(int channels, std::vector<cv::Rect>& truth) {
  cv::Mat img = people_backdrop(420, 330, channels);
  truth.clear();
  truth.push_back(draw_person(img, 1.0, {40, 60}, cv::Scalar::all(40)));
  truth.push_back(draw_person(img, 1.7, {220, 50}, cv::Scalar::all(60)));
  return img;
}

TEST(Cam2Hd, FindsTheDrawnPeople) {
  for (int channels : {3, 1}) {
    std::vector<cv::Rect> truth;
    const cv::Mat img = people_scene(channels, truth);
    for (const HdParams& params : {HdParams{}, HdParams{.scale = 1.05, .threads = 2}}) {
      const HdResult r = HumanDetection(params).process(img);
      ASSERT_EQ(r.people, 2) << channels << " channels, scale " << params.scale;
      EXPECT_EQ(r.scalars()[0], 2.0);
      for (const auto& t : truth) {
        double best = 0;
        for (const auto& b : r.boxes) best = std::max(best, iou(rect_of(b), t));
        EXPECT_GT(best, 0.5) << t;
      }
    }
  }
}

/// OpenCV's own detectMultiScale, as a sorted list.
std::vector<Box> opencv_hog(const cv::Mat& img, const HdParams& p) {
  cv::HOGDescriptor hog;
  hog.setSVMDetector(cv::HOGDescriptor::getDefaultPeopleDetector());
  hog.nlevels = p.max_levels;
  std::vector<cv::Rect> rects;
  std::vector<double> weights;
  hog.detectMultiScale(img, rects, weights, p.hit_threshold, cv::Size(p.win_stride, p.win_stride),
                       cv::Size(p.padding, p.padding), p.scale, p.group_threshold, false);
  std::vector<Box> boxes;
  for (std::size_t i = 0; i < rects.size(); ++i) {
    boxes.push_back({rects[i].x, rects[i].y, rects[i].width, rects[i].height, weights[i]});
  }
  std::sort(boxes.begin(), boxes.end(), [](const Box& a, const Box& b) {
    return std::tie(a.y, a.x, a.w, a.h) < std::tie(b.y, b.x, b.w, b.h);
  });
  return boxes;
}

void expect_same_boxes(const std::vector<Box>& ours, const std::vector<Box>& theirs) {
  ASSERT_EQ(ours.size(), theirs.size());
  for (std::size_t i = 0; i < ours.size(); ++i) {
    EXPECT_EQ(rect_of(ours[i]), rect_of(theirs[i])) << i;
    EXPECT_NEAR(ours[i].score, theirs[i].score, 1e-9) << i;
  }
}

TEST(Cam2Hd, SameDetectionsAsOpenCvDetectMultiScale) {
  std::vector<cv::Rect> truth;
  std::vector<cv::Mat> images{people_scene(3, truth), people_scene(1, truth)};
  if (std::filesystem::exists(kAstronaut)) {
    // HOG's people detector looks for upright full bodies; it misses the astronaut (a
    // half-length portrait), so the photo checks agreement with OpenCV, not her detection.
    images.push_back(cv::imread(kAstronaut, cv::IMREAD_COLOR));
  }
  const std::vector<HdParams> configs{HdParams{}, HdParams{.scale = 1.05, .threads = 3},
                                      HdParams{.hit_threshold = 0.3,
                                               .win_stride = 4,
                                               .padding = 8,
                                               .scale = 1.2,
                                               .group_threshold = 1,
                                               .threads = 2},
                                      HdParams{.max_levels = 3}};
  for (const cv::Mat& img : images) {
    for (const HdParams& p : configs) {
      SCOPED_TRACE(::testing::Message() << img.cols << "x" << img.rows << "x" << img.channels()
                                        << " scale " << p.scale << " stride " << p.win_stride);
      expect_same_boxes(HumanDetection(p).process(img).boxes, opencv_hog(img, p));
    }
  }
}

TEST(Cam2Hd, BlankAndTinyFramesHaveNobody) {
  HumanDetection hd(HdParams{.threads = 2});
  const cv::Mat blank(300, 200, CV_8UC3, cv::Scalar(128, 128, 128));
  EXPECT_EQ(hd.process(blank).people, 0);
  EXPECT_EQ(hd.process(people_backdrop(200, 300, 1)).people, 0);
  for (auto [w, h] : {std::pair{1, 1},
                      {2, 3},
                      {31, 40},
                      {32, 64},
                      {33, 127},
                      {63, 128},
                      {64, 127},
                      {64, 128},
                      {65, 129}}) {
    for (int channels : {1, 3}) {
      const std::vector<std::uint8_t> buf(static_cast<std::size_t>(w * channels * h), 77);
      EXPECT_EQ(hd.process(buf.data(), w, h, channels, w * channels).people, 0) << w << "x" << h;
    }
  }
  // Padding lets a small frame hold a window; it must still not crash.
  HumanDetection padded(HdParams{.padding = 40});
  const cv::Mat small(50, 30, CV_8UC1, cv::Scalar(90));
  EXPECT_EQ(padded.process(small).people, 0);
}

}  // namespace
}  // namespace ride::kernels::cam2

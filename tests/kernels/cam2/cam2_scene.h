#pragma once
// Synthetic scenes with known truth for the CAM² program tests: a static textured background,
// per-frame camera noise, bright textured rectangles moving a known number of pixels per frame,
// an optional darkened (shadow) rectangle, and an optional region redrawn with fresh random
// noise every frame. Everything derives from fixed seeds, so every run sees the same frames.
#include <algorithm>
#include <cstdint>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <vector>

namespace ride::kernels::cam2::testing {

struct MovingRect {
  cv::Rect start;       ///< position at frame 0
  int dx = 0, dy = 0;   ///< pixels per frame
  int first_frame = 0;  ///< absent (not drawn) before this frame
  cv::Rect at(int frame) const { return start + cv::Point(dx * frame, dy * frame); }
  bool visible(int frame) const { return frame >= first_frame; }
};

struct Scene {
  int width = 160, height = 120, channels = 3;
  std::vector<MovingRect> objects;       ///< bright textured rectangles (values 190..255)
  std::vector<MovingRect> shadows;       ///< background darkened to 60 %, moving
  cv::Rect noise_region;                 ///< redrawn with uniform noise every frame (empty: none)
  int object_lo = 190, object_hi = 255;  ///< value range of the objects' texture
  double camera_noise_sigma = 2.0;
  unsigned seed = 7;

  /// Background: 4x4 blocks of random values in [30, 170], lightly blurred (static).
  cv::Mat background() const {
    cv::RNG rng(seed);
    cv::Mat small((height + 3) / 4, (width + 3) / 4, CV_8UC(channels));
    rng.fill(small, cv::RNG::UNIFORM, cv::Scalar::all(30), cv::Scalar::all(171));
    cv::Mat bg;
    cv::resize(small, bg, cv::Size(small.cols * 4, small.rows * 4), 0, 0, cv::INTER_NEAREST);
    bg = bg(cv::Rect(0, 0, width, height)).clone();
    cv::GaussianBlur(bg, bg, cv::Size(3, 3), 0.8);
    return bg;
  }

  /// Texture of object k (its own pattern, moving with it): 3x3 blocks in [object_lo,
  /// object_hi].
  cv::Mat texture(std::size_t k, cv::Size size) const {
    cv::RNG rng(seed * 1000 + static_cast<unsigned>(k) + 1);
    cv::Mat small((size.height + 2) / 3, (size.width + 2) / 3, CV_8UC(channels));
    rng.fill(small, cv::RNG::UNIFORM, cv::Scalar::all(object_lo), cv::Scalar::all(object_hi + 1));
    cv::Mat t;
    cv::resize(small, t, cv::Size(small.cols * 3, small.rows * 3), 0, 0, cv::INTER_NEAREST);
    return t(cv::Rect(0, 0, size.width, size.height)).clone();
  }

  cv::Mat frame(int t) const {
    cv::Mat f = background();
    const cv::Rect all(0, 0, width, height);
    for (const auto& s : shadows) {
      if (!s.visible(t)) continue;
      const cv::Rect r = s.at(t) & all;
      if (r.area() > 0) f(r).convertTo(f(r), -1, 0.6);
    }
    for (std::size_t k = 0; k < objects.size(); ++k) {
      if (!objects[k].visible(t)) continue;
      const cv::Rect full = objects[k].at(t);
      const cv::Rect r = full & all;
      if (r.area() == 0) continue;
      const cv::Mat tex = texture(k, full.size());
      tex(r - full.tl()).copyTo(f(r));
    }
    if (camera_noise_sigma > 0) {
      cv::RNG rng(seed * 7919 + static_cast<unsigned>(t) + 1);
      cv::Mat noise(f.size(), CV_16SC(channels));
      rng.fill(noise, cv::RNG::NORMAL, cv::Scalar::all(0), cv::Scalar::all(camera_noise_sigma));
      cv::Mat g;
      f.convertTo(g, CV_16SC(channels));
      g += noise;
      g.convertTo(f, CV_8UC(channels));  // saturates
    }
    const cv::Rect nr = noise_region & all;
    if (nr.area() > 0) {
      cv::RNG rng(seed * 104729 + static_cast<unsigned>(t) + 1);
      cv::Mat n = f(nr);
      rng.fill(n, cv::RNG::UNIFORM, cv::Scalar::all(0), cv::Scalar::all(256));
    }
    return f;
  }

  /// Pixels covered by the objects at frame t (their union, clipped to the frame).
  cv::Mat object_mask(int t) const {
    cv::Mat m(height, width, CV_8UC1, cv::Scalar(0));
    for (const auto& o : objects) {
      if (!o.visible(t)) continue;
      const cv::Rect r = o.at(t) & cv::Rect(0, 0, width, height);
      if (r.area() > 0) m(r).setTo(255);
    }
    return m;
  }

  double object_pct(int t) const {
    return 100.0 * cv::countNonZero(object_mask(t)) / (static_cast<double>(width) * height);
  }

  /// Share of the frame under a shadow and not under an object at frame t, in percent.
  double shadow_pct(int t) const {
    cv::Mat m(height, width, CV_8UC1, cv::Scalar(0));
    for (const auto& s : shadows) {
      const cv::Rect r = s.at(t) & cv::Rect(0, 0, width, height);
      if (s.visible(t) && r.area() > 0) m(r).setTo(255);
    }
    m.setTo(0, object_mask(t));
    return 100.0 * cv::countNonZero(m) / (static_cast<double>(width) * height);
  }
};

inline double iou(const cv::Rect& a, const cv::Rect& b) {
  const double inter = (a & b).area();
  const double uni = a.area() + b.area() - inter;
  return uni > 0 ? inter / uni : 0.0;
}

}  // namespace ride::kernels::cam2::testing

namespace ride::kernels::cam2::testing {

/// A dark, upright human silhouette (head, torso, arms, legs) drawn in the proportions of the
/// 64 x 128 windows the HOG people detector was trained on (person ~96 px tall in the window),
/// scaled by `scale`, window top-left at `origin`. Returns the window's box (the truth).
inline cv::Rect draw_person(cv::Mat& img, double scale, cv::Point origin, cv::Scalar color) {
  auto p = [&](double x, double y) {
    return cv::Point(origin.x + static_cast<int>(x * scale),
                     origin.y + static_cast<int>(y * scale));
  };
  auto quad = [&](std::initializer_list<cv::Point> pts) {
    const std::vector<cv::Point> v(pts);
    cv::fillConvexPoly(img, v, color, cv::LINE_AA);
  };
  cv::ellipse(img, p(32, 24), cv::Size(static_cast<int>(7 * scale), static_cast<int>(9 * scale)), 0,
              0, 360, color, cv::FILLED, cv::LINE_AA);
  cv::rectangle(img, cv::Rect(p(29, 31), p(35, 37)), color, cv::FILLED);  // neck
  quad({p(21, 36), p(43, 36), p(41, 72), p(23, 72)});                     // torso
  quad({p(23, 70), p(32, 70), p(30, 112), p(23, 112)});                   // left leg
  quad({p(32, 70), p(41, 70), p(42, 112), p(35, 112)});                   // right leg
  quad({p(21, 37), p(25, 38), p(21, 70), p(17, 69)});                     // left arm
  quad({p(43, 37), p(39, 38), p(43, 70), p(47, 69)});                     // right arm
  return {origin.x, origin.y, static_cast<int>(64 * scale), static_cast<int>(128 * scale)};
}

/// A light, mildly textured backdrop (values 150..200, blurred) for the silhouettes.
inline cv::Mat people_backdrop(int width, int height, int channels, unsigned seed = 1) {
  cv::Mat img(height, width, CV_8UC(channels));
  cv::RNG rng(seed);
  rng.fill(img, cv::RNG::UNIFORM, cv::Scalar::all(150), cv::Scalar::all(200));
  cv::GaussianBlur(img, img, cv::Size(5, 5), 1.5);
  return img;
}

}  // namespace ride::kernels::cam2::testing

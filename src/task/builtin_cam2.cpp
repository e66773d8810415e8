/// Built-in tasks: CAM²'s five analysis programs (Table 4) through OpenCV, CPU only (Debian's
/// OpenCV has no CUDA modules). ME, MOD and FT keep a model per stream (keyed partitioning).
#include <cmath>

#include "kernels/cam2/cam2.h"
#include "task/builtin.h"

namespace ride::task {
namespace {

namespace cam2 = kernels::cam2;

std::invalid_argument bad(const std::string& name, const std::string& why) {
  return std::invalid_argument("parameter '" + name + "': " + why);
}

template <class R>
void put_scalars(const R& r, Output& out) {
  const auto s = r.scalars();
  for (std::size_t i = 0; i < s.size(); ++i) out.scalars[i] = s[i];
}

void put_boxes(const std::vector<cam2::Box>& boxes, Output& out) {
  for (const auto& b : boxes) {
    out.boxes.push_back({static_cast<float>(b.x), static_cast<float>(b.y), static_cast<float>(b.w),
                         static_cast<float>(b.h), static_cast<float>(b.score)});
  }
}

/// Common Info fields of a CAM² program.
Info cam2_info(const cam2::ProgramInfo& p, std::string summary, std::vector<Param> params) {
  Info i;
  i.name = std::string(p.name);
  i.summary = std::move(summary);
  i.params = std::move(params);
  i.state = p.stateful ? State::per_stream : State::stateless;
  for (auto n : p.scalar_names) i.scalars.emplace_back(n);
  i.image = p.image;
  i.keypoints = p.points;
  i.boxes = p.boxes;
  i.gray = true;
  i.bgr = true;
  return i;
}

std::vector<Param> mog2_params() {
  return {{"history", "500", "MOG2: frames that shape the background model"},
          {"var_threshold", "16", "MOG2: squared Mahalanobis distance that matches the model"},
          {"detect_shadows", "true", "MOG2: mark shadows apart (not counted as foreground)"}};
}

template <class P>
void read_mog2(const Setup& s, P& p) {
  p.history = static_cast<int>(param_int(s, "history"));
  p.var_threshold = param_double(s, "var_threshold");
  p.detect_shadows = param_bool(s, "detect_shadows");
  if (p.history < 1) throw bad("history", "expected an integer >= 1");
  if (!(p.var_threshold > 0)) throw bad("var_threshold", "expected a number > 0");
  p.threads = s.threads;
}

template <class Program, class Result>
class Cam2Instance final : public Instance {
 public:
  template <class P>
  explicit Cam2Instance(const P& p) : program_(p) {}
  void process(const Frame& in, Output& out) override {
    const Result r = program_.process(in.pixels, in.width, in.height, in.channels, in.stride);
    put_scalars(r, out);
    fill(r, in, out);
  }

 private:
  static void fill(const cam2::IaResult& r, const Frame&, Output& out) {
    out.image_u8 = r.pixels;
    out.image_width = r.width;
    out.image_height = r.height;
    out.image_channels = r.channels;
  }
  static void fill(const cam2::MeResult&, const Frame&, Output&) {}
  static void fill(const cam2::ModResult& r, const Frame&, Output& out) { put_boxes(r.boxes, out); }
  static void fill(const cam2::HdResult& r, const Frame&, Output& out) { put_boxes(r.boxes, out); }
  static void fill(const cam2::FtResult& r, const Frame&, Output& out) {
    // Tracks as keypoint rows: (x, y, size = speed px/frame, angle = direction in degrees
    // [0, 360), response = 1).
    for (const auto& p : r.points) {
      float deg = static_cast<float>(std::atan2(p.dy, p.dx) * 180.0 / M_PI);
      if (deg < 0) deg += 360.0f;
      out.keypoints.push_back({p.x, p.y, std::hypot(p.dx, p.dy), deg, 1.0f});
    }
  }

  Program program_;
};

class Ia final : public Task {
 public:
  Info info() const override {
    Info i = cam2_info(cam2::ImageArchival::info(),
                       "CAM² IA image archival: the frame stored unchanged (as the output image "
                       "when output.images = true), its size and, optionally, its JPEG size",
                       {{"jpeg_quality", "0", "0: no JPEG; 1..100: also JPEG-encode at this quality"}});
    i.image = true;
    return i;
  }
  std::unique_ptr<Instance> create(const Setup& s) const override {
    cam2::IaParams p;
    p.jpeg_quality = static_cast<int>(param_int(s, "jpeg_quality"));
    if (p.jpeg_quality < 0 || p.jpeg_quality > 100) throw bad("jpeg_quality", "expected 0..100");
    p.threads = s.threads;
    return std::make_unique<Cam2Instance<cam2::ImageArchival, cam2::IaResult>>(p);
  }
};

class Me final : public Task {
 public:
  Info info() const override {
    Info i = cam2_info(cam2::MotionEstimation::info(),
                       "CAM² ME motion estimation: MOG2 background subtraction, percentage of "
                       "foreground (and shadow) pixels",
                       mog2_params());
    i.image = false;  // the mask stays inside the task
    return i;
  }
  std::unique_ptr<Instance> create(const Setup& s) const override {
    cam2::MeParams p;
    read_mog2(s, p);
    return std::make_unique<Cam2Instance<cam2::MotionEstimation, cam2::MeResult>>(p);
  }
};

class Mod final : public Task {
 public:
  Info info() const override {
    auto params = mog2_params();
    params.push_back({"open_kernel", "3", "opening (erode, dilate) ellipse side; 0 = skip; odd"});
    params.push_back({"close_kernel", "7", "closing (dilate, erode) ellipse side; 0 = skip; odd"});
    params.push_back({"min_area", "50", "contour area an object needs, px²"});
    return cam2_info(cam2::MovingObjectDetection::info(),
                     "CAM² MOD moving objects: background subtraction, opening/closing, contours "
                     "-> count and boxes (x, y, w, h, area)",
                     params);
  }
  std::unique_ptr<Instance> create(const Setup& s) const override {
    cam2::ModParams p;
    read_mog2(s, p);
    p.open_kernel = static_cast<int>(param_int(s, "open_kernel"));
    p.close_kernel = static_cast<int>(param_int(s, "close_kernel"));
    p.min_area = param_double(s, "min_area");
    for (const char* k : {"open_kernel", "close_kernel"}) {
      const int v = std::string(k) == "open_kernel" ? p.open_kernel : p.close_kernel;
      if (v < 0 || (v > 0 && v % 2 == 0)) throw bad(k, "expected 0 or an odd integer");
    }
    if (!(p.min_area >= 0)) throw bad("min_area", "expected a number >= 0");
    return std::make_unique<Cam2Instance<cam2::MovingObjectDetection, cam2::ModResult>>(p);
  }
};

class Ft final : public Task {
 public:
  Info info() const override {
    return cam2_info(cam2::FeatureTracking::info(),
                     "CAM² FT feature tracking: good features to track + pyramidal Lucas-Kanade "
                     "with back-tracking verification, speeds; tracks as keypoints (x, y, speed, "
                     "direction_deg, 1)",
                     {{"max_features", "2500", "features kept at most"},
                      {"quality_level", "0.01", "GFTT minimal eigenvalue relative to the best"},
                      {"min_distance", "7", "GFTT px between features"},
                      {"fb_threshold", "1", "back-tracking: keep if forward-backward error < this, px"}});
  }
  std::unique_ptr<Instance> create(const Setup& s) const override {
    cam2::FtParams p;
    p.max_features = static_cast<int>(param_int(s, "max_features"));
    p.quality_level = param_double(s, "quality_level");
    p.min_distance = param_double(s, "min_distance");
    p.fb_threshold = param_double(s, "fb_threshold");
    p.threads = s.threads;
    if (p.max_features < 1) throw bad("max_features", "expected an integer >= 1");
    if (!(p.quality_level > 0 && p.quality_level < 1)) throw bad("quality_level", "expected (0, 1)");
    if (!(p.min_distance >= 0)) throw bad("min_distance", "expected a number >= 0");
    if (!(p.fb_threshold > 0)) throw bad("fb_threshold", "expected a number > 0");
    return std::make_unique<Cam2Instance<cam2::FeatureTracking, cam2::FtResult>>(p);
  }
};

class Hd final : public Task {
 public:
  Info info() const override {
    return cam2_info(cam2::HumanDetection::info(),
                     "CAM² HD human detection: HOG people detector -> count and boxes "
                     "(x, y, w, h, SVM margin)",
                     {{"hit_threshold", "0", "SVM margin a window needs"},
                      {"win_stride", "8", "window step, px"},
                      {"scale", "1.1", "pyramid step, > 1"},
                      {"group_threshold", "2", "cv::groupRectangles: hits a group needs"}});
  }
  std::unique_ptr<Instance> create(const Setup& s) const override {
    cam2::HdParams p;
    p.hit_threshold = param_double(s, "hit_threshold");
    p.win_stride = static_cast<int>(param_int(s, "win_stride"));
    p.scale = param_double(s, "scale");
    p.group_threshold = static_cast<int>(param_int(s, "group_threshold"));
    p.threads = s.threads;
    if (p.win_stride < 1) throw bad("win_stride", "expected an integer >= 1");
    if (!(p.scale > 1)) throw bad("scale", "expected a number > 1");
    if (p.group_threshold < 0) throw bad("group_threshold", "expected an integer >= 0");
    return std::make_unique<Cam2Instance<cam2::HumanDetection, cam2::HdResult>>(p);
  }
};

}  // namespace

void register_cam2_tasks(Registry& r) {
  r.add(std::make_shared<Ia>());
  r.add(std::make_shared<Me>());
  r.add(std::make_shared<Mod>());
  r.add(std::make_shared<Ft>());
  r.add(std::make_shared<Hd>());
}

}  // namespace ride::task

/// Built-in tasks: RIDE's standard-deviation filter and noop (moves frames, computes nothing).
#include <cmath>

#include "kernels/stddev/stddev.h"
#include "task/builtin.h"
#include "task/registry.h"

namespace ride::task {
namespace {

class StddevInstance final : public Instance {
 public:
  StddevInstance(int window, const Setup& s) : window_(window), setup_(s) {}
  void process(const Frame& in, Output& out) override {
    const std::size_t n = static_cast<std::size_t>(in.width) * static_cast<std::size_t>(in.height);
    out.image_f32.resize(n);
    if (setup_.device == Device::gpu) {
      kernels::stddev_filter_u8_cuda(in.pixels, in.width, in.height, in.stride, window_,
                                     out.image_f32.data(), in.width);
    } else {
      kernels::stddev_filter_u8(in.pixels, in.width, in.height, in.stride, window_,
                                out.image_f32.data(), in.width, setup_.threads);
    }
    out.image_width = in.width;
    out.image_height = in.height;
    const auto st = kernels::frame_stats(out.image_f32.data(), in.width, in.height, in.width);
    out.scalars[0] = st.mean;
    out.scalars[1] = st.min;
    out.scalars[2] = st.max;
  }

 private:
  int window_;
  Setup setup_;
};

class Stddev final : public Task {
 public:
  Info info() const override {
    return Info{.name = "stddev",
                .summary = "standard-deviation filter (RIDE): population std-dev of each pixel's window",
                .params = {{"window", "5", "odd window side in pixels, 1..2047 (borders reflect-101)"}},
                .gpu = true,
                .scalars = {"mean", "min", "max"},
                .image = true};
  }
  std::unique_ptr<Instance> create(const Setup& s) const override {
    const long long w = param_int(s, "window");
    if (w < 1 || w > 2047 || w % 2 == 0) {
      throw std::invalid_argument("parameter 'window': expected an odd integer in 1..2047, got " +
                                  std::to_string(w));
    }
    return std::make_unique<StddevInstance>(static_cast<int>(w), s);
  }
};

class NoopInstance final : public Instance {
 public:
  void process(const Frame&, Output&) override {}
};

class Noop final : public Task {
 public:
  Info info() const override {
    return Info{.name = "noop",
                .summary = "no processing: moves and checksums frames (measures the framework itself)",
                .bgr = true};
  }
  std::unique_ptr<Instance> create(const Setup&) const override {
    return std::make_unique<NoopInstance>();
  }
};

}  // namespace

void register_basic_tasks(Registry& r) {
  r.add(std::make_shared<Stddev>());
  r.add(std::make_shared<Noop>());
}

void register_builtin_tasks(Registry& r) {
  register_basic_tasks(r);
  register_ride_app_tasks(r);
  register_cam2_tasks(r);
}

}  // namespace ride::task

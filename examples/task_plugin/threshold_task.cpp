/// An example task library, written the way a user outside this repository would: it includes
/// only ride_task.h, builds as a shared library, and is loaded at run time with
///   ride run --task.library=/path/libride_threshold_task.so --task.name=threshold
///            --params.level=128
/// `ride tasks --task.library=...` lists it with the built-ins.
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>

#include "ride_task.h"

namespace {

using namespace ride::task;

class ThresholdInstance final : public Instance {
 public:
  explicit ThresholdInstance(int level) : level_(level) {}
  void process(const Frame& in, Output& out) override {
    // Binary threshold: 255 where the pixel is above `level`, 0 elsewhere; the scalar is the
    // percentage of pixels above.
    out.image_u8.resize(static_cast<std::size_t>(in.width) * static_cast<std::size_t>(in.height));
    std::uint64_t above = 0;
    for (int y = 0; y < in.height; ++y) {
      const std::uint8_t* row = in.pixels + y * in.stride;
      std::uint8_t* dst = out.image_u8.data() + static_cast<std::size_t>(y) * in.width;
      for (int x = 0; x < in.width; ++x) {
        const bool on = row[x] > level_;
        dst[x] = on ? 255 : 0;
        above += on;
      }
    }
    out.image_width = in.width;
    out.image_height = in.height;
    const double n = static_cast<double>(in.width) * in.height;
    out.scalars[0] = n > 0 ? 100.0 * static_cast<double>(above) / n : 0.0;
  }

 private:
  int level_;
};

class Threshold final : public Task {
 public:
  Info info() const override {
    return Info{.name = "threshold",
                .summary = "example task library: binary threshold, percentage of pixels above a level",
                .params = {{"level", "128", "pixels above this (0..255) are on"}},
                .scalars = {"above_pct"},
                .image = true};
  }
  std::unique_ptr<Instance> create(const Setup& s) const override {
    const long long level = param_int(s, "level");
    if (level < 0 || level > 255) {
      throw std::invalid_argument("parameter 'level': expected 0..255, got " + std::to_string(level));
    }
    return std::make_unique<ThresholdInstance>(static_cast<int>(level));
  }
};

}  // namespace

extern "C" int ride_register_tasks(Registry* registry, int api_version) {
  if (api_version != kApiVersion) return 1;
  registry->add(std::make_shared<Threshold>());
  return 0;
}

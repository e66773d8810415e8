/// Built-in tasks: RIDE's other three applications (Fig. 9) — the SURF-style fast-Hessian
/// detector, matrix multiplication and FFT — each with a CPU and a CUDA path.
#include <algorithm>
#include <cmath>

#include "kernels/fft/fft.h"
#include "kernels/hessian/hessian.h"
#include "kernels/matmul/matmul.h"
#include "task/builtin.h"

namespace ride::task {
namespace {

std::invalid_argument bad(const std::string& name, const std::string& why) {
  return std::invalid_argument("parameter '" + name + "': " + why);
}

class HessianInstance final : public Instance {
 public:
  HessianInstance(kernels::HessianParams p, Setup s) : p_(p), s_(std::move(s)) {}
  void process(const Frame& in, Output& out) override {
    const auto kps = s_.device == Device::gpu
                         ? kernels::fast_hessian_u8_cuda(in.pixels, in.width, in.height, in.stride, p_)
                         : kernels::fast_hessian_u8(in.pixels, in.width, in.height, in.stride, p_,
                                                    s_.threads);
    out.keypoints.reserve(kps.size());
    double sum = 0, best = 0;
    for (const auto& k : kps) {
      out.keypoints.push_back({k.x, k.y, k.size, k.angle, k.response});
      sum += k.response;
      best = std::max(best, static_cast<double>(k.response));
    }
    out.scalars[0] = static_cast<double>(kps.size());
    out.scalars[1] = kps.empty() ? 0.0 : sum / static_cast<double>(kps.size());
    out.scalars[2] = best;
  }

 private:
  kernels::HessianParams p_;
  Setup s_;
};

class Hessian final : public Task {
 public:
  Info info() const override {
    return Info{.name = "hessian",
                .summary =
                    "SURF-style fast-Hessian blob detector (RIDE's 'surf'): box-filter det(H) over "
                    "octaves, 3x3x3 maxima; keypoints (x, y, size, angle = -1, response)",
                .params = {{"threshold", "100", "det(H) a keypoint needs (OpenCV SURF's normalisation)"},
                           {"octaves", "4", "octaves, 1..6"},
                           {"layers", "4", "filter sizes per octave, 3..8"},
                           {"init_sample", "1", "sample step of the first octave, 1..64"},
                           {"interpolate", "true", "sub-pixel and sub-scale refinement"}},
                .gpu = true,
                .scalars = {"keypoints", "mean_response", "max_response"},
                .keypoints = true};
  }
  std::unique_ptr<Instance> create(const Setup& s) const override {
    kernels::HessianParams p;
    p.threshold = param_double(s, "threshold");
    p.octaves = static_cast<int>(param_int(s, "octaves"));
    p.layers = static_cast<int>(param_int(s, "layers"));
    p.init_sample = static_cast<int>(param_int(s, "init_sample"));
    p.interpolate = param_bool(s, "interpolate");
    if (!(p.threshold >= 0)) throw bad("threshold", "expected a number >= 0");
    if (p.octaves < 1 || p.octaves > 6) throw bad("octaves", "expected 1..6");
    if (p.layers < 3 || p.layers > 8) throw bad("layers", "expected 3..8");
    if (p.init_sample < 1 || p.init_sample > 64) throw bad("init_sample", "expected 1..64");
    return std::make_unique<HessianInstance>(p, s);
  }
};

class MatmulInstance final : public Instance {
 public:
  MatmulInstance(kernels::MatmulParams p, Setup s) : p_(p), s_(std::move(s)) {}
  void process(const Frame& in, Output& out) override {
    out.image_f32.resize(static_cast<std::size_t>(in.height) * static_cast<std::size_t>(p_.cols));
    const auto st =
        s_.device == Device::gpu
            ? kernels::matmul_u8_cuda(in.pixels, in.width, in.height, in.stride, p_,
                                      out.image_f32.data(), p_.cols)
            : kernels::matmul_u8(in.pixels, in.width, in.height, in.stride, p_,
                                 out.image_f32.data(), p_.cols, s_.threads);
    out.image_width = p_.cols;
    out.image_height = in.height;
    out.scalars = {st.mean, st.min, st.max, st.frobenius};
  }

 private:
  kernels::MatmulParams p_;
  Setup s_;
};

class Matmul final : public Task {
 public:
  Info info() const override {
    return Info{.name = "matmul",
                .summary =
                    "matrix multiplication (RIDE): C = A B, A the frame as v/255 (h x w), B a fixed "
                    "pseudo-random w x cols matrix in [-1, 1); image = C",
                .params = {{"cols", std::to_string(kernels::kDefaultMatmulCols), "columns of B and C, >= 1"},
                           {"seed", "0", "seed of B's entries"}},
                .gpu = true,
                .scalars = {"mean", "min", "max", "frobenius"},
                .image = true};
  }
  std::unique_ptr<Instance> create(const Setup& s) const override {
    kernels::MatmulParams p;
    const long long cols = param_int(s, "cols");
    const long long seed = param_int(s, "seed");
    if (cols < 1 || cols > 65536) throw bad("cols", "expected 1..65536");
    if (seed < 0) throw bad("seed", "expected an integer >= 0");
    p.cols = static_cast<int>(cols);
    p.seed = static_cast<std::uint64_t>(seed);
    return std::make_unique<MatmulInstance>(p, s);
  }
};

class FftInstance final : public Instance {
 public:
  explicit FftInstance(Setup s) : s_(std::move(s)) {}
  void process(const Frame& in, Output& out) override {
    const int hw = kernels::fft_half_width(in.width);
    out.image_f32.resize(static_cast<std::size_t>(in.height) * static_cast<std::size_t>(hw));
    const auto st =
        s_.device == Device::gpu
            ? kernels::fft_log_magnitude_u8_cuda(in.pixels, in.width, in.height, in.stride,
                                                 out.image_f32.data(), hw)
            : kernels::fft_log_magnitude_u8(in.pixels, in.width, in.height, in.stride,
                                            out.image_f32.data(), hw, s_.threads);
    out.image_width = hw;
    out.image_height = in.height;
    out.scalars[0] = st.dc_magnitude;
    out.scalars[1] = st.energy;
    out.scalars[2] = st.high_frequency_fraction;
  }

 private:
  Setup s_;
};

class Fft final : public Task {
 public:
  Info info() const override {
    return Info{.name = "fft",
                .summary =
                    "2-D FFT (RIDE): real-to-complex DFT of the frame; image = log1p|X| of the half "
                    "spectrum (h x (w/2+1))",
                .gpu = true,
                .scalars = {"dc_magnitude", "energy", "high_frequency_fraction"},
                .image = true};
  }
  std::unique_ptr<Instance> create(const Setup& s) const override {
    return std::make_unique<FftInstance>(s);
  }
};

}  // namespace

void register_ride_app_tasks(Registry& r) {
  r.add(std::make_shared<Hessian>());
  r.add(std::make_shared<Matmul>());
  r.add(std::make_shared<Fft>());
}

}  // namespace ride::task

#pragma once
/// @brief The task API: what a user implements to have ride distribute their image processing.
///
/// A task is compiled into a shared library that exports `ride_register_tasks` (below) and is
/// named in the job's configuration (`task.library = /path/libmytask.so`, `task.name = mytask`,
/// parameters under `[params]`). The built-in tasks (`ride tasks` lists them) use this same API.
/// This header needs only the C++ standard library; build a task with the same compiler and
/// standard library as ride (the API passes std types across the library boundary).
///
/// Life cycle, per worker rank: `create()` once per instance with the parsed parameters; a
/// stateless task gets one instance per worker, a stateful (`per_stream`) task one per stream
/// the worker sees (and such a task requires `ingest.partitioning = key`, so that every frame of
/// a stream reaches the same partition, in order). `process()` is called from one thread at a
/// time per instance, frame after frame; throwing fails that frame only (the sink records the
/// message with the frame's key) unless the exception is ride::DeviceLost.
#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <stdexcept>
#include <memory>
#include <string>
#include <vector>

namespace ride::task {

/// Bumped on any incompatible change; a library built against another version is refused.
inline constexpr int kApiVersion = 1;
/// At most this many per-frame scalars (columns of the results table).
inline constexpr std::size_t kMaxScalars = 8;

enum class State { stateless, per_stream };
enum class Device { cpu, gpu };

struct Param {
  std::string name;           ///< key under [params]
  std::string default_value;  ///< text, as in a config file
  std::string help;
};

/// What a task declares about itself.
struct Info {
  std::string name;     ///< task.name; [a-z0-9_]+
  std::string summary;  ///< one line for `ride tasks`
  std::vector<Param> params;
  State state = State::stateless;
  bool cpu = true;   ///< has a CPU path (every built-in task does)
  bool gpu = false;  ///< has a CUDA path (worker.device = gpu | auto)
  std::vector<std::string> scalars;  ///< names of the per-frame scalars, at most kMaxScalars
  bool image = false;      ///< may produce an output image
  bool keypoints = false;  ///< may produce keypoints: rows (x, y, size, angle, response)
  bool boxes = false;      ///< may produce boxes: rows (x, y, width, height, score)
  /// Accepted input channels: 1 (gray) and/or 3 (BGR).
  bool gray = true, bgr = false;
};

/// One input frame, valid for the duration of process().
struct Frame {
  const std::uint8_t* pixels = nullptr;  ///< rows `stride` bytes apart
  int width = 0, height = 0, channels = 1;
  std::ptrdiff_t stride = 0;
  std::uint32_t stream = 0;
  std::uint64_t sequence = 0;
  std::int64_t capture_ns = 0;  ///< wall clock (ns since the Unix epoch) at capture
};

/// What process() fills in. Before each frame the worker calls clear(): scalars, keypoints and
/// boxes are emptied, and the image is marked absent (image_width = image_height = 0) but its
/// buffers keep their size, so a task that writes the same image size every frame with resize()
/// allocates and zero-fills nothing after the first frame.
struct Output {
  std::array<double, kMaxScalars> scalars{};  ///< in Info::scalars order
  /// An output image of image_width x image_height x image_channels (row-major), in exactly one
  /// of the two buffers: the one whose size() is that product (size it with resize(); the other
  /// one must not have that size). Stored by the sink only when output.images = true.
  std::vector<float> image_f32;
  std::vector<std::uint8_t> image_u8;
  int image_width = 0, image_height = 0, image_channels = 1;
  std::vector<std::array<float, 5>> keypoints;  ///< (x, y, size, angle, response)
  std::vector<std::array<float, 5>> boxes;      ///< (x, y, width, height, score)
  void clear() {
    scalars.fill(0.0);
    image_width = image_height = 0;
    image_channels = 1;
    keypoints.clear();
    boxes.clear();
  }
  /// Elements of the image (0 when there is none).
  std::size_t image_elements() const {
    return static_cast<std::size_t>(image_width < 0 ? 0 : image_width) *
           static_cast<std::size_t>(image_height < 0 ? 0 : image_height) *
           static_cast<std::size_t>(image_channels < 0 ? 0 : image_channels);
  }
};

/// How an instance is set up.
struct Setup {
  std::map<std::string, std::string> params;  ///< every declared parameter (defaults filled in)
  Device device = Device::cpu;
  int threads = 1;     ///< CPU cores the instance may use (worker.threads)
  int gpu_index = -1;  ///< the CUDA device bound to the calling thread, -1 on CPU
};

class Instance {
 public:
  virtual ~Instance() = default;
  virtual void process(const Frame& in, Output& out) = 0;
};

class Task {
 public:
  virtual ~Task() = default;
  virtual Info info() const = 0;
  /// Throws (std::exception) on parameters it cannot use; the message names the parameter.
  virtual std::unique_ptr<Instance> create(const Setup& setup) const = 0;
};

/// Where a library registers its tasks.
class Registry {
 public:
  virtual ~Registry() = default;
  virtual void add(std::shared_ptr<const Task> task) = 0;
};

/// Parameter helpers for create() (inline: a task library needs nothing else from ride): the
/// value of `name`, or std::invalid_argument naming the parameter and the value.
inline const std::string& param_text(const Setup& s, const std::string& name) {
  auto it = s.params.find(name);
  if (it == s.params.end()) throw std::invalid_argument("parameter '" + name + "' is not declared");
  return it->second;
}
/// The whole of parameter `name` read by `convert` (std::stod, std::stoll), or
/// std::invalid_argument saying it is not `what`.
template <typename Convert>
auto param_number(const Setup& s, const std::string& name, Convert convert, const char* what) {
  const std::string& v = param_text(s, name);
  std::size_t used = 0;
  decltype(convert(v, &used)) x{};
  try {
    x = convert(v, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != v.size()) {
    throw std::invalid_argument("parameter '" + name + "': '" + v + "' is not " + what);
  }
  return x;
}
inline double param_double(const Setup& s, const std::string& name) {
  return param_number(
      s, name, [](const std::string& v, std::size_t* used) { return std::stod(v, used); }, "a number");
}
inline long long param_int(const Setup& s, const std::string& name) {
  return param_number(
      s, name, [](const std::string& v, std::size_t* used) { return std::stoll(v, used); }, "an integer");
}
inline bool param_bool(const Setup& s, const std::string& name) {
  const std::string& v = param_text(s, name);
  if (v == "true" || v == "1" || v == "yes" || v == "on") return true;
  if (v == "false" || v == "0" || v == "no" || v == "off") return false;
  throw std::invalid_argument("parameter '" + name + "': '" + v + "' is not true or false");
}

}  // namespace ride::task

/// The one symbol a task library exports: register every task, return 0 (non-zero: refused).
/// `api_version` is ride's kApiVersion; return non-zero if it is not the one built against.
extern "C" int ride_register_tasks(ride::task::Registry* registry, int api_version);

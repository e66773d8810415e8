/// Loads the video module (libride_video.so) on first use; see video_source.h.
#include <dlfcn.h>

#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string>

#include "core/error.h"
#include "ingest/video_source.h"

namespace ride::ingest {
namespace {

using CreateFn = VideoInput* (*)(const InputSpec*, const VideoOptions*, std::string*);

CreateFn load_module() {
  static std::once_flag once;
  static CreateFn create = nullptr;
  static std::string failure;
  std::call_once(once, [] {
    const std::string path = video_module_path();
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
      const char* why = dlerror();
      failure = "cannot load the video module '" + path + "' (ingest.source = video needs it beside the ride " +
                "executable, or RIDE_VIDEO_MODULE naming it): " + (why ? why : "unknown error");
      return;
    }
    create = reinterpret_cast<CreateFn>(dlsym(handle, "ride_video_create"));
    if (create == nullptr) failure = "the video module '" + path + "' has no ride_video_create";
  });
  if (create == nullptr) RIDE_FAIL(failure);
  return create;
}

}  // namespace

std::string video_module_path() {
  if (const char* env = std::getenv("RIDE_VIDEO_MODULE"); env && *env) return env;
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ((ec ? std::filesystem::path(".") : exe.parent_path()) / "libride_video.so").string();
}

void check_video_module(const std::string& where) {
  const std::string path = video_module_path();
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    throw ConfigError(where + " = video needs the video module '" + path +
                      "', which is not there (it is built beside the ride executable; RIDE_VIDEO_MODULE names another)");
}

void load_video_module() { load_module(); }

std::unique_ptr<VideoInput> open_video_input(InputSpec spec, VideoOptions opts) {
  const CreateFn create = load_module();
  std::string error;
  VideoInput* in = create(&spec, &opts, &error);
  if (in == nullptr) RIDE_FAIL("video input '" << spec.url << "': " << error);
  return std::unique_ptr<VideoInput>(in);
}

}  // namespace ride::ingest

// The task registry (task/registry.h) in one process: built-ins, resolution errors that name the
// key and where it was set, task libraries loaded with dlopen, and every built-in task run on
// a small frame with outputs consistent with what it declares.
#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/error.h"
#include "task/registry.h"

namespace ride::task {
namespace {

JobConfig config(std::vector<std::string> args) { return parse_job_config(args); }

std::string resolve_error(const std::vector<std::string>& args) {
  try {
    const JobConfig cfg = config(args);
    const auto t = resolve_task(registry_for(cfg), cfg);
    check_task_params(t, cfg);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(TaskRegistry, HasEveryBuiltInTask) {
  TaskRegistry r;
  const std::vector<std::string> want{"fft", "ft", "hd", "hessian", "ia", "matmul",
                                      "me", "mod", "noop", "stddev"};
  EXPECT_EQ(r.names(), want);
  for (const auto& n : want) {
    EXPECT_EQ(r.origin(n), "built-in");
  }
  EXPECT_EQ(r.find("surf"), nullptr);
  EXPECT_NE(describe_tasks(r).find("params.window = 5"), std::string::npos);
}

TEST(TaskRegistry, ResolutionErrorsNameTheKeyAndOrigin) {
  EXPECT_NE(resolve_error({"--task.name=surf"}).find("'task.name' (command line): unknown task 'surf'"),
            std::string::npos);
  const std::string path = ::testing::TempDir() + "/params.ini";
  std::ofstream(path) << "[task]\nname = stddev\n\n[params]\nwindw = 3\n";
  const std::string e = resolve_error({"--config", path});
  EXPECT_NE(e.find("'params.windw' (" + path + ":5)"), std::string::npos) << e;
  EXPECT_NE(e.find("has parameters window"), std::string::npos) << e;
  EXPECT_NE(resolve_error({"--params.window=4"}).find("window"), std::string::npos);
  EXPECT_NE(resolve_error({"--params.window=abc"}).find("not an integer"), std::string::npos);
  EXPECT_NE(resolve_error({"--task.name=mod"}).find("ingest.partitioning = key"), std::string::npos);
  EXPECT_EQ(resolve_error({"--task.name=mod", "--ingest.partitioning=key"}), "");
  EXPECT_NE(resolve_error({"--task.name=hd", "--worker.device=gpu"}).find("has no GPU path"),
            std::string::npos);
  EXPECT_EQ(resolve_error({"--task.name=hessian", "--worker.device=gpu"}), "");
  EXPECT_NE(resolve_error({"--task.name=hd", "--params.scale=1"}).find("scale"), std::string::npos);
}

TEST(TaskRegistry, LoadsATaskLibraryAndRefusesBadOnes) {
  TaskRegistry r;
  r.load_library(RIDE_EXAMPLE_TASK_LIBRARY);
  ASSERT_NE(r.find("threshold"), nullptr);
  EXPECT_EQ(r.origin("threshold"), RIDE_EXAMPLE_TASK_LIBRARY);
  // Loading it again would define 'threshold' twice.
  EXPECT_THROW(r.load_library(RIDE_EXAMPLE_TASK_LIBRARY), Error);
  EXPECT_THROW(r.load_library("/nonexistent/libnone.so"), Error);
  try {
    r.load_library("libm.so.6");  // a real library without ride_register_tasks
    FAIL() << "libm was accepted as a task library";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("ride_register_tasks"), std::string::npos) << e.what();
  }
  const JobConfig cfg = config({std::string("--task.library=") + RIDE_EXAMPLE_TASK_LIBRARY,
                                "--task.name=threshold", "--params.level=10"});
  const auto t = resolve_task(registry_for(cfg), cfg);
  EXPECT_EQ(t.params.at("level"), "10");
  task::Setup s;
  s.params = t.params;
  auto inst = t.task->create(s);
  std::vector<std::uint8_t> px{0, 5, 10, 11, 200, 255};
  Frame f{px.data(), 3, 2, 1, 3, 0, 0, 0};
  Output out;
  inst->process(f, out);
  EXPECT_DOUBLE_EQ(out.scalars[0], 50.0);  // 11, 200, 255 of 6 are above 10
  EXPECT_EQ(out.image_u8, (std::vector<std::uint8_t>{0, 0, 0, 255, 255, 255}));
}

/// Runs every built-in task on a few frames of a moving scene and checks that what it
/// produces is what it declares.
TEST(TaskRegistry, EveryBuiltInTaskProducesWhatItDeclares) {
  TaskRegistry r;
  const int w = 96, h = 160;  // taller than HOG's 64 x 128 window
  std::mt19937 rng(7);
  std::vector<std::uint8_t> background(static_cast<std::size_t>(w) * h);
  for (auto& v : background) v = static_cast<std::uint8_t>(rng() % 64);
  for (const auto& name : r.names()) {
    SCOPED_TRACE(name);
    const Info info = r.find(name)->info();
    task::Setup s;
    for (const auto& p : info.params) s.params[p.name] = p.default_value;
    s.threads = 2;
    auto inst = r.find(name)->create(s);
    for (int t = 0; t < 4; ++t) {
      std::vector<std::uint8_t> frame = background;
      for (int y = 40; y < 80; ++y) {
        for (int x = 10 + 5 * t; x < 40 + 5 * t; ++x) frame[static_cast<std::size_t>(y) * w + x] = 230;
      }
      Frame f{frame.data(), w, h, 1, w, 0, static_cast<std::uint64_t>(t), 0};
      Output out;
      out.clear();
      inst->process(f, out);
      for (std::size_t k = info.scalars.size(); k < kMaxScalars; ++k) {
        EXPECT_EQ(out.scalars[k], 0.0);
      }
      if (!info.image) {
        EXPECT_TRUE(out.image_f32.empty() && out.image_u8.empty());
      } else {
        const std::size_t n = static_cast<std::size_t>(out.image_width) * out.image_height * out.image_channels;
        EXPECT_GT(n, 0u);
        EXPECT_EQ(out.image_f32.empty() ? out.image_u8.size() : out.image_f32.size(), n);
      }
      if (!info.keypoints) {
        EXPECT_TRUE(out.keypoints.empty());
      }
      if (!info.boxes) {
        EXPECT_TRUE(out.boxes.empty());
      }
    }
  }
}

}  // namespace
}  // namespace ride::task

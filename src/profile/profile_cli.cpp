#include "profile/profile_cli.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/parse.h"
#include "profile/fit.h"

namespace ride::profile {
namespace {

constexpr const char* kUsage =
    "usage: ride profile --task NAME [options]\n"
    "  Runs NAME through the framework (scripts/ride-mpirun) on --streams synthetic streams at\n"
    "  each frame rate, measures the worker ranks' CPU (cores) and memory per stream, fits\n"
    "  CPU = a*fps + b and memory = constant (CAM² Sec. 4.2) and appends\n"
    "  program,width,height,cpu_per_fps,cpu_base,mem_gb to the requirements CSV.\n"
    "options:\n"
    "  --task NAME           task to profile ('ride tasks' lists them)\n"
    "  --program NAME        name in the CSV (default: the task name)\n"
    "  --params.K=V          task parameters, as for ride run\n"
    "  --width W --height H  frame size (default 640 x 480)\n"
    "  --streams N           streams per run (default 4)\n"
    "  --inputs LIST|@FILE   profile on real inputs instead of synthetic frames (ingest.inputs:\n"
    "                        video files, image folders, HDF5, cameras; files loop); one stream\n"
    "                        per input, width and height taken from the first input\n"
    "  --fps LIST            frame rates per stream, comma-separated (default 1,2,5,10)\n"
    "  --duration-s S        seconds per run (default 8)\n"
    "  --np N                MPI ranks per run (default 4: master, broker, ingest, 1 worker)\n"
    "  --out FILE            requirements CSV to append to (default requirements.csv)\n"
    "  --work DIR            where runs leave summaries and logs (default: a temporary dir)\n"
    "  --mpirun PATH         the launcher (default: scripts/ride-mpirun beside the build)\n";

struct Options {
  std::string task, program, out = "requirements.csv", work, mpirun, inputs;
  std::vector<std::string> params;
  int width = 640, height = 480, streams = 4, np = 4;
  std::vector<double> fps{1, 2, 5, 10};
  double duration_s = 8;
};

double number(const std::string& flag, const std::string& v) {
  const double d = whole_double(v).value_or(0);
  if (!(d > 0)) {
    throw ConfigError(flag + ": expected a positive number, got '" + v + "'");
  }
  return d;
}

Options parse(const std::vector<std::string>& args) {
  Options o;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string a = args[i], v;
    if (a.rfind("--params.", 0) == 0) {
      o.params.push_back(a);
      continue;
    }
    if (const auto eq = a.find('='); eq != std::string::npos && a.rfind("--", 0) == 0) {
      v = a.substr(eq + 1);
      a = a.substr(0, eq);
    } else if (i + 1 < args.size()) {
      v = args[++i];
    } else {
      throw ConfigError(a + " needs a value (see ride profile --help)");
    }
    if (a == "--task") o.task = v;
    else if (a == "--program") o.program = v;
    else if (a == "--out") o.out = v;
    else if (a == "--work") o.work = v;
    else if (a == "--mpirun") o.mpirun = v;
    else if (a == "--inputs") o.inputs = v;
    else if (a == "--width") o.width = static_cast<int>(number(a, v));
    else if (a == "--height") o.height = static_cast<int>(number(a, v));
    else if (a == "--streams") o.streams = static_cast<int>(number(a, v));
    else if (a == "--np") o.np = static_cast<int>(number(a, v));
    else if (a == "--duration-s") o.duration_s = number(a, v);
    else if (a == "--fps") {
      o.fps.clear();
      std::stringstream list(v);
      for (std::string f; std::getline(list, f, ',');) o.fps.push_back(number(a, f));
    } else {
      throw ConfigError("unknown option '" + a + "' (see ride profile --help)");
    }
  }
  if (o.task.empty()) throw ConfigError("--task is required (see ride profile --help)");
  if (o.program.empty()) o.program = o.task;
  if (o.np < 4) throw ConfigError("--np: at least 4 ranks (master, broker, ingest, worker)");
  std::sort(o.fps.begin(), o.fps.end());
  o.fps.erase(std::unique(o.fps.begin(), o.fps.end()), o.fps.end());
  if (o.fps.size() < 2) throw ConfigError("--fps: at least two different frame rates to fit a line");
  return o;
}

/// Runs argv with stdout and stderr to `log`; returns its exit code.
int run(const std::vector<std::string>& argv, const std::string& log) {
  const pid_t pid = fork();
  RIDE_EXPECTS(pid >= 0, "fork failed");
  if (pid == 0) {
    const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    std::vector<char*> c;
    for (const auto& a : argv) c.push_back(const_cast<char*>(a.c_str()));
    c.push_back(nullptr);
    execvp(c[0], c.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

struct Point {
  double fps = 0, cores = 0, mem_gb = 0, achieved_fps = 0;
  bool kept_up = false;
};

}  // namespace

int profile_main(const std::vector<std::string>& args, const std::string& self, std::ostream& out,
                 std::ostream& err) {
  if (std::find(args.begin(), args.end(), "--help") != args.end() ||
      std::find(args.begin(), args.end(), "-h") != args.end()) {
    out << kUsage;
    return 0;
  }
  Options o;
  try {
    o = parse(args);
  } catch (const ConfigError& e) {
    err << "ride profile: " << e.what() << "\n";
    return 2;
  }
  namespace fs = std::filesystem;
  if (o.mpirun.empty()) {
    if (const char* env = std::getenv("RIDE_MPIRUN")) o.mpirun = env;
    else o.mpirun = (fs::path(self).parent_path() / ".." / "scripts" / "ride-mpirun").lexically_normal().string();
  }
  if (o.work.empty()) {
    char tmpl[] = "/tmp/ride-profile.XXXXXX";
    RIDE_EXPECTS(mkdtemp(tmpl) != nullptr, "cannot create a work directory");
    o.work = tmpl;
  }
  fs::create_directories(o.work);
  setenv("RIDE", self.c_str(), 1);
  if (o.inputs.empty())
    out << "ride profile: task " << o.task << ", " << o.streams << " stream(s) of " << o.width << "x" << o.height;
  else
    out << "ride profile: task " << o.task << " on the inputs " << o.inputs;
  out << ", " << o.duration_s << " s per run, " << o.np << " ranks; runs in " << o.work << "\n";
  out << "     fps   cores/stream   MB/stream   achieved fps/stream\n";
  std::vector<Point> points;
  for (double f : o.fps) {
    std::ostringstream tag;
    tag << "fps_" << f;
    const std::string base = (fs::path(o.work) / tag.str()).string();
    std::vector<std::string> argv{o.mpirun, "--oversubscribe", "-np", std::to_string(o.np), "--",
                                  "--job.mode=stream", "--job.spares=0",
                                  "--task.name=" + o.task,
                                  "--ingest.partitioning=key",
                                  "--ingest.fps=" + std::to_string(f),
                                  "--ingest.duration_s=" + std::to_string(o.duration_s),
                                  "--output.path=" + base + ".h5", "--summary", base + ".json"};
    if (o.inputs.empty()) {
      for (const std::string& kv : {"--ingest.streams=" + std::to_string(o.streams),
                                    "--ingest.width=" + std::to_string(o.width),
                                    "--ingest.height=" + std::to_string(o.height)})
        argv.push_back(kv);
    } else {  // real frames: files start over so every rate runs for the whole duration
      for (const std::string& kv : {std::string("--ingest.source=video"), "--ingest.inputs=" + o.inputs,
                                    std::string("--ingest.loop=true")})
        argv.push_back(kv);
    }
    argv.insert(argv.end(), o.params.begin(), o.params.end());
    const int rc = run(argv, base + ".log");
    if (rc != 0) {
      err << "ride profile: the run at " << f << " fps failed (exit " << rc << "); see " << base
          << ".log\n";
      return 1;
    }
    std::ifstream in(base + ".json");
    const auto s = nlohmann::json::parse(in);
    // The run's own account of what one stream needed (the summary's `resources`).
    const auto& r = s.at("resources");
    Point p;
    p.fps = f;
    p.cores = r.at("cores_per_stream").get<double>();
    p.mem_gb = r.at("mem_gb_per_stream").get<double>();
    p.achieved_fps = r.at("processed_fps_per_stream").get<double>();
    if (!o.inputs.empty()) {  // the size the inputs really have (the first one's)
      o.width = r.at("width").get<int>();
      o.height = r.at("height").get<int>();
    }
    // A run that could not keep up measures saturation, not the need at that rate.
    p.kept_up = s.at("frames").at("lost").get<double>() == 0 && p.achieved_fps >= 0.9 * f;
    out << std::fixed << std::setprecision(2) << std::setw(8) << f << std::setw(15)
        << std::setprecision(4) << p.cores << std::setw(12) << std::setprecision(1)
        << p.mem_gb * 1000 << std::setw(15) << std::setprecision(2) << p.achieved_fps
        << (p.kept_up ? "" : "   (did not keep up: left out of the fit)") << "\n";
    points.push_back(p);
  }
  std::vector<double> xs, ys;
  double mem = 0;
  for (const auto& p : points) {
    if (!p.kept_up) continue;
    xs.push_back(p.fps);
    ys.push_back(p.cores);
    mem = std::max(mem, p.mem_gb);
  }
  LinearFit fit;
  try {
    fit = fit_linear(xs, ys);
  } catch (const Error& e) {
    err << "ride profile: " << e.what() << " that the machine kept up with; lower --fps or "
        << "--streams\n";
    return 1;
  }
  // A negative intercept or slope is measurement noise around zero, not a credit.
  fit.a = std::max(0.0, fit.a);
  fit.b = std::max(0.0, fit.b);
  out << std::setprecision(6) << "fit: cores per stream = " << fit.a << " * fps + " << fit.b
      << " (R^2 " << std::setprecision(3) << fit.r2 << "); memory per stream " << std::setprecision(4)
      << mem << " GB (the largest measured)\n";
  const bool fresh = !fs::exists(o.out) || fs::file_size(o.out) == 0;
  std::ofstream csv(o.out, std::ios::app);
  if (!csv) {
    err << "ride profile: cannot write " << o.out << "\n";
    return 1;
  }
  if (fresh) csv << "program,width,height,cpu_per_fps,cpu_base,mem_gb\n";
  csv << std::setprecision(6) << std::defaultfloat << o.program << "," << o.width << "," << o.height
      << "," << fit.a << "," << fit.b << "," << mem << "\n";
  out << "appended to " << o.out << "\n";
  return 0;
}

}  // namespace ride::profile

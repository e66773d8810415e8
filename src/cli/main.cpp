/// ride: the command-line entry point. `ride run` is one MPI job (every rank runs this binary);
/// other subcommands need no launcher.
#include <malloc.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "broker/broker.h"
#include "core/config.h"
#include "core/error.h"
#include "core/role_layout.h"
#include "ingest/ingest_role.h"
#include "ingest/video_source.h"
#include "kernels/common/cuda_device.h"
#include "kernels/stddev/stddev.h"
#include "master/master.h"
#include "master/sink.h"
#include "plan/plan_cli.h"
#include "profile/profile_cli.h"
#include "task/pipeline.h"
#include "task/registry.h"
#include "transport/transport.h"
#include "worker/worker.h"

namespace {

constexpr const char* kUsage =
    "usage: ride <command> [options]\n"
    "\n"
    "commands:\n"
    "  run [--config FILE] [--summary PATH] [--section.key=value ...]\n"
    "        run a job; launch under mpirun --enable-recovery (ride run --help lists every key)\n"
    "  profile --task NAME [--fps 1,2,5] [--streams N] [--width W --height H] [--out CSV]\n"
    "        measure a task's CPU and memory per stream through real jobs, fit CPU = a*fps + b,\n"
    "        append to a requirements CSV (ride profile --help)\n"
    "  plan --requirements CSV --scenario CSV [--catalog CSV] [--strategy st1..st5]\n"
    "       [--solver ffod|exact|hybrid] [--target-util 0.7] [--json F] [--csv F] [--sbatch F]\n"
    "        size the cheapest allocation for a scenario (CAM²; ride plan --help)\n"
    "  tasks [--task.library=PATHS]\n"
    "        list the tasks (built-in and from task libraries) with their parameters\n"
    "  version   print the version\n";

/// Under `mpirun --enable-recovery` mpirun exits 0 whatever the ranks return, even after
/// MPI_Abort (measured on Open MPI 4.1.4), so rank 0 also leaves the job's exit code in
/// $RIDE_EXIT_FILE when set; scripts/ride-mpirun reads it back and exits with it.
int report_exit(int rank, int code) {
  if (rank != 0) return code;
  if (const char* path = std::getenv("RIDE_EXIT_FILE"); path && *path) {
    std::ofstream(path) << code << "\n";
  }
  return code;
}

/// The running executable (what a replenished spare is spawned as); argv0 if /proc is missing.
std::string self_exe(const char* argv0) {
  std::error_code ec;
  auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string(argv0) : p.string();
}

/// `ride tasks [--task.library=PATHS]`: the built-in tasks and those of the given libraries.
int list_tasks(int argc, char** argv) {
  std::vector<std::string> args(argv + 2, argv + argc);
  try {
    bool help = false;
    const ride::JobConfig cfg = ride::parse_job_config(args, &help);
    if (help) {
      std::cout << "usage: ride tasks [--task.library=PATH[,PATH...]] [--config FILE]\n";
      return 0;
    }
    std::cout << ride::task::describe_tasks(ride::task::registry_for(cfg));
    return 0;
  } catch (const ride::ConfigError& e) {
    std::cerr << "ride: configuration error: " << e.what() << std::endl;
    return 2;
  }
}

/// Every rank says whether it has a CUDA device (one collective at start-up); a stage with
/// device = gpu whose initial group includes a rank without one is a configuration error.
void check_gpu_stages(const ride::JobConfig& cfg, const ride::RoleLayout& layout, ride::transport::Transport& net) {
  bool any_gpu_stage = false;
  for (const auto& st : cfg.stages) any_gpu_stage = any_gpu_stage || st.device == ride::DeviceChoice::gpu;
  if (!any_gpu_stage || net.spawned()) return;
  const std::vector<int> has = net.allgather_int(ride::kernels::cuda_device_count() > 0 ? 1 : 0);
  for (std::size_t i = 0; i < layout.workers.size(); ++i) {
    const auto& st = cfg.stages[static_cast<std::size_t>(layout.worker_stage[i])];
    const int r = layout.workers[i];
    if (st.device == ride::DeviceChoice::gpu && r < static_cast<int>(has.size()) && !has[static_cast<std::size_t>(r)]) {
      throw ride::ConfigError("bad value for " + cfg.where(st.key("device")) + ": rank " + std::to_string(r) +
                              ", a worker of stage '" + st.name + "', has no usable CUDA device" +
                              (ride::kernels::cuda_compiled() ? "" : " (this build has no CUDA)") +
                              "; use device = auto to fall back to the CPU");
    }
  }
}

int run_job(int argc, char** argv) {
  std::vector<std::string> args(argv + 2, argv + argc);
  bool help = false;
  // Parse before MPI starts so --help works without a launcher; a bad config is reported by
  // rank 0 only (every rank finds the same error and exits non-zero on its own: no hang).
  ride::JobConfig cfg;
  std::string config_error;
  try {
    cfg = ride::parse_job_config(args, &help);
  } catch (const ride::ConfigError& e) {
    config_error = e.what();
  }
  if (help) {
    std::cout << ride::job_config_help();
    return 0;
  }
  ride::transport::Transport net(&argc, &argv);
  net.join_if_spawned();  // a spare spawned by ft.replenish
  const bool speaker = net.rank() == 0;
  if (!config_error.empty()) {
    if (speaker) std::cerr << "ride: configuration error: " << config_error << std::endl;
    net.finalize(report_exit(net.rank(), 2));
    return 2;
  }
  ride::RoleLayout layout;
  try {
    // A spawned spare lays the job out as its parents do: net.size() is their world size.
    layout = ride::compute_role_layout(cfg, net.size());
    // Every rank resolves the stages' tasks (loading task libraries) before roles start: a bad
    // task name, parameter, library, partitioning or `forward` is a configuration error,
    // reported once by rank 0.
    const ride::task::Pipeline pipeline(ride::task::registry_for(cfg), cfg, layout);
    for (const auto& st : pipeline.all()) ride::task::check_task_params(st.task, cfg, *st.cfg);
    // Real inputs need the video module; say so now, once, rather than from the ingest rank.
    if (cfg.source == ride::InputSource::video) ride::ingest::check_video_module(cfg.where("ingest.source"));
    // A stage on GPUs needs one on every host its group starts on (stage.NAME.device = gpu);
    // auto falls back to the CPU and says so (the worker).
    check_gpu_stages(cfg, layout, net);
  } catch (const ride::ConfigError& e) {
    config_error = e.what();
  }
  if (!config_error.empty()) {
    if (speaker) std::cerr << "ride: configuration error: " << config_error << std::endl;
    net.finalize(report_exit(net.rank(), 2));
    return 2;
  }
  // Checks only rank 0 can make (its port, its disk): a ConfigError there is one every rank
  // hears of (and exits on, code 2) before the roles start. False when the job must end.
  auto rank0_check = [&](const auto& check) {
    int failed = 0;
    if (speaker) {
      try {
        check();
      } catch (const ride::ConfigError& e) {
        config_error = e.what();
        failed = 1;
      }
    }
    if (net.allgather_int(failed).at(0) == 0) return true;
    if (speaker) std::cerr << "ride: configuration error: " << config_error << std::endl;
    net.finalize(report_exit(net.rank(), 2));
    return false;
  };
  // Rank 0 binds the status server now: a port in use is a configuration error.
  if (cfg.status_listen != "off" && !net.spawned() && !rank0_check([&] { ride::open_status_server(cfg); })) return 2;
  // job.resume: rank 0 checks that the journal is there and is this job's (it is on rank 0's
  // disk), so a wrong resume ends the job before anything starts.
  if (cfg.resume_mode != ride::ResumeMode::off && !net.spawned() && !rank0_check([&] {
        if (cfg.resume_mode == ride::ResumeMode::automatic) {  // a requeued job resumes, a first attempt starts afresh
          const std::string journal = ride::journal_path(cfg.results_path);
          cfg.resume = std::filesystem::exists(journal);
          std::cout << "[ride] job.resume = auto: "
                    << (cfg.resume ? "resuming from " + journal : "no journal at " + journal + "; a fresh run")
                    << std::endl;
        }
        ride::check_resume(cfg);
      })) {
    return 2;
  }
  const ride::Role role = net.spawned() ? ride::Role::spare : layout.role_of(net.rank());
  ride::RoleContext ctx{net, cfg, layout, role, self_exe(argv[0]), args};
  ctx.args.insert(ctx.args.begin(), "run");
  if (cfg.replenish > 0 && !net.spawned() &&
      (role == ride::Role::master || role == ride::Role::broker)) {
    // Master and brokers form the group that spawns replacement spares together (a spare
    // talks to both); formed now, while every member is alive.
    std::vector<int> members{0};
    members.insert(members.end(), layout.brokers.begin(), layout.brokers.end());
    net.open_control_group(members);
  }
  if (role == ride::Role::master || layout.replication > 1 || layout.ingest.size() > 1 ||
      (role == ride::Role::broker && cfg.stages.size() > 1)) {
    // The job goes on after the sender of a half-received message dies: the master always; with
    // replicated partitions (#14) every rank, since a broker's death is survived then (a worker
    // fetching, a follower replicating from it); with several ingest ranks, the brokers (one may
    // die mid-frame); in a job of several stages, the brokers, which take the frames workers
    // send on (a worker SIGKILLed mid-send left a broker stuck in its receive:
    // mpi.pipeline.kill_stage1_worker). Receives never block on a sender.
    net.tolerate_dying_senders(true);
  }
  if (role != ride::Role::master) {
    // A rank blocked in a receive from a sender that died mid-message (without replication,
    // only a broker or ingest rank's death can do that, which ends the job anyway) must not
    // hang: it gives up here.
    net.start_watchdog(std::max(10.0, 20 * cfg.heartbeat_timeout_ms / 1000.0), 4);
  }
  int code = 1;
  try {
    switch (role) {
      case ride::Role::master: code = report_exit(0, ride::run_master(ctx)); break;
      case ride::Role::broker: code = ride::run_broker(ctx); break;
      case ride::Role::ingest: code = ride::run_ingest(ctx); break;
      case ride::Role::worker: code = ride::run_worker(ctx); break;
      case ride::Role::spare: code = ride::run_spare(ctx); break;
    }
  } catch (const ride::DeviceLost& e) {
    // A sticky CUDA error: this rank can compute nothing more. It ends at once, like a crashed
    // process; the master notices the silence and moves its partitions (nothing is lost: the
    // uncommitted frames are fetched again by the new owner).
    std::cerr << "ride: rank " << net.rank() << " (" << ride::to_string(role) << "): " << e.what()
              << "; exiting so that a healthy rank takes over" << std::endl;
    std::_Exit(5);
  } catch (const ride::MasterLost& e) {
    std::cerr << "ride: rank " << net.rank() << " (" << ride::to_string(role) << "): " << e.what()
              << "; exiting" << std::endl;
    net.note_peers_lost();  // the master is gone: MPI_Finalize would wait for it
    code = 3;
  } catch (const std::exception& e) {
    std::cerr << "ride: rank " << net.rank() << " (" << ride::to_string(role)
              << ") failed: " << e.what() << std::endl;
    if (role == ride::Role::master) {
      report_exit(0, 1);
      net.abort(1);  // nobody else can end the job cleanly
    }
    ride::send_error(ctx, e.what());
    code = 1;
  }
  net.finalize(code);
  if (role == ride::Role::master) ride::linger_status_server(cfg.status_linger_s);  // after MPI
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  // Frames of 128-256 KB come from malloc (larger ones from core/frame_allocator): keep them on
  // the heap instead of a fresh mmap per frame, which cost page faults and kernel zeroing.
  mallopt(M_MMAP_THRESHOLD, 256 << 20);
  mallopt(M_TRIM_THRESHOLD, 64 << 20);
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
    std::cout << kUsage;
    return argc < 2 ? 2 : 0;
  }
  const std::string cmd = argv[1];
  if (cmd == "run") return run_job(argc, argv);
  if (cmd == "tasks") return list_tasks(argc, argv);
  if (cmd == "plan") {
    return ride::plan::plan_main(std::vector<std::string>(argv + 2, argv + argc), std::cout,
                                 std::cerr);
  }
  if (cmd == "profile") {
    return ride::profile::profile_main(std::vector<std::string>(argv + 2, argv + argc),
                                       self_exe(argv[0]), std::cout, std::cerr);
  }
  if (cmd == "version" || cmd == "--version") {
    std::cout << "ride 0.1.0 (" << RIDE_GIT_COMMIT << ")\n"
              << "cuda: " << (ride::kernels::cuda_compiled() ? "compiled" : "not compiled") << ", "
              << ride::kernels::cuda_device_count() << " device(s)\n";
    const std::string video = ride::ingest::video_module_path();
    std::error_code ec;
    std::cout << "video inputs: module " << video
              << (std::filesystem::is_regular_file(video, ec) ? "" : " (missing: ingest.source = video will not run)")
              << "\n";
    return 0;
  }
  std::cerr << "ride: unknown command '" << cmd << "'\n" << kUsage;
  return 2;
}

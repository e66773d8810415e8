/// Checks a finished `ride run` from the outside: the summary's counts, and every result row
/// against an independent recomputation. The frames are regenerated from (seed, stream,
/// sequence); the filter is recomputed from exact integer window sums (its own border code,
/// support/stddev_reference.h, the kernel tests' reference too), so a bug in the optimised kernel
/// or in the plumbing cannot hide.
///
/// usage: verify_run SUMMARY.json RESULTS.h5 EXPECTED_RANKS [options]
///   --allow-dropped          rows dropped by a drop policy are expected (and must be counted)
///   --expect-spill           the brokers must have spilled, and removed every spill file after
///   --max-broker-rss-mb N    every broker's peak resident memory, above what it held before
///                            its first frame (libraries, MPI), must stay below N MB
///   --expect-backpressure    ingest or brokers must report time spent in backpressure
///   --expect-replicated      every frame was sent to a follower broker and stored there (topic.replication 2)
///   --expect-batched N       small frames traveled several to a message (#15): every frame ingest
///                            published went in a PRODUCE_BATCH, at least N frames per batch on
///                            average, and fetch replies sent their frames several to a message
///                            (uncopied runs of a stored batch, or copied inline)
///   --expect-runs            some fetch replies sent the frames of one ingest batch uncopied, as
///                            runs (with --expect-batched)
///   --max-latency-s S        no frame took longer than S from capture to its result (a lone
///                            frame is not held in a batch)
///   --expect-error TEXT      the run must fail with an error containing TEXT (frames that were
///                            refused are allowed; none that was accepted may be lost)
///   --expect-failures N      the summary must list N failed ranks, each recovered
///   --expect-replenished N   N spares were spawned (ft.replenish), each started and reported
///   --expect-datasets ROOTS  every processed frame has /<root>/<stream>/<sequence> in the
///                            results file, for each comma-separated root (images, keypoints,
///                            boxes)
///   --checksums-only         frames are proven by their checksums, the filter's values are not
///                            recomputed (RIDE's 621 MB frames: the checksum suffices)
///   --expect-scaling ACTIONS the summary's scaling events include each comma-separated action
///                            (grow, shrink, move) in this order; every event is complete
///                            (t_s, action, worker, partitions, reason; grow: first_commit_after_s)
///   --max-scaling-events N   at most N grow/shrink events (no flapping)
///   --check-threshold LEVEL  the example task library's scalar (percentage of pixels above
///                            LEVEL) is recomputed for every frame
///   --max-recovery-s S       ... each with frames flowing again within S seconds
///   --expect-unreachable N   ingest.source = video: exactly N inputs were never reached
///   --min-live-frames N      ingest.source = video: every reachable live input published >= N
///
/// With ingest.source = video, the frames of every *file* input are decoded here again with
/// OpenCV (the same conversion to gray): each file's frame count is what must have been
/// ingested, and each result is checked against its decoded frame (checksum; stddev values).
/// Live inputs cannot be replayed: their count is what ingest reports, checked for gaps.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include <hdf5.h>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include "codec/jpeg.h"
#include "core/checksum.h"
#include "core/inputs.h"
#include "core/config.h"
#include "ingest/synthetic_source.h"
#include "sink/result_store.h"
#include "support/stddev_reference.h"

namespace {

int failures = 0;
#define CHECK(cond, what)                                          \
  do {                                                             \
    if (!(cond)) {                                                 \
      if (failures++ < 20) std::cerr << "FAIL: " << what << "\n";  \
    }                                                              \
  } while (0)

/// The frames of an HDF5 replay input, as ingest reads them: an 8-bit dataset (n, h, w) or
/// (n, h, w, 1|3 BGR); empty when it cannot be read.
std::vector<cv::Mat> read_hdf5_frames(const std::string& path, const std::string& dataset) {
  std::vector<cv::Mat> out;
  const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (f < 0) return out;
  const hid_t d = H5Dopen2(f, dataset.c_str(), H5P_DEFAULT);
  if (d >= 0) {
    const hid_t space = H5Dget_space(d);
    hsize_t dims[4] = {0, 0, 0, 1};
    const int rank = H5Sget_simple_extent_ndims(space);
    if (rank == 3 || rank == 4) {
      H5Sget_simple_extent_dims(space, dims, nullptr);
      const int h = static_cast<int>(dims[1]), w = static_cast<int>(dims[2]), c = rank == 4 ? static_cast<int>(dims[3]) : 1;
      std::vector<unsigned char> all(static_cast<std::size_t>(dims[0]) * h * w * c);
      if (H5Dread(d, H5T_NATIVE_UCHAR, H5S_ALL, H5S_ALL, H5P_DEFAULT, all.data()) >= 0) {
        for (hsize_t i = 0; i < dims[0]; ++i) {
          cv::Mat one(h, w, c == 3 ? CV_8UC3 : CV_8UC1, all.data() + i * static_cast<std::size_t>(h) * w * c);
          out.push_back(one.clone());
        }
      }
    }
    H5Sclose(space);
    H5Dclose(d);
  }
  H5Fclose(f);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::cerr << "usage: verify_run SUMMARY.json RESULTS.h5 EXPECTED_RANKS [options]\n";
    return 2;
  }
  const std::string summary_path = argv[1], results_path = argv[2];
  const int expected_ranks = std::stoi(argv[3]);
  bool allow_dropped = false, expect_spill = false, expect_backpressure = false, checksums_only = false;
  bool expect_replicated = false, expect_resumed = false;
  double expect_batched = 0, max_latency_s = 0;
  bool expect_runs = false;
  double max_rss_mb = 0, max_recovery_s = 0;
  int expect_failures = 0, expect_replenished = 0, check_threshold = -1, expect_unreachable = -1;
  std::uint64_t min_live_frames = 0;
  std::string served_dir;        // live cameras: every JPEG the camera server served, <id>_<slot>.jpg
  double min_eta = -1;           // summary ingest.eta at least this
  int max_ingest_threads = -1;   // summary ingest.threads at most this
  std::string expect_datasets, expect_scaling;
  int max_scaling_events = -1;
  std::string expect_error;
  for (int i = 4; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--allow-dropped") allow_dropped = true;
    else if (a == "--expect-spill") expect_spill = true;
    else if (a == "--checksums-only") checksums_only = true;
    else if (a == "--expect-scaling" && i + 1 < argc) expect_scaling = argv[++i];
    else if (a == "--max-scaling-events" && i + 1 < argc) max_scaling_events = std::stoi(argv[++i]);
    else if (a == "--expect-backpressure") expect_backpressure = true;
    else if (a == "--expect-replicated") expect_replicated = true;
    else if (a == "--expect-batched" && i + 1 < argc) expect_batched = std::stod(argv[++i]);
    else if (a == "--max-latency-s" && i + 1 < argc) max_latency_s = std::stod(argv[++i]);
    else if (a == "--expect-runs") expect_runs = true;
    else if (a == "--expect-resumed") expect_resumed = true;  // job.resume kept some keys, not all
    else if (a == "--max-broker-rss-mb" && i + 1 < argc) max_rss_mb = std::stod(argv[++i]);
    else if (a == "--expect-error" && i + 1 < argc) expect_error = argv[++i];
    else if (a == "--expect-failures" && i + 1 < argc) expect_failures = std::stoi(argv[++i]);
    else if (a == "--expect-replenished" && i + 1 < argc) expect_replenished = std::stoi(argv[++i]);
    else if (a == "--check-threshold" && i + 1 < argc) check_threshold = std::stoi(argv[++i]);
    else if (a == "--expect-datasets" && i + 1 < argc) expect_datasets = argv[++i];
    else if (a == "--max-recovery-s" && i + 1 < argc) max_recovery_s = std::stod(argv[++i]);
    else if (a == "--expect-unreachable" && i + 1 < argc) expect_unreachable = std::stoi(argv[++i]);
    else if (a == "--min-live-frames" && i + 1 < argc) min_live_frames = std::stoull(argv[++i]);
    else if (a == "--served-jpegs" && i + 1 < argc) served_dir = argv[++i];
    else if (a == "--min-eta" && i + 1 < argc) min_eta = std::stod(argv[++i]);
    else if (a == "--max-ingest-threads" && i + 1 < argc) max_ingest_threads = std::stoi(argv[++i]);
    else {
      std::cerr << "verify_run: unknown option " << a << "\n";
      return 2;
    }
  }
  nlohmann::json s;
  try {
    std::ifstream(summary_path) >> s;
  } catch (const std::exception& e) {
    std::cerr << "FAIL: cannot read summary " << summary_path << ": " << e.what() << "\n";
    return 1;
  }
  const ride::ResultFile rf = ride::read_results(results_path);
  // The job's own configuration, as it ran, is stored in the results file.
  const std::string ini = results_path + ".config.ini";
  std::ofstream(ini) << rf.attributes.at("config");
  const ride::JobConfig cfg = ride::parse_job_config({"--config", ini});
  const int window = cfg.params.count("window") ? std::stoi(cfg.params.at("window")) : 5;
  std::remove(ini.c_str());

  const auto& f = s.at("frames");
  // Frames each stream must have: synthetic = frames_per_stream; video = each file decoded here
  // again (its pixels kept for the value checks), each live input as ingest reports it.
  std::map<std::uint32_t, std::uint64_t> per_stream;
  std::map<std::uint32_t, std::vector<cv::Mat>> decoded;
  if (cfg.source == ride::InputSource::video) {
    const auto specs = ride::ingest::parse_inputs(cfg.inputs, "ingest.inputs");
    CHECK(s.contains("inputs") && s.at("inputs").size() == specs.size(),
          "summary 'inputs' lists " << (s.contains("inputs") ? s.at("inputs").size() : 0) << " of " << specs.size());
    int unreachable = 0;
    for (std::size_t k = 0; k < specs.size() && k < s.at("inputs").size(); ++k) {
      const auto& in = s.at("inputs")[k];
      const auto stream = static_cast<std::uint32_t>(k);
      // job.resume: the frames the resumed run had finished count as this input's too.
      const auto published = in.at("frames_published").get<std::uint64_t>() + in.value("frames_resumed", std::uint64_t{0});
      const std::string state = in.at("state").get<std::string>();
      if (state == "unreachable") ++unreachable;
      if (k < 10 || (state != "ended" && state != "stopped")) {
        std::cout << "verify_run: input " << k << " (" << specs[k].url << "): " << state << ", "
                  << published << " frames published\n";
      }
      if (specs[k].live) {
        per_stream[stream] = published;
        if (state != "unreachable") {
          CHECK(published >= min_live_frames, "live input " << k << " published " << published << " < " << min_live_frames);
        }
        continue;
      }
      cv::Mat m, g;
      auto keep = [&] {
        if (cfg.color == ride::ColorMode::gray) cv::cvtColor(m, g, cv::COLOR_BGR2GRAY);
        else g = m;
        if (cfg.jpeg_encode > 0) {
          // ingest.jpeg_encode: ingest sent the frame as its JPEG at that quality and the worker
          // decoded it; libjpeg encodes and decodes deterministically, so the same round trip
          // here gives the worker's pixels.
          const cv::Mat c = g.isContinuous() ? g : g.clone();
          const auto jpeg = ride::codec::jpeg_encode(reinterpret_cast<const std::byte*>(c.data), c.cols, c.rows,
                                                     c.channels(), cfg.jpeg_encode);
          cv::Mat back(c.rows, c.cols, c.type());
          ride::codec::JpegInfo info;
          std::string error;
          CHECK(ride::codec::jpeg_decode(jpeg, c.channels(), reinterpret_cast<std::byte*>(back.data), back.total() * back.elemSize(),
                                         info, error), "a frame encoded here does not decode: " << error);
          g = back;
        }
        decoded[stream].push_back(g.clone());
      };
      auto room = [&] { return cfg.frames == 0 || decoded[stream].size() < cfg.frames; };
      if (std::filesystem::is_directory(specs[k].url)) {  // image folder: image files in name order
        std::vector<std::filesystem::path> files;
        for (const auto& e : std::filesystem::directory_iterator(specs[k].url)) {
          if (e.is_regular_file() && ride::ingest::is_image_file_name(e.path().filename().string()))
            files.push_back(e.path());
        }
        std::sort(files.begin(), files.end());
        std::uint64_t bad = 0;
        for (const auto& file : files) {
          if (!room()) break;
          std::string ext = file.extension().string();
          for (auto& ch : ext) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
          if (ext == ".jpg" || ext == ".jpeg") {
            // ride decodes JPEG files as it decodes cameras' JPEGs (libjpeg straight to gray or BGR,
            // no EXIF rotation), with ingest.encoding raw or jpeg alike: OpenCV's own decode of the
            // file, asked for the same, gives the same pixels.
            // (OpenCV fills a truncated JPEG in with gray; ride refuses one: no end-of-image marker.)
            std::ifstream jf(file, std::ios::binary);
            std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(jf)), std::istreambuf_iterator<char>());
            bool whole = false;
            for (std::size_t end = bytes.size(), n = 0; n < 16 && end >= 2; ++n, --end)
              if (bytes[end - 2] == 0xFF && bytes[end - 1] == 0xD9) whole = true;
            if (whole)
              m = cv::imdecode(bytes, (cfg.color == ride::ColorMode::gray ? cv::IMREAD_GRAYSCALE : cv::IMREAD_COLOR) |
                                          cv::IMREAD_IGNORE_ORIENTATION);
            if (!whole || m.empty()) ++bad;
            else decoded[stream].push_back(m.clone());
            continue;
          }
          m = cv::imread(file.string(), cv::IMREAD_COLOR);
          if (m.empty()) ++bad;
          else keep();
        }
        CHECK(in.value("skipped_files", std::uint64_t{0}) == bad,
              "image folder " << k << ": " << in.value("skipped_files", 0) << " files skipped, " << bad << " do not decode");
      } else if (ride::ingest::is_hdf5_input(specs[k].url)) {  // HDF5 replay: (n, h, w[, 1|3]) uint8, BGR
        const auto [file, dataset] = ride::ingest::split_hdf5_url(specs[k].url);
        std::vector<cv::Mat> frames = read_hdf5_frames(file, dataset);
        CHECK(!frames.empty(), "cannot read HDF5 input " << specs[k].url << " here");
        for (auto& fr : frames) {
          if (!room()) break;
          if (fr.channels() == 1) cv::cvtColor(fr, m, cv::COLOR_GRAY2BGR);
          else m = fr;
          keep();
        }
      } else {
        cv::VideoCapture cap(specs[k].url, cv::CAP_FFMPEG);
        CHECK(cap.isOpened(), "cannot decode file input " << specs[k].url << " here");
        while (room() && cap.read(m)) keep();
      }
      if (cfg.loop) {  // the input started over: frame k is the file's frame k mod its length
        per_stream[stream] = published;
        CHECK(published > decoded[stream].size(), "looping input " << k << " published " << published
                                                   << " frames, not more than its " << decoded[stream].size());
        CHECK(in.value("loops", 0) >= 1, "looping input " << k << " reports no loop");
      } else {
        per_stream[stream] = decoded[stream].size();
        CHECK(published == decoded[stream].size(), "file input " << k << ": ingest published " << published
                                                   << " frames, the file has " << decoded[stream].size());
      }
    }
    if (expect_unreachable >= 0) {
      CHECK(unreachable == expect_unreachable, unreachable << " inputs unreachable, expected " << expect_unreachable);
    }
  } else {
    for (int k = 0; k < cfg.streams; ++k) per_stream[static_cast<std::uint32_t>(k)] = cfg.frames_per_stream();
  }
  std::uint64_t planned = 0;
  for (const auto& [k, n] : per_stream) planned += n;
  const std::uint64_t refused = f.value("refused", std::uint64_t{0});
  const std::uint64_t ingested = f.at("ingested").get<std::uint64_t>();
  const std::uint64_t dropped = f.at("dropped").get<std::uint64_t>();
  if (expect_error.empty()) {
    CHECK(s.at("status") == "ok", "summary status is " << s.at("status") << ": " << s.at("errors"));
    CHECK(refused == 0, "refused " << refused);
  } else {
    CHECK(s.at("status") == "failed", "summary status is " << s.at("status") << ", expected failed");
    bool found = false;
    for (const auto& e : s.at("errors")) found = found || e.get<std::string>().find(expect_error) != std::string::npos;
    CHECK(found, "no error mentions '" << expect_error << "': " << s.at("errors"));
  }
  // Every planned frame is accounted for: ingested, or refused at the door (never silently).
  // An operator who drained the job or paused a stream (POST /control/...) cut the plan short:
  // then what was ingested is all there is to account for.
  bool cut_short = false;
  if (s.contains("control")) {
    cut_short = s.at("control").value("drained", false);
    for (const auto& e : s.at("control").at("log")) {
      const std::string c = e.value("command", "");
      cut_short = cut_short || (e.value("result", "") == "ok" && c.rfind("pause stream", 0) == 0);
    }
  }
  if (cut_short) {
    CHECK(ingested + refused <= planned, "ingested " << ingested << " + refused " << refused << " > " << planned);
    std::cout << "verify_run: an operator cut the inputs short: " << ingested << " of " << planned << " planned frames\n";
  } else {
    CHECK(ingested + refused == planned, "ingested " << ingested << " + refused " << refused << " != " << planned);
  }
  CHECK(f.at("processed").get<std::uint64_t>() + dropped == ingested,
        "processed " << f.at("processed") << " + dropped " << dropped << " != ingested " << ingested);
  CHECK(allow_dropped || dropped == 0, "dropped " << dropped);
  // A resumed run (job.resume) kept the keys its predecessor finished: its own brokers, workers
  // and timeline saw only the rest.
  const std::uint64_t resumed = f.value("resumed", std::uint64_t{0});
  CHECK(resumed <= ingested, "resumed " << resumed << " > ingested " << ingested);
  const std::uint64_t here = ingested - resumed;
  if (expect_resumed) {
    CHECK(resumed > 0 && here > 0, "expected a run resumed mid-way: resumed " << resumed << " of " << ingested);
    CHECK(s.at("resume").is_object() && s.at("resume").at("keys_finished").get<std::uint64_t>() == resumed,
          "summary's resume " << s.at("resume") << " disagrees with frames.resumed " << resumed);
  } else {
    CHECK(resumed == 0, "resumed " << resumed << " in a run that resumed nothing");
  }
  if (resumed > 0) std::cout << "verify_run: resumed run: " << resumed << " keys kept from the run it resumed, " << here << " processed here\n";
  CHECK(f.at("committed").get<std::uint64_t>() == here, "committed " << f.at("committed") << " != ingested " << ingested << " - resumed " << resumed);
  CHECK(f.at("lost") == 0, "lost " << f.at("lost"));
  CHECK(f.at("duplicates") == 0, "duplicates " << f.at("duplicates"));
  const std::uint64_t expected = ingested;

  double peak_rss_mb = 0, peak_spill_mb = 0, start_rss_mb = 0;
  std::uint64_t spilled = 0, spill_left = 0, spill_files_left = 0;
  for (const auto& b : s.at("brokers")) {
    const double start = b.value("start_rss_bytes", 0.0) / 1048576.0;
    const double grown = b.at("peak_rss_bytes").get<double>() / 1048576.0 - start;
    if (grown > peak_rss_mb) start_rss_mb = start;
    peak_rss_mb = std::max(peak_rss_mb, grown);
    peak_spill_mb = std::max(peak_spill_mb, b.at("peak_spill_bytes").get<double>() / 1048576.0);
    for (const auto& p : b.at("partitions")) {
      spilled += p.at("spilled_frames").get<std::uint64_t>();
      spill_left += p.at("spill_bytes").get<std::uint64_t>();
      spill_files_left += p.at("spill_files").get<std::uint64_t>();
    }
  }
  std::cout << "verify_run: brokers peak RSS " << start_rss_mb << " MB at start + " << peak_rss_mb
            << " MB, peak spill " << peak_spill_mb
            << " MB, " << spilled << " frames spilled\n";
  if (expect_spill) {
    CHECK(spilled > 0 && peak_spill_mb > 0, "expected the brokers to spill, they did not");
    CHECK(spill_left == 0 && spill_files_left == 0,
          spill_left << " spill bytes in " << spill_files_left << " files left after the run");
  }
  if (max_rss_mb > 0) {
    CHECK(peak_rss_mb < max_rss_mb, "broker peak RSS " << peak_rss_mb << " MB >= " << max_rss_mb << " MB");
  }
  if (expect_replicated) {  // topic.replication > 1: every frame a leader sent on was stored by its follower
    std::uint64_t out = 0, in = 0;
    for (const auto& b : s.at("brokers")) {
      out += b.value("replicated_frames_out", std::uint64_t{0});
      in += b.value("replicated_frames_in", std::uint64_t{0});
    }
    CHECK(out >= ingested && in == out, "replicated " << out << " frames out, " << in << " in, for " << ingested << " ingested");
    std::cout << "verify_run: " << out << " frames replicated to followers, all stored\n";
  }
  if (expect_batched > 0) {  // ingest.batch_kb, worker.batch_kb, broker.fetch_batch_kb (#15)
    std::uint64_t batches = 0, batched = 0, published = 0, inline_replies = 0, run_replies = 0;
    for (const auto& r : s.at("ingest").at("ranks")) {
      batches += r.value("batches_sent", std::uint64_t{0});
      batched += r.value("frames_batched", std::uint64_t{0});
      published += r.value("accepted", std::uint64_t{0});
    }
    for (const auto& b : s.at("brokers")) {
      inline_replies += b.value("fetch_replies_inline", std::uint64_t{0});
      run_replies += b.value("fetch_replies_in_runs", std::uint64_t{0});
    }
    CHECK(batched == published && batches > 0 && static_cast<double>(batched) >= expect_batched * static_cast<double>(batches),
          batched << " of " << published << " frames went in " << batches << " batches, expected all, >= " << expect_batched << " per batch");
    CHECK(inline_replies + run_replies > 0, "no fetch reply sent its frames several to a message");
    CHECK(!expect_runs || run_replies > 0, "no fetch reply sent its frames as uncopied runs");
    std::cout << "verify_run: " << batched << " frames in " << batches << " batches ("
              << static_cast<double>(batched) / static_cast<double>(std::max<std::uint64_t>(1, batches))
              << " per batch); fetch replies with several frames a message: " << run_replies
              << " as uncopied runs, " << inline_replies << " copied inline\n";
  }
  if (max_latency_s > 0) {
    double worst = 0;
    for (const auto& row : rf.rows) worst = std::max(worst, static_cast<double>(row.processed_ns - row.capture_ns) / 1e9);
    CHECK(worst <= max_latency_s, "a frame took " << worst << " s from capture to its result, allowed " << max_latency_s);
    std::cout << "verify_run: at most " << worst << " s from capture to result\n";
  }
  if (expect_backpressure) {
    const auto& bp = s.at("backpressure");
    CHECK(bp.at("ingest_blocked_s").get<double>() > 0 || bp.at("broker_held_s").get<double>() > 0,
          "expected backpressure, saw none: " << bp);
  }
  const auto& spawned = s.at("replenished");
  CHECK(spawned.size() == static_cast<std::size_t>(expect_replenished),
        "summary lists " << spawned.size() << " spawned spares, expected " << expect_replenished);
  CHECK(s.at("ranks").size() == static_cast<std::size_t>(expected_ranks + expect_replenished),
        "summary lists " << s.at("ranks").size() << " ranks, expected " << expected_ranks << " + "
                         << expect_replenished << " spawned");
  for (const auto& sp : spawned) {
    const int id = sp.at("rank").get<int>();
    bool reported = false;
    for (const char* group : {"workers", "spares"}) {
      for (const auto& w : s.at(group)) reported |= w.at("rank").get<int>() == id;
    }
    std::cout << "verify_run: spare rank " << id << " spawned in " << sp.at("spawn_s") << " s\n";
    CHECK(id >= expected_ranks, "spawned rank " << id << " reuses a world rank");
    CHECK(reported, "spawned spare rank " << id << " sent no final report");
  }
  std::set<std::string> roles;
  for (const auto& r : s.at("ranks")) {
    roles.insert(r.at("role").get<std::string>());
    CHECK(r.at("pid").get<int>() > 0, "rank " << r.at("rank") << " has no pid");
  }
  for (const char* role : {"master", "broker", "ingest", "worker"}) {
    CHECK(roles.count(role), "no rank has role " << role);
  }
  std::uint64_t per_worker = 0;
  for (const auto& w : s.at("workers")) per_worker += w.at("processed").get<std::uint64_t>();
  std::uint64_t worker_dropped = 0;
  for (const auto& w : s.at("workers")) worker_dropped += w.value("dropped", std::uint64_t{0});
  // A killed worker sends no report, and what it processed but never committed is processed
  // again by its successor, so the per-worker sum only adds up without failures.
  // Partitions moved by the scaling policy are likewise re-processed from their committed offset.
  const bool moved = s.contains("scaling") && !s.at("scaling").empty();
  if (expect_failures == 0 && !moved) {
    CHECK(per_worker + worker_dropped == here,
          "workers processed " << per_worker << " + dropped " << worker_dropped << ", expected " << here);
  } else {
    CHECK(per_worker + worker_dropped >= here || expect_failures > 0,
          "workers processed " << per_worker << " + dropped " << worker_dropped << ", fewer than " << here);
  }
  // Scaling events: complete, and the actions expected, in order.
  {
    std::vector<std::string> want;
    std::stringstream ss(expect_scaling);
    for (std::string a; std::getline(ss, a, ',');) want.push_back(a);
    std::size_t next = 0;
    int group_changes = 0;
    for (const auto& e : s.at("scaling")) {
      const std::string action = e.at("action").get<std::string>();
      CHECK(e.at("t_s").is_number() && e.at("worker").is_number() && e.at("partitions").is_array() &&
                !e.at("reason").get<std::string>().empty(),
            "incomplete scaling event " << e);
      if (action == "grow" || action == "shrink") {
        ++group_changes;
        std::cout << "verify_run: " << action << " at " << e.at("t_s") << " s: rank " << e.at("worker") << ", "
                  << e.at("partitions").size() << " partition(s); " << e.at("reason").get<std::string>()
                  << (action == "grow" ? "; first commit after " + e.at("first_commit_after_s").dump() + " s" : "")
                  << "\n";
      }
      if (action == "grow") {
        CHECK(e.contains("first_commit_after_s"), "grow event without first_commit_after_s: " << e);
        CHECK(expect_failures > 0 || e.at("first_commit_after_s").is_number(),
              "the worker of a grow never committed: " << e);
      }
      if (next < want.size() && action == want[next]) ++next;
    }
    CHECK(next == want.size(), "scaling events lack '" << (next < want.size() ? want[next] : "") << "' (expected "
                                                     << expect_scaling << "): " << s.at("scaling"));
    if (max_scaling_events >= 0) {
      CHECK(group_changes <= max_scaling_events,
            group_changes << " grow/shrink events, at most " << max_scaling_events << " allowed (flapping)");
    }
  }
  const auto& listed = s.at("failures");
  CHECK(listed.size() == static_cast<std::size_t>(expect_failures),
        "summary lists " << listed.size() << " failures, expected " << expect_failures << ": " << listed);
  for (const auto& fl : listed) {
    const bool recovered = !fl.at("recovered_after_s").is_null();
    std::cout << "verify_run: failure of rank " << fl.at("rank") << " (" << fl.at("role") << "): "
              << fl.at("cause").get<std::string>() << "; detected after " << fl.at("detected_after_s")
              << " s, frames flowing after " << fl.at("recovered_after_s") << " s, "
              << fl.at("frames_reprocessed") << " re-processed\n";
    CHECK(recovered, "rank " << fl.at("rank") << " failed and its partitions never flowed again");
    if (recovered && max_recovery_s > 0) {
      CHECK(fl.at("recovered_after_s").get<double>() < max_recovery_s,
            "recovery of rank " << fl.at("rank") << " took " << fl.at("recovered_after_s") << " s");
    }
  }
  std::uint64_t timeline_produced = 0, timeline_processed = 0;
  for (const auto& t : s.at("timeline")) {
    timeline_produced += t.at("produced").get<std::uint64_t>();
    timeline_processed += t.at("processed").get<std::uint64_t>();
  }
  CHECK(timeline_produced == here, "timeline produced " << timeline_produced);
  CHECK(timeline_processed == here, "timeline processed " << timeline_processed);
  std::uint64_t dropped_rows = 0;

  // Every (stream, sequence) exactly once, independently of the job's own check.
  CHECK(rf.rows.size() == expected, "results file has " << rf.rows.size() << " rows, expected " << expected);
  std::set<std::pair<std::uint32_t, std::uint64_t>> keys;
  for (const auto& row : rf.rows) {
    CHECK(per_stream.count(row.stream) && row.sequence < per_stream[row.stream],
          "unexpected key (" << row.stream << ", " << row.sequence << ")");
    CHECK(keys.insert({row.stream, row.sequence}).second,
          "duplicate key (" << row.stream << ", " << row.sequence << ")");
  }

  // Keyed partitioning: a stream's frames sit in one partition, in sequence order.
  if (cfg.partitioning == ride::Partitioning::key) {
    std::map<std::uint32_t, std::map<std::uint64_t, std::uint64_t>> offsets;  // stream → seq → offset
    for (const auto& row : rf.rows) {
      CHECK(row.partition == row.stream % static_cast<std::uint32_t>(s.at("partitions").size()),
            "stream " << row.stream << " in partition " << row.partition);
      offsets[row.stream][row.sequence] = row.offset;
    }
    for (const auto& [stream, m] : offsets) {
      std::uint64_t last = 0;
      bool first = true;
      for (const auto& [seq, off] : m) {
        CHECK(first || off > last, "stream " << stream << " out of order at sequence " << seq);
        last = off;
        first = false;
      }
    }
  }

  // Cameras (#15): every result of a live input is one of the JPEGs its server served (decoded
  // here as ingest decodes them: to gray or BGR with libjpeg), never another camera's, and its
  // frames follow the server's slots in order.
  if (!served_dir.empty()) {
    const auto specs = ride::ingest::parse_inputs(cfg.inputs, "ingest.inputs");
    std::map<std::string, std::uint32_t> stream_of;  // camera id -> stream
    for (std::size_t k = 0; k < specs.size(); ++k) stream_of[specs[k].name] = static_cast<std::uint32_t>(k);
    std::map<std::uint32_t, std::map<std::uint64_t, long>> served;  // stream -> checksum -> slot
    std::size_t files = 0;
    for (const auto& e : std::filesystem::directory_iterator(served_dir)) {
      const std::string name = e.path().filename().string();
      const auto us = name.find('_'), dot = name.rfind(".jpg");
      if (us == std::string::npos || dot == std::string::npos || name[0] == '.') continue;
      const auto it = stream_of.find(name.substr(0, us));
      if (it == stream_of.end()) continue;
      std::ifstream in(e.path(), std::ios::binary);
      std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      const cv::Mat m = cv::imdecode(bytes,
                                     cfg.color == ride::ColorMode::gray ? cv::IMREAD_GRAYSCALE : cv::IMREAD_COLOR);
      if (m.empty()) continue;
      const cv::Mat c = m.isContinuous() ? m : m.clone();
      served[it->second][ride::checksum64(c.data, c.total() * c.elemSize())] = std::stol(name.substr(us + 1, dot - us - 1));
      ++files;
    }
    std::uint64_t checked = 0;
    std::map<std::uint32_t, std::pair<std::uint64_t, long>> last;  // stream -> (sequence, slot) seen last
    std::vector<ride::ResultRecord> rows = rf.rows;
    std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
      return std::tie(a.stream, a.sequence) < std::tie(b.stream, b.sequence);
    });
    for (const auto& row : rows) {
      const auto sv = served.find(row.stream);
      if (sv == served.end()) continue;
      const auto hit = sv->second.find(row.input_checksum);
      CHECK(hit != sv->second.end(), "frame (" << row.stream << ", " << row.sequence
                                               << ") is none of the JPEGs its camera served");
      if (hit == sv->second.end()) continue;
      if (auto l = last.find(row.stream); l != last.end()) {
        CHECK(hit->second >= l->second.second, "frame (" << row.stream << ", " << row.sequence << ") shows slot "
                                                        << hit->second << ", older than the frame before it (slot "
                                                        << l->second.second << ")");
      }
      last[row.stream] = {row.sequence, hit->second};
      ++checked;
    }
    std::cout << "verify_run: " << checked << " camera frames are JPEGs their camera served (" << files
              << " served images decoded)\n";
    CHECK(checked > 0, "no camera frame checked against what was served");
  }
  if (min_eta >= 0) {
    const auto& eta = s.at("ingest").at("eta");
    CHECK(eta.is_number() && eta.get<double>() >= min_eta, "ingest.eta " << eta << " < " << min_eta);
    std::cout << "verify_run: eta over the cameras " << eta << "\n";
  }
  if (max_ingest_threads >= 0) {
    const int threads = s.at("ingest").at("threads").get<int>();
    CHECK(threads > 0 && threads <= max_ingest_threads, "an ingest rank ran " << threads << " threads, at most "
                                                                               << max_ingest_threads << " allowed");
    std::cout << "verify_run: an ingest rank ran at most " << threads << " threads\n";
  }

  // Values: regenerate each frame, prove it is the one processed, recompute the filter.
  std::vector<std::uint8_t> px;
  std::size_t images_checked = 0, threshold_checked = 0, live_unchecked = 0;
  double worst = 0;
  for (const auto& row : rf.rows) {
    if (allow_dropped && row.status == ride::ResultStatus::dropped) {
      ++dropped_rows;
      continue;
    }
    CHECK(row.status == ride::ResultStatus::ok, "frame (" << row.stream << ", " << row.sequence << ") failed");
    int w = cfg.width, h = cfg.height;
    if (cfg.source == ride::InputSource::video) {
      const auto it = decoded.find(row.stream);
      if (it == decoded.end()) {  // a live input: nothing to replay
        ++live_unchecked;
        continue;
      }
      const cv::Mat& m = it->second.at(cfg.loop ? row.sequence % it->second.size() : row.sequence);
      w = m.cols;
      h = m.rows;
      const std::size_t rowbytes = static_cast<std::size_t>(m.cols) * m.elemSize();
      px.resize(rowbytes * static_cast<std::size_t>(m.rows));
      for (int y = 0; y < m.rows; ++y) std::memcpy(px.data() + rowbytes * static_cast<std::size_t>(y), m.ptr(y), rowbytes);
      if (m.channels() != 1) {  // bgr: the checksum proves the frame; the filter runs on gray
        CHECK(row.input_checksum == ride::checksum64(px.data(), px.size()),
              "frame (" << row.stream << ", " << row.sequence << ") was not the decoded frame");
        continue;
      }
    } else {
      px.resize(static_cast<std::size_t>(w) * h);
      ride::ingest::fill_synthetic_frame(cfg.seed, row.stream, row.sequence,
                                         reinterpret_cast<std::byte*>(px.data()), px.size());
    }
    CHECK(row.input_checksum == ride::checksum64(px.data(), px.size()),
          "frame (" << row.stream << ", " << row.sequence << ") was not the ingested frame");
    if (check_threshold >= 0) {
      std::uint64_t above = 0;
      for (auto v : px) above += v > check_threshold ? 1 : 0;
      const double want = 100.0 * static_cast<double>(above) / static_cast<double>(px.size());
      CHECK(std::abs(row.scalars[0] - want) < 1e-9, "frame (" << row.stream << ", " << row.sequence
                                                   << "): above_pct " << row.scalars[0] << ", expected " << want);
      ++threshold_checked;
    }
    if (cfg.task != "stddev" || checksums_only) continue;  // the checksum proved the frame; values: kernel tests
    const auto ref = ride::test::stddev_reference(px.data(), w, h, w, window);
    if (ref.empty()) continue;
    double mean = 0, lo = ref.front(), hi = ref.front();
    for (double v : ref) {
      mean += v;
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
    mean /= static_cast<double>(ref.size());
    const double tol = 1e-3;
    worst = std::max({worst, std::abs(row.scalars[0] - mean), std::abs(row.scalars[1] - lo),
                      std::abs(row.scalars[2] - hi)});
    CHECK(std::abs(row.scalars[0] - mean) < tol && std::abs(row.scalars[1] - lo) < tol &&
              std::abs(row.scalars[2] - hi) < tol,
          "frame (" << row.stream << ", " << row.sequence << ") scalars " << row.scalars[0] << "/"
                    << row.scalars[1] << "/" << row.scalars[2] << " != reference " << mean << "/"
                    << lo << "/" << hi);
    if (cfg.images) {
      const auto img = ride::read_result_image(results_path, row.stream, row.sequence);
      CHECK(img.has_value(), "no image for (" << row.stream << ", " << row.sequence << ")");
      if (img) {
        ++images_checked;
        CHECK(img->size() == ref.size(), "image size");
        for (std::size_t i = 0; i < std::min(img->size(), ref.size()); ++i) {
          worst = std::max(worst, std::abs((*img)[i] - ref[i]));
          CHECK(std::abs((*img)[i] - ref[i]) < 1e-3,
                "pixel " << i << " of (" << row.stream << ", " << row.sequence << "): " << (*img)[i]
                         << " != " << ref[i]);
        }
      }
    }
  }
  CHECK(dropped_rows == dropped, "results file has " << dropped_rows << " dropped rows, summary " << dropped);
  if (!expect_datasets.empty()) {
    const hid_t file = H5Fopen(results_path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    CHECK(file >= 0, "cannot open " << results_path);
    std::stringstream roots(expect_datasets);
    for (std::string root; std::getline(roots, root, ',');) {
      std::size_t found = 0, wanted = 0;
      for (const auto& row : rf.rows) {
        if (row.status != ride::ResultStatus::ok) continue;
        ++wanted;
        // Each level must exist before the next is asked for (H5Lexists does not recurse).
        const std::string g = "/" + root, gs = g + "/" + std::to_string(row.stream);
        const std::string d = gs + "/" + std::to_string(row.sequence);
        if (H5Lexists(file, g.c_str(), H5P_DEFAULT) > 0 && H5Lexists(file, gs.c_str(), H5P_DEFAULT) > 0 &&
            H5Lexists(file, d.c_str(), H5P_DEFAULT) > 0) {
          ++found;
        }
      }
      CHECK(found == wanted, "/" << root << " holds " << found << " of " << wanted << " frames' datasets");
      std::cout << "verify_run: /" << root << " has a dataset for each of " << found << " frames\n";
    }
    H5Fclose(file);
  }
  if (check_threshold >= 0) {
    CHECK(threshold_checked == rf.rows.size() - dropped_rows, "threshold checked on " << threshold_checked << " rows");
    std::cout << "verify_run: above_pct recomputed for " << threshold_checked << " frames\n";
  }
  std::cout << "verify_run: " << rf.rows.size() - live_unchecked << " results checked against the reference ("
            << images_checked << " full images";
  if (live_unchecked) std::cout << "; " << live_unchecked << " from live inputs counted, not replayable";
  std::cout << "), worst abs error " << worst << ", "
            << failures << " failure(s)\n";
  return failures == 0 ? 0 : 1;
}

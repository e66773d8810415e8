/// verify_pipeline: checks a multi-stage run from the outside. It regenerates every synthetic
/// frame, runs the job's stages itself in one process — no MPI, no brokers, no forwarding
/// machinery: each stage's task on the frames its input stage let through, in sequence order per
/// stream — and compares with the results file, stage by stage: exactly the keys that should be
/// there (none lost, none twice), each row's input checksum, its task scalars (unless
/// --keys-only: a stateful task restarted after a failure computes different values), the
/// scalars carried from earlier stages, and the forward decisions (recomputed, and consistent
/// with the stored scalars). Then the summary's per-stage counts.
/// usage: verify_pipeline SUMMARY.json RESULTS.h5 RANKS [--keys-only] [--expect-failures N]
///        [--expect-stage-workers NAME=N ...] [--expect-spill] [--expect-ingest-held]
///        [--expect-forward-duplicates] [--expect-grow-in NAME] [--expect-reduction NAME=mpi|nccl]
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/checksum.h"
#include "core/config.h"
#include "core/role_layout.h"
#include "ingest/synthetic_source.h"
#include "sink/result_store.h"
#include "task/pipeline.h"
#include "task/registry.h"

namespace {

int failures = 0;
#define CHECK(cond, msg)                                     \
  do {                                                       \
    if (!(cond)) {                                           \
      ++failures;                                            \
      if (failures <= 30) std::cerr << "FAIL: " << msg << "\n"; \
    }                                                        \
  } while (0)

using Key = std::pair<std::uint32_t, std::uint64_t>;

/// One frame as a stage sees it: pixels and what the stages before said about it.
struct Item {
  std::vector<std::uint8_t> pixels;
  int width = 0, height = 0, channels = 1;
  std::vector<double> carried;  ///< nearest stage first (Stage::upstream_names)
};

/// What the reference computed for one stage and key.
struct Expect {
  std::uint64_t checksum = 0;
  std::vector<double> scalars;  ///< the stage's record layout (Stage::scalar_names)
  bool forwarded = false;
};

bool same(double a, double b) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  return std::abs(a - b) <= 1e-9 * std::max(1.0, std::abs(a));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::cerr << "usage: verify_pipeline SUMMARY.json RESULTS.h5 RANKS [--keys-only] [--expect-failures N]\n";
    return 2;
  }
  const std::string summary_path = argv[1], results_path = argv[2];
  const int ranks = std::stoi(argv[3]);
  bool keys_only = false, expect_spill = false, expect_held = false, expect_dups = false, expect_resumed = false;
  int expect_failures = 0;
  std::string expect_grow_in;
  std::map<std::string, int> expect_workers;
  std::map<std::string, std::string> expect_method;  ///< stage -> mpi | nccl
  for (int i = 4; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--keys-only") keys_only = true;
    else if (a == "--expect-spill") expect_spill = true;
    else if (a == "--expect-resumed") expect_resumed = true;  // job.resume kept some keys, not all
    else if (a == "--expect-ingest-held") expect_held = true;
    else if (a == "--expect-forward-duplicates") expect_dups = true;
    else if (a == "--expect-grow-in" && i + 1 < argc) expect_grow_in = argv[++i];
    else if (a == "--expect-reduction" && i + 1 < argc) {
      const std::string v = argv[++i];
      expect_method[v.substr(0, v.find('='))] = v.substr(v.find('=') + 1);
    }
    else if (a == "--expect-failures" && i + 1 < argc) expect_failures = std::stoi(argv[++i]);
    else if (a == "--expect-stage-workers" && i + 1 < argc) {
      const std::string v = argv[++i];
      expect_workers[v.substr(0, v.find('='))] = std::stoi(v.substr(v.find('=') + 1));
    } else {
      std::cerr << "verify_pipeline: unknown option " << a << "\n";
      return 2;
    }
  }
  nlohmann::json s;
  std::ifstream(summary_path) >> s;
  // The job's configuration as it ran is stored in the results file.
  const ride::ResultFile root = ride::read_results(results_path, ride::result_stages(results_path).front());
  const std::string ini = results_path + ".pipeline.ini";
  std::ofstream(ini) << root.attributes.at("config");
  const ride::JobConfig cfg = ride::parse_job_config({"--config", ini});
  std::remove(ini.c_str());
  CHECK(cfg.source == ride::InputSource::synthetic, "verify_pipeline regenerates synthetic frames only");
  const int world = ranks;
  CHECK(s.at("ranks").size() >= static_cast<std::size_t>(ranks), "summary lists " << s.at("ranks").size() << " ranks");
  const ride::RoleLayout layout = ride::compute_role_layout(cfg, world);
  const ride::task::Pipeline pipeline(ride::task::registry_for(cfg), cfg, layout);
  CHECK(pipeline.multi_stage(), "not a multi-stage job");

  // Ingest's frames: every stream, every sequence, as ingest.seed makes them.
  std::map<Key, Item> ingested;
  const std::uint64_t frames = cfg.frames_per_stream();
  for (std::uint32_t st = 0; st < static_cast<std::uint32_t>(cfg.streams); ++st) {
    for (std::uint64_t q = 0; q < frames; ++q) {
      Item it;
      it.width = cfg.width;
      it.height = cfg.height;
      it.pixels.resize(static_cast<std::size_t>(cfg.width) * static_cast<std::size_t>(cfg.height));
      ride::ingest::fill_synthetic_frame(cfg.seed, st, q, reinterpret_cast<std::byte*>(it.pixels.data()), it.pixels.size());
      ingested.emplace(Key{st, q}, std::move(it));
    }
  }
  {
    const std::uint64_t resumed = s.at("frames").value("resumed", std::uint64_t{0});
    if (expect_resumed) {
      CHECK(resumed > 0 && resumed < ingested.size(), "expected a run resumed mid-way: resumed " << resumed << " of "
                                                                                               << ingested.size());
      std::cout << "verify_pipeline: resumed run: " << resumed << " keys finished by the run it resumed\n";
    } else {
      CHECK(resumed == 0, "resumed " << resumed << " in a run that resumed nothing");
    }
  }
  CHECK(s.at("frames").at("ingested").get<std::uint64_t>() == ingested.size(),
        "summary frames.ingested " << s.at("frames").at("ingested") << ", expected " << ingested.size());

  // The reference: stages in an order where a stage's input comes first; each stage's input
  // is ingest's frames or what its input stage forwarded, processed in key order (a stream's
  // frames in sequence order, as keyed partitions deliver them).
  std::vector<std::map<Key, Item>> outputs(pipeline.all().size());
  std::vector<std::map<Key, Expect>> expected(pipeline.all().size());
  std::vector<bool> done(pipeline.all().size(), false);
  for (int pass = 0; pass < pipeline.stages(); ++pass) {
    for (const auto& st : pipeline.all()) {
      if (done[static_cast<std::size_t>(st.index)] || (st.input >= 0 && !done[static_cast<std::size_t>(st.input)])) continue;
      done[static_cast<std::size_t>(st.index)] = true;
      const auto& in = st.input < 0 ? ingested : outputs[static_cast<std::size_t>(st.input)];
      std::map<std::uint32_t, std::unique_ptr<ride::task::Instance>> instances;
      ride::task::Setup setup;
      setup.params = st.task.params;
      setup.threads = 1;
      ride::task::Output out;
      for (const auto& [key, item] : in) {
        auto& inst = instances[st.task.info.state == ride::task::State::per_stream ? key.first : 0];
        if (!inst) inst = st.task.task->create(setup);
        ride::task::Frame f;
        f.pixels = item.pixels.data();
        f.width = item.width;
        f.height = item.height;
        f.channels = item.channels;
        f.stride = static_cast<std::ptrdiff_t>(item.width) * item.channels;
        f.stream = key.first;
        f.sequence = key.second;
        out.clear();
        Expect e;
        e.checksum = ride::checksum64(item.pixels.data(), item.pixels.size());
        e.scalars.assign(st.scalar_names.size(), std::nan(""));
        if (st.task.info.name != "noop") inst->process(f, out);
        for (std::size_t k = 0; k < st.own_scalars; ++k) e.scalars[k] = out.scalars[k];
        for (std::size_t k = 0; k < st.upstream_names.size() && k < item.carried.size(); ++k) {
          e.scalars[st.upstream_at() + k] = item.carried[k];
        }
        if (st.has_forwarded_column()) {
          const bool can = !st.emit_image || out.image_elements() > 0;
          e.forwarded = can && (st.forward.always_true() || st.forward(e.scalars.data()));
          e.scalars[st.own_scalars] = e.forwarded ? 1.0 : 0.0;
          if (e.forwarded) {
            Item next;
            if (st.emit_image) {
              next.width = out.image_width;
              next.height = out.image_height;
              next.channels = out.image_channels;
              next.pixels = out.image_u8;  // u8 images only (an f32 image is no u8 frame)
            } else {
              next = item;
            }
            next.carried.assign(e.scalars.begin(), e.scalars.begin() + static_cast<std::ptrdiff_t>(st.own_scalars));
            next.carried.insert(next.carried.end(), item.carried.begin(), item.carried.end());
            outputs[static_cast<std::size_t>(st.index)].emplace(key, std::move(next));
          }
        }
        expected[static_cast<std::size_t>(st.index)].emplace(key, std::move(e));
      }
    }
  }

  // The results file, stage by stage.
  for (const auto& st : pipeline.all()) {
    const ride::ResultFile rf = ride::read_results(results_path, st.name());
    const auto& want = expected[static_cast<std::size_t>(st.index)];
    CHECK(rf.scalar_names == st.scalar_names, "stage " << st.name() << ": columns differ from the pipeline's");
    std::set<Key> seen;
    std::uint64_t forwarded = 0, value_mismatch = 0;
    for (const auto& r : rf.rows) {
      const Key key{r.stream, r.sequence};
      CHECK(seen.insert(key).second, "stage " << st.name() << ": key " << r.stream << "/" << r.sequence << " stored twice");
      const auto it = want.find(key);
      if (it == want.end()) {
        CHECK(false, "stage " << st.name() << ": key " << r.stream << "/" << r.sequence << " should not be there");
        continue;
      }
      CHECK(r.status == ride::ResultStatus::ok, "stage " << st.name() << ": key " << r.stream << "/" << r.sequence << " failed");
      CHECK(r.input_checksum == it->second.checksum,
            "stage " << st.name() << ": key " << r.stream << "/" << r.sequence << " saw other pixels");
      // Carried scalars are the stored values of the stages before (always checked), the task's
      // own and the decision are the reference's (unless --keys-only).
      for (std::size_t k = st.upstream_at(); k < st.scalar_names.size(); ++k) {
        CHECK(same(r.scalars[k], it->second.scalars[k]) || keys_only,
              "stage " << st.name() << ": key " << r.stream << "/" << r.sequence << " carries "
                       << st.scalar_names[k] << " = " << r.scalars[k] << ", expected " << it->second.scalars[k]);
      }
      if (!keys_only) {
        bool ok = true;
        for (std::size_t k = 0; k < st.upstream_at(); ++k) ok = ok && same(r.scalars[k], it->second.scalars[k]);
        if (!ok && ++value_mismatch <= 3) {
          CHECK(false, "stage " << st.name() << ": key " << r.stream << "/" << r.sequence << " has other task values");
        }
      }
      if (st.has_forwarded_column()) {
        const bool fwd = r.scalars[st.own_scalars] == 1.0;
        forwarded += fwd ? 1 : 0;
        // The stored decision is the predicate of the stored scalars (whoever computed them).
        const bool again = st.forward.always_true() || st.forward(r.scalars.data());
        CHECK(fwd == again, "stage " << st.name() << ": key " << r.stream << "/" << r.sequence
                                     << " stored forwarded = " << fwd << " but its scalars say " << again);
      }
    }
    if (!keys_only) {
      CHECK(seen.size() == want.size(), "stage " << st.name() << ": " << seen.size() << " keys stored, the reference has "
                                                   << want.size());
    } else if (st.input < 0) {
      CHECK(seen.size() == want.size(), "stage " << st.name() << ": " << seen.size() << " keys stored of " << want.size());
    }
    // Every key the input stage stored as forwarded is here, and nothing else.
    if (st.input >= 0) {
      const auto& from = pipeline.stage(st.input);
      const ride::ResultFile up = ride::read_results(results_path, from.name());
      std::set<Key> fwd;
      for (const auto& r : up.rows) {
        if (r.status == ride::ResultStatus::ok && r.scalars[from.own_scalars] == 1.0) fwd.insert({r.stream, r.sequence});
      }
      CHECK(fwd == seen, "stage " << st.name() << ": holds " << seen.size() << " keys, stage " << from.name()
                                  << " forwarded " << fwd.size());
    }
    // The stage's aggregates (group reduction + rows of ranks gone, core/aggregates.h) equal
    // those of its stored rows, recomputed here.
    {
      std::map<std::pair<std::uint32_t, std::string>, std::array<double, 4>> mine;  // count, sum, min, max
      for (const auto& r : rf.rows) {
        if (r.status != ride::ResultStatus::ok || st.task.info.name == "noop") continue;
        for (std::size_t k = 0; k < st.own_scalars; ++k) {
          if (std::isnan(r.scalars[k])) continue;
          auto [it, fresh] = mine.try_emplace({r.stream, st.task.info.scalars[k]},
                                              std::array<double, 4>{0, 0, r.scalars[k], r.scalars[k]});
          it->second[0] += 1;
          it->second[1] += r.scalars[k];
          it->second[2] = std::min(it->second[2], r.scalars[k]);
          it->second[3] = std::max(it->second[3], r.scalars[k]);
        }
      }
      std::string source;
      const auto agg = ride::read_aggregates(results_path, st.name(), &source);
      CHECK(agg.size() == mine.size(), "stage " << st.name() << ": " << agg.size() << " aggregate rows, the stored rows give "
                                                << mine.size());
      for (const auto& a : agg) {
        const auto it = mine.find({a.stream, a.scalar});
        if (it == mine.end()) {
          CHECK(false, "stage " << st.name() << ": aggregate of " << a.scalar << " for stream " << a.stream << " has no rows");
          continue;
        }
        CHECK(static_cast<double>(a.count) == it->second[0] && same(a.sum, it->second[1]) && a.min == it->second[2] &&
                  a.max == it->second[3],
              "stage " << st.name() << ": aggregate of " << a.scalar << " for stream " << a.stream << " is (" << a.count
                       << ", " << a.sum << ", " << a.min << ", " << a.max << "), the rows give (" << it->second[0] << ", "
                       << it->second[1] << ", " << it->second[2] << ", " << it->second[3] << ")");
      }
      // A resumed run's group saw only its own rows: the aggregates come from the whole file.
      CHECK(source.find(expect_resumed ? "a resumed run" : "group reduction") != std::string::npos,
            "stage " << st.name() << ": aggregates not from " << (expect_resumed ? "the file of a resumed run" : "the group's reduction")
                     << ": " << source);
      std::cout << "verify_pipeline: stage " << st.name() << " aggregates: " << agg.size() << " rows; " << source << "\n";
    }
    const auto& js = s.at("stages").at(st.name());
    std::cout << "verify_pipeline: stage " << st.name() << " (" << st.cfg->task << "): " << rf.rows.size()
              << " rows, " << forwarded << " forwarded, reference " << want.size() << "; summary " << js.dump() << "\n";
    CHECK(js.at("lost").get<std::uint64_t>() == 0, "stage " << st.name() << ": summary says lost " << js.at("lost"));
    CHECK(js.at("duplicates").get<std::uint64_t>() == 0, "stage " << st.name() << ": summary duplicates " << js.at("duplicates"));
    CHECK(js.at("processed").get<std::uint64_t>() == seen.size(), "stage " << st.name() << ": summary processed "
                                                                           << js.at("processed") << ", stored " << seen.size());
    CHECK(js.at("forwarded").get<std::uint64_t>() == forwarded, "stage " << st.name() << ": summary forwarded "
                                                                           << js.at("forwarded") << ", stored " << forwarded);
    if (expect_method.count(st.name())) {
      CHECK(js.at("aggregates").at("method") == expect_method[st.name()],
            "stage " << st.name() << ": reduced with " << js.at("aggregates").at("method") << ", expected "
                     << expect_method[st.name()]);
    }
    if (expect_workers.count(st.name())) {
      CHECK(js.at("workers").get<int>() == expect_workers[st.name()],
            "stage " << st.name() << ": " << js.at("workers") << " workers, expected " << expect_workers[st.name()]);
    }
  }
  {
    // A slow later stage: its topic spills, or (spill off) it holds the stage before back, which
    // stops fetching, so its own topic fills and holds ingest back.
    double spilled = 0;
    for (const auto& b : s.at("brokers")) spilled += b.at("peak_spill_bytes").get<double>();
    const auto& bp = s.at("backpressure");
    std::cout << "verify_pipeline: peak spill " << spilled / 1e6 << " MB, backpressure " << bp.dump() << "\n";
    if (expect_spill) CHECK(spilled > 0, "expected the slow stage's topic to spill, it did not");
    std::uint64_t dups = 0;
    for (const auto& b : s.at("brokers")) dups += b.value("duplicates_dropped", std::uint64_t{0});
    std::cout << "verify_pipeline: brokers dropped " << dups << " frames forwarded twice\n";
    if (expect_dups) CHECK(dups > 0, "expected a stage to forward frames again after the failure, and the broker to drop them");
    if (expect_held) {
      CHECK(bp.at("ingest_blocked_s").get<double>() > 0, "expected ingest to be held back across the stages: " << bp);
    }
  }
  if (!expect_grow_in.empty()) {
    // A grow of that stage's group (scaling.adaptive per stage), and none of the others'.
    int grows = 0, elsewhere = 0;
    for (const auto& e : s.at("scaling")) {
      if (e.at("action") != "grow") continue;
      (e.value("stage", "") == expect_grow_in ? grows : elsewhere) += 1;
      std::cout << "verify_pipeline: grow " << e.dump() << "\n";
    }
    CHECK(grows > 0, "no grow of stage " << expect_grow_in << "'s group: " << s.at("scaling"));
    CHECK(elsewhere == 0, elsewhere << " grow(s) of other stages' groups");
  }
  CHECK(s.at("status") == "ok", "summary status " << s.at("status") << ": " << s.at("errors"));
  CHECK(s.at("failures").size() == static_cast<std::size_t>(expect_failures),
        "summary lists " << s.at("failures").size() << " failures, expected " << expect_failures);
  if (failures > 0) {
    std::cerr << "verify_pipeline: " << failures << " check(s) failed\n";
    return 1;
  }
  std::cout << "verify_pipeline: OK\n";
  return 0;
}

/// The master's sink (master/sink.h) against a real HDF5 file: RESULTS bodies decoded and
/// stored, keys already stored dropped (and counted as the replay of the failure that moved
/// their partition), acks only after the flush, and the file re-read from disk.
#include <gtest/gtest.h>

#include "job_layouts.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/config.h"
#include "core/results_codec.h"
#include "master/recovery.h"
#include "master/sink.h"
#include "sink/result_store.h"
#include "task/pipeline.h"

namespace ride {
namespace {

Buffer batch(std::uint32_t partition, std::uint32_t epoch, std::uint64_t batch_id, std::uint32_t stream,
             std::initializer_list<std::uint64_t> sequences, std::int64_t error_at = -1,
             std::initializer_list<int> forwarded = {}, std::size_t forwarded_at = 3) {
  ResultsHeader h;
  h.partition = partition;
  h.epoch = epoch;
  h.batch_id = batch_id;
  ResultsEncoder enc(h, false, false, false);
  int i = 0;
  for (std::uint64_t seq : sequences) {
    ResultRecord r;
    r.stream = stream;
    r.sequence = seq;
    r.partition = partition;
    r.epoch = epoch;
    r.scalars[0] = static_cast<double>(seq);
    if (forwarded.size() > 0) r.scalars[forwarded_at] = *(forwarded.begin() + i);
    if (i == error_at) {
      r.status = ResultStatus::task_error;
      enc.add(r, {}, std::nullopt, std::nullopt, std::string_view("bad frame"));
    } else {
      enc.add(r);
    }
    ++i;
  }
  return enc.finish();
}

TEST(Sink, StoresOnceFlushesThenAcks) {
  const auto dir = std::filesystem::temp_directory_path() / ("ride_sink_master_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  JobConfig cfg = parse_job_config({"--task.name=stddev"});
  cfg.results_path = (dir / "r.h5").string();
  const RoleLayout l = test::layout_of(2, 1, 2);
  const task::Pipeline pipeline(task::registry_for(cfg), cfg, l);
  JobModel model(l, PartitionMap::spread(2, l.brokers));
  model.assignment().assign_round_robin(model.workers());
  {
    Sink sink(cfg, pipeline);
    auto st = sink.store(3, batch(0, 1, 7, 0, {0, 1, 2}, 1), model, 10.0, 1.5);
    EXPECT_EQ(st.rows, 3u);
    EXPECT_EQ(st.duplicates, 0u);
    EXPECT_EQ(model.processed, 3u);
    // Idle, the flush happens at once, and only then the acks go out.
    sink.store(4, batch(1, 1, 9, 1, {0}), model, 10.001, 1.5);
    const auto acks = sink.flush_if_due(true, 10.002);
    ASSERT_EQ(acks.size(), 2u);
    EXPECT_EQ(acks[0].rank, 3);
    EXPECT_EQ(acks[0].batch_id, 7u);
    EXPECT_TRUE(acks[0].fates.empty());  // all new
    EXPECT_EQ(acks[1].rank, 4);
    EXPECT_EQ(acks[1].batch_id, 9u);
    EXPECT_TRUE(sink.flush_if_due(true, 10.003).empty());  // nothing new: no flush, no acks
    // Rank 3 dies; its successor replays frames 1..3 of stream 0: 1 and 2 are dropped.
    const auto d = plan_recovery(model, 3, "silent", 11.0, 10.7);
    ASSERT_EQ(d.moved.size(), 1u);
    st = sink.store(5, batch(0, d.moved[0].epoch, 1, 0, {1, 2, 3}), model, 11.2, 2.7);
    EXPECT_EQ(st.rows, 1u);
    EXPECT_EQ(st.duplicates, 2u);
    const auto replay_acks = sink.flush_if_due(true, 11.3);
    ASSERT_EQ(replay_acks.size(), 1u);
    EXPECT_EQ(replay_acks[0].fates,
              (std::vector<RowFate>{RowFate::duplicate, RowFate::duplicate, RowFate::stored}));
    EXPECT_EQ(model.duplicates_dropped, 2u);
    EXPECT_EQ(model.failures()[0].reprocessed, 2u);
    EXPECT_DOUBLE_EQ(model.failures()[0].recovered, 11.2);
    EXPECT_EQ(model.processed_per_s.size(), 3u);  // seconds 0, 1 and 2 of the job
    EXPECT_EQ(model.processed_per_s[1], 4u);
    EXPECT_EQ(model.processed_per_s[2], 1u);
    EXPECT_THROW(sink.store(4, Buffer(3), model, 12.0, 3.0), Error);  // malformed: an error, not a crash
    sink.close();
  }
  const ResultFile rf = read_results(cfg.results_path);
  EXPECT_EQ(rf.rows.size(), 5u);  // (0,0) (0,1) (0,2) (1,0) (0,3): each key once
  ASSERT_EQ(rf.errors.size(), 1u);
  EXPECT_EQ(std::get<2>(rf.errors[0]), "bad frame");
  std::filesystem::remove_all(dir);
}

// A job of two stages: each stage's rows go to its own tables, and a replay of a forwarding
// stage learns what the stored rows decided (the next stage then agrees with the results file).
TEST(Sink, StagesKeepTheirTablesAndReplaysLearnTheStoredDecision) {
  const auto dir = std::filesystem::temp_directory_path() / ("ride_sink_stages_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  JobConfig cfg = parse_job_config({"--job.stages=first,second", "--stage.first.task=stddev",
                                    "--stage.first.forward=mean > 1", "--stage.second.task=hessian"});
  cfg.results_path = (dir / "r.h5").string();
  const RoleLayout l = compute_role_layout(cfg, 6);
  const task::Pipeline pipeline(task::registry_for(cfg), cfg, l);
  ASSERT_EQ(pipeline.stage(0).scalar_names,
            (std::vector<std::string>{"mean", "min", "max", "forwarded"}));
  ASSERT_EQ(pipeline.stage(1).scalar_names,
            (std::vector<std::string>{"keypoints", "mean_response", "max_response", "first.mean", "first.min", "first.max"}));
  JobModel model(l, PartitionMap::spread(l.partitions, l.brokers));
  {
    Sink sink(cfg, pipeline);
    // Stage first (partition 0): frames 0..2, forwarded 1, 0, 1.
    sink.store(3, batch(0, 1, 1, 0, {0, 1, 2}, -1, {1, 0, 1}), model, 1.0, 0.1);
    // Stage second (partition 1 = its topic): frames 0 and 2.
    sink.store(4, batch(1, 1, 1, 0, {0, 2}), model, 1.0, 0.1);
    EXPECT_EQ(sink.flush_if_due(true, 1.1).size(), 2u);
    // The first stage's replay (its worker died) decides otherwise for 0 and 1: the stored rows win.
    sink.store(5, batch(0, 2, 1, 0, {0, 1, 2, 3}, -1, {0, 1, 1, 0}), model, 2.0, 0.2);
    const auto acks = sink.flush_if_due(true, 2.1);
    ASSERT_EQ(acks.size(), 1u);
    EXPECT_EQ(acks[0].fates, (std::vector<RowFate>{RowFate::duplicate_forwarded, RowFate::duplicate,
                                                   RowFate::duplicate_forwarded, RowFate::stored}));
    EXPECT_EQ(model.stage_processed, (std::vector<std::uint64_t>{4, 2}));
    EXPECT_EQ(model.stage_duplicates, (std::vector<std::uint64_t>{3, 0}));
    sink.close();
  }
  EXPECT_EQ(result_stages(cfg.results_path), (std::vector<std::string>{"first", "second"}));
  const ResultFile first = read_results(cfg.results_path, "first");
  const ResultFile second = read_results(cfg.results_path, "second");
  EXPECT_EQ(first.rows.size(), 4u);
  EXPECT_EQ(second.rows.size(), 2u);
  EXPECT_EQ(first.scalar_names, pipeline.stage(0).scalar_names);
  EXPECT_EQ(second.scalar_names, pipeline.stage(1).scalar_names);
  EXPECT_EQ(first.rows[1].scalars[3], 0.0);  // frame 1: not forwarded, as first stored
  std::filesystem::remove_all(dir);
}

// Master loss -> resume (#14): what the sink acknowledged is in its journal; a run with
// job.resume rebuilds the results file from it even when the HDF5 file was left unreadable, says
// which keys are finished, and drops their repeats like any replay.
TEST(Sink, AResumedRunRebuildsTheResultsFromTheJournal) {
  const auto dir = std::filesystem::temp_directory_path() / ("ride_sink_resume_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  JobConfig cfg = parse_job_config({"--task.name=stddev", "--job.mode=batch"});
  cfg.results_path = (dir / "r.h5").string();
  const RoleLayout l = test::layout_of(2, 1, 2);
  const task::Pipeline pipeline(task::registry_for(cfg), cfg, l);
  JobModel model(l, PartitionMap::spread(2, l.brokers));
  {
    Sink sink(cfg, pipeline);
    EXPECT_FALSE(sink.resumed());
    sink.store(3, batch(0, 1, 1, 0, {0, 1, 2}, 1), model, 1.0, 0.1);
    sink.store(4, batch(1, 1, 1, 1, {0, 1}), model, 1.0, 0.1);
    EXPECT_EQ(sink.flush_if_due(true, 1.1).size(), 2u);
    sink.store(3, batch(0, 1, 2, 0, {2, 3}), model, 1.2, 0.2);  // 2 again: not journaled twice
    EXPECT_EQ(sink.flush_if_due(true, 1.3).size(), 1u);
    // The master is SIGKILLed here: nothing is closed. (The destructor would close; leave the
    // HDF5 file as garbage to show the journal alone is trusted.)
    sink.close();
  }
  const std::string journal = journal_path(cfg.results_path);
  ASSERT_TRUE(std::filesystem::exists(journal));
  { std::ofstream(cfg.results_path, std::ios::trunc) << "half-written HDF5"; }
  // A resume with a configuration that decides other frames is refused, naming the key.
  JobConfig other = cfg;
  other.resume = true;
  other.frames = 77;
  try {
    check_resume(other);
    FAIL() << "expected a ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("ingest.frames: 0 in the journal, 77 now"), std::string::npos) << e.what();
  }
  cfg.resume = true;
  JobModel model2(l, PartitionMap::spread(2, l.brokers));
  {
    Sink sink(cfg, pipeline);
    ASSERT_TRUE(sink.resumed());
    const auto& r = *sink.resumed();
    EXPECT_EQ(r.records, 3u);
    EXPECT_EQ(r.rows, 6u);
    EXPECT_EQ(r.torn_bytes, 0u);
    EXPECT_EQ(r.finished.count(), 6u);
    EXPECT_TRUE(r.finished.contains(0, 3));
    EXPECT_TRUE(r.finished.contains(1, 1));
    EXPECT_FALSE(r.finished.contains(1, 2));
    // A repeat of a finished key is dropped; a new key is stored and journaled.
    const auto st = sink.store(3, batch(1, 1, 3, 1, {1, 2}), model2, 2.0, 0.1);
    EXPECT_EQ(st.rows, 1u);
    EXPECT_EQ(st.duplicates, 1u);
    EXPECT_EQ(sink.flush_if_due(true, 2.1).size(), 1u);
    sink.close();
  }
  const ResultFile rf = read_results(cfg.results_path);
  EXPECT_EQ(rf.rows.size(), 7u);
  ASSERT_EQ(rf.errors.size(), 1u);  // the error row of the first run came back too
  // Resumed again (the second run died too): everything is there once.
  {
    Sink sink(cfg, pipeline);
    EXPECT_EQ(sink.resumed()->rows, 7u);
    EXPECT_EQ(sink.resumed()->records, 4u);
    sink.close();
  }
  std::filesystem::remove_all(dir);
}

// Without a journal there is nothing to resume: a clear error, and the results file untouched.
TEST(Sink, AResumeWithoutAJournalIsAClearError) {
  const auto dir = std::filesystem::temp_directory_path() / ("ride_sink_nojournal_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  JobConfig cfg = parse_job_config({"--task.name=stddev", "--job.resume=true"});
  cfg.results_path = (dir / "r.h5").string();
  { std::ofstream(cfg.results_path) << "earlier results"; }
  const RoleLayout l = test::layout_of(2, 1, 2);
  const task::Pipeline pipeline(task::registry_for(cfg), cfg, l);
  try {
    Sink sink(cfg, pipeline);
    FAIL() << "expected a ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("job.resume"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("r.h5.journal"), std::string::npos) << e.what();
  }
  std::ifstream in(cfg.results_path);
  std::string text;
  std::getline(in, text);
  EXPECT_EQ(text, "earlier results");
  // And job.resume without output.journal is refused at parse time.
  EXPECT_THROW(parse_job_config({"--job.resume=true", "--output.journal=false"}), ConfigError);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace ride

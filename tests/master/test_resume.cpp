/// Resuming a run whose master died (master/resume.h): which configuration changes are allowed,
/// and which keys an earlier run finished along every path through a pipeline.
#include "master/resume.h"

#include <gtest/gtest.h>

#include "core/config.h"
#include "support/key_members.h"

namespace ride {
namespace {

using test::members;

JobConfig parse(std::vector<std::string> args) { return parse_job_config(args); }

TEST(ResumeConfig, ResourcesMayChangeWhatDecidesTheFramesMayNot) {
  const JobConfig base = parse({"--job.mode=batch", "--ingest.streams=3", "--ingest.frames=50"});
  const std::string was = resume_identity(base);
  EXPECT_EQ(resume_mismatch(was, was), std::nullopt);
  // A requeued job on another allocation: other rank counts, spill, devices, the resume flag.
  const JobConfig moved = parse({"--job.mode=batch", "--ingest.streams=3", "--ingest.frames=50", "--job.workers=5",
                                 "--job.brokers=2", "--topic.partitions=12", "--broker.spill=false",
                                 "--worker.threads=2", "--job.resume=true", "--output.summary=other.json"});
  EXPECT_EQ(resume_mismatch(was, resume_identity(moved)), std::nullopt);
  const auto frames = resume_mismatch(was, resume_identity(parse({"--job.mode=batch", "--ingest.streams=3",
                                                                  "--ingest.frames=60"})));
  ASSERT_TRUE(frames);
  EXPECT_EQ(*frames, "ingest.frames: 50 in the journal, 60 now");
  const auto seed = resume_mismatch(
      was, resume_identity(parse({"--job.mode=batch", "--ingest.streams=3", "--ingest.frames=50", "--ingest.seed=9"})));
  ASSERT_TRUE(seed);
  EXPECT_NE(seed->find("ingest.seed"), std::string::npos);
  const auto task = resume_mismatch(
      was, resume_identity(parse({"--job.mode=batch", "--ingest.streams=3", "--ingest.frames=50", "--task.name=noop"})));
  ASSERT_TRUE(task);
  EXPECT_NE(task->find("task.name"), std::string::npos);
}

TEST(ResumeConfig, StageResourcesMayChangeStageSemanticsMayNot) {
  const std::string a =
      "[job]\nmode = batch\n\n[stage.motion]\ntask = me\ninput = ingest\npartitions = 4\nworkers = 2\n"
      "device = cpu\nforward = foreground_pct > 1\n\n[stage.motion.params]\nhistory = 200\n";
  std::string b = a;
  b.replace(b.find("workers = 2"), 11, "workers = 6");
  b.replace(b.find("partitions = 4"), 14, "partitions = 8");
  b.replace(b.find("device = cpu"), 12, "device = gpu");
  EXPECT_EQ(resume_mismatch(a, b), std::nullopt);
  std::string c = a;
  c.replace(c.find("> 1"), 3, "> 2");
  ASSERT_TRUE(resume_mismatch(a, c));
  EXPECT_EQ(*resume_mismatch(a, c), "stage.motion.forward: foreground_pct > 1 in the journal, foreground_pct > 2 now");
  std::string d = a;
  d.replace(d.find("history = 200"), 13, "history = 100");
  ASSERT_TRUE(resume_mismatch(a, d));
  EXPECT_NE(resume_mismatch(a, d)->find("stage.motion.params.history"), std::string::npos);
  // A key only one side has.
  ASSERT_TRUE(resume_mismatch(a, a + "\n[params]\nk = 1\n"));
  EXPECT_EQ(*resume_mismatch(a, a + "\n[params]\nk = 1\n"), "params.k: (absent) in the journal, 1 now");
}

std::vector<std::uint8_t> seqs(std::initializer_list<std::uint8_t> v) { return v; }

TEST(ResumeKeys, OneStageFinishesWhatItStored) {
  const std::vector<ResumeStage> stages{{-1, {}}};
  StoredKeys stored(1);
  stored[0][0] = seqs({1, 1, 0, 1});
  stored[0][2] = seqs({0, 0, 1});
  const KeyRanges k = finished_keys(stages, stored);
  EXPECT_EQ(k.count(), 4u);
  EXPECT_EQ(members(k, 0, 0, 4), "1101");
  EXPECT_EQ(members(k, 2, 2, 3), "1");
  EXPECT_EQ(members(k, 1, 0, 1), "0");
}

TEST(ResumeKeys, AForwardedKeyIsFinishedOnlyWhenItsReadersFinishedIt) {
  // motion -> objects -> people, and motion -> archive (fan-out).
  const std::vector<ResumeStage> stages{{-1, {1, 3}}, {0, {2}}, {1, {}}, {0, {}}};
  StoredKeys stored(4);
  // seq 0: not forwarded by motion: finished. seq 1: forwarded, everywhere: finished.
  // seq 2: forwarded, objects stored but not people. seq 3: forwarded, archive lacks it.
  // seq 4: objects did not forward it: finished. seq 5: motion never stored it.
  stored[0][7] = seqs({1, 2, 2, 2, 2, 0});
  stored[1][7] = seqs({0, 2, 2, 2, 1});
  stored[2][7] = seqs({0, 1, 0, 1});
  stored[3][7] = seqs({0, 1, 1, 0, 1});
  const KeyRanges k = finished_keys(stages, stored);
  EXPECT_EQ(members(k, 7, 0, 6), "110010");  // seqs 0, 1 and 4
  EXPECT_EQ(k.count(), 3u);
}

TEST(ResumeKeys, TwoStagesReadingIngestMustBothHaveTheKey) {
  const std::vector<ResumeStage> stages{{-1, {}}, {-1, {}}};
  StoredKeys stored(2);
  stored[0][1] = seqs({1, 1, 1});
  stored[1][1] = seqs({1, 0, 1});
  const KeyRanges k = finished_keys(stages, stored);
  EXPECT_EQ(k.count(), 2u);
  EXPECT_FALSE(k.contains(1, 1));
}

}  // namespace
}  // namespace ride

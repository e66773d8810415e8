/// The master's sink (master/sink.h) against a real HDF5 file: RESULTS bodies decoded and
/// stored, keys already stored dropped (and counted as the replay of the failure that moved
/// their partition), acks only after the flush, and the file re-read from disk.
#include <gtest/gtest.h>

#include "job_layouts.h"

#include <unistd.h>

#include <filesystem>

#include "core/config.h"
#include "core/results_codec.h"
#include "master/recovery.h"
#include "master/sink.h"
#include "sink/result_store.h"

namespace ride {
namespace {

Buffer batch(std::uint32_t partition, std::uint32_t epoch, std::uint64_t batch_id, std::uint32_t stream,
             std::initializer_list<std::uint64_t> sequences, std::int64_t error_at = -1) {
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
  JobConfig cfg;
  cfg.results_path = (dir / "r.h5").string();
  task::Info info;
  info.name = "t";
  info.scalars = {"value"};
  const RoleLayout l = test::layout_of(2, 1, 2);
  JobModel model(l, PartitionMap::spread(2, l.brokers));
  model.assignment().assign_round_robin(model.workers());
  {
    Sink sink(cfg, info);
    auto st = sink.store(3, batch(0, 1, 7, 0, {0, 1, 2}, 1), model, 10.0, 1.5);
    EXPECT_EQ(st.rows, 3u);
    EXPECT_EQ(st.duplicates, 0u);
    EXPECT_EQ(model.processed, 3u);
    // Idle, the flush happens at once, and only then the acks go out.
    sink.store(4, batch(1, 1, 9, 1, {0}), model, 10.001, 1.5);
    const auto acks = sink.flush_if_due(true, 10.002);
    ASSERT_EQ(acks.size(), 2u);
    EXPECT_EQ(acks[0], (std::pair<int, std::uint64_t>{3, 7}));
    EXPECT_EQ(acks[1], (std::pair<int, std::uint64_t>{4, 9}));
    EXPECT_TRUE(sink.flush_if_due(true, 10.003).empty());  // nothing new: no flush, no acks
    // Rank 3 dies; its successor replays frames 1..3 of stream 0: 1 and 2 are dropped.
    const auto d = plan_recovery(model, 3, "silent", 11.0, 10.7);
    ASSERT_EQ(d.moved.size(), 1u);
    st = sink.store(5, batch(0, d.moved[0].epoch, 1, 0, {1, 2, 3}), model, 11.2, 2.7);
    EXPECT_EQ(st.rows, 1u);
    EXPECT_EQ(st.duplicates, 2u);
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

}  // namespace
}  // namespace ride

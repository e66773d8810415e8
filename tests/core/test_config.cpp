#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "core/config.h"
#include "core/error.h"

namespace ride {
namespace {

std::string write_file(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + name;
  std::ofstream(path) << text;
  return path;
}

std::string error_of(const std::vector<std::string>& args) {
  try {
    parse_job_config(args);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(Config, DefaultsAreValid) {
  const JobConfig c = parse_job_config({});
  EXPECT_EQ(c.mode, JobMode::stream);
  EXPECT_EQ(c.streams, 4);
  EXPECT_EQ(c.frames_per_stream(), 150u);  // 15 fps x 10 s
  EXPECT_EQ(c.where("ingest.fps"), "'ingest.fps' (default)");
}

TEST(Config, FileValuesAndOrigins) {
  const auto path = write_file("ok.ini",
                               "# a comment\n[job]\nmode = batch\n\n[ingest]\nwidth = 900  # px\n"
                               "height=900\nframes = 7\n[output]\nimages = true\n");
  const JobConfig c = parse_job_config({"--config", path});
  EXPECT_EQ(c.mode, JobMode::batch);
  EXPECT_EQ(c.width, 900);
  EXPECT_EQ(c.height, 900);
  EXPECT_EQ(c.frames_per_stream(), 7u);
  EXPECT_TRUE(c.images);
  EXPECT_EQ(c.origin.at("ingest.width"), path + ":6");
}

TEST(Config, CommandLineOverridesFile) {
  const auto path = write_file("over.ini", "[ingest]\nfps = 30\n");
  const JobConfig c = parse_job_config({"--config=" + path, "--ingest.fps=12.5", "--summary", "s.json"});
  EXPECT_DOUBLE_EQ(c.fps, 12.5);
  EXPECT_EQ(c.origin.at("ingest.fps"), "command line");
  EXPECT_EQ(c.summary_path, "s.json");
}

TEST(Config, UnknownKeyInFileNamesKeyFileAndLine) {
  const auto path = write_file("unknown.ini", "[ingest]\nfps = 30\nfsp = 30\n");
  const std::string e = error_of({"--config", path});
  EXPECT_NE(e.find("unknown key 'ingest.fsp'"), std::string::npos) << e;
  EXPECT_NE(e.find(path + ":3"), std::string::npos) << e;
}

TEST(Config, BadValueInFileNamesKeyFileLineAndExpectation) {
  const auto path = write_file("bad.ini", "[ingest]\n\nwidth = wide\n");
  const std::string e = error_of({"--config", path});
  EXPECT_NE(e.find("'ingest.width'"), std::string::npos) << e;
  EXPECT_NE(e.find(path + ":3"), std::string::npos) << e;
  EXPECT_NE(e.find("expected an integer"), std::string::npos) << e;
}

TEST(Config, SemanticErrorsNameTheOrigin) {
  const auto path = write_file("sem.ini", "[worker]\nthreads = 0\n");
  const std::string e = error_of({"--config", path});
  EXPECT_NE(e.find("'worker.threads' (" + path + ":2)"), std::string::npos) << e;
  EXPECT_NE(error_of({"--job.mode=fast"}).find("'job.mode' (command line)"), std::string::npos);
  EXPECT_NE(error_of({"--ingest.fps=0"}).find("ingest.fps"), std::string::npos);
  EXPECT_NE(error_of({"--ingest.partitioning=random"}).find("round_robin or key"), std::string::npos);
}

TEST(Config, CommandLineErrors) {
  EXPECT_NE(error_of({"--ingest.nope=1"}).find("unknown key 'ingest.nope' on the command line"),
            std::string::npos);
  const std::string e = error_of({"--ingest.fps=abc"});
  EXPECT_NE(e.find("ingest.fps"), std::string::npos) << e;
  EXPECT_NE(e.find("expected a number"), std::string::npos) << e;
  EXPECT_NE(error_of({"--config", "/nonexistent/x.ini"}).find("/nonexistent/x.ini"), std::string::npos);
}

TEST(Config, MalformedFileLines) {
  const auto p1 = write_file("m1.ini", "fps = 1\n");
  EXPECT_NE(error_of({"--config", p1}).find(p1 + ":1"), std::string::npos);
  const auto p2 = write_file("m2.ini", "[ingest]\njust words\n");
  EXPECT_NE(error_of({"--config", p2}).find(p2 + ":2"), std::string::npos);
  const auto p3 = write_file("m3.ini", "[ingest]\nfps = 1\nfps = 2\n");
  EXPECT_NE(error_of({"--config", p3}).find("set twice"), std::string::npos);
}

TEST(Config, RoundTripsThroughIni) {
  const JobConfig a = parse_job_config({"--ingest.width=33", "--job.mode=batch", "--output.images=1"});
  const auto path = write_file("rt.ini", a.to_ini());
  const JobConfig b = parse_job_config({"--config", path});
  EXPECT_EQ(b.width, 33);
  EXPECT_EQ(b.mode, JobMode::batch);
  EXPECT_TRUE(b.images);
  EXPECT_EQ(a.to_ini(), b.to_ini());
}

TEST(Config, ShippedExamplesParse) {
  for (const char* f : {"/default.ini", "/ride-fig10-900.ini", "/stream-900.ini", "/cameras.ini", "/pipeline-cameras.ini"}) {
    const std::string path = std::string(RIDE_CONFIGS_DIR) + f;
    ASSERT_TRUE(std::ifstream(path).good()) << path;
    EXPECT_NO_THROW(parse_job_config({"--config", path})) << path;
  }
}

}  // namespace
}  // namespace ride

namespace ride {
namespace {
TEST(Config, ShippedDefaultIniIsTheBuiltInDefault) {
  const std::string path = std::string(RIDE_CONFIGS_DIR) + "/default.ini";
  EXPECT_EQ(parse_job_config({"--config", path}).to_ini(), parse_job_config({}).to_ini());
}
TEST(Config, VideoSourceTakesStreamsFromItsInputs) {
  const auto list = write_file("inputs.txt", "# cameras\nhttp://10.0.0.1/a.mjpg  door\n\nclip.mp4 # a file\n");
  const JobConfig c = parse_job_config({"--ingest.source=video", "--ingest.inputs=@" + list});
  EXPECT_EQ(c.streams, 2);
  const JobConfig d = parse_job_config({"--ingest.source=video", "--ingest.inputs=a.mp4, rtsp://h/x ,b.avi"});
  EXPECT_EQ(d.streams, 3);
}

TEST(Config, VideoSourceErrorsNameTheKey) {
  std::string e = error_of({"--ingest.source=video"});
  EXPECT_NE(e.find("'ingest.inputs'"), std::string::npos) << e;
  EXPECT_NE(e.find("needs inputs"), std::string::npos) << e;
  e = error_of({"--ingest.source=video", "--ingest.inputs=@/nonexistent/list.txt"});
  EXPECT_NE(e.find("cannot read the input list '/nonexistent/list.txt'"), std::string::npos) << e;
  EXPECT_NE(e.find("'ingest.inputs' (command line)"), std::string::npos) << e;
  e = error_of({"--ingest.source=video", "--ingest.inputs=a.mp4,,b.mp4"});
  EXPECT_NE(e.find("input 2 is empty"), std::string::npos) << e;
  const auto empty = write_file("empty_inputs.txt", "# nothing\n\n");
  e = error_of({"--ingest.source=video", "--ingest.inputs=@" + empty});
  EXPECT_NE(e.find("names no input"), std::string::npos) << e;
  const auto ini = write_file("video.ini", "[ingest]\nsource = video\ninputs = a.mp4,b.mp4\nstreams = 3\n");
  e = error_of({"--config", ini});
  EXPECT_NE(e.find("'ingest.streams' (" + ini + ":4)"), std::string::npos) << e;
  EXPECT_NE(e.find("names 2 inputs"), std::string::npos) << e;
  e = error_of({"--ingest.source=camera"});
  EXPECT_NE(e.find("expected synthetic or video"), std::string::npos) << e;
  e = error_of({"--ingest.color=rgb"});
  EXPECT_NE(e.find("'ingest.color'"), std::string::npos) << e;
}

TEST(Config, CameraScaleKeys) {
  // ingest.stream_decoders: 0 (a capture thread per stream) to 64
  EXPECT_EQ(parse_job_config({"--ingest.stream_decoders=0"}).stream_decoders, 0);
  std::string e = error_of({"--ingest.stream_decoders=65"});
  EXPECT_NE(e.find("'ingest.stream_decoders' (command line)"), std::string::npos) << e;
  // ingest.jpeg_encode: a quality, only with ingest.encoding = jpeg and real inputs
  const auto ini = write_file("encode.ini", "[ingest]\nsource = video\ninputs = a.mp4\nencoding = jpeg\njpeg_encode = 80\n");
  EXPECT_EQ(parse_job_config({"--config", ini}).jpeg_encode, 80);
  e = error_of({"--config", ini, "--ingest.jpeg_encode=101"});
  EXPECT_NE(e.find("'ingest.jpeg_encode' (command line)"), std::string::npos) << e;
  e = error_of({"--config", ini, "--ingest.encoding=raw"});
  EXPECT_NE(e.find("'ingest.jpeg_encode' (" + ini + ":5)"), std::string::npos) << e;
  EXPECT_NE(e.find("needs ingest.encoding = jpeg"), std::string::npos) << e;
  e = error_of({"--ingest.encoding=jpeg", "--ingest.jpeg_encode=80"});
  EXPECT_NE(e.find("applies to ingest.source = video"), std::string::npos) << e;
}

}  // namespace
}  // namespace ride

namespace ride {
namespace {

TEST(ConfigStages, WithoutJobStagesTheJobIsOneStageOfTodaysKeys) {
  const JobConfig c = parse_job_config({"--task.name=hessian", "--ingest.partitioning=key", "--worker.threads=2"});
  ASSERT_EQ(c.stages.size(), 1u);
  EXPECT_FALSE(c.multi_stage());
  EXPECT_EQ(c.stages[0].name, "main");
  EXPECT_EQ(c.stages[0].task, "hessian");
  EXPECT_EQ(c.stages[0].partitioning, Partitioning::key);
  EXPECT_EQ(c.stages[0].threads, 2);
  EXPECT_EQ(c.stages[0].key("partitioning"), "ingest.partitioning");
  EXPECT_EQ(c.stages[0].key("task"), "task.name");
}

TEST(ConfigStages, SectionsParamsDefaultsAndCommandLine) {
  const auto path = write_file("stages.ini",
                               "[job]\nstages = motion, objects\n\n[stage.motion]\ntask = me\npartitioning = key\n"
                               "workers = 2\nforward = foreground_pct > 1\n\n[stage.motion.params]\nhistory = 200\n\n"
                               "[stage.objects]\ntask = mod\ninput = motion\nemit = frame\n");
  const JobConfig c = parse_job_config({"--config", path, "--stage.objects.workers=3", "--stage.objects.partitioning=key"});
  ASSERT_TRUE(c.multi_stage());
  ASSERT_EQ(c.stages.size(), 2u);
  EXPECT_EQ(c.stages[0].name, "motion");
  EXPECT_EQ(c.stages[0].input, "ingest");
  EXPECT_EQ(c.stages[0].workers, 2);
  EXPECT_EQ(c.stages[0].forward, "foreground_pct > 1");
  EXPECT_EQ(c.stages[0].params.at("history"), "200");
  EXPECT_EQ(c.stages[1].input, "motion");
  EXPECT_EQ(c.stages[1].workers, 3);
  EXPECT_EQ(c.stage_index("objects"), 1);
  EXPECT_EQ(c.origin.at("stage.motion.params.history"), path + ":11");
  EXPECT_EQ(c.origin.at("stage.objects.workers"), "command line");
  // The effective configuration written out reads back the same.
  const auto again = write_file("stages_rt.ini", c.to_ini());
  const JobConfig d = parse_job_config({"--config", again});
  EXPECT_EQ(d.to_ini(), c.to_ini());
  ASSERT_EQ(d.stages.size(), 2u);
  EXPECT_EQ(d.stages[1].workers, 3);
}

TEST(ConfigStages, ErrorsNameTheKeyAndWhereItWasSet) {
  const auto path = write_file("stages_bad.ini", "[job]\nstages = a, b\n[stage.a]\ntask = stddev\ninput = b\n"
                                                 "[stage.b]\ntask = stddev\ninput = a\n");
  std::string e = error_of({"--config", path});
  EXPECT_NE(e.find("'stage.a.input' (" + path + ":5)"), std::string::npos) << e;
  EXPECT_NE(e.find("cycle (a <- b <- a)"), std::string::npos) << e;
  e = error_of({"--job.stages=a", "--stage.a.task=stddev", "--stage.a.input=nowhere"});
  EXPECT_NE(e.find("'stage.a.input' (command line): 'nowhere' is neither ingest nor a stage"), std::string::npos) << e;
  e = error_of({"--job.stages=a", "--stage.a.task=stddev", "--stage.b.task=stddev"});
  EXPECT_NE(e.find("names stage 'b', which job.stages (a) does not list"), std::string::npos) << e;
  e = error_of({"--job.stages=a", "--stage.a.task=stddev", "--stage.a.workerz=2"});
  EXPECT_NE(e.find("unknown key 'stage.a.workerz' (command line)"), std::string::npos) << e;
  e = error_of({"--job.stages=a"});
  EXPECT_NE(e.find("stage 'a' has no task: set stage.a.task"), std::string::npos) << e;
  e = error_of({"--job.stages=a", "--stage.a.task=stddev", "--stage.a.workers=x"});
  EXPECT_NE(e.find("bad value 'x' for 'stage.a.workers' (command line): expected an integer"), std::string::npos) << e;
  e = error_of({"--job.stages=a,a"});
  EXPECT_NE(e.find("stage 'a' named twice"), std::string::npos) << e;
  e = error_of({"--job.stages=a", "--stage.a.task=stddev", "--task.name=hessian"});
  EXPECT_NE(e.find("'task.name' (command line) is not used when job.stages is set"), std::string::npos) << e;
  e = error_of({"--job.stages=a", "--stage.a.task=stddev", "--stage.a.input=ingest,a"});
  EXPECT_NE(e.find("fan-in (several inputs) is not supported"), std::string::npos) << e;
  e = error_of({"--stage.a.task=stddev"});
  EXPECT_NE(e.find("[stage.*] sections need job.stages"), std::string::npos) << e;
  e = error_of({"--job.stages=a", "--stage.a.task=stddev", "--stage.a.emit=pixels"});
  EXPECT_NE(e.find("'stage.a.emit' (command line): expected frame or image"), std::string::npos) << e;
}

}  // namespace
}  // namespace ride

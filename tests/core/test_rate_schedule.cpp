#include <gtest/gtest.h>

#include "core/config.h"
#include "core/error.h"
#include "core/rate_schedule.h"

namespace ride {
namespace {

TEST(RateSchedule, FramesFollowTheStepsAndInvert) {
  const RateSchedule r(parse_time_schedule("0:10,20:40,40:10", "'ingest.fps_schedule' (command line)", false));
  EXPECT_DOUBLE_EQ(r.fps_at(5), 10);
  EXPECT_DOUBLE_EQ(r.fps_at(20), 40);
  EXPECT_DOUBLE_EQ(r.fps_at(100), 10);
  EXPECT_DOUBLE_EQ(r.frames_until(20), 200);
  EXPECT_DOUBLE_EQ(r.frames_until(30), 600);
  EXPECT_DOUBLE_EQ(r.frames_until(50), 1100);
  for (double x : {0.0, 0.5, 199.0, 200.0, 600.0, 999.5, 1100.0, 2000.0}) {
    EXPECT_NEAR(r.frames_until(r.time_of(x)), x, 1e-9) << x;
  }
  EXPECT_DOUBLE_EQ(r.time_of(200), 20);
  // A constant rate is the plain fps: frame k at k / fps.
  const RateSchedule c(25);
  EXPECT_DOUBLE_EQ(c.time_of(50), 2.0);
  // A pause: no frame is due while the rate is 0, the next comes when it resumes.
  const RateSchedule p({{0, 0}, {5, 2}});
  EXPECT_DOUBLE_EQ(p.time_of(0), 5);
  EXPECT_DOUBLE_EQ(p.time_of(1), 5.5);
}

TEST(RateSchedule, MalformedSchedulesNameTheKeyAndItem) {
  const std::string where = "'ingest.fps_schedule' (job.ini:4)";
  auto error = [&](const std::string& text, bool whole = false) {
    try {
      parse_time_schedule(text, where, whole);
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(error("0:10,20").find(where + ": '20' is not TIME:VALUE (e.g. 0:10,20:40,40:10)"), std::string::npos);
  EXPECT_NE(error("0:10,x:5").find("'x:5' is not TIME:VALUE"), std::string::npos);
  EXPECT_NE(error("0:10,20:5fps").find("'20:5fps' is not TIME:VALUE"), std::string::npos);
  EXPECT_NE(error("0:10,20:5,10:3").find("times must increase ('10:3'"), std::string::npos);
  EXPECT_NE(error("5:10").find("must start at time 0"), std::string::npos);
  EXPECT_NE(error("0:-1").find("needs a time >= 0 and a value >= 0"), std::string::npos);
  EXPECT_NE(error("").find("an empty schedule"), std::string::npos);
  EXPECT_NE(error("0:1,45:1.5", true).find("'45:1.5' needs a whole number"), std::string::npos);
  EXPECT_EQ(parse_time_schedule(" 0:0, 45:1 ,80:2", where, true).size(), 3u);
}

TEST(RateSchedule, ConfigUsesTheScheduleForFrameCountsAndNamesItsErrors) {
  const JobConfig c = parse_job_config({"--ingest.fps_schedule=0:10,20:40,40:10", "--ingest.duration_s=60"});
  EXPECT_EQ(c.frames_per_stream(), 1200u);  // 20 s at 10, 20 s at 40, 20 s at 10
  try {
    parse_job_config({"--ingest.fps_schedule=0:10,20"});
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("'ingest.fps_schedule' (command line): '20' is not TIME:VALUE"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(parse_job_config({"--ingest.fps_schedule=0:0,10:0"}), ConfigError);
  EXPECT_THROW(parse_job_config({"--scaling.schedule=0:1,40:2"}), ConfigError);  // needs scaling.adaptive
  EXPECT_THROW(parse_job_config({"--scaling.adaptive=true", "--scaling.enabled=true"}), ConfigError);
  EXPECT_NO_THROW(parse_job_config({"--scaling.adaptive=true", "--scaling.schedule=0:0,45:1,80:2"}));
}

}  // namespace
}  // namespace ride

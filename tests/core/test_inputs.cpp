/// ingest.inputs lists (core/inputs.h): the camera list CSV of #15 (a camera-database export:
/// id, url, fps, optional width and height), with errors that name FILE:LINE and the column.
#include "core/inputs.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "core/error.h"

namespace ri = ride::ingest;

namespace {

/// "@PATH" (built without operator+, which GCC 12's -Wrestrict misreads here).
std::string at(const std::string& path) {
  std::string s(1, '@');
  s.append(path);
  return s;
}

class CameraList : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("ride_inputs_" + std::to_string(::getpid()) + "_" +
                                                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string write(const std::string& text) {
    const auto p = dir_ / "cameras.csv";
    std::ofstream(p) << text;
    return p.string();
  }
  /// The ConfigError parse_inputs throws for `text`, "" when it throws none.
  std::string error_of(const std::string& text) {
    try {
      ri::parse_inputs(at(write(text)), "'ingest.inputs' (job.ini:4)");
    } catch (const ride::ConfigError& e) {
      return e.what();
    }
    return "";
  }
  std::filesystem::path dir_;
};

TEST_F(CameraList, ColumnsInAnyOrderExtraColumnsIgnored) {
  const std::string path = write(
      "id,lat,url,fps,width,height\n"
      "cam-1,40.4,http://127.0.0.1:8080/cam/1.jpg,0.5,640,480\n"
      "# a comment line\n"
      "\n"
      "\"cam,2\",40.5,rtsp://127.0.0.1:8554/two,15,,\n"
      "cam-3,40.6,clips/a.mp4,2.5,96,72\n");
  const auto in = ri::parse_inputs(at(path), "k");
  ASSERT_EQ(in.size(), 3u);
  EXPECT_EQ(in[0].name, "cam-1");
  EXPECT_EQ(in[0].url, "http://127.0.0.1:8080/cam/1.jpg");
  EXPECT_TRUE(in[0].live);
  EXPECT_DOUBLE_EQ(in[0].fps, 0.5);
  EXPECT_EQ(in[0].width, 640);
  EXPECT_EQ(in[0].height, 480);
  EXPECT_EQ(in[0].origin, path + ":2");
  EXPECT_EQ(in[1].name, "cam,2");
  EXPECT_DOUBLE_EQ(in[1].fps, 15);
  EXPECT_EQ(in[1].width, 0);  // none declared
  EXPECT_EQ(in[1].origin, path + ":5");
  // A relative path resolves against the list's folder, as in `URL [NAME]` lists.
  EXPECT_EQ(in[2].url, (dir_ / "clips/a.mp4").string());
  EXPECT_FALSE(in[2].live);
}

TEST_F(CameraList, TheMinimalHeaderIsEnough) {
  const auto in = ri::parse_inputs(at(write("id,url,fps\na,http://h/a.jpg,1\nb,http://h/b.jpg,0.25\n")), "k");
  ASSERT_EQ(in.size(), 2u);
  EXPECT_DOUBLE_EQ(in[1].fps, 0.25);
  EXPECT_EQ(in[1].width, 0);
}

TEST_F(CameraList, ErrorsNameTheLineAndTheColumn) {
  EXPECT_NE(error_of("id,url,fps\na,http://h/a.jpg,fast\n").find("cameras.csv:2: column 'fps': 'fast' is not a positive number"),
            std::string::npos);
  EXPECT_NE(error_of("id,url,fps\na,http://h/a.jpg,0\n").find("column 'fps': '0'"), std::string::npos);
  EXPECT_NE(error_of("id,url,fps,width,height\na,http://h/a.jpg,1,640.5,480\n").find("column 'width'"),
            std::string::npos);
  EXPECT_NE(error_of("id,url,fps,width,height\na,http://h/a.jpg,1,640,\n").find("cameras.csv:2: give both"),
            std::string::npos);
  EXPECT_NE(error_of("id,url,fps\na,http://h/a.jpg,1\nb,http://h/b.jpg,1\na,http://h/c.jpg,1\n")
                .find("cameras.csv:4: camera id 'a' was given before, at "),
            std::string::npos);
  EXPECT_NE(error_of("id,url,fps\na,http://h/a.jpg\n").find("cameras.csv:2: 2 field(s), the header names 3 (no column 'fps')"),
            std::string::npos);
  EXPECT_NE(error_of("id,url,fps,width\na,u,1,2\n").find("cameras.csv:1: the header has 'width' without 'height'"),
            std::string::npos);
  EXPECT_NE(error_of("id,url,fps\n\"a,http://h/a.jpg,1\n").find("a quoted field is not closed"), std::string::npos);
  EXPECT_NE(error_of("id,url,fps\n# nothing\n").find("names no camera"), std::string::npos);
  EXPECT_NE(error_of("id,url,fps\n,http://h/a.jpg,1\n").find("column 'id' is empty"), std::string::npos);
}

TEST_F(CameraList, APlainListIsStillAPlainList) {
  // `URL [NAME]` lines (no CSV header): today's format, unchanged.
  const auto in = ri::parse_inputs(at(write("http://h/a.mjpg front door\nrtsp://h/b\n")), "k");
  ASSERT_EQ(in.size(), 2u);
  EXPECT_EQ(in[0].name, "front door");
  EXPECT_DOUBLE_EQ(in[0].fps, 0);
}

TEST(CsvLine, QuotingFollowsRfc4180) {
  EXPECT_EQ(ri::split_csv_line("a,\"b,c\",\"d \"\"e\"\"\",", "o"),
            (std::vector<std::string>{"a", "b,c", "d \"e\"", ""}));
  EXPECT_EQ(ri::split_csv_line("", "o"), (std::vector<std::string>{""}));
  EXPECT_THROW(ri::split_csv_line("a,\"b", "o"), ride::ConfigError);
}

}  // namespace

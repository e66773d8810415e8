// ingest/video_source: parsing ingest.inputs, and real reading through OpenCV/FFmpeg: files made
// here with ffmpeg are compared frame by frame with an independent decode; a camera nobody serves
// is retried and ends "unreachable"; a live MJPEG stream served by ffmpeg is sampled newest-first.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include <hdf5.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include "core/error.h"
#include "core/inputs.h"
#include "ingest/video_source.h"
#include "media_test_util.h"

namespace ri = ride::ingest;
using ride::test::decode_gray;
using ride::test::have_ffmpeg;
using ride::test::tmp;
using ride::test::wait_until;

namespace {

/// Makes a test video with ffmpeg; empty when that fails.
std::string make_video(const std::string& name, const std::string& args) {
  const std::string path = tmp(name);
  const std::string cmd = "ffmpeg -hide_banner -loglevel error -nostdin -y " + args + " '" + path + "'";
  if (std::system(cmd.c_str()) != 0) return {};
  return path;
}

/// A live camera for one client: ffmpeg serves `source_and_output` (lavfi input, codec, format
/// options; words separated by spaces) at http://127.0.0.1:PORT/PATH, returned once it listens
/// (its url; error says why when it could not be started). Killed when the result goes.
ride::test::ServerProcess serve_camera(const std::string& path, const std::string& source_and_output) {
  std::vector<std::string> argv = {"ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-re"};
  for (auto& w : ride::test::words(source_and_output)) argv.push_back(w);
  const std::string url = "http://127.0.0.1:{port}/" + path;
  argv.insert(argv.end(), {"-listen", "1", url});
  return ride::test::serve_on_free_port(argv, url);
}

}  // namespace

TEST(Inputs, LiveUrlsAreTold) {
  EXPECT_TRUE(ri::is_live_url("http://127.0.0.1:8080/cam.mjpg"));
  EXPECT_TRUE(ri::is_live_url("rtsp://cam/stream1"));
  EXPECT_TRUE(ri::is_live_url("/dev/video0"));
  EXPECT_FALSE(ri::is_live_url("clip.mp4"));
  EXPECT_FALSE(ri::is_live_url("/data/http/clip.mp4"));
}

TEST(Inputs, ListFileWithNamesCommentsAndRelativePaths) {
  ASSERT_EQ(std::system(("mkdir -p '" + tmp("cams") + "'").c_str()), 0);
  const std::string list = tmp("cams/list.txt");
  std::ofstream(list) << "# lobby cameras\n  rtsp://10.1.1.5/s1   lobby east \n\nclips/a.mp4\n/abs/b.avi b # note\n";
  const auto in = ri::parse_inputs("@" + list, "'ingest.inputs' (job.ini:3)");
  ASSERT_EQ(in.size(), 3u);
  EXPECT_EQ(in[0].url, "rtsp://10.1.1.5/s1");
  EXPECT_EQ(in[0].name, "lobby east");
  EXPECT_TRUE(in[0].live);
  EXPECT_EQ(in[0].origin, list + ":2");
  EXPECT_EQ(in[1].url, tmp("cams/clips/a.mp4"));  // relative to the list file
  EXPECT_EQ(in[1].name, in[1].url);
  EXPECT_FALSE(in[1].live);
  EXPECT_EQ(in[2].url, "/abs/b.avi");
  EXPECT_EQ(in[2].name, "b");
  EXPECT_EQ(in[2].origin, list + ":5");
}

TEST(Inputs, ErrorsNameTheKey) {
  try {
    ri::parse_inputs("a.mp4,  ,b.mp4", "'ingest.inputs' (job.ini:3)");
    FAIL() << "an empty entry was accepted";
  } catch (const ride::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("'ingest.inputs' (job.ini:3): input 2 is empty"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(ri::parse_inputs("@/no/such/list", "k"), ride::ConfigError);
}

TEST(VideoInput, FileFramesInOrderEqualAnIndependentDecode) {
  if (!have_ffmpeg()) GTEST_SKIP() << "ffmpeg is not installed";
  const auto path = make_video("v_a.avi", "-f lavfi -i testsrc=size=64x48:rate=10 -frames:v 12 -c:v mjpeg -q:v 2");
  ASSERT_FALSE(path.empty());
  const auto ref = decode_gray(path);
  ASSERT_EQ(ref.size(), 12u);
  auto owner = ri::make_opencv_video_input(ri::InputSpec{path, "a", "test", false}, ri::VideoOptions{});
  ri::VideoInput& in = *owner;
  in.start();
  ri::VideoFrame f;
  std::size_t n = 0;
  for (;;) {
    const auto got = in.take(f, 5.0);
    if (got == ri::VideoInput::Got::ended) break;
    ASSERT_EQ(got, ri::VideoInput::Got::frame) << "no frame within 5 s";
    ASSERT_LT(n, ref.size());
    ASSERT_EQ(f.width, 64);
    ASSERT_EQ(f.height, 48);
    ASSERT_EQ(f.channels, 1);
    EXPECT_EQ(f.index, n + 1);
    EXPECT_EQ(0, std::memcmp(f.pixels().data(), ref[n].data, f.pixels().size())) << "frame " << n;
    ++n;
  }
  EXPECT_EQ(n, 12u);
  in.join();
  const auto st = in.status();
  EXPECT_EQ(st.state, "ended");
  EXPECT_EQ(st.frames_read, 12u);
  EXPECT_EQ(st.attempts, 1u);
}

TEST(VideoInput, BgrFramesKeepThreeChannelsAtOddSizes) {
  if (!have_ffmpeg()) GTEST_SKIP() << "ffmpeg is not installed";
  // lossless FFV1 at an odd size
  const auto path = make_video("v_b.mkv", "-f lavfi -i testsrc=size=33x31:rate=10 -frames:v 3 -c:v ffv1 -pix_fmt bgr0");
  ASSERT_FALSE(path.empty());
  cv::VideoCapture cap(path, cv::CAP_FFMPEG);
  cv::Mat ref;
  ASSERT_TRUE(cap.read(ref));
  ri::VideoOptions o;
  o.gray = false;
  auto owner = ri::make_opencv_video_input(ri::InputSpec{path, "b", "test", false}, o);
  ri::VideoInput& in = *owner;
  in.start();
  ri::VideoFrame f;
  ASSERT_EQ(in.take(f, 5.0), ri::VideoInput::Got::frame);
  EXPECT_EQ(f.channels, 3);
  EXPECT_EQ(f.width, 33);
  EXPECT_EQ(f.height, 31);
  ASSERT_EQ(f.pixels().size(), 33u * 31u * 3u);
  for (int y = 0; y < 31; ++y)  // rows tightly packed (OpenCV's may be padded)
    ASSERT_EQ(0, std::memcmp(f.pixels().data() + static_cast<std::size_t>(y) * 33 * 3, ref.ptr(y), 33 * 3)) << "row " << y;
}

TEST(VideoInput, NotAVideoIsRetriedNotFatal) {
  const std::string path = tmp("not_a_video.mp4");
  std::ofstream(path) << "this is text, not a video";
  ri::VideoOptions o;
  o.retry_s = 0.05;
  o.retry_max_s = 0.05;
  auto owner = ri::make_opencv_video_input(ri::InputSpec{path, "bad", "test", false}, o);
  ri::VideoInput& in = *owner;
  in.start();
  // a second attempt has begun: the first one failed and was retried
  EXPECT_TRUE(wait_until([&] { return in.status().attempts >= 2; })) << in.status().last_error;
  ri::VideoFrame f;
  EXPECT_EQ(in.take(f, 0), ri::VideoInput::Got::none);
  in.join();
  EXPECT_EQ(in.status().state, "unreachable");
  EXPECT_GE(in.status().attempts, 2u);
}

TEST(VideoInput, UnreachableCameraIsRetriedAndReported) {
  ri::VideoOptions o;
  o.retry_s = 0.05;
  o.retry_max_s = 0.1;
  o.timeout_s = 1;
  // port 1 on the loopback: nothing listens, the connection is refused at once
  auto owner = ri::make_opencv_video_input(ri::InputSpec{"http://127.0.0.1:1/none.mjpg", "none", "test", true}, o);
  ri::VideoInput& in = *owner;
  in.start();
  // a third attempt has begun: two opens were refused and retried (state stays "retrying")
  EXPECT_TRUE(wait_until([&] { return in.status().attempts >= 3; })) << in.status().last_error;
  ri::VideoFrame f;
  EXPECT_EQ(in.take(f, 0), ri::VideoInput::Got::none);
  EXPECT_EQ(in.status().state, "retrying");
  const auto t0 = std::chrono::steady_clock::now();
  in.join();
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 1.5)
      << "stopping a retrying input must not wait out its backoff";
  const auto st = in.status();
  EXPECT_EQ(st.state, "unreachable");
  EXPECT_GE(st.attempts, 3u);
  EXPECT_NE(st.last_error.find("cannot open"), std::string::npos) << st.last_error;
}

TEST(VideoInput, LiveMjpegIsSampledNewestFirst) {
  if (!have_ffmpeg()) GTEST_SKIP() << "ffmpeg is not installed";
  // ffmpeg serves one client a 10 fps MJPEG stream over HTTP for 3 s
  const auto cam = serve_camera("cam.mjpg", "-f lavfi -i testsrc=size=80x60:rate=10 -t 3 -f mpjpeg");
  ASSERT_TRUE(cam.listening()) << cam.error;
  ri::VideoOptions o;
  o.retry_s = 0.1;
  auto owner = ri::make_opencv_video_input(ri::InputSpec{cam.url, "cam", "test", true}, o);
  ri::VideoInput& in = *owner;
  in.start();
  ri::VideoFrame f;
  std::uint64_t last = 0, taken = 0;
  const auto t0 = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(1500)) {
    // Not synchronization: ingest's sampling at 4 fps of a 10 fps camera is the behaviour under
    // test (frames grabbed between two asks are read but not handed out).
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    if (in.take(f, 0.5) != ri::VideoInput::Got::frame) continue;  // ask, then wait for the next frame
    EXPECT_GT(f.index, last) << "a frame was handed out twice";
    EXPECT_EQ(f.width, 80);
    EXPECT_EQ(f.channels, 1);
    EXPECT_EQ(f.pixels().size(), 80u * 60u);
    last = f.index;
    ++taken;
  }
  const auto st = in.status();
  in.join();
  EXPECT_GE(taken, 3u);
  EXPECT_GT(st.frames_read, taken) << "the camera is read faster than it is sampled; only the newest is kept";
  EXPECT_GT(st.frames_read, 2 * taken) << "frames nobody asked for are grabbed, not handed out";
}

TEST(VideoInput, ImageFolderInNameOrderSkippingBadFiles) {
  namespace fs = std::filesystem;
  const fs::path dir = tmp("folder_in");
  fs::remove_all(dir);
  fs::create_directories(dir);
  // b.png and a.png made here; c.jpg is not an image; notes.txt is not an image file at all
  cv::Mat a(5, 7, CV_8UC3, cv::Scalar(10, 20, 30)), b(3, 4, CV_8UC3, cv::Scalar(200, 100, 50));
  ASSERT_TRUE(cv::imwrite((dir / "b.png").string(), b));
  ASSERT_TRUE(cv::imwrite((dir / "a.png").string(), a));
  std::ofstream(dir / "c.jpg") << "truncated";
  std::ofstream(dir / "notes.txt") << "hello";
  auto owner = ri::make_opencv_video_input(ri::InputSpec{dir.string(), "folder", "test", false}, ri::VideoOptions{});
  ri::VideoInput& in = *owner;
  in.start();
  ri::VideoFrame f;
  ASSERT_EQ(in.take(f, 5.0), ri::VideoInput::Got::frame);
  EXPECT_EQ(f.width, 7);  // a.png first
  EXPECT_EQ(f.height, 5);
  cv::Mat g;
  cv::cvtColor(a, g, cv::COLOR_BGR2GRAY);
  EXPECT_EQ(std::to_integer<int>(f.pixels()[0]), g.at<std::uint8_t>(0, 0));
  ASSERT_EQ(in.take(f, 5.0), ri::VideoInput::Got::frame);
  EXPECT_EQ(f.width, 4);
  EXPECT_EQ(in.take(f, 5.0), ri::VideoInput::Got::ended);
  in.join();
  const auto st = in.status();
  EXPECT_EQ(st.state, "ended");
  EXPECT_EQ(st.frames_read, 2u);
  EXPECT_EQ(st.skipped_files, 1u);
  EXPECT_NE(st.last_error.find("c.jpg"), std::string::npos) << st.last_error;
}

TEST(VideoInput, EmptyFolderIsRetriedThenUnreachable) {
  namespace fs = std::filesystem;
  const fs::path dir = tmp("folder_empty");
  fs::remove_all(dir);
  fs::create_directories(dir);
  ri::VideoOptions o;
  o.retry_s = 0.05;
  o.retry_max_s = 0.05;
  auto owner = ri::make_opencv_video_input(ri::InputSpec{dir.string(), "empty", "test", false}, o);
  ri::VideoInput& in = *owner;
  in.start();
  EXPECT_TRUE(wait_until([&] { return in.status().attempts >= 2; })) << in.status().last_error;  // retried
  in.join();
  EXPECT_EQ(in.status().state, "unreachable");
  EXPECT_GE(in.status().attempts, 2u);
  EXPECT_NE(in.status().last_error.find("no image files"), std::string::npos);
}

namespace {
/// Writes an 8-bit (or float) dataset of `dims` filled with value(i) = (i * 7 + 3) % 251.
void write_h5(const std::string& path, const char* name, std::vector<hsize_t> dims, bool as_float = false) {
  const hid_t f = std::filesystem::exists(path) ? H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT)
                                                : H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  ASSERT_GE(f, 0);
  std::size_t n = 1;
  for (auto d : dims) n *= d;
  const hid_t sp = H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr);
  if (as_float) {
    std::vector<float> v(n, 1.5f);
    const hid_t ds = H5Dcreate2(f, name, H5T_NATIVE_FLOAT, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data());
    H5Dclose(ds);
  } else {
    std::vector<std::uint8_t> v(n);
    for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::uint8_t>((i * 7 + 3) % 251);
    const hid_t ds = H5Dcreate2(f, name, H5T_NATIVE_UINT8, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(ds, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data());
    H5Dclose(ds);
  }
  H5Sclose(sp);
  H5Fclose(f);
}
}  // namespace

TEST(VideoInput, Hdf5ReplayGrayAndBgrDatasets) {
  const std::string path = tmp("replay.h5");
  std::filesystem::remove(path);
  write_h5(path, "/frames", {4, 6, 5});
  write_h5(path, "/color", {2, 3, 4, 3});
  EXPECT_TRUE(ri::is_hdf5_input(path));
  EXPECT_TRUE(ri::is_hdf5_input(path + "#/color"));
  EXPECT_FALSE(ri::is_hdf5_input("clip.mp4"));
  {
    auto owner = ri::make_opencv_video_input(ri::InputSpec{path, "gray", "test", false}, ri::VideoOptions{});  // default /frames
    ri::VideoInput& in = *owner;
    in.start();
    ri::VideoFrame f;
    for (int k = 0; k < 4; ++k) {
      ASSERT_EQ(in.take(f, 5.0), ri::VideoInput::Got::frame) << k;
      ASSERT_EQ(f.width, 5);
      ASSERT_EQ(f.height, 6);
      ASSERT_EQ(f.channels, 1);
      for (std::size_t i = 0; i < 30; ++i)
        ASSERT_EQ(std::to_integer<int>(f.pixels()[i]), static_cast<int>((k * 30 + i) * 7 + 3) % 251) << k << " " << i;
    }
    EXPECT_EQ(in.take(f, 5.0), ri::VideoInput::Got::ended);
  }
  {
    auto owner = ri::make_opencv_video_input(ri::InputSpec{path + "#/color", "color", "test", false}, ri::VideoOptions{});
    ri::VideoInput& in = *owner;
    in.start();
    ri::VideoFrame f;
    ASSERT_EQ(in.take(f, 5.0), ri::VideoInput::Got::frame);
    cv::Mat bgr(3, 4, CV_8UC3), g;
    for (int i = 0; i < 36; ++i) bgr.data[i] = static_cast<std::uint8_t>((i * 7 + 3) % 251);
    cv::cvtColor(bgr, g, cv::COLOR_BGR2GRAY);
    ASSERT_EQ(f.channels, 1);
    EXPECT_EQ(0, std::memcmp(f.pixels().data(), g.data, 12));
  }
}

TEST(VideoInput, Hdf5ReplayBadDatasetsAreReported) {
  const std::string path = tmp("replay_bad.h5");
  std::filesystem::remove(path);
  write_h5(path, "/floats", {2, 3, 4}, true);
  write_h5(path, "/flat", {12});
  ri::VideoOptions o;
  o.retry_s = 0.05;
  o.retry_max_s = 0.05;
  for (const auto& [url, why] : std::vector<std::pair<std::string, std::string>>{
           {path + "#/floats", "not 8-bit frames"}, {path + "#/flat", "not 8-bit frames"},
           {path + "#/missing", "has no dataset '/missing'"}, {tmp("nope.h5"), "no file"}}) {
    auto owner = ri::make_opencv_video_input(ri::InputSpec{url, "bad", "test", false}, o);
    ri::VideoInput& in = *owner;
    in.start();
    // the first attempt failed and was reported (state and last_error are set together)
    EXPECT_TRUE(wait_until([&] { return in.status().state == "retrying"; })) << url;
    in.join();
    EXPECT_EQ(in.status().state, "unreachable") << url;
    EXPECT_NE(in.status().last_error.find(why), std::string::npos) << url << ": " << in.status().last_error;
  }
}

TEST(VideoInput, LiveStreamOfAnotherCodecIsDecodedAndSampled) {
  // MPEG-4 in MPEG-TS over HTTP: its FOURCC is not MJPEG, so every frame is decoded
  if (!have_ffmpeg()) GTEST_SKIP() << "ffmpeg is not installed";
  const auto cam = serve_camera("cam.ts", "-f lavfi -i testsrc=size=96x64:rate=10 -t 4 -c:v mpeg4 -f mpegts");
  ASSERT_TRUE(cam.listening()) << cam.error;
  ri::VideoOptions o;
  o.gray = false;
  auto owner = ri::make_opencv_video_input(ri::InputSpec{cam.url, "ts", "test", true}, o);
  ri::VideoInput& in = *owner;
  in.start();
  ri::VideoFrame f;
  int taken = 0;
  for (int k = 0; k < 8 && taken < 2; ++k)
    if (in.take(f, 0.5) == ri::VideoInput::Got::frame) {
      ++taken;
      EXPECT_EQ(f.width, 96);
      EXPECT_EQ(f.height, 64);
      EXPECT_EQ(f.channels, 3);
    }
  in.join();
  EXPECT_EQ(taken, 2) << in.status().last_error;
}

TEST(VideoInput, JoinReturnsWhileTheDecoderWaitsForRoom) {
  // A file input whose queue is full (nobody takes) must still stop at once, every time.
  if (!have_ffmpeg()) GTEST_SKIP() << "ffmpeg is not installed";
  const auto path = make_video("v_full.avi", "-f lavfi -i testsrc=size=32x24:rate=10 -frames:v 40 -c:v mjpeg");
  ASSERT_FALSE(path.empty());
  const ri::VideoOptions o{};
  for (int k = 0; k < 20; ++k) {
    auto owner = ri::make_opencv_video_input(ri::InputSpec{path, "full", "test", false}, o);
    ri::VideoInput& in = *owner;
    in.start();
    if (k % 3 == 0) {
      // The queue is full and the decoder waits for room: it has counted one frame more than the
      // queue holds (a frame is counted before it waits for room).
      EXPECT_TRUE(wait_until([&] { return in.status().frames_read > o.file_queue; })) << k;
    } else {
      // Not synchronization: joined at whatever moment 1 ms after start() falls on (opening the
      // file, decoding, or a first wait for room), as a job that ends at once would.
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    const auto t0 = std::chrono::steady_clock::now();
    in.join();
    EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 1.0) << k;
    EXPECT_EQ(in.status().state, "stopped");
  }
}

#pragma once
/// @brief CAM²'s five analysis programs (Kaseb et al., TPDS 2019, Table 4) on the CPU through
/// OpenCV: image archival (IA), motion estimation (ME), moving-object detection (MOD), feature
/// tracking (FT) and human detection (HD).
///
/// One instance serves ONE stream (camera): process() takes that stream's frames one at a time,
/// in order. Stateful programs (ME, MOD, FT) keep the stream's history in the instance; the
/// framework keeps one instance per stream. Instances share nothing, so instances of different
/// streams may run concurrently on different threads; one instance is not safe for concurrent
/// calls.
///
/// Input frames (every program). 8-bit unsigned, 1 channel (gray) or 3 channels (BGR,
/// interleaved), rows stride_bytes apart (stride_bytes >= width * channels). Either a plain
/// pointer (data, width, height, channels, stride_bytes) or a cv::Mat of type CV_8UC1 / CV_8UC3
/// (any step, e.g. a ROI view). Nothing is retained: the frame may be overwritten as soon as
/// process() returns. An empty frame (width or height 0; data may then be null) returns a
/// result with zero counts (IA: zero bytes, the checksum of zero bytes) and leaves the state
/// untouched. A frame whose size or channel count differs from the stream's previous frame
/// restarts the stateful programs (as reset() would) before being processed. A violated contract (null data for a non-empty frame, negative size,
/// channels not 1 or 3, short stride, bad parameters) throws ride::Error naming what is wrong.
///
/// Threads. Each program's params carry `threads` (>= 1), the cores its rank gives one stream.
/// Where the work splits without changing the result, the program splits it itself over that
/// many std::threads started per call (no pool, so nothing spins while idle): ME and MOD run one
/// MOG2 model per horizontal band (MOG2 is per-pixel, so the mask is identical for any thread
/// count), FT splits the tracked points (Lucas-Kanade tracks each point alone, so the tracks are
/// identical), HD splits the HOG pyramid levels (same detections as HOGDescriptor::
/// detectMultiScale). OpenCV offers no per-call thread count: its own internal parallel loops
/// (colour conversion, morphology, corner detection, pyramids, resize) use OpenCV's pool, whose
/// size is PROCESS-GLOBAL (cv::setNumThreads; see set_opencv_threads below), and OpenCV runs a
/// parallel loop nested in another one (or started while another thread's is running)
/// serially. IA is memory-bound and runs on the calling thread.
///
/// No GPU path: Debian's OpenCV has no CUDA modules; these programs are CPU-only by design.
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <opencv2/core/mat.hpp>
#include <span>
#include <string_view>
#include <vector>

namespace ride::kernels::cam2 {

/// @brief An axis-aligned box in frame pixels: columns [x, x + w), rows [y, y + h).
struct Box {
  int x = 0, y = 0, w = 0, h = 0;
  double score = 0;  ///< program-specific: MOD contour area (px²), HD SVM margin
  friend bool operator==(const Box&, const Box&) = default;
};

/// @brief A tracked feature: position in the current frame and its displacement since the
/// previous frame (current minus previous), in pixels.
struct TrackPoint {
  float x = 0, y = 0, dx = 0, dy = 0;
  friend bool operator==(const TrackPoint&, const TrackPoint&) = default;
};

/// @brief What a program is and produces (for the task registry, the sink and the cost model).
struct ProgramInfo {
  std::string_view name;                           ///< "ia", "me", "mod", "ft" or "hd"
  std::span<const std::string_view> scalar_names;  ///< order of Result::scalars()
  bool stateful = false;  ///< keeps per-stream state: frames of a stream must arrive in order
  bool boxes = false;     ///< Result::boxes is filled
  bool points = false;    ///< Result::points is filled
  bool image = false;     ///< Result carries an image (IA: the frame; ME: the mask, if asked)
};

/// @brief Sets the size of OpenCV's internal thread pool: PROCESS-GLOBAL (cv::setNumThreads),
/// it affects every OpenCV call of every thread in the process. A worker rank calls it once
/// with its per-stream thread budget; the programs themselves never call it. threads >= 1.
void set_opencv_threads(int threads);

// ------------------------------------------------------------------------------------------
// IA: image archival
// ------------------------------------------------------------------------------------------

/// @brief IA parameters.
struct IaParams {
  int jpeg_quality = 0;     ///< 0: no JPEG; 1..100: also JPEG-encode at this quality
  bool keep_pixels = true;  ///< carry the packed raw copy of the frame in the result
  int threads = 1;          ///< accepted for uniformity; IA runs on the calling thread
};

/// @brief IA result. "Archival" here means: the frame is stored unchanged. The result carries
/// a packed copy of the pixels (row-major, width * channels bytes per row, no padding: the
/// bytes the sink writes), their count, and ride::checksum64 (core/checksum.h) of exactly those
/// bytes, the same hash the framework uses for input checksums, so a stored copy can be
/// verified later. With jpeg_quality > 0 it also carries the frame as a JPEG file
/// (baseline JPEG from libjpeg at quality jpeg_quality, as cv::imencode makes it; gray stays 1 channel) and its
/// size: what CAM²'s archiver stores when it saves the JPEG a camera serves.
struct IaResult {
  static constexpr std::array<std::string_view, 2> kScalarNames{"bytes", "compressed_bytes"};
  std::uint64_t bytes = 0;             ///< width * height * channels
  std::uint64_t compressed_bytes = 0;  ///< jpeg.size(); 0 without JPEG or for an empty frame
  std::uint64_t checksum = 0;          ///< ride::checksum64 of the packed pixels
  int width = 0, height = 0, channels = 0;
  std::vector<std::uint8_t> pixels;  ///< packed copy (empty if !keep_pixels)
  std::vector<std::uint8_t> jpeg;    ///< JPEG file bytes (empty without JPEG)
  std::array<double, 2> scalars() const {
    return {static_cast<double>(bytes), static_cast<double>(compressed_bytes)};
  }
};

/// @brief IA: stateless. See IaResult for the definition of the output.
class ImageArchival {
 public:
  explicit ImageArchival(IaParams params = {});
  IaResult process(const std::uint8_t* data, int width, int height, int channels,
                   std::ptrdiff_t stride_bytes) const;
  IaResult process(const cv::Mat& frame) const;
  const IaParams& params() const { return params_; }
  static ProgramInfo info();

 private:
  IaParams params_;
};

// ------------------------------------------------------------------------------------------
// ME: motion estimation
// ------------------------------------------------------------------------------------------

/// @brief ME parameters: those of cv::createBackgroundSubtractorMOG2 plus the learning rate
/// passed to apply().
struct MeParams {
  int history = 500;           ///< frames that shape the model; > 0
  double var_threshold = 16;   ///< squared Mahalanobis distance for "matches the model"; > 0
  bool detect_shadows = true;  ///< mark shadows (127) apart from foreground (255)
  double learning_rate = -1;   ///< in [0, 1], or < 0 for OpenCV's automatic 1/min(2n, history)
  bool output_mask = false;    ///< copy the mask into the result
  int threads = 1;             ///< bands of the frame, one MOG2 model and one thread each
};

/// @brief ME result. The mask is MOG2's (Zivkovic 2004, 2006) for this frame given the
/// stream's previous frames: 255 foreground, 127 shadow (only with detect_shadows), 0
/// background. foreground_pct = 100 * (pixels at 255) / (width * height); shadows are NOT
/// foreground. shadow_pct likewise for 127. The first frame of a stream is all new: foreground,
/// or with detect_shadows all shadow (MOG2's shadow test accepts the mode it just created for
/// the pixel). The same quirk makes new values read as shadow during the first ~5 frames,
/// while MOG2's automatic learning rate is still high: give a stream a few frames to settle.
struct MeResult {
  static constexpr std::array<std::string_view, 2> kScalarNames{"foreground_pct", "shadow_pct"};
  double foreground_pct = 0;
  double shadow_pct = 0;
  std::vector<std::uint8_t> mask;  ///< width * height bytes, row-major (only if output_mask)
  std::array<double, 2> scalars() const { return {foreground_pct, shadow_pct}; }
};

/// @brief ME: stateful (the background model). CAM² cites KaewTraKulPong & Bowden's MOG for ME
/// (OpenCV's bgsegm module); we use MOG2 for ME and MOD alike, the model OpenCV's main modules
/// carry (the same family with an adaptive number of components).
class MotionEstimation {
 public:
  explicit MotionEstimation(MeParams params = {});
  ~MotionEstimation();
  MotionEstimation(MotionEstimation&&) noexcept;
  MotionEstimation& operator=(MotionEstimation&&) noexcept;
  MeResult process(const std::uint8_t* data, int width, int height, int channels,
                   std::ptrdiff_t stride_bytes);
  MeResult process(const cv::Mat& frame);
  /// @brief Forgets the stream: the next frame starts a new background model.
  void reset();
  const MeParams& params() const;
  static ProgramInfo info();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// ------------------------------------------------------------------------------------------
// MOD: moving-object detection
// ------------------------------------------------------------------------------------------

/// @brief MOD parameters.
struct ModParams {
  int history = 500;           ///< MOG2, as MeParams
  double var_threshold = 16;   ///< MOG2, as MeParams
  bool detect_shadows = true;  ///< MOG2, as MeParams (shadows are dropped from the mask)
  double learning_rate = -1;   ///< MOG2, as MeParams
  int open_kernel = 3;         ///< opening (erode then dilate): removes specks; 0 = skip; else odd
  int close_kernel = 7;        ///< closing (dilate then erode): fills holes; 0 = skip; else odd
  double min_area = 50;        ///< keep contours whose area (cv::contourArea) is >= this, px²
  int threads = 1;             ///< MOG2 bands, as MeParams
};

/// @brief MOD result. Definition: mask = (MOG2 mask == 255) (shadows dropped); then an
/// opening with an open_kernel x open_kernel ellipse (cv::MORPH_ELLIPSE, one iteration), then a
/// closing with a close_kernel x close_kernel ellipse; then the outer contours of the mask
/// (cv::findContours, RETR_EXTERNAL, CHAIN_APPROX_SIMPLE). Each contour with
/// cv::contourArea >= min_area is a moving object: its box is cv::boundingRect of the contour,
/// score = its area. (contourArea is the area of the contour polygon through the boundary
/// pixels' centres: a filled w x h rectangle has area (w - 1)(h - 1).) Boxes are ordered by
/// decreasing area, then by (y, x).
struct ModResult {
  static constexpr std::array<std::string_view, 1> kScalarNames{"objects"};
  int objects = 0;
  std::vector<Box> boxes;
  std::array<double, 1> scalars() const { return {static_cast<double>(objects)}; }
};

/// @brief MOD: stateful (the background model).
class MovingObjectDetection {
 public:
  explicit MovingObjectDetection(ModParams params = {});
  ~MovingObjectDetection();
  MovingObjectDetection(MovingObjectDetection&&) noexcept;
  MovingObjectDetection& operator=(MovingObjectDetection&&) noexcept;
  ModResult process(const std::uint8_t* data, int width, int height, int channels,
                    std::ptrdiff_t stride_bytes);
  ModResult process(const cv::Mat& frame);
  void reset();
  const ModParams& params() const;
  static ProgramInfo info();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// ------------------------------------------------------------------------------------------
// FT: feature tracking
// ------------------------------------------------------------------------------------------

/// @brief FT parameters. Detection: cv::goodFeaturesToTrack (Shi-Tomasi); tracking:
/// pyramidal Lucas-Kanade (cv::calcOpticalFlowPyrLK, Bouguet).
struct FtParams {
  int max_features = 2500;      ///< features kept at most (detected + tracked); >= 1
  double quality_level = 0.01;  ///< GFTT: minimal eigenvalue relative to the best; (0, 1)
  double min_distance = 7;      ///< GFTT: px between features (also to tracked ones); >= 0
  int block_size = 7;           ///< GFTT: derivative covariation window; >= 1
  int lk_window = 15;           ///< LK window side, px; >= 3
  int lk_max_level = 2;         ///< LK pyramid levels above the base; >= 0
  double fb_threshold = 1.0;    ///< back-tracking: keep if forward-backward error < this, px; > 0
  double moving_speed = 0.5;    ///< a tracked feature is "moving" if its speed >= this, px/frame
  int redetect_interval = 5;    ///< re-detect every this many frames; 0 = only when too few
  double redetect_fraction = 0.5;  ///< ... or when tracked < this * count after last detection
  int threads = 1;                 ///< chunks of points tracked on their own threads
};

/// @brief FT result for frame t (the stream's previous frame is t - 1).
///
/// Per frame: convert to gray (BGR -> gray, cv::COLOR_BGR2GRAY); track the features of frame
/// t - 1 forward to t with pyramidal LK, then track the results back to t - 1 (back-tracking
/// verification). A feature is tracked iff both passes report success, the Euclidean
/// distance between its position in t - 1 and its back-tracked position is < fb_threshold, and
/// its position in t lies in [0, width) x [0, height). Back-tracking rejects inconsistent
/// tracks, not all wrong ones: on a patch of fresh pixel noise about half of the features
/// just detected there come back within 1 px by chance (measured in the tests); a smaller
/// fb_threshold rejects more.
/// Its speed is the length of its forward displacement, px/frame. Then, if the stream has no
/// features, or redetect_interval > 0 and that many frames passed since the last detection, or
/// tracked < redetect_fraction * (features right after the last detection), features are
/// detected again with goodFeaturesToTrack on frame t, away (min_distance) from the tracked
/// ones, up to max_features in all. The tracked and new features are those of frame t for the
/// next call.
struct FtResult {
  static constexpr std::array<std::string_view, 6> kScalarNames{
      "features", "tracked", "rejected", "moving", "mean_speed", "median_speed"};
  int features = 0;         ///< features carried to the next frame (tracked + newly detected)
  int tracked = 0;          ///< features of t - 1 tracked to t and verified
  int rejected = 0;         ///< features of t - 1 lost: LK failure or forward-backward error
  int moving = 0;           ///< tracked features with speed >= moving_speed
  double mean_speed = 0;    ///< mean speed of the moving features (0 if none), px/frame
  double median_speed = 0;  ///< median speed of the moving features (0 if none), px/frame
  std::vector<TrackPoint> points;  ///< the tracked features, in the order they were detected
  std::array<double, 6> scalars() const {
    return {static_cast<double>(features),
            static_cast<double>(tracked),
            static_cast<double>(rejected),
            static_cast<double>(moving),
            mean_speed,
            median_speed};
  }
};

/// @brief FT: stateful (previous frame's pyramid and features).
class FeatureTracking {
 public:
  explicit FeatureTracking(FtParams params = {});
  ~FeatureTracking();
  FeatureTracking(FeatureTracking&&) noexcept;
  FeatureTracking& operator=(FeatureTracking&&) noexcept;
  FtResult process(const std::uint8_t* data, int width, int height, int channels,
                   std::ptrdiff_t stride_bytes);
  FtResult process(const cv::Mat& frame);
  void reset();
  const FtParams& params() const;
  static ProgramInfo info();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// ------------------------------------------------------------------------------------------
// HD: human detection
// ------------------------------------------------------------------------------------------

/// @brief HD parameters: those of cv::HOGDescriptor::detectMultiScale with the default
/// 64 x 128 people detector (Dalal & Triggs; getDefaultPeopleDetector()).
struct HdParams {
  double hit_threshold = 0;  ///< SVM margin a window needs to count as a hit
  int win_stride = 8;        ///< window step in px (both axes); >= 1
  int padding = 0;           ///< px added around each pyramid level (both axes); >= 0
  double scale = 1.1;        ///< pyramid step; > 1 (OpenCV's default is 1.05)
  int group_threshold = 2;   ///< cv::groupRectangles: a group needs > this many hits
  int max_levels = 64;       ///< at most this many pyramid levels (OpenCV: 64); >= 1
  int threads = 1;           ///< pyramid levels split over this many threads
};

/// @brief HD result: exactly what HOGDescriptor::detectMultiScale(frame, rects, weights,
/// hit_threshold, Size(win_stride, win_stride), Size(padding, padding), scale,
/// group_threshold, false) returns (with nlevels = max_levels), as a set: pyramid level i has
/// scale^i and is kept while the scaled frame still holds one 64 x 128 window; hits of all
/// levels are grouped by cv::groupRectangles (eps 0.2), box score = the group's highest SVM
/// margin, boxes clipped to the frame. Levels smaller than the window with its padding are
/// skipped, so frames under 64 x 128 (with padding) find 0 people. Boxes ordered by (y, x, w,
/// h). Input is used as given (BGR: HOG takes the strongest channel's gradient per pixel).
struct HdResult {
  static constexpr std::array<std::string_view, 1> kScalarNames{"people"};
  int people = 0;
  std::vector<Box> boxes;
  std::array<double, 1> scalars() const { return {static_cast<double>(people)}; }
};

/// @brief HD: stateless (process() is const; the detector is built once per instance).
class HumanDetection {
 public:
  explicit HumanDetection(HdParams params = {});
  ~HumanDetection();
  HumanDetection(HumanDetection&&) noexcept;
  HumanDetection& operator=(HumanDetection&&) noexcept;
  HdResult process(const std::uint8_t* data, int width, int height, int channels,
                   std::ptrdiff_t stride_bytes) const;
  HdResult process(const cv::Mat& frame) const;
  const HdParams& params() const;
  static ProgramInfo info();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ride::kernels::cam2

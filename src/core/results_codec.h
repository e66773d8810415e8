#pragma once
/// @brief The RESULTS message (worker → master): one encoder, one decoder, one wire layout.
///
/// Layout (all raw host-order PODs; every rank runs the same binary on the same architecture):
///   ResultsHeader
///   count x ResultRecord
///   if has_images:  per record an ImageWire, its pixels, then zero bytes up to a multiple of 4
///   if has_objects: per record keypoints, then boxes (only the kinds the task declares), each a
///                   u32 row count (kNoObjects: none) and count x 5 float32
///   u32 n_errors, then per error: u32 record index, u32 length, that many bytes of text
/// Header and records are 8-byte multiples and images are padded, so every image and every
/// object row starts 4-byte aligned in the (aligned) body: the decoder can hand out float views.
#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/buffer.h"
#include "core/protocol.h"
#include "core/result_record.h"

namespace ride {

/// Keypoint or box rows of one frame; std::nullopt: the task produced none (the frame failed or
/// was dropped), as opposed to an empty span: it looked and found none.
using ObjectRows = std::optional<std::span<const std::array<float, 5>>>;

/// @brief Builds a RESULTS body record by record, in one pass over a batch.
///
/// Records, images, objects and errors collect in separate sections (the images must follow all
/// records, the objects all images) and finish() copies each section once into the one Buffer
/// that is sent: an image is copied twice in all (task output → section → body).
class ResultsEncoder {
 public:
  /// `header` supplies partition, epoch, end_offset (and batch_id, usually patched later with
  /// set_results_batch_id); count, has_images and has_objects are set here. `keypoints` and
  /// `boxes`: which object kinds the task declares (only those travel).
  ResultsEncoder(const ResultsHeader& header, bool images, bool keypoints, bool boxes);

  /// Appends one record. `image` (data null: no image) is ignored unless images were asked for;
  /// keypoints / boxes are ignored unless declared; `error` (its text) marks a failed frame.
  void add(const ResultRecord& rec, const ImageRef& image = {}, ObjectRows keypoints = std::nullopt,
           ObjectRows boxes = std::nullopt, std::optional<std::string_view> error = std::nullopt);

  /// The header as it will be written: count is the number of records added so far.
  const ResultsHeader& header() const { return header_; }

  /// The finished body. The encoder is spent afterwards.
  Buffer finish();

 private:
  void put_objects(const ObjectRows& rows);
  template <typename T>
  static void put(std::vector<std::byte>& to, const T& v);

  ResultsHeader header_;
  const bool keypoints_, boxes_;
  std::vector<ResultRecord> records_;
  std::vector<std::byte> images_, objects_;
  std::vector<std::pair<std::uint32_t, std::string>> errors_;
};

/// @brief Rewrites the batch id of a finished RESULTS body in place (the worker numbers a batch
/// only when it sends it, after the compute thread has built the body).
void set_results_batch_id(Buffer& body, std::uint64_t batch_id);
/// @brief The header of a RESULTS body (which partition, hence which stage, before decoding).
/// Throws ride::Error when the body is shorter than a header.
ResultsHeader peek_results_header(const Buffer& body);

/// @brief A decoded RESULTS body. Images and object rows point into the body it was decoded
/// from (no copies): that Buffer must outlive the view.
struct ResultsView {
  ResultsHeader header;
  std::vector<ResultRecord> records;
  std::vector<ImageRef> images;  ///< one per record; data null: no image
  /// One per record each; rows null: none (kNoObjects, or the kind was not sent); rows non-null
  /// with count 0: looked, found none (ResultWriter::append's convention).
  std::vector<ObjectsRef> keypoints, boxes;
  std::map<std::uint32_t, std::string> errors;  ///< record index → error text
};

/// @brief Decodes a RESULTS body. `keypoints` / `boxes`: which object kinds the task declares
/// (the wire does not say which of the two it carries). Throws ride::Error if the body is short,
/// carries trailing bytes, an unknown image type or an error for a record it does not have.
ResultsView decode_results(const Buffer& body, bool keypoints, bool boxes);

}  // namespace ride

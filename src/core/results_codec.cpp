#include "core/results_codec.h"

#include <cstring>
#include <type_traits>

#include "core/error.h"

namespace ride {

// The layout's alignment promise (see the header) rests on these sizes.
static_assert(std::is_trivially_copyable_v<ResultRecord> && std::is_trivially_copyable_v<ResultsHeader>);
static_assert(sizeof(ResultsHeader) % 8 == 0 && sizeof(ResultRecord) % 8 == 0 && sizeof(ImageWire) % 4 == 0);
static_assert(sizeof(std::array<float, 5>) == 5 * sizeof(float));

template <typename T>
void ResultsEncoder::put(std::vector<std::byte>& to, const T& v) {
  const auto* p = reinterpret_cast<const std::byte*>(&v);
  to.insert(to.end(), p, p + sizeof(T));
}

ResultsEncoder::ResultsEncoder(const ResultsHeader& header, bool images, bool keypoints, bool boxes)
    : header_(header), keypoints_(keypoints), boxes_(boxes) {
  header_.count = 0;
  header_.has_images = images ? 1 : 0;
  header_.has_objects = (keypoints || boxes) ? 1 : 0;
}

void ResultsEncoder::add(const ResultRecord& rec, const ImageRef& image, ObjectRows keypoints,
                         ObjectRows boxes, std::optional<std::string_view> error) {
  const auto index = static_cast<std::uint32_t>(records_.size());
  records_.push_back(rec);
  header_.count = index + 1;
  if (header_.has_images) {
    ImageWire iw;
    if (image.data) {
      iw.width = image.width;
      iw.height = image.height;
      iw.channels = image.channels;
      iw.type = image.u8 ? 2 : 1;
    }
    put(images_, iw);
    const auto* px = static_cast<const std::byte*>(image.data);
    images_.insert(images_.end(), px, px + iw.bytes());  // iw.bytes() is 0 without an image
    images_.insert(images_.end(), image_padding(iw.bytes()), std::byte{0});
  }
  if (keypoints_) put_objects(keypoints);
  if (boxes_) put_objects(boxes);
  if (error) errors_.emplace_back(index, std::string(*error));
}

void ResultsEncoder::put_objects(const ObjectRows& rows) {
  if (!rows) {
    put(objects_, kNoObjects);
    return;
  }
  RIDE_EXPECTS(rows->size() < kNoObjects, "too many object rows for one frame: " << rows->size());
  put(objects_, static_cast<std::uint32_t>(rows->size()));
  const auto* p = reinterpret_cast<const std::byte*>(rows->data());
  objects_.insert(objects_.end(), p, p + rows->size_bytes());
}

Buffer ResultsEncoder::finish() {
  std::size_t errors_bytes = sizeof(std::uint32_t);
  for (const auto& [index, text] : errors_) errors_bytes += 2 * sizeof(std::uint32_t) + text.size();
  Buffer body(sizeof(ResultsHeader) + records_.size() * sizeof(ResultRecord) + images_.size() +
              objects_.size() + errors_bytes);
  std::size_t at = 0;
  auto copy = [&](const void* p, std::size_t n) {
    if (n) std::memcpy(body.data() + at, p, n);
    at += n;
  };
  auto pod = [&](const auto& v) { copy(&v, sizeof(v)); };
  pod(header_);
  copy(records_.data(), records_.size() * sizeof(ResultRecord));
  copy(images_.data(), images_.size());
  copy(objects_.data(), objects_.size());
  pod(static_cast<std::uint32_t>(errors_.size()));
  for (const auto& [index, text] : errors_) {
    pod(index);
    pod(static_cast<std::uint32_t>(text.size()));
    copy(text.data(), text.size());
  }
  records_.clear();
  images_.clear();
  objects_.clear();
  errors_.clear();
  return body;
}

void set_results_batch_id(Buffer& body, std::uint64_t batch_id) {
  RIDE_EXPECTS(body.size() >= sizeof(ResultsHeader), "not a RESULTS body: " << body.size() << " bytes");
  auto header = body.read<ResultsHeader>(0);
  header.batch_id = batch_id;
  body.write(0, header);
}

ResultsHeader peek_results_header(const Buffer& body) {
  RIDE_EXPECTS(body.size() >= sizeof(ResultsHeader), "not a RESULTS body: " << body.size() << " bytes");
  return body.read<ResultsHeader>(0);
}

namespace {

/// ImageWire::bytes() for a wire value that may be garbage: an unknown type, or dimensions whose
/// product wraps around, must fail here instead of becoming a bogus length.
std::uint64_t checked_image_bytes(const ImageWire& iw, std::size_t remaining) {
  RIDE_EXPECTS(iw.type <= 2, "RESULTS image has unknown type " << iw.type);
  std::uint64_t n = iw.type == 1 ? 4 : 1;
  for (const std::uint32_t d : {iw.width, iw.height, iw.channels}) {
    n *= d;  // both factors < 2^32 while n <= remaining (< 2^32 in practice): no wrap
    RIDE_EXPECTS(n <= remaining, "RESULTS image of " << iw.width << "x" << iw.height << "x"
                                                     << iw.channels << " exceeds the message ("
                                                     << remaining << " bytes left)");
  }
  return n;
}

}  // namespace

ResultsView decode_results(const Buffer& body, bool keypoints, bool boxes) {
  BodyReader r(body);
  ResultsView v;
  v.header = r.pod<ResultsHeader>();
  const std::uint32_t count = v.header.count;
  // Bound count by the bytes present before allocating for it.
  RIDE_EXPECTS(std::uint64_t{count} * sizeof(ResultRecord) <= r.remaining(),
               "RESULTS body too short for " << count << " records: " << body.size() << " bytes");
  v.records.resize(count);
  for (auto& rec : v.records) rec = r.pod<ResultRecord>();
  v.images.resize(count);
  if (v.header.has_images) {
    for (auto& img : v.images) {
      const auto iw = r.pod<ImageWire>();
      if (iw.type == 0) continue;
      const std::uint64_t n = checked_image_bytes(iw, r.remaining());
      img = {r.take(n), iw.width, iw.height, iw.channels, iw.type == 2};
      r.take(image_padding(n));
    }
  }
  v.keypoints.resize(count);
  v.boxes.resize(count);
  if (v.header.has_objects) {
    auto take_objects = [&](ObjectsRef& o) {
      const auto n = r.pod<std::uint32_t>();
      if (n == kNoObjects) return;
      // take() points into the body even for 0 rows: non-null rows mark "looked, found none".
      o.rows = reinterpret_cast<const float*>(r.take(std::size_t{n} * 5 * sizeof(float)));
      o.count = n;
    };
    for (std::uint32_t i = 0; i < count; ++i) {
      if (keypoints) take_objects(v.keypoints[i]);
      if (boxes) take_objects(v.boxes[i]);
    }
  }
  const auto n_errors = r.pod<std::uint32_t>();
  for (std::uint32_t e = 0; e < n_errors; ++e) {
    const auto index = r.pod<std::uint32_t>();
    const auto len = r.pod<std::uint32_t>();
    RIDE_EXPECTS(index < count, "RESULTS error for record " << index << " of " << count);
    v.errors[index] = std::string(reinterpret_cast<const char*>(r.take(len)), len);
  }
  RIDE_EXPECTS(r.remaining() == 0, "RESULTS body has " << r.remaining() << " trailing bytes");
  return v;
}

}  // namespace ride

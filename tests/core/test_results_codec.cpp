#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "core/results_codec.h"

namespace ride {
namespace {

using Row = std::array<float, 5>;

ResultsHeader header_template() { return {.batch_id = 7, .partition = 3, .epoch = 2, .end_offset = 1000}; }

ResultRecord record(std::uint64_t sequence) {
  ResultRecord r{.sequence = sequence,
                 .offset = 900 + sequence,
                 .capture_ns = 123456789 + static_cast<std::int64_t>(sequence),
                 .processed_ns = 223456789,
                 .input_checksum = 0xabcdef0123456789ull ^ sequence,
                 .stream = 4,
                 .partition = 3,
                 .worker_rank = 5,
                 .epoch = 2,
                 .width = 640,
                 .height = 480};
  r.scalars.fill(std::nan(""));
  r.scalars[0] = 1.5 * static_cast<double>(sequence);
  r.scalars[1] = -2.25;
  return r;
}

/// The header header_template() made, with this batch id and record count.
void expect_header(const ResultsHeader& h, std::uint64_t batch_id, std::uint32_t count) {
  EXPECT_EQ(h.batch_id, batch_id);
  EXPECT_EQ(h.partition, 3u);
  EXPECT_EQ(h.epoch, 2u);
  EXPECT_EQ(h.end_offset, 1000u);
  EXPECT_EQ(h.count, count);
}

void expect_same_record(const ResultRecord& a, const ResultRecord& b) {
  EXPECT_EQ(std::memcmp(&a, &b, sizeof(ResultRecord)), 0);  // every byte, NaN scalars included
  EXPECT_EQ(a.sequence, b.sequence);
  EXPECT_EQ(a.input_checksum, b.input_checksum);
  EXPECT_EQ(a.status, b.status);
  EXPECT_EQ(a.scalars[0], b.scalars[0]);
}

bool inside(const void* p, const Buffer& b) {
  const auto* q = static_cast<const std::byte*>(p);
  return q >= b.data() && q <= b.data() + b.size();
}

std::uintptr_t address(const void* p) { return reinterpret_cast<std::uintptr_t>(p); }

TEST(ResultsCodec, RoundTripRecordsOnly) {
  ResultsEncoder enc(header_template(), false, false, false);
  for (std::uint64_t s = 0; s < 3; ++s) enc.add(record(s));
  EXPECT_EQ(enc.header().count, 3u);
  const Buffer body = enc.finish();
  EXPECT_EQ(body.size(), sizeof(ResultsHeader) + 3 * sizeof(ResultRecord) + 4);

  const ResultsView v = decode_results(body, false, false);
  expect_header(v.header, 7u, 3u);
  EXPECT_EQ(v.header.has_images, 0u);
  EXPECT_EQ(v.header.has_objects, 0u);
  ASSERT_EQ(v.records.size(), 3u);
  for (std::uint64_t s = 0; s < 3; ++s) expect_same_record(v.records[s], record(s));
  ASSERT_EQ(v.images.size(), 3u);
  ASSERT_EQ(v.keypoints.size(), 3u);
  ASSERT_EQ(v.boxes.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(v.images[i].data, nullptr);
    EXPECT_EQ(v.keypoints[i].rows, nullptr);
    EXPECT_EQ(v.boxes[i].rows, nullptr);
  }
  EXPECT_TRUE(v.errors.empty());
}

TEST(ResultsCodec, EmptyBatch) {
  const Buffer body = ResultsEncoder(header_template(), true, true, true).finish();
  const ResultsView v = decode_results(body, true, true);
  EXPECT_EQ(v.header.count, 0u);
  EXPECT_EQ(v.header.has_images, 1u);
  EXPECT_EQ(v.header.has_objects, 1u);
  EXPECT_TRUE(v.records.empty());
  EXPECT_TRUE(v.errors.empty());
}

TEST(ResultsCodec, RoundTripImagesFloatAndU8WithPadding) {
  const std::vector<float> f32 = {0.5f, -1.0f, 3.25f, 8.0f, 1e-3f, 42.0f};  // 3x2x1
  const std::vector<std::uint8_t> u8_15 = [] {  // 5x3x1: 15 bytes, 1 byte of padding
    std::vector<std::uint8_t> v(15);
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<std::uint8_t>(10 + i);
    return v;
  }();
  const std::vector<std::uint8_t> u8_6 = {1, 2, 3, 4, 5, 6};  // 2x1x3: 2 bytes of padding
  const std::vector<std::uint8_t> u8_1 = {255};                // 1x1x1: 3 bytes of padding

  ResultsEncoder enc(header_template(), true, false, false);
  enc.add(record(0), ImageRef{u8_15.data(), 5, 3, 1, true});
  enc.add(record(1), ImageRef{f32.data(), 3, 2, 1, false});  // must land 4-byte aligned
  enc.add(record(2));                                         // no image
  enc.add(record(3), ImageRef{u8_6.data(), 2, 1, 3, true});
  enc.add(record(4), ImageRef{u8_1.data(), 1, 1, 1, true});
  enc.add(record(5), ImageRef{f32.data(), 2, 3, 1, false});
  const Buffer body = enc.finish();
  const std::size_t image_section = 6 * sizeof(ImageWire) + (15 + 1) + 24 + (6 + 2) + (1 + 3) + 24;
  EXPECT_EQ(body.size(), sizeof(ResultsHeader) + 6 * sizeof(ResultRecord) + image_section + 4);

  const ResultsView v = decode_results(body, false, false);
  EXPECT_EQ(v.header.has_images, 1u);
  ASSERT_EQ(v.images.size(), 6u);
  for (std::size_t i = 0; i < 6; ++i) expect_same_record(v.records[i], record(i));

  const ImageRef& a = v.images[0];
  ASSERT_NE(a.data, nullptr);
  EXPECT_TRUE(inside(a.data, body));
  EXPECT_EQ(a.width, 5u);
  EXPECT_EQ(a.height, 3u);
  EXPECT_EQ(a.channels, 1u);
  EXPECT_TRUE(a.u8);
  EXPECT_EQ(std::memcmp(a.data, u8_15.data(), 15), 0);

  const ImageRef& b = v.images[1];
  ASSERT_NE(b.data, nullptr);
  EXPECT_FALSE(b.u8);
  EXPECT_EQ(b.width, 3u);
  EXPECT_EQ(b.height, 2u);
  EXPECT_EQ(address(b.data) % alignof(float), 0u);
  const auto* bf = static_cast<const float*>(b.data);
  for (std::size_t i = 0; i < f32.size(); ++i) EXPECT_EQ(bf[i], f32[i]);

  EXPECT_EQ(v.images[2].data, nullptr);

  const ImageRef& d = v.images[3];
  EXPECT_TRUE(d.u8);
  EXPECT_EQ(d.channels, 3u);
  EXPECT_EQ(std::memcmp(d.data, u8_6.data(), 6), 0);
  EXPECT_EQ(*static_cast<const std::uint8_t*>(v.images[4].data), 255);

  const ImageRef& f = v.images[5];
  EXPECT_EQ(f.width, 2u);
  EXPECT_EQ(f.height, 3u);
  EXPECT_EQ(address(f.data) % alignof(float), 0u);
  EXPECT_EQ(static_cast<const float*>(f.data)[5], 42.0f);
}

TEST(ResultsCodec, ImagesAreIgnoredUnlessAskedFor) {
  const std::vector<float> px = {1, 2, 3, 4};
  ResultsEncoder enc(header_template(), false, false, false);
  enc.add(record(0), ImageRef{px.data(), 2, 2, 1, false});
  const Buffer body = enc.finish();
  EXPECT_EQ(body.size(), sizeof(ResultsHeader) + sizeof(ResultRecord) + 4);
  EXPECT_EQ(decode_results(body, false, false).images[0].data, nullptr);
}

TEST(ResultsCodec, RoundTripKeypointsAndBoxes) {
  const std::vector<Row> kp = {{1, 2, 3, 4, 5}, {6, 7, 8, 9, 10}};
  const std::vector<Row> one_box = {{0.25f, 0.5f, 16, 32, 0.9f}};
  const std::vector<Row> none_found;

  ResultsEncoder enc(header_template(), false, true, true);
  enc.add(record(0), {}, kp, none_found);             // keypoints; zero boxes
  enc.add(record(1), {}, std::nullopt, std::nullopt);  // failed frame: kNoObjects twice
  enc.add(record(2), {}, none_found, one_box);
  const Buffer body = enc.finish();
  EXPECT_EQ(body.size(), sizeof(ResultsHeader) + 3 * sizeof(ResultRecord) + 6 * 4 + 3 * sizeof(Row) + 4);

  const ResultsView v = decode_results(body, true, true);
  EXPECT_EQ(v.header.has_objects, 1u);
  ASSERT_EQ(v.keypoints.size(), 3u);
  ASSERT_NE(v.keypoints[0].rows, nullptr);
  EXPECT_EQ(v.keypoints[0].count, 2u);
  EXPECT_EQ(address(v.keypoints[0].rows) % alignof(float), 0u);
  EXPECT_TRUE(inside(v.keypoints[0].rows, body));
  for (std::size_t k = 0; k < 10; ++k) EXPECT_EQ(v.keypoints[0].rows[k], static_cast<float>(k + 1));
  ASSERT_NE(v.boxes[0].rows, nullptr);  // looked, found none: non-null with count 0
  EXPECT_EQ(v.boxes[0].count, 0u);

  EXPECT_EQ(v.keypoints[1].rows, nullptr);  // kNoObjects
  EXPECT_EQ(v.keypoints[1].count, 0u);
  EXPECT_EQ(v.boxes[1].rows, nullptr);

  ASSERT_NE(v.keypoints[2].rows, nullptr);
  EXPECT_EQ(v.keypoints[2].count, 0u);
  ASSERT_NE(v.boxes[2].rows, nullptr);
  EXPECT_EQ(v.boxes[2].count, 1u);
  EXPECT_EQ(v.boxes[2].rows[0], 0.25f);
  EXPECT_EQ(v.boxes[2].rows[3], 32.0f);
  EXPECT_EQ(v.boxes[2].rows[4], 0.9f);
}

TEST(ResultsCodec, OnlyDeclaredObjectKindsTravel) {
  const std::vector<Row> kp = {{1, 1, 1, 1, 1}};
  const std::vector<Row> boxes = {{2, 2, 2, 2, 2}, {3, 3, 3, 3, 3}};
  ResultsEncoder enc(header_template(), false, false, true);  // boxes only
  enc.add(record(0), {}, kp, boxes);
  const Buffer body = enc.finish();
  EXPECT_EQ(body.size(), sizeof(ResultsHeader) + sizeof(ResultRecord) + 4 + 2 * sizeof(Row) + 4);
  const ResultsView v = decode_results(body, false, true);
  EXPECT_EQ(v.header.has_objects, 1u);
  EXPECT_EQ(v.keypoints[0].rows, nullptr);
  ASSERT_EQ(v.boxes[0].count, 2u);
  EXPECT_EQ(v.boxes[0].rows[5], 3.0f);
  // Told the wrong kinds, the decoder misreads the body and must say so, not read past it.
  EXPECT_THROW(decode_results(body, true, true), Error);
}

TEST(ResultsCodec, RoundTripErrors) {
  ResultsEncoder enc(header_template(), false, false, false);
  ResultRecord failed = record(1);
  failed.status = ResultStatus::task_error;
  enc.add(record(0));
  enc.add(failed, {}, std::nullopt, std::nullopt, "task mod takes u8 x1 frames, got u8 x3");
  enc.add(record(2), {}, std::nullopt, std::nullopt, "");  // an empty message is still an error
  const Buffer body = enc.finish();
  const ResultsView v = decode_results(body, false, false);
  ASSERT_EQ(v.errors.size(), 2u);
  EXPECT_EQ(v.errors.count(0), 0u);
  EXPECT_EQ(v.errors.at(1), "task mod takes u8 x1 frames, got u8 x3");
  EXPECT_EQ(v.errors.at(2), "");
  EXPECT_EQ(v.records[1].status, ResultStatus::task_error);
}

/// The body exactly as the worker wrote it before the codec existed (BodyWriter, inline).
Buffer legacy_body(const ResultsHeader& rh, const std::vector<ResultRecord>& recs,
                   const std::vector<std::vector<float>>& images,
                   const std::vector<const std::vector<Row>*>& kp,
                   const std::vector<const std::vector<Row>*>& boxes,
                   const std::vector<std::pair<std::uint32_t, std::string>>& errors) {
  BodyWriter body, image_bytes, object_bytes;
  body.pod(rh);
  auto put_objects = [&](const std::vector<Row>* rows) {
    if (!rows) {
      object_bytes.pod(kNoObjects);
      return;
    }
    object_bytes.pod(static_cast<std::uint32_t>(rows->size()));
    if (!rows->empty()) object_bytes.bytes(rows->data(), rows->size() * sizeof(Row));
  };
  for (std::size_t i = 0; i < recs.size(); ++i) {
    ImageWire iw;
    if (!images[i].empty()) {
      iw.width = static_cast<std::uint32_t>(images[i].size());
      iw.height = iw.channels = iw.type = 1;
    }
    image_bytes.pod(iw);
    image_bytes.bytes(images[i].data(), iw.bytes());
    static constexpr std::byte kZeros[4] = {};
    image_bytes.bytes(kZeros, image_padding(iw.bytes()));
    put_objects(kp[i]);
    put_objects(boxes[i]);
    body.pod(recs[i]);
  }
  body.append(image_bytes);
  body.append(object_bytes);
  body.pod(static_cast<std::uint32_t>(errors.size()));
  for (const auto& [idx, msg] : errors) body.pod(idx).pod(static_cast<std::uint32_t>(msg.size())).str(msg);
  return body.finish();
}

TEST(ResultsCodec, BytesMatchTheLegacyLayout) {
  const std::vector<ResultRecord> recs = {record(10), record(11), record(12)};
  const std::vector<std::vector<float>> images = {{1.0f, 2.0f, 3.0f}, {}, {4.0f}};
  const std::vector<Row> kp = {{1, 2, 3, 4, 5}};
  const std::vector<Row> empty;
  const std::vector<const std::vector<Row>*> kps = {&kp, nullptr, &empty};
  const std::vector<const std::vector<Row>*> bxs = {&empty, nullptr, &kp};
  const std::vector<std::pair<std::uint32_t, std::string>> errors = {{1, "bad frame"}};

  ResultsHeader rh = header_template();
  rh.count = 3;
  rh.has_images = 1;
  rh.has_objects = 1;
  const Buffer want = legacy_body(rh, recs, images, kps, bxs, errors);

  ResultsEncoder enc(header_template(), true, true, true);
  for (std::size_t i = 0; i < 3; ++i) {
    const auto width = static_cast<std::uint32_t>(images[i].size());
    const ImageRef img = images[i].empty() ? ImageRef{} : ImageRef{images[i].data(), width, 1, 1, false};
    auto rows = [](const std::vector<Row>* r) { return r ? ObjectRows(*r) : ObjectRows(); };
    enc.add(recs[i], img, rows(kps[i]), rows(bxs[i]),
            i == 1 ? std::optional<std::string_view>("bad frame") : std::nullopt);
  }
  const Buffer got = enc.finish();
  ASSERT_EQ(got.size(), want.size());
  EXPECT_EQ(std::memcmp(got.data(), want.data(), want.size()), 0);
}

Buffer full_body() {
  const std::vector<float> px = {1, 2, 3};
  const std::vector<std::uint8_t> u8 = {9, 8, 7, 6, 5};
  const std::vector<Row> kp = {{1, 2, 3, 4, 5}};
  ResultsEncoder enc(header_template(), true, true, true);
  enc.add(record(0), ImageRef{px.data(), 3, 1, 1, false}, kp, std::vector<Row>{});
  enc.add(record(1), ImageRef{u8.data(), 5, 1, 1, true}, std::nullopt, kp, "oops");
  return enc.finish();
}

Buffer copy_prefix(const Buffer& b, std::size_t n) {
  Buffer out(n);
  if (n) std::memcpy(out.data(), b.data(), n);
  return out;
}

TEST(ResultsCodec, EveryTruncationThrows) {
  const Buffer body = full_body();
  ASSERT_NO_THROW(decode_results(body, true, true));
  for (std::size_t n = 0; n < body.size(); ++n) {
    EXPECT_THROW(decode_results(copy_prefix(body, n), true, true), Error) << "prefix of " << n << " bytes";
  }
}

TEST(ResultsCodec, MalformedBodiesThrowWithAReason) {
  const Buffer body = full_body();
  auto message = [](const Buffer& b) {
    try {
      decode_results(b, true, true);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message(copy_prefix(body, 10)).find("message too short"), std::string::npos);

  Buffer trailing(body.size() + 1);
  std::memcpy(trailing.data(), body.data(), body.size());
  trailing.data()[body.size()] = std::byte{0};
  EXPECT_NE(message(trailing).find("1 trailing bytes"), std::string::npos);

  Buffer bad_type = copy_prefix(body, body.size());
  const std::size_t first_image = sizeof(ResultsHeader) + 2 * sizeof(ResultRecord);
  auto iw = bad_type.read<ImageWire>(first_image);
  ASSERT_EQ(iw.type, 1u);
  iw.type = 3;
  bad_type.write(first_image, iw);
  EXPECT_NE(message(bad_type).find("unknown type 3"), std::string::npos);

  Buffer huge = copy_prefix(body, body.size());
  iw.type = 1;
  iw.width = iw.height = iw.channels = 0xffffffffu;  // the product wraps in 64 bits
  huge.write(first_image, iw);
  EXPECT_NE(message(huge).find("exceeds the message"), std::string::npos);

  Buffer many = copy_prefix(body, body.size());
  auto rh = many.read<ResultsHeader>(0);
  rh.count = 0xffffffffu;
  many.write(0, rh);
  EXPECT_NE(message(many).find("too short for 4294967295 records"), std::string::npos);

  Buffer bad_index = copy_prefix(body, body.size());
  const std::size_t index_at = body.size() - 4 /* "oops" */ - 4 /* len */ - 4 /* index */;
  ASSERT_EQ(bad_index.read<std::uint32_t>(index_at), 1u);
  bad_index.write(index_at, std::uint32_t{2});
  EXPECT_NE(message(bad_index).find("error for record 2 of 2"), std::string::npos);
}

TEST(ResultsCodec, BatchIdPatchRoundTrip) {
  Buffer body = full_body();
  const Buffer before = copy_prefix(body, body.size());
  set_results_batch_id(body, 0x1122334455667788ull);
  const ResultsView v = decode_results(body, true, true);
  expect_header(v.header, 0x1122334455667788ull, 2u);
  EXPECT_EQ(v.errors.at(1), "oops");
  // Only the batch id's 8 bytes changed.
  EXPECT_NE(std::memcmp(body.data(), before.data(), 8), 0);
  EXPECT_EQ(std::memcmp(body.data() + 8, before.data() + 8, body.size() - 8), 0);

  Buffer tiny(8);
  EXPECT_THROW(set_results_batch_id(tiny, 1), Error);
}

}  // namespace
}  // namespace ride

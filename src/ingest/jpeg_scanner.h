#pragma once
/// @brief Finds whole JPEG images in a byte stream: the body of an MJPEG-over-HTTP camera
/// (multipart/x-mixed-replace parts, each one JPEG) or a snapshot response. Pure, no I/O: feed it
/// bytes as they arrive, take the images it completed.
///
/// It follows the JPEG structure rather than the multipart text: after SOI (FF D8), marker
/// segments are skipped by their length (so an EXIF thumbnail's own FF D8 .. FF D9 inside APP1
/// does not end the image), and after SOS the entropy-coded data is scanned for a marker that is
/// not a stuffed byte (FF 00) or a restart (FF D0..D7); EOI (FF D9) ends the image. Bytes between
/// images (part headers, boundaries) are passed over. An image larger than `max_bytes` is dropped
/// and counted, and scanning resumes at the next SOI.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace ride::ingest {

class JpegScanner {
 public:
  explicit JpegScanner(std::size_t max_bytes = 64u << 20) : max_(max_bytes) {}

  /// Appends `n` bytes; returns how many images they completed (take them with take()).
  std::size_t feed(const void* data, std::size_t n);
  /// The oldest completed image not yet taken; false when there is none.
  bool take(std::vector<std::uint8_t>& image);
  /// Completed images not taken yet.
  std::size_t ready() const { return done_.size(); }
  /// Keeps only the newest completed image (a live camera's older frames are stale).
  void keep_newest();
  /// Images dropped for exceeding max_bytes, and images cut off by a new SOI before their end
  /// (corrupt or truncated parts).
  std::uint64_t oversized() const { return oversized_; }
  std::uint64_t truncated() const { return truncated_; }
  /// Forgets a partial image (the connection dropped).
  void reset();
  /// Inside an image (its SOI seen, its EOI not yet).
  bool in_image() const { return state_ != State::seek_soi; }

 private:
  enum class State { seek_soi, marker, length_hi, length_lo, skip_segment, entropy, entropy_ff };
  void finish();
  void start_image();

  std::size_t max_;
  State state_ = State::seek_soi;
  bool prev_ff_ = false;      ///< seek_soi: the last byte was FF
  std::vector<std::uint8_t> cur_;
  std::size_t segment_left_ = 0;
  std::uint8_t length_hi_ = 0;
  bool after_sos_ = false;    ///< the segment being skipped is SOS's header: entropy data follows
  std::vector<std::vector<std::uint8_t>> done_;
  std::uint64_t oversized_ = 0, truncated_ = 0;
  bool dropping_ = false;     ///< the current image went over max_: bytes are not kept
};

}  // namespace ride::ingest

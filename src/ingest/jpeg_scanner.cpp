#include "ingest/jpeg_scanner.h"

#include <utility>

namespace ride::ingest {

void JpegScanner::reset() {
  if (state_ != State::seek_soi) ++truncated_;
  state_ = State::seek_soi;
  prev_ff_ = false;
  cur_.clear();
  dropping_ = false;
}

void JpegScanner::start_image() {
  cur_.clear();
  cur_.push_back(0xFF);
  cur_.push_back(0xD8);
  dropping_ = false;
  state_ = State::marker;
}

void JpegScanner::finish() {
  if (dropping_) {
    ++oversized_;
  } else {
    done_.push_back(std::move(cur_));
  }
  cur_.clear();
  dropping_ = false;
  state_ = State::seek_soi;
  prev_ff_ = false;
}

void JpegScanner::keep_newest() {
  if (done_.size() > 1) done_.erase(done_.begin(), done_.end() - 1);
}

bool JpegScanner::take(std::vector<std::uint8_t>& image) {
  if (done_.empty()) return false;
  image = std::move(done_.front());
  done_.erase(done_.begin());
  return true;
}

std::size_t JpegScanner::feed(const void* data, std::size_t n) {
  const auto* p = static_cast<const std::uint8_t*>(data);
  const std::size_t before = done_.size();
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint8_t b = p[i];
    if (state_ == State::seek_soi) {
      if (prev_ff_ && b == 0xD8) {
        start_image();
      } else {
        prev_ff_ = b == 0xFF;
      }
      continue;
    }
    if (!dropping_) {
      if (cur_.size() >= max_) {
        dropping_ = true;
        cur_.clear();
        cur_.shrink_to_fit();
      } else {
        cur_.push_back(b);
      }
    }
    switch (state_) {
      case State::seek_soi: break;
      case State::marker:
        // Expecting FF then a marker code (fill bytes FF FF ... allowed).
        if (b == 0xFF) {
          state_ = State::entropy_ff;  // reuse: "an FF seen, the code follows" (header context)
          after_sos_ = false;
          segment_left_ = 1;  // flag: header context
        } else {
          // Not a marker where one must be: corrupt; look for the next image.
          ++truncated_;
          cur_.clear();
          state_ = State::seek_soi;
          prev_ff_ = false;
        }
        break;
      case State::length_hi:
        length_hi_ = b;
        state_ = State::length_lo;
        break;
      case State::length_lo: {
        const std::size_t len = (static_cast<std::size_t>(length_hi_) << 8) | b;
        if (len < 2) {
          ++truncated_;
          cur_.clear();
          state_ = State::seek_soi;
          prev_ff_ = false;
          break;
        }
        segment_left_ = len - 2;
        state_ = segment_left_ == 0 ? (after_sos_ ? State::entropy : State::marker) : State::skip_segment;
        break;
      }
      case State::skip_segment:
        if (--segment_left_ == 0) state_ = after_sos_ ? State::entropy : State::marker;
        break;
      case State::entropy:
        if (b == 0xFF) {
          state_ = State::entropy_ff;
          segment_left_ = 0;  // flag: entropy context
        }
        break;
      case State::entropy_ff: {
        const bool header = segment_left_ == 1;
        if (b == 0xFF) break;  // fill byte: still waiting for the code
        if (!header && (b == 0x00 || (b >= 0xD0 && b <= 0xD7))) {  // stuffed byte or restart marker
          state_ = State::entropy;
          break;
        }
        if (b == 0xD9) {  // EOI
          finish();
          break;
        }
        if (b == 0xD8) {  // SOI inside an image: the previous one was cut off
          ++truncated_;
          start_image();
          break;
        }
        if (b == 0x01 || (b >= 0xD0 && b <= 0xD7)) {  // TEM, RSTn in headers: no length
          state_ = header ? State::marker : State::entropy;
          break;
        }
        // A marker segment with a length (SOFn, DHT, DQT, SOS, APPn, COM, ...).
        after_sos_ = b == 0xDA;
        state_ = State::length_hi;
        break;
      }
    }
  }
  return done_.size() - before;
}

}  // namespace ride::ingest

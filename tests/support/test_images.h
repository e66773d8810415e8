#pragma once
/// Frames the kernel tests feed every executor (stddev, fft, matmul, hessian): u8 images whose
/// row padding holds random bytes (reading it shows up as a mismatch against a reference), and
/// float outputs whose row padding holds a sentinel (writing it shows up as well).
#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

namespace ride::kernels::test_images {

/// u8 image, rows `stride` bytes apart (stride >= width).
struct U8Image {
  int width = 0;
  int height = 0;
  std::ptrdiff_t stride = 0;
  std::vector<std::uint8_t> bytes;
  std::uint8_t at(int x, int y) const {
    return bytes[static_cast<std::size_t>(static_cast<std::ptrdiff_t>(y) * stride + x)];
  }
  std::uint8_t& at(int x, int y) {
    return bytes[static_cast<std::size_t>(static_cast<std::ptrdiff_t>(y) * stride + x)];
  }
  const std::uint8_t* data() const { return bytes.empty() ? nullptr : bytes.data(); }
};

/// Uniform random bytes from one std::mt19937.
class RandomBytes {
 public:
  explicit RandomBytes(std::uint32_t seed) : rng_(seed) {}
  std::uint8_t operator()() { return static_cast<std::uint8_t>(byte_(rng_)); }

 private:
  std::mt19937 rng_;
  std::uniform_int_distribution<int> byte_{0, 255};
};

/// width x height image with rows `pad` bytes longer than the width, plus `tail` bytes after
/// the last row; every byte (pixels, padding, tail) drawn from `random`.
inline U8Image random_image(int width, int height, int pad, std::size_t tail, RandomBytes& random) {
  U8Image img;
  img.width = width;
  img.height = height;
  img.stride = width + pad;
  const std::size_t count =
      static_cast<std::size_t>(img.stride) * static_cast<std::size_t>(height) + tail;
  img.bytes.reserve(count);  // (resize() trips GCC 12's -Wnull-dereference in some callers)
  for (std::size_t k = 0; k < count; ++k) img.bytes.push_back(random());
  return img;
}

/// The tests' usual frame: random_image(width, height, pad, tail) drawn from
/// RandomBytes(seed + width * 7919 + height), then every pixel, row by row, set to
/// value(x, y, random), where value may draw further bytes from the same generator.
template <class Value>
U8Image make_image(int width, int height, int pad, std::size_t tail, std::uint32_t seed,
                   const Value& value) {
  RandomBytes random(seed + static_cast<std::uint32_t>(width * 7919 + height));
  U8Image img = random_image(width, height, pad, tail, random);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) img.at(x, y) = value(x, y, random);
  }
  return img;
}

/// Float output: `rows` rows of `cols` values, `stride` floats apart, plus `tail` floats after
/// the last row; everything starts as `sentinel`, so that what is left of it in the padding
/// shows whether an executor wrote outside the rows.
struct FloatRows {
  int rows = 0;
  int cols = 0;
  std::ptrdiff_t stride = 0;
  std::vector<float> values;
  float at(int row, int col) const {
    return values[static_cast<std::size_t>(static_cast<std::ptrdiff_t>(row) * stride + col)];
  }
  float* data() { return values.data(); }
};

inline FloatRows sentinel_rows(int rows, int cols, int pad, std::size_t tail, float sentinel) {
  FloatRows out;
  out.rows = rows;
  out.cols = cols;
  out.stride = cols + pad;
  out.values.assign(static_cast<std::size_t>(out.stride) * static_cast<std::size_t>(rows) + tail,
                    sentinel);
  return out;
}

}  // namespace ride::kernels::test_images

// box: the integer box pre-shrink — k×k block averages, row by row, so a decoder can shrink while
// it decodes and the final filter runs on an image within 1–2× of the thumbnail (as libvips does).
//
// BoxShrinker is one object per image, used by one thread; box_shrink() is a plain function. Any
// number of threads may shrink different images at once.
#pragma once

#include <cstdint>
#include <vector>

#include "core/image.h"

namespace imgpipe {

// Averages k×k blocks of an image that arrives one row at a time, so a decoder can shrink while it
// decodes and never hold the full-size image. Partial blocks at the right and bottom edges average
// what they hold; with alpha (2 or 4 channels) colour is alpha-weighted. One object per image.
// k is capped at kMaxBlock: a block's alpha-weighted sums (up to 255 × 255 per pixel) must fit
// in 32 bits. Larger shrinks (tiny thumbnails of huge images) leave the rest to the final filter.
class BoxShrinker {
 public:
  static constexpr int kMaxBlock = 256;

  // Ready for `height` rows of width × channels bytes, shrinking by min(k, kMaxBlock). False when
  // out of memory.
  bool start(int width, int height, int channels, int k);
  void add_row(const uint8_t* row);
  // The result, ceil(width / k) × ceil(height / k), once every row is in.
  Image finish();

 private:
  int width_ = 0, height_ = 0, channels_ = 0, k_ = 1;
  int rows_in_ = 0, band_rows_ = 0;
  bool alpha() const { return channels_ == 2 || channels_ == 4; }
  // Column sums of the current band (width × channels): sums_ (16-bit) for opaque images, acc_
  // (32-bit, alpha-weighted) with alpha; the other stays empty.
  std::vector<uint16_t> sums_;
  std::vector<uint32_t> acc_;
  // Scratch for the opaque fast path (see emit_opaque in box.cc).
  std::vector<uint16_t> wide_, picked_;
  Image out_;
};

// BoxShrinker over a whole image, in place. False only when out of memory.
bool box_shrink(Image& image, int k);

}  // namespace imgpipe

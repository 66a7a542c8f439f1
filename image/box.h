// box: the integer box pre-shrink — kx×ky block averages, row by row, so a decoder can shrink while
// it decodes, leaving the final filter a reduction of 2–4× (libvips's and Pillow's split).
//
// BoxShrinker is one object per image, used by one thread; box_shrink() is a plain function. Any
// number of threads may shrink different images at once.
#pragma once

#include <cstdint>
#include <vector>

#include "core/image.h"

namespace imgpipe {

// The final filter's least reduction after the box: below 2× a Lanczos kernel barely reaches past
// the box's own blocks, so the result is a box filter, which aliases (a zone plate twice as much
// as with libvips, whose thumbnail reduces by 2–4× after its box; Pillow's reducing_gap is 2 too).
constexpr double kFinalFilterMargin = 2;

// The box factor for a reduction of `ratio` (source pixels per output pixel) along one axis: the
// largest that leaves the final filter at least kFinalFilterMargin, capped at BoxShrinker's
// kMaxBlock; 1 (no box) below 2 × kFinalFilterMargin.
int box_factor(double ratio);

// Averages kx×ky blocks of an image that arrives one row at a time, so a decoder can shrink while
// it decodes and never hold the full-size image. Output pixel (i, j) covers source pixels
// [i kx, (i + 1) kx) × [j ky, (j + 1) ky): a partial block at the right or bottom edge is filled
// out with copies of the edge pixels, as libvips's shrink does, so the result is a uniform grid
// whose true extent is width / kx × height / ky, and the final filter can map exactly that
// (averaging only what a partial block holds, counted as a whole pixel, moved content up to 0.9
// output px at the far edge). With alpha (2 or 4 channels) colour is alpha-weighted. One object
// per image. Each factor is capped at kMaxBlock: a block's alpha-weighted sums (up to 255 × 255
// per pixel) must fit in 32 bits. Larger shrinks leave the rest to the final filter.
// With `linear`, blocks are averaged in linear light (--linear; image/srgb.h) and each mean is
// stored as the nearest 8-bit sRGB code, so a 1-px black and white stripe pattern becomes 188,
// not 128; alpha-weighted colour is then premultiplied in linear light.
class BoxShrinker {
 public:
  static constexpr int kMaxBlock = 256;

  // Ready for `height` rows of width × channels bytes, shrinking by kx across and ky down (each
  // clamped to 1..kMaxBlock). False when out of memory.
  bool start(int width, int height, int channels, int kx, int ky, bool linear = false);
  bool start(int width, int height, int channels, int k) {
    return start(width, height, channels, k, k);
  }
  void add_row(const uint8_t* row);
  // The result, ceil(width / kx) × ceil(height / ky), once every row is in.
  Image finish();

 private:
  int width_ = 0, height_ = 0, channels_ = 0, kx_ = 1, ky_ = 1;
  int rows_in_ = 0, band_rows_ = 0;
  bool linear_ = false;
  bool alpha() const { return channels_ == 2 || channels_ == 4; }
  void add_sums(const uint8_t* row, bool first);
  void emit_row(uint8_t* out);
  // Column sums of the current band (width × channels): sums_ (16-bit) for opaque images, acc_
  // (32-bit, alpha-weighted) with alpha, linear_acc_ (64-bit: 16-bit linear colour × alpha ×
  // up to 2^16 pixels) with linear; the others stay empty.
  std::vector<uint16_t> sums_;
  std::vector<uint32_t> acc_;
  std::vector<uint64_t> linear_acc_;
  // Scratch for the opaque fast path (see emit_opaque in box.cc).
  std::vector<uint16_t> wide_, picked_;
  Image out_;
};

// BoxShrinker over a whole image, in place (nothing to do when both factors are 1). False only
// when out of memory.
bool box_shrink(Image& image, int kx, int ky, bool linear = false);
inline bool box_shrink(Image& image, int k) { return box_shrink(image, k, k); }

}  // namespace imgpipe

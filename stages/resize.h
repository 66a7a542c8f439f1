// resize: the thumbnail geometry (a pure function) and the pixel resampling.
//
// Plain functions on values / one Item; no shared state, safe from any number of threads.
#pragma once

#include <cstdint>
#include <vector>

#include "pipeline/item.h"
#include "pipeline/options.h"

namespace imgpipe {

// The size that fits src inside box keeping the aspect ratio: never a 0-px side, never larger
// than the box, and never larger than the source unless upscale is true.
Size target_size(int src_width, int src_height, Size box, bool upscale);

// Shrink-on-load choices: the cheapest decode that still leaves at least twice the target on each
// side, so the final filter has real pixels to work with (as libvips and Pillow's draft mode do).
// JPEG: the largest DCT scale denominator (1, 2, 4 or 8) that keeps that margin.
int jpeg_shrink_denominator(int src_width, int src_height, Size target);
// WebP: twice the target when the source is larger than that, else {0, 0} (decode in full).
Size webp_scaled_size(int src_width, int src_height, Size target);

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
  // Scratch for the opaque fast path (see emit_opaque in resize.cc).
  std::vector<uint16_t> wide_, picked_;
  Image out_;
};

// BoxShrinker over a whole image, in place. False only when out of memory.
bool box_shrink(Image& image, int k);

// Resamples `image` to `target` in place: with `preshrink`, a box pre-shrink first, then
// stb_image_resize. False if stb refuses or memory runs out.
bool resize(Image& image, Size target, bool preshrink = true);

// The size the decoder should keep at least (stored orientation): the largest scaled size any of
// the --size boxes needs under the fit mode, so one decode serves every thumbnail.
Size decode_target(int src_width, int src_height, int orientation, const ImageOptions& options);

// The resize stage: item.image (perhaps shrunk on load, stored orientation) → one upright Thumb
// per options.sizes box, fitted as options.fit says. Sizes come from source_width/height, so they
// do not depend on how much the decoder shrank. The filter follows options.resizer (see Resizer);
// Codec::kStb leaves out the box pre-shrink, so stb_image_resize does it all. For JPEG output,
// alpha is flattened onto white first. Consumes the image.
void make_thumbnails(Item& item, const ImageOptions& options);

}  // namespace imgpipe

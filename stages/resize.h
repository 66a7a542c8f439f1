// resize: the thumbnail geometry (a pure function) and the pixel resampling.
//
// Plain functions on values / one Item; no shared state, safe from any number of threads.
#pragma once

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

// Averages k×k blocks (partial blocks at the edges averaged over what they hold); alpha-weighted
// when the image has alpha. False only when out of memory.
bool box_shrink(Image& image, int k);

// Resamples item.image to `target` in place: with `preshrink`, a box pre-shrink first, then
// stb_image_resize. Fails the item with process_error if stb refuses.
void resize(Item& item, Size target, bool preshrink = true);

// The resize stage: item.image (perhaps shrunk on load, stored orientation) → the thumbnail that
// fits `box`, upright. The size comes from source_width/height, so it does not depend on how much
// the decoder shrank. The filter follows options.resizer (see Resizer); Codec::kStb leaves out
// the box pre-shrink, so stb_image_resize does it all.
void resize_to_box(Item& item, const ImageOptions& options);

}  // namespace imgpipe

// decode: downloaded bytes → pixels, refusing oversized images before allocating them, and
// shrinking on load toward the thumbnail where the codec can (JPEG DCT scaling, WebP scaling).
//
// A plain function on one Item; no shared state, so any number of threads may decode different
// items at once.
#pragma once

#include "core/item.h"
#include "core/options.h"

namespace imgpipe {

// The shrink-on-load policy. decode_target: the size the decoder must keep at least (stored
// orientation), the largest scaled size any of the --size boxes needs under the fit mode, so one
// decode serves every thumbnail. The codec then takes the cheapest decode that still leaves at
// least twice that on each side, so the final filter has real pixels to work with (as libvips and
// Pillow's draft mode do).
Size decode_target(int src_width, int src_height, int orientation, const ImageOptions& options);
// JPEG: the largest DCT scale denominator (1, 2, 4 or 8) that keeps that margin.
int jpeg_shrink_denominator(int src_width, int src_height, Size target);
// WebP: twice the target when the source is larger than that, else {0, 0} (decode in full).
Size webp_scaled_size(int src_width, int src_height, Size target);

// Decodes item.body into item.image and releases the body; sets source_width/height (as
// displayed) and orientation. The image may come out smaller than the source (never below twice
// the thumbnail). On failure sets not_an_image (no format recognised), too_large (over
// max_pixels, judged from the header alone) or decode_error.
void decode(Item& item, const ImageOptions& options);

}  // namespace imgpipe

// decode: downloaded bytes → pixels, refusing oversized images before allocating them, and
// shrinking on load toward the thumbnail where the codec can (JPEG DCT scaling, WebP scaling).
//
// A plain function on one Item; no shared state, so any number of threads may decode different
// items at once.
#pragma once

#include "pipeline/item.h"
#include "pipeline/options.h"

namespace imgpipe {

// Decodes item.body into item.image and releases the body; sets source_width/height (as
// displayed) and orientation. The image may come out smaller than the source (never below twice
// the thumbnail). On failure sets not_an_image (no format recognised), too_large (over
// max_pixels, judged from the header alone) or decode_error.
void decode(Item& item, const ImageOptions& options);

}  // namespace imgpipe

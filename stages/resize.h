// resize: the resize stage — one decoded image in, one upright, fitted thumbnail per --size out.
//
// A plain function on one Item; no shared state, so any number of threads may resize different
// items at once. The pixel work it calls lives in image/ (fit, resample, orientation).
#pragma once

#include "core/item.h"
#include "core/options.h"

namespace imgpipe {

// item.image (perhaps shrunk on load, stored orientation) → one upright Thumb per options.sizes
// box, fitted as options.fit says. Sizes come from source_width/height, so they do not depend on
// how much the decoder shrank. The filter follows options.codec and options.resizer (resample.h).
// For JPEG output, alpha is flattened onto white first. With item.icc_profile, each thumbnail
// is converted from it to sRGB (after scaling, before padding) and the profile cleared; with
// options.keep_profile, where the output can carry the profile, the pixels stay and so does the
// profile, for encode. A profile lcms refuses leaves the pixels as they are, with a warning.
// Consumes the image; fails the item with process_error when memory runs out.
void resize(Item& item, const ImageOptions& options);

}  // namespace imgpipe

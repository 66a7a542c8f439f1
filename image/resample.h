// resample: one image to one size with the filter the options choose — the integer box pre-shrink
// then imgpipe's Lanczos-3 (the default), or stb_image_resize's Mitchell filter (--resizer stb,
// --codec stb).
//
// Plain functions on an Image the caller owns; no shared state, safe from any number of threads.
#pragma once

#include "core/image.h"
#include "core/options.h"

namespace imgpipe {

// Resamples `image` to `target` in place: with `preshrink`, a box pre-shrink first, then
// stb_image_resize. False if stb refuses or memory runs out.
bool stb_resize(Image& image, Size target, bool preshrink = true);

// Resamples `image` to `target` in place with the filter `codec` and `resizer` choose (see Resizer
// in core/options.h). False only when memory runs out or stb refuses.
bool resample(Image& image, Size target, Codec codec, Resizer resizer);

}  // namespace imgpipe

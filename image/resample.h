// resample: one image to one size with the filter the options choose — the integer box pre-shrink
// then imgpipe's Lanczos-3 (the default), or stb_image_resize's Mitchell filter (--resizer stb,
// --codec stb) — mapping an exact, fractional region of the source, in linear light on request.
//
// Plain functions on an Image the caller owns; no shared state, safe from any number of threads.
#pragma once

#include "core/image.h"
#include "core/options.h"
#include "image/region.h"

namespace imgpipe {

// Maps the region `from` of `image` onto `target` in place with stb_image_resize: with
// `preshrink`, a box pre-shrink first (leaving stb at least a 2× reduction, box.h); with
// `linear`, in linear light. False if stb refuses or memory runs out.
bool stb_resize(Image& image, Size target, const Region& from, bool preshrink, bool linear = false);
inline bool stb_resize(Image& image, Size target, bool preshrink = true) {
  return stb_resize(image, target, whole_region(image), preshrink);
}

// Maps the region `from` of `image` onto `target` in place with the filter options.codec and
// options.resizer choose (see Resizer in core/options.h), in linear light with options.linear.
// With the default filter the box pre-shrink takes what it can while leaving Lanczos a 2–4×
// reduction, per axis. False only when memory runs out or stb refuses.
bool resample(Image& image, Size target, const Region& from, const ImageOptions& options);

}  // namespace imgpipe

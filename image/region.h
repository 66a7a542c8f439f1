// region: the part of an image that resampling maps onto a thumbnail, in fractional pixels.
//
// A plain value type; no state, safe anywhere.
#pragma once

#include "core/image.h"

namespace imgpipe {

// A rectangle in an image's pixel coordinates, where pixel i spans [i, i + 1). Fractional, because
// what a thumbnail shows rarely starts or ends on a whole pixel: a centre crop of the source, or
// the true extent of an image shrunk on load whose last pixel covers a partial block (source width
// 1001 decoded at 1/2 is 501 pixels, 500.5 of them image). Rounding these to whole pixels moved
// content by up to 0.9 output px, and a thin cover crop by up to 38.
struct Region {
  double x = 0, y = 0, width = 0, height = 0;
};

// The whole of an image w × h.
inline Region whole_region(int w, int h) { return {0, 0, double(w), double(h)}; }
inline Region whole_region(const Image& image) { return whole_region(image.width, image.height); }

}  // namespace imgpipe

// fit: all thumbnail geometry — the size that fits a box (target_size) and the fit modes (contain,
// cover, pad, stretch) as pure functions — plus the pixel operations the modes need besides
// resampling: a crop, a pad onto a background colour, and flattening alpha onto white.
//
// Plain functions on values and on an Image the caller owns; no shared state. Safe from any number
// of threads as long as no two calls touch the same Image at once.
#pragma once

#include <cstdint>
#include <string>

#include "core/image.h"
#include "core/options.h"

namespace imgpipe {

// The size that fits src inside box keeping the aspect ratio: never a 0-px side, never larger
// than the box, and never larger than the source unless upscale is true.
Size target_size(int src_width, int src_height, Size box, bool upscale);

// The three steps that turn an upright source into a thumbnail: resample, crop, pad. A step that
// does nothing has its output equal to its input (cropped == scaled, canvas == cropped).
struct Placement {
  Size scaled;  // resample the (upright) source to this size
  int crop_x = 0, crop_y = 0;
  Size cropped;              // then keep this rectangle of it (== scaled when no crop)
  Size canvas;               // then place it on a canvas this size (== cropped when no padding)
  int pad_x = 0, pad_y = 0;  // at this offset
};

// The placement of an upright src_width × src_height source for `box` and `fit`. Every side is
// ≥ 1; a box side < 1 counts as 1. A source side < 1 (not an image) gives all-zero sizes, as
// target_size does, so callers can reject it.
//
// upscale = false never enlarges the source (the scale is capped at 1):
//   contain: target_size(..., false).
//   cover:   a source that covers the box is scaled down and cropped to the box; one that does not
//            is kept at source scale and centre-cropped to the box's aspect ratio, so the result
//            is smaller than the box but has its shape.
//   pad:     the contained image is centred on a canvas that is still the full box.
//   stretch: min(box, source) per side.
// Centring offsets (crop and pad) are (larger − smaller) / 2 rounded down: an odd leftover pixel
// goes to the right / bottom.
//
// Cover with upscale = true on an extreme aspect ratio asks for a huge `scaled` (1×1000 into
// 256×256 is 256×256000); a caller that wants to avoid that can crop the source first, since the
// crop rectangle divided by the scale is the source rectangle that survives.
Placement place(int src_width, int src_height, Size box, Fit fit, bool upscale);

// Parses a colour, case-insensitively: "white", "black", "transparent" (= #00000000, as in CSS),
// the CSS names red, lime, green, blue, yellow, cyan/aqua, magenta/fuchsia, gray/grey, silver,
// and the CSS hex forms "#rgb", "#rgba", "#rrggbb", "#rrggbbaa". No surrounding spaces. On error
// returns false, leaves *out alone and, when `why` is not null, says what was wrong in *why.
bool parse_color(const std::string& text, Rgba* out, std::string* why);

// Keeps the `size` rectangle at (x, y) of `image`, in place (a new malloc'd buffer replaces the
// old one; a rectangle that is the whole image changes nothing and allocates nothing). False, with
// `image` untouched, when the rectangle is empty or not inside the image, the image has no pixels,
// or memory runs out.
bool crop(Image& image, int x, int y, Size size);

// Places `image` at (x, y) on a `canvas`-sized image filled with `background`, in place (a new
// malloc'd buffer). Channels grow only as far as the background needs: a colour (r, g, b not all
// equal) background on gray (1/2 channels) gives RGB (3/4); a non-opaque background on an image
// without alpha (1/3) adds alpha (2/4, the image's own pixels opaque). A gray background on a
// gray image stays gray, using its r value. A canvas the size of the image shows no background, so
// it changes nothing. False, with `image` untouched, when the image does not fit on the canvas at
// (x, y), the image has no pixels, or memory runs out.
bool pad(Image& image, Size canvas, int x, int y, Rgba background);

// Blends an image with alpha (2 or 4 channels) onto white in place, dropping the alpha channel
// (JPEG has none); other layouts are left alone.
void flatten_alpha(Image& image);

}  // namespace imgpipe

// Thumbnail geometry and stb_image_resize resampling.
#include "stages/resize.h"

#include <stb/stb_image_resize.h>

#include <algorithm>
#include <cmath>

#include "stages/orientation.h"

namespace imgpipe {

Size target_size(int src_width, int src_height, Size box, bool upscale) {
  if (src_width <= 0 || src_height <= 0) return {0, 0};
  double scale = std::min(static_cast<double>(box.width) / src_width,
                          static_cast<double>(box.height) / src_height);
  if (!upscale) scale = std::min(scale, 1.0);
  // Round to nearest, then clamp: a 1×10000 strip still gets a 1-px side, and rounding up can
  // never push a side past the box.
  auto side = [scale](int src, int limit) {
    long v = std::lround(src * scale);
    return static_cast<int>(std::clamp<long>(v, 1, limit));
  };
  int limit_w = upscale ? box.width : std::min(box.width, src_width);
  int limit_h = upscale ? box.height : std::min(box.height, src_height);
  return {side(src_width, limit_w), side(src_height, limit_h)};
}

int jpeg_shrink_denominator(int src_width, int src_height, Size target) {
  for (int d : {8, 4, 2}) {
    // libjpeg-turbo rounds scaled sides up.
    int w = (src_width + d - 1) / d, h = (src_height + d - 1) / d;
    if (w >= 2 * target.width && h >= 2 * target.height) return d;
  }
  return 1;
}

Size webp_scaled_size(int src_width, int src_height, Size target) {
  if (src_width > 2 * target.width && src_height > 2 * target.height)
    return {2 * target.width, 2 * target.height};
  return {0, 0};
}

void resize(Item& item, Size target) {
  Image& src = item.image;
  if (target.width == src.width && target.height == src.height) return;
  PixelBuffer out(static_cast<uint8_t*>(
      std::malloc(static_cast<size_t>(target.width) * target.height * src.channels)));
  // Alpha (last channel of 2 or 4) is premultiplied by stb during filtering, so transparent
  // pixels do not bleed their colour into the edges.
  int alpha =
      (src.channels == 2 || src.channels == 4) ? src.channels - 1 : STBIR_ALPHA_CHANNEL_NONE;
  // Linear colourspace = filter the stored (sRGB-encoded) values as they are, as vipsthumbnail
  // does by default: a third faster than converting to linear light and back.
  int ok = out && stbir_resize_uint8_generic(src.pixels.get(), src.width, src.height, 0, out.get(),
                                             target.width, target.height, 0, src.channels, alpha, 0,
                                             STBIR_EDGE_CLAMP, STBIR_FILTER_DEFAULT,
                                             STBIR_COLORSPACE_LINEAR, nullptr);
  if (!ok) {
    item.fail(Status::kProcessError, "resize failed");
    return;
  }
  src.pixels = std::move(out);
  src.width = target.width;
  src.height = target.height;
}

void resize_to_box(Item& item, Size box) {
  Size t = target_size(item.source_width, item.source_height, box, false);
  const bool swap = swaps_axes(item.orientation);
  resize(item, swap ? Size{t.height, t.width} : t);
  if (item.ok()) apply_orientation(item.image, item.orientation);
}

}  // namespace imgpipe

// Resampling: the filter choice, and stb_image_resize with an optional box pre-shrink.
#include "image/resample.h"

#include <stb/stb_image_resize.h>

#include <algorithm>
#include <cstdlib>

#include "image/box.h"
#include "image/lanczos.h"

namespace imgpipe {

bool stb_resize(Image& src, Size target, bool preshrink) {
  if (target.width == src.width && target.height == src.height) return true;
  // Shrink-then-reduce (as libvips does): a cheap integer box average brings the image to within
  // 1–2× of the target, so the costly filter below runs on a small input.
  const int k = preshrink ? std::min(src.width / target.width, src.height / target.height) : 1;
  if (!box_shrink(src, k)) return false;
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
  if (!ok) return false;
  src.pixels = std::move(out);
  src.width = target.width;
  src.height = target.height;
  return true;
}

bool resample(Image& img, Size target, Codec codec, Resizer resizer) {
  if (img.width == target.width && img.height == target.height) return true;
  const bool fast = codec == Codec::kFast;
  if (fast && resizer == Resizer::kLanczos) {
    const int k = std::min(img.width / target.width, img.height / target.height);
    return box_shrink(img, k) && lanczos_resize(img, target);
  }
  return stb_resize(img, target, fast);  // stb: --resizer stb, --codec stb
}

}  // namespace imgpipe

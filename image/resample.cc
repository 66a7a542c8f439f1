// Resampling: the filter choice, the box pre-shrink's share, and stb_image_resize.
#include "image/resample.h"

#include <stb/stb_image_resize.h>

#include <cstdlib>

#include "image/box.h"
#include "image/lanczos.h"

namespace imgpipe {
namespace {

bool is_whole(const Image& img, const Region& r) {
  return r.x == 0 && r.y == 0 && r.width == img.width && r.height == img.height;
}

// Shrink-then-reduce, as libvips and Pillow do: a cheap integer box average takes what it can of
// the reduction while leaving the costly filter after it at least kFinalFilterMargin, per axis.
// The box grid starts at the image's corner and its last block is filled out with edge copies,
// so `from` divides exactly.
bool preshrink(Image& img, Size target, Region& from, bool linear) {
  const int kx = box_factor(from.width / target.width);
  const int ky = box_factor(from.height / target.height);
  if (kx == 1 && ky == 1) return true;
  if (!box_shrink(img, kx, ky, linear)) return false;
  from = {from.x / kx, from.y / ky, from.width / kx, from.height / ky};
  return true;
}

}  // namespace

bool stb_resize(Image& src, Size target, const Region& region, bool preshrink_first, bool linear) {
  if (is_whole(src, region) && target.width == src.width && target.height == src.height)
    return true;
  Region from = region;
  if (preshrink_first && !preshrink(src, target, from, linear)) return false;
  PixelBuffer out(static_cast<uint8_t*>(
      std::malloc(static_cast<size_t>(target.width) * target.height * src.channels)));
  // Alpha (last channel of 2 or 4) is premultiplied by stb during filtering, so transparent
  // pixels do not bleed their colour into the edges.
  int alpha =
      (src.channels == 2 || src.channels == 4) ? src.channels - 1 : STBIR_ALPHA_CHANNEL_NONE;
  // COLORSPACE_LINEAR = filter the stored (sRGB-encoded) values as they are, as vipsthumbnail
  // does by default: a third faster than converting to linear light and back (--linear).
  const stbir_colorspace space = linear ? STBIR_COLORSPACE_SRGB : STBIR_COLORSPACE_LINEAR;
  const float w = float(src.width), h = float(src.height);
  int ok = out && stbir_resize_region(
                      src.pixels.get(), src.width, src.height, 0, out.get(), target.width,
                      target.height, 0, STBIR_TYPE_UINT8, src.channels, alpha, 0, STBIR_EDGE_CLAMP,
                      STBIR_EDGE_CLAMP, STBIR_FILTER_DEFAULT, STBIR_FILTER_DEFAULT, space, nullptr,
                      float(from.x / w), float(from.y / h), float((from.x + from.width) / w),
                      float((from.y + from.height) / h));
  if (!ok) return false;
  src.pixels = std::move(out);
  src.width = target.width;
  src.height = target.height;
  return true;
}

bool resample(Image& img, Size target, const Region& from, const ImageOptions& o) {
  const bool fast = o.codec == Codec::kFast;
  if (fast && o.resizer == Resizer::kLanczos) {
    Region left = from;
    return preshrink(img, target, left, o.linear) && lanczos_resize(img, target, left, o.linear);
  }
  return stb_resize(img, target, from, fast, o.linear);  // stb: --resizer stb, --codec stb
}

}  // namespace imgpipe

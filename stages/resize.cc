// The resize stage: for each --size box, fit the geometry, resample, turn upright, crop or pad.
#include "stages/resize.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>

#include "image/fit.h"
#include "image/icc.h"
#include "image/orientation.h"
#include "image/region.h"
#include "image/resample.h"

namespace imgpipe {

namespace {

bool copy_image(const Image& src, Image* out) {
  out->pixels.reset(static_cast<uint8_t*>(std::malloc(src.bytes())));
  if (!out->pixels) return false;
  std::memcpy(out->pixels.get(), src.pixels.get(), src.bytes());
  out->width = src.width;
  out->height = src.height;
  out->channels = src.channels;
  return true;
}

// The region of a decoded image that holds the source rectangle [x, x + w) × [y, y + h) (source
// pixels, in the image's orientation): the decoder's shrink divides exactly (Item::shrink_x).
Region image_region(double x, double y, double w, double h, double shrink_x, double shrink_y) {
  return {x / shrink_x, y / shrink_y, w / shrink_x, h / shrink_y};
}

// Cover: crops the upright image to the pixels the filter reads for `from`, shifting `from` to
// match: the kept rectangle and, around it, Lanczos-3's reach (3 × the reduction) plus one box
// block (at most half the reduction: box.h) plus a pixel of rounding, so the edges see their real
// neighbours as if the whole image were resampled. Scaling first would resample pixels that are
// thrown away, and for a thin strip with --upscale build a huge intermediate (1×4000 into 64×64
// scales to 64×256000): found by fuzz_image as a timeout.
bool crop_to_reach(Image& img, Region& from, Size target) {
  const double reach_x = 3.5 * std::max(1.0, from.width / target.width) + 2;
  const double reach_y = 3.5 * std::max(1.0, from.height / target.height) + 2;
  const int x0 = static_cast<int>(std::clamp(std::floor(from.x - reach_x), 0.0, img.width - 1.0));
  const int y0 = static_cast<int>(std::clamp(std::floor(from.y - reach_y), 0.0, img.height - 1.0));
  const double x1 = std::clamp(std::ceil(from.x + from.width + reach_x), x0 + 1.0, 1.0 * img.width);
  const double y1 =
      std::clamp(std::ceil(from.y + from.height + reach_y), y0 + 1.0, 1.0 * img.height);
  from.x -= x0;
  from.y -= y0;
  return crop(img, x0, y0, {static_cast<int>(x1) - x0, static_cast<int>(y1) - y0});
}

// One thumbnail from `img` (which it consumes): scale in stored orientation, turn upright, then
// crop or pad to the box as the fit mode asks. The filter maps the exact source rectangle the
// placement keeps: the image's true extent, or the cover crop's, never one rounded to pixels (a
// rounded crop of a 3-px-wide source scaled 21× put the thumbnail 10 px off centre). `colour`
// converts the scaled pixels to sRGB before the padding, which is sRGB already.
bool make_thumb(Image img, const Item& item, Size box, const ImageOptions& o, Thumb* out,
                const IccConverter& colour = {}) {
  const Placement p = place(item.source_width, item.source_height, box, o.fit, o.upscale);
  const bool cropped = p.cropped.width != p.scaled.width || p.cropped.height != p.scaled.height;
  const bool swap = swaps_axes(item.orientation);
  if (cropped) {
    apply_orientation(img, item.orientation);
    // Upright now: the decoder's shrink factors trade axes with the image's sides.
    const double sx = swap ? item.shrink_y : item.shrink_x;
    const double sy = swap ? item.shrink_x : item.shrink_y;
    const double fx = double(item.source_width) / p.scaled.width;
    const double fy = double(item.source_height) / p.scaled.height;
    Region from = image_region(p.crop_x * fx, p.crop_y * fy, p.cropped.width * fx,
                               p.cropped.height * fy, sx, sy);
    if (!crop_to_reach(img, from, p.cropped) || !resample(img, p.cropped, from, o)) return false;
  } else {
    const Size stored = swap ? Size{p.scaled.height, p.scaled.width} : p.scaled;
    const int stored_width = swap ? item.source_height : item.source_width;
    const int stored_height = swap ? item.source_width : item.source_height;
    const Region from =
        image_region(0, 0, stored_width, stored_height, item.shrink_x, item.shrink_y);
    if (!resample(img, stored, from, o)) return false;
    apply_orientation(img, item.orientation);
  }
  colour.apply(img);  // on the thumbnail, not the source: a fraction of the pixels
  const bool padded = p.canvas.width != p.cropped.width || p.canvas.height != p.cropped.height;
  if (padded && !pad(img, p.canvas, p.pad_x, p.pad_y, o.background)) return false;
  out->box = box;
  out->width = img.width;
  out->height = img.height;
  out->image = std::move(img);
  return true;
}

// Whether a thumbnail of `channels` channels (before padding) in format `f` can carry a profile
// of the source's: an RGB one always; a gray one only on gray pixels, and not in WebP or AVIF,
// whose encoders widen gray to RGB.
bool can_carry(IccSpace space, int channels, Format f) {
  if (space == IccSpace::kRgb) return channels >= 3;
  return space == IccSpace::kGray && channels <= 2 && f != Format::kWebp && f != Format::kAvif;
}

// What becomes of the item's profile: the converter every thumbnail goes through (to sRGB), or,
// with --keep-profile where the output can carry it, none, the profile staying on the item for
// encode to embed. A profile lcms refuses leaves the pixels as they are, with a warning.
IccConverter colour_step(Item& item, const ImageOptions& o, int channels) {
  if (item.icc_profile.empty()) return {};  // untagged: nothing to do, nothing spent
  IccConverter c = icc_to_srgb(item.icc_profile, channels);
  if (!c.usable()) {
    item.warnings.push_back("the embedded ICC profile was ignored: " + c.problem() +
                            "; colours as stored");
    item.icc_profile.clear();
    return {};
  }
  if (o.keep_profile && can_carry(icc_space(item.icc_profile), channels, o.format)) return {};
  if (o.keep_profile)
    item.warnings.push_back(std::string("--keep-profile: a ") + word(o.format) +
                            " thumbnail of these pixels cannot carry the gray profile; "
                            "converted to sRGB instead");
  item.icc_profile.clear();
  return c;
}

}  // namespace

void resize(Item& item, const ImageOptions& options) {
  item.thumbs.clear();
  // JPEG holds no alpha, so encode would flatten onto white anyway. Doing it first gives the same
  // thumbnail (blending onto a constant colour commutes with the alpha-weighted filters, up to
  // rounding) and resamples 3 channels instead of 4 with weights: a 1600×1000 RGBA image took
  // 3.6 ms through the alpha box pre-shrink and Lanczos, against 0.6 ms to flatten it and 0.8 ms
  // for the RGB forms (one core, a throwaway harness).
  if (options.format == Format::kJpeg) flatten_alpha(item.image);
  const IccConverter colour = colour_step(item, options, item.image.channels);
  for (size_t i = 0; i < options.sizes.size(); ++i) {
    Image img;  // the last thumbnail takes the decoded image itself; the others take copies
    const bool last = i + 1 == options.sizes.size();
    if (last) {
      img = std::move(item.image);
    } else if (!copy_image(item.image, &img)) {
      item.fail(Status::kProcessError, "out of memory");
      return;
    }
    Thumb thumb;
    if (!make_thumb(std::move(img), item, options.sizes[i], options, &thumb, colour)) {
      item.fail(Status::kProcessError, "resize failed (out of memory?)");
      return;
    }
    item.thumbs.push_back(std::move(thumb));
  }
}

}  // namespace imgpipe

// lanczos: imgpipe's final resize filter — separable Lanczos-3, for 1 to 4 channels: opaque images
// in 16-bit fixed point (image/fixed_filter.h), alpha (filtered premultiplied) and --linear in
// float, with loops the compiler vectorises (AVX2 where the CPU has it).
// It maps a fractional region of the source, so geometry stays exact through crops and shrinks.
//
// A plain function on one Image; its scratch buffers are per thread, so any number of threads may
// call it.
#pragma once

#include "core/image.h"
#include "image/region.h"

namespace imgpipe {

// Resamples the region `from` of `image` onto `target`, in place: output pixel (i, j) is centred
// on from.x + (i + 0.5) × from.width / target.width (and likewise down), and the kernel reads
// whatever pixels of the image it reaches, inside the region or not (so a crop matches cropping
// the resized whole). Past the image's edges the weights that remain are renormalised. It runs
// after the box pre-shrink, which leaves it a 2–4× reduction (12 to 24 taps); it also upscales.
// With `linear`, it filters in linear light (image/srgb.h), alpha premultiplied there. False
// (image untouched) only when memory runs out.
bool lanczos_resize(Image& image, Size target, const Region& from, bool linear = false);
inline bool lanczos_resize(Image& image, Size target) {
  return lanczos_resize(image, target, whole_region(image));
}

}  // namespace imgpipe

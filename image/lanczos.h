// lanczos: imgpipe's final resize filter — separable Lanczos-3 in float, with loops the compiler
// vectorises (AVX2 where the CPU has it), for 1 to 4 channels; alpha is filtered premultiplied.
//
// A plain function on one Image; its scratch buffers are per thread, so any number of threads may
// call it.
#pragma once

#include "core/image.h"

namespace imgpipe {

// Resamples `image` to `target` in place. It runs after the box pre-shrink has brought the image
// to within 1–2× of the target, so its cost stays a few taps per pixel; it also upscales. False
// (image untouched) only when memory runs out.
bool lanczos_resize(Image& image, Size target);

}  // namespace imgpipe

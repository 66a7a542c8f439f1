// The final resize filter through FFmpeg's libswscale: SIMD bicubic, 2–4× faster than
// stb_image_resize v1 on thumbnail-sized inputs (see bench/codec_bench.cc).
//
// Each thread caches its own SwsContext (thread_local), so calls from any number of threads are
// safe.
#pragma once

#include "pipeline/item.h"
#include "pipeline/options.h"

namespace imgpipe {

// Resamples 1- or 3-channel `image` to `target` in place. False (image untouched) for layouts it
// does not handle — alpha needs premultiplied filtering, which stb_image_resize does — or when
// libswscale refuses; the caller then falls back to stb_image_resize.
bool swscale_resize(Image& image, Size target);

}  // namespace imgpipe

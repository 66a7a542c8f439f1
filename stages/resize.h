// resize: the thumbnail geometry (a pure function) and the pixel resampling.
//
// Plain functions on values / one Item; no shared state, safe from any number of threads.
#pragma once

#include "pipeline/item.h"
#include "pipeline/options.h"

namespace imgpipe {

// The size that fits src inside box keeping the aspect ratio: never a 0-px side, never larger
// than the box, and never larger than the source unless upscale is true.
Size target_size(int src_width, int src_height, Size box, bool upscale);

// Resamples item.image to `target` in place. Fails the item with process_error if stb refuses.
void resize(Item& item, Size target);

}  // namespace imgpipe

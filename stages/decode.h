// decode: downloaded bytes → pixels, refusing oversized images before allocating them.
//
// A plain function on one Item; no shared state (stb_image's failure reason is thread-local), so
// any number of threads may decode different items at once.
#pragma once

#include <cstdint>

#include "pipeline/item.h"

namespace imgpipe {

// Decodes item.body into item.image and releases the body. On failure sets not_an_image (no format
// recognised), too_large (over max_pixels, judged from the header alone) or decode_error.
void decode(Item& item, int64_t max_pixels);

}  // namespace imgpipe

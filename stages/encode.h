// encode: pixels → the thumbnail file's bytes (JPEG or PNG).
//
// A plain function on one Item. stb_image_write keeps its settings in process globals; we never
// change them, so concurrent calls on different items are safe.
#pragma once

#include "pipeline/item.h"
#include "pipeline/options.h"

namespace imgpipe {

// Blends an image with alpha onto white, dropping the alpha channel (JPEG has none).
void flatten_alpha(Image& image);

// Encodes item.image into item.encoded and releases the pixels.
void encode(Item& item, Format format, int quality);

}  // namespace imgpipe

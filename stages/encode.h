// encode: pixels → the thumbnail file's bytes (JPEG, PNG or WebP).
//
// A plain function on one Item. stb_image_write keeps its settings in process globals; we never
// change them, and TurboJPEG handles are per thread, so concurrent calls on different items are
// safe.
#pragma once

#include "core/item.h"
#include "core/options.h"

namespace imgpipe {

// Encodes `image` into *out as options.format and releases the pixels. JPEG: alpha flattened
// onto white, libjpeg-turbo (or stb_image_write with Codec::kStb). PNG: stb_image_write, alpha
// kept. WebP: libwebp, alpha kept. A non-empty `icc_profile` is embedded (JPEG APP2, PNG iCCP,
// WebP ICCP). False with *why on failure.
bool encode_image(Image& image, const ImageOptions& options, std::vector<uint8_t>* out,
                  std::string* why, const std::vector<uint8_t>& icc_profile = {});

// The encode stage: every thumbnail of the item, each into its Thumb::encoded, with the item's
// ICC profile embedded when resize kept one (--keep-profile).
void encode(Item& item, const ImageOptions& options);

}  // namespace imgpipe

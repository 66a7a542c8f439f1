// WebP through libwebp: header probe, decode (scaled on load; first frame of animations), encode.
//
// Plain functions; libwebp keeps no shared mutable state, so any number of threads may call them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/image.h"

namespace imgpipe {

struct WebpHeader {
  int width = 0, height = 0;
  bool alpha = false;
  bool animated = false;
};

bool webp_header(const std::vector<uint8_t>& data, WebpHeader* out, std::string* why);

// Decodes at `scaled` size (libwebp resamples while decoding), or full size when scaled is 0×0
// or the image is animated (then the first frame, composited on its canvas).
bool webp_decode(const std::vector<uint8_t>& data, Size scaled, Image* out, std::string* why);

// Encodes gray, RGB or RGBA pixels (gray is widened to RGB: WebP has no gray mode).
bool webp_encode(const Image& image, int quality, std::vector<uint8_t>* out, std::string* why);

}  // namespace imgpipe

// Image decoding with stb_image, header checked first.
#include "stages/decode.h"

#include <stb/stb_image.h>

#include <string>

namespace imgpipe {

void decode(Item& item, int64_t max_pixels) {
  const auto* data = item.body.data();
  const int len = static_cast<int>(item.body.size());  // body ≤ --max-bytes, far below INT_MAX
  int w = 0, h = 0, channels = 0;
  // The header alone says the size: refuse a decompression bomb before allocating anything.
  if (!stbi_info_from_memory(data, len, &w, &h, &channels)) {
    item.fail(Status::kNotAnImage, std::string("no image format recognised: ") + stbi_failure_reason());
    return;
  }
  if (w <= 0 || h <= 0 || static_cast<int64_t>(w) * h > max_pixels) {
    item.fail(Status::kTooLarge, "image is " + std::to_string(w) + "x" + std::to_string(h) +
                                     ", over --max-pixels " + std::to_string(max_pixels));
    return;
  }
  // Keep the source's channel count: palette images come out as RGB(A), 16-bit as 8-bit.
  uint8_t* pixels = stbi_load_from_memory(data, len, &w, &h, &channels, 0);
  if (!pixels) {
    item.fail(Status::kDecodeError, std::string("corrupt image: ") + stbi_failure_reason());
    return;
  }
  item.image.pixels.reset(pixels);
  item.image.width = item.source_width = w;
  item.image.height = item.source_height = h;
  item.image.channels = channels;
  item.body = {};  // the compressed bytes are no longer needed: free them now, not at the end
}

}  // namespace imgpipe

// Image decoding with stb_image, header checked first.
#include "stages/decode.h"

#include <stb/stb_image.h>

#include <algorithm>
#include <initializer_list>
#include <string>

namespace imgpipe {
namespace {

uint32_t big_endian32(const uint8_t* p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3];
}

void fail_too_large(Item& item, int64_t w, int64_t h, int64_t max_pixels) {
  item.fail(Status::kTooLarge, "image is " + std::to_string(w) + "x" + std::to_string(h) +
                                   ", over --max-pixels " + std::to_string(max_pixels));
}

// The format the magic bytes announce, or nullptr. stb says "unknown image type" both for
// non-images and for images whose header it refused (e.g. over its 1 GiB sanity limit); the magic
// tells the two apart.
const char* magic_format(const std::vector<uint8_t>& b) {
  auto starts = [&b](std::initializer_list<uint8_t> m) {
    return b.size() >= m.size() && std::equal(m.begin(), m.end(), b.begin());
  };
  if (starts({0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'})) return "PNG";
  if (starts({0xff, 0xd8, 0xff})) return "JPEG";
  if (starts({'G', 'I', 'F', '8'})) return "GIF";
  if (starts({'B', 'M'})) return "BMP";
  return nullptr;
}

// Fails an item whose header stb refused: too_large if the PNG header claims more than
// max_pixels (a decompression bomb), otherwise decode_error for a known format, else not_an_image.
void fail_unreadable_header(Item& item, int64_t max_pixels) {
  const std::vector<uint8_t>& b = item.body;
  const char* format = magic_format(b);
  if (!format) {
    item.fail(Status::kNotAnImage,
              std::string("no image format recognised: ") + stbi_failure_reason());
    return;
  }
  // PNG: signature, IHDR length and type, then width and height (big-endian) at offset 16.
  if (std::string(format) == "PNG" && b.size() >= 24) {
    uint64_t w = big_endian32(&b[16]), h = big_endian32(&b[20]);
    if (w * h > static_cast<uint64_t>(max_pixels)) {
      fail_too_large(item, static_cast<int64_t>(w), static_cast<int64_t>(h), max_pixels);
      return;
    }
  }
  item.fail(Status::kDecodeError, std::string(format) + " header is corrupt or unsupported");
}

}  // namespace

void decode(Item& item, int64_t max_pixels) {
  const auto* data = item.body.data();
  const int len = static_cast<int>(item.body.size());  // body ≤ --max-bytes, far below INT_MAX
  int w = 0, h = 0, channels = 0;
  // The header alone says the size: refuse a decompression bomb before allocating anything.
  if (!stbi_info_from_memory(data, len, &w, &h, &channels)) {
    fail_unreadable_header(item, max_pixels);
    return;
  }
  if (w <= 0 || h <= 0 || static_cast<int64_t>(w) * h > max_pixels) {
    fail_too_large(item, w, h, max_pixels);
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

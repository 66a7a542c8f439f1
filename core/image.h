// Image, Size and Rgba: the pixel vocabulary every layer shares — a decoded picture, a box, a
// colour.
//
// Plain value types with no behaviour beyond their size; an Image owns its buffer (moved, never
// copied). Thread-safety: none needed; one thread touches an Image at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>

namespace imgpipe {

// Frees pixel buffers from malloc: stb_image allocates with it, so all pixel buffers use it and no
// decoded image needs a copy.
struct FreeDeleter {
  void operator()(uint8_t* p) const { std::free(p); }
};
using PixelBuffer = std::unique_ptr<uint8_t[], FreeDeleter>;

// 8-bit interleaved pixels, rows packed (stride = width × channels).
struct Image {
  PixelBuffer pixels;
  int width = 0;
  int height = 0;
  int channels = 0;  // 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA
  size_t bytes() const { return pixels ? size_t(width) * height * channels : 0; }
};

// A width × height pair: a bounding box thumbnails fit inside (aspect ratio kept), or a size.
struct Size {
  int width = 256;
  int height = 256;
};

// A colour, 8 bits per channel, straight (not premultiplied) alpha: --background's pad fill.
struct Rgba {
  uint8_t r = 255, g = 255, b = 255, a = 255;
};

}  // namespace imgpipe

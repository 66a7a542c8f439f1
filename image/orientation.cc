// EXIF orientation via libexif, and the pixel transform it asks for.
#include "image/orientation.h"

#include <libexif/exif-data.h>

#include <cstring>

namespace imgpipe {

namespace {

// The orientation libexif reads from `data`: a whole JPEG (it finds the APP1 segment itself) or
// an EXIF block starting with "Exif\0\0".
int libexif_orientation(const uint8_t* data, size_t size) {
  ExifData* exif = exif_data_new_from_data(data, static_cast<unsigned>(size));
  if (!exif) return 1;
  int orientation = 1;
  ExifEntry* entry = exif_content_get_entry(exif->ifd[EXIF_IFD_0], EXIF_TAG_ORIENTATION);
  if (entry && entry->format == EXIF_FORMAT_SHORT && entry->components == 1 && entry->data)
    orientation = exif_get_short(entry->data, exif_data_get_byte_order(exif));
  exif_data_unref(exif);
  return orientation >= 1 && orientation <= 8 ? orientation : 1;
}

}  // namespace

int exif_orientation(const std::vector<uint8_t>& jpeg) {
  return libexif_orientation(jpeg.data(), jpeg.size());
}

int exif_block_orientation(const uint8_t* block, size_t size) {
  static const uint8_t kPrefix[6] = {'E', 'x', 'i', 'f', 0, 0};
  if (size >= 6 && std::memcmp(block, kPrefix, 6) == 0) return libexif_orientation(block, size);
  // PNG's eXIf and most WebP EXIF chunks hold the bare TIFF data, which libexif only takes after
  // the prefix. JPEG caps its APP1 segment at 64 KiB and cameras write for that; a block 16 times
  // larger holds no camera's EXIF, only a cost: it is read as having no orientation.
  constexpr size_t kMaxBlock = size_t{1} << 20;
  if (size < 8 || size > kMaxBlock) return 1;
  std::vector<uint8_t> prefixed(kPrefix, kPrefix + 6);
  prefixed.insert(prefixed.end(), block, block + size);
  return libexif_orientation(prefixed.data(), prefixed.size());
}

void apply_orientation(Image& image, int orientation) {
  if (orientation <= 1 || orientation > 8) return;
  const int w = image.width, h = image.height, c = image.channels;
  const bool swap = swaps_axes(orientation);
  const int ow = swap ? h : w, oh = swap ? w : h;
  PixelBuffer out(static_cast<uint8_t*>(std::malloc(size_t(w) * h * c)));
  if (!out) return;  // out of memory: leave it unrotated rather than fail the thumbnail
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      // Where stored pixel (x, y) lands in the upright image, per the EXIF definitions.
      int dx = x, dy = y;
      switch (orientation) {
        case 2:
          dx = w - 1 - x;
          break;  // mirrored
        case 3:
          dx = w - 1 - x;
          dy = h - 1 - y;
          break;  // upside down
        case 4:
          dy = h - 1 - y;
          break;  // mirrored vertically
        case 5:
          dx = y;
          dy = x;
          break;  // transposed
        case 6:
          dx = h - 1 - y;
          dy = x;
          break;  // turned 90° clockwise to view
        case 7:
          dx = h - 1 - y;
          dy = w - 1 - x;
          break;  // transverse
        case 8:
          dx = y;
          dy = w - 1 - x;
          break;  // turned 90° anticlockwise to view
      }
      std::memcpy(&out[(size_t(dy) * ow + dx) * c], &image.pixels[(size_t(y) * w + x) * c], c);
    }
  }
  image.pixels = std::move(out);
  image.width = ow;
  image.height = oh;
}

}  // namespace imgpipe

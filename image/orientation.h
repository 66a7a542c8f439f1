// EXIF orientation: read from a JPEG's APP1 segment (libexif) and applied to pixels, so
// thumbnails come out upright as cameras meant them (vipsthumbnail does the same by default).
//
// Plain functions; safe from any number of threads.
#pragma once

#include <cstdint>
#include <vector>

#include "core/image.h"

namespace imgpipe {

// The EXIF orientation tag (1..8) of a JPEG file; 1 (upright) when absent or unreadable.
int exif_orientation(const std::vector<uint8_t>& jpeg);

// Orientations 5..8 turn the image by 90°: width and height trade places.
inline bool swaps_axes(int orientation) { return orientation >= 5 && orientation <= 8; }

// Rotates/mirrors `image` so that an image stored with `orientation` displays upright.
void apply_orientation(Image& image, int orientation);

}  // namespace imgpipe

// EXIF orientation: read with libexif from a JPEG's APP1 segment, or from the EXIF block a PNG
// (eXIf) or WebP (EXIF) carries, and applied to pixels, so thumbnails come out upright as cameras
// meant them (vipsthumbnail does the same by default).
//
// Plain functions; safe from any number of threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/image.h"

namespace imgpipe {

// The EXIF orientation tag (1..8) of a JPEG file; 1 (upright) when absent or unreadable.
int exif_orientation(const std::vector<uint8_t>& jpeg);

// The orientation tag (1..8) of a bare EXIF block: a TIFF header and its IFDs, with or without
// the "Exif\0\0" prefix JPEG's APP1 puts before them. 1 when absent or unreadable.
int exif_block_orientation(const uint8_t* block, size_t size);

// Orientations 5..8 turn the image by 90°: width and height trade places.
inline bool swaps_axes(int orientation) { return orientation >= 5 && orientation <= 8; }

// Rotates/mirrors `image` so that an image stored with `orientation` displays upright.
void apply_orientation(Image& image, int orientation);

}  // namespace imgpipe

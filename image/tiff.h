// TIFF through libtiff: header probe, decode of the first page (any layout libtiff's RGBA
// interface reads: strips or tiles, contiguous or planar, 1-16 bits, gray, palette, RGB, YCbCr,
// CMYK; JPEG, deflate, LZW, PackBits...), its ICC profile.
//
// Every call opens its own TIFF handle over the caller's bytes, with its own error handlers and
// allocation limit (TIFFOpenOptions, libtiff 4.5), and libtiff's process-wide handlers are never
// used: any number of threads may call these functions at once.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/image.h"

namespace imgpipe {

struct TiffHeader {
  int width = 0, height = 0;  // as stored
  int orientation = 1;        // the Orientation tag (EXIF's values, EXIF took them from TIFF)
  int samples = 0, bits = 0;  // per pixel, per sample
  int photometric = 0;        // PHOTOMETRIC_*
  bool gray = false;          // min-is-black or min-is-white: a gray ICC profile fits
  // The largest buffer libtiff's RGBA reader allocates at once: one decoded strip or tile, times
  // the samples for planar data (it reads every plane of a strip together).
  uint64_t buffer_bytes = 0;
};

// Reads the first directory (tags only, no pixel data). False with *why when libtiff refuses it.
bool tiff_header(const std::vector<uint8_t>& data, TiffHeader* out, std::string* why);

// What tiff_decode holds at its peak: the RGBA raster (4 bytes a pixel) and libtiff's buffer.
uint64_t tiff_peak_bytes(const TiffHeader& header);

// Decodes the first page to RGB, or RGBA when it has an alpha sample (straight alpha: libtiff's
// premultiplied result is undone), in its stored orientation: the caller turns it by
// header.orientation, as it does a JPEG's EXIF orientation. libtiff may allocate no single block
// over max(header.buffer_bytes, the tag limit) while doing it.
bool tiff_decode(const std::vector<uint8_t>& data, const TiffHeader& header, Image* out,
                 std::string* why);

// The ICC profile of the first page (tag 34675). Empty if there is none; empty with *warning when
// it is longer than kMaxIccBytes or describes CMYK (libtiff's RGBA reader converts CMYK without
// one, so it no longer describes the pixels).
std::vector<uint8_t> tiff_icc_profile(const std::vector<uint8_t>& data, std::string* warning);

}  // namespace imgpipe

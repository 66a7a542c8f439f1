// BMP: imgpipe's own bounded decoder. stb_image 2.27 decodes no RLE BMP, no OS/2 2.x header, no
// palette before 16/24-bit pixels or pixel data further on than it expects, and read palette
// entries past the file's palette from uninitialised stack. No Debian package fits instead:
// gdk-pixbuf brings GObject and loadable modules, ImageMagick a huge attack surface, and both
// are heavier per call than the format deserves (SECURITY.md, "Decoders").
//
// What it reads: Windows 3.x–5 (40, 52, 56, 108, 124-byte) headers, OS/2 1.x (12) and 2.x (16–64)
// headers; 1, 2, 4 and 8-bit palettes (an index past the palette is black, as Pillow and libvips
// show it); 16, 24 and 32-bit pixels, with bit fields; RLE8 and RLE4 with delta and end-of-line
// escapes (pixels the stream skips take palette entry 0, as Pillow shows them); bottom-up and
// top-down rows. Not JPEG or PNG inside a BMP, nor OS/2 Huffman or RLE24.
//
// bmp_header reads only the headers and, for RLE, walks the stream without writing a pixel, so a
// caller can refuse an image (its size, its memory, its data ending early) before any pixel buffer
// exists. Every read is bounds-checked. Plain functions on caller-owned bytes; any number of
// threads may call them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/image.h"

namespace imgpipe {

struct BmpHeader {
  int width = 0, height = 0;  // height as displayed (a top-down file's is negative in the file)
  bool top_down = false;
  int bpp = 0;
  enum Coding { kRaw, kRle8, kRle4, kBitFields } coding = kRaw;
  uint32_t masks[4] = {0, 0, 0, 0};  // red, green, blue, alpha (16 and 32-bit only)
  int channels = 3;                  // of the decoded image: 4 when an alpha mask exists
  uint64_t pixel_offset = 0;         // where the pixel data starts
  uint64_t palette_offset = 0;
  int palette_entry_bytes = 4;  // 3 in OS/2 1.x files
  int palette_entries = 0;      // defined entries that the file holds (at most 256)
  // The fewest bytes the file can have: raw rows all present (the last one's padding may be
  // missing); RLE one end-of-bitmap escape (2 bytes), since a valid stream may skip everything.
  uint64_t min_bytes = 0;
  uint64_t peak_bytes = 0;  // the decoded image: the decoder holds nothing else
  // RLE: the stream ends before its end-of-bitmap escape and before the last row.
  bool truncated = false;
};

// Reads the headers; false, with *why, when the file is not a BMP this decoder reads. Judges
// nothing about the size: the caller checks --max-pixels against width × height first.
bool bmp_header(const std::vector<uint8_t>& data, BmpHeader* out, std::string* why);

// Decodes into 3 or 4 channels, top row first. Data missing at the end decodes as palette entry 0
// (RLE) or black (raw rows): the caller decides beforehand, from bmp_header's min_bytes and
// truncated, whether to accept that.
bool bmp_decode(const std::vector<uint8_t>& data, Image* out, std::string* why);

}  // namespace imgpipe

// PNG decoding: header probe with limits (libspng), then decode to 8-bit gray, RGB or RGBA: whole
// for ordinary sizes (8-bit gray, RGB and RGBA in one buffer through png_stored.h, other layouts
// through lodepng; both inflate with libdeflate), row by row through libspng for large images.
//
// Plain functions with a context per call (and one inflater per thread); safe from any number of
// threads.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/image.h"

namespace imgpipe {

struct PngHeader {
  int width = 0, height = 0;
  int channels = 0;   // of the decoded image: 1 plain gray, 3 RGB, 4 with any transparency
  bool gray = false;  // colour type 0 or 4: gray samples (expanded to RGBA with transparency)
  bool interlaced = false;
  // The IDAT stream inflated, as IHDR sizes it: a filter byte and the packed samples of every row
  // (of every Adam7 pass when interlaced).
  uint64_t inflated_bytes = 0;
};

bool png_header(const std::vector<uint8_t>& data, PngHeader* out, std::string* why);

// The fewest bytes a PNG with this header can have: deflate's best ratio is 1032:1, a 258-byte
// match (length code 285, no extra bits) costing two bits when the block's Huffman codes give
// both it and distance 1 one-bit codes.
uint64_t png_min_bytes(const PngHeader& header);

// Which decoder: kAuto takes kWhole up to 16 MB of output pixels (4 Mpx RGBA) and kRows above;
// tests pin one to compare them. kWhole (png_stored or lodepng, inflating with libdeflate) is the
// fast one: lodepng's path alone took about half libspng's time on the corpus. kRows (libspng)
// holds one row instead of the image when it shrinks a non-interlaced PNG.
enum class PngPath { kAuto, kWhole, kRows };

// What png_decode holds at its peak for a file of `file_bytes` bytes with this header: for kWhole,
// the joined IDATs, the inflated rows, lodepng's unfiltered copy and the output; for kRows, a few
// rows and the shrunk output, or the whole output when it cannot shrink row by row. An estimate,
// on the high side.
uint64_t png_peak_bytes(const PngHeader& header, int shrink, uint64_t file_bytes,
                        PngPath path = PngPath::kAuto);

// 16-bit becomes 8-bit; palette and tRNS become RGB(A); gray stays one channel unless it has
// transparency. With shrink k > 1 the result is box-averaged by k (as box_shrink does). With
// flatten, alpha is blended onto white (flatten_alpha) and dropped: for JPEG output, where the
// whole-image path then box-shrinks 3 channels instead of alpha-weighting 4. Both paths give the
// same pixels.
bool png_decode(const std::vector<uint8_t>& data, int shrink, Image* out, std::string* why,
                PngPath path = PngPath::kAuto, bool flatten = false);

// The ICC profile of the iCCP chunk (before IDAT), inflated. Empty if there is none; empty with
// *warning when its stream is corrupt or inflates to more than kMaxIccBytes (1032:1 lets 4 KB of
// file claim 4 MB: the inflater stops at the cap). gAMA, cHRM and sRGB chunks are not read:
// vips, Pillow and sharp ignore them too, so a thumbnail matches what they make.
std::vector<uint8_t> png_icc_profile(const std::vector<uint8_t>& data, std::string* warning);

// `png` with an iCCP chunk holding `profile` (zlib) inserted after IHDR, where the standard puts
// it (before PLTE and IDAT). False if `png` does not start with a signature and IHDR.
bool png_embed_icc(std::vector<uint8_t>* png, const std::vector<uint8_t>& profile);

}  // namespace imgpipe

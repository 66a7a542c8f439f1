// PNG decoding through libspng: header probe with limits, then decode to 8-bit gray, RGB or RGBA.
//
// Plain functions with a context per call; safe from any number of threads.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "pipeline/item.h"

namespace imgpipe {

bool png_header(const std::vector<uint8_t>& data, int* width, int* height, std::string* why);

// 16-bit becomes 8-bit; palette and tRNS become RGB(A); gray stays one channel unless it has
// transparency. With shrink k > 1 the result is box-averaged by k (as box_shrink does) while the
// rows are decoded, so a non-interlaced PNG never exists at full size in memory.
bool png_decode(const std::vector<uint8_t>& data, int shrink, Image* out, std::string* why);

}  // namespace imgpipe

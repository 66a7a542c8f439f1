// GIF's first frame with giflib (Debian libgif), composited on the logical screen: pixels outside
// the frame, and the frame's transparent index, stay transparent (as browsers, libvips and Pillow
// show them). giflib replaced stb_image here because stb refuses files both references read: a
// code table that fills up ("too many codes") and a file with no colour table at all.
//
// The header checks stay in stb_probe (image/stb.h), which reads what giflib will: the screen
// size for --max-pixels and --decode-memory, the first frame's place, the least data that can
// fill it, and the LZW walk that finds data ending within the frame. They run before this.
//
// giflib refuses an LZW minimum code size above 8 (the format allows up to 12 for the few encoders
// that write them); the caller gives those to stb_image, which reads them.
//
// A plain function on caller-owned bytes; giflib keeps its state in the handle it opens per call,
// so any number of threads may call it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/image.h"

namespace imgpipe {

// Decodes the first frame onto a zeroed RGBA screen. With no colour table, index i is gray i,
// as Pillow shows it. Rows the LZW data does not reach stay transparent; a frame that yields no
// row at all fails.
bool gif_decode(const std::vector<uint8_t>& data, Image* out, std::string* why);

}  // namespace imgpipe

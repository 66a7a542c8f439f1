// stb_image for GIF, TGA, PSD and PNM (BMP has its own decoder, image/bmp.h): a header probe that
// says, before stb allocates anything, what the file claims, what decoding it costs and whether its
// data could fill the claim; and the decode itself. Both live in image/stb_impl.cc, beside stb's
// build settings, and read the header with stb's own parsing code, so the probe and the decoder
// cannot disagree.
//
// Plain functions on caller-owned bytes; stb keeps no shared state that matters here (its failure
// reason is thread-local), so any number of threads may call them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/image.h"

namespace imgpipe {

struct StbHeader {
  const char* format = "image";  // "GIF", "TGA", "PSD" or "PNM"
  int width = 0, height = 0;     // the image stb decodes (GIF: the logical screen)
  int channels = 0;              // channels of the decoded image
  // The fewest bytes a file with this header can have: header, palette and the pixel data at its
  // best possible compression (the bound for each format is explained beside its probe). A file
  // shorter than this cannot fill what its header claims; stb would hand back zeros, or
  // uninitialised memory, for the rest.
  uint64_t min_bytes = 0;
  uint64_t peak_bytes = 0;  // the most stb holds at once while decoding it
  // The steps stb takes to decode the pixels, and the most a real file of this size needs. They
  // differ only for GIF, where each LZW code walks its whole string even once the frame is full:
  // there `work` counts those steps (stopping soon after the limit).
  uint64_t work = 0, work_limit = 0;
  // Non-empty: stb would read memory it never wrote, would overflow an int reading the header,
  // or would allocate for an image the file does not contain.
  std::string unsafe;
  // The data ends before the image does (GIF: within the first frame's LZW data, before it
  // filled the frame). stb decodes the rest as empty.
  bool truncated = false;
};

// Reads the header as stb will. False, with *why, when stb recognises no format in `data`.
bool stb_probe(const std::vector<uint8_t>& data, StbHeader* out, std::string* why);

// Decodes with stb_image, keeping the source's channel count (palette images come out as RGB(A),
// 16-bit as 8-bit). Every buffer stb allocates is zeroed first, so no path can hand back old heap
// bytes as pixels.
bool stb_decode(const std::vector<uint8_t>& data, Image* out, std::string* why);

}  // namespace imgpipe

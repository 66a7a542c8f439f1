// Plain-text PNM (P1 bitmap, P2 graymap, P3 pixmap, 8 or 16-bit) and binary 1-bit PBM (P4): the
// Netpbm formats stb_image does not read (it reads binary P5 and P6, which stay with it).
// imgpipe's own parser because libnetpbm is not thread-safe (its error handling and option state
// are process globals) and no other Debian package reads these without a large stack; the formats
// are a few lines of grammar (SECURITY.md, "Decoders").
//
// pnm_header reads the header and counts the samples the data holds without storing one, so a
// caller can refuse an image (its size, its data ending early) before any pixel buffer exists.
// Plain functions on caller-owned bytes; any number of threads may call them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/image.h"

namespace imgpipe {

// Whether `data` starts like a P1–P4 file: "P", the digit, then whitespace.
bool is_plain_or_bitmap_pnm(const std::vector<uint8_t>& data);

struct PnmHeader {
  int kind = 0;  // 1..4, the digit after "P"
  int width = 0, height = 0;
  int channels = 1;     // 3 for P3, else 1 (gray)
  uint32_t maxval = 1;  // 1 for bitmaps
  uint64_t data_offset = 0;
  // The fewest bytes the file can have: P4 exact; plain formats one character a sample (P1,
  // whose digits may run together) or a digit and a separator (P2, P3; the last may lack it).
  uint64_t min_bytes = 0;
  uint64_t peak_bytes = 0;  // the decoded image: the decoder holds nothing else
  bool truncated = false;   // the data holds fewer samples than the header claims
};

// False, with *why, for a header that is not valid (a side or maxval missing, zero or too long, a
// byte in the samples that is not a digit, a sample above maxval).
bool pnm_header(const std::vector<uint8_t>& data, PnmHeader* out, std::string* why);

// Decodes to 8-bit gray or RGB, samples scaled from 0..maxval to 0..255 (bitmaps: 1 is black).
// Missing samples decode as 0: the caller decides beforehand, from pnm_header's min_bytes and
// truncated, whether to accept that.
bool pnm_decode(const std::vector<uint8_t>& data, Image* out, std::string* why);

}  // namespace imgpipe

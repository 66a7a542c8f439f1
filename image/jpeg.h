// JPEG through libjpeg-turbo's TurboJPEG API: header probe, decode at a reduced DCT scale, encode.
//
// Plain functions; each thread keeps its own TurboJPEG handles (thread_local), so calls from any
// number of threads are safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/image.h"

namespace imgpipe {

struct JpegHeader {
  int width = 0, height = 0;
  bool gray = false;  // one component
  bool cmyk = false;  // four components (CMYK or YCCK), converted to RGB on decode
  // From our own walk of the markers to the frame header (TurboJPEG 2.x reports none of this).
  bool progressive = false;  // SOF2/6/10/14
  bool arithmetic = false;   // SOF9..15: arithmetic coding, not Huffman
  uint64_t blocks = 0;       // 8×8 blocks over all components, edge blocks included
  // The full-resolution coefficient buffer libjpeg-turbo keeps when the image is decoded over
  // several scans (progressive, or one component per scan): 64 two-byte coefficients a block,
  // each component rounded up to whole MCUs. It is kept whatever the DCT scale of the output.
  uint64_t coefficient_bytes = 0;
  // 0xFF 0xDA pairs anywhere in the bytes: every scan libjpeg-turbo decodes starts with one, and
  // entropy-coded data never contains one (0xFF is stuffed there), so this is an upper bound on
  // the scans, one that no arrangement of markers can hide from. Metadata (an EXIF thumbnail,
  // binary ICC or XMP data) may add a few.
  int sos_markers = 0;
  // No EOI marker (0xFF 0xD9) after the last scan's start (or at all): the file was cut off.
  bool ends_early = false;
};

bool jpeg_header(const std::vector<uint8_t>& data, JpegHeader* out, std::string* why);

// The fewest bytes a JPEG with this header can have. A Huffman code is at least one bit, and every
// block of every component starts with one (its DC coefficient, also in a progressive file's
// first scan, which must precede the rest), so the entropy-coded data holds at least one bit per
// block. Arithmetic coding can spend far less than a bit on a predictable decision, so it gets
// no bound (0): its defence is --decode-memory.
uint64_t jpeg_min_bytes(const JpegHeader& header);

// What decoding at 1/denominator holds at its peak: the output, the coefficient buffer when the
// file has several scans, and libjpeg-turbo's row buffers. An estimate, on the high side.
uint64_t jpeg_peak_bytes(const JpegHeader& header, int denominator);

// CMYK JPEGs become RGB in jpeg_decode (an Image holds no CMYK). With the file's CMYK profile the
// conversion goes through it to sRGB; without one, or when lcms refuses it, by the naive formula
// (R = (1 - C)(1 - K), ...). Samples are read as Adobe's inverted CMYK (0 = full ink), as
// Photoshop writes them and browsers read every CMYK JPEG.
struct JpegCmyk {
  const std::vector<uint8_t>* profile = nullptr;  // in: the file's ICC profile, if CMYK
  bool converted = false;  // out: the pixels went through the profile (they are sRGB now)
  std::string warning;     // out: why a profile given was not used
};

// Decodes at 1/denominator of full size (denominator 1, 2, 4 or 8: libjpeg-turbo's fast DCT
// scales). Corrupt-data warnings are tolerated (the undecodable part comes out gray, as in
// browsers) and the last one is put in *warning; fatal errors fail.
bool jpeg_decode(const std::vector<uint8_t>& data, int denominator, Image* out, std::string* why,
                 std::string* warning = nullptr, JpegCmyk* cmyk = nullptr);

// The ICC profile of APP2 "ICC_PROFILE" segments (the TurboJPEG 2.1 API has none to give), read
// up to the first scan: the chunks joined in their sequence numbers' order. Empty if there is
// none; empty with *warning when the chunks are inconsistent (a number missing, repeated or out
// of range, counts that disagree) or add up to more than kMaxIccBytes.
std::vector<uint8_t> jpeg_icc_profile(const std::vector<uint8_t>& data, std::string* warning);

// `jpeg` with `profile` in APP2 "ICC_PROFILE" segments (at most 65519 profile bytes each) after
// SOI and a JFIF APP0, where readers look for it. False if the profile needs more than 255.
bool jpeg_embed_icc(std::vector<uint8_t>* jpeg, const std::vector<uint8_t>& profile);

// Encodes 1- or 3-channel pixels; 4:2:0 chroma like every web JPEG.
bool jpeg_encode(const Image& image, int quality, std::vector<uint8_t>* out, std::string* why);

}  // namespace imgpipe

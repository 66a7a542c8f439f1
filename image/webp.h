// WebP through libwebp: header probe, decode (scaled on load; first frame of animations), encode.
//
// Plain functions; libwebp keeps no shared mutable state, so any number of threads may call them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/image.h"

namespace imgpipe {

struct WebpHeader {
  int width = 0, height = 0;  // the image, or an animation's canvas
  bool alpha = false;
  bool animated = false;
  // The frame decoded (the image itself, or an animation's first frame) and its coding.
  int frame_width = 0, frame_height = 0;
  bool lossless = false;     // VP8L: decoded whole as ARGB, whatever the output size
  bool frame_alpha = false;  // lossy with an ALPH chunk: a full-size alpha plane besides
};

bool webp_header(const std::vector<uint8_t>& data, WebpHeader* out, std::string* why);

// Where the EXIF chunk's payload lies in `data` (an extended-format file's metadata). False when
// there is none.
bool webp_exif(const std::vector<uint8_t>& data, size_t* offset, size_t* size);

// What webp_decode holds at its peak: the output (or an animation's canvas), plus libwebp's
// full-size ARGB buffer for lossless data or alpha plane for lossy data with alpha, plus row
// caches. Lossless data and animations can be a few bytes for a huge canvas, so no size bound on
// the data exists for them: this estimate, charged to --decode-memory, is their defence.
uint64_t webp_peak_bytes(const WebpHeader& header, Size scaled);

// Decodes at `scaled` size (libwebp resamples while decoding), or full size when scaled is 0×0
// or the image is animated (then the first frame, on a transparent canvas, as WebPAnimDecoder
// gives it, but decoded straight into our buffer: WebPAnimDecoder holds two more canvases).
bool webp_decode(const std::vector<uint8_t>& data, Size scaled, Image* out, std::string* why);

// Encodes gray, RGB or RGBA pixels (gray is widened to RGB: WebP has no gray mode).
bool webp_encode(const Image& image, int quality, std::vector<uint8_t>* out, std::string* why);

// The ICC profile of the ICCP chunk (which the VP8X header flags). Empty if there is none; empty
// with *warning when it is longer than kMaxIccBytes.
std::vector<uint8_t> webp_icc_profile(const std::vector<uint8_t>& data, std::string* warning);

// `webp` with an ICCP chunk holding `profile` (libwebpmux adds the VP8X header that flags it).
bool webp_embed_icc(std::vector<uint8_t>* webp, const std::vector<uint8_t>& profile);

}  // namespace imgpipe

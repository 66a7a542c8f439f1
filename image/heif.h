// HEIF (HEIC, AVIF) through libheif: header probe, decode (primary image, upright), its ICC
// profile, and AVIF encode.
//
// Debian 12's libheif 1.15 carries its codecs built in: libde265 (HEVC) and dav1d / libaom (AV1)
// to decode, libaom to encode AV1. Each call works on its own heif_context and libheif keeps no
// shared mutable state besides its codec registry (set up once, on first use, under a lock), so
// any number of threads may call these functions at once.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/image.h"

namespace imgpipe {

struct HeifHeader {
  // As displayed: after the container's crop (clap) and rotation (irot), which libheif applies
  // while decoding.
  int width = 0, height = 0;
  // What the decoder allocates, before those transforms: the coded size (ispe), or a grid's or
  // an overlay's canvas where it is larger on a side (read from the item's data by imgpipe:
  // libheif 1.15 does not say).
  int coded_width = 0, coded_height = 0;
  bool alpha = false;
  int bits = 8;  // luma bits per sample; more than 8 decodes through 16-bit buffers
};

// Reads the container's boxes (no pixel data is decoded): the primary image's size, alpha and
// depth. False with *why when libheif refuses the file or it has no primary image.
bool heif_header(const std::vector<uint8_t>& data, HeifHeader* out, std::string* why);

// What heif_decode holds at its peak: the codec's picture and libheif's copy of its planes, then
// the colour conversion's input and output, then our copy of the output (see heif.cc).
uint64_t heif_peak_bytes(const HeifHeader& header);

// Decodes the primary image to 8-bit RGB or RGBA (HDR reduced to 8 bits), upright: libheif
// applies clap, irot and imir, so the caller must not turn it again. The decoded size must be
// the header's; a grid or overlay may not claim more than the coded size's longer side.
bool heif_decode(const std::vector<uint8_t>& data, Image* out, std::string* why);

// The primary image's ICC profile (colr of type prof or rICC), or one built for its nclx code
// points when they are not sRGB's (icc_from_cicp). Empty if there is none or it is sRGB; empty
// with *warning when it is longer than kMaxIccBytes or the nclx colour is HDR or unknown.
std::vector<uint8_t> heif_icc_profile(const std::vector<uint8_t>& data, std::string* warning);

// Encodes gray, RGB or RGBA pixels as AVIF with libaom (gray is widened to RGB), quality 0-100,
// embedding `profile` as a colr prof box when it is not empty.
bool avif_encode(const Image& image, int quality, const std::vector<uint8_t>& profile,
                 std::vector<uint8_t>* out, std::string* why);

}  // namespace imgpipe

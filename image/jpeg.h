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
};

bool jpeg_header(const std::vector<uint8_t>& data, JpegHeader* out, std::string* why);

// Decodes at 1/denominator of full size (denominator 1, 2, 4 or 8: libjpeg-turbo's fast DCT
// scales). Corrupt-data warnings are tolerated (the undecodable part comes out gray, as in
// browsers); fatal errors fail.
bool jpeg_decode(const std::vector<uint8_t>& data, int denominator, Image* out, std::string* why);

// Encodes 1- or 3-channel pixels; 4:2:0 chroma like every web JPEG.
bool jpeg_encode(const Image& image, int quality, std::vector<uint8_t>* out, std::string* why);

}  // namespace imgpipe

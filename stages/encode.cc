// The encode stage: JPEG through libjpeg-turbo, WebP through libwebp, PNG (and JPEG with
// --codec stb) through stb_image_write.
#include "stages/encode.h"

#include <stb/stb_image_write.h>

#include <string>

#include "image/fit.h"
#include "image/jpeg.h"
#include "image/webp.h"

namespace imgpipe {
namespace {

void append_bytes(void* context, void* data, int size) {
  auto* out = static_cast<std::vector<uint8_t>*>(context);
  auto* p = static_cast<uint8_t*>(data);
  out->insert(out->end(), p, p + size);
}

bool stb_encode(const Image& img, Format format, int quality, std::vector<uint8_t>* out) {
  if (format == Format::kJpeg)
    return stbi_write_jpg_to_func(append_bytes, out, img.width, img.height, img.channels,
                                  img.pixels.get(), quality);
  return stbi_write_png_to_func(append_bytes, out, img.width, img.height, img.channels,
                                img.pixels.get(), 0);
}

}  // namespace

bool encode_image(Image& img, const ImageOptions& options, std::vector<uint8_t>* out,
                  std::string* why) {
  out->clear();
  *why = "encode failed";
  bool ok = false;
  if (options.format == Format::kJpeg) flatten_alpha(img);
  if (options.format == Format::kWebp) {
    ok = webp_encode(img, options.quality, out, why);
  } else if (options.format == Format::kJpeg && options.codec == Codec::kFast) {
    ok = jpeg_encode(img, options.quality, out, why);
  } else {
    ok = stb_encode(img, options.format, options.quality, out);
  }
  if (!ok || out->empty()) return false;
  img.pixels.reset();  // the thumbnail exists as bytes now
  return true;
}

void encode(Item& item, const ImageOptions& options) {
  std::string why;
  for (Thumb& t : item.thumbs) {
    if (!encode_image(t.image, options, &t.encoded, &why)) {
      item.fail(Status::kProcessError, why);
      return;
    }
  }
}

}  // namespace imgpipe

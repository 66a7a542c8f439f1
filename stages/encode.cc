// The encode stage: JPEG through libjpeg-turbo, WebP through libwebp, AVIF through libheif
// (libaom), PNG (and JPEG with --codec stb) through stb_image_write.
#include "stages/encode.h"

#include <stb/stb_image_write.h>

#include <string>

#include "image/fit.h"
#include "image/heif.h"
#include "image/jpeg.h"
#include "image/png.h"
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

// Adds the profile to the encoded file, in the place its format keeps one.
bool embed_icc(std::vector<uint8_t>* file, Format format, const std::vector<uint8_t>& profile) {
  if (format == Format::kJpeg) return jpeg_embed_icc(file, profile);
  if (format == Format::kPng) return png_embed_icc(file, profile);
  return webp_embed_icc(file, profile);
}

}  // namespace

bool encode_image(Image& img, const ImageOptions& options, std::vector<uint8_t>* out,
                  std::string* why, const std::vector<uint8_t>& icc_profile) {
  out->clear();
  *why = "encode failed";
  bool ok = false;
  // AVIF takes the profile in as the image's colr box; the others get it added afterwards.
  bool embedded = icc_profile.empty();
  if (options.format == Format::kJpeg) flatten_alpha(img);
  if (options.format == Format::kAvif) {
    ok = avif_encode(img, options.quality, icc_profile, out, why);
    embedded = true;
  } else if (options.format == Format::kWebp) {
    ok = webp_encode(img, options.quality, out, why);
  } else if (options.format == Format::kJpeg && options.codec == Codec::kFast) {
    ok = jpeg_encode(img, options.quality, out, why);
  } else {
    ok = stb_encode(img, options.format, options.quality, out);
  }
  if (!ok || out->empty()) return false;
  if (!embedded && !embed_icc(out, options.format, icc_profile)) {
    *why = "could not embed the ICC profile";
    return false;
  }
  img.pixels.reset();  // the thumbnail exists as bytes now
  return true;
}

void encode(Item& item, const ImageOptions& options) {
  std::string why;
  for (Thumb& t : item.thumbs) {
    if (!encode_image(t.image, options, &t.encoded, &why, item.icc_profile)) {
      item.fail(Status::kProcessError, why);
      return;
    }
  }
}

}  // namespace imgpipe

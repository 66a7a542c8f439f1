// Image decoding: header first, then the codec the options pick for the format.
#include "stages/decode.h"

#include <stb/stb_image.h>

#include <algorithm>
#include <cstdio>
#include <initializer_list>
#include <string>

#include "image/fit.h"
#include "image/jpeg.h"
#include "image/orientation.h"
#include "image/png.h"
#include "image/webp.h"

namespace imgpipe {
namespace {

enum class Kind { kUnknown, kJpeg, kPng, kGif, kBmp, kWebp };

// What the magic bytes announce. stb says "unknown image type" both for non-images and for images
// whose header it refused; the magic tells the two apart.
Kind magic_kind(const std::vector<uint8_t>& b) {
  auto at = [&b](size_t offset, std::initializer_list<uint8_t> m) {
    return b.size() >= offset + m.size() && std::equal(m.begin(), m.end(), b.begin() + offset);
  };
  if (at(0, {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'})) return Kind::kPng;
  if (at(0, {0xff, 0xd8, 0xff})) return Kind::kJpeg;
  if (at(0, {'G', 'I', 'F', '8'})) return Kind::kGif;
  if (at(0, {'B', 'M'})) return Kind::kBmp;
  if (at(0, {'R', 'I', 'F', 'F'}) && at(8, {'W', 'E', 'B', 'P'})) return Kind::kWebp;
  return Kind::kUnknown;
}

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::kJpeg:
      return "JPEG";
    case Kind::kPng:
      return "PNG";
    case Kind::kGif:
      return "GIF";
    case Kind::kBmp:
      return "BMP";
    case Kind::kWebp:
      return "WebP";
    case Kind::kUnknown:
      break;
  }
  return "image";
}

uint32_t big_endian32(const uint8_t* p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3];
}

void fail_too_large(Item& item, int64_t w, int64_t h, int64_t max_pixels) {
  item.fail(Status::kTooLarge, "image is " + std::to_string(w) + "x" + std::to_string(h) +
                                   ", over --max-pixels " + std::to_string(max_pixels));
}

// Fails an item whose header could not be read: too_large if a PNG header claims more than
// max_pixels (a decompression bomb the decoder refused outright), decode_error for another known
// format, not_an_image otherwise.
void fail_unreadable_header(Item& item, Kind kind, const std::string& why, int64_t max_pixels) {
  const std::vector<uint8_t>& b = item.body;
  if (kind == Kind::kUnknown) {
    item.fail(Status::kNotAnImage, "no image format recognised: " + why);
    return;
  }
  // PNG: signature, IHDR length and type, then width and height (big-endian) at offset 16.
  if (kind == Kind::kPng && b.size() >= 24) {
    uint64_t w = big_endian32(&b[16]), h = big_endian32(&b[20]);
    if (w * h > static_cast<uint64_t>(max_pixels)) {
      fail_too_large(item, static_cast<int64_t>(w), static_cast<int64_t>(h), max_pixels);
      return;
    }
  }
  item.fail(Status::kDecodeError,
            std::string(kind_name(kind)) + " header is corrupt or unsupported: " + why);
}

struct Header {
  int width = 0, height = 0;
};

bool read_header(const std::vector<uint8_t>& data, Kind kind, Header* h, std::string* why) {
  if (kind == Kind::kJpeg) {  // never stb: see stb_impl.cc
    JpegHeader jh;
    if (!jpeg_header(data, &jh, why)) return false;
    *h = {jh.width, jh.height};
    return true;
  }
  if (kind == Kind::kPng) return png_header(data, &h->width, &h->height, why);  // never stb
  if (kind == Kind::kWebp) {
    WebpHeader wh;
    if (!webp_header(data, &wh, why)) return false;
    *h = {wh.width, wh.height};
    return true;
  }
  int channels = 0;
  if (stbi_info_from_memory(data.data(), static_cast<int>(data.size()), &h->width, &h->height,
                            &channels))
    return true;
  *why = stbi_failure_reason();
  return false;
}

bool stb_decode(const std::vector<uint8_t>& data, Image* out, std::string* why) {
  int w = 0, h = 0, channels = 0;
  // Keep the source's channel count: palette images come out as RGB(A), 16-bit as 8-bit.
  uint8_t* pixels =
      stbi_load_from_memory(data.data(), static_cast<int>(data.size()), &w, &h, &channels, 0);
  if (!pixels) {
    *why = stbi_failure_reason();
    return false;
  }
  out->pixels.reset(pixels);
  out->width = w;
  out->height = h;
  out->channels = channels;
  return true;
}

// Decodes with the codec for `kind`, shrinking on load so the result still holds at least twice
// `stored_target` (the thumbnail size before orientation) for the final filter.
bool decode_pixels(const Item& item, Kind kind, const ImageOptions& options, Header h,
                   Size stored_target, Image* out, std::string* why) {
  const Codec codec = options.codec;
  const std::vector<uint8_t>& data = item.body;
  if (kind == Kind::kJpeg) {  // --codec stb: libjpeg-turbo too, but at full size (stb_impl.cc)
    int d = codec == Codec::kFast ? jpeg_shrink_denominator(h.width, h.height, stored_target) : 1;
    return jpeg_decode(data, d, out, why);
  }
  if (kind == Kind::kPng) {  // never stb: see stb_impl.cc
    // No smaller decode exists for PNG, but the box pre-shrink can run as the rows come out.
    const int k = std::min(h.width / stored_target.width, h.height / stored_target.height);
    // JPEG output flattens alpha anyway (the resize stage): before the box shrink, it averages 3
    // channels instead of weighting 4 by alpha.
    return png_decode(data, codec == Codec::kFast ? std::max(k, 1) : 1, out, why, PngPath::kAuto,
                      options.format == Format::kJpeg);
  }
  if (kind == Kind::kWebp) {
    Size scaled =
        codec == Codec::kFast ? webp_scaled_size(h.width, h.height, stored_target) : Size{0, 0};
    return webp_decode(data, scaled, out, why);
  }
  return stb_decode(data, out, why);
}

// --min-size and --max-aspect, judged on the source as displayed, before any pixel is decoded.
bool passes_filters(Item& item, const ImageOptions& o) {
  const int shorter = std::min(item.source_width, item.source_height);
  const int longer = std::max(item.source_width, item.source_height);
  if (shorter < o.min_size) {
    item.fail(Status::kTooSmall, "shorter side " + std::to_string(shorter) + " px is below " +
                                     "--min-size " + std::to_string(o.min_size));
    return false;
  }
  const double aspect = static_cast<double>(longer) / shorter;
  if (o.max_aspect > 0 && aspect > o.max_aspect) {
    char buf[96];
    std::snprintf(buf, sizeof buf, "aspect ratio %.2f is above --max-aspect %g", aspect,
                  o.max_aspect);
    item.fail(Status::kBadAspect, buf);
    return false;
  }
  return true;
}

}  // namespace

Size decode_target(int src_width, int src_height, int orientation, const ImageOptions& options) {
  Size t{1, 1};
  for (Size box : options.sizes) {
    Size s = place(src_width, src_height, box, options.fit, options.upscale).scaled;
    t = {std::max(t.width, s.width), std::max(t.height, s.height)};
  }
  return swaps_axes(orientation) ? Size{t.height, t.width} : t;
}

int jpeg_shrink_denominator(int src_width, int src_height, Size target) {
  for (int d : {8, 4, 2}) {
    // libjpeg-turbo rounds scaled sides up.
    int w = (src_width + d - 1) / d, h = (src_height + d - 1) / d;
    if (w >= 2 * target.width && h >= 2 * target.height) return d;
  }
  return 1;
}

Size webp_scaled_size(int src_width, int src_height, Size target) {
  if (src_width > 2 * target.width && src_height > 2 * target.height)
    return {2 * target.width, 2 * target.height};
  return {0, 0};
}

void decode(Item& item, const ImageOptions& options) {
  // The body is at most --max-bytes (≤ 1 GB), within stb's int lengths.
  const Kind kind = magic_kind(item.body);
  Header h;
  std::string why;
  if (!read_header(item.body, kind, &h, &why)) {
    fail_unreadable_header(item, kind, why, options.max_pixels);
    return;
  }
  if (h.width <= 0 || h.height <= 0) {
    item.fail(Status::kDecodeError, std::string(kind_name(kind)) + " header has no size");
    return;
  }
  if (static_cast<int64_t>(h.width) * h.height > options.max_pixels) {
    fail_too_large(item, h.width, h.height, options.max_pixels);
    return;
  }
  item.orientation = kind == Kind::kJpeg ? exif_orientation(item.body) : 1;
  const bool swap = swaps_axes(item.orientation);
  item.source_width = swap ? h.height : h.width;
  item.source_height = swap ? h.width : h.height;
  if (!passes_filters(item, options)) return;
  Size stored_target =
      decode_target(item.source_width, item.source_height, item.orientation, options);
  if (!decode_pixels(item, kind, options, h, stored_target, &item.image, &why)) {
    item.fail(Status::kDecodeError, std::string("corrupt ") + kind_name(kind) + ": " + why);
    return;
  }
  item.body = {};  // the compressed bytes are no longer needed: free them now, not at the end
}

}  // namespace imgpipe

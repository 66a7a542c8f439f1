// Image decoding: header first, then the codec the options pick for the format.
#include "stages/decode.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <string>
#include <utility>

#include "image/bmp.h"
#include "image/box.h"
#include "image/fit.h"
#include "image/gif.h"
#include "image/heif.h"
#include "image/icc.h"
#include "image/jpeg.h"
#include "image/orientation.h"
#include "image/png.h"
#include "image/png_chunks.h"
#include "image/pnm.h"
#include "image/stb.h"
#include "image/tiff.h"
#include "image/webp.h"

namespace imgpipe {
namespace {

// kPnm: plain P1-P3 and 1-bit P4 only (image/pnm.h); binary P5 and P6 go to stb with the others.
enum class Kind { kUnknown, kJpeg, kPng, kGif, kBmp, kWebp, kPnm, kHeif, kTiff };

uint32_t big_endian32(const uint8_t* p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3];
}

// Whether the file opens with an ISO BMFF ftyp box naming a HEIF brand, as its major brand or
// among its compatible ones: HEIC (heic, heix, hevc, hevx, heim, heis), AVIF (avif, avis) or
// plain HEIF (mif1, msf1), whose codec libheif tells.
bool heif_brand(const std::vector<uint8_t>& b) {
  if (b.size() < 16 || !std::equal(b.begin() + 4, b.begin() + 8, "ftyp")) return false;
  const uint64_t box = std::min<uint64_t>(big_endian32(&b[0]), b.size());
  for (uint64_t at = 8; at + 4 <= box; at += at == 8 ? 8 : 4) {  // skip the minor version
    const std::string brand(b.begin() + at, b.begin() + at + 4);
    for (const char* heif :
         {"heic", "heix", "hevc", "hevx", "heim", "heis", "mif1", "msf1", "avif", "avis"})
      if (brand == heif) return true;
  }
  return false;
}

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
  if (is_plain_or_bitmap_pnm(b)) return Kind::kPnm;
  // Little- and big-endian TIFF; BigTIFF (43) too, which libtiff reads.
  if (at(0, {'I', 'I', 42, 0}) || at(0, {'M', 'M', 0, 42}) || at(0, {'I', 'I', 43, 0}) ||
      at(0, {'M', 'M', 0, 43}))
    return Kind::kTiff;
  if (heif_brand(b)) return Kind::kHeif;
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
    case Kind::kPnm:
      return "PNM";
    case Kind::kHeif:
      return "HEIF";
    case Kind::kTiff:
      return "TIFF";
    case Kind::kUnknown:
      break;
  }
  return "image";
}

std::string megabytes(uint64_t bytes) {
  return std::to_string((bytes + 999'999) / 1'000'000) + " MB";
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
      if (w <= INT32_MAX && h <= INT32_MAX) {  // the header was read: the row says what it claims
        item.source_width = static_cast<int>(w);
        item.source_height = static_cast<int>(h);
      }
      fail_too_large(item, static_cast<int64_t>(w), static_cast<int64_t>(h), max_pixels);
      return;
    }
  }
  item.fail(Status::kDecodeError,
            std::string(kind_name(kind)) + " header is corrupt or unsupported: " + why);
}

// What the header says, per codec, and the facts the refusals and the memory estimate need.
struct Header {
  int width = 0, height = 0;
  const char* format = "image";
  uint64_t min_bytes = 0;  // the fewest bytes a file with this header can have; 0: no bound
  const char* bound = "";  // why min_bytes, for the message
  JpegHeader jpeg;
  PngHeader png;
  PngChunks chunks;  // PNG only
  WebpHeader webp;
  BmpHeader bmp;
  PnmHeader pnm;
  HeifHeader heif;
  TiffHeader tiff;
  StbHeader stb;
  bool truncated = false;  // the data ends within the image (GIF, RLE BMP, plain PNM): probed
  // What --max-pixels judges: width × height, or more where the decoder allocates more than it
  // shows (a HEIF's coded size, before its crop).
  int64_t pixels() const {
    return std::max(int64_t{width} * height, int64_t{heif.coded_width} * heif.coded_height);
  }
};

// HEIF and TIFF: libheif and libtiff read the container's boxes or tags, no pixel data. No bound
// on the data's size: both compress far beyond any ratio worth checking (a grid of tiny tiles,
// deflate). --max-pixels on the header and --decode-memory on the estimate are their defences.
bool read_container_header(const std::vector<uint8_t>& data, Kind kind, Header* h,
                           std::string* why) {
  if (kind == Kind::kHeif) {
    if (!heif_header(data, &h->heif, why)) return false;
    h->width = h->heif.width, h->height = h->heif.height, h->format = "HEIF";
    return true;
  }
  if (!tiff_header(data, &h->tiff, why)) return false;
  h->width = h->tiff.width, h->height = h->tiff.height, h->format = "TIFF";
  return true;
}

bool read_header(const std::vector<uint8_t>& data, Kind kind, Header* h, std::string* why) {
  if (kind == Kind::kJpeg) {  // never stb: see stb_impl.cc
    if (!jpeg_header(data, &h->jpeg, why)) return false;
    h->width = h->jpeg.width, h->height = h->jpeg.height, h->format = "JPEG";
    h->min_bytes = jpeg_min_bytes(h->jpeg), h->bound = "a bit for every 8x8 block";
    return true;
  }
  if (kind == Kind::kPng) {  // never stb: see stb_impl.cc
    if (!png_header(data, &h->png, why)) return false;
    h->chunks = scan_png_chunks(data);
    h->width = h->png.width, h->height = h->png.height, h->format = "PNG";
    h->min_bytes = png_min_bytes(h->png), h->bound = "deflate's best ratio, 1032:1";
    return true;
  }
  if (kind == Kind::kWebp) {
    // No bound: lossless data and animations can be tiny for a huge canvas. --decode-memory is
    // their defence.
    if (!webp_header(data, &h->webp, why)) return false;
    h->width = h->webp.width, h->height = h->webp.height, h->format = "WebP";
    return true;
  }
  if (kind == Kind::kBmp) {  // never stb: see image/bmp.h
    if (!bmp_header(data, &h->bmp, why)) return false;
    h->width = h->bmp.width, h->height = h->bmp.height, h->format = "BMP";
    h->min_bytes = h->bmp.min_bytes, h->bound = "its pixels at their best compression";
    h->truncated = h->bmp.truncated;
    return true;
  }
  if (kind == Kind::kPnm) {  // stb reads only P5 and P6: see image/pnm.h
    if (!pnm_header(data, &h->pnm, why)) return false;
    h->width = h->pnm.width, h->height = h->pnm.height, h->format = "PNM";
    h->min_bytes = h->pnm.min_bytes, h->bound = "a byte or two a sample";
    h->truncated = h->pnm.truncated;
    return true;
  }
  if (kind == Kind::kHeif || kind == Kind::kTiff) return read_container_header(data, kind, h, why);
  if (!stb_probe(data, &h->stb, why)) return false;
  h->truncated = h->stb.truncated;
  h->width = h->stb.width, h->height = h->stb.height, h->format = h->stb.format;
  h->min_bytes = h->stb.min_bytes, h->bound = "its pixels at their best compression";
  return true;
}

// The EXIF orientation the file carries: JPEG's APP1 segment, PNG's eXIf chunk, WebP's EXIF chunk.
int source_orientation(const std::vector<uint8_t>& b, Kind kind, const Header& h) {
  if (kind == Kind::kJpeg) return exif_orientation(b);
  // HEIF: libheif applies irot and imir as it decodes (and its EXIF orientation, if any, only
  // repeats them), so nothing is left to turn.
  if (kind == Kind::kHeif) return 1;
  if (kind == Kind::kTiff) return h.tiff.orientation;
  size_t at = h.chunks.exif_offset, size = h.chunks.exif_size;
  if (kind == Kind::kWebp && !webp_exif(b, &at, &size)) return 1;
  return size > 0 ? exif_block_orientation(b.data() + at, size) : 1;
}

// --fail-on for an image whose data ends before it should: false when the item failed.
bool pass_truncated(Item& item, FailOn fail_on, const std::string& what) {
  if (fail_on != FailOn::kNone) {
    item.fail(Status::kTruncated, what);
    return false;
  }
  item.warnings.push_back("truncated: " + what);
  return true;
}

// --fail-on for a problem the decoder recovers from: false when the item failed.
bool pass_warning(Item& item, FailOn fail_on, const std::string& what) {
  if (fail_on == FailOn::kError) {
    item.fail(Status::kDecodeError, what + " (--fail-on error)");
    return false;
  }
  item.warnings.push_back(what);
  return true;
}

// The refusals judged from the header and the body's size, before any pixel buffer exists.
bool refuse_before_decoding(Item& item, const Header& h, FailOn fail_on) {
  const std::string what =
      std::string(h.format) + " " + std::to_string(h.width) + "x" + std::to_string(h.height);
  if (!h.stb.unsafe.empty()) {
    item.fail(Status::kDecodeError, std::string(h.format) + " refused: " + h.stb.unsafe);
    return true;
  }
  // With --fail-on none the decoder fills in what is missing (stb's buffers are zeroed); the
  // memory is still bounded by --max-pixels and --decode-memory.
  if (item.body.size() < h.min_bytes &&
      !pass_truncated(item, fail_on,
                      what + ": the data is shorter than the header claims (" +
                          std::to_string(item.body.size()) + " bytes; at least " +
                          std::to_string(h.min_bytes) + " needed, " + h.bound + ")"))
    return true;
  if (h.truncated && !pass_truncated(item, fail_on, what + ": the data ends within the image"))
    return true;
  if (!h.chunks.bad_crc.empty() && fail_on != FailOn::kNone) {
    item.fail(Status::kDecodeError, what + ": the " + h.chunks.bad_crc + " chunk fails its CRC");
    return true;
  }
  if (!h.chunks.bad_crc.empty()) item.warnings.push_back(h.chunks.bad_crc + " chunk fails its CRC");
  if (h.jpeg.sos_markers > kMaxJpegScans) {
    item.fail(Status::kTooLarge, what + " has " + std::to_string(h.jpeg.sos_markers) +
                                     " scans, over the limit of " + std::to_string(kMaxJpegScans));
    return true;
  }
  if (h.stb.work > h.stb.work_limit) {
    item.fail(Status::kTooLarge, what + ": its LZW codes take over " +
                                     std::to_string(h.stb.work_limit) +
                                     " decoding steps, far more than its pixels need");
    return true;
  }
  return false;
}

// How the codec shrinks on load: the JPEG DCT scale, the PNG box factor, the WebP scaled size.
struct Plan {
  int denominator = 1, shrink = 1;
  Size scaled{0, 0};
};

Plan plan_for(Kind kind, const ImageOptions& options, const Header& h, Size stored_target) {
  Plan p;
  if (options.codec != Codec::kFast) return p;  // --codec stb: every format at full size
  // --linear: every shrink on load averages the stored (sRGB-encoded) values, which is what it
  // must not do; libvips turns JPEG shrink-on-load off in linear mode for the same reason.
  if (options.linear) return p;
  if (kind == Kind::kJpeg)
    p.denominator = jpeg_shrink_denominator(h.width, h.height, stored_target);
  // No smaller decode exists for PNG, but the box pre-shrink can run as the rows come out, leaving
  // the final filter its margin (box.h). One factor for both axes: the decoder's shrinker takes
  // one.
  if (kind == Kind::kPng)
    p.shrink = std::min(box_factor(double(h.width) / stored_target.width),
                        box_factor(double(h.height) / stored_target.height));
  if (kind == Kind::kWebp) p.scaled = webp_scaled_size(h.width, h.height, stored_target);
  return p;
}

uint64_t ceil_div(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

// The decoded image's bytes, and the decoder's own peak (which includes them).
std::pair<uint64_t, uint64_t> decode_bytes(Kind kind, const Header& h, const Plan& p,
                                           uint64_t body_bytes) {
  const uint64_t w = h.width, ht = h.height;
  switch (kind) {
    case Kind::kJpeg:
      return {ceil_div(w, p.denominator) * ceil_div(ht, p.denominator) * (h.jpeg.gray ? 1 : 3),
              jpeg_peak_bytes(h.jpeg, p.denominator)};
    case Kind::kPng:
      return {ceil_div(w, p.shrink) * ceil_div(ht, p.shrink) * h.png.channels,
              png_peak_bytes(h.png, p.shrink, body_bytes)};
    case Kind::kWebp: {
      const uint64_t px = p.scaled.width > 0 && !h.webp.animated
                              ? uint64_t(p.scaled.width) * p.scaled.height
                              : w * ht;
      return {px * (h.webp.animated || h.webp.alpha ? 4 : 3), webp_peak_bytes(h.webp, p.scaled)};
    }
    case Kind::kBmp:
      return {h.bmp.peak_bytes, h.bmp.peak_bytes};
    case Kind::kPnm:
      return {h.pnm.peak_bytes, h.pnm.peak_bytes};
    case Kind::kHeif:
      return {w * ht * (h.heif.alpha ? 4 : 3), heif_peak_bytes(h.heif)};
    case Kind::kTiff:  // RGB in the RGBA raster's buffer, which keeps its 4 bytes a pixel
      return {w * ht * 4, tiff_peak_bytes(h.tiff)};
    default:
      return {w * ht * h.stb.channels, h.stb.peak_bytes};
  }
}

// What resize and encode add for one box. Resampling (when the size changes) to `cropped`: the
// Lanczos filter's two float buffers hold up to four times the output's width (its input is
// within 4x of it after the box pre-shrink, which leaves it 2-4x) in 4 channels of 4 bytes,
// 128 bytes an output pixel, plus its output. Then the thumbnail, its padded canvas and the
// encoder's copy, 4 bytes a pixel each.
uint64_t thumb_bytes(int src_width, int src_height, Size box, const ImageOptions& o) {
  const Placement p = place(src_width, src_height, box, o.fit, o.upscale);
  const bool resampled = p.scaled.width != src_width || p.scaled.height != src_height;
  const uint64_t out = uint64_t(p.cropped.width) * p.cropped.height;
  return (resampled ? 132 * out : 0) + 12 * uint64_t(p.canvas.width) * p.canvas.height;
}

// The item's peak while it holds its reservation: the decoder's, or resize's, whichever is more.
// Resize holds the decoded image, one working copy of it (turned upright, cropped or box-shrunk)
// and, with several --size boxes, the copy the other thumbnails start from.
uint64_t item_peak_bytes(const Item& item, Kind kind, const Header& h, const Plan& p,
                         const ImageOptions& o) {
  const auto [decoded, decoder] = decode_bytes(kind, h, p, item.body.size());
  uint64_t resize = decoded * (o.sizes.size() > 1 ? 3 : 2);
  for (Size box : o.sizes) resize += thumb_bytes(item.source_width, item.source_height, box, o);
  return std::max(decoder, resize);
}

// Waits for `need` bytes of the budget; fails the item if they could never fit.
bool reserve(Item& item, uint64_t need, const Header& h, PixelBudget& budget, Reservation* held) {
  if (held->acquire(budget, need)) return true;
  item.fail(Status::kTooLarge, std::string(h.format) + " " + std::to_string(h.width) + "x" +
                                   std::to_string(h.height) + " needs about " + megabytes(need) +
                                   " to decode and resize, over --decode-memory " +
                                   megabytes(budget.limit()));
  return false;
}

// The embedded ICC profile onto the item, if it fits what the source holds; a profile that does
// not (or cannot be read) is dropped with a warning, and the pixels are used as they are.
void read_profile(Item& item, Kind kind, const Header& h) {
  std::string warning;
  std::vector<uint8_t> profile;
  int components = 3;  // the colour components of the source (YCbCr counts as RGB)
  if (kind == Kind::kJpeg) {
    profile = jpeg_icc_profile(item.body, &warning);
    components = h.jpeg.gray ? 1 : h.jpeg.cmyk ? 4 : 3;
  } else if (kind == Kind::kPng) {
    profile = png_icc_profile(item.body, &warning);
    components = h.png.gray ? 1 : 3;
  } else if (kind == Kind::kWebp) {
    profile = webp_icc_profile(item.body, &warning);
  } else if (kind == Kind::kHeif) {
    profile = heif_icc_profile(item.body, &warning);
  } else if (kind == Kind::kTiff) {
    profile = tiff_icc_profile(item.body, &warning);
    components = h.tiff.gray ? 1 : 3;
  }
  if (!profile.empty() && icc_fits(profile, components, &warning))
    item.icc_profile = std::move(profile);
  if (!warning.empty()) item.warnings.push_back(std::move(warning));
}

// Decodes with the codec for `kind` as planned; *warning: what the decoder recovered from. A CMYK
// JPEG is converted to RGB as it decodes, through its profile when it has one (which is then used
// up: the pixels are sRGB).
bool decode_pixels(Item& item, Kind kind, const ImageOptions& options, const Header& h,
                   const Plan& p, Image* out, std::string* why, std::string* warning) {
  const std::vector<uint8_t>& data = item.body;
  if (kind == Kind::kJpeg) {
    JpegCmyk cmyk;
    cmyk.profile = &item.icc_profile;
    const bool ok = jpeg_decode(data, p.denominator, out, why, warning, &cmyk);
    // The pixels are RGB now: a CMYK profile describes them no more, used or not.
    if (cmyk.converted || !cmyk.warning.empty()) item.icc_profile.clear();
    if (!cmyk.warning.empty()) item.warnings.push_back(std::move(cmyk.warning));
    if (cmyk.converted && options.keep_profile)
      item.warnings.push_back(
          "--keep-profile: a CMYK profile cannot describe the RGB thumbnail; "
          "converted to sRGB instead");
    return ok;
  }
  // JPEG output flattens alpha anyway (the resize stage): before the box shrink, it averages 3
  // channels instead of weighting 4 by alpha.
  if (kind == Kind::kPng)
    return png_decode(data, p.shrink, out, why, PngPath::kAuto, options.format == Format::kJpeg);
  if (kind == Kind::kWebp) return webp_decode(data, p.scaled, out, why);
  if (kind == Kind::kBmp) return bmp_decode(data, out, why);
  if (kind == Kind::kPnm) return pnm_decode(data, out, why);
  // stb_probe has read a GIF's header. giflib refuses an LZW minimum code size above 8, which
  // stb, Pillow and libvips read (pillow/issue_2811.gif has 11): stb decodes those.
  if (kind == Kind::kGif) return gif_decode(data, out, why) || stb_decode(data, out, why);
  if (kind == Kind::kHeif) return heif_decode(data, out, why);
  if (kind == Kind::kTiff) return tiff_decode(data, h.tiff, out, why);
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

// Whether the file ends before its structure does: no EOI after the last JPEG scan, a PNG chunk
// cut off or no IEND, a WebP shorter than its RIFF header says.
bool ends_early(const std::vector<uint8_t>& b, Kind kind, const Header& h) {
  if (kind == Kind::kJpeg) return h.jpeg.ends_early;
  if (kind == Kind::kPng) return h.chunks.ends_early;
  if (kind == Kind::kWebp) {
    const uint64_t riff = b[4] | uint32_t(b[5]) << 8 | uint32_t(b[6]) << 16 | uint32_t(b[7]) << 24;
    return b.size() < riff + 8;  // the magic check saw 12 bytes; the size excludes its 8
  }
  return false;
}

// Decodes, then judges what the decoder said under --fail-on. A file that ends early and fails to
// decode is truncated whatever --fail-on says: there is nothing to show. One that decodes is
// truncated if the decoder filled in missing data (JPEG: it warned); if the decoder is strict
// (PNG, WebP), its pixels are all there, and the missing tail (IEND, metadata) is a warning.
bool decode_and_judge(Item& item, Kind kind, const ImageOptions& o, const Header& h,
                      const Plan& plan) {
  std::string why, warning;
  const bool early = ends_early(item.body, kind, h);
  if (!decode_pixels(item, kind, o, h, plan, &item.image, &why, &warning)) {
    item.fail(early ? Status::kTruncated : Status::kDecodeError,
              std::string(early ? "truncated " : "corrupt ") + h.format + ": " + why);
    return false;
  }
  const std::string format = h.format;
  if (early && !warning.empty())  // only libjpeg-turbo fills in and warns
    return pass_truncated(item, o.fail_on, format + " data ends early: " + warning);
  if (early) return pass_warning(item, o.fail_on, format + " file ends early, after its pixels");
  return warning.empty() || pass_warning(item, o.fail_on, format + ": " + warning);
}

// Source pixels per decoded pixel along one axis. `planned` (the JPEG denominator or the PNG box
// factor) when the decoder gave ceil(source / planned) pixels, whose last one covers a partial
// block; otherwise source / decoded: 1 at full size, WebP's scale (its decoder maps the whole
// extent onto the scaled size).
double shrink_of(int source, int decoded, int planned) {
  if (planned > 1 && decoded == (int64_t{source} + planned - 1) / planned) return planned;
  return double(source) / decoded;
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
    // The true extent, not libjpeg-turbo's rounded-up sides: their last pixel is partly padding.
    if (src_width >= int64_t{2} * target.width * d && src_height >= int64_t{2} * target.height * d)
      return d;
  }
  return 1;
}

Size webp_scaled_size(int src_width, int src_height, Size target) {
  if (src_width > 2 * target.width && src_height > 2 * target.height)
    return {2 * target.width, 2 * target.height};
  return {0, 0};
}

// The costliest decode per source pixel, over every path (a HEIF of more than 8 bits: 20, see
// heif_peak_bytes; a progressive CMYK JPEG at full scale: 8 bytes of coefficients and 4 of output;
// GIF and 16-bit PNM take 9, WebP up to 9, the others less), and resize's three 4-byte copies
// with several --size boxes (12).
constexpr uint64_t kWorstBytesPerPixel = 20;

uint64_t largest_item_bytes(const ImageOptions& o) {
  uint64_t thumbs = 0;  // thumb_bytes at its largest: resampled, and the box filled
  for (Size box : o.sizes) thumbs += 144 * uint64_t(box.width) * box.height;
  const uint64_t rows = uint64_t{64} << 20;  // row buffers of a 65536-px-wide image, generously
  return kWorstBytesPerPixel * uint64_t(o.max_pixels) + thumbs + rows;
}

uint64_t default_decode_memory(const ImageOptions& o) {
  const uint64_t machine = available_memory_bytes();
  // Unknown memory: 4 GiB, what the smallest machines imgpipe is built for have.
  return std::max(machine > 0 ? machine / 4 : uint64_t{4} << 30, largest_item_bytes(o));
}

void decode(Item& item, const ImageOptions& options, PixelBudget* budget, Reservation* held) {
  // The body is at most --max-bytes (≤ 1 GB), within stb's int lengths.
  const Kind kind = magic_kind(item.body);
  Header h;
  std::string why;
  if (!read_header(item.body, kind, &h, &why)) {
    fail_unreadable_header(item, kind, why, options.max_pixels);
    return;
  }
  if (h.width <= 0 || h.height <= 0) {
    item.fail(Status::kDecodeError, std::string(h.format) + " header has no size");
    return;
  }
  item.orientation = source_orientation(item.body, kind, h);
  const bool swap = swaps_axes(item.orientation);
  item.source_width = swap ? h.height : h.width;
  item.source_height = swap ? h.width : h.height;
  if (h.pixels() > options.max_pixels) {
    const bool coded = h.pixels() > int64_t{h.width} * h.height;
    fail_too_large(item, coded ? h.heif.coded_width : h.width,
                   coded ? h.heif.coded_height : h.height, options.max_pixels);
    return;
  }
  if (refuse_before_decoding(item, h, options.fail_on) || !passes_filters(item, options)) return;
  const Size stored_target =
      decode_target(item.source_width, item.source_height, item.orientation, options);
  const Plan plan = plan_for(kind, options, h, stored_target);
  if (budget && !reserve(item, item_peak_bytes(item, kind, h, plan, options), h, *budget, held))
    return;
  read_profile(item, kind, h);
  if (!decode_and_judge(item, kind, options, h, plan)) {
    item.image = {};  // refused after decoding: its pixels go now, not with the item
    return;
  }
  const int planned = kind == Kind::kJpeg ? plan.denominator : kind == Kind::kPng ? plan.shrink : 1;
  item.shrink_x = shrink_of(h.width, item.image.width, planned);
  item.shrink_y = shrink_of(h.height, item.image.height, planned);
  item.body = {};  // the compressed bytes are no longer needed: free them now, not at the end
}

}  // namespace imgpipe

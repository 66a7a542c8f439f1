// TIFF through libtiff's RGBA interface, over the bytes in memory.
#include "image/tiff.h"

#include <tiffio.h>

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "image/icc.h"

namespace imgpipe {
namespace {

// The most libtiff may allocate at once while reading a directory's tags: strip and tile offset
// arrays (8 bytes per strip; 65536 strips are 512 KiB), an ICC profile up to kMaxIccBytes, and
// other tags. 16 MiB holds every real file's and stops a tag claiming gigabytes.
constexpr uint64_t kTagBytes = uint64_t{16} << 20;

// The bytes libtiff reads from, and the first error it reported.
struct Source {
  explicit Source(const std::vector<uint8_t>& bytes) : data(&bytes) {}
  const std::vector<uint8_t>* data;
  toff_t pos = 0;
  std::string error;
};

tmsize_t read_proc(thandle_t h, void* buf, tmsize_t size) {
  auto* s = static_cast<Source*>(h);
  const toff_t end = s->data->size();
  const tmsize_t n = s->pos >= end ? 0 : tmsize_t(std::min<toff_t>(toff_t(size), end - s->pos));
  if (n > 0) std::memcpy(buf, s->data->data() + s->pos, size_t(n));
  s->pos += toff_t(n);
  return n;
}
tmsize_t write_proc(thandle_t, void*, tmsize_t) { return -1; }  // read-only
toff_t seek_proc(thandle_t h, toff_t off, int whence) {
  auto* s = static_cast<Source*>(h);
  const toff_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? s->pos : s->data->size();
  s->pos = base + off;
  return s->pos;
}
int close_proc(thandle_t) { return 0; }
toff_t size_proc(thandle_t h) { return static_cast<Source*>(h)->data->size(); }
// The bytes are in memory already: libtiff reads strips from them in place, no copy.
int map_proc(thandle_t h, void** base, toff_t* size) {
  auto* s = static_cast<Source*>(h);
  *base = const_cast<uint8_t*>(s->data->data());  // opened "r": libtiff never writes to it
  *size = s->data->size();
  return 1;
}
void unmap_proc(thandle_t, void*, toff_t) {}

// A C callback: formats into a fixed buffer, and nothing thrown leaves it.
int on_error(TIFF*, void* user, const char* module, const char* fmt, va_list ap) {
  char buf[256];
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  try {
    auto* s = static_cast<Source*>(user);
    if (s->error.empty()) s->error = std::string(module ? module : "libtiff") + ": " + buf;
  } catch (...) {
  }
  return 1;  // handled: libtiff's process-wide handler (stderr) is never called
}
int on_warning(TIFF*, void*, const char*, const char*, va_list) { return 1; }  // unknown tags etc.

struct TiffClose {
  void operator()(TIFF* t) const { TIFFClose(t); }
};
using Tiff = std::unique_ptr<TIFF, TiffClose>;

// Opens the first directory with libtiff allocating at most `max_alloc` bytes at once.
Tiff open_tiff(Source* src, uint64_t max_alloc, std::string* why) {
  TIFFOpenOptions* opts = TIFFOpenOptionsAlloc();
  if (!opts) {
    *why = "out of memory";
    return nullptr;
  }
  TIFFOpenOptionsSetMaxSingleMemAlloc(opts, tmsize_t(max_alloc));
  TIFFOpenOptionsSetErrorHandlerExtR(opts, on_error, src);
  TIFFOpenOptionsSetWarningHandlerExtR(opts, on_warning, src);
  Tiff tif(TIFFClientOpenExt("memory", "r", src, read_proc, write_proc, seek_proc, close_proc,
                             size_proc, map_proc, unmap_proc, opts));
  TIFFOpenOptionsFree(opts);
  if (!tif) *why = src->error.empty() ? "libtiff refused the header" : src->error;
  return tif;
}

uint16_t tag16(TIFF* tif, ttag_t tag) {
  uint16_t v = 0;
  TIFFGetFieldDefaulted(tif, tag, &v);
  return v;
}

// libtiff's RGBA raster holds associated (premultiplied) alpha, whatever the file stored.
void unpremultiply(uint8_t* p, size_t pixels) {
  for (size_t i = 0; i < pixels; ++i, p += 4) {
    const unsigned a = p[3];
    if (a == 255) continue;
    for (int c = 0; c < 3; ++c) p[c] = a ? uint8_t(std::min(255u, (p[c] * 255u + a / 2) / a)) : 0;
  }
}

// The raster's packed ABGR words as R, G, B(, A) bytes in place, alpha dropped when there is none.
void unpack(uint8_t* raster, size_t pixels, bool alpha) {
  const auto* words = reinterpret_cast<const uint32_t*>(raster);
  uint8_t* out = raster;
  for (size_t i = 0; i < pixels; ++i) {
    const uint32_t w = words[i];  // read before the bytes it covers are written
    out[0] = TIFFGetR(w), out[1] = TIFFGetG(w), out[2] = TIFFGetB(w);
    if (alpha) out[3] = TIFFGetA(w);
    out += alpha ? 4 : 3;
  }
}

}  // namespace

bool tiff_header(const std::vector<uint8_t>& data, TiffHeader* out, std::string* why) {
  Source src(data);
  Tiff tif = open_tiff(&src, kTagBytes, why);
  if (!tif) return false;
  uint32_t w = 0, h = 0;
  TIFFGetField(tif.get(), TIFFTAG_IMAGEWIDTH, &w);
  TIFFGetField(tif.get(), TIFFTAG_IMAGELENGTH, &h);
  if (w > INT32_MAX || h > INT32_MAX) {
    *why = "TIFF size " + std::to_string(w) + "x" + std::to_string(h) + " is out of range";
    return false;
  }
  out->width = int(w), out->height = int(h);
  const uint16_t o = tag16(tif.get(), TIFFTAG_ORIENTATION);
  out->orientation = o >= 1 && o <= 8 ? o : 1;
  out->samples = tag16(tif.get(), TIFFTAG_SAMPLESPERPIXEL);
  out->bits = tag16(tif.get(), TIFFTAG_BITSPERSAMPLE);
  out->photometric = tag16(tif.get(), TIFFTAG_PHOTOMETRIC);
  out->gray =
      out->photometric == PHOTOMETRIC_MINISBLACK || out->photometric == PHOTOMETRIC_MINISWHITE;
  const bool planar = tag16(tif.get(), TIFFTAG_PLANARCONFIG) == PLANARCONFIG_SEPARATE;
  const uint64_t unit =
      TIFFIsTiled(tif.get()) ? TIFFTileSize64(tif.get()) : TIFFStripSize64(tif.get());
  out->buffer_bytes = unit * (planar ? std::max(1, out->samples) : 1);
  return true;
}

uint64_t tiff_peak_bytes(const TiffHeader& header) {
  return 4 * uint64_t(header.width) * uint64_t(header.height) + header.buffer_bytes;
}

bool tiff_decode(const std::vector<uint8_t>& data, const TiffHeader& header, Image* out,
                 std::string* why) {
  Source src(data);
  Tiff tif = open_tiff(&src, std::max(kTagBytes, header.buffer_bytes), why);
  if (!tif) return false;
  char emsg[1024] = "";
  TIFFRGBAImage rgba;
  if (!TIFFRGBAImageOK(tif.get(), emsg) || !TIFFRGBAImageBegin(&rgba, tif.get(), 1, emsg)) {
    *why = std::string("TIFF layout not supported: ") + emsg;
    return false;
  }
  // The stored orientation back (no flip by libtiff): the caller turns the image once, by it.
  rgba.req_orientation = uint16_t(header.orientation);
  const size_t pixels = size_t(header.width) * header.height;
  PixelBuffer raster(static_cast<uint8_t*>(std::malloc(pixels * 4)));
  const bool ok = raster && TIFFRGBAImageGet(&rgba, reinterpret_cast<uint32_t*>(raster.get()),
                                             uint32_t(header.width), uint32_t(header.height));
  const bool alpha = rgba.alpha != 0;
  TIFFRGBAImageEnd(&rgba);
  if (!ok) {
    *why = !raster ? "out of memory" : src.error.empty() ? "TIFF data unreadable" : src.error;
    return false;
  }
  unpack(raster.get(), pixels, alpha);
  if (alpha) unpremultiply(raster.get(), pixels);
  *out = Image{std::move(raster), header.width, header.height, alpha ? 4 : 3};
  return true;
}

std::vector<uint8_t> tiff_icc_profile(const std::vector<uint8_t>& data, std::string* warning) {
  Source src(data);
  std::string why;
  Tiff tif = open_tiff(&src, kTagBytes, &why);
  uint32_t size = 0;
  void* bytes = nullptr;
  if (!tif || !TIFFGetField(tif.get(), TIFFTAG_ICCPROFILE, &size, &bytes) || !bytes) return {};
  if (tag16(tif.get(), TIFFTAG_PHOTOMETRIC) == PHOTOMETRIC_SEPARATED) {
    *warning = "the CMYK TIFF's ICC profile was ignored: libtiff converts CMYK to RGB without it";
    return {};
  }
  if (size > kMaxIccBytes) {
    *warning = "the TIFF ICC profile (" + std::to_string(size) + " bytes) is over the limit of " +
               std::to_string(kMaxIccBytes) + "; colours as stored";
    return {};
  }
  const auto* p = static_cast<const uint8_t*>(bytes);
  return {p, p + size};
}

}  // namespace imgpipe

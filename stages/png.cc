// libspng PNG decoding.
#include "stages/png.h"

#include <spng.h>

#include <memory>

#include "stages/resize.h"

namespace imgpipe {
namespace {

struct CtxFree {
  void operator()(spng_ctx* c) const { spng_ctx_free(c); }
};
using Ctx = std::unique_ptr<spng_ctx, CtxFree>;

// A context reading `data`, with limits: sides up to 64 Ki px like stb, and 16 MB per ancillary
// chunk so a huge text or ICC chunk cannot eat memory before the pixel cap is even checked.
// Checksums (chunk CRC-32s, the zlib Adler-32) are not verified (OpenCV's libspng decoder skips
// the Adler-32 too): they cost ~5% of PNG decode time, and a flipped bit they would catch makes at
// worst a wrong pixel in a thumbnail; a truncated or malformed stream still fails.
Ctx open(const std::vector<uint8_t>& data, std::string* why) {
  Ctx ctx(spng_ctx_new(SPNG_CTX_IGNORE_ADLER32));
  if (!ctx) {
    *why = "out of memory";
    return nullptr;
  }
  spng_set_crc_action(ctx.get(), SPNG_CRC_USE, SPNG_CRC_USE);
  spng_set_image_limits(ctx.get(), 1 << 16, 1 << 16);
  spng_set_chunk_limits(ctx.get(), 16 << 20, 16 << 20);
  spng_set_png_buffer(ctx.get(), data.data(), data.size());
  return ctx;
}

bool read_ihdr(spng_ctx* ctx, spng_ihdr* ihdr, std::string* why) {
  int rc = spng_get_ihdr(ctx, ihdr);
  if (rc != 0) *why = std::string("PNG header: ") + spng_strerror(rc);
  return rc == 0;
}

}  // namespace

bool png_header(const std::vector<uint8_t>& data, int* width, int* height, std::string* why) {
  Ctx ctx = open(data, why);
  spng_ihdr ihdr{};
  if (!ctx || !read_ihdr(ctx.get(), &ihdr, why)) return false;
  *width = static_cast<int>(ihdr.width);
  *height = static_cast<int>(ihdr.height);
  return true;
}

namespace {

bool fail(int rc, std::string* why) {
  *why = std::string("PNG: ") + spng_strerror(rc);
  return false;
}

// Row by row into a BoxShrinker: one row buffer instead of the full image (for a 1600×1000 RGB
// PNG, 4.8 MB written once and read back once, and page-faulted in fresh each time).
bool decode_shrunk(spng_ctx* ctx, int fmt, const Image& shape, int k, Image* out,
                   std::string* why) {
  BoxShrinker box;
  std::vector<uint8_t> row(size_t(shape.width) * shape.channels);
  if (!box.start(shape.width, shape.height, shape.channels, k)) return fail(SPNG_EMEM, why);
  int rc = spng_decode_image(ctx, nullptr, 0, fmt, SPNG_DECODE_TRNS | SPNG_DECODE_PROGRESSIVE);
  for (int y = 0; rc == 0 && y < shape.height; ++y) {
    rc = spng_decode_row(ctx, row.data(), row.size());
    if (rc == 0 || rc == SPNG_EOI) box.add_row(row.data());
    if (rc == SPNG_EOI) rc = y + 1 == shape.height ? 0 : SPNG_EOI;  // EOI comes with the last row
  }
  if (rc != 0) return fail(rc, why);
  *out = box.finish();
  return true;
}

}  // namespace

bool png_decode(const std::vector<uint8_t>& data, int shrink, Image* out, std::string* why) {
  Ctx ctx = open(data, why);
  spng_ihdr ihdr{};
  if (!ctx || !read_ihdr(ctx.get(), &ihdr, why)) return false;
  spng_trns trns{};
  bool transparency = ihdr.color_type == SPNG_COLOR_TYPE_GRAYSCALE_ALPHA ||
                      ihdr.color_type == SPNG_COLOR_TYPE_TRUECOLOR_ALPHA ||
                      spng_get_trns(ctx.get(), &trns) == 0;
  bool plain_gray = ihdr.color_type == SPNG_COLOR_TYPE_GRAYSCALE && ihdr.bit_depth <= 8;
  int fmt = transparency ? SPNG_FMT_RGBA8 : plain_gray ? SPNG_FMT_G8 : SPNG_FMT_RGB8;
  Image shape;
  shape.width = static_cast<int>(ihdr.width);
  shape.height = static_cast<int>(ihdr.height);
  shape.channels = transparency ? 4 : plain_gray ? 1 : 3;
  // Interlaced rows arrive pass by pass, not top to bottom: those decode in full, then shrink.
  if (shrink > 1 && ihdr.interlace_method == SPNG_INTERLACE_NONE)
    return decode_shrunk(ctx.get(), fmt, shape, shrink, out, why);
  size_t size = 0;
  int rc = spng_decoded_image_size(ctx.get(), fmt, &size);
  PixelBuffer pixels(rc == 0 ? static_cast<uint8_t*>(std::malloc(size)) : nullptr);
  if (rc == 0 && !pixels) rc = SPNG_EMEM;
  if (rc == 0) rc = spng_decode_image(ctx.get(), pixels.get(), size, fmt, SPNG_DECODE_TRNS);
  if (rc != 0) return fail(rc, why);
  *out = std::move(shape);
  out->pixels = std::move(pixels);
  return box_shrink(*out, shrink) || fail(SPNG_EMEM, why);
}

}  // namespace imgpipe

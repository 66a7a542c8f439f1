// PNG decoding: lodepng over libdeflate for images of ordinary size, libspng row by row for
// large ones.
#include "image/png.h"

#include <libdeflate.h>
#include <lodepng.h>
#include <spng.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "image/box.h"
#include "image/fit.h"
#include "image/icc.h"
#include "image/png_stored.h"

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

// Inflated IDAT bytes for this header: a filter byte plus the packed samples per row, per
// Adam7 pass when interlaced.
size_t idat_bytes(const spng_ihdr& h) {
  static constexpr size_t kChannels[] = {1, 0, 3, 1, 2, 0, 4};  // by color type
  const size_t bits = kChannels[h.color_type] * h.bit_depth;
  auto rows = [&](size_t w, size_t n) { return w && n ? n * (1 + (w * bits + 7) / 8) : 0; };
  if (h.interlace_method == SPNG_INTERLACE_NONE) return rows(h.width, h.height);
  static constexpr int kX0[] = {0, 4, 0, 2, 0, 1, 0}, kDx[] = {8, 8, 4, 4, 2, 2, 1};
  static constexpr int kY0[] = {0, 0, 4, 0, 2, 0, 1}, kDy[] = {8, 8, 8, 4, 4, 2, 2};
  size_t total = 0;
  for (int p = 0; p < 7; ++p)
    total +=
        rows((h.width + kDx[p] - 1 - kX0[p]) / kDx[p], (h.height + kDy[p] - 1 - kY0[p]) / kDy[p]);
  return total;
}

// The header and the decoded image's layout: 16-bit becomes 8-bit; palette and tRNS become
// RGB(A); gray stays one channel unless it has transparency.
bool read_header(spng_ctx* ctx, spng_ihdr* ihdr, PngHeader* out, std::string* why) {
  if (!read_ihdr(ctx, ihdr, why)) return false;
  spng_trns trns{};
  const bool transparency = ihdr->color_type == SPNG_COLOR_TYPE_GRAYSCALE_ALPHA ||
                            ihdr->color_type == SPNG_COLOR_TYPE_TRUECOLOR_ALPHA ||
                            spng_get_trns(ctx, &trns) == 0;
  const bool plain_gray = ihdr->color_type == SPNG_COLOR_TYPE_GRAYSCALE && ihdr->bit_depth <= 8;
  out->width = static_cast<int>(ihdr->width);
  out->height = static_cast<int>(ihdr->height);
  out->channels = transparency ? 4 : plain_gray ? 1 : 3;
  out->gray = ihdr->color_type == SPNG_COLOR_TYPE_GRAYSCALE ||
              ihdr->color_type == SPNG_COLOR_TYPE_GRAYSCALE_ALPHA;
  out->interlaced = ihdr->interlace_method != SPNG_INTERLACE_NONE;
  out->inflated_bytes = idat_bytes(*ihdr);
  return true;
}

// Largest decoded image (output pixels) PngPath::kAuto takes whole. Whole decoding holds the
// inflated rows and the converted image at once, so it is kept to ordinary web images: 16 MB is
// 4 Mpx of RGBA, and with one image per processing thread that stays tens of MB. Larger PNGs
// stream through libspng row by row instead.
constexpr size_t kWholeDecodeMaxBytes = size_t{16} << 20;

PngPath choose_path(const PngHeader& h, PngPath path) {
  if (path != PngPath::kAuto) return path;
  return size_t(h.width) * h.height * h.channels <= kWholeDecodeMaxBytes ? PngPath::kWhole
                                                                         : PngPath::kRows;
}

}  // namespace

bool png_header(const std::vector<uint8_t>& data, PngHeader* out, std::string* why) {
  Ctx ctx = open(data, why);
  spng_ihdr ihdr{};
  return ctx && read_header(ctx.get(), &ihdr, out, why);
}

uint64_t png_min_bytes(const PngHeader& h) { return (h.inflated_bytes + 1031) / 1032; }

uint64_t png_peak_bytes(const PngHeader& h, int shrink, uint64_t file_bytes, PngPath path) {
  const uint64_t out = uint64_t(h.width) * h.height * h.channels;
  const uint64_t k = std::max(shrink, 1);
  const uint64_t shrunk = out / (k * k) + out / k + 1;  // partial blocks at the edges
  // libspng's rows: the current and previous row at up to 8 bytes a pixel, and zlib's window.
  const uint64_t rows = uint64_t(h.width) * 16 + (1 << 20);
  if (choose_path(h, path) == PngPath::kWhole)
    return file_bytes + 2 * h.inflated_bytes + out + (k > 1 ? shrunk : 0) + rows;
  if (k > 1 && !h.interlaced) return shrunk + uint64_t(h.width) * h.channels * 8 + rows;
  return out + (k > 1 ? shrunk : 0) + rows;
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

// Inflates a zlib stream into a malloc'd *out (lodepng frees it with free()) of at most `cap`
// bytes: libdeflate wants the whole output buffer at once, so it starts at `first` bytes and
// doubles. LIBDEFLATE_INSUFFICIENT_SPACE: the stream inflates to more than `cap`.
libdeflate_result inflate_capped(const unsigned char* in, size_t in_size, size_t first, size_t cap,
                                 unsigned char** out, size_t* out_size) {
  libdeflate_decompressor* inflater = thread_inflater();
  if (!inflater) return LIBDEFLATE_BAD_DATA;
  for (size_t size = std::min(first, cap);; size = std::min(cap, size * 2)) {
    auto* buf = static_cast<unsigned char*>(std::realloc(*out, size ? size : 1));
    if (!buf) return LIBDEFLATE_BAD_DATA;
    *out = buf;
    auto rc = libdeflate_zlib_decompress(inflater, in, in_size, buf, size, out_size);
    if (rc != LIBDEFLATE_INSUFFICIENT_SPACE || size >= cap) return rc;
  }
}

// lodepng's inflate hook, backed by libdeflate: whole-buffer inflate runs ~2.7x faster than
// zlib's streaming inflate on this project's PNG corpus (0.42 s vs 1.11 s for 201 photos), and
// zlib is most of libspng's PNG time. lodepng calls the hook for IDAT with max_output_size 0 and
// for iCCP/zTXt with their own caps; `custom_context` points to the exact inflated IDAT size,
// computed from IHDR, which is both the buffer's size and its cap, so a deflate bomb cannot grow
// it. Text chunks are not read (decode_whole), so the only capped call is iCCP's: png_icc_profile
// reads the profile and lodepng's copy is never used, so lodepng gets a one-byte stand-in (an
// empty one is its error 100) instead of up to 16 MB inflated, and a corrupt profile stream
// cannot fail the image.
unsigned inflate_with_libdeflate(unsigned char** out, size_t* out_size, const unsigned char* in,
                                 size_t in_size, const LodePNGDecompressSettings* settings) {
  if (settings->max_output_size != 0) {
    auto* stand_in = static_cast<unsigned char*>(std::realloc(*out, 1));
    if (!stand_in) return 1;
    *stand_in = 0;
    *out = stand_in;
    *out_size = 1;
    return 0;
  }
  const size_t idat = *static_cast<const size_t*>(settings->custom_context);
  return inflate_capped(in, in_size, idat, idat, out, out_size) == LIBDEFLATE_SUCCESS ? 0 : 1;
}

// The common PNG, whose stored samples are already the image we want: 8-bit, not interlaced, gray
// or RGB without tRNS, or RGBA. It decodes in one buffer (png_stored.h); other layouts (palette,
// tRNS, 16-bit, fewer bits, gray+alpha, Adam7) go through lodepng, which expands them.
bool stored_as_wanted(const spng_ihdr& h, int channels) {
  if (h.bit_depth != 8 || h.interlace_method != SPNG_INTERLACE_NONE) return false;
  return (h.color_type == SPNG_COLOR_TYPE_GRAYSCALE && channels == 1) ||
         (h.color_type == SPNG_COLOR_TYPE_TRUECOLOR && channels == 3) ||
         (h.color_type == SPNG_COLOR_TYPE_TRUECOLOR_ALPHA && channels == 4);
}

bool decode_stored(const std::vector<uint8_t>& data, Image shape, Image* out, std::string* why) {
  uint8_t* pixels = nullptr;
  const char* problem = "";
  if (!decode_stored_png(data.data(), data.size(), size_t(shape.height),
                         size_t(shape.width) * shape.channels, shape.channels, &pixels, &problem)) {
    *why = std::string("PNG: ") + problem;
    return false;
  }
  *out = std::move(shape);
  out->pixels.reset(pixels);
  return true;
}

// A gray tRNS key above what the bit depth can hold (a 1-bit image keyed 255, written by some
// encoders as the 8-bit value): libpng compares only its low bits, so Pillow and libvips show
// those pixels transparent, while lodepng matches nothing.
bool gray_key_out_of_range(const LodePNGColorMode& c) {
  return c.colortype == LCT_GREY && c.key_defined && c.bitdepth < 8 &&
         c.key_r >= (1u << c.bitdepth);
}

// Decodes again without conversion, masks the key as libpng does, then converts to info_raw.
// Rare (only such keys), so the second decode costs nothing that matters.
unsigned convert_again(const std::vector<uint8_t>& data, LodePNGState* state,
                       unsigned char** pixels) {
  std::free(*pixels);
  *pixels = nullptr;
  // Without conversion lodepng overwrites info_raw with the PNG's own mode: keep the wanted one.
  LodePNGColorMode want;
  lodepng_color_mode_init(&want);
  want.colortype = state->info_raw.colortype;
  want.bitdepth = state->info_raw.bitdepth;
  unsigned w = 0, h = 0;
  unsigned char* stored = nullptr;
  state->decoder.color_convert = 0;
  unsigned rc = lodepng_decode(&stored, &w, &h, state, data.data(), data.size());
  PixelBuffer owned(stored);
  LodePNGColorMode& png = state->info_png.color;
  png.key_r = png.key_g = png.key_b = png.key_r & ((1u << png.bitdepth) - 1);
  if (rc == 0) {
    *pixels = static_cast<unsigned char*>(std::malloc(lodepng_get_raw_size(w, h, &want)));
    rc = *pixels ? lodepng_convert(*pixels, stored, &want, &png, w, h) : 83;  // 83: no memory
  }
  return rc;
}

bool decode_whole(const std::vector<uint8_t>& data, const spng_ihdr& ihdr, Image shape, Image* out,
                  std::string* why) {
  LodePNGState state;
  lodepng_state_init(&state);
  const size_t idat = idat_bytes(ihdr);
  state.decoder.zlibsettings.custom_zlib = inflate_with_libdeflate;
  state.decoder.zlibsettings.custom_context = &idat;
  // Not verified, as with libspng above.
  state.decoder.zlibsettings.ignore_adler32 = 1;
  state.decoder.ignore_crc = 1;
  state.decoder.read_text_chunks = 0;  // text is never used; skip inflating zTXt/iTXt
  state.info_raw.colortype = shape.channels == 4   ? LCT_RGBA
                             : shape.channels == 1 ? LCT_GREY
                                                   : LCT_RGB;
  state.info_raw.bitdepth = 8;
  unsigned char* pixels = nullptr;
  unsigned w = 0, h = 0;
  unsigned rc = lodepng_decode(&pixels, &w, &h, &state, data.data(), data.size());
  if (rc == 0 && gray_key_out_of_range(state.info_png.color))
    rc = convert_again(data, &state, &pixels);
  lodepng_state_cleanup(&state);
  PixelBuffer owned(pixels);  // malloc'd by lodepng, freed with free()
  if (rc != 0) {
    *why = std::string("PNG: ") + lodepng_error_text(rc);
    return false;
  }
  *out = std::move(shape);
  out->pixels = std::move(owned);
  return true;
}

// The steps every path ends with: flatten for JPEG output, then the box shrink by `shrink` (1 where
// the rows were shrunk as they were decoded).
bool flatten_and_shrink(bool flatten, int shrink, Image* out, std::string* why) {
  if (flatten) flatten_alpha(*out);
  return box_shrink(*out, shrink) || fail(SPNG_EMEM, why);
}

}  // namespace

bool png_decode(const std::vector<uint8_t>& data, int shrink, Image* out, std::string* why,
                PngPath path, bool flatten) {
  Ctx ctx = open(data, why);
  spng_ihdr ihdr{};
  PngHeader header;
  if (!ctx || !read_header(ctx.get(), &ihdr, &header, why)) return false;
  const int fmt = header.channels == 4   ? SPNG_FMT_RGBA8
                  : header.channels == 1 ? SPNG_FMT_G8
                                         : SPNG_FMT_RGB8;
  Image shape;
  shape.width = header.width;
  shape.height = header.height;
  shape.channels = header.channels;
  path = choose_path(header, path);
  if (path == PngPath::kWhole) {
    const bool stored = stored_as_wanted(ihdr, shape.channels);
    return (stored ? decode_stored(data, std::move(shape), out, why)
                   : decode_whole(data, ihdr, std::move(shape), out, why)) &&
           flatten_and_shrink(flatten, shrink, out, why);
  }
  // Interlaced rows arrive pass by pass, not top to bottom: those decode in full, then shrink.
  if (shrink > 1 && ihdr.interlace_method == SPNG_INTERLACE_NONE)
    return decode_shrunk(ctx.get(), fmt, shape, shrink, out, why) &&
           flatten_and_shrink(flatten, 1, out, why);
  size_t size = 0;
  int rc = spng_decoded_image_size(ctx.get(), fmt, &size);
  PixelBuffer pixels(rc == 0 ? static_cast<uint8_t*>(std::malloc(size)) : nullptr);
  if (rc == 0 && !pixels) rc = SPNG_EMEM;
  if (rc == 0) rc = spng_decode_image(ctx.get(), pixels.get(), size, fmt, SPNG_DECODE_TRNS);
  if (rc != 0) return fail(rc, why);
  *out = std::move(shape);
  out->pixels = std::move(pixels);
  return flatten_and_shrink(flatten, shrink, out, why);
}

namespace {

// The iCCP chunk's data (keyword, NUL, method, zlib stream), or null: chunks are walked from IHDR
// to the first IDAT, where the standard requires iCCP to be.
const uint8_t* find_iccp(const std::vector<uint8_t>& data, size_t* length) {
  const uint8_t* end = data.data() + data.size();
  if (data.size() < 8) return nullptr;
  for (const uint8_t* c = data.data() + 8; end - c >= 12; c = lodepng_chunk_next_const(c, end)) {
    *length = lodepng_chunk_length(c);
    if (*length > size_t(end - c) - 12 || lodepng_chunk_type_equals(c, "IDAT")) return nullptr;
    if (lodepng_chunk_type_equals(c, "iCCP")) return c + 8;
  }
  return nullptr;
}

}  // namespace

std::vector<uint8_t> png_icc_profile(const std::vector<uint8_t>& data, std::string* warning) {
  size_t n = 0;
  const uint8_t* chunk = find_iccp(data, &n);
  if (!chunk) return {};
  // A keyword of 1-79 bytes, its NUL, compression method 0, then the zlib stream.
  const uint8_t* nul = static_cast<const uint8_t*>(std::memchr(chunk, 0, std::min<size_t>(n, 80)));
  if (!nul || nul == chunk || size_t(nul - chunk) + 2 > n || nul[1] != 0) {
    *warning = "the embedded ICC profile was ignored: its iCCP chunk is malformed";
    return {};
  }
  unsigned char* out = nullptr;
  size_t size = 0;
  const size_t start = nul + 2 - chunk;
  const libdeflate_result rc =
      inflate_capped(nul + 2, n - start, size_t{64} << 10, kMaxIccBytes, &out, &size);
  PixelBuffer owned(out);
  if (rc == LIBDEFLATE_INSUFFICIENT_SPACE)
    *warning = "the embedded ICC profile was ignored: it inflates to more than " +
               std::to_string(kMaxIccBytes) + " bytes";
  else if (rc != LIBDEFLATE_SUCCESS)
    *warning = "the embedded ICC profile was ignored: its iCCP stream is corrupt";
  if (rc != LIBDEFLATE_SUCCESS) return {};
  return std::vector<uint8_t>(out, out + size);
}

namespace {

void put_be32(std::vector<uint8_t>* v, uint32_t x) {
  const uint8_t b[4] = {uint8_t(x >> 24), uint8_t(x >> 16), uint8_t(x >> 8), uint8_t(x)};
  v->insert(v->end(), b, b + 4);
}

}  // namespace

bool png_embed_icc(std::vector<uint8_t>* png, const std::vector<uint8_t>& profile) {
  // Signature (8), then IHDR: length 13, type, data, CRC (25 bytes).
  constexpr size_t kAfterIhdr = 8 + 25;
  if (png->size() < kAfterIhdr || std::memcmp(png->data() + 12, "IHDR", 4) != 0) return false;
  std::unique_ptr<libdeflate_compressor, void (*)(libdeflate_compressor*)> deflater(
      libdeflate_alloc_compressor(9), libdeflate_free_compressor);
  if (!deflater) return false;
  static constexpr char kHead[] = "iCCPICC profile";  // type, keyword, then NUL and method 0
  std::vector<uint8_t> chunk(kHead, kHead + sizeof kHead);
  chunk.push_back(0);
  const size_t head = chunk.size();
  chunk.resize(head + libdeflate_zlib_compress_bound(deflater.get(), profile.size()));
  const size_t packed = libdeflate_zlib_compress(deflater.get(), profile.data(), profile.size(),
                                                 chunk.data() + head, chunk.size() - head);
  if (packed == 0 || head + packed - 4 > 0x7FFFFFFF) return false;
  chunk.resize(head + packed);
  std::vector<uint8_t> bytes;
  put_be32(&bytes, static_cast<uint32_t>(chunk.size() - 4));  // the length excludes the type
  bytes.insert(bytes.end(), chunk.begin(), chunk.end());
  put_be32(&bytes, libdeflate_crc32(0, chunk.data(), chunk.size()));
  png->insert(png->begin() + kAfterIhdr, bytes.begin(), bytes.end());
  return true;
}

}  // namespace imgpipe

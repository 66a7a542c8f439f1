// The one translation unit holding the stb implementations, so we choose their build settings
// (formats, limits, allocator) instead of linking Debian's prebuilt libstb.so; and the header
// probe of image/stb.h, written with stb's own reading functions so it reads every header exactly
// as the decoder will.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <utility>

#include "image/stb.h"

namespace {

// stb_image 2.27 ignores short reads in several loaders: PNM's samples and TGA's raw rows come
// from stbi__getn, whose failure is not checked, so a header-only file left the whole pixel
// buffer as malloc gave it, and the thumbnail showed whatever the heap held before (another
// file's text, pointers, pixels). Every stb allocation is therefore zeroed. stb_image grows
// buffers only through STBI_REALLOC_SIZED, and only in its zlib (PNG) path, which is not built;
// should that change, the grown tail is zeroed too, so no path can expose old bytes.
[[maybe_unused]] void* stb_zeroed_realloc(void* p, size_t old_size, size_t new_size) {
  void* q = std::realloc(p, new_size);
  if (q && new_size > old_size)
    std::memset(static_cast<char*>(q) + old_size, 0, new_size - old_size);
  return q;
}

}  // namespace

#define STBI_MALLOC(size) std::calloc(1, size)
#define STBI_REALLOC_SIZED(p, old_size, new_size) stb_zeroed_realloc(p, old_size, new_size)
#define STBI_FREE(p) std::free(p)

// Formats a web thumbnailer sees; HDR and PIC are left out (no web use, more attack surface): any
// STBI_ONLY_ leaves out every format not named, so stb_image cannot decode a Radiance HDR here.
// No JPEG and no PNG, found by fuzz_image (inputs in fuzz/regressions/fuzz_image/stb-*): Debian's
// stb_image 2.27 writes and reads out of bounds on hostile JPEG Huffman tables, and reallocates
// whatever a PNG's IDAT length claims (a 1.2 GB allocation from a few hundred bytes). Every JPEG
// goes to libjpeg-turbo and every PNG to image/png.cc, even with --codec stb, and stb cannot be
// reached with either. No BMP: image/bmp.cc reads what stb 2.27 cannot (RLE, OS/2 2.x, palettes
// before 16/24-bit pixels), and stb read palette entries past the file's from its uninitialised
// stack.
#define STBI_ONLY_GIF
#define STBI_ONLY_TGA
#define STBI_ONLY_PSD
#define STBI_ONLY_PNM
#define STBI_NO_STDIO  // we decode from memory only
// Defence in depth behind our own --max-pixels check: stb refuses any side over 64 Ki px.
#define STBI_MAX_DIMENSIONS (1 << 16)
#define STB_IMAGE_IMPLEMENTATION
#include <stb/stb_image.h>

// stb_image_resize v1 asserts on some filter/size pairs (seen with the triangle filter): an
// assertion would kill the whole run for one image. We use only the default filters, which
// resize_test.cc checks over many size pairs for sane output.
#define STBIR_ASSERT(x) ((void)0)
#define STB_IMAGE_RESIZE_IMPLEMENTATION
#include <stb/stb_image_resize.h>

#define STBI_WRITE_NO_STDIO
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>

namespace imgpipe {
namespace {

// A memory context over `data`, as stbi_load_from_memory makes one. The body is at most
// --max-bytes (≤ 1 GB), within stb's int lengths.
struct Reader {
  explicit Reader(const std::vector<uint8_t>& data) {
    stbi__start_mem(&s, data.data(), static_cast<int>(data.size()));
  }
  // Where stb has read to (stbi__skip may move past the end; stb then reads zeros).
  uint64_t offset() const { return static_cast<uint64_t>(s.img_buffer - s.img_buffer_original); }
  stbi__context s;
};

uint64_t ceil_div(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

// stbi__pnm_getinteger with the overflow check stb 2.28 added: 2.27's int overflows on a long
// run of digits, which is undefined behaviour.
int64_t pnm_integer(stbi__context* s, char* c) {
  int64_t value = 0;
  while (!stbi__at_eof(s) && stbi__pnm_isdigit(*c)) {
    value = std::min<int64_t>(value * 10 + (*c - '0'), int64_t{1} << 40);
    *c = static_cast<char>(stbi__get8(s));
  }
  return value;
}

// PNM (P5, P6): raw samples, no compression. Read as stbi__pnm_info reads it (stb's own
// whitespace and comment rules), which stops right after the one whitespace byte that ends the
// header; there stbi__getn copies width × height × channels samples (two bytes each above maxval
// 255) in one go, and with fewer bytes left it copies none. The bound is exact.
// Reads the header's width, height and maxval into numbers[]; returns the channels.
int read_pnm_header(stbi__context& s, int64_t numbers[3]) {
  stbi__rewind(&s);  // stbi__pnm_test leaves the context after the magic when it matches
  stbi__get8(&s);    // 'P'
  const int channels = stbi__get8(&s) == '6' ? 3 : 1;
  char c = static_cast<char>(stbi__get8(&s));
  for (int i = 0; i < 3; ++i) {
    stbi__pnm_skip_whitespace(&s, &c);
    numbers[i] = pnm_integer(&s, &c);
  }
  return channels;
}

bool probe_pnm(Reader& r, StbHeader* h, std::string* why) {
  int64_t numbers[3];  // width, height, maxval
  h->channels = read_pnm_header(r.s, numbers);
  if (numbers[2] > 65535) {
    *why = "PNM maxval is over 65535";
    return false;
  }
  h->format = "PNM";
  h->width = static_cast<int>(std::min<int64_t>(numbers[0], INT32_MAX));
  h->height = static_cast<int>(std::min<int64_t>(numbers[1], INT32_MAX));
  if (numbers[0] > INT32_MAX || numbers[1] > INT32_MAX) h->unsafe = "PNM side overflows an int";
  const int bytes = numbers[2] > 255 ? 2 : 1;
  const uint64_t samples = uint64_t(h->width) * h->height * h->channels;
  h->min_bytes = r.offset() + samples * bytes;
  // 16-bit samples are decoded as such, then narrowed into a second buffer.
  h->peak_bytes = samples * bytes + (bytes == 2 ? samples : 0);
  return true;
}

// TGA: uncompressed pixels need their full size. RLE's best case is a run packet: one header byte
// and one pixel value for up to 128 pixels (stb lets runs cross rows).
bool probe_tga(Reader& r, StbHeader* h, std::string* why) {
  stbi__context& s = r.s;
  const int id_length = stbi__get8(&s), indexed = stbi__get8(&s), type = stbi__get8(&s);
  const int palette_start = stbi__get16le(&s), palette_len = stbi__get16le(&s);
  const int palette_bits = stbi__get8(&s);
  stbi__skip(&s, 4);  // x and y origin
  h->width = stbi__get16le(&s);
  h->height = stbi__get16le(&s);
  const int bpp = stbi__get8(&s);
  stbi__get8(&s);  // descriptor
  const bool rle = type >= 8, gray = (rle ? type - 8 : type) == 3;
  int rgb16 = 0;
  h->channels =
      indexed ? stbi__tga_get_comp(palette_bits, 0, &rgb16) : stbi__tga_get_comp(bpp, gray, &rgb16);
  if (h->channels == 0 || (indexed && palette_len == 0)) {
    *why = "TGA pixel format or palette is unsupported";
    return false;
  }
  h->format = "TGA";
  const uint64_t pixels = uint64_t(h->width) * h->height;
  const uint64_t entry = rgb16 ? 2 : h->channels;  // a palette entry, or an RGB pixel
  const uint64_t pixel = indexed ? (bpp == 8 ? 1 : 2) : entry;
  const uint64_t start =
      r.offset() + id_length + (indexed ? palette_start + palette_len * entry : 0);
  h->min_bytes = start + (rle ? ceil_div(pixels, 128) * (1 + pixel) : pixels * pixel);
  h->peak_bytes = pixels * h->channels + (indexed ? palette_len * h->channels : 0);
  return true;
}

// PSD: stb decodes the first four channels. Raw, each needs width × height samples. RLE (PackBits)
// is preceded by a 2-byte count per row and channel, and its best case is 2 bytes for a run of
// 128. A file with no channels has nothing to fill its claim with.
bool probe_psd(Reader& r, StbHeader* h, std::string* why) {
  stbi__context& s = r.s;
  stbi__get32be(&s);  // "8BPS", checked by stbi__psd_test
  const int version = stbi__get16be(&s);
  stbi__skip(&s, 6);
  const int channels = stbi__get16be(&s);
  h->height = static_cast<int>(std::min<uint32_t>(stbi__get32be(&s), 1u << 30));
  h->width = static_cast<int>(std::min<uint32_t>(stbi__get32be(&s), 1u << 30));
  const int depth = stbi__get16be(&s), mode = stbi__get16be(&s);
  if (version != 1 || channels > 16 || (depth != 8 && depth != 16) || mode != 3) {
    *why = "PSD is not an 8- or 16-bit RGB image of version 1";
    return false;
  }
  for (int section = 0; section < 3; ++section)  // mode data, image resources, reserved
    stbi__skip(&s, static_cast<int>(stbi__get32be(&s)));
  const int compression = stbi__get16be(&s);
  h->format = "PSD";
  h->channels = 4;
  const uint64_t pixels = uint64_t(h->width) * h->height;
  const uint64_t planes = std::min(channels, 4);
  h->min_bytes =
      r.offset() + (compression ? 2ull * h->height * channels + planes * 2 * ceil_div(pixels, 128)
                                : planes * pixels * (depth / 8));
  h->peak_bytes = pixels * 4;
  if (channels == 0) h->unsafe = "PSD has no channels";
  return true;
}

// Walks the blocks before the first image as stbi__gif_load_next does; false if there is none.
// Leaves `s` at the image's LZW code size and sets the frame's pixels.
bool to_first_frame(stbi__context& s, int canvas_w, int canvas_h, uint64_t* frame_pixels,
                    int* fx = nullptr, int* fy = nullptr, int* fw = nullptr, int* fh = nullptr) {
  for (;;) {
    const int tag = stbi__get8(&s);
    if (tag == 0x2C) {
      const int x = stbi__get16le(&s), y = stbi__get16le(&s);
      const int w = stbi__get16le(&s), h = stbi__get16le(&s);
      const int flags = stbi__get8(&s);
      if (flags & 0x80) stbi__skip(&s, 3 * (2 << (flags & 7)));
      *frame_pixels = uint64_t(w) * h;
      if (fx) *fx = x, *fy = y, *fw = w, *fh = h;
      // An empty frame (or one cut off mid-descriptor, read as zeros) draws nothing.
      return w > 0 && h > 0 && x + w <= canvas_w && y + h <= canvas_h;
    }
    if (tag != 0x21) return false;  // the trailer, or an unknown block: stb fails
    int len = 0;
    if (stbi__get8(&s) == 0xF9 && (len = stbi__get8(&s)) != 4) {
      stbi__skip(&s, len);  // stb skips an odd-sized control block, then reads the next tag
      continue;
    }
    if (len == 4) stbi__skip(&s, 4);
    while ((len = stbi__get8(&s)) != 0) stbi__skip(&s, len);
  }
}

// The steps stbi__process_gif_raster takes for codes of min_size + 1 bits and up: it writes each
// code's string by walking it to its root (up to 4096 steps), whether or not the frame still has
// room. Mirrors stb's reading, dictionary and code-size rules, counting instead of writing; stops
// once past `cap`. Each code adds at least one step, so this costs at most `cap` codes plus the
// bytes read. *ran_out: the data ended before the end code.
uint64_t gif_lzw_steps(stbi__context& s, int min_size, uint64_t cap, bool* ran_out) {
  static thread_local uint16_t length[8192];
  const int clear = 1 << min_size;
  // Entries stb never set have prefix 0 (its state is zeroed): two steps.
  for (int i = 0; i < 8192; ++i) length[i] = i < clear ? 1 : 2;
  int size = min_size + 1, mask = (1 << size) - 1, avail = clear + 2, old = -1, bits = 0, valid = 0;
  int block = 0;
  bool first = true;
  uint64_t steps = 0;
  while (steps <= cap) {
    if (valid < size) {
      if (stbi__at_eof(&s)) {
        *ran_out = true;
        break;
      }
      if (block == 0 && (block = stbi__get8(&s)) == 0) break;
      --block;
      bits |= stbi__get8(&s) << valid;
      valid += 8;
      continue;
    }
    const int code = bits & mask;
    bits >>= size;
    valid -= size;
    if (code == clear) {
      size = min_size + 1, mask = (1 << size) - 1, avail = clear + 2, old = -1, first = false;
      continue;
    }
    if (code == clear + 1 || code > avail || first) break;  // the end, or stb fails
    if (old >= 0) {
      if (avail >= 8192) break;
      length[avail] = static_cast<uint16_t>(std::min(length[old] + 1, 0xFFFF));
      ++avail;
    } else if (code == avail) {
      break;
    }
    steps += length[code];
    if ((avail & mask) == 0 && avail <= 0x0FFF) mask = (1 << ++size) - 1;
    old = code;
  }
  return steps;
}

// GIF: stb decodes the first frame onto the logical screen. It allocates and clears the screen
// three times over (pixels, background, history) before reading a single block, so a file with
// no frame inside the screen is refused first. A frame's LZW data can be tiny: a 12-bit code
// stands for a string of at most 4096 pixels, so a byte brings at most 4096 × 8 / 12 ≈ 2731 of
// them. The screen around a small frame is legitimately empty; --decode-memory bounds it.
bool probe_gif(Reader& r, StbHeader* h) {
  stbi__context& s = r.s;
  stbi__skip(&s, 6);  // "GIF87a" or "GIF89a", checked by stbi__gif_test
  h->width = stbi__get16le(&s);
  h->height = stbi__get16le(&s);
  const int flags = stbi__get8(&s);
  stbi__skip(&s, 2);  // background index, aspect ratio
  if (flags & 0x80) stbi__skip(&s, 3 * (2 << (flags & 7)));
  h->format = "GIF";
  h->channels = 4;
  const uint64_t screen = uint64_t(h->width) * h->height;
  h->peak_bytes = screen * 9;
  uint64_t frame = 0;
  if (!to_first_frame(s, h->width, h->height, &frame)) {
    h->unsafe = "GIF has no image inside its logical screen";
    return true;
  }
  h->min_bytes = r.offset() + 1 + ceil_div(frame * 3, 8192);
  const int min_size = stbi__get8(&s);
  if (min_size > 12) h->unsafe = "GIF LZW code size is over 12 bits";
  // A fair encoder's codes spell out the frame once; twice that, plus a fixed allowance for
  // stray codes after the last pixel, is far beyond any real GIF and still linear in the frame.
  h->work_limit = 2 * frame + (1 << 20);
  bool ran_out = false;
  h->work = min_size > 12 ? 0 : gif_lzw_steps(s, min_size, h->work_limit, &ran_out);
  // Each step writes a pixel while the frame has room: fewer steps than pixels left it unfilled.
  h->truncated = ran_out && h->work < frame;
  return true;
}

}  // namespace

bool stb_probe(const std::vector<uint8_t>& data, StbHeader* out, std::string* why) {
  Reader r(data);
  *out = StbHeader();
  bool ok = false;
  // stbi__load_main's order for the formats built here; its first match decodes or fails.
  if (stbi__gif_test(&r.s)) {
    ok = probe_gif(r, out);
  } else if (stbi__psd_test(&r.s)) {
    ok = probe_psd(r, out, why);
  } else if (stbi__pnm_test(&r.s)) {
    ok = probe_pnm(r, out, why);
  } else if (stbi__tga_test(&r.s)) {
    ok = probe_tga(r, out, why);
  } else {
    *why = "unknown image type";
  }
  if (ok && out->work_limit == 0) out->work = out->work_limit = uint64_t(out->width) * out->height;
  return ok;
}

namespace {

// 16-bit PNM: stb 2.27 copies the big-endian samples into native (little-endian) 16-bit ones
// unswapped, and its 8-bit conversion then keeps each sample's low byte: noise. The samples are
// read as stb leaves them, in file byte order, and scaled from 0..maxval to 0..255.
bool decode_pnm16(const std::vector<uint8_t>& data, int64_t maxval, Image* out, std::string* why) {
  int w = 0, h = 0, channels = 0;
  std::unique_ptr<stbi_us, decltype(&std::free)> wide(
      stbi_load_16_from_memory(data.data(), static_cast<int>(data.size()), &w, &h, &channels, 0),
      &std::free);
  const size_t n = size_t(w) * h * channels;
  PixelBuffer narrow(wide ? static_cast<uint8_t*>(std::malloc(n)) : nullptr);
  if (!narrow) {
    *why = wide ? "out of memory" : stbi_failure_reason();
    return false;
  }
  const auto* bytes = reinterpret_cast<const uint8_t*>(wide.get());
  for (size_t i = 0; i < n; ++i) {
    const int64_t v = std::min<int64_t>(bytes[2 * i] << 8 | bytes[2 * i + 1], maxval);
    narrow[i] = static_cast<uint8_t>((v * 255 + maxval / 2) / maxval);
  }
  out->pixels = std::move(narrow);
  out->width = w, out->height = h, out->channels = channels;
  return true;
}

// TGA's descriptor byte (offset 17), bit 4: pixels run right to left. stb 2.27 reads bit 5 (top
// to bottom) but not this one, so such files came out mirrored.
void mirror_rows(Image* img) {
  const int c = img->channels;
  for (int y = 0; y < img->height; ++y) {
    uint8_t* row = &img->pixels[size_t(y) * img->width * c];
    for (int l = 0, r = img->width - 1; l < r; ++l, --r)
      std::swap_ranges(row + size_t(l) * c, row + size_t(l + 1) * c, row + size_t(r) * c);
  }
}

// A GIF's screen outside its first frame: stb paints it with the background colour, made opaque,
// where browsers, libvips and Pillow leave it transparent (GIF89a calls the background colour a
// hint). Everything stb did not draw is cleared.
void clear_outside_first_frame(const std::vector<uint8_t>& data, Image* img) {
  Reader r(data);
  stbi__skip(&r.s, 10);  // signature and screen size
  const int flags = stbi__get8(&r.s);
  stbi__skip(&r.s, 2);
  if (flags & 0x80) stbi__skip(&r.s, 3 * (2 << (flags & 7)));
  int x0 = 0, y0 = 0, fw = 0, fh = 0;
  uint64_t pixels = 0;
  if (!to_first_frame(r.s, img->width, img->height, &pixels, &x0, &y0, &fw, &fh)) return;
  for (int y = 0; y < img->height; ++y)
    for (int x = 0; x < img->width; ++x)
      if (x < x0 || x >= x0 + fw || y < y0 || y >= y0 + fh)
        std::memset(&img->pixels[(size_t(y) * img->width + x) * 4], 0, 4);
}

}  // namespace

bool stb_decode(const std::vector<uint8_t>& data, Image* out, std::string* why) {
  Reader r(data);
  // stbi__load_main's order, as in stb_probe.
  const bool gif = stbi__gif_test(&r.s);
  const bool pnm = !gif && !stbi__psd_test(&r.s) && stbi__pnm_test(&r.s);
  const bool tga = !gif && !pnm && !stbi__psd_test(&r.s) && stbi__tga_test(&r.s);
  int64_t pnm_numbers[3] = {0, 0, 0};
  if (pnm) read_pnm_header(r.s, pnm_numbers);
  if (pnm && pnm_numbers[2] > 255) return decode_pnm16(data, pnm_numbers[2], out, why);
  int w = 0, h = 0, channels = 0;
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
  if (tga && data.size() > 17 && (data[17] & 0x10)) mirror_rows(out);
  if (gif && channels == 4) clear_outside_first_frame(data, out);
  return true;
}

}  // namespace imgpipe

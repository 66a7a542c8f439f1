// BMP decoding: headers, palettes, bit fields, raw rows and RLE streams, every read bounds-checked
// (see bmp.h for why imgpipe has its own).
#include "image/bmp.h"

#include <algorithm>
#include <cstring>

namespace imgpipe {
namespace {

constexpr uint64_t kFileHeaderBytes = 14;

// Little-endian reads that see zeros past the end, so a cut-off field reads as 0, which the
// checks below then refuse or bound; no read can leave the buffer.
struct Bytes {
  const uint8_t* p;
  uint64_t n;
  uint32_t u8(uint64_t at) const { return at < n ? p[at] : 0; }
  uint32_t u16(uint64_t at) const { return u8(at) | u8(at + 1) << 8; }
  uint32_t u32(uint64_t at) const { return u16(at) | u16(at + 2) << 16; }
};

// Windows info headers (3.x, the two bit-field extensions, 4, 5); any other size from 16 to 64 is
// an OS/2 2.x header, whose first fields are the 40-byte one's (the rest may be left out).
bool windows_header(uint32_t size) {
  return size == 40 || size == 52 || size == 56 || size == 108 || size == 124;
}
bool known_header(uint32_t size) {
  return size == 12 || (size >= 16 && size <= 64) || windows_header(size);
}

// The coding and bit depth pair this decoder reads; sets h->coding.
bool read_coding(uint32_t compression, uint32_t header_size, BmpHeader* h, std::string* why) {
  const int bpp = h->bpp;
  const bool raw_depth =
      bpp == 1 || bpp == 2 || bpp == 4 || bpp == 8 || bpp == 16 || bpp == 24 || bpp == 32;
  if (compression == 0 && raw_depth)
    h->coding = BmpHeader::kRaw;
  else if (compression == 1 && bpp == 8)
    h->coding = BmpHeader::kRle8;
  else if (compression == 2 && bpp == 4)
    h->coding = BmpHeader::kRle4;
  // 3 is bit fields in Windows headers, Huffman 1D in OS/2 2.x ones; 6 is bit fields with alpha.
  else if ((compression == 3 || compression == 6) && windows_header(header_size) &&
           (bpp == 16 || bpp == 24 || bpp == 32))
    h->coding = BmpHeader::kBitFields;
  else {
    *why = "BMP compression " + std::to_string(compression) + " at " + std::to_string(bpp) +
           " bits a pixel is not supported";
    return false;
  }
  return true;
}

// 16 and 32-bit masks: the defaults (5-5-5; BGRA), or the header's bit fields, which follow a
// 40-byte header or sit inside a longer one. Returns where the header and its masks end.
uint64_t read_masks(const Bytes& b, uint32_t header_size, uint32_t compression, BmpHeader* h) {
  uint64_t end = kFileHeaderBytes + header_size;
  if (h->coding != BmpHeader::kBitFields) {
    if (h->bpp == 16) h->masks[0] = 0x7C00, h->masks[1] = 0x03E0, h->masks[2] = 0x001F;
    // 32-bit raw: the fourth byte is alpha unless every pixel leaves it 0 (bmp_decode), as
    // stb_image read it before.
    if (h->bpp == 32)
      h->masks[0] = 0xFF0000, h->masks[1] = 0xFF00, h->masks[2] = 0xFF, h->masks[3] = 0xFF000000;
    return end;
  }
  const uint64_t at = kFileHeaderBytes + 40;
  const int count = header_size > 40 ? (header_size >= 56 ? 4 : 3) : (compression == 6 ? 4 : 3);
  for (int i = 0; i < count; ++i) h->masks[i] = b.u32(at + 4 * i);
  if (header_size == 40) end += 4 * count;
  return end;
}

// The palette's place and how many of its entries the file defines: the header's count (or
// 2^bpp), no more than fit before the pixel data or in the file, and at most 256. Pixels naming
// an entry past these are black.
void read_palette(uint32_t colors, uint64_t start, uint64_t file_size, BmpHeader* h) {
  if (h->bpp > 8) return;  // a palette before 16/24/32-bit pixels is only a hint: skipped
  h->palette_offset = start;
  const uint64_t wanted = std::min<uint64_t>(colors ? colors : 1u << h->bpp, 256);
  const uint64_t end = std::min(h->pixel_offset, file_size);
  const uint64_t room = end > start ? (end - start) / h->palette_entry_bytes : 0;
  h->palette_entries = static_cast<int>(std::min(wanted, room));
}

uint64_t ceil_div(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

uint64_t row_bytes(const BmpHeader& h) { return ceil_div(uint64_t(h.width) * h.bpp, 8); }
uint64_t row_stride(const BmpHeader& h) { return ceil_div(uint64_t(h.width) * h.bpp, 32) * 4; }

// A colour table of 256 entries, black past the file's own.
struct Palette {
  uint8_t rgb[256][3] = {};
};

Palette read_palette_colours(const Bytes& b, const BmpHeader& h) {
  Palette p;
  for (int i = 0; i < h.palette_entries; ++i) {
    const uint64_t at = h.palette_offset + uint64_t(i) * h.palette_entry_bytes;
    p.rgb[i][0] = static_cast<uint8_t>(b.u8(at + 2));  // stored blue, green, red
    p.rgb[i][1] = static_cast<uint8_t>(b.u8(at + 1));
    p.rgb[i][2] = static_cast<uint8_t>(b.u8(at));
  }
  return p;
}

// How an RLE stream ended.
enum class RleEnd { kEndCode, kFilled, kRanOut };

// Walks an RLE8 or RLE4 stream. With `out`, writes each pixel that lands inside the image; without,
// only follows the stream (the header probe). The cursor only moves forward and each escape takes
// at least 2 bytes, so the walk costs at most the image's pixels plus the stream's bytes. Runs
// past the row's end are dropped, as the format's definition says.
class RleWalk {
 public:
  RleWalk(const Bytes& b, const BmpHeader& h, const Palette* palette, uint8_t* out)
      : b_(b), h_(h), palette_(palette), out_(out), at_(h.pixel_offset) {}

  RleEnd run() {
    while (y_ < h_.height) {
      if (at_ + 2 > b_.n)
        return y_ == h_.height - 1 && x_ >= h_.width ? RleEnd::kFilled : RleEnd::kRanOut;
      const uint32_t count = b_.u8(at_), value = b_.u8(at_ + 1);
      at_ += 2;
      if (count > 0) {
        encoded(count, value);
      } else if (value == 0) {  // end of line
        x_ = 0, ++y_;
      } else if (value == 1) {
        return RleEnd::kEndCode;
      } else if (value == 2) {  // delta: move right and up (in file order)
        if (at_ + 2 > b_.n) return RleEnd::kRanOut;
        x_ += b_.u8(at_), y_ += b_.u8(at_ + 1);
        at_ += 2;
      } else if (!absolute(value)) {
        return RleEnd::kRanOut;
      }
    }
    return RleEnd::kFilled;
  }

 private:
  // The pixels of this run that fall inside the current row.
  uint32_t visible(uint32_t count) const {
    return x_ >= h_.width ? 0 : static_cast<uint32_t>(std::min<int64_t>(count, h_.width - x_));
  }
  void put(int64_t x, uint32_t index) {
    const int64_t row = h_.top_down ? y_ : h_.height - 1 - y_;
    std::memcpy(out_ + (uint64_t(row) * h_.width + x) * 3, palette_->rgb[index], 3);
  }
  // A run of `count` pixels of one byte: RLE4 alternates its two nibbles.
  void encoded(uint32_t count, uint32_t value) {
    const uint32_t n = out_ ? visible(count) : 0;
    for (uint32_t i = 0; i < n; ++i)
      put(x_ + i, h_.coding == BmpHeader::kRle4 ? (i & 1 ? value & 15 : value >> 4) : value);
    x_ += count;
  }
  // `count` literal pixels, padded to a whole 16-bit word; false when the data ends inside them.
  bool absolute(uint32_t count) {
    const bool rle4 = h_.coding == BmpHeader::kRle4;
    const uint64_t bytes = rle4 ? ceil_div(count, 2) : count;
    if (at_ + bytes > b_.n) return false;
    const uint32_t n = out_ ? visible(count) : 0;
    for (uint32_t i = 0; i < n; ++i) {
      const uint32_t byte = b_.u8(at_ + (rle4 ? i / 2 : i));
      put(x_ + i, rle4 ? (i & 1 ? byte & 15 : byte >> 4) : byte);
    }
    x_ += count;
    at_ += bytes + (bytes & 1);
    return true;
  }

  const Bytes& b_;
  const BmpHeader& h_;
  const Palette* palette_;
  uint8_t* out_;
  uint64_t at_;
  int64_t x_ = 0, y_ = 0;  // y counts rows in file order
};

// Bits of a masked field, scaled to 0..255 (a field of 5 bits: 31 → 255).
struct Field {
  explicit Field(uint32_t mask) : mask_(mask) {
    if (mask == 0) return;
    while (!(mask & 1)) mask >>= 1, ++shift_;
    max_ = mask;
  }
  uint8_t operator()(uint32_t v) const {
    if (max_ == 0) return 0;
    return static_cast<uint8_t>((uint64_t((v & mask_) >> shift_) * 255 + max_ / 2) / max_);
  }
  uint32_t mask_;
  int shift_ = 0;
  uint64_t max_ = 0;
};

// One stored row (already copied, zero-filled past the data's end) into RGB(A) pixels.
void decode_row(const uint8_t* src, const BmpHeader& h, const Palette& pal, const Field* fields,
                uint8_t* dst) {
  const int c = h.channels;
  for (int x = 0; x < h.width; ++x, dst += c) {
    if (h.bpp <= 8) {
      const int bit = x * h.bpp;
      const uint32_t index = (src[bit / 8] >> (8 - h.bpp - bit % 8)) & ((1u << h.bpp) - 1);
      std::memcpy(dst, pal.rgb[index], 3);
      continue;
    }
    if (h.bpp == 24 && h.coding == BmpHeader::kRaw) {
      dst[0] = src[3 * x + 2], dst[1] = src[3 * x + 1], dst[2] = src[3 * x];
      continue;
    }
    const int bytes = h.bpp / 8;
    uint32_t v = 0;
    for (int i = 0; i < bytes; ++i) v |= uint32_t(src[bytes * x + i]) << (8 * i);
    for (int i = 0; i < c; ++i) dst[i] = fields[i](v);
  }
}

// Rows whose alpha is 0 everywhere meant no alpha at all (many writers leave the fourth byte 0).
void opaque_if_alpha_unused(Image* img) {
  const size_t n = size_t(img->width) * img->height;
  uint8_t* p = img->pixels.get();
  for (size_t i = 0; i < n; ++i)
    if (p[4 * i + 3] != 0) return;
  for (size_t i = 0; i < n; ++i) p[4 * i + 3] = 255;
}

void decode_raw(const Bytes& b, const BmpHeader& h, const Palette& pal, uint8_t* out) {
  const Field fields[4] = {Field(h.masks[0]), Field(h.masks[1]), Field(h.masks[2]),
                           Field(h.masks[3])};
  const uint64_t stride = row_stride(h);
  std::vector<uint8_t> row(stride);
  for (int64_t y = 0; y < h.height; ++y) {
    const uint64_t at = h.pixel_offset + uint64_t(y) * stride;
    const uint64_t have = at < b.n ? std::min(stride, b.n - at) : 0;
    std::fill(row.begin(), row.end(), 0);  // missing data reads as 0
    if (have) std::memcpy(row.data(), b.p + at, have);
    const int64_t dst_row = h.top_down ? y : h.height - 1 - y;
    decode_row(row.data(), h, pal, fields, out + uint64_t(dst_row) * h.width * h.channels);
  }
}

bool is_rle(const BmpHeader& h) {
  return h.coding == BmpHeader::kRle8 || h.coding == BmpHeader::kRle4;
}

// Fills the header's sizes and bounds once its fields are read.
void finish_header(BmpHeader* h) {
  h->peak_bytes = uint64_t(h->width) * h->height * h->channels;
  if (is_rle(*h))
    h->min_bytes = h->pixel_offset + 2;
  else if (h->height > 0)  // sides below 2^31 and a stride below 2^34 could wrap: saturated
    h->min_bytes =
        row_stride(*h) > 0 && uint64_t(h->height - 1) > (UINT64_MAX >> 2) / row_stride(*h)
            ? UINT64_MAX
            : h->pixel_offset + (h->height - 1) * row_stride(*h) + row_bytes(*h);
}

// The headers' fields, without walking an RLE stream.
bool read_fields(const std::vector<uint8_t>& data, BmpHeader* out, std::string* why) {
  const Bytes b{data.data(), data.size()};
  *out = BmpHeader();
  BmpHeader& h = *out;
  const uint32_t header_size = b.u32(14);
  if (b.u8(0) != 'B' || b.u8(1) != 'M' || !known_header(header_size)) {
    *why = "BMP info header of " + std::to_string(header_size) + " bytes is not supported";
    return false;
  }
  if (kFileHeaderBytes + header_size > data.size()) {
    *why = "BMP header is cut off";
    return false;
  }
  int64_t width = 0, height = 0;
  uint32_t compression = 0, colors = 0;
  if (header_size == 12) {  // OS/2 1.x: 16-bit unsigned sides, 3-byte palette entries
    width = b.u16(18), height = b.u16(20), h.bpp = static_cast<int>(b.u16(24));
    h.palette_entry_bytes = 3;
  } else {
    width = int32_t(b.u32(18)), height = int32_t(b.u32(22)), h.bpp = static_cast<int>(b.u16(28));
    if (header_size >= 20) compression = b.u32(30);
    if (header_size >= 36) colors = b.u32(46);
  }
  h.top_down = height < 0;
  h.width = static_cast<int>(std::clamp<int64_t>(width, 0, INT32_MAX));
  h.height = static_cast<int>(std::min<int64_t>(height < 0 ? -height : height, INT32_MAX));
  if (!read_coding(compression, header_size, &h, why)) return false;
  const uint64_t header_end = read_masks(b, header_size, compression, &h);
  h.channels = h.masks[3] ? 4 : 3;
  h.pixel_offset = b.u32(10);
  if (h.pixel_offset < header_end) {
    *why = "BMP pixel data offset " + std::to_string(h.pixel_offset) + " lies inside its header";
    return false;
  }
  read_palette(colors, header_end, data.size(), &h);
  finish_header(&h);
  return true;
}

}  // namespace

bool bmp_header(const std::vector<uint8_t>& data, BmpHeader* out, std::string* why) {
  if (!read_fields(data, out, why)) return false;
  if (is_rle(*out) && out->width > 0 && out->height > 0)
    out->truncated =
        RleWalk({data.data(), data.size()}, *out, nullptr, nullptr).run() == RleEnd::kRanOut;
  return true;
}

bool bmp_decode(const std::vector<uint8_t>& data, Image* out, std::string* why) {
  BmpHeader h;
  if (!read_fields(data, &h, why)) return false;
  const Bytes b{data.data(), data.size()};
  const Palette palette = read_palette_colours(b, h);
  PixelBuffer pixels(static_cast<uint8_t*>(std::calloc(h.peak_bytes ? h.peak_bytes : 1, 1)));
  if (!pixels) {
    *why = "out of memory";
    return false;
  }
  if (is_rle(h)) {
    // Pixels the stream skips (deltas, early ends of line and bitmap) show palette entry 0.
    for (uint64_t i = 0; i < h.peak_bytes; i += 3) std::memcpy(&pixels[i], palette.rgb[0], 3);
    RleWalk(b, h, &palette, pixels.get()).run();
  } else {
    decode_raw(b, h, palette, pixels.get());
  }
  out->pixels = std::move(pixels);
  out->width = h.width, out->height = h.height, out->channels = h.channels;
  // Only raw 32-bit pixels: bit fields that name an alpha channel mean it, even all 0 (Pillow and
  // libvips show such a file transparent).
  if (h.channels == 4 && h.coding == BmpHeader::kRaw) opaque_if_alpha_unused(out);
  return true;
}

}  // namespace imgpipe

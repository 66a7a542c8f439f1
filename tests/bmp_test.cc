// Tests for image/bmp.cc: RLE8 and RLE4 with deltas and end-of-line escapes, palette indices past
// the palette, OS/2 headers, palettes before 24-bit pixels, bit fields, top-down rows, truncated
// streams and oversized headers (through decode(), as the pipeline meets them).
#include "image/bmp.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "stages/decode.h"

namespace imgpipe {
namespace {

using Bytes = std::vector<uint8_t>;

void put16(Bytes& b, size_t at, uint32_t v) { b[at] = v & 255, b[at + 1] = (v >> 8) & 255; }
void put32(Bytes& b, size_t at, uint32_t v) { put16(b, at, v & 0xFFFF), put16(b, at + 2, v >> 16); }
// Indexing rather than vector::insert, which GCC 12 wrongly warns about (-Warray-bounds).
void append(Bytes& b, const Bytes& more) {
  const size_t n = b.size();
  b.resize(n + more.size());
  for (size_t i = 0; i < more.size(); ++i) b[n + i] = more[i];
}

// A BMP with a 40-byte header (or `header_size` for OS/2 2.x), `palette` entries of BGRX (entry i
// is {i*10, i*20, i*30} as RGB), `gap` bytes before the pixels, then `pixels` as given.
Bytes make_bmp(int w, int h, int bpp, int compression, int palette, const Bytes& pixels,
               int gap = 0, uint32_t header_size = 40) {
  Bytes b(14 + header_size + 4 * palette + gap, 0);
  b[0] = 'B', b[1] = 'M';
  put32(b, 10, static_cast<uint32_t>(b.size()));
  put32(b, 14, header_size);
  put32(b, 18, static_cast<uint32_t>(w)), put32(b, 22, static_cast<uint32_t>(h));
  put16(b, 26, 1), put16(b, 28, static_cast<uint32_t>(bpp));
  put32(b, 30, static_cast<uint32_t>(compression));
  put32(b, 46, static_cast<uint32_t>(palette));
  for (int i = 0; i < palette; ++i) {
    const size_t at = 14 + header_size + 4 * i;
    b[at] = static_cast<uint8_t>(i * 30), b[at + 1] = static_cast<uint8_t>(i * 20);
    b[at + 2] = static_cast<uint8_t>(i * 10);
  }
  append(b, pixels);
  put32(b, 2, static_cast<uint32_t>(b.size()));
  return b;
}

Image decoded(const Bytes& bmp) {
  Image img;
  std::string why;
  EXPECT_TRUE(bmp_decode(bmp, &img, &why)) << why;
  return img;
}

// Palette index of the pixel at (x, y) from the top, from its red (entry i has red i*10); -1 for
// black from no entry.
int index_at(const Image& img, int x, int y) {
  const uint8_t* p = &img.pixels[(size_t(y) * img.width + x) * img.channels];
  return p[0] / 10;
}

TEST(Bmp, Rle8RunsAbsoluteDeltaAndEndOfLine) {
  // Bottom-up, 7x3. Row 0 (bottom): run of 3 × 1, absolute 2,3,4 (padded to a word), end of
  // line. Row 1: delta right 4 and up 1 (skipped pixels show entry 0). Row 2 from x 4: run of
  // 5 × 5, clipped at the row's end. End of bitmap.
  const Bytes rle = {3, 1, 0, 3, 2, 3, 4, 0, 0, 0, 0, 2, 4, 1, 5, 5, 0, 1};
  const Image img = decoded(make_bmp(7, 3, 8, 1, 6, rle));
  ASSERT_EQ(img.width, 7);
  ASSERT_EQ(img.channels, 3);
  const int want[3][7] = {{0, 0, 0, 0, 5, 5, 5}, {0, 0, 0, 0, 0, 0, 0}, {1, 1, 1, 2, 3, 4, 0}};
  for (int y = 0; y < 3; ++y)
    for (int x = 0; x < 7; ++x) EXPECT_EQ(index_at(img, x, y), want[y][x]) << x << "," << y;
}

TEST(Bmp, Rle4AlternatesNibbles) {
  // 5x1: run of 5 alternating 1 and 2, end of bitmap; then a second image with absolute 3 pixels.
  const Image run = decoded(make_bmp(5, 1, 4, 2, 4, {5, 0x12, 0, 1}));
  const int want[5] = {1, 2, 1, 2, 1};
  for (int x = 0; x < 5; ++x) EXPECT_EQ(index_at(run, x, 0), want[x]);
  const Image literal = decoded(make_bmp(4, 1, 4, 2, 4, {0, 3, 0x31, 0x20, 0, 1}));
  const int want2[4] = {3, 1, 2, 0};
  for (int x = 0; x < 4; ++x) EXPECT_EQ(index_at(literal, x, 0), want2[x]);
}

TEST(Bmp, IndexPastThePaletteIsBlack) {
  // 8-bit raw, 4x1, 3 palette entries; pixel 2 names entry 200.
  const Image img = decoded(make_bmp(4, 1, 8, 0, 3, {1, 2, 200, 0}));
  const uint8_t* p = &img.pixels[2 * 3];
  EXPECT_EQ(p[0] + p[1] + p[2], 0);
  EXPECT_EQ(index_at(img, 1, 0), 2);
}

TEST(Bmp, TruncatedRleStreamIsTruncated) {
  // 4x4, one row then the stream stops without an end-of-bitmap.
  const Bytes bmp = make_bmp(4, 4, 8, 1, 2, {4, 1, 0, 0});
  BmpHeader h;
  std::string why;
  ASSERT_TRUE(bmp_header(bmp, &h, &why)) << why;
  EXPECT_TRUE(h.truncated);
  Item item;
  item.body = bmp;
  ImageOptions o;
  decode(item, o);
  EXPECT_EQ(item.status, Status::kTruncated) << item.error;
  Item accepted;
  accepted.body = bmp;
  o.fail_on = FailOn::kNone;
  decode(accepted, o);
  EXPECT_TRUE(accepted.ok()) << accepted.error;
  // An absolute run cut off inside its bytes is truncated too; a complete stream is not.
  ASSERT_TRUE(bmp_header(make_bmp(4, 4, 8, 1, 2, {0, 4, 1, 1}), &h, &why));
  EXPECT_TRUE(h.truncated);
  ASSERT_TRUE(bmp_header(make_bmp(4, 4, 8, 1, 2, {4, 1, 0, 1}), &h, &why));
  EXPECT_FALSE(h.truncated);
}

TEST(Bmp, HugeHeaderIsRefusedBeforeAllocating) {
  // 100000x100000 of 24-bit pixels claimed by 54 bytes: 30 GB if anything believed it.
  const Bytes bmp = make_bmp(100000, 100000, 24, 0, 0, {});
  BmpHeader h;
  std::string why;
  ASSERT_TRUE(bmp_header(bmp, &h, &why)) << why;
  EXPECT_EQ(h.width, 100000);
  EXPECT_EQ(h.peak_bytes, 30'000'000'000u);
  Item item;
  item.body = bmp;
  decode(item, ImageOptions());
  EXPECT_EQ(item.status, Status::kTooLarge) << item.error;
  // Under --max-pixels, the data's absence is found from the header alone.
  Item small;
  small.body = make_bmp(9000, 9000, 24, 0, 0, {});
  decode(small, ImageOptions());
  EXPECT_EQ(small.status, Status::kTruncated) << small.error;
}

TEST(Bmp, TopDownRowsComeFirst) {
  // 2x2 8-bit, height -2: the first stored row is the top one. Rows are padded to 4 bytes.
  const Image img = decoded(make_bmp(2, -2, 8, 0, 4, {1, 2, 0, 0, 3, 0, 0, 0}));
  EXPECT_EQ(index_at(img, 0, 0), 1);
  EXPECT_EQ(index_at(img, 1, 0), 2);
  EXPECT_EQ(index_at(img, 0, 1), 3);
  // The same bottom-up: the first stored row is the bottom one.
  const Image up = decoded(make_bmp(2, 2, 8, 0, 4, {1, 2, 0, 0, 3, 0, 0, 0}));
  EXPECT_EQ(index_at(up, 0, 1), 1);
  EXPECT_EQ(index_at(up, 0, 0), 3);
}

TEST(Bmp, Os2TwoHeaderAndPaletteBeforeTwentyFourBitPixels) {
  // OS/2 2.x: a 64-byte header whose first 40 bytes are Windows 3's.
  const Image os2 = decoded(make_bmp(2, 1, 8, 0, 4, {3, 1, 0, 0}, 0, 64));
  EXPECT_EQ(index_at(os2, 0, 0), 3);
  // 24-bit pixels after a 16-entry palette and 10 more bytes: only the offset says where.
  const Image rgb = decoded(make_bmp(1, 1, 24, 0, 16, {10, 20, 30, 0}, 10));
  EXPECT_EQ(rgb.pixels[0], 30);
  EXPECT_EQ(rgb.pixels[1], 20);
  EXPECT_EQ(rgb.pixels[2], 10);
}

TEST(Bmp, Os2OneHeaderHasThreeBytePalettes) {
  // 12-byte header: 16-bit sides, then planes and depth; palette entries are BGR.
  Bytes b(14 + 12 + 2 * 3, 0);
  b[0] = 'B', b[1] = 'M';
  put32(b, 10, static_cast<uint32_t>(b.size()));
  put32(b, 14, 12);
  put16(b, 18, 2), put16(b, 20, 1), put16(b, 22, 1), put16(b, 24, 8);
  b[26 + 3] = 7, b[26 + 4] = 8, b[26 + 5] = 9;  // entry 1: blue 7, green 8, red 9
  append(b, {1, 5, 0, 0});                      // entry 5 is past the 2 entries: black
  const Image img = decoded(b);
  EXPECT_EQ(img.pixels[0], 9);
  EXPECT_EQ(img.pixels[2], 7);
  EXPECT_EQ(img.pixels[3] + img.pixels[4] + img.pixels[5], 0);
}

TEST(Bmp, SixteenBitFieldsScaleToEightBits) {
  // 5-6-5 bit fields after a 40-byte header: white, then pure green.
  Bytes px = {0xFF, 0xFF, 0xE0, 0x07};
  Bytes b = make_bmp(2, 1, 16, 3, 0, {});
  b.resize(b.size() + 12);
  put32(b, 54, 0xF800), put32(b, 58, 0x07E0), put32(b, 62, 0x001F);
  put32(b, 10, static_cast<uint32_t>(b.size()));
  append(b, px);
  const Image img = decoded(b);
  ASSERT_EQ(img.channels, 3);
  EXPECT_EQ(img.pixels[0], 255);
  EXPECT_EQ(img.pixels[2], 255);
  EXPECT_EQ(img.pixels[3], 0);
  EXPECT_EQ(img.pixels[4], 255);
}

TEST(Bmp, OffsetInsideTheHeaderIsRefused) {
  Bytes b = make_bmp(1, 1, 24, 0, 0, {1, 2, 3, 0});
  put32(b, 10, 20);
  BmpHeader h;
  std::string why;
  EXPECT_FALSE(bmp_header(b, &h, &why));
  EXPECT_NE(why.find("inside its header"), std::string::npos) << why;
}

}  // namespace
}  // namespace imgpipe

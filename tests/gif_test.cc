// Tests for image/gif.cc: files stb_image refused (no colour table; a full code table used without
// a clear code), interlaced rows, the transparent index, and the LZW code sizes giflib refuses
// (which decode() hands to stb). Inputs are written here with a literal-only LZW encoder.
#include "image/gif.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "image/stb.h"
#include "stages/decode.h"

namespace imgpipe {
namespace {

using Bytes = std::vector<uint8_t>;

// push_back rather than vector::insert, which GCC 12 wrongly warns about (-Warray-bounds).
void append(Bytes& b, const Bytes& more) {
  for (uint8_t c : more) b.push_back(c);
}

// LZW codes, least significant bit first, in sub-blocks of up to 255 bytes. Only literal codes,
// each one pixel; the code width grows as a decoder's table does (giflib's and stb's rule), and
// stays at 12 bits once the table is full (a "deferred clear").
Bytes lzw(int min_size, const Bytes& indices) {
  const int clear = 1 << min_size;
  Bytes packed;
  uint32_t acc = 0;
  int have = 0, bits = min_size + 1, running = clear + 2, max1 = 1 << bits;
  auto put = [&](int code) {
    acc |= uint32_t(code) << have, have += bits;
    for (; have >= 8; have -= 8, acc >>= 8) packed.push_back(acc & 255);
  };
  auto grow = [&] {
    if (running < 4097 && ++running > max1 && bits < 12) max1 <<= 1, ++bits;
  };
  put(clear);
  for (uint8_t i : indices) put(i), grow();
  put(clear + 1);
  if (have > 0) packed.push_back(acc & 255);
  Bytes out = {static_cast<uint8_t>(min_size)};
  for (size_t at = 0; at < packed.size(); at += 255) {
    const size_t n = std::min<size_t>(255, packed.size() - at);
    out.push_back(static_cast<uint8_t>(n));
    for (size_t i = 0; i < n; ++i) out.push_back(packed[at + i]);
  }
  out.push_back(0);
  return out;
}

// A GIF89a of one w×h frame at (0,0). `palette`: global table entries (entry i is
// {i*30, i*20, i*10}), 0 for none. `transparent`: the Graphic Control's index, -1 for none.
Bytes make_gif(int w, int h, int palette, const Bytes& indices, int min_size = 2,
               bool interlaced = false, int transparent = -1) {
  int bits = 0;
  while ((2 << bits) < palette) ++bits;
  Bytes b = {'G',
             'I',
             'F',
             '8',
             '9',
             'a',
             uint8_t(w),
             uint8_t(w >> 8),
             uint8_t(h),
             uint8_t(h >> 8),
             uint8_t(palette ? 0x80 | bits : 0),
             0,
             0};
  for (int i = 0; palette && i < (2 << bits); ++i)
    append(b, {uint8_t(i * 30), uint8_t(i * 20), uint8_t(i * 10)});
  if (transparent >= 0) append(b, {0x21, 0xF9, 4, 1, 0, 0, uint8_t(transparent), 0});
  append(b, {0x2C, 0, 0, 0, 0, uint8_t(w), uint8_t(w >> 8), uint8_t(h), uint8_t(h >> 8),
             uint8_t(interlaced ? 0x40 : 0)});
  append(b, lzw(min_size, indices));
  b.push_back(0x3B);
  return b;
}

Item decoded(const Bytes& gif) {
  Item item;
  item.body = gif;
  ImageOptions o;
  o.sizes = {{8192, 8192}};
  decode(item, o);
  return item;
}

const uint8_t* at(const Item& item, int x, int y) {
  return &item.image.pixels[(size_t(y) * item.image.width + x) * item.image.channels];
}

// What stb_image 2.27 said of a file, or "" if it decoded it.
std::string stb_refusal(const Bytes& gif) {
  Image image;
  std::string why;
  return stb_decode(gif, &image, &why) ? "" : why;
}

TEST(Gif, NoColourTableReadsIndicesAsGray) {
  EXPECT_EQ(stb_refusal(make_gif(4, 1, 0, {0, 1, 2, 3})), "missing color table");
  const Item item = decoded(make_gif(4, 1, 0, {0, 1, 2, 3}));
  ASSERT_TRUE(item.ok()) << item.error;
  ASSERT_EQ(item.image.channels, 4);
  EXPECT_EQ(at(item, 3, 0)[0], 3);
  EXPECT_EQ(at(item, 3, 0)[3], 255);
}

TEST(Gif, FullCodeTableWithoutClearDecodes) {
  // 100x100 literal codes: the table fills at 4096 entries and the codes go on at 12 bits. stb
  // counted on past its 8192 slots and refused the file ("too many codes").
  Bytes indices(100 * 100);
  for (size_t i = 0; i < indices.size(); ++i) indices[i] = (i / 7) % 4;
  EXPECT_EQ(stb_refusal(make_gif(100, 100, 4, indices)), "too many codes");
  const Item item = decoded(make_gif(100, 100, 4, indices));
  ASSERT_TRUE(item.ok()) << item.error;
  for (int i : {0, 5000, 9999}) EXPECT_EQ(at(item, i % 100, i / 100)[0], indices[i] * 30) << i;
}

TEST(Gif, InterlacedRowsLandInPlace) {
  // Rows arrive as 0, 4, 2, 6, 1, 3, 5, 7; row y holds index y.
  const Item item = decoded(make_gif(1, 8, 8, {0, 4, 2, 6, 1, 3, 5, 7}, 3, true));
  ASSERT_TRUE(item.ok()) << item.error;
  for (int y = 0; y < 8; ++y) EXPECT_EQ(at(item, 0, y)[0], y * 30) << y;
}

TEST(Gif, TransparentIndexStaysTransparent) {
  const Item item = decoded(make_gif(3, 1, 4, {1, 2, 1}, 2, false, 2));
  ASSERT_TRUE(item.ok()) << item.error;
  EXPECT_EQ(at(item, 0, 0)[3], 255);
  EXPECT_EQ(at(item, 1, 0)[3], 0);
}

TEST(Gif, WideLzwCodeSizeFallsBackToStb) {
  // Code size 11 (the format allows up to 12): giflib refuses it, stb (and Pillow, libvips) read
  // it.
  Image image;
  std::string why;
  const Bytes gif = make_gif(4, 1, 4, {0, 1, 2, 3}, 11);
  EXPECT_FALSE(gif_decode(gif, &image, &why));
  const Item item = decoded(gif);
  ASSERT_TRUE(item.ok()) << item.error;
  EXPECT_EQ(at(item, 2, 0)[0], 60);
}

TEST(Gif, FrameCutShortIsTruncated) {
  Bytes gif = make_gif(40, 40, 4, Bytes(1600, 1));
  gif.resize(gif.size() / 2);
  const Item item = decoded(gif);
  EXPECT_EQ(item.status, Status::kTruncated) << item.error;
}

}  // namespace
}  // namespace imgpipe

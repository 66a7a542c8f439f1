// Tests for PNG decoding: the whole-image path (lodepng + libdeflate) and the row path (libspng)
// give the same pixels for every PNG layout, shrinking while decoding equals shrinking after,
// and broken or oversized data fails cleanly on both.
#include "image/png.h"

#include <gtest/gtest.h>
#include <lodepng.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>

#include "fixtures/images.h"
#include "fixtures/kinds.h"
#include "image/box.h"

namespace imgpipe {
namespace {

using Bytes = std::vector<unsigned char>;

struct Layout {
  const char* name;
  Bytes png;
  int channels;
};

// Odd sizes give partial blocks at the right and bottom edges when shrinking.
std::vector<Layout> layouts() {
  return {
      {"rgb", fixtures::make_png(301, 203), 3},
      {"rgba", fixtures::make_png(301, 203, 4), 4},
      {"gray", fixtures::make_png(301, 203, 1), 1},
      {"gray+alpha", fixtures::make_png(301, 203, 2), 4},
      {"gray 1-bit", fixtures::make_gray_png(301, 203, 1), 1},
      {"gray 2-bit", fixtures::make_gray_png(301, 203, 2), 1},
      {"gray 4-bit", fixtures::make_gray_png(301, 203, 4), 1},
      {"gray 16-bit", fixtures::make_gray_png(301, 203, 16), 3},
      {"rgb 16-bit", fixtures::make_png16(301, 203), 3},
      {"palette+tRNS", fixtures::make_palette_png_with_trns(301, 203), 4},
      {"rgb+tRNS key", fixtures::make_rgb_png_with_trns_key(301, 203), 4},
      {"interlaced", fixtures::make_interlaced_png(301, 203), 3},
  };
}

Image decoded(const Bytes& png, int shrink, PngPath path) {
  Image image;
  std::string why;
  EXPECT_TRUE(png_decode(png, shrink, &image, &why, path)) << why;
  return image;
}

void expect_same(const Image& a, const Image& b, const std::string& what) {
  ASSERT_EQ(a.width, b.width) << what;
  ASSERT_EQ(a.height, b.height) << what;
  ASSERT_EQ(a.channels, b.channels) << what;
  ASSERT_TRUE(a.pixels && b.pixels) << what;
  EXPECT_EQ(0, std::memcmp(a.pixels.get(), b.pixels.get(), a.bytes())) << what;
}

// A 1-bit gray PNG keyed 255 (as pillow/1_trns.png is): libpng compares the key's low bit, so
// Pillow and libvips show white transparent; lodepng matched nothing and showed it opaque.
TEST(Png, OneBitGrayKeyAboveTheDepthMatchesItsLowBits) {
  LodePNGState state;
  lodepng_state_init(&state);
  state.info_raw.colortype = state.info_png.color.colortype = LCT_GREY;
  state.info_raw.bitdepth = state.info_png.color.bitdepth = 1;
  state.info_png.color.key_defined = 1;
  state.info_png.color.key_r = state.info_png.color.key_g = state.info_png.color.key_b = 255;
  state.encoder.auto_convert = 0;
  const unsigned char row = 0xA0;  // 1 0 1 0: white, black, white, black
  unsigned char* encoded = nullptr;
  size_t size = 0;
  ASSERT_EQ(lodepng_encode(&encoded, &size, &row, 4, 1, &state), 0u);
  lodepng_state_cleanup(&state);
  const Bytes png(encoded, encoded + size);
  std::free(encoded);
  Image img;
  std::string why;
  ASSERT_TRUE(png_decode(png, 1, &img, &why, PngPath::kWhole)) << why;
  ASSERT_EQ(img.channels, 4);
  const uint8_t alpha[4] = {0, 255, 0, 255};
  for (int x = 0; x < 4; ++x) EXPECT_EQ(img.pixels[4 * x + 3], alpha[x]) << x;
  EXPECT_EQ(img.pixels[4], 0);  // black stays black
}

TEST(Png, WholeAndRowPathsGiveTheSamePixels) {
  for (const auto& [name, png, channels] : layouts()) {
    for (int shrink : {1, 4}) {
      Image whole = decoded(png, shrink, PngPath::kWhole);
      Image rows = decoded(png, shrink, PngPath::kRows);
      EXPECT_EQ(whole.channels, channels) << name;
      expect_same(whole, rows, std::string(name) + ", shrink " + std::to_string(shrink));
    }
  }
}

// With flatten (JPEG output) every layout comes out without alpha on both paths. The whole path
// flattens before its shrink and the row path after, so at shrink 4 they agree up to rounding.
TEST(Png, FlattenDropsAlphaOnBothPaths) {
  for (const auto& [name, png, channels] : layouts()) {
    for (int shrink : {1, 4}) {
      const std::string what = std::string(name) + ", shrink " + std::to_string(shrink);
      Image out[2];
      for (PngPath path : {PngPath::kWhole, PngPath::kRows}) {
        std::string why;
        Image& image = out[path == PngPath::kRows];
        ASSERT_TRUE(png_decode(png, shrink, &image, &why, path, true)) << why;
        EXPECT_EQ(image.channels, channels == 4 ? 3 : channels) << what;
      }
      ASSERT_EQ(out[0].bytes(), out[1].bytes()) << what;
      for (size_t i = 0; i < out[0].bytes(); ++i)
        ASSERT_NEAR(out[0].pixels[i], out[1].pixels[i], shrink == 1 ? 0 : 1) << what;
    }
  }
}

// The row path box-averages rows as libspng emits them; it must equal the full decode averaged
// afterwards.
TEST(Png, ShrinkingWhileDecodingEqualsShrinkingAfterwards) {
  for (const auto& [name, png, channels] : layouts()) {
    Image shrunk = decoded(png, 4, PngPath::kRows);
    Image full = decoded(png, 1, PngPath::kRows);
    ASSERT_EQ(full.width, 301) << name;
    ASSERT_TRUE(box_shrink(full, 4));
    EXPECT_EQ(shrunk.width, 76) << name;  // ceil(301 / 4)
    expect_same(shrunk, full, name);
  }
}

TEST(Png, AutoDecodesWholeAndByRowsAlike) {
  // 2100×2100 RGBA is 17.6 MB of output, over the whole-decode limit: rows. 64×48 is whole.
  for (const Bytes& png : {fixtures::make_png(64, 48, 4), fixtures::make_png(2100, 2100, 4)}) {
    expect_same(decoded(png, 2, PngPath::kAuto), decoded(png, 2, PngPath::kWhole), "auto");
  }
}

TEST(Png, TruncatedOrCorruptDataFailsOnBothPaths) {
  Bytes truncated = fixtures::make_png(301, 203);
  truncated.resize(truncated.size() * 2 / 3);
  Bytes garbled = fixtures::make_png(301, 203);
  for (size_t i = garbled.size() / 2; i < garbled.size() / 2 + 64; ++i) garbled[i] ^= 0x5a;
  for (PngPath path : {PngPath::kWhole, PngPath::kRows}) {
    for (const Bytes& png : {truncated, garbled}) {
      for (int shrink : {1, 4}) {
        Image image;
        std::string why;
        EXPECT_FALSE(png_decode(png, shrink, &image, &why, path));
        EXPECT_NE(why.find("PNG"), std::string::npos) << why;
      }
    }
  }
}

// The same PNG with its image data split into IDAT chunks of `piece` bytes (as libpng writes 8 KB
// ones), each with a correct CRC.
Bytes rechunked(const Bytes& png, size_t piece) {
  Bytes idat;
  const unsigned char* end = png.data() + png.size();
  for (const unsigned char* c = png.data() + 8; c < end; c = lodepng_chunk_next_const(c, end))
    if (lodepng_chunk_type_equals(c, "IDAT"))
      idat.insert(idat.end(), c + 8, c + 8 + lodepng_chunk_length(c));
  unsigned char* out = nullptr;
  size_t size = 0;
  bool written = false;
  for (const unsigned char* c = png.data() + 8; c < end; c = lodepng_chunk_next_const(c, end)) {
    if (!lodepng_chunk_type_equals(c, "IDAT")) {
      lodepng_chunk_append(&out, &size, c);
    } else if (!written) {
      for (size_t at = 0; at < idat.size(); at += piece)
        lodepng_chunk_create(&out, &size, unsigned(std::min(piece, idat.size() - at)), "IDAT",
                             idat.data() + at);
      written = true;
    }
  }
  Bytes result(8 + size);
  std::memcpy(result.data(), png.data(), 8);  // the signature
  std::memcpy(result.data() + 8, out, size);
  std::free(out);
  return result;
}

TEST(Png, ImageDataInManySmallChunksDecodesAlike) {
  for (int channels : {1, 3, 4}) {
    const Bytes png = fixtures::make_png(301, 203, channels);
    const Bytes split = rechunked(png, 97);
    ASSERT_GT(split.size(), png.size() + 12 * 10) << "split into many chunks";
    const std::string what = "channels " + std::to_string(channels);
    expect_same(decoded(split, 1, PngPath::kWhole), decoded(png, 1, PngPath::kWhole), what);
    expect_same(decoded(split, 1, PngPath::kWhole), decoded(split, 1, PngPath::kRows), what);
  }
}

// A chunk whose length points past the end of the file is refused, not read past.
TEST(Png, ChunkLengthPastTheEndFails) {
  Bytes png = rechunked(fixtures::make_png(64, 48, 3), 200);
  const unsigned char* end = png.data() + png.size();
  const unsigned char* c = png.data() + 8;
  while (!lodepng_chunk_type_equals(c, "IDAT")) c = lodepng_chunk_next_const(c, end);
  unsigned char* length = png.data() + (c - png.data());
  length[0] = 0x7f;  // 2 GB
  Image image;
  std::string why;
  EXPECT_FALSE(png_decode(png, 1, &image, &why, PngPath::kWhole));
  EXPECT_NE(why.find("PNG"), std::string::npos) << why;
}

// libdeflate inflates into a buffer sized in advance: metadata chunks (here a 300 KB iCCP
// profile, five times the first guess) must still grow it as needed.
TEST(Png, LargeMetadataChunkStillDecodes) {
  Bytes png = fixtures::make_png_with_iccp(64, 48, 300 << 10);
  expect_same(decoded(png, 1, PngPath::kWhole), decoded(png, 1, PngPath::kRows), "iccp");
}

}  // namespace
}  // namespace imgpipe

// Tests for the box pre-shrink: exact block means on every path (partial blocks filled out with
// edge copies), alpha weighting, separate factors per axis, linear light, bounds.
#include "image/box.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <random>

#include "fixtures/pixels.h"

namespace imgpipe {
namespace {

// The mean of block (ox, oy) of kx × ky pixels, with indices past the right and bottom edges
// clamped to them: the edge copies that fill out a partial block.
uint32_t block_mean(const Image& img, int kx, int ky, int ox, int oy, int c) {
  uint64_t sum = 0;
  for (int y = oy * ky; y < oy * ky + ky; ++y)
    for (int x = ox * kx; x < ox * kx + kx; ++x)
      sum += img.pixels[(size_t(std::min(y, img.height - 1)) * img.width +
                         std::min(x, img.width - 1)) *
                            img.channels +
                        c];
  const uint64_t n = uint64_t(kx) * ky;
  return uint32_t((sum + n / 2) / n);
}

TEST(BoxShrink, AveragesBlocksAndFillsPartialOnesWithEdgeCopies) {
  Image item = solid_image(5, 3, 1, 0);
  for (int i = 0; i < 15; ++i) item.pixels[i] = static_cast<uint8_t>(i * 10);
  ASSERT_TRUE(box_shrink(item, 2));
  ASSERT_EQ(item.width, 3);  // 5 → 2 full blocks + 1 partial
  ASSERT_EQ(item.height, 2);
  EXPECT_EQ(item.pixels[0], (0 + 10 + 50 + 60) / 4);       // rows 0-1, cols 0-1
  EXPECT_EQ(item.pixels[2], (40 + 90 + 1) / 2);            // partial column, copied: same mean
  EXPECT_EQ(item.pixels[3], (100 + 110 + 100 + 110) / 4);  // partial row: row 2 twice
  EXPECT_EQ(item.pixels[5], 140);                          // the lone corner pixel
}

// Edge copies keep the grid uniform: a partial block's mean leans to the edge pixel, as a block
// of the image extended by copies would. Averaging only what the block holds made its value
// belong to a narrower block's centre, which the final filter could not know.
TEST(BoxShrink, PartialBlocksWeighTheEdgePixelAsItsCopies) {
  Image item = solid_image(6, 1, 1, 0);
  const uint8_t row[] = {0, 0, 0, 0, 90, 210};  // a partial block of 2: [90, 210, 210, 210]
  std::memcpy(item.pixels.get(), row, 6);
  ASSERT_TRUE(box_shrink(item, 4, 1));
  ASSERT_EQ(item.width, 2);
  EXPECT_EQ(item.pixels[1], (90 + 210 * 3 + 2) / 4);  // 90 then 210 three times: 180
}

// Opaque bands are summed in 16 bits: they must give the exact rounded block mean up to the
// largest block, including for all-white blocks, the 16-bit sums' worst case.
TEST(BoxShrink, SixteenBitSumsGiveTheExactMean) {
  for (int k : {2, 3, 255, BoxShrinker::kMaxBlock}) {
    const int w = k * 2 + 1, h = k + 1;  // one full block, partial blocks right and below
    Image item = solid_image(w, h, 3, 0);
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x)
        for (int c = 0; c < 3; ++c)
          item.pixels[(size_t(y) * w + x) * 3 + c] =
              c == 0 ? 255 : static_cast<uint8_t>((x * 7 + y * 13 + c) % 256);
    Image original = solid_image(w, h, 3, 0);
    std::memcpy(original.pixels.get(), item.pixels.get(), item.bytes());
    ASSERT_TRUE(box_shrink(item, k));
    ASSERT_EQ(item.width, 3);
    ASSERT_EQ(item.height, 2);
    for (int oy = 0; oy < 2; ++oy)
      for (int ox = 0; ox < 3; ++ox)
        for (int c = 0; c < 3; ++c)
          ASSERT_EQ(item.pixels[(oy * 3 + ox) * 3 + c], block_mean(original, k, k, ox, oy, c))
              << "k " << k << " block " << ox << "," << oy << " channel " << c;
  }
}

// Random opaque images against the exact rounded mean, for factors on both sides of the 16-bit
// fast path's limit (256 pixels a block), square and not, with partial blocks at the right and
// bottom edges and a short last band.
TEST(BoxShrink, OpaqueBlocksGiveTheExactMeanOnEveryPath) {
  std::mt19937 rng(5);
  std::uniform_int_distribution<int> byte(0, 255), side(1, 90);
  const std::pair<int, int> factors[] = {{2, 2},   {3, 3},   {4, 4},   {5, 5}, {7, 7},
                                         {16, 16}, {17, 17}, {31, 31}, {3, 1}, {1, 4},
                                         {5, 2},   {32, 8},  {9, 40}, {20, 3}, {64, 4},
                                         {256, 1}};  // the last three: wide blocks, summed apart
  for (int channels : {1, 3})
    for (auto [kx, ky] : factors) {
      const int w = kx * side(rng) / 3 + side(rng) % kx + 1, h = ky + side(rng) % (2 * ky) + 1;
      SCOPED_TRACE(testing::Message()
                   << w << "x" << h << "x" << channels << " k " << kx << "x" << ky);
      Image item = solid_image(w, h, channels, 0);
      for (size_t i = 0; i < item.bytes(); ++i) item.pixels[i] = uint8_t(byte(rng));
      Image original = solid_image(w, h, channels, 0);
      std::memcpy(original.pixels.get(), item.pixels.get(), item.bytes());
      ASSERT_TRUE(box_shrink(item, kx, ky));
      const int ow = (w + kx - 1) / kx, oh = (h + ky - 1) / ky;
      ASSERT_EQ(item.width, ow);
      ASSERT_EQ(item.height, oh);
      for (int oy = 0; oy < oh; ++oy)
        for (int ox = 0; ox < ow; ++ox)
          for (int c = 0; c < channels; ++c)
            ASSERT_EQ(item.pixels[(size_t(oy) * ow + ox) * channels + c],
                      block_mean(original, kx, ky, ox, oy, c))
                << "block " << ox << "," << oy << " channel " << c;
    }
}

// --linear: 1-px black and white stripes average to the grey with half the light, 188, not 128;
// alpha-weighted colour is premultiplied in light too (half-transparent white over transparent
// black stays white).
TEST(BoxShrink, LinearLightAveragesLight) {
  for (int channels : {1, 3}) {
    Image item = solid_image(9, 6, channels, 0);
    for (int y = 0; y < 6; ++y)
      for (int x = 1; x < 9; x += 2)
        std::memset(&item.pixels[(size_t(y) * 9 + x) * channels], 255, channels);
    ASSERT_TRUE(box_shrink(item, 2, 2, true));
    for (int ox = 0; ox < 4; ++ox) EXPECT_EQ(item.pixels[ox * channels], 188) << ox;
    EXPECT_EQ(item.pixels[4 * channels], 0);  // the partial block: column 8 (black) copied
  }
  Image rgba = solid_image(2, 1, 4, 0);
  std::memset(rgba.pixels.get(), 255, 4);  // opaque white, then transparent black
  ASSERT_TRUE(box_shrink(rgba, 2, 1, true));
  EXPECT_EQ(rgba.pixels[0], 255);
  EXPECT_EQ(rgba.pixels[3], 128);
}

// A white 1200×1200 RGBA image shrunk by 600 (a 2-px thumbnail) once came out grey (68, 68, 68):
// its alpha-weighted block sums wrapped around 32 bits. Blocks are capped at kMaxBlock now.
TEST(BoxShrink, HugeBlocksAreCappedSoSumsCannotOverflow) {
  for (int channels : {3, 4}) {
    Image item = solid_image(1200, 1200, channels, 255);
    ASSERT_TRUE(box_shrink(item, 600));
    EXPECT_EQ(item.width, 5);  // ceil(1200 / 256): the final filter does the rest
    for (size_t i = 0; i < item.bytes(); ++i)
      ASSERT_EQ(item.pixels[i], 255) << channels << " channels, byte " << i;
  }
}

TEST(BoxShrink, AlphaWeightsColour) {
  Image item = solid_image(2, 1, 4, 0);
  uint8_t* p = item.pixels.get();
  p[0] = 255, p[3] = 255;  // opaque red
  p[5] = 255, p[7] = 0;    // fully transparent green
  ASSERT_TRUE(box_shrink(item, 2));
  EXPECT_EQ(item.pixels[0], 255);  // still pure red
  EXPECT_EQ(item.pixels[1], 0);    // no green bleeding in
  EXPECT_EQ(item.pixels[3], 128);  // half covered
}

}  // namespace
}  // namespace imgpipe

// Tests for the box pre-shrink: exact block means on every path, alpha weighting, bounds.
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

TEST(BoxShrink, AveragesBlocksAndKeepsPartialEdges) {
  Image item = solid_image(5, 3, 1, 0);
  for (int i = 0; i < 15; ++i) item.pixels[i] = static_cast<uint8_t>(i * 10);
  ASSERT_TRUE(box_shrink(item, 2));
  ASSERT_EQ(item.width, 3);  // 5 → 2 full blocks + 1 partial
  ASSERT_EQ(item.height, 2);
  EXPECT_EQ(item.pixels[0], (0 + 10 + 50 + 60) / 4);  // rows 0-1, cols 0-1
  EXPECT_EQ(item.pixels[2], (40 + 90 + 1) / 2);       // partial column, rows 0-1
  EXPECT_EQ(item.pixels[5], 140);                     // the lone corner pixel
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
        for (int c = 0; c < 3; ++c) {
          uint64_t sum = 0, n = 0;
          for (int y = oy * k; y < std::min(h, oy * k + k); ++y)
            for (int x = ox * k; x < std::min(w, ox * k + k); ++x, ++n)
              sum += original.pixels[(size_t(y) * w + x) * 3 + c];
          ASSERT_EQ(item.pixels[(oy * 3 + ox) * 3 + c], (sum + n / 2) / n)
              << "k " << k << " block " << ox << "," << oy << " channel " << c;
        }
  }
}

// Random opaque images against the exact rounded mean, for k on both sides of the 16-bit fast
// path's limit (16), with partial blocks at the right and bottom edges and a short last band.
TEST(BoxShrink, OpaqueBlocksGiveTheExactMeanOnEveryPath) {
  std::mt19937 rng(5);
  std::uniform_int_distribution<int> byte(0, 255), side(1, 90);
  for (int channels : {1, 3})
    for (int k : {2, 3, 4, 5, 7, 16, 17, 31}) {
      const int w = k * side(rng) / 3 + side(rng) % k + 1, h = k + side(rng) % (2 * k) + 1;
      SCOPED_TRACE(testing::Message() << w << "x" << h << "x" << channels << " k " << k);
      Image item = solid_image(w, h, channels, 0);
      for (size_t i = 0; i < item.bytes(); ++i) item.pixels[i] = uint8_t(byte(rng));
      Image original = solid_image(w, h, channels, 0);
      std::memcpy(original.pixels.get(), item.pixels.get(), item.bytes());
      ASSERT_TRUE(box_shrink(item, k));
      const int ow = (w + k - 1) / k, oh = (h + k - 1) / k;
      ASSERT_EQ(item.width, ow);
      ASSERT_EQ(item.height, oh);
      for (int oy = 0; oy < oh; ++oy)
        for (int ox = 0; ox < ow; ++ox)
          for (int c = 0; c < channels; ++c) {
            uint32_t sum = 0, n = 0;
            for (int y = oy * k; y < std::min(h, oy * k + k); ++y)
              for (int x = ox * k; x < std::min(w, ox * k + k); ++x, ++n)
                sum += original.pixels[(size_t(y) * w + x) * channels + c];
            ASSERT_EQ(item.pixels[(size_t(oy) * ow + ox) * channels + c], (sum + n / 2) / n)
                << "block " << ox << "," << oy << " channel " << c;
          }
    }
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

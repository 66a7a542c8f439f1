// Tests for resample: stb_image_resize with and without the box pre-shrink.
#include "image/resample.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <random>

#include "fixtures/pixels.h"
#include "image/fit.h"

namespace imgpipe {
namespace {

// stb_image_resize v1 mis-normalises some filter/size pairs (Debian's build asserts on them). A
// solid image must stay solid at every size we might produce; this catches bad coefficients.
TEST(Resize, SolidImageStaysSolidAcrossRandomSizePairs) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> src(2, 700), dst(1, 300);
  for (int i = 0; i < 300; ++i) {
    int sw = src(rng), sh = src(rng);
    Size t = target_size(sw, sh, {dst(rng), dst(rng)}, false);
    Image item = solid_image(sw, sh, 3, 180);
    ASSERT_TRUE(stb_resize(item, t));
    ASSERT_EQ(item.width, t.width);
    ASSERT_EQ(item.height, t.height);
    for (size_t p = 0; p < item.bytes(); ++p)
      ASSERT_NEAR(item.pixels[p], 180, 1)
          << sw << "x" << sh << " -> " << t.width << "x" << t.height;
  }
}

TEST(Resize, SameSizeIsANoOp) {
  Image item = solid_image(10, 10, 4, 9);
  uint8_t* before = item.pixels.get();
  EXPECT_TRUE(stb_resize(item, {10, 10}));
  EXPECT_EQ(item.pixels.get(), before);
}

TEST(Resize, TransparentPixelsDoNotBleedColour) {
  // Left half opaque red, right half fully transparent green: after shrinking, no visible pixel
  // may turn greenish, which is what happens without premultiplied alpha.
  Image item = solid_image(64, 64, 4, 0);
  for (int y = 0; y < 64; ++y)
    for (int x = 0; x < 64; ++x) {
      uint8_t* p = &item.pixels[(y * 64 + x) * 4];
      if (x < 32)
        p[0] = 255, p[3] = 255;
      else
        p[1] = 255, p[3] = 0;
    }
  ASSERT_TRUE(stb_resize(item, {16, 16}));
  for (int i = 0; i < 16 * 16; ++i) {
    const uint8_t* p = &item.pixels[i * 4];
    if (p[3] > 16) {
      EXPECT_LT(p[1], 16) << "pixel " << i;
    }
  }
}

TEST(Resize, PreshrinkAgreesWithFilterAlone) {
  // A smooth gradient must look the same whether or not the box pre-shrink runs first.
  Image a = solid_image(1000, 600, 3, 0);
  for (int y = 0; y < 600; ++y)
    for (int x = 0; x < 1000; ++x)
      for (int c = 0; c < 3; ++c)
        a.pixels[(y * 1000 + x) * 3 + c] = static_cast<uint8_t>((x + y) / 7);
  Image b = solid_image(1000, 600, 3, 0);
  std::memcpy(b.pixels.get(), a.pixels.get(), a.bytes());
  ASSERT_TRUE(stb_resize(a, {100, 60}, true));
  ASSERT_TRUE(stb_resize(b, {100, 60}, false));
  for (size_t i = 0; i < a.bytes(); ++i) ASSERT_NEAR(a.pixels[i], b.pixels[i], 3) << i;
}

}  // namespace
}  // namespace imgpipe

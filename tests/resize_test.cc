// Tests for thumbnail geometry and resampling.
#include "stages/resize.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>

namespace imgpipe {
namespace {

struct Case {
  int sw, sh, bw, bh;
  bool upscale;
  int ew, eh;
};

TEST(TargetSize, Table) {
  const Case cases[] = {
      {1, 1, 256, 256, false, 1, 1},          // 1×1 is never upscaled
      {1, 1, 256, 256, true, 256, 256},       // ... unless asked
      {256, 256, 256, 256, false, 256, 256},  // exact fit
      {512, 256, 256, 256, false, 256, 128},  // landscape
      {256, 512, 256, 256, false, 128, 256},  // portrait
      {10000, 1, 256, 256, false, 256, 1},    // extreme aspect: never a 0-px side
      {1, 10000, 256, 256, false, 1, 256},
      {100000, 3, 256, 256, false, 256, 1},   // 0.0077 px rounds up to 1
      {640, 480, 320, 200, false, 267, 200},  // W×H box, height-limited
      {640, 480, 400, 400, false, 400, 300},
      {200, 100, 256, 256, false, 200, 100},  // smaller than the box: kept
      {200, 100, 256, 256, true, 256, 128},
      {1001, 999, 256, 256, false, 256, 255},  // rounding never exceeds the box
      {999, 1001, 256, 256, false, 255, 256},
      {3, 3, 2, 2, false, 2, 2},
  };
  for (const Case& c : cases) {
    Size t = target_size(c.sw, c.sh, {c.bw, c.bh}, c.upscale);
    EXPECT_EQ(t.width, c.ew) << c.sw << "x" << c.sh << " in " << c.bw << "x" << c.bh;
    EXPECT_EQ(t.height, c.eh) << c.sw << "x" << c.sh << " in " << c.bw << "x" << c.bh;
  }
}

TEST(TargetSize, RandomSizesAlwaysFitAndKeepAspect) {
  std::mt19937 rng(42);
  std::uniform_int_distribution<int> side(1, 20000), box(1, 2000);
  for (int i = 0; i < 20000; ++i) {
    int sw = side(rng), sh = side(rng), bw = box(rng), bh = box(rng);
    Size t = target_size(sw, sh, {bw, bh}, false);
    ASSERT_GE(t.width, 1);
    ASSERT_GE(t.height, 1);
    ASSERT_LE(t.width, std::min(bw, sw));
    ASSERT_LE(t.height, std::min(bh, sh));
    // One side touches the box (or the source, when the source is smaller).
    ASSERT_TRUE(t.width == std::min(bw, sw) || t.height == std::min(bh, sh));
  }
}

TEST(TargetSize, DegenerateSourceGivesZero) {
  Size t = target_size(0, 10, {256, 256}, false);
  EXPECT_EQ(t.width, 0);
  EXPECT_EQ(t.height, 0);
}

Item solid_item(int w, int h, int channels, uint8_t value) {
  Item item;
  size_t n = size_t(w) * h * channels;
  item.image.pixels.reset(static_cast<uint8_t*>(std::malloc(n)));
  std::memset(item.image.pixels.get(), value, n);
  item.image.width = w;
  item.image.height = h;
  item.image.channels = channels;
  return item;
}

// stb_image_resize v1 mis-normalises some filter/size pairs (Debian's build asserts on them). A
// solid image must stay solid at every size we might produce; this catches bad coefficients.
TEST(Resize, SolidImageStaysSolidAcrossRandomSizePairs) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> src(2, 700), dst(1, 300);
  for (int i = 0; i < 300; ++i) {
    int sw = src(rng), sh = src(rng);
    Size t = target_size(sw, sh, {dst(rng), dst(rng)}, false);
    Item item = solid_item(sw, sh, 3, 180);
    resize(item, t);
    ASSERT_TRUE(item.ok()) << item.error;
    ASSERT_EQ(item.image.width, t.width);
    ASSERT_EQ(item.image.height, t.height);
    for (size_t p = 0; p < item.image.bytes(); ++p)
      ASSERT_NEAR(item.image.pixels[p], 180, 1)
          << sw << "x" << sh << " -> " << t.width << "x" << t.height;
  }
}

TEST(Resize, SameSizeIsANoOp) {
  Item item = solid_item(10, 10, 4, 9);
  uint8_t* before = item.image.pixels.get();
  resize(item, {10, 10});
  EXPECT_EQ(item.image.pixels.get(), before);
}

TEST(Resize, TransparentPixelsDoNotBleedColour) {
  // Left half opaque red, right half fully transparent green: after shrinking, no visible pixel
  // may turn greenish, which is what happens without premultiplied alpha.
  Item item = solid_item(64, 64, 4, 0);
  for (int y = 0; y < 64; ++y)
    for (int x = 0; x < 64; ++x) {
      uint8_t* p = &item.image.pixels[(y * 64 + x) * 4];
      if (x < 32)
        p[0] = 255, p[3] = 255;
      else
        p[1] = 255, p[3] = 0;
    }
  resize(item, {16, 16});
  ASSERT_TRUE(item.ok());
  for (int i = 0; i < 16 * 16; ++i) {
    const uint8_t* p = &item.image.pixels[i * 4];
    if (p[3] > 16) {
      EXPECT_LT(p[1], 16) << "pixel " << i;
    }
  }
}

}  // namespace
}  // namespace imgpipe

// Tests for thumbnail geometry and resampling.
#include "stages/resize.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>

#include "stages/fit.h"
#include "stages/orientation.h"

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
    ASSERT_TRUE(resize(item.image, t));
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
  EXPECT_TRUE(resize(item.image, {10, 10}));
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
  ASSERT_TRUE(resize(item.image, {16, 16}));
  ASSERT_TRUE(item.ok());
  for (int i = 0; i < 16 * 16; ++i) {
    const uint8_t* p = &item.image.pixels[i * 4];
    if (p[3] > 16) {
      EXPECT_LT(p[1], 16) << "pixel " << i;
    }
  }
}

TEST(BoxShrink, AveragesBlocksAndKeepsPartialEdges) {
  Item item = solid_item(5, 3, 1, 0);
  for (int i = 0; i < 15; ++i) item.image.pixels[i] = static_cast<uint8_t>(i * 10);
  ASSERT_TRUE(box_shrink(item.image, 2));
  ASSERT_EQ(item.image.width, 3);  // 5 → 2 full blocks + 1 partial
  ASSERT_EQ(item.image.height, 2);
  EXPECT_EQ(item.image.pixels[0], (0 + 10 + 50 + 60) / 4);  // rows 0-1, cols 0-1
  EXPECT_EQ(item.image.pixels[2], (40 + 90 + 1) / 2);       // partial column, rows 0-1
  EXPECT_EQ(item.image.pixels[5], 140);                     // the lone corner pixel
}

// Opaque bands are summed in 16 bits: they must give the exact rounded block mean up to the
// largest block, including for all-white blocks, the 16-bit sums' worst case.
TEST(BoxShrink, SixteenBitSumsGiveTheExactMean) {
  for (int k : {2, 3, 255, BoxShrinker::kMaxBlock}) {
    const int w = k * 2 + 1, h = k + 1;  // one full block, partial blocks right and below
    Item item = solid_item(w, h, 3, 0);
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x)
        for (int c = 0; c < 3; ++c)
          item.image.pixels[(size_t(y) * w + x) * 3 + c] =
              c == 0 ? 255 : static_cast<uint8_t>((x * 7 + y * 13 + c) % 256);
    Item original = solid_item(w, h, 3, 0);
    std::memcpy(original.image.pixels.get(), item.image.pixels.get(), item.image.bytes());
    ASSERT_TRUE(box_shrink(item.image, k));
    ASSERT_EQ(item.image.width, 3);
    ASSERT_EQ(item.image.height, 2);
    for (int oy = 0; oy < 2; ++oy)
      for (int ox = 0; ox < 3; ++ox)
        for (int c = 0; c < 3; ++c) {
          uint64_t sum = 0, n = 0;
          for (int y = oy * k; y < std::min(h, oy * k + k); ++y)
            for (int x = ox * k; x < std::min(w, ox * k + k); ++x, ++n)
              sum += original.image.pixels[(size_t(y) * w + x) * 3 + c];
          ASSERT_EQ(item.image.pixels[(oy * 3 + ox) * 3 + c], (sum + n / 2) / n)
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
      Item item = solid_item(w, h, channels, 0);
      for (size_t i = 0; i < item.image.bytes(); ++i) item.image.pixels[i] = uint8_t(byte(rng));
      Item original = solid_item(w, h, channels, 0);
      std::memcpy(original.image.pixels.get(), item.image.pixels.get(), item.image.bytes());
      ASSERT_TRUE(box_shrink(item.image, k));
      const int ow = (w + k - 1) / k, oh = (h + k - 1) / k;
      ASSERT_EQ(item.image.width, ow);
      ASSERT_EQ(item.image.height, oh);
      for (int oy = 0; oy < oh; ++oy)
        for (int ox = 0; ox < ow; ++ox)
          for (int c = 0; c < channels; ++c) {
            uint32_t sum = 0, n = 0;
            for (int y = oy * k; y < std::min(h, oy * k + k); ++y)
              for (int x = ox * k; x < std::min(w, ox * k + k); ++x, ++n)
                sum += original.image.pixels[(size_t(y) * w + x) * channels + c];
            ASSERT_EQ(item.image.pixels[(size_t(oy) * ow + ox) * channels + c], (sum + n / 2) / n)
                << "block " << ox << "," << oy << " channel " << c;
          }
    }
}

// A white 1200×1200 RGBA image shrunk by 600 (a 2-px thumbnail) once came out grey (68, 68, 68):
// its alpha-weighted block sums wrapped around 32 bits. Blocks are capped at kMaxBlock now.
TEST(BoxShrink, HugeBlocksAreCappedSoSumsCannotOverflow) {
  for (int channels : {3, 4}) {
    Item item = solid_item(1200, 1200, channels, 255);
    ASSERT_TRUE(box_shrink(item.image, 600));
    EXPECT_EQ(item.image.width, 5);  // ceil(1200 / 256): the final filter does the rest
    for (size_t i = 0; i < item.image.bytes(); ++i)
      ASSERT_EQ(item.image.pixels[i], 255) << channels << " channels, byte " << i;
  }
}

TEST(BoxShrink, AlphaWeightsColour) {
  Item item = solid_item(2, 1, 4, 0);
  uint8_t* p = item.image.pixels.get();
  p[0] = 255, p[3] = 255;  // opaque red
  p[5] = 255, p[7] = 0;    // fully transparent green
  ASSERT_TRUE(box_shrink(item.image, 2));
  EXPECT_EQ(item.image.pixels[0], 255);  // still pure red
  EXPECT_EQ(item.image.pixels[1], 0);    // no green bleeding in
  EXPECT_EQ(item.image.pixels[3], 128);  // half covered
}

TEST(Resize, PreshrinkAgreesWithFilterAlone) {
  // A smooth gradient must look the same whether or not the box pre-shrink runs first.
  Item a = solid_item(1000, 600, 3, 0);
  for (int y = 0; y < 600; ++y)
    for (int x = 0; x < 1000; ++x)
      for (int c = 0; c < 3; ++c)
        a.image.pixels[(y * 1000 + x) * 3 + c] = static_cast<uint8_t>((x + y) / 7);
  Item b = solid_item(1, 1, 3, 0);
  b.image.pixels.reset(static_cast<uint8_t*>(std::malloc(a.image.bytes())));
  std::memcpy(b.image.pixels.get(), a.image.pixels.get(), a.image.bytes());
  b.image.width = 1000, b.image.height = 600;
  ASSERT_TRUE(resize(a.image, {100, 60}, true));
  ASSERT_TRUE(resize(b.image, {100, 60}, false));
  ASSERT_TRUE(a.ok() && b.ok());
  for (size_t i = 0; i < a.image.bytes(); ++i)
    ASSERT_NEAR(a.image.pixels[i], b.image.pixels[i], 3) << i;
}

Item gradient(int w, int h, int channels) {
  Item item = solid_item(w, h, channels, 0);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < channels; ++c)
        item.image.pixels[(size_t(y) * w + x) * channels + c] =
            static_cast<uint8_t>((x + y + c * 40) * 255 / (w + h + 80));
  return item;
}

// The two final filters must agree on what a thumbnail looks like; only their speed differs.
TEST(ResizeToBox, LanczosAndStbAgree) {
  for (int channels : {1, 3, 4}) {
    Item a = gradient(900, 700, channels), b = gradient(900, 700, channels);
    for (Item* it : {&a, &b}) it->source_width = 900, it->source_height = 700;
    ImageOptions sw, stb;
    stb.resizer = Resizer::kStb;
    make_thumbnails(a, sw);
    make_thumbnails(b, stb);
    ASSERT_TRUE(a.ok() && b.ok());
    ASSERT_EQ(a.thumbs[0].image.width, 256);
    ASSERT_EQ(b.thumbs[0].image.width, 256);
    ASSERT_EQ(a.thumbs[0].image.height, b.thumbs[0].image.height);
    double total = 0;
    for (size_t i = 0; i < a.thumbs[0].image.bytes(); ++i)
      total += std::abs(a.thumbs[0].image.pixels[i] - b.thumbs[0].image.pixels[i]);
    EXPECT_LT(total / a.thumbs[0].image.bytes(), 1.5) << channels << " channels";
  }
}

TEST(ResizeToBox, AlphaImagesUseThePremultipliedFilter) {
  Item item = solid_item(64, 64, 4, 0);
  for (int i = 0; i < 64 * 64; ++i) {
    uint8_t* p = &item.image.pixels[i * 4];
    if (i % 64 < 32)
      p[0] = 255, p[3] = 255;  // opaque red | transparent green
    else
      p[1] = 255, p[3] = 0;
  }
  item.source_width = item.source_height = 64;
  ImageOptions o;           // the default resizer, Lanczos, filters alpha premultiplied
  o.format = Format::kPng;  // keeps alpha (JPEG output flattens it before resampling)
  o.sizes = {{16, 16}};
  make_thumbnails(item, o);
  ASSERT_TRUE(item.ok());
  ASSERT_EQ(item.thumbs[0].image.channels, 4);
  for (int i = 0; i < 16 * 16; ++i) {
    if (item.thumbs[0].image.pixels[i * 4 + 3] > 16) {
      EXPECT_LT(item.thumbs[0].image.pixels[i * 4 + 1], 16) << i;
    }
  }
}

// For JPEG output the resize stage flattens alpha onto white before resampling; that must give
// what flattening the alpha-weighted thumbnail afterwards gives, for every resizer and codec path.
TEST(ResizeToBox, JpegOutputFlattensFirstAndMatchesFlatteningAfter) {
  // Smooth colour and alpha gradients with noise, and a hard transparent hole; the same each call.
  // Colour is kept free of hard edges: at one, the two orders clamp Lanczos's ringing differently
  // (unpremultiplied colour ≥ 0 after, flattened colour ≥ 0 first), both fine, up to ~15 apart.
  auto source = [](int channels) {
    std::mt19937 rng(11);
    std::uniform_int_distribution<int> noise(-20, 20);
    Item item = solid_item(300, 200, channels, 0);
    for (int y = 0; y < 200; ++y)
      for (int x = 0; x < 300; ++x) {
        uint8_t* p = &item.image.pixels[(y * 300 + x) * channels];
        for (int ch = 0; ch < channels - 1; ++ch)
          p[ch] = uint8_t(std::clamp(x * 255 / 299 - ch * 60 + noise(rng), 0, 255));
        const bool hole = x > 100 && x < 140 && y > 50 && y < 90;
        p[channels - 1] = hole ? 0 : uint8_t(std::clamp(y + noise(rng), 0, 255));
      }
    item.source_width = 300;
    item.source_height = 200;
    return item;
  };
  for (int channels : {2, 4})
    for (Resizer resizer : {Resizer::kLanczos, Resizer::kStb})
      for (Codec codec : {Codec::kFast, Codec::kStb}) {
        SCOPED_TRACE(testing::Message() << channels << " channels, resizer " << int(resizer)
                                        << ", codec " << int(codec));
        ImageOptions o;
        o.sizes = {{64, 64}};
        o.resizer = resizer;
        o.codec = codec;
        Item first = source(channels), after = source(channels);
        o.format = Format::kJpeg;
        make_thumbnails(first, o);
        o.format = Format::kPng;  // alpha kept: the old order, flattened afterwards
        make_thumbnails(after, o);
        ASSERT_TRUE(first.ok() && after.ok());
        Image& a = first.thumbs[0].image;
        Image& b = after.thumbs[0].image;
        flatten_alpha(b);
        ASSERT_EQ(a.channels, channels - 1);
        ASSERT_EQ(b.channels, channels - 1);
        ASSERT_EQ(a.bytes(), b.bytes());
        int worst = 0;
        for (size_t i = 0; i < a.bytes(); ++i)
          worst = std::max(worst, std::abs(int(a.pixels[i]) - int(b.pixels[i])));
        EXPECT_LE(worst, 2);  // rounding: measured 1 (gray) and 2 (colour)
      }
}

TEST(ShrinkOnLoad, JpegDenominatorKeepsTwiceTheTarget) {
  EXPECT_EQ(jpeg_shrink_denominator(4000, 3000, {256, 192}), 4);  // 1000x750 >= 512x384
  EXPECT_EQ(jpeg_shrink_denominator(4096, 3072, {256, 192}), 8);  // 512x384 exactly
  EXPECT_EQ(jpeg_shrink_denominator(2000, 1500, {256, 192}), 2);
  EXPECT_EQ(jpeg_shrink_denominator(600, 400, {256, 171}), 1);
  EXPECT_EQ(jpeg_shrink_denominator(100, 100, {100, 100}), 1);
  EXPECT_EQ(jpeg_shrink_denominator(10000, 10, {256, 1}), 8);  // thin strips shrink too
}

TEST(ShrinkOnLoad, WebpScaledSize) {
  EXPECT_EQ(webp_scaled_size(1600, 1200, {200, 150}).width, 400);
  EXPECT_EQ(webp_scaled_size(1600, 1200, {200, 150}).height, 300);
  EXPECT_EQ(webp_scaled_size(300, 200, {200, 133}).width, 0);  // not worth it: decode in full
}

// Orientation 6 (stored turned 90° anticlockwise): the dark left half of the stored pixels must
// end up on top of the upright thumbnail, and the thumbnail must be portrait.
TEST(ResizeToBox, AppliesExifOrientationAfterResizing) {
  Item item = solid_item(64, 32, 1, 0);
  for (int y = 0; y < 32; ++y)
    for (int x = 32; x < 64; ++x) item.image.pixels[y * 64 + x] = 255;  // right half light
  item.orientation = 6;
  item.source_width = 32;  // as displayed
  item.source_height = 64;
  ImageOptions o;
  o.sizes = {{16, 16}};
  make_thumbnails(item, o);
  ASSERT_TRUE(item.ok());
  EXPECT_EQ(item.thumbs[0].image.width, 8);
  EXPECT_EQ(item.thumbs[0].image.height, 16);
  EXPECT_LT(item.thumbs[0].image.pixels[1 * 8 + 4], 40);    // top: dark
  EXPECT_GT(item.thumbs[0].image.pixels[14 * 8 + 4], 215);  // bottom: light
}

TEST(ApplyOrientation, AllEightMapCornersCorrectly) {
  // A 3×2 image with distinct values: where does the stored top-left pixel (value 1) land?
  // EXIF: for 5..8 the stored 0th row becomes the visual left (5, 8) or right (6, 7) side, and the
  // stored 0th column the visual top (5, 6) or bottom (7, 8).
  const int expected_corner[9] = {0, 0, 2, 5, 3, 0, 1, 5, 4};  // index into the upright image
  for (int o = 1; o <= 8; ++o) {
    Item item = solid_item(3, 2, 1, 0);
    for (int i = 0; i < 6; ++i) item.image.pixels[i] = static_cast<uint8_t>(i + 1);
    apply_orientation(item.image, o);
    EXPECT_EQ(item.image.width, swaps_axes(o) ? 2 : 3) << o;
    EXPECT_EQ(item.image.pixels[expected_corner[o]], 1) << "orientation " << o;
  }
}

// Cover crops the upright source before scaling: the kept centre must be what survives, in the
// right place, whatever the orientation.
TEST(MakeThumbnails, CoverKeepsTheCentreOfTheUprightImage) {
  // Stored 40×120, orientation 6 (shown turned a quarter): upright 120×40. Upright, the middle
  // third (x 40..80) is white and the rest black; cover into 20×20 keeps just that third.
  Item item = solid_item(40, 120, 1, 0);
  for (int y = 40; y < 80; ++y)
    for (int x = 0; x < 40; ++x) item.image.pixels[y * 40 + x] = 255;
  item.orientation = 6;
  item.source_width = 120;
  item.source_height = 40;
  ImageOptions o;
  o.sizes = {{20, 20}};
  o.fit = Fit::kCover;
  make_thumbnails(item, o);
  ASSERT_TRUE(item.ok()) << item.error;
  const Image& t = item.thumbs[0].image;
  ASSERT_EQ(t.width, 20);
  ASSERT_EQ(t.height, 20);
  EXPECT_GT(t.pixels[10 * 20 + 10], 215);  // centre: white
  EXPECT_GT(t.pixels[10 * 20 + 2], 150);   // near the edges still inside the kept third
  EXPECT_GT(t.pixels[10 * 20 + 17], 150);
}

// A thin strip with cover and upscale stays cheap: no giant intermediate image.
TEST(MakeThumbnails, CoverUpscaleOfAThinStripIsJustTheBox) {
  Item item = solid_item(1, 4000, 3, 77);
  item.source_width = 1;
  item.source_height = 4000;
  ImageOptions o;
  o.sizes = {{64, 64}};
  o.fit = Fit::kCover;
  o.upscale = true;
  make_thumbnails(item, o);
  ASSERT_TRUE(item.ok()) << item.error;
  EXPECT_EQ(item.thumbs[0].width, 64);
  EXPECT_EQ(item.thumbs[0].height, 64);
  EXPECT_NEAR(item.thumbs[0].image.pixels[0], 77, 1);
}

}  // namespace
}  // namespace imgpipe

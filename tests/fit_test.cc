// Tests for the thumbnail fit modes: placement geometry, colour parsing, crop and pad.
#include "image/fit.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

namespace imgpipe {
namespace {

const char* fit_name(Fit fit) {
  switch (fit) {
    case Fit::kContain:
      return "contain";
    case Fit::kCover:
      return "cover";
    case Fit::kPad:
      return "pad";
    case Fit::kStretch:
      return "stretch";
  }
  return "?";
}

// Every step of a placement is well formed: sides ≥ 1, the crop inside the scaled image, the
// cropped image inside the canvas.
void expect_well_formed(const Placement& p) {
  EXPECT_GE(p.scaled.width, 1);
  EXPECT_GE(p.scaled.height, 1);
  EXPECT_GE(p.cropped.width, 1);
  EXPECT_GE(p.cropped.height, 1);
  EXPECT_GE(p.crop_x, 0);
  EXPECT_GE(p.crop_y, 0);
  EXPECT_LE(p.crop_x + p.cropped.width, p.scaled.width);
  EXPECT_LE(p.crop_y + p.cropped.height, p.scaled.height);
  EXPECT_GE(p.pad_x, 0);
  EXPECT_GE(p.pad_y, 0);
  EXPECT_LE(p.pad_x + p.cropped.width, p.canvas.width);
  EXPECT_LE(p.pad_y + p.cropped.height, p.canvas.height);
}

struct PlaceCase {
  int sw, sh;
  Fit fit;
  bool upscale;
  Size scaled;
  int crop_x, crop_y;
  Size cropped;
  Size canvas;
  int pad_x, pad_y;
};

// Box 200×100 (2:1), so every mode differs from the others on every source shape.
const PlaceCase kCases[] = {
    // landscape 4:1
    {800, 200, Fit::kContain, false, {200, 50}, 0, 0, {200, 50}, {200, 50}, 0, 0},
    {800, 200, Fit::kContain, true, {200, 50}, 0, 0, {200, 50}, {200, 50}, 0, 0},
    {800, 200, Fit::kCover, false, {400, 100}, 100, 0, {200, 100}, {200, 100}, 0, 0},
    {800, 200, Fit::kCover, true, {400, 100}, 100, 0, {200, 100}, {200, 100}, 0, 0},
    {800, 200, Fit::kPad, false, {200, 50}, 0, 0, {200, 50}, {200, 100}, 0, 25},
    {800, 200, Fit::kPad, true, {200, 50}, 0, 0, {200, 50}, {200, 100}, 0, 25},
    {800, 200, Fit::kStretch, false, {200, 100}, 0, 0, {200, 100}, {200, 100}, 0, 0},
    {800, 200, Fit::kStretch, true, {200, 100}, 0, 0, {200, 100}, {200, 100}, 0, 0},
    // portrait 1:2
    {300, 600, Fit::kContain, false, {50, 100}, 0, 0, {50, 100}, {50, 100}, 0, 0},
    {300, 600, Fit::kContain, true, {50, 100}, 0, 0, {50, 100}, {50, 100}, 0, 0},
    {300, 600, Fit::kCover, false, {200, 400}, 0, 150, {200, 100}, {200, 100}, 0, 0},
    {300, 600, Fit::kCover, true, {200, 400}, 0, 150, {200, 100}, {200, 100}, 0, 0},
    {300, 600, Fit::kPad, false, {50, 100}, 0, 0, {50, 100}, {200, 100}, 75, 0},
    {300, 600, Fit::kPad, true, {50, 100}, 0, 0, {50, 100}, {200, 100}, 75, 0},
    {300, 600, Fit::kStretch, false, {200, 100}, 0, 0, {200, 100}, {200, 100}, 0, 0},
    {300, 600, Fit::kStretch, true, {200, 100}, 0, 0, {200, 100}, {200, 100}, 0, 0},
    // square
    {500, 500, Fit::kContain, false, {100, 100}, 0, 0, {100, 100}, {100, 100}, 0, 0},
    {500, 500, Fit::kContain, true, {100, 100}, 0, 0, {100, 100}, {100, 100}, 0, 0},
    {500, 500, Fit::kCover, false, {200, 200}, 0, 50, {200, 100}, {200, 100}, 0, 0},
    {500, 500, Fit::kCover, true, {200, 200}, 0, 50, {200, 100}, {200, 100}, 0, 0},
    {500, 500, Fit::kPad, false, {100, 100}, 0, 0, {100, 100}, {200, 100}, 50, 0},
    {500, 500, Fit::kPad, true, {100, 100}, 0, 0, {100, 100}, {200, 100}, 50, 0},
    {500, 500, Fit::kStretch, false, {200, 100}, 0, 0, {200, 100}, {200, 100}, 0, 0},
    {500, 500, Fit::kStretch, true, {200, 100}, 0, 0, {200, 100}, {200, 100}, 0, 0},
    // smaller than the box: upscale decides
    {150, 40, Fit::kContain, false, {150, 40}, 0, 0, {150, 40}, {150, 40}, 0, 0},
    {150, 40, Fit::kContain, true, {200, 53}, 0, 0, {200, 53}, {200, 53}, 0, 0},
    // cover without upscale: source scale, cropped to 2:1 (80×40), centred ((150 − 80) / 2 = 35)
    {150, 40, Fit::kCover, false, {150, 40}, 35, 0, {80, 40}, {80, 40}, 0, 0},
    {150, 40, Fit::kCover, true, {375, 100}, 87, 0, {200, 100}, {200, 100}, 0, 0},  // 87.5 ↓
    {150, 40, Fit::kPad, false, {150, 40}, 0, 0, {150, 40}, {200, 100}, 25, 30},
    {150, 40, Fit::kPad, true, {200, 53}, 0, 0, {200, 53}, {200, 100}, 0, 23},  // 23.5 ↓
    {150, 40, Fit::kStretch, false, {150, 40}, 0, 0, {150, 40}, {150, 40}, 0, 0},
    {150, 40, Fit::kStretch, true, {200, 100}, 0, 0, {200, 100}, {200, 100}, 0, 0},
    // 1×1
    {1, 1, Fit::kContain, false, {1, 1}, 0, 0, {1, 1}, {1, 1}, 0, 0},
    {1, 1, Fit::kContain, true, {100, 100}, 0, 0, {100, 100}, {100, 100}, 0, 0},
    {1, 1, Fit::kCover, false, {1, 1}, 0, 0, {1, 1}, {1, 1}, 0, 0},  // 2:1 of 1 px is 1×1
    {1, 1, Fit::kCover, true, {200, 200}, 0, 50, {200, 100}, {200, 100}, 0, 0},
    {1, 1, Fit::kPad, false, {1, 1}, 0, 0, {1, 1}, {200, 100}, 99, 49},
    {1, 1, Fit::kPad, true, {100, 100}, 0, 0, {100, 100}, {200, 100}, 50, 0},
    {1, 1, Fit::kStretch, false, {1, 1}, 0, 0, {1, 1}, {1, 1}, 0, 0},
    {1, 1, Fit::kStretch, true, {200, 100}, 0, 0, {200, 100}, {200, 100}, 0, 0},
    // 1×1000: contain/pad width rounds to 0 and is clamped to 1
    {1, 1000, Fit::kContain, false, {1, 100}, 0, 0, {1, 100}, {1, 100}, 0, 0},
    {1, 1000, Fit::kContain, true, {1, 100}, 0, 0, {1, 100}, {1, 100}, 0, 0},
    {1, 1000, Fit::kCover, false, {1, 1000}, 0, 499, {1, 1}, {1, 1}, 0, 0},
    {1, 1000, Fit::kCover, true, {200, 200000}, 0, 99950, {200, 100}, {200, 100}, 0, 0},
    {1, 1000, Fit::kPad, false, {1, 100}, 0, 0, {1, 100}, {200, 100}, 99, 0},
    {1, 1000, Fit::kPad, true, {1, 100}, 0, 0, {1, 100}, {200, 100}, 99, 0},
    {1, 1000, Fit::kStretch, false, {1, 100}, 0, 0, {1, 100}, {1, 100}, 0, 0},
    {1, 1000, Fit::kStretch, true, {200, 100}, 0, 0, {200, 100}, {200, 100}, 0, 0},
};

TEST(FitPlace, TableEveryModeAndUpscale) {
  for (const PlaceCase& c : kCases) {
    SCOPED_TRACE(testing::Message()
                 << c.sw << "x" << c.sh << " " << fit_name(c.fit) << (c.upscale ? " upscale" : ""));
    const Placement p = place(c.sw, c.sh, {200, 100}, c.fit, c.upscale);
    EXPECT_EQ(p.scaled.width, c.scaled.width);
    EXPECT_EQ(p.scaled.height, c.scaled.height);
    EXPECT_EQ(p.crop_x, c.crop_x);
    EXPECT_EQ(p.crop_y, c.crop_y);
    EXPECT_EQ(p.cropped.width, c.cropped.width);
    EXPECT_EQ(p.cropped.height, c.cropped.height);
    EXPECT_EQ(p.canvas.width, c.canvas.width);
    EXPECT_EQ(p.canvas.height, c.canvas.height);
    EXPECT_EQ(p.pad_x, c.pad_x);
    EXPECT_EQ(p.pad_y, c.pad_y);
    expect_well_formed(p);
  }
}

TEST(FitPlace, SquareBoxCoverCropsTheLongSide) {
  Placement p = place(1920, 1080, {256, 256}, Fit::kCover, false);
  EXPECT_EQ(p.scaled.width, 455);  // 1920 × 256 / 1080 = 455.1
  EXPECT_EQ(p.scaled.height, 256);
  EXPECT_EQ(p.crop_x, 99);  // (455 − 256) / 2 = 99.5, rounded down
  EXPECT_EQ(p.crop_y, 0);
  EXPECT_EQ(p.cropped.width, 256);
  EXPECT_EQ(p.cropped.height, 256);
}

TEST(FitPlace, DegenerateSourceGivesZeroSizes) {
  for (Fit fit : {Fit::kContain, Fit::kCover, Fit::kPad, Fit::kStretch}) {
    const Placement p = place(0, 10, {256, 256}, fit, false);
    EXPECT_EQ(p.scaled.width, 0) << fit_name(fit);
    EXPECT_EQ(p.cropped.height, 0) << fit_name(fit);
    EXPECT_EQ(p.canvas.width, 0) << fit_name(fit);
  }
}

TEST(FitPlace, ZeroBoxSideCountsAsOne) {
  for (Fit fit : {Fit::kContain, Fit::kCover, Fit::kPad, Fit::kStretch}) {
    for (bool upscale : {false, true}) {
      SCOPED_TRACE(testing::Message() << fit_name(fit) << (upscale ? " upscale" : ""));
      const Placement p = place(640, 480, {0, -5}, fit, upscale);
      expect_well_formed(p);
      EXPECT_EQ(p.canvas.width, 1);
      EXPECT_EQ(p.canvas.height, 1);
    }
  }
}

// Properties each mode promises, on random sources and boxes.
void expect_mode_properties(int sw, int sh, Size box, Fit fit, bool upscale, const Placement& p) {
  expect_well_formed(p);
  if (fit != Fit::kCover) {
    EXPECT_EQ(p.crop_x + p.crop_y, 0);
    EXPECT_EQ(p.cropped.width, p.scaled.width);
    EXPECT_EQ(p.cropped.height, p.scaled.height);
  }
  if (fit != Fit::kPad) {
    EXPECT_EQ(p.pad_x + p.pad_y, 0);
    EXPECT_EQ(p.canvas.width, p.cropped.width);
    EXPECT_EQ(p.canvas.height, p.cropped.height);
  } else {
    EXPECT_EQ(p.canvas.width, box.width);
    EXPECT_EQ(p.canvas.height, box.height);
  }
  if (fit == Fit::kContain || fit == Fit::kPad) {
    const Size t = target_size(sw, sh, box, upscale);
    EXPECT_EQ(p.scaled.width, t.width);
    EXPECT_EQ(p.scaled.height, t.height);
  }
  if (!upscale) {  // never enlarged
    EXPECT_LE(p.scaled.width, sw);
    EXPECT_LE(p.scaled.height, sh);
  }
  if (fit == Fit::kCover && (upscale || (sw >= box.width && sh >= box.height))) {
    EXPECT_EQ(p.cropped.width, box.width);
    EXPECT_EQ(p.cropped.height, box.height);
  } else if (fit == Fit::kCover) {
    // Smaller than the box, same aspect ratio to within a pixel on either side.
    EXPECT_LE(p.cropped.width, box.width);
    EXPECT_LE(p.cropped.height, box.height);
    const int64_t skew =
        int64_t(p.cropped.width) * box.height - int64_t(p.cropped.height) * box.width;
    EXPECT_LE(std::llabs(skew), std::max(box.width, box.height));
  }
  if (fit == Fit::kStretch) {
    EXPECT_EQ(p.scaled.width, upscale ? box.width : std::min(box.width, sw));
    EXPECT_EQ(p.scaled.height, upscale ? box.height : std::min(box.height, sh));
  }
}

TEST(FitPlace, RandomSizesKeepEachModesPromises) {
  std::mt19937 rng(11);
  std::uniform_int_distribution<int> side(1, 5000), box_side(1, 600);
  for (int i = 0; i < 5000; ++i) {
    const int sw = side(rng), sh = side(rng);
    const Size box{box_side(rng), box_side(rng)};
    for (Fit fit : {Fit::kContain, Fit::kCover, Fit::kPad, Fit::kStretch}) {
      for (bool upscale : {false, true}) {
        SCOPED_TRACE(testing::Message()
                     << sw << "x" << sh << " in " << box.width << "x" << box.height << " "
                     << fit_name(fit) << (upscale ? " upscale" : ""));
        expect_mode_properties(sw, sh, box, fit, upscale, place(sw, sh, box, fit, upscale));
        if (testing::Test::HasFailure()) return;
      }
    }
  }
}

void expect_rgba(Rgba c, int r, int g, int b, int a) {
  EXPECT_EQ(c.r, r);
  EXPECT_EQ(c.g, g);
  EXPECT_EQ(c.b, b);
  EXPECT_EQ(c.a, a);
}

TEST(FitParseColor, NamesAndHexForms) {
  struct Good {
    const char* text;
    int r, g, b, a;
  };
  const Good goods[] = {
      {"white", 255, 255, 255, 255},      {"BLACK", 0, 0, 0, 255},
      {"Transparent", 0, 0, 0, 0},        {"red", 255, 0, 0, 255},
      {"green", 0, 128, 0, 255},          {"grey", 128, 128, 128, 255},
      {"Fuchsia", 255, 0, 255, 255},      {"#fff", 255, 255, 255, 255},
      {"#F80", 255, 136, 0, 255},         {"#f808", 255, 136, 0, 136},
      {"#12aBeF", 0x12, 0xab, 0xef, 255}, {"#12345678", 0x12, 0x34, 0x56, 0x78},
      {"#00000000", 0, 0, 0, 0},
  };
  for (const Good& g : goods) {
    SCOPED_TRACE(g.text);
    Rgba c{1, 2, 3, 4};
    std::string why = "untouched";
    EXPECT_TRUE(parse_color(g.text, &c, &why));
    expect_rgba(c, g.r, g.g, g.b, g.a);
    EXPECT_EQ(why, "untouched");
  }
}

TEST(FitParseColor, RejectsWithReasonAndLeavesOutputAlone) {
  const char* bads[] = {"",           "#",      "#12",        "#12345",    "#1234567",
                        "#123456789", "#ggg",   "#12345g",    "#-12",      "notacolour",
                        " white",     "white ", "rgb(1,2,3)", "white#fff", "0xffffff"};
  for (const char* text : bads) {
    SCOPED_TRACE(text);
    Rgba c{1, 2, 3, 4};
    std::string why;
    EXPECT_FALSE(parse_color(text, &c, &why));
    EXPECT_FALSE(why.empty());
    expect_rgba(c, 1, 2, 3, 4);
    EXPECT_FALSE(parse_color(text, &c, nullptr));  // the reason is optional
  }
}

TEST(FitParseColor, ReasonQuotesTheInputAsTyped) {
  Rgba c;
  std::string why;
  EXPECT_FALSE(parse_color("#12X", &c, &why));
  EXPECT_NE(why.find("'#12X'"), std::string::npos) << why;
  EXPECT_NE(why.find("'X' is not a hex digit"), std::string::npos) << why;
  EXPECT_FALSE(parse_color("Beige", &c, &why));
  EXPECT_NE(why.find("'Beige'"), std::string::npos) << why;
}

// A w × h image of `channels` whose every byte differs: value = (y·w + x)·channels + c.
Image pattern_image(int w, int h, int channels) {
  Image img;
  const size_t n = size_t(w) * h * channels;
  img.pixels.reset(static_cast<uint8_t*>(std::malloc(n)));
  for (size_t i = 0; i < n; ++i) img.pixels[i] = static_cast<uint8_t>(i);
  img.width = w;
  img.height = h;
  img.channels = channels;
  return img;
}

Image solid_image(int w, int h, std::vector<uint8_t> pixel) {
  Image img;
  const int channels = static_cast<int>(pixel.size());
  img.pixels.reset(static_cast<uint8_t*>(std::malloc(size_t(w) * h * channels)));
  for (int i = 0; i < w * h; ++i)
    std::memcpy(&img.pixels[size_t(i) * channels], pixel.data(), channels);
  img.width = w;
  img.height = h;
  img.channels = channels;
  return img;
}

std::vector<uint8_t> pixel_at(const Image& img, int x, int y) {
  const uint8_t* p = img.pixels.get() + (size_t(y) * img.width + x) * img.channels;
  return std::vector<uint8_t>(p, p + img.channels);
}

TEST(FitCrop, KeepsTheRectangleForEveryLayout) {
  for (int channels = 1; channels <= 4; ++channels) {
    SCOPED_TRACE(channels);
    const Image original = pattern_image(5, 4, channels);
    Image img = pattern_image(5, 4, channels);
    ASSERT_TRUE(crop(img, 1, 2, {3, 2}));
    ASSERT_EQ(img.width, 3);
    ASSERT_EQ(img.height, 2);
    ASSERT_EQ(img.channels, channels);
    for (int y = 0; y < 2; ++y)
      for (int x = 0; x < 3; ++x) EXPECT_EQ(pixel_at(img, x, y), pixel_at(original, x + 1, y + 2));
  }
}

TEST(FitCrop, SinglePixelCorners) {
  Image img = pattern_image(3, 3, 3);
  ASSERT_TRUE(crop(img, 2, 2, {1, 1}));
  EXPECT_EQ(pixel_at(img, 0, 0), (std::vector<uint8_t>{24, 25, 26}));
}

TEST(FitCrop, WholeImageIsANoOp) {
  Image img = pattern_image(4, 3, 2);
  const uint8_t* before = img.pixels.get();
  ASSERT_TRUE(crop(img, 0, 0, {4, 3}));
  EXPECT_EQ(img.pixels.get(), before);
  EXPECT_EQ(img.width, 4);
  EXPECT_EQ(img.height, 3);
}

TEST(FitCrop, RejectsRectanglesOutsideAndLeavesImageAlone) {
  struct Rect {
    int x, y, w, h;
  };
  const Rect bads[] = {{-1, 0, 2, 2}, {0, -1, 2, 2},      {0, 0, 0, 2},       {0, 0, 2, 0},
                       {0, 0, -3, 2}, {3, 0, 2, 2},       {0, 2, 2, 2},       {4, 0, 1, 1},
                       {0, 0, 5, 3},  {INT_MAX, 0, 1, 1}, {1, 0, INT_MAX, 1}, {0, 1, 1, INT_MAX}};
  for (const Rect& r : bads) {
    SCOPED_TRACE(testing::Message() << r.x << "," << r.y << " " << r.w << "x" << r.h);
    Image img = pattern_image(4, 3, 3);
    const uint8_t* before = img.pixels.get();
    EXPECT_FALSE(crop(img, r.x, r.y, {r.w, r.h}));
    EXPECT_EQ(img.pixels.get(), before);
    EXPECT_EQ(img.width, 4);
    EXPECT_EQ(img.height, 3);
    EXPECT_EQ(pixel_at(img, 3, 2), (std::vector<uint8_t>{33, 34, 35}));
  }
  Image empty;
  EXPECT_FALSE(crop(empty, 0, 0, {1, 1}));
}

const std::vector<uint8_t> kRed = {255, 0, 0};
const std::vector<uint8_t> kBlue = {0, 0, 255};

TEST(FitPad, RgbOntoBlueExactPixels) {
  Image img = solid_image(2, 1, kRed);
  ASSERT_TRUE(pad(img, {4, 3}, 1, 1, Rgba{0, 0, 255, 255}));
  ASSERT_EQ(img.width, 4);
  ASSERT_EQ(img.height, 3);
  ASSERT_EQ(img.channels, 3);
  for (int y = 0; y < 3; ++y) {
    for (int x = 0; x < 4; ++x) {
      const bool inside = y == 1 && (x == 1 || x == 2);
      EXPECT_EQ(pixel_at(img, x, y), inside ? kRed : kBlue) << x << "," << y;
    }
  }
}

TEST(FitPad, GrayWithColourBackgroundBecomesRgb) {
  Image img = solid_image(2, 2, {100});
  ASSERT_TRUE(pad(img, {4, 2}, 1, 0, Rgba{255, 0, 0, 255}));
  ASSERT_EQ(img.channels, 3);
  for (int y = 0; y < 2; ++y) {
    EXPECT_EQ(pixel_at(img, 0, y), kRed);
    EXPECT_EQ(pixel_at(img, 1, y), (std::vector<uint8_t>{100, 100, 100}));
    EXPECT_EQ(pixel_at(img, 2, y), (std::vector<uint8_t>{100, 100, 100}));
    EXPECT_EQ(pixel_at(img, 3, y), kRed);
  }
}

TEST(FitPad, GrayWithGrayBackgroundStaysGray) {
  Image img = solid_image(1, 1, {7});
  ASSERT_TRUE(pad(img, {3, 1}, 1, 0, Rgba{}));  // white
  ASSERT_EQ(img.channels, 1);
  EXPECT_EQ(pixel_at(img, 0, 0), std::vector<uint8_t>{255});
  EXPECT_EQ(pixel_at(img, 1, 0), std::vector<uint8_t>{7});
  EXPECT_EQ(pixel_at(img, 2, 0), std::vector<uint8_t>{255});
}

TEST(FitPad, TransparentBackgroundAddsAlpha) {
  Image rgb = solid_image(1, 1, {10, 20, 30});
  ASSERT_TRUE(pad(rgb, {1, 2}, 0, 1, Rgba{0, 0, 0, 0}));
  ASSERT_EQ(rgb.channels, 4);
  EXPECT_EQ(pixel_at(rgb, 0, 0), (std::vector<uint8_t>{0, 0, 0, 0}));
  EXPECT_EQ(pixel_at(rgb, 0, 1), (std::vector<uint8_t>{10, 20, 30, 255}));

  // transparent is black with alpha 0: gray, so a gray image gains alpha only.
  Image gray = solid_image(1, 1, {90});
  ASSERT_TRUE(pad(gray, {2, 1}, 0, 0, Rgba{0, 0, 0, 0}));
  ASSERT_EQ(gray.channels, 2);
  EXPECT_EQ(pixel_at(gray, 0, 0), (std::vector<uint8_t>{90, 255}));
  EXPECT_EQ(pixel_at(gray, 1, 0), (std::vector<uint8_t>{0, 0}));
}

TEST(FitPad, SemiTransparentColourOnGrayGivesRgba) {
  Image img = solid_image(1, 1, {50});
  ASSERT_TRUE(pad(img, {2, 1}, 1, 0, Rgba{255, 0, 0, 128}));
  ASSERT_EQ(img.channels, 4);
  EXPECT_EQ(pixel_at(img, 0, 0), (std::vector<uint8_t>{255, 0, 0, 128}));
  EXPECT_EQ(pixel_at(img, 1, 0), (std::vector<uint8_t>{50, 50, 50, 255}));
}

TEST(FitPad, ExistingAlphaIsKept) {
  Image rgba = solid_image(1, 1, {1, 2, 3, 40});
  ASSERT_TRUE(pad(rgba, {2, 1}, 0, 0, Rgba{0, 0, 255, 255}));
  ASSERT_EQ(rgba.channels, 4);
  EXPECT_EQ(pixel_at(rgba, 0, 0), (std::vector<uint8_t>{1, 2, 3, 40}));
  EXPECT_EQ(pixel_at(rgba, 1, 0), (std::vector<uint8_t>{0, 0, 255, 255}));

  Image gray_alpha = solid_image(1, 1, {60, 70});
  ASSERT_TRUE(pad(gray_alpha, {1, 2}, 0, 0, Rgba{0, 0, 255, 255}));
  ASSERT_EQ(gray_alpha.channels, 4);
  EXPECT_EQ(pixel_at(gray_alpha, 0, 0), (std::vector<uint8_t>{60, 60, 60, 70}));
  EXPECT_EQ(pixel_at(gray_alpha, 0, 1), (std::vector<uint8_t>{0, 0, 255, 255}));
}

TEST(FitPad, CanvasTheSizeOfTheImageChangesNothing) {
  Image img = solid_image(3, 2, kRed);
  const uint8_t* before = img.pixels.get();
  ASSERT_TRUE(pad(img, {3, 2}, 0, 0, Rgba{0, 0, 0, 0}));
  EXPECT_EQ(img.pixels.get(), before);
  EXPECT_EQ(img.channels, 3);  // no background shows, so no alpha is added
}

TEST(FitPad, RejectsImagesThatDoNotFit) {
  struct Bad {
    Size canvas;
    int x, y;
  };
  const Bad bads[] = {{{4, 3}, -1, 0}, {{4, 3}, 0, -1}, {{4, 3}, 3, 0},       {{4, 3}, 0, 2},
                      {{1, 3}, 0, 0},  {{4, 0}, 0, 0},  {{4, 3}, INT_MAX, 0}, {{0, 0}, 0, 0}};
  for (const Bad& b : bads) {
    SCOPED_TRACE(testing::Message()
                 << b.canvas.width << "x" << b.canvas.height << " at " << b.x << "," << b.y);
    Image img = solid_image(2, 2, kRed);
    const uint8_t* before = img.pixels.get();
    EXPECT_FALSE(pad(img, b.canvas, b.x, b.y, Rgba{}));
    EXPECT_EQ(img.pixels.get(), before);
    EXPECT_EQ(img.width, 2);
    EXPECT_EQ(img.height, 2);
    EXPECT_EQ(img.channels, 3);
  }
  Image empty;
  EXPECT_FALSE(pad(empty, {4, 4}, 0, 0, Rgba{}));
}

TEST(FlattenAlpha, BlendsOntoWhite) {
  Image transparent = solid_image(2, 2, {10, 20, 30, 0});
  flatten_alpha(transparent);
  EXPECT_EQ(transparent.channels, 3);
  EXPECT_EQ(transparent.pixels[0], 255);
  EXPECT_EQ(transparent.pixels[2], 255);

  Image opaque = solid_image(2, 2, {10, 20, 30, 255});
  flatten_alpha(opaque);
  EXPECT_EQ(opaque.pixels[0], 10);
  EXPECT_EQ(opaque.pixels[1], 20);
  EXPECT_EQ(opaque.pixels[11], 30);  // last pixel's blue: in-place packing kept every pixel

  Image half_gray = solid_image(1, 1, {0, 128});
  flatten_alpha(half_gray);
  EXPECT_EQ(half_gray.channels, 1);
  EXPECT_NEAR(half_gray.pixels[0], 127, 1);
}

// Every (colour, alpha) pair in one 256-row image, against the blend in plain integer division:
// the vectorised divide by 255 must be exact, and rows must not bleed into each other in place.
TEST(FlattenAlpha, EveryColourAndAlphaMatchesTheExactBlend) {
  for (int channels : {2, 4}) {
    Image img;
    img.width = img.height = 256;
    img.channels = channels;
    img.pixels.reset(static_cast<uint8_t*>(std::malloc(256 * 256 * channels)));
    for (int a = 0; a < 256; ++a)
      for (int c = 0; c < 256; ++c) {
        uint8_t* p = &img.pixels[(a * 256 + c) * channels];
        for (int ch = 0; ch < channels - 1; ++ch) p[ch] = uint8_t(c ^ (ch * 85));
        p[channels - 1] = uint8_t(a);
      }
    flatten_alpha(img);
    ASSERT_EQ(img.channels, channels - 1);
    for (int a = 0; a < 256; ++a)
      for (int c = 0; c < 256; ++c)
        for (int ch = 0; ch < channels - 1; ++ch) {
          const int v = c ^ (ch * 85), want = (v * a + 255 * (255 - a) + 127) / 255;
          ASSERT_EQ(img.pixels[(a * 256 + c) * (channels - 1) + ch], want)
              << "colour " << v << " alpha " << a << " channels " << channels;
        }
  }
}

TEST(FlattenAlpha, LeavesOpaqueLayoutsAlone) {
  Image rgb = solid_image(1, 1, {1, 2, 3});
  flatten_alpha(rgb);
  EXPECT_EQ(rgb.channels, 3);
  EXPECT_EQ(rgb.pixels[2], 3);
}

// place → (a stand-in for the resample) → crop → pad lands on the canvas size for every table
// case small enough to allocate: the geometry and the pixel operations agree on the rules.
TEST(FitPlace, CropAndPadAcceptEveryPlacement) {
  for (const PlaceCase& c : kCases) {
    const Placement p = place(c.sw, c.sh, {200, 100}, c.fit, c.upscale);
    if (int64_t(p.scaled.width) * p.scaled.height > 1000000) continue;
    SCOPED_TRACE(testing::Message()
                 << c.sw << "x" << c.sh << " " << fit_name(c.fit) << (c.upscale ? " upscale" : ""));
    Image img = pattern_image(p.scaled.width, p.scaled.height, 3);
    ASSERT_TRUE(crop(img, p.crop_x, p.crop_y, p.cropped));
    ASSERT_TRUE(pad(img, p.canvas, p.pad_x, p.pad_y, Rgba{}));
    EXPECT_EQ(img.width, p.canvas.width);
    EXPECT_EQ(img.height, p.canvas.height);
  }
}

struct TargetCase {
  int sw, sh, bw, bh;
  bool upscale;
  int ew, eh;
};

TEST(TargetSize, Table) {
  const TargetCase cases[] = {
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
  for (const TargetCase& c : cases) {
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

}  // namespace
}  // namespace imgpipe

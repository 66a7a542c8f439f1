// Tests for the resize stage: fit modes, orientation, filters and alpha, as thumbnails come out.
#include "stages/resize.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <random>

#include "fixtures/pixels.h"
#include "image/fit.h"
#include "stages/decode.h"
#include "stages/encode.h"

namespace imgpipe {
namespace {

Item solid_item(int w, int h, int channels, uint8_t value) {
  Item item;
  item.image = solid_image(w, h, channels, value);
  return item;
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
    resize(a, sw);
    resize(b, stb);
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
  resize(item, o);
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
        resize(first, o);
        o.format = Format::kPng;  // alpha kept: the old order, flattened afterwards
        resize(after, o);
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
  resize(item, o);
  ASSERT_TRUE(item.ok());
  EXPECT_EQ(item.thumbs[0].image.width, 8);
  EXPECT_EQ(item.thumbs[0].image.height, 16);
  EXPECT_LT(item.thumbs[0].image.pixels[1 * 8 + 4], 40);    // top: dark
  EXPECT_GT(item.thumbs[0].image.pixels[14 * 8 + 4], 215);  // bottom: light
}

// Cover crops the upright source before scaling: the kept centre must be what survives, in the
// right place, whatever the orientation.
TEST(ResizeToBox, CoverKeepsTheCentreOfTheUprightImage) {
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
  resize(item, o);
  ASSERT_TRUE(item.ok()) << item.error;
  const Image& t = item.thumbs[0].image;
  ASSERT_EQ(t.width, 20);
  ASSERT_EQ(t.height, 20);
  EXPECT_GT(t.pixels[10 * 20 + 10], 215);  // centre: white
  EXPECT_GT(t.pixels[10 * 20 + 2], 150);   // near the edges still inside the kept third
  EXPECT_GT(t.pixels[10 * 20 + 17], 150);
}

// A thin strip with cover and upscale stays cheap: no giant intermediate image.
TEST(ResizeToBox, CoverUpscaleOfAThinStripIsJustTheBox) {
  Item item = solid_item(1, 4000, 3, 77);
  item.source_width = 1;
  item.source_height = 4000;
  ImageOptions o;
  o.sizes = {{64, 64}};
  o.fit = Fit::kCover;
  o.upscale = true;
  resize(item, o);
  ASSERT_TRUE(item.ok()) << item.error;
  EXPECT_EQ(item.thumbs[0].width, 64);
  EXPECT_EQ(item.thumbs[0].height, 64);
  EXPECT_NEAR(item.thumbs[0].image.pixels[0], 77, 1);
}

// Where a profile first crosses mid-grey (127.5) going up, interpolated: a black-to-white step's
// position. -1 when it never does.
double crossing(const std::vector<double>& v) {
  for (size_t i = 1; i < v.size(); ++i)
    if (v[i - 1] < 127.5 && v[i] >= 127.5) return i - 1 + (127.5 - v[i - 1]) / (v[i] - v[i - 1]);
  return -1;
}

// --fit cover --upscale on a very thin image keeps a few source pixels (or one) of the long side,
// enlarged many times: the kept rectangle must be the exact centre. Rounding it to whole source
// pixels put a black/white step that sits at the source's centre up to half the box (the whole
// thumbnail) away from the thumbnail's centre. Each source is black before its long side's middle
// and white after; the step must cross the box at its middle.
TEST(ResizeToBox, CoverUpscaleOfThinImagesIsCentred) {
  const std::pair<int, int> shapes[] = {{3, 1000}, {1, 4000}, {5, 778}, {7, 2000}, {2, 90}};
  for (int box : {64, 256})
    for (auto [thin, longer] : shapes)
      for (bool tall : {true, false}) {
        const int w = tall ? thin : longer, h = tall ? longer : thin;
        SCOPED_TRACE(testing::Message() << w << "x" << h << " into " << box);
        Item item = solid_item(w, h, 1, 0);
        for (int y = 0; y < h; ++y)
          for (int x = 0; x < w; ++x)
            if ((tall ? y : x) >= longer / 2) item.image.pixels[size_t(y) * w + x] = 255;
        item.source_width = w;
        item.source_height = h;
        ImageOptions o;
        o.sizes = {{box, box}};
        o.fit = Fit::kCover;
        o.upscale = true;
        resize(item, o);
        ASSERT_TRUE(item.ok()) << item.error;
        const Image& t = item.thumbs[0].image;
        ASSERT_EQ(t.width, box);
        ASSERT_EQ(t.height, box);
        std::vector<double> profile(box);
        for (int i = 0; i < box; ++i)
          profile[i] = tall ? t.pixels[i * box + 20] : t.pixels[20 * box + i];
        EXPECT_NEAR(crossing(profile), box / 2.0, 0.5);
      }
}

// A bar chart: dark bars `bar` px wide every `period` px on white, across x (or down y).
constexpr int kBar = 5, kPeriod = 37, kFirstBar = 9;
Image bar_chart(int w, int h, bool across) {
  Image img = solid_image(w, h, 1, 255);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      if (((across ? x : y) - kFirstBar) % kPeriod < kBar && (across ? x : y) >= kFirstBar)
        img.pixels[size_t(y) * w + x] = 0;
  return img;
}

// Each bar's centroid in the thumbnail minus where the source's bar centre maps (output pixel i
// spans [i, i + 1)), in output px, for the bars from the first to the last whole one.
std::vector<double> bar_errors(const Image& t, int source_side, bool across) {
  const int n = across ? t.width : t.height, m = across ? t.height : t.width;
  std::vector<double> ink(n, 0.0);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < m; ++j)
      ink[i] += 255 - t.pixels[across ? size_t(j) * t.width + i : size_t(i) * t.width + j];
  const double s = double(n) / source_side;
  std::vector<double> errors;
  for (int start = kFirstBar; start + kBar + kPeriod / 2 < source_side; start += kPeriod) {
    const double centre = (start + kBar / 2.0) * s;
    const int lo = std::max(0, int(std::floor(centre - kPeriod * s / 2)));
    const int hi = std::min(n, int(std::ceil(centre + kPeriod * s / 2)));
    double sum = 0, moment = 0;
    for (int i = lo; i < hi; ++i) sum += ink[i], moment += (i + 0.5) * ink[i];
    errors.push_back(moment / sum - centre);
  }
  return errors;
}

// The resampler must keep content where it is at non-integer ratios, through every shrink: PNG's
// box while decoding, JPEG's DCT scaling, the box pre-shrink and the final filter. A pre-shrink
// that rounded the size up and counted the partial last block as a whole pixel moved the far
// edge's bars by 0.3–0.9 output px; libvips and Pillow stay under 0.06 on this chart.
TEST(ResizeToBox, BarChartsStayInPlaceAtNonIntegerRatios) {
  const int kLong = 2003, kShort = 301;
  for (bool across : {true, false})
    for (const char* format : {"raw", "png", "jpg"})
      for (int box : {330, 427, 777, 1001}) {
        SCOPED_TRACE(testing::Message()
                     << format << (across ? " across" : " down") << ", box " << box);
        Image chart = bar_chart(across ? kLong : kShort, across ? kShort : kLong, across);
        Item item;
        ImageOptions o;
        o.sizes = {{box, box}};
        if (std::string(format) == "raw") {
          item.image = std::move(chart);
          item.source_width = item.image.width;
          item.source_height = item.image.height;
        } else {
          ImageOptions enc;
          enc.format = std::string(format) == "png" ? Format::kPng : Format::kJpeg;
          enc.quality = 95;
          std::string why;
          ASSERT_TRUE(encode_image(chart, enc, &item.body, &why)) << why;
          decode(item, o);
          ASSERT_TRUE(item.ok()) << item.error;
        }
        resize(item, o);
        ASSERT_TRUE(item.ok()) << item.error;
        const std::vector<double> errors = bar_errors(item.thumbs[0].image, kLong, across);
        EXPECT_LE(std::abs(errors.back()), 0.1) << "the far edge's bar";
        for (double e : errors) EXPECT_LE(std::abs(e), 0.15);
      }
}

// --linear filters light, not stored values: 1-px black and white stripes shrink to 188, the
// grey with half of white's light, on every filter path; without it, to 128.
TEST(ResizeToBox, LinearLightKeepsFineDetailsBrightness) {
  for (Resizer resizer : {Resizer::kLanczos, Resizer::kStb})
    for (Codec codec : {Codec::kFast, Codec::kStb})
      for (int channels : {1, 3, 4})
        for (bool linear : {false, true}) {
          SCOPED_TRACE(testing::Message()
                       << "resizer " << int(resizer) << ", codec " << int(codec) << ", " << channels
                       << " channels" << (linear ? ", linear" : ""));
          Item item = solid_item(400, 300, channels, 255);
          for (int y = 0; y < 300; ++y)
            for (int x = 0; x < 400; x += 2)
              std::memset(&item.image.pixels[(size_t(y) * 400 + x) * channels], 0,
                          std::min(channels, 3));  // black, alpha (if any) opaque
          item.source_width = 400;
          item.source_height = 300;
          ImageOptions o;
          o.sizes = {{100, 100}};
          o.resizer = resizer;
          o.codec = codec;
          o.linear = linear;
          o.format = Format::kPng;
          resize(item, o);
          ASSERT_TRUE(item.ok()) << item.error;
          const Image& t = item.thumbs[0].image;
          double sum = 0;
          for (int y = 10; y < 65; ++y)
            for (int x = 10; x < 90; ++x) sum += t.pixels[(size_t(y) * 100 + x) * channels];
          EXPECT_NEAR(sum / (55 * 80), linear ? 188 : 128, 2);
        }
}

}  // namespace
}  // namespace imgpipe

// Tests for decoding: every input kind on both codec paths, shrink-on-load, EXIF orientation, the
// pixel cap, and garbage.
#include "stages/decode.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>

#include "fixtures/images.h"
#include "fixtures/kinds.h"
#include "image/box.h"
#include "image/fit.h"
#include "image/stb.h"

namespace imgpipe {
namespace {

Item item_with(const std::vector<unsigned char>& bytes) {
  Item item;
  item.body.assign(bytes.begin(), bytes.end());
  return item;
}

// A box larger than any test image: no shrink-on-load unless a test asks for it.
ImageOptions options(Codec codec, int64_t max_pixels = 100'000'000, Size box = {8192, 8192}) {
  ImageOptions o;
  o.codec = codec;
  o.format = Format::kPng;  // keeps alpha, so channel counts are what the decoders give
  o.max_pixels = max_pixels;
  o.sizes = {box};
  return o;
}

struct Kind {
  const char* name;
  std::vector<unsigned char> bytes;
  int channels;  // the same on both paths: JPEG and PNG always take libjpeg-turbo and libspng
};

std::vector<Kind> kinds() {
  return {
      {"jpeg rgb", fixtures::make_jpeg(64, 48), 3},
      {"jpeg gray", fixtures::make_jpeg(64, 48, 1), 1},
      {"jpeg progressive", fixtures::make_progressive_jpeg(64, 48), 3},
      {"jpeg cmyk", fixtures::make_cmyk_jpeg(64, 48), 3},
      {"png rgb", fixtures::make_png(64, 48), 3},
      {"png gray", fixtures::make_png(64, 48, 1), 1},
      {"png gray+alpha", fixtures::make_png(64, 48, 2), 4},
      {"png rgba", fixtures::make_png(64, 48, 4), 4},
      {"png 16-bit", fixtures::make_png16(64, 48), 3},
      {"png palette+tRNS", fixtures::make_palette_png_with_trns(64, 48), 4},
      {"gif", fixtures::make_gif(64, 48), 4},  // stb gives GIF as RGBA
      {"bmp", fixtures::make_bmp(64, 48), 3},
      {"webp", fixtures::make_webp(64, 48, false), 3},
      {"webp alpha", fixtures::make_webp(64, 48, true), 4},
      {"webp animated", fixtures::make_animated_webp(64, 48), 4},
  };
}

TEST(Decode, EveryKindOnBothCodecPaths) {
  for (Codec codec : {Codec::kFast, Codec::kStb}) {
    for (const Kind& k : kinds()) {
      std::string what = std::string(k.name) + (codec == Codec::kFast ? " (fast)" : " (stb)");
      Item item = item_with(k.bytes);
      decode(item, options(codec));
      ASSERT_TRUE(item.ok()) << what << ": " << item.error;
      EXPECT_EQ(item.image.width, 64) << what;
      EXPECT_EQ(item.image.height, 48) << what;
      EXPECT_EQ(item.source_width, 64) << what;
      EXPECT_EQ(item.image.channels, k.channels) << what;
      EXPECT_TRUE(item.body.empty()) << what << ": compressed bytes should be released";
    }
  }
}

uint8_t pixel(const Item& item, int x, int y, int c = 0) {
  const Image& im = item.image;
  return im.pixels[(size_t(y) * im.width + x) * im.channels + c];
}

TEST(Decode, CodecPathsAgreeOnPixels) {
  for (const auto& bytes :
       {fixtures::make_cmyk_jpeg(64, 48), fixtures::make_progressive_jpeg(64, 48),
        fixtures::make_png16(64, 48)}) {
    Item fast = item_with(bytes), stb = item_with(bytes);
    decode(fast, options(Codec::kFast));
    decode(stb, options(Codec::kStb));
    ASSERT_TRUE(fast.ok() && stb.ok()) << fast.error << stb.error;
    for (int y = 4; y < 48; y += 10)
      for (int x = 4; x < 64; x += 10)
        EXPECT_NEAR(pixel(fast, x, y), pixel(stb, x, y), 8) << x << "," << y;
  }
}

TEST(Decode, AnimatedGifAndWebpGiveTheFirstFrame) {
  for (Codec codec : {Codec::kFast, Codec::kStb}) {
    Item still = item_with(fixtures::make_gif(32, 24)),
         anim = item_with(fixtures::make_gif(32, 24, 3));
    decode(still, options(codec));
    decode(anim, options(codec));
    ASSERT_TRUE(still.ok() && anim.ok()) << anim.error;
    ASSERT_EQ(still.image.bytes(), anim.image.bytes());
    EXPECT_EQ(0,
              std::memcmp(still.image.pixels.get(), anim.image.pixels.get(), still.image.bytes()));
  }
  Item webp = item_with(fixtures::make_animated_webp(32, 24));  // frame 1 red, frame 2 blue
  decode(webp, options(Codec::kFast));
  ASSERT_TRUE(webp.ok()) << webp.error;
  EXPECT_GT(pixel(webp, 16, 12, 0), 200);
  EXPECT_LT(pixel(webp, 16, 12, 2), 50);
}

// JPEG output has no alpha: decode flattens PNG alpha onto white before its box shrink, on both
// PNG decoders, so the shrink averages 3 channels. Transparent pixels come out white.
TEST(Decode, JpegOutputFlattensPngAlphaOntoWhite) {
  for (int k : {1, 4})
    for (const std::vector<uint8_t>& png :
         {fixtures::make_palette_png_with_trns(64, 48), fixtures::make_png(64, 48, 4)}) {
      ImageOptions o = options(Codec::kFast, 100'000'000, {64 / k, 48 / k});
      o.format = Format::kJpeg;
      Item item = item_with(png);
      decode(item, o);
      ASSERT_TRUE(item.ok()) << item.error;
      EXPECT_EQ(item.image.channels, 3);
      Item kept = item_with(png);
      decode(kept, options(Codec::kFast, 100'000'000, {64 / k, 48 / k}));
      ASSERT_TRUE(kept.ok()) << kept.error;
      ASSERT_EQ(kept.image.channels, 4);
      flatten_alpha(kept.image);  // what encode did before: the same up to the shrink's rounding
      ASSERT_EQ(kept.image.bytes(), item.image.bytes());
      for (size_t i = 0; i < item.image.bytes(); ++i)
        ASSERT_NEAR(item.image.pixels[i], kept.image.pixels[i], 1) << "byte " << i << " k " << k;
    }
}

TEST(Decode, CmykJpegComesOutAsRgb) {
  Item item = item_with(fixtures::make_cmyk_jpeg(64, 48));
  decode(item, options(Codec::kFast));
  ASSERT_TRUE(item.ok()) << item.error;
  EXPECT_GT(pixel(item, 8, 24), 230);  // no ink: white
  EXPECT_LT(pixel(item, 56, 24), 25);  // full black ink
}

TEST(Decode, PaletteTransparencyIsKept) {
  Item item = item_with(fixtures::make_palette_png_with_trns(64, 48));
  decode(item, options(Codec::kFast));
  ASSERT_TRUE(item.ok()) << item.error;
  EXPECT_EQ(pixel(item, 0, 0, 3), 0);     // palette entry 0 is transparent
  EXPECT_EQ(pixel(item, 63, 0, 3), 255);  // entry 3 is opaque
}

TEST(Decode, JpegShrinksOnLoadButKeepsTwiceTheTarget) {
  const auto jpeg = fixtures::make_jpeg(2000, 1500);
  Item fast = item_with(jpeg), stb = item_with(jpeg);
  decode(fast, options(Codec::kFast, 100'000'000, {256, 256}));
  decode(stb, options(Codec::kStb, 100'000'000, {256, 256}));
  ASSERT_TRUE(fast.ok() && stb.ok());
  EXPECT_EQ(fast.image.width, 1000);  // 1/2 scale: 1/4 would leave 500 < 2 × 256
  EXPECT_EQ(fast.image.height, 750);
  EXPECT_EQ(stb.image.width, 2000);  // stb cannot shrink on load
  EXPECT_EQ(fast.source_width, 2000);
  EXPECT_EQ(fast.source_height, 1500);
}

// PNG has no smaller decode, so the box pre-shrink runs on the rows as they are decoded. The result
// must be exactly the full decode box-averaged afterwards, for every PNG layout (odd sizes give
// partial blocks at the right and bottom edges).
TEST(Decode, PngBoxShrinksWhileDecodingExactlyAsAfterwards) {
  const std::pair<const char*, std::vector<unsigned char>> pngs[] = {
      {"rgb", fixtures::make_png(301, 203)},
      {"gray", fixtures::make_png(301, 203, 1)},
      {"gray+alpha", fixtures::make_png(301, 203, 2)},
      {"rgba", fixtures::make_png(301, 203, 4)},
      {"16-bit", fixtures::make_png16(301, 203)},
      {"palette+tRNS", fixtures::make_palette_png_with_trns(301, 203)},
      {"interlaced", fixtures::make_interlaced_png(301, 203)},
  };
  for (const auto& [name, png] : pngs) {
    Item shrunk = item_with(png), full = item_with(png);
    decode(shrunk, options(Codec::kFast, 100'000'000, {32, 32}));  // 32x22: k = 4, Lanczos 2.3x
    decode(full, options(Codec::kStb, 100'000'000, {32, 32}));     // PNG in full, no shrink
    ASSERT_TRUE(shrunk.ok() && full.ok()) << name << ": " << shrunk.error << full.error;
    ASSERT_EQ(full.image.width, 301) << name;
    ASSERT_TRUE(box_shrink(full.image, 4));
    ASSERT_EQ(shrunk.image.width, 76) << name;  // ceil(301 / 4)
    ASSERT_EQ(shrunk.image.height, 51) << name;
    ASSERT_EQ(shrunk.image.channels, full.image.channels) << name;
    EXPECT_EQ(0,
              std::memcmp(shrunk.image.pixels.get(), full.image.pixels.get(), full.image.bytes()))
        << name;
  }
}

TEST(Decode, TruncatedPngFailsWhileShrinking) {
  auto png = fixtures::make_png(301, 203);
  png.resize(png.size() * 2 / 3);
  Item item = item_with(png);
  decode(item, options(Codec::kFast, 100'000'000, {64, 64}));
  EXPECT_EQ(item.status, Status::kTruncated) << item.error;
}

TEST(Decode, WebpShrinksOnLoad) {
  Item item = item_with(fixtures::make_webp(1600, 1200, false));
  decode(item, options(Codec::kFast, 100'000'000, {200, 200}));
  ASSERT_TRUE(item.ok()) << item.error;
  EXPECT_EQ(item.image.width, 400);
  EXPECT_EQ(item.image.height, 300);
  EXPECT_EQ(item.source_width, 1600);
}

TEST(Decode, ExifOrientationSwapsTheDisplayedSides) {
  for (Codec codec : {Codec::kFast, Codec::kStb}) {
    Item item = item_with(fixtures::with_exif_orientation(fixtures::make_jpeg(64, 48), 6));
    decode(item, options(codec));
    ASSERT_TRUE(item.ok()) << item.error;
    EXPECT_EQ(item.orientation, 6);
    EXPECT_EQ(item.source_width, 48);
    EXPECT_EQ(item.source_height, 64);
    EXPECT_EQ(item.image.width, 64) << "pixels stay as stored until resized";
  }
}

TEST(Decode, HeaderOverPixelCapIsRejectedBeforeDecoding) {
  for (Codec codec : {Codec::kFast, Codec::kStb}) {
    Item item = item_with(fixtures::make_png_header_only(50000, 50000));
    decode(item, options(codec));
    EXPECT_EQ(item.status, Status::kTooLarge) << item.error;
    EXPECT_NE(item.error.find("50000x50000"), std::string::npos) << item.error;
    EXPECT_FALSE(item.image.pixels);
  }
}

TEST(Decode, PixelCapIsInclusive) {
  for (Codec codec : {Codec::kFast, Codec::kStb}) {
    Item at_cap = item_with(fixtures::make_png(100, 100));
    decode(at_cap, options(codec, 10'000));
    EXPECT_TRUE(at_cap.ok()) << at_cap.error;
    Item over = item_with(fixtures::make_jpeg(100, 101));
    decode(over, options(codec, 10'000));
    EXPECT_EQ(over.status, Status::kTooLarge);
  }
}

TEST(Decode, NonImagesAreNotAnImage) {
  for (std::string text :
       {std::string("<html><body>404</body></html>"), std::string(""), std::string(1000, '\0')}) {
    Item item = item_with({text.begin(), text.end()});
    decode(item, options(Codec::kFast));
    EXPECT_EQ(item.status, Status::kNotAnImage) << "'" << text.substr(0, 10) << "'";
  }
}

TEST(Decode, KnownMagicWithABrokenHeaderIsDecodeError) {
  for (Codec codec : {Codec::kFast, Codec::kStb}) {
    for (std::string text :
         {std::string("GIF8"), std::string("\x89PNG\r\n\x1a\n"),
          std::string("\xff\xd8\xff\xe0garbage"), std::string("RIFF\0\0\0\0WEBPVP8 ", 16)}) {
      Item item = item_with({text.begin(), text.end()});
      decode(item, options(codec));
      EXPECT_EQ(item.status, Status::kDecodeError) << text.substr(0, 4) << ": " << item.error;
    }
  }
}

// libjpeg-turbo handles are reused per thread: one that failed must not fail the next image.
TEST(Decode, CorruptJpegDoesNotPoisonTheNextOne) {
  auto corrupt = fixtures::make_jpeg(64, 48);
  for (size_t i = 20; i < 200 && i < corrupt.size(); ++i) corrupt[i] = 0xAB;  // smash the tables
  Item bad = item_with(corrupt);
  decode(bad, options(Codec::kFast));
  EXPECT_EQ(bad.status, Status::kDecodeError) << bad.error;
  Item good = item_with(fixtures::make_jpeg(64, 48));
  decode(good, options(Codec::kFast));
  EXPECT_TRUE(good.ok()) << good.error;
}

TEST(Decode, CorruptDataAfterAValidHeaderIsDecodeError) {
  for (Codec codec : {Codec::kFast, Codec::kStb}) {
    auto png = fixtures::make_png(64, 48);
    for (size_t i = png.size() / 2; i < png.size() / 2 + 16; ++i) png[i] ^= 0x5A;
    Item item = item_with(png);
    decode(item, options(codec));
    EXPECT_EQ(item.status, Status::kDecodeError) << item.error;
    png.resize(png.size() / 2);  // header and size intact, pixel data cut: truncated
    Item cut = item_with(png);
    decode(cut, options(codec));
    EXPECT_EQ(cut.status, Status::kTruncated) << cut.error;
  }
}

TEST(ShrinkOnLoad, JpegDenominatorKeepsTwiceTheTarget) {
  EXPECT_EQ(jpeg_shrink_denominator(4000, 3000, {256, 192}), 4);  // 1000x750 >= 512x384
  EXPECT_EQ(jpeg_shrink_denominator(4096, 3072, {256, 192}), 8);  // 512x384 exactly
  EXPECT_EQ(jpeg_shrink_denominator(2000, 1500, {256, 192}), 2);
  EXPECT_EQ(jpeg_shrink_denominator(600, 400, {256, 171}), 1);
  EXPECT_EQ(jpeg_shrink_denominator(100, 100, {100, 100}), 1);
  EXPECT_EQ(jpeg_shrink_denominator(10000, 16, {256, 1}), 8);  // thin strips shrink too
  EXPECT_EQ(jpeg_shrink_denominator(10000, 10, {256, 1}), 4);  // 10 / 8 < 2 × 1 px
  // The margin is counted on the true extent: 4095 / 8 = 511.9 px of image (libjpeg-turbo gives
  // 512 pixels, the last one partly padding) is under 2 × 256, so 8 would leave Lanczos < 2×.
  EXPECT_EQ(jpeg_shrink_denominator(4095, 3072, {256, 192}), 4);
  EXPECT_EQ(jpeg_shrink_denominator(2047, 2047, {256, 256}), 2);
}

// Resize maps the decoded image's true extent: a JPEG 2003 px wide decoded at 1/2 is 1002 pixels
// holding 1001.5 px of image, and a PNG box-shrunk by 5 while decoding likewise.
TEST(ShrinkOnLoad, DecodeRecordsTheExactShrink) {
  Item jpeg = item_with(fixtures::make_jpeg(2003, 1001));
  decode(jpeg, options(Codec::kFast, 100'000'000, {400, 400}));  // 2003 / 4 < 2 × 400: 1/2
  ASSERT_TRUE(jpeg.ok()) << jpeg.error;
  ASSERT_EQ(jpeg.image.width, 1002);
  EXPECT_EQ(jpeg.shrink_x, 2);
  EXPECT_EQ(jpeg.shrink_y, 2);
  Item png = item_with(fixtures::make_png(2003, 1001));
  decode(png, options(Codec::kFast, 100'000'000, {200, 200}));  // 10.01×: box 5, Lanczos 2.003×
  ASSERT_TRUE(png.ok()) << png.error;
  ASSERT_EQ(png.image.width, 401);  // ceil(2003 / 5)
  EXPECT_EQ(png.shrink_x, 5);
  EXPECT_EQ(png.shrink_y, 5);
}

TEST(ShrinkOnLoad, WebpScaledSize) {
  EXPECT_EQ(webp_scaled_size(1600, 1200, {200, 150}).width, 400);
  EXPECT_EQ(webp_scaled_size(1600, 1200, {200, 150}).height, 300);
  EXPECT_EQ(webp_scaled_size(300, 200, {200, 133}).width, 0);  // not worth it: decode in full
}

// --- Trust (issue 13): no decoder leaks memory, pins memory for a few bytes, or spins. ---

bool refused_as_short(const Item& item) {
  return item.status == Status::kTruncated &&
         item.error.find("shorter than the header claims") != std::string::npos;
}

// A 13-byte PNM header claiming 64x64 decoded "ok" with whatever the heap held as its pixels.
// Every stb format is now refused when its data cannot fill the claimed size; a file with all its
// data still decodes, on both codec paths.
TEST(DecodeTrust, HeaderOnlyStbFilesAreRefusedNotFilled) {
  const std::pair<const char*, std::vector<unsigned char>> shorts[] = {
      {"pnm 13 bytes", fixtures::make_pnm(64, 64, 3, 0)},
      {"pnm one byte short", fixtures::make_pnm(64, 64, 3, 64 * 64 * 3 - 1)},
      {"pgm", fixtures::make_pnm(300, 200, 1, 0)},
      {"bmp", fixtures::make_bmp_header_only(2000, 1500)},
      {"tga raw", fixtures::make_tga(2000, 1500, false, false)},
      {"tga rle", fixtures::make_tga(2000, 1500, true, false)},
      {"psd raw", fixtures::make_psd(2000, 1500, false, false)},
      {"psd rle", fixtures::make_psd(2000, 1500, true, false)},
  };
  for (Codec codec : {Codec::kFast, Codec::kStb})
    for (const auto& [name, bytes] : shorts) {
      Item item = item_with(bytes);
      decode(item, options(codec));
      EXPECT_TRUE(refused_as_short(item))
          << name << ": " << status_name(item.status) << " " << item.error;
      EXPECT_FALSE(item.image.pixels) << name;
      EXPECT_GT(item.source_width, 0) << name << ": the header was read";
    }
  const std::pair<const char*, std::vector<unsigned char>> whole[] = {
      {"pnm", fixtures::make_pnm(64, 48, 3, 64 * 48 * 3)},
      {"pgm", fixtures::make_pnm(64, 48, 1, 64 * 48)},
      {"bmp", fixtures::make_bmp(64, 48)},
      {"tga raw", fixtures::make_tga(64, 48, false, true)},
      {"tga rle", fixtures::make_tga(300, 48, true, true)},  // runs of 128, 128 and 44 pixels
      {"psd raw", fixtures::make_psd(64, 48, false, true)},
      {"psd rle", fixtures::make_psd(300, 48, true, true)},
  };
  for (Codec codec : {Codec::kFast, Codec::kStb})
    for (const auto& [name, bytes] : whole) {
      Item item = item_with(bytes);
      decode(item, options(codec));
      EXPECT_TRUE(item.ok()) << name << ": " << item.error;
      EXPECT_EQ(item.image.height, 48) << name;
    }
}

// The root fix under the refusals: every buffer stb allocates is zeroed. The heap is first
// filled with a marker, then freed, so a malloc'd buffer would come back holding it; stb is
// called directly with a header-only PNM, which the decode stage would refuse.
TEST(DecodeTrust, StbBuffersStartZeroed) {
  const size_t bytes = 64 * 64 * 3;
  for (int round = 0; round < 8; ++round) {
    {
      std::vector<uint8_t*> dirty;
      for (int i = 0; i < 16; ++i) {
        dirty.push_back(static_cast<uint8_t*>(std::malloc(bytes)));
        std::memset(dirty.back(), 0xA5, bytes);
      }
      for (uint8_t* p : dirty) std::free(p);
    }
    Image image;
    std::string why;
    const auto pnm = fixtures::make_pnm(64, 64, 3, 0);
    ASSERT_TRUE(stb_decode({pnm.begin(), pnm.end()}, &image, &why)) << why;
    ASSERT_EQ(image.bytes(), bytes);
    for (size_t i = 0; i < bytes; ++i) ASSERT_EQ(image.pixels[i], 0) << "byte " << i;
  }
}

// stb kept its BMP palette in an uninitialised stack array: a pixel naming an entry the file does
// not define copied stack bytes into the thumbnail. image/bmp.cc shows such pixels black, as
// Pillow and libvips do.
TEST(DecodeTrust, BmpPixelPastItsPaletteIsBlack) {
  Item bad = item_with(fixtures::make_palette_bmp(32, 16, 2, 200));
  decode(bad, options(Codec::kFast));
  ASSERT_TRUE(bad.ok()) << bad.error;
  EXPECT_EQ(pixel(bad, 5, 5), 0);
  Item good = item_with(fixtures::make_palette_bmp(32, 16, 201, 200));
  decode(good, options(Codec::kFast));
  ASSERT_TRUE(good.ok()) << good.error;
  EXPECT_EQ(pixel(good, 5, 5), 200);  // palette entry i is gray i
}

// 153 bytes of progressive JPEG claiming 10000x10000 made libjpeg-turbo zero a 300 MB coefficient
// buffer. At least one bit per 8x8 block is needed: refused before decoding.
TEST(DecodeTrust, TruncatedProgressiveJpegClaimingAHugeSizeIsRefused) {
  const auto jpeg = fixtures::make_truncated_progressive_jpeg(10000, 10000);
  ASSERT_LT(jpeg.size(), 2000u);
  for (Codec codec : {Codec::kFast, Codec::kStb}) {
    Item item = item_with(jpeg);
    decode(item, options(codec));
    EXPECT_TRUE(refused_as_short(item)) << status_name(item.status) << " " << item.error;
    EXPECT_EQ(item.source_width, 10000);
  }
}

// A PNG's IDAT cannot inflate more than 1032 times its size.
TEST(DecodeTrust, PngShorterThanDeflatesBestRatioIsRefused) {
  Item item = item_with(fixtures::make_png_header_only(8000, 8000));  // 192 MB in ~300 bytes
  decode(item, options(Codec::kFast));
  EXPECT_TRUE(refused_as_short(item)) << status_name(item.status) << " " << item.error;
}

// CPU: each scan of a progressive JPEG is a pass over the whole image.
TEST(DecodeTrust, JpegWithMoreScansThanTheLimitIsTooLarge) {
  Item at_limit = item_with(fixtures::make_jpeg_with_scans(64, 48, kMaxJpegScans));
  decode(at_limit, options(Codec::kFast));
  EXPECT_TRUE(at_limit.ok()) << at_limit.error;
  Item over = item_with(fixtures::make_jpeg_with_scans(64, 48, kMaxJpegScans + 1));
  decode(over, options(Codec::kFast));
  EXPECT_EQ(over.status, Status::kTooLarge) << over.error;
  EXPECT_NE(over.error.find("scans"), std::string::npos) << over.error;
  EXPECT_EQ(over.source_width, 64);
}

// CPU: stb walks every LZW code's whole string, even after the frame is full, so a few KB of codes
// cost millions of steps. The codes are counted before decoding.
TEST(DecodeTrust, GifLzwBombIsTooLarge) {
  Item bomb = item_with(fixtures::make_gif_lzw_bomb(64, 64, 4));  // ~46 KB, ~90 M steps
  const auto start = std::chrono::steady_clock::now();
  decode(bomb, options(Codec::kFast));
  EXPECT_EQ(bomb.status, Status::kTooLarge) << bomb.error;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(500));
  for (const auto& gif : {fixtures::make_gif(64, 48), fixtures::make_gif(300, 200, 3)}) {
    Item ok = item_with(gif);
    decode(ok, options(Codec::kFast));
    EXPECT_TRUE(ok.ok()) << ok.error;
  }
}

// stb allocates and clears a GIF's whole screen (9 bytes a pixel) before reading any block.
TEST(DecodeTrust, GifWithoutAFrameIsRefusedBeforeStbAllocates) {
  auto gif = fixtures::make_gif_on_screen(8000, 8000);
  gif.resize(gif.size() - 12);  // cut inside the frame's descriptor
  Item item = item_with(gif);
  decode(item, options(Codec::kFast));
  EXPECT_EQ(item.status, Status::kDecodeError) << item.error;
  EXPECT_NE(item.error.find("no image inside"), std::string::npos) << item.error;
  Item legal = item_with(fixtures::make_gif_on_screen(300, 200));  // a 1x1 frame on a big screen
  decode(legal, options(Codec::kFast));
  ASSERT_TRUE(legal.ok()) << legal.error;
  EXPECT_EQ(legal.image.width, 300);
}

// An animated WebP's first frame is decoded straight onto a transparent canvas (WebPAnimDecoder
// held two more canvases): the same pixels as before, a red dot at its offset. Guards the rewrite.
TEST(DecodeTrust, AnimatedWebpFrameLandsAtItsOffsetOnATransparentCanvas) {
  Item item = item_with(fixtures::make_animated_webp_on_canvas(40, 30, 10, 20));
  decode(item, options(Codec::kFast));
  ASSERT_TRUE(item.ok()) << item.error;
  ASSERT_EQ(item.image.width, 40);
  ASSERT_EQ(item.image.channels, 4);
  EXPECT_EQ(pixel(item, 10, 20, 0), 255);
  EXPECT_EQ(pixel(item, 10, 20, 3), 255);
  for (auto [x, y] : {std::pair{0, 0}, {11, 20}, {10, 21}, {39, 29}})
    EXPECT_EQ(pixel(item, x, y, 3), 0) << x << "," << y;
}

// A too_large row says what the header claimed.
TEST(DecodeTrust, TooLargeCarriesTheSourceSize) {
  Item over = item_with(fixtures::make_jpeg(100, 101));
  decode(over, options(Codec::kFast, 10'000));
  ASSERT_EQ(over.status, Status::kTooLarge);
  EXPECT_EQ(over.source_width, 100);
  EXPECT_EQ(over.source_height, 101);
  Item bomb = item_with(fixtures::make_png_header_only(50000, 50000));
  decode(bomb, options(Codec::kFast));
  ASSERT_EQ(bomb.status, Status::kTooLarge);
  EXPECT_EQ(bomb.source_width, 50000);
}

// With a budget, decode reserves the item's estimated peak before decoding, and an item that can
// never fit fails at once, naming the flag.
TEST(DecodeTrust, DecodeReservesItsPeakFromTheBudget) {
  PixelBudget budget(64 << 20);
  Reservation held;
  Item item = item_with(fixtures::make_jpeg(2000, 1500));
  decode(item, options(Codec::kStb, 100'000'000, {256, 256}), &budget, &held);  // 9 MB
  ASSERT_TRUE(item.ok()) << item.error;
  EXPECT_GE(held.bytes(), item.image.bytes());
  EXPECT_EQ(budget.in_use(), held.bytes());
  held.reset();
  EXPECT_EQ(budget.in_use(), 0u);

  PixelBudget small(4 << 20);
  Item big = item_with(fixtures::make_jpeg(2000, 1500));
  decode(big, options(Codec::kStb, 100'000'000, {256, 256}), &small, &held);
  EXPECT_EQ(big.status, Status::kTooLarge) << big.error;
  EXPECT_NE(big.error.find("--decode-memory"), std::string::npos) << big.error;
  EXPECT_EQ(big.source_width, 2000);
  EXPECT_EQ(small.in_use(), 0u);
}

// Reservations are estimates, but on the high side of what decoding holds: the coefficient buffer
// a progressive JPEG keeps at full resolution even when decoded at 1/8 is counted.
TEST(DecodeTrust, ProgressiveJpegReservesItsCoefficients) {
  PixelBudget budget(1ull << 40);
  Reservation baseline, progressive;
  Item a = item_with(fixtures::make_jpeg(2048, 2048));
  Item b = item_with(fixtures::make_progressive_jpeg(2048, 2048));
  decode(a, options(Codec::kFast, 100'000'000, {128, 128}), &budget, &baseline);
  decode(b, options(Codec::kFast, 100'000'000, {128, 128}), &budget, &progressive);
  ASSERT_TRUE(a.ok() && b.ok()) << a.error << b.error;
  EXPECT_EQ(a.image.width, 256);  // 1/8 scale
  // 2048x2048 4:2:0: 98304 blocks of 128 bytes of coefficients, which a baseline decode at 1/8
  // never holds.
  EXPECT_GE(progressive.bytes(), 98304u * 128);
  EXPECT_LT(baseline.bytes(), 98304u * 128 / 4);
}

}  // namespace
}  // namespace imgpipe

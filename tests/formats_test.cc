// --fail-on (truncated images, recoverable warnings) and the format fixes stb_image needed:
// 16-bit PNM, right-to-left TGA, a GIF first frame smaller than its screen, PNG checksums. Every
// file is generated here.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "fixtures/images.h"
#include "fixtures/kinds.h"
#include "stages/decode.h"

namespace imgpipe {
namespace {

using Bytes = std::vector<uint8_t>;

template <typename B>
Item decoded(const B& bytes, FailOn fail_on = FailOn::kTruncated) {
  ImageOptions o;
  o.format = Format::kPng;  // keeps alpha
  o.sizes = {{8192, 8192}};
  o.fail_on = fail_on;
  Item item;
  item.body.assign(bytes.begin(), bytes.end());
  decode(item, o);
  return item;
}

const uint8_t* at(const Item& item, int x, int y) {
  return &item.image.pixels[(size_t(y) * item.image.width + x) * item.image.channels];
}

// A JPEG with `junk` stray bytes before its second marker: libjpeg-turbo warns "Corrupt JPEG
// data: N extraneous bytes before marker" and decodes it, as Pillow, libvips and browsers do.
// It was refused, because the header read treated the warning as fatal.
TEST(FailOn, JpegJunkBeforeAMarkerIsAWarning) {
  Bytes jpeg = fixtures::make_jpeg(64, 48);
  const size_t second = 4 + (jpeg[4] << 8 | jpeg[5]);  // after SOI and the first segment
  jpeg.insert(jpeg.begin() + second, {0x00, 0x11, 0x22, 0x33});
  Item item = decoded(jpeg);
  ASSERT_TRUE(item.ok()) << item.error;
  ASSERT_EQ(item.warnings.size(), 1u);
  EXPECT_NE(item.warnings[0].find("4 extraneous bytes"), std::string::npos) << item.warnings[0];
  EXPECT_TRUE(decoded(jpeg, FailOn::kNone).ok());
  Item strict = decoded(jpeg, FailOn::kError);
  EXPECT_EQ(strict.status, Status::kDecodeError) << strict.error;
  EXPECT_NE(strict.error.find("extraneous"), std::string::npos) << strict.error;
}

// A JPEG cut off within its scan decoded "ok", the rest filled in gray.
TEST(FailOn, CutOffJpegIsTruncatedUnlessNone) {
  const Bytes whole = fixtures::make_jpeg(256, 256);
  ASSERT_TRUE(decoded(whole).ok());
  const Bytes cut(whole.begin(), whole.begin() + whole.size() * 2 / 3);
  for (FailOn f : {FailOn::kTruncated, FailOn::kError}) {
    Item item = decoded(cut, f);
    EXPECT_EQ(item.status, Status::kTruncated) << item.error;
    EXPECT_FALSE(item.image.pixels);
  }
  Item lenient = decoded(cut, FailOn::kNone);
  ASSERT_TRUE(lenient.ok()) << lenient.error;
  ASSERT_EQ(lenient.warnings.size(), 1u);
  EXPECT_EQ(lenient.warnings[0].rfind("truncated: ", 0), 0u) << lenient.warnings[0];
  EXPECT_EQ(lenient.image.width, 256);
}

// Files shorter than their headers claim were decode_error; now they are truncated, and with
// --fail-on none the decoder's zeroed buffer shows what is missing as blank.
TEST(FailOn, ShortStbFilesAreTruncatedOrBlankWithNone) {
  const fixtures::Bytes shorts[] = {
      fixtures::make_bmp_header_only(200, 150), fixtures::make_tga(200, 150, false, false),
      fixtures::make_psd(200, 150, false, false), fixtures::make_pnm(64, 64, 3, 100)};
  for (const auto& bytes : shorts) {
    Item item = decoded(bytes);
    EXPECT_EQ(item.status, Status::kTruncated) << item.error;
    EXPECT_NE(item.error.find("shorter than the header claims"), std::string::npos);
    Item lenient = decoded(bytes, FailOn::kNone);
    EXPECT_TRUE(lenient.ok()) << lenient.error;
    EXPECT_EQ(lenient.warnings.size(), 1u);
    EXPECT_GT(lenient.image.width, 0);
  }
}

// A GIF cut within its first frame's LZW data: stb leaves the rest of the frame empty.
TEST(FailOn, GifCutWithinItsFrameIsTruncated) {
  const auto gif = fixtures::make_gif(256, 256);
  const Bytes cut(gif.begin(), gif.begin() + gif.size() * 3 / 4);
  Item item = decoded(cut);
  EXPECT_EQ(item.status, Status::kTruncated) << status_name(item.status) << " " << item.error;
  Item lenient = decoded(cut, FailOn::kNone);
  EXPECT_TRUE(lenient.ok()) << lenient.error;
  EXPECT_EQ(lenient.warnings.size(), 1u);
}

// PNG and WebP decoders are strict: a cut-off file cannot be shown, and is truncated (not
// decode_error) whatever --fail-on says.
TEST(FailOn, CutOffPngAndWebpAreTruncated) {
  const auto png = fixtures::make_png(256, 256);
  const auto webp = fixtures::make_webp(256, 256, false);
  for (const auto* whole : {&png, &webp})
    for (FailOn f : {FailOn::kNone, FailOn::kTruncated}) {
      const Bytes cut(whole->begin(), whole->begin() + whole->size() * 3 / 4);
      Item item = decoded(cut, f);
      EXPECT_EQ(item.status, Status::kTruncated) << status_name(item.status) << " " << item.error;
    }
}

// PngSuite's xcsn0g01 and xhdn0g08: a chunk whose CRC-32 does not match. Checksums were skipped;
// such a file is refused now, as by libvips and Pillow (--fail-on none lets it through).
TEST(FailOn, PngChunkWithABadCrcIsRefused) {
  Bytes png = fixtures::make_png(32, 32);
  png[29] ^= 0x01;  // the last byte of IHDR's CRC (signature 8 + length 4 + type 4 + data 13)
  Item item = decoded(png);
  EXPECT_EQ(item.status, Status::kDecodeError) << item.error;
  EXPECT_NE(item.error.find("IHDR chunk fails its CRC"), std::string::npos) << item.error;
  Item lenient = decoded(png, FailOn::kNone);
  EXPECT_TRUE(lenient.ok()) << lenient.error;
  EXPECT_EQ(lenient.warnings.size(), 1u);
}

// 16-bit binary PGM/PPM came out as noise: stb 2.27 keeps the samples byte-swapped.
TEST(Formats, SixteenBitPnmIsScaledFromItsMaxval) {
  const int w = 16, h = 4;
  for (int maxval : {65535, 1023}) {
    std::string text =
        "P6\n" + std::to_string(w) + " " + std::to_string(h) + "\n" + std::to_string(maxval) + "\n";
    Bytes pnm(text.begin(), text.end());
    for (int i = 0; i < w * h * 3; ++i) {
      const int sample = i * maxval / (w * h * 3 - 1) | 0x15;  // both bytes vary
      pnm.push_back(static_cast<uint8_t>(std::min(sample, maxval) >> 8));
      pnm.push_back(static_cast<uint8_t>(std::min(sample, maxval)));
    }
    Item item = decoded(pnm);
    ASSERT_TRUE(item.ok()) << item.error;
    ASSERT_EQ(item.image.channels, 3);
    for (int i = 0; i < w * h * 3; ++i) {
      const int sample = std::min(i * maxval / (w * h * 3 - 1) | 0x15, maxval);
      EXPECT_NEAR(item.image.pixels[i], sample * 255.0 / maxval, 0.51) << maxval << " " << i;
    }
  }
}

// TGA's descriptor bit 4 stores each row right to left; stb ignored it and mirrored the image.
TEST(Formats, RightToLeftTgaIsNotMirrored) {
  const int w = 4, h = 2;
  for (uint8_t descriptor : {0x30, 0x10}) {  // right to left, top down or bottom up
    Bytes tga = {0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, w, 0, h, 0, 24, descriptor};
    for (int i = 0; i < w * h; ++i) {  // BGR: the first stored pixel red, the others blue
      const bool first = i == 0;
      tga.insert(tga.end(), {uint8_t(first ? 0 : 255), 0, uint8_t(first ? 255 : 0)});
    }
    Item item = decoded(tga);
    ASSERT_TRUE(item.ok()) << item.error;
    const int y = descriptor & 0x20 ? 0 : h - 1;  // the first stored row
    EXPECT_EQ(at(item, w - 1, y)[0], 255)
        << int(descriptor) << ": the first pixel is the right one";
    EXPECT_EQ(at(item, 0, y)[0], 0) << int(descriptor);
  }
}

// A GIF whose first frame covers part of the screen, with a non-zero background index: stb
// painted the rest of the screen opaque in the background colour; it is transparent.
TEST(Formats, GifScreenOutsideTheFirstFrameIsTransparent) {
  // 8×8 screen, background index 1 (green); a 4×4 frame at (2, 2) of index 2 (red). LZW with
  // 2-bit codes: a clear code before every two pixels keeps every code 3 bits wide.
  Bytes gif = {'G', 'I', 'F', '8', '9', 'a', 8,   0, 8, 0, 0x81, 1, 0,
               0,   0,   0,   0,   255, 0,   255, 0, 0, 0, 0,    0};
  gif.insert(gif.end(), {0x2C, 2, 0, 2, 0, 4, 0, 4, 0, 0, 2});
  std::vector<int> codes;
  for (int i = 0; i < 8; ++i) codes.insert(codes.end(), {4, 2, 2});
  codes.push_back(5);
  Bytes lzw;
  int bits = 0, n = 0;
  for (int c : codes) {
    bits |= c << n, n += 3;
    for (; n >= 8; n -= 8, bits >>= 8) lzw.push_back(static_cast<uint8_t>(bits));
  }
  if (n > 0) lzw.push_back(static_cast<uint8_t>(bits));
  gif.push_back(static_cast<uint8_t>(lzw.size()));
  gif.insert(gif.end(), lzw.begin(), lzw.end());
  gif.insert(gif.end(), {0, 0x3B});
  Item item = decoded(gif);
  ASSERT_TRUE(item.ok()) << item.error;
  ASSERT_EQ(item.image.channels, 4);
  EXPECT_EQ(at(item, 0, 0)[3], 0) << "outside the frame";
  EXPECT_EQ(at(item, 7, 7)[3], 0) << "outside the frame";
  EXPECT_EQ(at(item, 3, 3)[0], 255) << "inside the frame";
  EXPECT_EQ(at(item, 3, 3)[3], 255) << "inside the frame";
}

}  // namespace
}  // namespace imgpipe

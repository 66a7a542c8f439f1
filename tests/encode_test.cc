// Tests for alpha flattening and JPEG/PNG encoding (checked by decoding the result).
#include "stages/encode.h"

#include <gtest/gtest.h>

#include <cstring>

#include "fixtures/images.h"
#include "stages/decode.h"

namespace imgpipe {
namespace {

Image solid(int w, int h, std::vector<uint8_t> pixel) {
  Image img;
  int c = static_cast<int>(pixel.size());
  img.pixels.reset(static_cast<uint8_t*>(std::malloc(size_t(w) * h * c)));
  for (int i = 0; i < w * h; ++i) std::memcpy(&img.pixels[i * c], pixel.data(), c);
  img.width = w;
  img.height = h;
  img.channels = c;
  return img;
}

Item encoded(Image img, Format format, Codec codec = Codec::kFast) {
  Item item;
  item.thumbs.emplace_back();
  item.thumbs[0].image = std::move(img);
  ImageOptions o;
  o.format = format;
  o.codec = codec;
  encode(item, o);
  return item;
}

Item decoded(const Item& encoded_item) {
  Item back;
  back.body = encoded_item.thumbs[0].encoded;
  ImageOptions o;
  o.format = Format::kPng;  // keeps alpha (for JPEG output, decode flattens PNG alpha)
  decode(back, o);
  return back;
}

TEST(Encode, JpegFlattensAlphaAndRoundTripsOnBothCodecs) {
  for (Codec codec : {Codec::kFast, Codec::kStb}) {
    Item item = encoded(solid(40, 30, {200, 50, 50, 0}), Format::kJpeg, codec);
    ASSERT_TRUE(item.ok()) << item.error;
    EXPECT_FALSE(item.thumbs[0].image.pixels) << "pixels should be released after encoding";
    Item back = decoded(item);
    ASSERT_TRUE(back.ok()) << back.error;
    EXPECT_EQ(back.image.width, 40);
    EXPECT_EQ(back.image.height, 30);
    EXPECT_EQ(back.image.channels, 3);
    EXPECT_GT(back.image.pixels[0], 245);  // transparent red became white
  }
}

TEST(Encode, WebpKeepsAlphaAndWidensGray) {
  Item rgba = encoded(solid(8, 8, {10, 200, 30, 77}), Format::kWebp);
  ASSERT_TRUE(rgba.ok()) << rgba.error;
  Item back = decoded(rgba);
  ASSERT_TRUE(back.ok()) << back.error;
  EXPECT_EQ(back.image.channels, 4);
  EXPECT_NEAR(back.image.pixels[3], 77, 2);
  EXPECT_NEAR(back.image.pixels[1], 200, 8);

  Item gray = encoded(solid(8, 8, {90}), Format::kWebp);
  ASSERT_TRUE(gray.ok()) << gray.error;
  Item gray_back = decoded(gray);
  ASSERT_TRUE(gray_back.ok());
  EXPECT_NEAR(gray_back.image.pixels[0], 90, 4);
}

TEST(Encode, PngKeepsAlpha) {
  Item item = encoded(solid(8, 8, {1, 2, 3, 77}), Format::kPng);
  ASSERT_TRUE(item.ok()) << item.error;
  Item back = decoded(item);
  ASSERT_TRUE(back.ok()) << back.error;
  EXPECT_EQ(back.image.channels, 4);
  EXPECT_EQ(back.image.pixels[3], 77);
}

TEST(Encode, GrayJpegStaysGray) {
  for (Codec codec : {Codec::kFast, Codec::kStb}) {
    Item item = encoded(solid(8, 8, {90}), Format::kJpeg, codec);
    ASSERT_TRUE(item.ok());
    Item back = decoded(item);
    ASSERT_TRUE(back.ok());
    // libjpeg-turbo writes a one-component JPEG; stb_image_write stores gray as YCbCr.
    EXPECT_EQ(back.image.channels, codec == Codec::kFast ? 1 : 3);
    for (int c = 0; c < back.image.channels; ++c) EXPECT_NEAR(back.image.pixels[c], 90, 2);
  }
}

}  // namespace
}  // namespace imgpipe

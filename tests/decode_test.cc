// Tests for decoding: every input kind, the pixel cap, and garbage.
#include "stages/decode.h"

#include <gtest/gtest.h>

#include "fixtures/images.h"

namespace imgpipe {
namespace {

Item item_with(std::vector<unsigned char> bytes) {
  Item item;
  item.body.assign(bytes.begin(), bytes.end());
  return item;
}

struct Kind {
  const char* name;
  std::vector<unsigned char> bytes;
  int channels;
};

TEST(Decode, EveryFormatAndChannelLayout) {
  const Kind kinds[] = {
      {"jpeg rgb", fixtures::make_jpeg(64, 48), 3},
      {"jpeg gray", fixtures::make_jpeg(64, 48, 1), 1},
      {"png rgb", fixtures::make_png(64, 48), 3},
      {"png gray", fixtures::make_png(64, 48, 1), 1},
      {"png gray+alpha", fixtures::make_png(64, 48, 2), 2},
      {"png rgba", fixtures::make_png(64, 48, 4), 4},
      {"gif (palette)", fixtures::make_gif(64, 48), 4},  // stb gives GIF as RGBA
      {"bmp", fixtures::make_bmp(64, 48), 3},
  };
  for (const Kind& k : kinds) {
    Item item = item_with(k.bytes);
    decode(item, 100'000'000);
    ASSERT_TRUE(item.ok()) << k.name << ": " << item.error;
    EXPECT_EQ(item.image.width, 64) << k.name;
    EXPECT_EQ(item.image.height, 48) << k.name;
    EXPECT_EQ(item.source_width, 64) << k.name;
    EXPECT_EQ(item.image.channels, k.channels) << k.name;
    EXPECT_TRUE(item.body.empty()) << k.name << ": compressed bytes should be released";
  }
}

TEST(Decode, HeaderOverPixelCapIsRejectedBeforeDecoding) {
  Item item = item_with(fixtures::make_png_header_only(50000, 50000));
  decode(item, 100'000'000);
  EXPECT_EQ(item.status, Status::kTooLarge);
  EXPECT_NE(item.error.find("50000x50000"), std::string::npos) << item.error;
  EXPECT_FALSE(item.image.pixels);
}

TEST(Decode, PixelCapIsInclusive) {
  Item at_cap = item_with(fixtures::make_png(100, 100));
  decode(at_cap, 10'000);
  EXPECT_TRUE(at_cap.ok()) << at_cap.error;
  Item over = item_with(fixtures::make_png(100, 101));
  decode(over, 10'000);
  EXPECT_EQ(over.status, Status::kTooLarge);
}

TEST(Decode, NonImagesAreNotAnImage) {
  for (std::string text :
       {std::string("<html><body>404</body></html>"), std::string(""), std::string(1000, '\0')}) {
    Item item = item_with({text.begin(), text.end()});
    decode(item, 100'000'000);
    EXPECT_EQ(item.status, Status::kNotAnImage) << "'" << text.substr(0, 10) << "'";
  }
}

TEST(Decode, KnownMagicWithABrokenHeaderIsDecodeError) {
  for (std::string text : {std::string("GIF8"), std::string("\x89PNG\r\n\x1a\n"),
                           std::string("\xff\xd8\xff\xe0garbage")}) {
    Item item = item_with({text.begin(), text.end()});
    decode(item, 100'000'000);
    EXPECT_EQ(item.status, Status::kDecodeError) << text.substr(0, 4) << ": " << item.error;
  }
}

TEST(Decode, CorruptDataAfterAValidHeaderIsDecodeError) {
  auto png = fixtures::make_png(64, 48);
  png.resize(png.size() / 2);  // header and size intact, pixel data cut
  Item item = item_with(png);
  decode(item, 100'000'000);
  EXPECT_EQ(item.status, Status::kDecodeError) << item.error;
}

}  // namespace
}  // namespace imgpipe

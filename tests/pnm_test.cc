// Tests for image/pnm.cc: plain P1, P2 (8 and 16-bit) and P3, binary 1-bit P4, comments, samples
// past maxval, and data that ends early (through decode(), as the pipeline meets it).
#include "image/pnm.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "stages/decode.h"

namespace imgpipe {
namespace {

std::vector<uint8_t> bytes(const std::string& s) { return {s.begin(), s.end()}; }

Image decoded(const std::string& text) {
  Image img;
  std::string why;
  EXPECT_TRUE(pnm_decode(bytes(text), &img, &why)) << why;
  return img;
}

TEST(Pnm, PlainBitmapDigitsMayTouch) {
  const Image img = decoded("P1\n# a comment\n3 2\n1 0 1\n010");
  ASSERT_EQ(img.channels, 1);
  const uint8_t want[6] = {0, 255, 0, 255, 0, 255};  // 1 is black
  for (int i = 0; i < 6; ++i) EXPECT_EQ(img.pixels[i], want[i]) << i;
}

TEST(Pnm, PlainGraymapScalesFromMaxval) {
  const Image img = decoded("P2 2 1 4\n0 4");
  EXPECT_EQ(img.pixels[0], 0);
  EXPECT_EQ(img.pixels[1], 255);
  const Image wide = decoded("P2\n2 1\n65535\n32768 65535\n");
  EXPECT_EQ(wide.pixels[0], 128);
  EXPECT_EQ(wide.pixels[1], 255);
}

TEST(Pnm, PlainPixmapIsRgb) {
  const Image img = decoded("P3\n1 1\n255\n10 20 30\n");
  ASSERT_EQ(img.channels, 3);
  EXPECT_EQ(img.pixels[0], 10);
  EXPECT_EQ(img.pixels[2], 30);
}

TEST(Pnm, BinaryBitmapReadsBitsMostSignificantFirst) {
  // 10x2: rows of 2 bytes; 1 bits are black.
  std::string p4 = "P4\n10 2\n";
  p4 += std::string{'\x80', '\x40', '\x00', '\xC0'};
  const Image img = decoded(p4);
  EXPECT_EQ(img.pixels[0], 0);
  EXPECT_EQ(img.pixels[1], 255);
  EXPECT_EQ(img.pixels[9], 0);     // second byte, bit 6
  EXPECT_EQ(img.pixels[10], 255);  // second row starts with a fresh byte
  EXPECT_EQ(img.pixels[18], 0);
  EXPECT_EQ(img.pixels[19], 0);
}

TEST(Pnm, SampleAboveMaxvalOrStrayByteIsRefused) {
  PnmHeader h;
  std::string why;
  EXPECT_FALSE(pnm_header(bytes("P2 1 1 10 11"), &h, &why));
  EXPECT_NE(why.find("above maxval"), std::string::npos) << why;
  EXPECT_FALSE(pnm_header(bytes("P2 2 1 10 1 x"), &h, &why));
  EXPECT_FALSE(pnm_header(bytes("P2 0 1 10"), &h, &why));
}

TEST(Pnm, DataEndingEarlyIsTruncated) {
  Item item;
  item.body = bytes("P2 3 3 255 1 2 3 4 5 6 7 8");  // 8 of 9 samples
  decode(item, ImageOptions());
  EXPECT_EQ(item.status, Status::kTruncated) << item.error;
  Item p4;
  p4.body = bytes("P4 16 16\n");  // header only: 32 bytes missing
  decode(p4, ImageOptions());
  EXPECT_EQ(p4.status, Status::kTruncated) << p4.error;
  Item accepted;
  accepted.body = item.body;
  ImageOptions none;
  none.fail_on = FailOn::kNone;
  decode(accepted, none);
  ASSERT_TRUE(accepted.ok()) << accepted.error;
  EXPECT_EQ(accepted.image.pixels[8], 0);  // the missing sample
}

TEST(Pnm, HugeHeaderIsRefusedBeforeAllocating) {
  Item item;
  item.body = bytes("P1 100000 100000\n1");
  decode(item, ImageOptions());
  EXPECT_EQ(item.status, Status::kTooLarge) << item.error;
}

}  // namespace
}  // namespace imgpipe

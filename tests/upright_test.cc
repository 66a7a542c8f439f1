// EXIF orientation in every format that carries it: JPEG (APP1), PNG (eXIf) and WebP (EXIF). Each
// file is generated stored as a camera would store it for one of the 8 orientations, and the
// thumbnail must come out upright.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "fixtures/kinds.h"
#include "fixtures/marked.h"
#include "stages/decode.h"
#include "stages/encode.h"
#include "stages/resize.h"

namespace imgpipe {
namespace {

constexpr int kWidth = 64, kHeight = 48;

// The file a camera writes for `orientation`: the upright picture turned by the inverse
// transform, tagged with `orientation`.
std::vector<uint8_t> stored_file(Format format, int orientation) {
  Image img = marked_stored(kWidth, kHeight, orientation);
  ImageOptions o;
  o.format = format;
  o.quality = 95;
  std::vector<uint8_t> bytes;
  std::string why;
  if (!encode_image(img, o, &bytes, &why)) ADD_FAILURE() << why;
  const fixtures::Bytes b(bytes.begin(), bytes.end());
  const fixtures::Bytes tagged =
      format == Format::kJpeg  ? fixtures::with_exif_orientation(b, orientation)
      : format == Format::kPng ? fixtures::with_png_exif_orientation(b, orientation)
                               : fixtures::with_webp_exif_orientation(b, orientation);
  return {tagged.begin(), tagged.end()};
}

// The thumbnail is the source's own size (the box is larger): the marked corner must be the
// top-left one, and only that one.
void expect_upright(std::vector<uint8_t> bytes, const std::string& what) {
  ImageOptions o;
  o.format = Format::kPng;
  o.sizes = {{256, 256}};
  Item item;
  item.body = std::move(bytes);
  decode(item, o);
  ASSERT_TRUE(item.ok()) << what << ": " << item.error;
  resize(item, o);
  ASSERT_TRUE(item.ok()) << what << ": " << item.error;
  const Image& t = item.thumbs.at(0).image;
  ASSERT_EQ(t.width, kWidth) << what;
  ASSERT_EQ(t.height, kHeight) << what;
  EXPECT_TRUE(marked_corner_is_top_left(t)) << what;
}

TEST(Upright, AllEightOrientationsInJpegPngAndWebp) {
  for (Format format : {Format::kJpeg, Format::kPng, Format::kWebp})
    for (int orientation = 1; orientation <= 8; ++orientation)
      expect_upright(stored_file(format, orientation),
                     std::string(word(format)) + " orientation " + std::to_string(orientation));
}

// Some WebP writers keep JPEG's "Exif\0\0" before the TIFF data; Pillow and libvips read both.
TEST(Upright, WebpExifWithTheJpegPrefix) {
  for (int orientation : {3, 6, 8}) {
    const std::vector<uint8_t> plain = stored_file(Format::kWebp, 1);
    const fixtures::Bytes b(plain.begin(), plain.end());
    ImageOptions o;
    Item item;
    const auto tagged = fixtures::with_webp_exif_orientation(b, orientation, true);
    item.body.assign(tagged.begin(), tagged.end());
    decode(item, o);
    EXPECT_EQ(item.orientation, orientation);
  }
}

}  // namespace
}  // namespace imgpipe

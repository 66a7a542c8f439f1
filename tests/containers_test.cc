// HEIC, AVIF and TIFF in, AVIF out (issue 14 item 6): files written by libheif's encoders (x265,
// libaom) and libtiff, decoded by the decode stage; the container's orientation applied once; its
// ICC profile handed to the colour stage; a header claiming a huge image refused before decoding.
#include "fixtures/containers.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "fixtures/e2e_fixture.h"
#include "fixtures/marked.h"
#include "fixtures/pixels.h"
#include "fixtures/profiles.h"
#include "image/heif.h"
#include "stages/decode.h"
#include "stages/encode.h"
#include "stages/resize.h"

namespace imgpipe {
namespace {

using fixtures::Bytes;

constexpr int kW = 64, kH = 48;

// Four flat quadrants (red, green, blue, white; alpha 255, 64, 255, 160 when channels is 4):
// lossy codecs keep flat areas close, so their centres can be checked.
Bytes quadrants(int channels) {
  static const uint8_t kColours[4][4] = {
      {220, 30, 30, 255}, {30, 200, 40, 64}, {30, 40, 210, 255}, {240, 240, 240, 160}};
  Bytes px(size_t(kW) * kH * channels);
  for (int y = 0; y < kH; ++y)
    for (int x = 0; x < kW; ++x) {
      const uint8_t* c = kColours[(y >= kH / 2) * 2 + (x >= kW / 2)];
      uint8_t* p = &px[(size_t(y) * kW + x) * channels];
      if (channels == 1) p[0] = c[0];
      for (int i = 0; i < channels && channels > 1; ++i) p[i] = c[i];
    }
  return px;
}

Item decoded(const Bytes& file, ImageOptions o = {}) {
  Item item;
  item.body.assign(file.begin(), file.end());
  decode(item, o);
  return item;
}

// Each quadrant's centre within `tolerance` of what quadrants() stored.
void expect_quadrants(const Image& img, const Bytes& want, int tolerance, const std::string& what) {
  ASSERT_EQ(img.width, kW) << what;
  ASSERT_EQ(img.height, kH) << what;
  const int wc = int(want.size() / (size_t(kW) * kH));
  for (int q = 0; q < 4; ++q) {
    const int x = (q % 2) * kW / 2 + kW / 4, y = (q / 2) * kH / 2 + kH / 4;
    const uint8_t* got = &img.pixels[(size_t(y) * kW + x) * img.channels];
    const uint8_t* exp = &want[(size_t(y) * kW + x) * wc];
    for (int c = 0; c < img.channels; ++c)
      EXPECT_NEAR(got[c], exp[wc == 1 ? 0 : c], tolerance)
          << what << ": quadrant " << q << " channel " << c;
  }
}

TEST(Containers, HeicAndAvifDecodeWithAndWithoutAlpha) {
  for (bool avif : {false, true})
    for (int channels : {3, 4}) {
      const std::string what = std::string(avif ? "AVIF" : "HEIC") + " " + std::to_string(channels);
      const Bytes px = quadrants(channels);
      Item item = decoded(fixtures::make_heif(px, kW, kH, channels, avif));
      ASSERT_TRUE(item.ok()) << what << ": " << item.error;
      EXPECT_EQ(item.image.channels, channels) << what;
      EXPECT_EQ(item.source_width, kW);
      EXPECT_EQ(item.source_height, kH);
      expect_quadrants(item.image, px, 12, what);
    }
}

TEST(Containers, TiffDecodesGrayRgbAndStraightAlphaExactly) {
  for (int channels : {1, 3, 4}) {
    const Bytes px = quadrants(channels);
    for (int rows : {1, 8, kH}) {  // strips of a row, of 8, the whole image in one
      const std::string what = "TIFF " + std::to_string(channels) + "/" + std::to_string(rows);
      Item item = decoded(fixtures::make_tiff(px, kW, kH, channels, 1, {}, rows));
      ASSERT_TRUE(item.ok()) << what << ": " << item.error;
      EXPECT_EQ(item.image.channels, channels == 4 ? 4 : 3) << what;
      // Alpha: libtiff premultiplies; undone, the colour comes back within rounding.
      expect_quadrants(item.image, px, channels == 4 ? 2 : 0, what);
    }
  }
}

// What a camera writes for `orientation`: the upright picture stored turned by the inverse
// transform, tagged with `orientation` (irot/imir in HEIF, the Orientation tag in TIFF).
Bytes stored_file(bool tiff, int orientation) {
  const Image img = marked_stored(kW, kH, orientation);
  const Bytes px(img.pixels.get(), img.pixels.get() + img.bytes());
  return tiff ? fixtures::make_tiff(px, img.width, img.height, 3, orientation)
              : fixtures::make_heif(px, img.width, img.height, 3, false, orientation);
}

TEST(Containers, OrientationComesFromTheContainerAndIsAppliedOnce) {
  for (bool tiff : {false, true})
    for (int orientation = 1; orientation <= 8; ++orientation) {
      const std::string what =
          std::string(tiff ? "TIFF" : "HEIC") + " orientation " + std::to_string(orientation);
      ImageOptions o;
      o.format = Format::kPng;
      o.sizes = {{256, 256}};
      Item item = decoded(stored_file(tiff, orientation), o);
      ASSERT_TRUE(item.ok()) << what << ": " << item.error;
      EXPECT_EQ(item.source_width, kW) << what;
      EXPECT_EQ(item.source_height, kH) << what;
      resize(item, o);
      ASSERT_TRUE(item.ok()) << what << ": " << item.error;
      const Image& t = item.thumbs.at(0).image;
      ASSERT_EQ(t.width, kW) << what;
      ASSERT_EQ(t.height, kH) << what;
      EXPECT_TRUE(marked_corner_is_top_left(t)) << what;
    }
}

TEST(Containers, HeifTurnsByIrotAndImirAndNeverAgainByItsExif) {
  // Per HEIF (ISO/IEC 23008-12), irot and imir are the orientation; an EXIF Orientation that
  // repeats them, or contradicts them, must not turn the image a second time.
  ImageOptions o;
  o.format = Format::kPng;
  o.sizes = {{256, 256}};
  for (int exif : {6, 3}) {
    const Image stored = marked_stored(kW, kH, 6);
    const Bytes px(stored.pixels.get(), stored.pixels.get() + stored.bytes());
    Item item = decoded(fixtures::make_heif_with_exif(px, stored.width, stored.height, 6, exif), o);
    ASSERT_TRUE(item.ok()) << item.error;
    EXPECT_EQ(item.orientation, 1);
    EXPECT_EQ(item.image.width, kW) << "EXIF " << exif;
    EXPECT_EQ(item.image.height, kH) << "EXIF " << exif;
    EXPECT_TRUE(marked_corner_is_top_left(item.image)) << "EXIF " << exif << " turned it again";
  }
}

TEST(Containers, DeepHeifIsReducedTo8Bits) {
  const Bytes want = quadrants(3);
  // HEIC only: libheif 1.15 asks libaom 3.6 for AV1's professional profile for any deep image,
  // and libaom aborts on an assertion (4:2:2 expected) instead of encoding it. dav1d decodes deep
  // AVIF through the same libheif call with the same options.
  for (int bits : {10, 12}) {
    const std::string what = "HEIC " + std::to_string(bits) + "-bit";
    std::vector<uint16_t> deep(want.size());
    for (size_t i = 0; i < want.size(); ++i)  // the same colours at the deeper scale
      deep[i] = uint16_t((want[i] * ((1 << bits) - 1) + 127) / 255);
    const Bytes file = fixtures::make_deep_heic(deep, kW, kH, bits);
    HeifHeader header;
    std::string why;
    ASSERT_TRUE(heif_header(std::vector<uint8_t>(file.begin(), file.end()), &header, &why))
        << what << ": " << why;
    EXPECT_EQ(header.bits, bits) << what;
    Item item = decoded(file);
    ASSERT_TRUE(item.ok()) << what << ": " << item.error;
    expect_quadrants(item.image, want, 12, what);
  }
}

TEST(Containers, LibtiffErrorsBecomeTheRowsMessageAndStayOffStderr) {
  Bytes file = fixtures::make_tiff(quadrants(3), kW, kH, 3, 1, {}, kH);
  // libtiff writes the strip first, at offset 8: a deflate stream it cannot inflate.
  for (size_t i = 8; i < 40; ++i) file[i] = 0xA5;
  testing::internal::CaptureStderr();
  Item item = decoded(file);
  Item header_only = decoded(fixtures::make_tiff_header_only(100, 100));
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(item.status, Status::kDecodeError) << item.error;
  EXPECT_NE(item.error.find("corrupt TIFF: ZIPDecode"), std::string::npos) << item.error;
  EXPECT_FALSE(header_only.ok());
  EXPECT_NE(header_only.error.find("TIFF"), std::string::npos) << header_only.error;
  EXPECT_EQ(err, "") << "libtiff printed to stderr";
}

TEST(Containers, EmbeddedProfilesReachTheColourStage) {
  const Bytes adobe = fixtures::make_rgb_profile(fixtures::RgbSpace::kAdobeRgb);
  const Bytes px = quadrants(3);
  ImageOptions o;
  o.format = Format::kPng;
  o.sizes = {{256, 256}};
  for (int kind = 0; kind < 3; ++kind) {
    const char* what = kind == 0 ? "HEIC" : kind == 1 ? "AVIF" : "TIFF";
    auto make = [&](const Bytes& profile) {
      return kind == 2 ? fixtures::make_tiff(px, kW, kH, 3, 1, profile)
                       : fixtures::make_heif(px, kW, kH, 3, kind == 1, 1, profile);
    };
    Item tagged = decoded(make(adobe), o), plain = decoded(make({}), o);
    ASSERT_TRUE(tagged.ok()) << what << ": " << tagged.error;
    ASSERT_TRUE(plain.ok()) << what << ": " << plain.error;
    EXPECT_EQ(Bytes(tagged.icc_profile.begin(), tagged.icc_profile.end()), adobe) << what;
    EXPECT_TRUE(plain.icc_profile.empty()) << what;
    resize(tagged, o);
    resize(plain, o);
    // Adobe RGB's green (quadrant 1) is far more saturated than sRGB's: converted, its red
    // channel drops to about 0 and its blue channel falls (vips: 30,200,40 -> 0,203,31).
    const uint8_t* t = &tagged.thumbs.at(0).image.pixels[(size_t(kH / 4) * kW + 3 * kW / 4) * 3];
    const uint8_t* p = &plain.thumbs.at(0).image.pixels[(size_t(kH / 4) * kW + 3 * kW / 4) * 3];
    EXPECT_LT(t[0] + 15, p[0]) << what << ": the profile was not applied";
  }
}

TEST(Containers, NclxColourIsConvertedUnlessItIsSrgbs) {
  const Bytes px = quadrants(3);
  ImageOptions o;
  o.format = Format::kPng;
  o.sizes = {{256, 256}};
  auto green = [&](int primaries, int transfer, std::string* warnings) {
    Item item = decoded(fixtures::make_avif_nclx(px, kW, kH, primaries, transfer), o);
    EXPECT_TRUE(item.ok()) << item.error;
    *warnings = nlohmann::json(item.warnings).dump();
    resize(item, o);
    const uint8_t* p = &item.thumbs.at(0).image.pixels[(size_t(kH / 4) * kW + 3 * kW / 4) * 3];
    return std::vector<int>{p[0], p[1], p[2]};
  };
  std::string w_srgb, w_p3, w_pq;
  const std::vector<int> srgb = green(1, 13, &w_srgb);  // sRGB: as stored
  const std::vector<int> p3 = green(12, 13, &w_p3);     // Display P3
  const std::vector<int> pq = green(9, 16, &w_pq);      // BT.2020 PQ: HDR, not converted
  EXPECT_NEAR(srgb[0], 30, 12);
  EXPECT_NEAR(srgb[1], 200, 12);
  // P3's green is more saturated than sRGB's: converted, red falls (measured: 30,200,40 -> 0,204,0;
  // stored as sRGB it stays 30,200,41).
  EXPECT_LT(p3[0] + 15, srgb[0]) << "Display P3 was not converted";
  EXPECT_EQ(w_srgb, "[]");
  EXPECT_EQ(w_p3, "[]");
  EXPECT_NEAR(pq[0], srgb[0], 3);
  EXPECT_NE(w_pq.find("nclx"), std::string::npos) << w_pq;
}

TEST(Containers, HeadersClaimingHugeImagesAreTooLargeBeforeDecoding) {
  const Bytes px = quadrants(3);
  for (const auto& [what, file] :
       {std::pair<std::string, Bytes>{
            "HEIC", fixtures::with_ispe(fixtures::make_heif(px, kW, kH, 3, false), 30000, 30000)},
        {"AVIF", fixtures::with_ispe(fixtures::make_heif(px, kW, kH, 3, true), 30000, 30000)},
        // Past libheif's own 32768-px limit: still too_large, with what the header claims.
        {"HEIC", fixtures::with_ispe(fixtures::make_heif(px, kW, kH, 3, false), 40000, 30000)},
        {"AVIF", fixtures::with_ispe(fixtures::make_heif(px, kW, kH, 3, true), 4000000, 30000)},
        {"TIFF", fixtures::make_tiff_header_only(30000, 30000)}}) {
    Item item = decoded(file);
    EXPECT_EQ(item.status, Status::kTooLarge) << what << ": " << item.error;
    EXPECT_NE(item.error.find("x30000,"), std::string::npos) << what << ": " << item.error;
    EXPECT_EQ(item.image.pixels, nullptr) << what;
  }
  // Under --max-pixels, the estimate still goes to --decode-memory before anything is decoded.
  for (const auto& [what, file] :
       {std::pair<std::string, Bytes>{
            "HEIC", fixtures::with_ispe(fixtures::make_heif(px, kW, kH, 3, false), 2000, 2000)},
        {"TIFF", fixtures::make_tiff_header_only(2000, 2000)}}) {
    PixelBudget budget(1'000'000);
    Reservation held;
    ImageOptions o;
    Item item;
    item.body.assign(file.begin(), file.end());
    decode(item, o, &budget, &held);
    EXPECT_EQ(item.status, Status::kTooLarge) << what << ": " << item.error;
    EXPECT_NE(item.error.find("--decode-memory"), std::string::npos) << what << ": " << item.error;
    EXPECT_EQ(item.image.pixels, nullptr) << what;
  }
}

TEST(Containers, APanoramaWiderThanLibheifsDefaultLimitDecodes) {
  // libheif refuses a side of 32768 or more by default; under --max-pixels it is ours to take.
  constexpr int kWide = 33000, kTall = 8;
  const Bytes file =
      fixtures::make_heif(Bytes(size_t(kWide) * kTall * 3, 120), kWide, kTall, 3, true);
  Item item = decoded(file);
  ASSERT_TRUE(item.ok()) << item.error;
  EXPECT_EQ(item.image.width, kWide);
  EXPECT_EQ(item.image.height, kTall);
}

TEST(Containers, AGridCanvasIsJudgedBeforeDecodingNotJustItsIspe) {
  const Bytes px = quadrants(3);
  const Bytes tile = fixtures::make_heif(px, kW, kH, 3, false);
  // A valid grid of one tile: decoded like the tile.
  Item valid = decoded(fixtures::make_heic_grid(tile, kW, kH, kW, kH));
  ASSERT_TRUE(valid.ok()) << valid.error;
  expect_quadrants(valid.image, px, 12, "grid");
  // An ispe of 2000x2 over a 1999x1999 canvas: libheif's per-side limit (2001) lets the canvas
  // through and would allocate it; judged as 2000x1999, it is too large before that.
  ImageOptions o;
  o.max_pixels = 1'000'000;
  Item hostile = decoded(fixtures::make_heic_grid(tile, 1999, 1999, 2000, 2), o);
  EXPECT_EQ(hostile.status, Status::kTooLarge) << hostile.error;
  EXPECT_NE(hostile.error.find("2000x1999"), std::string::npos) << hostile.error;
}

TEST(Containers, ACodedSizeTheContainerDoesNotDeclareIsRefused) {
  // The ispe says 16x16, the HEVC stream holds 64x48: libheif would hand back more pixels than
  // the header checks judged.
  Item item =
      decoded(fixtures::with_ispe(fixtures::make_heif(quadrants(3), kW, kH, 3, false), 16, 16));
  EXPECT_FALSE(item.ok());
  EXPECT_EQ(item.image.pixels, nullptr);
}

TEST(Containers, AvifOutputRoundTripsThroughLibheif) {
  const Bytes adobe = fixtures::make_rgb_profile(fixtures::RgbSpace::kAdobeRgb);
  for (int channels : {1, 3, 4}) {
    const Bytes px = quadrants(channels);
    Image img = solid_image(kW, kH, channels, 0);
    std::copy(px.begin(), px.end(), img.pixels.get());
    ImageOptions o;
    o.format = Format::kAvif;
    o.quality = 90;
    std::vector<uint8_t> file;
    std::string why;
    ASSERT_TRUE(encode_image(
        img, o, &file, &why,
        channels == 3 ? std::vector<uint8_t>(adobe.begin(), adobe.end()) : std::vector<uint8_t>{}))
        << why;
    ASSERT_GT(file.size(), 12u);
    EXPECT_EQ(std::string(file.begin() + 4, file.begin() + 12), "ftypavif");
    Image back;
    ASSERT_TRUE(heif_decode(file, &back, &why)) << why;
    EXPECT_EQ(back.channels, channels == 4 ? 4 : 3);
    expect_quadrants(back, px, 12, "AVIF out, " + std::to_string(channels) + " channels");
    std::string warning;
    EXPECT_EQ(heif_icc_profile(file, &warning).size(), channels == 3 ? adobe.size() : 0u);
  }
}

TEST(Containers, AvifQualityIsQuality) {
  auto encoded = [](int quality) {
    // Noise over a gradient: detail that a lower quality gives up. (encode_image frees the
    // pixels, so each call gets its own.)
    Image img = solid_image(kW, kH, 3, 0);
    for (size_t i = 0; i < img.bytes(); ++i) img.pixels[i] = uint8_t(i * 7 % 251 + i / 192 % 5);
    ImageOptions o;
    o.format = Format::kAvif;
    o.quality = quality;
    std::vector<uint8_t> file;
    std::string why;
    EXPECT_TRUE(encode_image(img, o, &file, &why, {})) << why;
    return file.size();
  };
  const size_t low = encoded(30), high = encoded(95);
  EXPECT_LT(low * 2, high) << low << " vs " << high;
}

class ContainersE2e : public E2eTest {};

// Through the real binary from the loopback server: HEIC, AVIF and TIFF in, AVIF out, turned by
// the container, with alpha kept; headers claiming huge images refused as too_large.
TEST_F(ContainersE2e, HeicAvifAndTiffOverHttpBecomeAvifThumbnails) {
  struct Want {
    std::string path;
    int width, height, channels;  // the thumbnail's; 0: too_large
    int source_width, source_height;
  };
  const std::vector<Want> wants = {{"/container/64x48.heic", 32, 24, 3, 64, 48},
                                   {"/container/64x48-rgba.avif", 32, 24, 4, 64, 48},
                                   {"/container/64x48-o6.tif", 24, 32, 3, 48, 64},
                                   {"/container/64x48-o6.heic", 24, 32, 3, 48, 64},
                                   {"/container/64x48-rgba-o8.avif", 24, 32, 4, 48, 64},
                                   {"/huge-dims/30000x30000.heic", 0, 0, 0, 30000, 30000},
                                   {"/huge-dims/40000x30000.avif", 0, 0, 0, 40000, 30000},
                                   {"/huge-dims/30000x30000.tif", 0, 0, 0, 30000, 30000}};
  std::vector<std::string> lines;
  for (const Want& w : wants) lines.push_back(server_.url(w.path));
  const fs::path out = dir_ / "out";
  Outcome r = run(
      {"-i", write_list(lines).string(), "-o", out.string(), "-f", "avif", "-s", "32", "--quiet"});
  ASSERT_EQ(r.exit_code, 1) << r.err;  // the huge ones fail
  auto rows = manifest(out);
  ASSERT_EQ(rows.size(), wants.size());
  for (size_t i = 0; i < wants.size(); ++i) {
    const Want& w = wants[i];
    const json& row = rows[int(i) + 1];
    EXPECT_EQ(row["width"], w.source_width) << row.dump();
    EXPECT_EQ(row["height"], w.source_height) << row.dump();
    if (w.width == 0) {
      EXPECT_EQ(row["status"], "too_large") << row.dump();
      EXPECT_NE(row["error"].get<std::string>().find("--max-pixels"), std::string::npos);
      continue;
    }
    ASSERT_EQ(row["status"], "ok") << row.dump();
    const std::string output = row["output"];
    EXPECT_EQ(output.substr(output.size() - 5), ".avif");
    const std::string bytes = slurp(out / output);
    EXPECT_EQ(bytes.substr(4, 8), "ftypavif") << output;
    Item thumb = decode_file(out / output);
    ASSERT_TRUE(thumb.ok()) << output << ": " << thumb.error;
    EXPECT_EQ(thumb.image.width, w.width) << w.path;
    EXPECT_EQ(thumb.image.height, w.height) << w.path;
    EXPECT_EQ(thumb.image.channels, w.channels) << w.path;
  }
}

// Under a --max-pixels that lets a huge claim through, --decode-memory refuses it from the header
// alone: nothing is allocated for it (peak RSS stays small), and the real images still pass.
TEST_F(ContainersE2e, HugeClaimsUnderMaxPixelsAreRefusedByTheDecodeMemoryBudget) {
  std::vector<std::string> lines;
  for (const char* ext : {"heic", "avif", "tif"})
    lines.push_back(server_.url(std::string("/huge-dims/30000x30000.") + ext));
  lines.push_back(server_.url("/container/64x48.heic"));
  const fs::path out = dir_ / "out";
  Outcome r = run({"-i", write_list(lines).string(), "-o", out.string(), "--max-pixels",
                   "1000000000", "--decode-memory", "500M", "--quiet"});
  ASSERT_EQ(r.exit_code, 1) << r.err;
  auto rows = manifest(out);
  ASSERT_EQ(rows.size(), 4u);
  for (int line = 1; line <= 3; ++line) {
    EXPECT_EQ(rows[line]["status"], "too_large") << rows[line].dump();
    EXPECT_NE(rows[line]["error"].get<std::string>().find("--decode-memory"), std::string::npos)
        << rows[line].dump();
  }
  EXPECT_EQ(rows[4]["status"], "ok") << rows[4].dump();
  if (!kSanitizedBuild) {
    EXPECT_LT(r.max_rss_kb, 150 * 1024) << "peak RSS";
  }
}

}  // namespace
}  // namespace imgpipe

// Tests for image/icc.cc (profiles to sRGB through lcms2, the transform cache) and for the codecs'
// profile reading and writing (jpeg.h, png.h, webp.h), with profiles made by liblcms2 and files
// written by other libraries (fixtures/profiles.h).
#include "image/icc.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <thread>

#include "fixtures/kinds.h"
#include "fixtures/pixels.h"
#include "fixtures/profiles.h"
#include "image/jpeg.h"
#include "image/png.h"
#include "image/webp.h"

namespace imgpipe {
namespace {

using fixtures::Bytes;
using fixtures::RgbSpace;

Image image_of(const std::vector<uint8_t>& px, int w, int h, int channels) {
  Image img = solid_image(w, h, channels, 0);
  std::copy(px.begin(), px.end(), img.pixels.get());
  return img;
}

double srgb_encode(double v) {
  v = std::clamp(v, 0.0, 1.0);
  return 255 * (v <= 0.0031308 ? 12.92 * v : 1.055 * std::pow(v, 1 / 2.4) - 0.055);
}

// Adobe RGB (1998) → sRGB by the published matrices (both D65, so no adaptation): a reference
// that shares nothing with lcms.
std::array<double, 3> adobe_to_srgb(const uint8_t* rgb) {
  static const double kToXyz[3][3] = {{0.5767309, 0.1855540, 0.1881852},
                                      {0.2973769, 0.6273491, 0.0752741},
                                      {0.0270343, 0.0706872, 0.9911085}};
  static const double kToSrgb[3][3] = {{3.2404542, -1.5371385, -0.4985314},
                                       {-0.9692660, 1.8760108, 0.0415560},
                                       {0.0556434, -0.2040259, 1.0572252}};
  double lin[3], xyz[3] = {}, out[3] = {};
  for (int c = 0; c < 3; ++c) lin[c] = std::pow(rgb[c] / 255.0, 563.0 / 256);
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 3; ++c) xyz[r] += kToXyz[r][c] * lin[c];
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 3; ++c) out[r] += kToSrgb[r][c] * xyz[c];
  return {srgb_encode(out[0]), srgb_encode(out[1]), srgb_encode(out[2])};
}

const std::vector<uint8_t> kColours = {200, 40, 40, 40,  160, 60,  50,  60,  190, 230, 200,
                                       120, 90, 90, 90,  250, 250, 250, 10,  10,  10,  180,
                                       120, 90, 60, 200, 210, 128, 0,   128, 0,   128, 0};

TEST(Icc, AdobeRgbIsConvertedAsThePublishedMatricesSay) {
  const Bytes profile = fixtures::make_rgb_profile(RgbSpace::kAdobeRgb);
  IccConverter c = icc_to_srgb(profile, 3);
  ASSERT_TRUE(c.usable()) << c.problem();
  EXPECT_FALSE(c.identity());
  const int n = static_cast<int>(kColours.size() / 3);
  Image img = image_of(kColours, n, 1, 3);
  c.apply(img);
  for (int i = 0; i < n; ++i) {
    const auto want = adobe_to_srgb(&kColours[3 * i]);
    for (int ch = 0; ch < 3; ++ch)
      EXPECT_NEAR(img.pixels[3 * i + ch], want[ch], 2.0) << "colour " << i << " channel " << ch;
  }
  // Saturated colours move a long way (what untagged output loses); grays stay neutral.
  int most = 0;
  for (size_t i = 0; i < kColours.size(); ++i)
    most = std::max(most, std::abs(int(img.pixels[i]) - kColours[i]));
  EXPECT_GT(most, 30);
  for (int i : {4, 5, 6}) {
    EXPECT_NEAR(img.pixels[3 * i], img.pixels[3 * i + 1], 1);
    EXPECT_NEAR(img.pixels[3 * i + 2], img.pixels[3 * i + 1], 1);
  }
}

TEST(Icc, AlphaIsCopiedUntouched) {
  const Bytes profile = fixtures::make_rgb_profile(RgbSpace::kProPhoto);
  const int n = static_cast<int>(kColours.size() / 3);
  std::vector<uint8_t> rgba;
  for (int i = 0; i < n; ++i) {
    rgba.insert(rgba.end(), &kColours[3 * i], &kColours[3 * i] + 3);
    rgba.push_back(static_cast<uint8_t>(i * 23));
  }
  Image rgb_img = image_of(kColours, n, 1, 3), rgba_img = image_of(rgba, n, 1, 4);
  icc_to_srgb(profile, 3).apply(rgb_img);
  icc_to_srgb(profile, 4).apply(rgba_img);
  for (int i = 0; i < n; ++i) {
    EXPECT_EQ(rgba_img.pixels[4 * i + 3], i * 23);
    for (int c = 0; c < 3; ++c) EXPECT_EQ(rgba_img.pixels[4 * i + c], rgb_img.pixels[3 * i + c]);
  }
}

TEST(Icc, AnSrgbProfileIsAnIdentityAndCostsNothing) {
  IccConverter c = icc_to_srgb(fixtures::make_rgb_profile(RgbSpace::kSrgb), 3);
  ASSERT_TRUE(c.usable()) << c.problem();
  EXPECT_TRUE(c.identity());
  Image img = image_of(kColours, static_cast<int>(kColours.size() / 3), 1, 3);
  c.apply(img);
  EXPECT_TRUE(std::equal(kColours.begin(), kColours.end(), img.pixels.get()));
}

TEST(Icc, AGrayProfileKeepsGrayGrayAndMapsAGraySourceExpandedToRgba) {
  const Bytes linear = fixtures::make_gray_profile(1.0);
  Image gray = solid_image(4, 2, 1, 128);
  icc_to_srgb(linear, 1).apply(gray);
  const double want = srgb_encode(128 / 255.0);  // linear light 0.5 in sRGB's encoding: ~188
  EXPECT_NEAR(gray.pixels[0], want, 1.0);
  Image rgba = solid_image(4, 2, 4, 128);
  for (int i = 0; i < 8; ++i) rgba.pixels[4 * i + 3] = 77;
  icc_to_srgb(linear, 4).apply(rgba);
  for (int i = 0; i < 8; ++i) {
    for (int c = 0; c < 3; ++c) EXPECT_EQ(rgba.pixels[4 * i + c], gray.pixels[0]);
    EXPECT_EQ(rgba.pixels[4 * i + 3], 77);
  }
}

TEST(Icc, BrokenAndMismatchedProfilesAreUnusableAndChangeNothing) {
  const Bytes adobe = fixtures::make_rgb_profile(RgbSpace::kAdobeRgb);
  Bytes garbage(3000, 0x5a);
  std::copy(adobe.begin(), adobe.begin() + 128, garbage.begin());  // a valid-looking header
  const Bytes truncated(adobe.begin(), adobe.begin() + 200);
  for (const Bytes& p : {garbage, truncated}) {
    IccConverter c = icc_to_srgb(p, 3);
    EXPECT_FALSE(c.usable());
    EXPECT_FALSE(c.problem().empty());
    Image img = solid_image(3, 3, 3, 99);
    c.apply(img);
    EXPECT_EQ(img.pixels[4], 99);
  }
  EXPECT_FALSE(icc_to_srgb(adobe, 1).usable());  // an RGB profile on gray pixels
  EXPECT_NE(icc_to_srgb(adobe, 1).problem().find("RGB profile on gray"), std::string::npos);
  EXPECT_FALSE(icc_to_srgb(fixtures::make_cmyk_profile(), 3).usable());
}

TEST(Icc, FitsSaysWhetherAProfileDescribesTheSourcesColours) {
  std::string why;
  EXPECT_TRUE(icc_fits(fixtures::make_rgb_profile(RgbSpace::kDisplayP3), 3, &why));
  EXPECT_TRUE(icc_fits(fixtures::make_gray_profile(2.2), 1, &why));
  EXPECT_TRUE(icc_fits(fixtures::make_cmyk_profile(), 4, &why));
  EXPECT_FALSE(icc_fits(fixtures::make_gray_profile(2.2), 3, &why));
  EXPECT_NE(why.find("gray"), std::string::npos) << why;
  EXPECT_FALSE(icc_fits(Bytes(7, 1), 3, &why));  // Pillow's icc-after-SOF.jpg holds 7 bytes
  EXPECT_EQ(icc_space(fixtures::make_cmyk_profile()), IccSpace::kCmyk);
}

TEST(Icc, CmykGoesThroughItsProfileFromAdobeInvertedSamples) {
  const Bytes profile = fixtures::make_cmyk_profile();
  // Inks (0 = none, as the profile counts): none; 50% black; full cyan. The profile maps light to
  // light^1.6 in sRGB.
  const uint8_t ink[] = {0, 0, 0, 0, 0, 0, 0, 128, 255, 0, 0, 0};
  uint8_t stored[12], rgb[9];
  for (int i = 0; i < 12; ++i) stored[i] = static_cast<uint8_t>(255 - ink[i]);  // as JPEGs hold it
  std::string why;
  ASSERT_TRUE(icc_cmyk_to_srgb(profile, stored, rgb, 3, &why)) << why;
  for (int c = 0; c < 3; ++c) EXPECT_GE(rgb[c], 252);
  const double half = 255 * std::pow(127 / 255.0, 1.6);  // ~84; the naive formula gives 127
  for (int c = 0; c < 3; ++c) EXPECT_NEAR(rgb[3 + c], half, 4.0);
  EXPECT_LE(rgb[6], 3);
  EXPECT_GE(rgb[7], 252);
  EXPECT_FALSE(
      icc_cmyk_to_srgb(fixtures::make_rgb_profile(RgbSpace::kAdobeRgb), stored, rgb, 3, &why));
  EXPECT_FALSE(why.empty());
}

TEST(Icc, CmykConvertsInPlaceAcrossChunks) {
  const Bytes profile = fixtures::make_cmyk_profile();
  const size_t n = 10000;  // over the 4096-pixel chunk, twice
  std::vector<uint8_t> cmyk(n * 4), separate(n * 3);
  for (size_t i = 0; i < cmyk.size(); ++i) cmyk[i] = static_cast<uint8_t>(i * 7 % 251);
  std::string why;
  ASSERT_TRUE(icc_cmyk_to_srgb(profile, cmyk.data(), separate.data(), n, &why));
  ASSERT_TRUE(icc_cmyk_to_srgb(profile, cmyk.data(), cmyk.data(), n, &why));
  EXPECT_TRUE(std::equal(separate.begin(), separate.end(), cmyk.begin()));
}

TEST(Icc, EachProfileIsBuiltOnceAndTheCacheStaysBounded) {
  const Bytes p3 = fixtures::make_rgb_profile(RgbSpace::kDisplayP3);
  icc_to_srgb(p3, 3);
  const uint64_t builds = icc_cache_stats().builds;
  for (int i = 0; i < 10; ++i) icc_to_srgb(p3, 3);
  EXPECT_EQ(icc_cache_stats().builds, builds);
  IccConverter held = icc_to_srgb(p3, 3);
  // 100 distinct profiles (another gamma each), more than the cache keeps.
  for (int i = 0; i < 100; ++i) {
    Bytes p = fixtures::make_gray_profile(1.5 + i * 0.01);
    ASSERT_TRUE(icc_to_srgb(p, 1).usable());
  }
  const IccCacheStats s = icc_cache_stats();
  EXPECT_LE(s.entries, 64u);
  EXPECT_LE(s.bytes, size_t{32} << 20);
  EXPECT_GE(s.builds, builds + 100);
  // A converter outlives its entry's eviction.
  Image img = image_of(kColours, static_cast<int>(kColours.size() / 3), 1, 3);
  held.apply(img);
  EXPECT_NE(img.pixels[1], kColours[1]);
}

TEST(Icc, ThreadsShareTransformsAndAgree) {
  const Bytes adobe = fixtures::make_rgb_profile(RgbSpace::kAdobeRgb);
  const Bytes pro = fixtures::make_rgb_profile(RgbSpace::kProPhoto);
  const int n = static_cast<int>(kColours.size() / 3);
  Image want_a = image_of(kColours, n, 1, 3), want_p = image_of(kColours, n, 1, 3);
  icc_to_srgb(adobe, 3).apply(want_a);
  icc_to_srgb(pro, 3).apply(want_p);
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        const bool a = (i + t) % 2;
        Image img = image_of(kColours, n, 1, 3);
        icc_to_srgb(a ? adobe : pro, 3).apply(img);
        const Image& want = a ? want_a : want_p;
        if (!std::equal(img.pixels.get(), img.pixels.get() + img.bytes(), want.pixels.get()))
          ++wrong;
        // New profiles being built meanwhile, on every thread.
        icc_to_srgb(fixtures::make_gray_profile(2.0 + (t * 200 + i) * 1e-4), 1);
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
}

// --- The codecs' profile reading and writing. ---

// A profile-sized blob that is not a profile: extraction only carries bytes.
Bytes blob(size_t n) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<unsigned char>(i * 31 + i / 251);
  return b;
}

// An APP2 ICC_PROFILE segment holding `data` as chunk seq of count.
Bytes icc_segment(const Bytes& data, int seq, int count) {
  const size_t len = data.size() + 16;
  const uint8_t head[18] = {0xFF,
                            0xE2,
                            uint8_t(len >> 8),
                            uint8_t(len),
                            'I',
                            'C',
                            'C',
                            '_',
                            'P',
                            'R',
                            'O',
                            'F',
                            'I',
                            'L',
                            'E',
                            0,
                            uint8_t(seq),
                            uint8_t(count)};
  Bytes s(head, head + 18);
  s.resize(18 + data.size());
  std::copy(data.begin(), data.end(), s.begin() + 18);
  return s;
}

Bytes insert_after_soi(Bytes jpeg, const std::vector<Bytes>& segments) {
  size_t at = 2;
  for (const Bytes& s : segments) {
    jpeg.insert(jpeg.begin() + at, s.begin(), s.end());
    at += s.size();
  }
  return jpeg;
}

TEST(IccCodecs, JpegProfilesAreJoinedFromTheirChunksInSequenceOrder) {
  const Bytes px = fixtures::make_patches(64, 48, 2, 2, kColours, 3);
  const Bytes big = blob(200'000);  // four chunks
  std::string warning;
  EXPECT_EQ(jpeg_icc_profile(fixtures::make_tagged_jpeg(px, 64, 48, 3, big), &warning), big);
  EXPECT_TRUE(warning.empty()) << warning;
  const Bytes plain = fixtures::make_tagged_jpeg(px, 64, 48, 3, {});
  EXPECT_TRUE(jpeg_icc_profile(plain, &warning).empty());
  const Bytes a = blob(1000), b = blob(500);
  Bytes ab = a;
  ab.insert(ab.end(), b.begin(), b.end());
  EXPECT_EQ(jpeg_icc_profile(insert_after_soi(plain, {icc_segment(b, 2, 2), icc_segment(a, 1, 2)}),
                             &warning),
            ab);
  EXPECT_TRUE(warning.empty()) << warning;
}

TEST(IccCodecs, InconsistentOrOversizedJpegChunksAreIgnoredWithAWarning) {
  const Bytes plain =
      fixtures::make_tagged_jpeg(fixtures::make_patches(32, 32, 1, 1, kColours, 3), 32, 32, 3, {});
  const Bytes a = blob(1000);
  const std::vector<std::vector<Bytes>> bad = {
      {icc_segment(a, 1, 2)},                        // chunk 2 missing
      {icc_segment(a, 1, 2), icc_segment(a, 1, 2)},  // chunk 1 twice
      {icc_segment(a, 3, 2)},                        // beyond the count
      {icc_segment(a, 1, 2), icc_segment(a, 2, 3)},  // counts disagree
  };
  for (const auto& segments : bad) {
    std::string warning;
    EXPECT_TRUE(jpeg_icc_profile(insert_after_soi(plain, segments), &warning).empty());
    EXPECT_FALSE(warning.empty());
  }
  std::vector<Bytes> huge;  // 70 chunks of 65519 bytes: 4.6 MB, over the 4 MiB cap
  const Bytes chunk = blob(65519);
  for (int i = 1; i <= 70; ++i) huge.push_back(icc_segment(chunk, i, 70));
  std::string warning;
  EXPECT_TRUE(jpeg_icc_profile(insert_after_soi(plain, huge), &warning).empty());
  EXPECT_NE(warning.find("over the limit"), std::string::npos) << warning;
}

TEST(IccCodecs, EmbeddedJpegProfilesReadBackWithLibjpeg) {
  const Bytes px = fixtures::make_patches(64, 48, 2, 2, kColours, 3);
  std::vector<uint8_t> jpeg = fixtures::make_tagged_jpeg(px, 64, 48, 3, {});
  for (size_t n : {size_t{560}, size_t{65519}, size_t{65520}, size_t{300'000}}) {
    std::vector<uint8_t> j = jpeg;
    ASSERT_TRUE(jpeg_embed_icc(&j, blob(n)));
    EXPECT_EQ(fixtures::read_jpeg_icc(j), blob(n)) << n;
    Image img;
    std::string why;
    ASSERT_TRUE(jpeg_decode(j, 1, &img, &why)) << why;
  }
}

TEST(IccCodecs, PngProfilesAreInflatedUpToTheCap) {
  const Bytes px = fixtures::make_patches(40, 30, 2, 2, kColours, 3);
  const Bytes p3 = fixtures::make_rgb_profile(RgbSpace::kDisplayP3);
  std::string warning;
  EXPECT_EQ(png_icc_profile(fixtures::make_tagged_png(px, 40, 30, 3, p3), &warning), p3);
  EXPECT_TRUE(warning.empty()) << warning;
  // 12 MB of filler in ~12 KB of file: dropped at 4 MiB, not inflated in full.
  const Bytes huge = fixtures::make_png_with_iccp(40, 30, 12 << 20);
  EXPECT_TRUE(png_icc_profile(huge, &warning).empty());
  EXPECT_NE(warning.find("more than"), std::string::npos) << warning;
  Bytes corrupt = fixtures::make_tagged_png(px, 40, 30, 3, p3);
  const size_t at =
      std::search(corrupt.begin(), corrupt.end(), "iCCP", "iCCP" + 4) - corrupt.begin();
  corrupt[at + 4 + 5 + 2 + 20] ^= 0xFF;  // inside the zlib stream
  warning.clear();
  EXPECT_TRUE(png_icc_profile(corrupt, &warning).empty());
  EXPECT_FALSE(warning.empty());
}

TEST(IccCodecs, ACorruptIccpStreamDoesNotFailThePngItIsIn) {
  // 16-bit: decoded by lodepng, which used to inflate iCCP itself and fail the image on a bad
  // stream (and hold up to 16 MB for a big one).
  Bytes png = fixtures::make_png16(30, 20);
  const Bytes p = fixtures::make_rgb_profile(RgbSpace::kAdobeRgb);
  std::vector<uint8_t> tagged(png.begin(), png.end());
  ASSERT_TRUE(png_embed_icc(&tagged, p));
  const size_t at = std::search(tagged.begin(), tagged.end(), "iCCP", "iCCP" + 4) - tagged.begin();
  tagged[at + 4 + 12 + 2 + 30] ^= 0xFF;  // inside the zlib stream: the CRC is not checked
  Image img;
  std::string why;
  EXPECT_TRUE(png_decode(tagged, 1, &img, &why, PngPath::kWhole)) << why;
  EXPECT_EQ(img.width, 30);
}

TEST(IccCodecs, EmbeddedPngProfilesReadBackWithLibspng) {
  std::vector<uint8_t> png =
      fixtures::make_tagged_png(fixtures::make_patches(40, 30, 2, 2, kColours, 3), 40, 30, 3, {});
  const Bytes p = fixtures::make_rgb_profile(RgbSpace::kProPhoto);
  ASSERT_TRUE(png_embed_icc(&png, p));
  EXPECT_EQ(fixtures::read_png_icc(png), p);
}

TEST(IccCodecs, WebpProfilesRoundTrip) {
  const Bytes px = fixtures::make_patches(40, 30, 2, 2, kColours, 3);
  const Bytes p = fixtures::make_rgb_profile(RgbSpace::kDisplayP3);
  std::string warning;
  EXPECT_EQ(webp_icc_profile(fixtures::make_tagged_webp(px, 40, 30, p), &warning), p);
  std::vector<uint8_t> plain = fixtures::make_tagged_webp(px, 40, 30, {});
  EXPECT_TRUE(webp_icc_profile(plain, &warning).empty());
  ASSERT_TRUE(webp_embed_icc(&plain, p));
  EXPECT_EQ(webp_icc_profile(plain, &warning), p);
  EXPECT_TRUE(warning.empty()) << warning;
  Image img;
  std::string why;
  ASSERT_TRUE(webp_decode(plain, {0, 0}, &img, &why)) << why;
}

TEST(IccFromCicp, SrgbNeedsNoProfileWideGamutGetsOneHdrIsRefused) {
  std::string why;
  EXPECT_TRUE(icc_from_cicp(1, 13, &why).empty());  // sRGB
  EXPECT_TRUE(icc_from_cicp(2, 2, &why).empty());   // unspecified: taken as sRGB
  EXPECT_EQ(why, "");
  for (int primaries : {1, 5, 6, 9, 11, 12}) {
    const std::vector<uint8_t> p = icc_from_cicp(primaries, 8, &why);  // linear: never sRGB
    ASSERT_FALSE(p.empty()) << primaries << ": " << why;
    EXPECT_EQ(icc_space(p), IccSpace::kRgb);
    EXPECT_TRUE(icc_fits(p, 3, &why)) << why;
    // The profile converts: linear mid-grey is brighter in sRGB's encoding.
    Image img = solid_image(4, 4, 3, 50);
    const IccConverter c = icc_to_srgb(p, 3);
    ASSERT_TRUE(c.usable()) << c.problem();
    c.apply(img);
    EXPECT_GT(img.pixels[0], 100) << primaries;
  }
  EXPECT_FALSE(icc_from_cicp(12, 13, &why).empty());  // Display P3
  for (auto [primaries, transfer] : {std::pair{9, 16}, {9, 18}, {99, 13}}) {
    why.clear();
    EXPECT_TRUE(icc_from_cicp(primaries, transfer, &why).empty());
    EXPECT_NE(why.find("nclx"), std::string::npos) << primaries << "/" << transfer;
  }
}

}  // namespace
}  // namespace imgpipe

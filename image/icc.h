// ICC colour profiles: pixels converted from an image's embedded profile to sRGB with liblcms2,
// the transforms cached per profile. Reading a profile out of a file (JPEG APP2, PNG iCCP, WebP
// ICCP) and writing one in are the codecs' business (jpeg.h, png.h, webp.h); this file only
// judges profiles and converts pixels.
//
// Thread-safety: every function may be called from any number of threads. The cache is one
// mutex-guarded LRU list, locked only to look up and to insert, never while lcms builds a
// transform. A built transform is shared by all threads: since lcms2 2.3 each cmsDoTransform call
// works on its own copy of the transform's one-pixel cache (cmsxform.c, CachedXFORM), so
// concurrent calls on one transform are safe (Debian 12 ships 2.14), and cmsDoTransform
// allocates nothing for 8-bit formats.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/image.h"

namespace imgpipe {

// Largest embedded profile read. Real profiles are 0.5–4 KB (sRGB, Adobe RGB, Display P3),
// camera ones up to a few hundred KB and the largest press (CMYK) profiles ~2 MB; 4 MiB holds
// them all. A PNG iCCP inflates at up to 1032:1, so without a cap 4 KB of file could ask for
// 4 MB and 16 KB for 16 MB (lodepng's and libspng's own limit): a longer profile is dropped,
// with a warning, before it costs more than this.
constexpr size_t kMaxIccBytes = size_t{4} << 20;

// The colour space an ICC profile's header declares (bytes 16-19), read without lcms.
enum class IccSpace { kUnknown, kGray, kRgb, kCmyk };
IccSpace icc_space(const std::vector<uint8_t>& profile);

// Whether `profile` can describe what a source with `components` colour components holds (1: a
// gray image, 3: RGB or YCbCr, 4: CMYK). False with *why for a header that is not a profile's, or
// a mismatch such as a gray profile on an RGB JPEG, which is what the image really is and the
// profile a mistake: such a profile is ignored, as vips and browsers do.
bool icc_fits(const std::vector<uint8_t>& profile, int components, std::string* why);

namespace icc_detail {
struct Entry;
}

// An RGB profile for colour given as ITU-T H.273 code points (a HEIF's or AVIF's nclx box): the
// primaries BT.709 (1), BT.470BG (5), SMPTE 170M (6), BT.2020 (9), DCI-P3 (11) or Display P3 (12)
// with the transfer BT.709 (1, 6, 14, 15), gamma 2.2 (4) or 2.8 (5), linear (8) or sRGB (13).
// Empty for sRGB itself (BT.709 primaries with an sRGB-like transfer, or unspecified: no
// conversion needed), and empty with *why for what it cannot describe: HDR transfers (PQ, HLG),
// which need tone mapping, and unknown code points.
std::vector<uint8_t> icc_from_cicp(int primaries, int transfer, std::string* why);

// One profile's conversion to sRGB for one pixel layout, from the cache. Cheap to copy (it shares
// the cached entry); a converter stays valid after the cache drops its entry.
class IccConverter {
 public:
  IccConverter() = default;
  // False when lcms refused the profile or it does not fit the layout; problem() says why.
  bool usable() const;
  // True when the transform gives back every colour within 1/255 (an sRGB profile): apply() then
  // leaves the pixels alone, which is what converting them would come to.
  bool identity() const;
  const std::string& problem() const;
  // Converts `image` (the layout the converter was made for) to sRGB in place; alpha untouched.
  void apply(Image& image) const;

 private:
  friend IccConverter icc_to_srgb(const std::vector<uint8_t>& profile, int channels);
  std::shared_ptr<const icc_detail::Entry> entry_;
};

// The converter from `profile` to sRGB for 8-bit pixels of `channels` channels: 1 gray, 2 gray +
// alpha, 3 RGB, 4 RGBA. A gray profile keeps gray pixels gray (sRGB's tone curve, D50 white);
// with 3 or 4 channels it must be a gray source expanded to RGB (a PNG with transparency: R = G =
// B), and each channel gets the gray curve. Built once per profile and layout, then cached.
IccConverter icc_to_srgb(const std::vector<uint8_t>& profile, int channels);

// Converts `pixels` CMYK pixels (4 bytes each, Adobe's inverted form: 0 = full ink, as CMYK JPEGs
// store them) through a CMYK `profile` into sRGB RGB (3 bytes each; `rgb` may be `cmyk` itself:
// each pixel is read before it is written). False with *why, nothing written, when lcms refuses
// the profile.
bool icc_cmyk_to_srgb(const std::vector<uint8_t>& profile, const uint8_t* cmyk, uint8_t* rgb,
                      size_t pixels, std::string* why);

// What the cache holds now, for tests and the bound's check.
struct IccCacheStats {
  size_t entries = 0;
  size_t bytes = 0;     // lcms memory held by the cached transforms, counted by our allocator
  uint64_t builds = 0;  // transforms built since the process started (cache misses)
};
IccCacheStats icc_cache_stats();

}  // namespace imgpipe

// ICC profiles to sRGB through liblcms2: one lcms context per cached transform, its memory counted
// (and capped) by our allocator, the transforms in an LRU cache keyed by the profile's SHA-256.
#include "image/icc.h"

#include <lcms2.h>
#include <lcms2_plugin.h>
#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <list>
#include <map>
#include <mutex>

namespace imgpipe {

namespace {

// Most memory lcms may allocate while it reads one profile and builds its transform. A 4 MiB
// profile's lookup tables come to a few times its size once read (16-bit or float samples), and
// lcms resamples a CMYK transform into a 17^4-point table (0.5 MB); 64 MiB leaves room for that
// and refuses whatever else a hostile profile's tag sizes would make lcms allocate.
constexpr size_t kMaxBuildBytes = size_t{64} << 20;

// What the cache keeps. A web crawl meets a handful of distinct profiles (sRGB's variants, Display
// P3, Adobe RGB, some camera and press profiles), each in one or two layouts: 64 entries hold them
// all. A matrix-shaper transform holds ~20 KB, a LUT-based one up to ~1 MB (measured with the
// counting allocator: icc_cache_stats), so 32 MiB keeps dozens of the big ones. The bound makes a
// list of ever new profiles cost rebuilds, never memory.
constexpr size_t kMaxCacheEntries = 64;
constexpr size_t kMaxCacheBytes = size_t{32} << 20;

// The lcms memory of one build: what the transform holds, and the cap while it is built.
struct Budget {
  std::atomic<size_t> used{0};
  size_t limit = kMaxBuildBytes;
  std::atomic<bool> refused{false};  // an allocation was refused for the limit
};

// What the allocator and the error handler act for on this thread: the build in progress. lcms
// allocates on the thread that calls it, and every allocation of a build happens inside one.
struct BuildScope {
  Budget* budget = nullptr;
  std::string* error = nullptr;
};
thread_local BuildScope* t_scope = nullptr;

// Each block remembers its size and budget, so a free anywhere (the cache may drop an entry on
// another thread) gives the bytes back to the right budget. 16 bytes keep malloc's alignment.
struct alignas(16) BlockHeader {
  size_t size;
  Budget* budget;
};

void* counted_malloc(cmsContext, cmsUInt32Number size) {
  Budget* b = t_scope ? t_scope->budget : nullptr;
  if (b && b->used.load() + size > b->limit) {
    b->refused = true;
    return nullptr;  // lcms gives up on the profile and says so
  }
  auto* h = static_cast<BlockHeader*>(std::malloc(sizeof(BlockHeader) + size));
  if (!h) return nullptr;
  *h = {size, b};
  if (b) b->used += size;
  return h + 1;
}

void counted_free(cmsContext, void* p) {
  if (!p) return;
  BlockHeader* h = static_cast<BlockHeader*>(p) - 1;
  if (h->budget) h->budget->used -= h->size;
  std::free(h);
}

void* counted_realloc(cmsContext ctx, void* p, cmsUInt32Number size) {
  void* q = counted_malloc(ctx, size);
  if (q && p) {
    std::memcpy(q, p, std::min<size_t>(size, (static_cast<BlockHeader*>(p) - 1)->size));
    counted_free(ctx, p);
  }
  return q;
}

cmsPluginMemHandler counting_allocator() {
  cmsPluginMemHandler m{};
  m.base.Magic = cmsPluginMagicNumber;
  m.base.ExpectedVersion = LCMS_VERSION;
  m.base.Type = cmsPluginMemHandlerSig;
  m.MallocPtr = counted_malloc;
  m.FreePtr = counted_free;
  m.ReallocPtr = counted_realloc;
  return m;
}

void log_error(cmsContext, cmsUInt32Number, const char* text) {
  if (t_scope && t_scope->error && t_scope->error->empty() && text) *t_scope->error = text;
}

// The pixel layouts a converter is built for: lcms transforms are fixed to their formats.
// CMYK is always Adobe's inverted form, as CMYK JPEGs store it (jpeg.cc).
enum class Layout : uint8_t { kGray, kRgb, kRgba, kCmykInverted };

uint32_t big_endian32(const uint8_t* p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3];
}

const char* space_name(IccSpace s) {
  switch (s) {
    case IccSpace::kGray:
      return "gray";
    case IccSpace::kRgb:
      return "RGB";
    case IccSpace::kCmyk:
      return "CMYK";
    case IccSpace::kUnknown:
      break;
  }
  return "other";
}

}  // namespace

namespace icc_detail {

// One profile's conversion for one layout: nothing (unusable, or identity), a 256-entry table (a
// gray profile: gray to gray is one curve), or an lcms transform with the context that owns it.
struct Entry {
  enum class Kind { kUnusable, kIdentity, kLut, kTransform };
  Kind kind = Kind::kUnusable;
  std::string problem;
  std::array<uint8_t, 256> lut{};
  Budget budget;  // declared before ctx: the context's blocks give their bytes back to it
  cmsContext ctx = nullptr;
  cmsHTRANSFORM transform = nullptr;

  Entry() = default;
  Entry(const Entry&) = delete;
  Entry& operator=(const Entry&) = delete;
  ~Entry() {
    if (transform) cmsDeleteTransform(transform);
    if (ctx) cmsDeleteContext(ctx);
  }
};

}  // namespace icc_detail

using icc_detail::Entry;

namespace {

// sRGB's tone curve on a D50 gray: what a gray sRGB image means (R = G = B in sRGB).
cmsHPROFILE srgb_gray(cmsContext ctx) {
  const cmsFloat64Number params[5] = {2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045};
  cmsToneCurve* curve = cmsBuildParametricToneCurve(ctx, 4, params);
  if (!curve) return nullptr;
  cmsHPROFILE p = cmsCreateGrayProfileTHR(ctx, cmsD50_xyY(), curve);
  cmsFreeToneCurve(curve);
  return p;
}

// A plain number, not lcms's enum: a profile's header may hold any value, and an enum holding one
// it does not name is undefined behaviour (UBSan, found by fuzz_image).
IccSpace space_of(uint32_t s) {
  if (s == cmsSigGrayData) return IccSpace::kGray;
  if (s == cmsSigRgbData) return IccSpace::kRgb;
  if (s == cmsSigCmykData) return IccSpace::kCmyk;
  return IccSpace::kUnknown;
}

IccSpace layout_space(Layout l) {
  if (l == Layout::kGray) return IccSpace::kGray;
  if (l == Layout::kRgb || l == Layout::kRgba) return IccSpace::kRgb;
  return IccSpace::kCmyk;
}

cmsUInt32Number input_format(Layout l) {
  switch (l) {
    case Layout::kGray:
      return TYPE_GRAY_8;
    case Layout::kRgb:
      return TYPE_RGB_8;
    case Layout::kRgba:
      return TYPE_RGBA_8;
    case Layout::kCmykInverted:
      return TYPE_CMYK_8_REV;
  }
  return TYPE_RGB_8;
}

cmsUInt32Number output_format(Layout l) {
  return l == Layout::kGray ? TYPE_GRAY_8 : l == Layout::kRgba ? TYPE_RGBA_8 : TYPE_RGB_8;
}

// Why a profile that opened cannot serve as a source here, or "" if it can.
std::string unsuitable(cmsHPROFILE src, Layout layout) {
  const IccSpace space = space_of(cmsGetColorSpace(src));
  if (space != layout_space(layout))
    return std::string("a ") + space_name(space) + " profile on " +
           space_name(layout_space(layout)) + " pixels";
  const uint32_t c = cmsGetDeviceClass(src);  // any value, as in space_of
  if (c == cmsSigLinkClass || c == cmsSigAbstractClass || c == cmsSigNamedColorClass)
    return "a device link, abstract or named-colour profile describes no image's colours";
  return "";
}

// The lcms transform from `profile` to sRGB (or sRGB gray) for `layout`, in e->ctx; null with
// e->problem set when lcms refuses.
cmsHTRANSFORM create_transform(const std::vector<uint8_t>& profile, Layout layout, Entry* e) {
  cmsHPROFILE src = cmsOpenProfileFromMemTHR(e->ctx, profile.data(),
                                             static_cast<cmsUInt32Number>(profile.size()));
  if (!src) {
    e->problem = "lcms cannot read the profile" + (e->problem.empty() ? "" : ": " + e->problem);
    return nullptr;
  }
  std::string why = unsuitable(src, layout);
  cmsHTRANSFORM t = nullptr;
  if (why.empty()) {
    cmsHPROFILE dst =
        layout == Layout::kGray ? srgb_gray(e->ctx) : cmsCreate_sRGBProfileTHR(e->ctx);
    // Relative colorimetric, as vips's thumbnail does by default; for the matrix-shaper profiles
    // of most photos every intent is the same. Alpha is copied through, untouched.
    if (dst)
      t = cmsCreateTransformTHR(e->ctx, src, input_format(layout), dst, output_format(layout),
                                INTENT_RELATIVE_COLORIMETRIC,
                                layout == Layout::kRgba ? cmsFLAGS_COPY_ALPHA : 0);
    if (dst) cmsCloseProfile(dst);
    if (!t)
      why = "lcms cannot build a transform from it" + (e->problem.empty() ? "" : ": " + e->problem);
  }
  cmsCloseProfile(src);
  if (e->budget.refused)
    why = "lcms needs more than " + std::to_string(kMaxBuildBytes >> 20) + " MiB for it";
  e->problem = why;
  return t;
}

// Every colour on a 17-level grid comes back within 1/255: the profile is sRGB in all but name.
bool is_identity(cmsHTRANSFORM t, Layout layout) {
  const int channels = layout == Layout::kRgba ? 4 : 3;
  std::vector<uint8_t> in, out(17 * 17 * 17 * channels);
  for (int r = 0; r < 17; ++r)
    for (int g = 0; g < 17; ++g)
      for (int b = 0; b < 17; ++b) {
        const uint8_t px[4] = {uint8_t(r * 255 / 16), uint8_t(g * 255 / 16), uint8_t(b * 255 / 16),
                               255};
        in.insert(in.end(), px, px + channels);
      }
  cmsDoTransform(t, in.data(), out.data(), 17 * 17 * 17);
  for (size_t i = 0; i < in.size(); ++i)
    if (std::abs(int(in[i]) - int(out[i])) > 1) return false;
  return true;
}

// Turns a built transform into the entry's final form: a table for gray (the transform is then
// freed), nothing for an identity, else the transform itself.
void settle(cmsHTRANSFORM t, Layout layout, Entry* e) {
  if (layout == Layout::kGray) {
    std::array<uint8_t, 256> in;
    for (int i = 0; i < 256; ++i) in[i] = static_cast<uint8_t>(i);
    cmsDoTransform(t, in.data(), e->lut.data(), 256);
    cmsDeleteTransform(t);
    bool same = true;
    for (int i = 0; i < 256; ++i) same = same && std::abs(int(e->lut[i]) - i) <= 1;
    e->kind = same ? Entry::Kind::kIdentity : Entry::Kind::kLut;
  } else if (layout != Layout::kCmykInverted && is_identity(t, layout)) {
    cmsDeleteTransform(t);
    e->kind = Entry::Kind::kIdentity;
  } else {
    e->transform = t;
    e->kind = Entry::Kind::kTransform;
  }
}

std::shared_ptr<const Entry> build(const std::vector<uint8_t>& profile, Layout layout) {
  auto e = std::make_shared<Entry>();
  BuildScope scope{&e->budget, &e->problem};
  t_scope = &scope;
  static const cmsPluginMemHandler kAllocator = counting_allocator();
  // lcms takes a non-const plugin pointer but only reads the struct.
  e->ctx = cmsCreateContext(const_cast<cmsPluginMemHandler*>(&kAllocator), nullptr);
  if (!e->ctx) {
    e->problem = "lcms could not start (out of memory)";
  } else {
    cmsSetLogErrorHandlerTHR(e->ctx, log_error);
    cmsHTRANSFORM t = create_transform(profile, layout, e.get());
    if (t && e->problem.empty())
      settle(t, layout, e.get());
    else if (t)
      cmsDeleteTransform(t);
    if (e->kind != Entry::Kind::kTransform) {  // nothing of lcms's is kept: free its context now
      cmsDeleteContext(e->ctx);
      e->ctx = nullptr;
    }
  }
  t_scope = nullptr;
  return e;
}

using Key = std::array<uint8_t, 33>;  // SHA-256 of the profile, then the layout

Key key_of(const std::vector<uint8_t>& profile, Layout layout) {
  Key k{};
  unsigned int n = 0;
  EVP_Digest(profile.data(), profile.size(), k.data(), &n, EVP_sha256(), nullptr);
  k[32] = static_cast<uint8_t>(layout);
  return k;
}

// The LRU cache of built entries.
class Cache {
 public:
  std::shared_ptr<const Entry> find(const Key& k) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = index_.find(k);
    if (it == index_.end()) return nullptr;
    lru_.splice(lru_.begin(), lru_, it->second);
    return it->second->second;
  }

  // Keeps `e` (unless another thread put one in first: that one is returned) and evicts the least
  // recently used entries beyond the bounds.
  std::shared_ptr<const Entry> insert(const Key& k, std::shared_ptr<const Entry> e) {
    std::lock_guard<std::mutex> lock(mu_);
    ++builds_;
    auto it = index_.find(k);
    if (it != index_.end()) return it->second->second;
    const size_t size = e->budget.used.load();
    if (size > kMaxCacheBytes) return e;  // used once, never kept
    lru_.emplace_front(k, e);
    index_[k] = lru_.begin();
    bytes_ += size;
    while (lru_.size() > kMaxCacheEntries || bytes_ > kMaxCacheBytes) {
      bytes_ -= lru_.back().second->budget.used.load();
      index_.erase(lru_.back().first);
      lru_.pop_back();  // the entry lives on while a converter still holds it
    }
    return e;
  }

  IccCacheStats stats() {
    std::lock_guard<std::mutex> lock(mu_);
    return {lru_.size(), bytes_, builds_};
  }

 private:
  std::mutex mu_;
  std::list<std::pair<Key, std::shared_ptr<const Entry>>> lru_;
  std::map<Key, std::list<std::pair<Key, std::shared_ptr<const Entry>>>::iterator> index_;
  size_t bytes_ = 0;
  uint64_t builds_ = 0;
};

Cache& cache() {
  static Cache* c = new Cache;  // never destroyed: worker threads may outlive static destructors
  return *c;
}

std::shared_ptr<const Entry> lookup(const std::vector<uint8_t>& profile, Layout layout) {
  const Key k = key_of(profile, layout);
  if (auto e = cache().find(k)) return e;
  return cache().insert(k, build(profile, layout));
}

const std::string kNoProfile = "no profile";

}  // namespace

namespace {

struct Primaries {
  int code;
  cmsCIExyY white;
  cmsCIExyYTRIPLE rgb;
};

// H.273 table 2 (the colour_primaries code points a still image uses).
constexpr cmsCIExyY kD65{0.3127, 0.3290, 1.0};
const Primaries kPrimaries[] = {
    {1, kD65, {{0.640, 0.330, 1}, {0.300, 0.600, 1}, {0.150, 0.060, 1}}},
    {5, kD65, {{0.640, 0.330, 1}, {0.290, 0.600, 1}, {0.150, 0.060, 1}}},
    {6, kD65, {{0.630, 0.340, 1}, {0.310, 0.595, 1}, {0.155, 0.070, 1}}},
    {9, kD65, {{0.708, 0.292, 1}, {0.170, 0.797, 1}, {0.131, 0.046, 1}}},
    {11, {0.314, 0.351, 1}, {{0.680, 0.320, 1}, {0.265, 0.690, 1}, {0.150, 0.060, 1}}},
    {12, kD65, {{0.680, 0.320, 1}, {0.265, 0.690, 1}, {0.150, 0.060, 1}}},
};

// lcms parametric curve type 4 (Y = (aX + b)^g above d, cX below) for an H.273 transfer; false
// for the ones it cannot be (HDR, unknown).
bool transfer_curve(int transfer, cmsFloat64Number params[5]) {
  auto set = [&](double g, double a, double b, double c, double d) {
    params[0] = g, params[1] = a, params[2] = b, params[3] = c, params[4] = d;
    return true;
  };
  switch (transfer) {
    case 1:
    case 6:
    case 14:
    case 15:  // BT.709's OETF, inverted
      return set(1 / 0.45, 1 / 1.099, 0.099 / 1.099, 1 / 4.5, 0.081);
    case 4:
      return set(2.2, 1, 0, 0, 0);
    case 5:
      return set(2.8, 1, 0, 0, 0);
    case 8:
      return set(1, 1, 0, 0, 0);
    case 2:
    case 13:  // unspecified: taken as sRGB, as untagged images are
      return set(2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045);
  }
  return false;
}

}  // namespace

std::vector<uint8_t> icc_from_cicp(int primaries, int transfer, std::string* why) {
  if (primaries == 2) primaries = 1;  // unspecified: taken as sRGB's
  const bool srgb_like = transfer == 2 || transfer == 13 || transfer == 1 || transfer == 6 ||
                         transfer == 14 || transfer == 15;
  if (primaries == 1 && srgb_like) return {};
  cmsFloat64Number params[5];
  const Primaries* p = nullptr;
  for (const Primaries& candidate : kPrimaries)
    if (candidate.code == primaries) p = &candidate;
  if (!p || !transfer_curve(transfer, params)) {
    *why = "colour given as nclx primaries " + std::to_string(primaries) + ", transfer " +
           std::to_string(transfer) + " (HDR or unknown): not converted, colours as stored";
    return {};
  }
  cmsToneCurve* curve = cmsBuildParametricToneCurve(nullptr, 4, params);
  cmsToneCurve* curves[3] = {curve, curve, curve};
  cmsHPROFILE profile = curve ? cmsCreateRGBProfile(&p->white, &p->rgb, curves) : nullptr;
  cmsUInt32Number size = 0;
  std::vector<uint8_t> bytes;
  if (profile && cmsSaveProfileToMem(profile, nullptr, &size) && size > 0) {
    bytes.resize(size);
    if (!cmsSaveProfileToMem(profile, bytes.data(), &size)) bytes.clear();
  }
  if (profile) cmsCloseProfile(profile);
  if (curve) cmsFreeToneCurve(curve);
  if (bytes.empty()) *why = "lcms could not build a profile for the nclx colour";
  return bytes;
}

IccSpace icc_space(const std::vector<uint8_t>& profile) {
  if (profile.size() < 128) return IccSpace::kUnknown;
  const uint32_t s = big_endian32(&profile[16]);
  return space_of(s);
}

bool icc_fits(const std::vector<uint8_t>& profile, int components, std::string* why) {
  // A header (128 bytes) and a tag count, with the 'acsp' signature at 36.
  if (profile.size() < 132 || std::memcmp(&profile[36], "acsp", 4) != 0) {
    *why = "the embedded ICC profile was ignored: it is not one (" +
           std::to_string(profile.size()) + " bytes)";
    return false;
  }
  const IccSpace want = components == 1   ? IccSpace::kGray
                        : components == 4 ? IccSpace::kCmyk
                                          : IccSpace::kRgb;
  const IccSpace have = icc_space(profile);
  if (have == want) return true;
  *why = std::string("the embedded ICC profile was ignored: it is for ") + space_name(have) +
         " colours, the image is " + space_name(want);
  return false;
}

bool IccConverter::usable() const { return entry_ && entry_->kind != Entry::Kind::kUnusable; }

bool IccConverter::identity() const { return entry_ && entry_->kind == Entry::Kind::kIdentity; }

const std::string& IccConverter::problem() const { return entry_ ? entry_->problem : kNoProfile; }

void IccConverter::apply(Image& img) const {
  if (!entry_ || !img.pixels) return;
  uint8_t* p = img.pixels.get();
  const size_t n = size_t(img.width) * img.height;
  if (entry_->kind == Entry::Kind::kLut) {
    const int colours = img.channels >= 3 ? 3 : 1;  // alpha (the last channel, if any) untouched
    for (size_t i = 0; i < n; ++i, p += img.channels)
      for (int c = 0; c < colours; ++c) p[c] = entry_->lut[p[c]];
  } else if (entry_->kind == Entry::Kind::kTransform) {
    // Row by row: cmsDoTransform counts pixels in 32 bits. In place: same formats in and out.
    const size_t row = size_t(img.width) * img.channels;
    for (int y = 0; y < img.height; ++y, p += row)
      cmsDoTransform(entry_->transform, p, p, static_cast<cmsUInt32Number>(img.width));
  }
}

IccConverter icc_to_srgb(const std::vector<uint8_t>& profile, int channels) {
  IccConverter c;
  const Layout layout = channels <= 2   ? Layout::kGray
                        : channels == 3 ? Layout::kRgb
                                        : Layout::kRgba;
  // A gray profile with RGB pixels: a gray source expanded to RGB(A); one curve serves each
  // channel.
  const bool gray = icc_space(profile) == IccSpace::kGray;
  c.entry_ = lookup(profile, gray ? Layout::kGray : layout);
  return c;
}

bool icc_cmyk_to_srgb(const std::vector<uint8_t>& profile, const uint8_t* cmyk, uint8_t* rgb,
                      size_t pixels, std::string* why) {
  std::shared_ptr<const Entry> e = lookup(profile, Layout::kCmykInverted);
  if (e->kind != Entry::Kind::kTransform) {
    *why = e->problem.empty() ? "the CMYK profile converts nothing" : e->problem;
    return false;
  }
  // In chunks through a small buffer: the RGB output (3 bytes a pixel) may overwrite the CMYK input
  // (4), and lcms does not promise to read a pixel before writing one of another size. A chunk's
  // output ends at 3 × its end, before the first unread input byte at 4 × its end.
  constexpr size_t kChunk = 4096;
  uint8_t buf[kChunk * 3];
  for (size_t start = 0; start < pixels; start += kChunk) {
    const size_t count = std::min(kChunk, pixels - start);
    cmsDoTransform(e->transform, cmyk + start * 4, buf, static_cast<cmsUInt32Number>(count));
    std::memmove(rgb + start * 3, buf, count * 3);
  }
  return true;
}

IccCacheStats icc_cache_stats() { return cache().stats(); }

}  // namespace imgpipe

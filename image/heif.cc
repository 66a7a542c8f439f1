// HEIF through libheif. heif_init() is never called: Debian 12's libheif registers its built-in
// codecs when it loads, and heif_init would also load every plugin in its plugin folder, code we
// do not ship.
#include "image/heif.h"

#include <libheif/heif.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>

#include "image/icc.h"

namespace imgpipe {
namespace {

// unique_ptr deleters from libheif's free/release functions.
template <auto kFree>
struct Free {
  template <typename T>
  void operator()(T* p) const {
    kFree(p);
  }
};
using Context = std::unique_ptr<heif_context, Free<heif_context_free>>;
using Handle = std::unique_ptr<heif_image_handle, Free<heif_image_handle_release>>;
using HeifImage = std::unique_ptr<heif_image, Free<heif_image_release>>;

bool failed(const heif_error& e, const char* what, std::string* why) {
  if (e.code == heif_error_Ok) return false;
  *why = std::string(what) + ": " + (e.message ? e.message : "libheif error");
  return true;
}

// The file's primary image, read from `data` in place (the context borrows it, so the context
// must go before the data does; both are this call's).
bool open_primary(const std::vector<uint8_t>& data, Context* ctx, Handle* handle,
                  std::string* why) {
  ctx->reset(heif_context_alloc());
  if (!*ctx) {
    *why = "libheif could not allocate a context";
    return false;
  }
  // Grid tiles decode on the calling thread: the pipeline already runs one decode per core.
  heif_context_set_max_decoding_threads(ctx->get(), 0);
  // libheif refuses an ispe side of 32768 or more as it reads the boxes. The size is ours to
  // judge (--max-pixels, --decode-memory: a 40000x2000 panorama is fine), so the reading allows
  // any; heif_decode narrows the limit before anything is allocated from it.
  heif_context_set_maximum_image_size_limit(ctx->get(), std::numeric_limits<int>::max());
  if (failed(
          heif_context_read_from_memory_without_copy(ctx->get(), data.data(), data.size(), nullptr),
          "HEIF container", why))
    return false;
  heif_image_handle* h = nullptr;
  if (failed(heif_context_get_primary_image_handle(ctx->get(), &h), "HEIF primary image", why))
    return false;
  handle->reset(h);
  return true;
}

// 8-bit interleaved pixels of the decoded image into a buffer of ours; false if its size is not
// the header's (a codec stream that disagrees with its container).
bool copy_out(heif_image* img, int channels, int width, int height, Image* out, std::string* why) {
  const int w = heif_image_get_width(img, heif_channel_interleaved);
  const int h = heif_image_get_height(img, heif_channel_interleaved);
  int stride = 0;
  const uint8_t* src = heif_image_get_plane_readonly(img, heif_channel_interleaved, &stride);
  if (!src || w != width || h != height) {
    *why = "decoded " + std::to_string(w) + "x" + std::to_string(h) + ", the header says " +
           std::to_string(width) + "x" + std::to_string(height);
    return false;
  }
  const size_t row = size_t(w) * channels;
  PixelBuffer pixels(static_cast<uint8_t*>(std::malloc(row * h)));
  if (!pixels) {
    *why = "out of memory";
    return false;
  }
  for (int y = 0; y < h; ++y) std::memcpy(&pixels[row * y], src + size_t(stride) * y, row);
  *out = Image{std::move(pixels), w, h, channels};
  return true;
}

// A big-endian reader over [p, end): an overrun fails it (ok false) and reads 0 from then on.
struct Cursor {
  const uint8_t* p;
  const uint8_t* end;
  bool ok = true;
  uint64_t get(unsigned bytes) {
    if (bytes > 8 || size_t(end - p) < bytes) return fail();
    uint64_t v = 0;
    for (unsigned i = 0; i < bytes; ++i) v = v << 8 | *p++;
    return v;
  }
  void skip(uint64_t n) {
    if (uint64_t(end - p) < n)
      fail();
    else
      p += n;
  }
  uint64_t fail() {
    ok = false, p = end;
    return 0;
  }
};

constexpr uint32_t fourcc(const char (&s)[5]) {
  return uint32_t(uint8_t(s[0])) << 24 | uint32_t(uint8_t(s[1])) << 16 |
         uint32_t(uint8_t(s[2])) << 8 | uint8_t(s[3]);
}

// One ISO BMFF box: its type and its body, [body.p, body.end).
struct Box {
  uint32_t type = 0;
  Cursor body{nullptr, nullptr};
};

// The next box at c, which moves past it; false at the end or on a size that does not fit.
bool next_box(Cursor& c, Box* box) {
  const uint8_t* start = c.p;
  uint64_t size = c.get(4);
  box->type = uint32_t(c.get(4));
  if (size == 1) size = c.get(8);
  if (size == 0) size = uint64_t(c.end - start);
  if (!c.ok || size < uint64_t(c.p - start) || size > uint64_t(c.end - start)) return false;
  box->body = Cursor{c.p, start + size};
  c.p = start + size;
  return true;
}

// The first child of `parent` of this type (its body), skipping `header` bytes of the parent.
bool child(Cursor parent, uint32_t type, Cursor* body, unsigned header = 0) {
  parent.skip(header);
  for (Box b; next_box(parent, &b);)
    if (b.type == type) return *body = b.body, true;
  return false;
}

// The primary item's id (pitm) and type (its infe in iinf).
bool primary_item(Cursor meta, uint32_t* id, uint32_t* type) {
  Cursor pitm{nullptr, nullptr}, iinf{nullptr, nullptr};
  if (!child(meta, fourcc("pitm"), &pitm, 4) || !child(meta, fourcc("iinf"), &iinf, 4))
    return false;
  const unsigned v = unsigned(pitm.get(1));
  pitm.skip(3);
  *id = uint32_t(pitm.get(v == 0 ? 2 : 4));
  const unsigned iv = unsigned(iinf.get(1));
  iinf.skip(3);
  iinf.skip(iv == 0 ? 2 : 4);  // the entry count: the boxes say it again
  for (Box b; next_box(iinf, &b);) {
    if (b.type != fourcc("infe")) continue;
    const unsigned ev = unsigned(b.body.get(1));
    b.body.skip(3);
    if (ev < 2) continue;  // no item type before version 2
    const uint32_t item = uint32_t(b.body.get(ev == 2 ? 2 : 4));
    b.body.skip(2);  // protection index
    const uint32_t t = uint32_t(b.body.get(4));
    if (b.body.ok && item == *id) return *type = t, pitm.ok;
  }
  return false;
}

// The first `want` bytes of item `id`'s data, from the file (construction method 0) or from the
// meta box's idat (method 1), as iloc places them.
bool item_bytes(Cursor file, Cursor meta, uint32_t id, size_t want, std::vector<uint8_t>* out) {
  Cursor iloc{nullptr, nullptr}, idat{meta.end, meta.end};
  if (!child(meta, fourcc("iloc"), &iloc, 4)) return false;
  child(meta, fourcc("idat"), &idat, 4);
  const unsigned v = unsigned(iloc.get(1));
  iloc.skip(3);
  const unsigned sizes = unsigned(iloc.get(1)), more = unsigned(iloc.get(1));
  const unsigned offset_size = sizes >> 4, length_size = sizes & 15, base_size = more >> 4;
  const unsigned index_size = v == 1 || v == 2 ? more & 15 : 0;
  const uint64_t count = iloc.get(v < 2 ? 2 : 4);
  for (uint64_t i = 0; i < count && iloc.ok && out->size() < want; ++i) {
    const uint64_t item = iloc.get(v < 2 ? 2 : 4);
    const unsigned method = v == 1 || v == 2 ? unsigned(iloc.get(2) & 15) : 0;
    iloc.skip(2);  // data reference index
    const uint64_t base = iloc.get(base_size);
    const uint64_t extents = iloc.get(2);
    for (uint64_t e = 0; e < extents && iloc.ok; ++e) {
      iloc.skip(index_size);
      const uint64_t offset = base + iloc.get(offset_size), length = iloc.get(length_size);
      if (item != id || out->size() >= want) continue;
      const Cursor& from = method == 0 ? file : idat;
      if (method > 1 || offset > uint64_t(from.end - from.p)) return false;
      const uint64_t left = uint64_t(from.end - from.p) - offset;
      const uint64_t n = std::min<uint64_t>({length ? length : left, left, want - out->size()});
      out->insert(out->end(), from.p + offset, from.p + offset + n);
    }
  }
  return iloc.ok && out->size() >= std::min<size_t>(want, 1);
}

// A grid's or an overlay's canvas (its data's output_width and output_height): libheif 1.15
// allocates it as the data says, apart from the item's ispe, checking only each side against its
// size limit. {0, 0} when the primary image is neither; false when its data cannot be read.
bool derived_canvas(const std::vector<uint8_t>& data, int64_t* width, int64_t* height) {
  *width = *height = 0;
  const Cursor file{data.data(), data.data() + data.size()};
  Cursor meta{nullptr, nullptr};
  uint32_t id = 0, type = 0;
  if (!child(file, fourcc("meta"), &meta) || !primary_item(meta, &id, &type)) return true;
  const bool grid = type == fourcc("grid");
  if (!grid && type != fourcc("iovl")) return true;
  std::vector<uint8_t> bytes;
  if (!item_bytes(file, meta, id, 20, &bytes)) return false;
  Cursor c{bytes.data(), bytes.data() + bytes.size()};
  c.skip(1);  // version
  const unsigned field = c.get(1) & 1 ? 4 : 2;
  c.skip(grid ? 2 : 8);  // rows and columns less one; or four 16-bit fill values
  *width = int64_t(c.get(field)), *height = int64_t(c.get(field));
  return c.ok;
}

}  // namespace

bool heif_header(const std::vector<uint8_t>& data, HeifHeader* out, std::string* why) {
  Context ctx;
  Handle handle;
  if (!open_primary(data, &ctx, &handle, why)) return false;
  const heif_image_handle* h = handle.get();
  out->width = heif_image_handle_get_width(h);
  out->height = heif_image_handle_get_height(h);
  out->coded_width = heif_image_handle_get_ispe_width(h);
  out->coded_height = heif_image_handle_get_ispe_height(h);
  out->alpha = heif_image_handle_has_alpha_channel(h) != 0;
  out->bits = std::max(8, heif_image_handle_get_luma_bits_per_pixel(h));
  int64_t canvas_w = 0, canvas_h = 0;
  if (!derived_canvas(data, &canvas_w, &canvas_h)) {
    *why = "the primary image's grid or overlay data cannot be read";
    return false;
  }
  // What the decoder allocates: the larger of the ispe and the canvas, side by side.
  constexpr int64_t kMax = std::numeric_limits<int>::max();
  out->coded_width = int(std::min(kMax, std::max<int64_t>(out->coded_width, canvas_w)));
  out->coded_height = int(std::min(kMax, std::max<int64_t>(out->coded_height, canvas_h)));
  return true;
}

uint64_t heif_peak_bytes(const HeifHeader& header) {
  // Per coded pixel, 8 bits: the codec's picture and libheif's copy of it (4:4:4 at worst, 3
  // bytes each) with an alpha plane (1 + 1), then the conversion's planes and interleaved output
  // (3 + 4), then that output and ours (4 + 4). Deeper samples take 2 bytes each up to the
  // 16-bit interleaved image (8), which the 8-bit one (4) follows: 8 + 8 + 4.
  const uint64_t per_pixel = header.bits > 8 ? 20 : 12;
  const uint64_t coded = uint64_t(std::max(header.coded_width, header.width)) *
                         uint64_t(std::max(header.coded_height, header.height));
  return per_pixel * coded;
}

bool heif_decode(const std::vector<uint8_t>& data, Image* out, std::string* why) {
  Context ctx;
  Handle handle;
  if (!open_primary(data, &ctx, &handle, why)) return false;
  const heif_image_handle* h = handle.get();
  // A grid's or an overlay's canvas is declared apart from its ispe, and libheif allocates it
  // before decoding a tile, checking it only against its 32768-px default; neither side may pass
  // the coded size's longer one (libheif refuses a side at or above the limit).
  const int longest =
      std::max({heif_image_handle_get_ispe_width(h), heif_image_handle_get_ispe_height(h), 1});
  heif_context_set_maximum_image_size_limit(ctx.get(), longest + 1);
  const bool alpha = heif_image_handle_has_alpha_channel(h) != 0;
  std::unique_ptr<heif_decoding_options, Free<heif_decoding_options_free>> options(
      heif_decoding_options_alloc());
  options->convert_hdr_to_8bit = 1;
  options->ignore_transformations = 0;  // upright here, so the caller's orientation is 1
  heif_image* decoded = nullptr;
  if (failed(heif_decode_image(h, &decoded, heif_colorspace_RGB,
                               alpha ? heif_chroma_interleaved_RGBA : heif_chroma_interleaved_RGB,
                               options.get()),
             "HEIF decode", why))
    return false;
  HeifImage img(decoded);
  return copy_out(img.get(), alpha ? 4 : 3, heif_image_handle_get_width(h),
                  heif_image_handle_get_height(h), out, why);
}

namespace {

// Colour given as code points: a profile built for them when they are not sRGB's. libheif has
// already used the matrix coefficients to turn YCbCr into RGB.
std::vector<uint8_t> nclx_profile(const heif_image_handle* handle, std::string* warning) {
  heif_color_profile_nclx* nclx = nullptr;
  const heif_error e = heif_image_handle_get_nclx_color_profile(handle, &nclx);
  // libheif allocates the struct before it judges the code points: an error may come with one
  // (fuzz_image: a leak on transfer 128).
  std::unique_ptr<heif_color_profile_nclx, Free<heif_nclx_color_profile_free>> owned(nclx);
  if (e.code != heif_error_Ok || !nclx) return {};
  return icc_from_cicp(nclx->color_primaries, nclx->transfer_characteristics, warning);
}

}  // namespace

std::vector<uint8_t> heif_icc_profile(const std::vector<uint8_t>& data, std::string* warning) {
  Context ctx;
  Handle handle;
  std::string why;
  if (!open_primary(data, &ctx, &handle, &why)) return {};
  const heif_color_profile_type type = heif_image_handle_get_color_profile_type(handle.get());
  if (type == heif_color_profile_type_nclx) return nclx_profile(handle.get(), warning);
  if (type != heif_color_profile_type_prof && type != heif_color_profile_type_rICC) return {};
  const size_t size = heif_image_handle_get_raw_color_profile_size(handle.get());
  if (size > kMaxIccBytes) {
    *warning = "the HEIF ICC profile (" + std::to_string(size) + " bytes) is over the limit of " +
               std::to_string(kMaxIccBytes) + "; colours as stored";
    return {};
  }
  std::vector<uint8_t> profile(size);
  if (size == 0 ||
      heif_image_handle_get_raw_color_profile(handle.get(), profile.data()).code != heif_error_Ok)
    return {};
  return profile;
}

namespace {

// libheif hands the file over in pieces; nothing may be thrown back through it.
heif_error append(heif_context*, const void* data, size_t size, void* userdata) {
  try {
    auto* out = static_cast<std::vector<uint8_t>*>(userdata);
    const auto* p = static_cast<const uint8_t*>(data);
    out->insert(out->end(), p, p + size);
    return {heif_error_Ok, heif_suberror_Unspecified, "ok"};
  } catch (...) {
    return {heif_error_Encoding_error, heif_suberror_Cannot_write_output_data, "out of memory"};
  }
}

// Our pixels as libheif's interleaved RGB(A) image; gray is widened (AVIF has a monochrome mode,
// but libheif 1.15 encodes it through YCbCr 4:0:0, which some decoders refuse).
bool to_heif_image(const Image& image, HeifImage* out, std::string* why) {
  const bool alpha = image.channels == 2 || image.channels == 4;
  const int channels = alpha ? 4 : 3;
  heif_image* img = nullptr;
  if (failed(heif_image_create(image.width, image.height, heif_colorspace_RGB,
                               alpha ? heif_chroma_interleaved_RGBA : heif_chroma_interleaved_RGB,
                               &img),
             "AVIF image", why))
    return false;
  out->reset(img);
  if (failed(heif_image_add_plane(img, heif_channel_interleaved, image.width, image.height, 8),
             "AVIF plane", why))
    return false;
  int stride = 0;
  uint8_t* dst = heif_image_get_plane(img, heif_channel_interleaved, &stride);
  for (int y = 0; y < image.height; ++y) {
    const uint8_t* s = &image.pixels[size_t(y) * image.width * image.channels];
    uint8_t* d = dst + size_t(stride) * y;
    for (int x = 0; x < image.width; ++x, s += image.channels, d += channels) {
      const bool gray = image.channels <= 2;
      d[0] = s[0], d[1] = gray ? s[0] : s[1], d[2] = gray ? s[0] : s[2];
      if (alpha) d[3] = s[image.channels - 1];
    }
  }
  return true;
}

}  // namespace

bool avif_encode(const Image& image, int quality, const std::vector<uint8_t>& profile,
                 std::vector<uint8_t>* out, std::string* why) {
  HeifImage img;
  if (!to_heif_image(image, &img, why)) return false;
  if (!profile.empty() &&
      failed(heif_image_set_raw_color_profile(img.get(), "prof", profile.data(), profile.size()),
             "AVIF profile", why))
    return false;
  Context ctx(heif_context_alloc());
  heif_encoder* e = nullptr;
  if (!ctx || failed(heif_context_get_encoder_for_format(ctx.get(), heif_compression_AV1, &e),
                     "AVIF encoder", why))
    return false;
  std::unique_ptr<heif_encoder, Free<heif_encoder_release>> encoder(e);
  heif_encoder_set_lossy_quality(e, quality);
  // One thread: the pipeline already encodes one thumbnail per core. libaom's other defaults
  // (speed 6, 4:2:0) are libheif's.
  heif_encoder_set_parameter_integer(e, "threads", 1);
  heif_image_handle* h = nullptr;
  if (failed(heif_context_encode_image(ctx.get(), img.get(), e, nullptr, &h), "AVIF encode", why))
    return false;
  heif_image_handle_release(h);
  heif_writer writer{1, append};
  return !failed(heif_context_write(ctx.get(), &writer, out), "AVIF write", why);
}

}  // namespace imgpipe

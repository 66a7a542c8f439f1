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

struct ContextFree {
  void operator()(heif_context* c) const { heif_context_free(c); }
};
struct HandleFree {
  void operator()(heif_image_handle* h) const { heif_image_handle_release(h); }
};
struct ImageFree {
  void operator()(heif_image* i) const { heif_image_release(i); }
};
struct EncoderFree {
  void operator()(heif_encoder* e) const { heif_encoder_release(e); }
};
struct DecodingOptionsFree {
  void operator()(heif_decoding_options* o) const { heif_decoding_options_free(o); }
};
using Context = std::unique_ptr<heif_context, ContextFree>;
using Handle = std::unique_ptr<heif_image_handle, HandleFree>;
using HeifImage = std::unique_ptr<heif_image, ImageFree>;

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
  std::unique_ptr<heif_decoding_options, DecodingOptionsFree> options(
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

std::vector<uint8_t> heif_icc_profile(const std::vector<uint8_t>& data, std::string* warning) {
  Context ctx;
  Handle handle;
  std::string why;
  if (!open_primary(data, &ctx, &handle, &why)) return {};
  const heif_color_profile_type type = heif_image_handle_get_color_profile_type(handle.get());
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
  std::unique_ptr<heif_encoder, EncoderFree> encoder(e);
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

// libwebp decode/encode.
#include "image/webp.h"

#include <webp/decode.h>
#include <webp/demux.h>
#include <webp/encode.h>

#include <cstring>

namespace imgpipe {

bool webp_header(const std::vector<uint8_t>& data, WebpHeader* out, std::string* why) {
  WebPBitstreamFeatures f;
  if (WebPGetFeatures(data.data(), data.size(), &f) != VP8_STATUS_OK) {
    *why = "WebP header is corrupt";
    return false;
  }
  out->width = f.width;
  out->height = f.height;
  out->alpha = f.has_alpha;
  out->animated = f.has_animation;
  return true;
}

namespace {

bool decode_first_frame(const std::vector<uint8_t>& data, Image* out, std::string* why) {
  WebPData wd{data.data(), data.size()};
  WebPAnimDecoderOptions opt;
  WebPAnimDecoderOptionsInit(&opt);
  opt.color_mode = MODE_RGBA;
  opt.use_threads = 0;  // we are already one of N workers
  WebPAnimDecoder* dec = WebPAnimDecoderNew(&wd, &opt);
  WebPAnimInfo info;
  uint8_t* frame = nullptr;
  int timestamp = 0;
  bool ok =
      dec && WebPAnimDecoderGetInfo(dec, &info) && WebPAnimDecoderGetNext(dec, &frame, &timestamp);
  if (ok) {
    size_t bytes = size_t(info.canvas_width) * info.canvas_height * 4;
    out->pixels.reset(static_cast<uint8_t*>(std::malloc(bytes)));
    ok = out->pixels != nullptr;
    if (ok) std::memcpy(out->pixels.get(), frame, bytes);  // the frame belongs to the decoder
    out->width = static_cast<int>(info.canvas_width);
    out->height = static_cast<int>(info.canvas_height);
    out->channels = 4;
  }
  WebPAnimDecoderDelete(dec);
  if (!ok) *why = "animated WebP is corrupt";
  return ok;
}

}  // namespace

bool webp_decode(const std::vector<uint8_t>& data, Size scaled, Image* out, std::string* why) {
  WebPDecoderConfig config;
  if (!WebPInitDecoderConfig(&config) ||
      WebPGetFeatures(data.data(), data.size(), &config.input) != VP8_STATUS_OK) {
    *why = "WebP header is corrupt";
    return false;
  }
  if (config.input.has_animation) return decode_first_frame(data, out, why);
  const bool scale = scaled.width > 0 && scaled.height > 0;
  const int w = scale ? scaled.width : config.input.width;
  const int h = scale ? scaled.height : config.input.height;
  const int channels = config.input.has_alpha ? 4 : 3;
  PixelBuffer pixels(static_cast<uint8_t*>(std::malloc(size_t(w) * h * channels)));
  if (!pixels) {
    *why = "out of memory";
    return false;
  }
  config.options.use_scaling = scale;
  config.options.scaled_width = w;
  config.options.scaled_height = h;
  config.output.colorspace = channels == 4 ? MODE_RGBA : MODE_RGB;
  config.output.is_external_memory = 1;  // decode straight into our buffer
  config.output.u.RGBA.rgba = pixels.get();
  config.output.u.RGBA.stride = w * channels;
  config.output.u.RGBA.size = size_t(w) * h * channels;
  if (WebPDecode(data.data(), data.size(), &config) != VP8_STATUS_OK) {
    *why = "WebP data is corrupt";
    return false;
  }
  out->pixels = std::move(pixels);
  out->width = w;
  out->height = h;
  out->channels = channels;
  return true;
}

bool webp_encode(const Image& image, int quality, std::vector<uint8_t>* out, std::string* why) {
  const uint8_t* src = image.pixels.get();
  PixelBuffer widened;
  int channels = image.channels;
  if (channels == 1 || channels == 2) {  // gray (+alpha) → RGB(A)
    const int in = channels;
    channels += 2;
    size_t n = size_t(image.width) * image.height;
    widened.reset(static_cast<uint8_t*>(std::malloc(n * channels)));
    if (!widened) {
      *why = "out of memory";
      return false;
    }
    for (size_t i = 0; i < n; ++i) {
      uint8_t* p = &widened[i * channels];
      p[0] = p[1] = p[2] = src[i * in];
      if (in == 2) p[3] = src[i * in + 1];
    }
    src = widened.get();
  }
  uint8_t* buf = nullptr;
  const int stride = image.width * channels;
  size_t size = channels == 4
                    ? WebPEncodeRGBA(src, image.width, image.height, stride, quality, &buf)
                    : WebPEncodeRGB(src, image.width, image.height, stride, quality, &buf);
  if (size == 0) {
    *why = "WebP encode failed";
    WebPFree(buf);
    return false;
  }
  out->assign(buf, buf + size);
  WebPFree(buf);
  return true;
}

}  // namespace imgpipe

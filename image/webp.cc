// libwebp decode/encode.
#include "image/webp.h"

#include <webp/decode.h>
#include <webp/demux.h>
#include <webp/encode.h>
#include <webp/mux.h>

#include <cstdlib>
#include <cstring>
#include <memory>

#include "image/icc.h"

namespace imgpipe {

namespace {

struct DemuxFree {
  void operator()(WebPDemuxer* d) const { WebPDemuxDelete(d); }
};
using Demux = std::unique_ptr<WebPDemuxer, DemuxFree>;

// An animation's first frame: where it sits on the canvas, and its bitstream (ALPH + VP8, or
// VP8L), which points into `data`.
struct FirstFrame {
  int x = 0, y = 0, width = 0, height = 0;
  WebPData bitstream{nullptr, 0};
};

bool first_frame(const std::vector<uint8_t>& data, int canvas_w, int canvas_h, FirstFrame* out) {
  WebPData wd{data.data(), data.size()};
  Demux demux(WebPDemux(&wd));
  WebPIterator it;
  if (!demux || !WebPDemuxGetFrame(demux.get(), 1, &it)) return false;
  *out = {it.x_offset, it.y_offset, it.width, it.height, it.fragment};
  WebPDemuxReleaseIterator(&it);
  return out->width > 0 && out->height > 0 && out->x >= 0 && out->y >= 0 &&
         out->x + out->width <= canvas_w && out->y + out->height <= canvas_h;
}

}  // namespace

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
  out->frame_width = f.width;
  out->frame_height = f.height;
  out->lossless = f.format == 2;
  out->frame_alpha = f.has_alpha && !out->lossless;
  FirstFrame frame;
  if (f.has_animation) {
    if (!first_frame(data, f.width, f.height, &frame) ||
        WebPGetFeatures(frame.bitstream.bytes, frame.bitstream.size, &f) != VP8_STATUS_OK) {
      *why = "animated WebP has no first frame inside its canvas";
      return false;
    }
    out->frame_width = frame.width;
    out->frame_height = frame.height;
    out->lossless = f.format == 2;
    out->frame_alpha = f.has_alpha && !out->lossless;
  }
  return true;
}

bool webp_exif(const std::vector<uint8_t>& data, size_t* offset, size_t* size) {
  // Only the extended format (a VP8X chunk first, at byte 12) carries metadata: the simple
  // formats skip the demuxer.
  if (data.size() < 16 || std::memcmp(&data[12], "VP8X", 4) != 0) return false;
  WebPData wd{data.data(), data.size()};
  Demux demux(WebPDemux(&wd));
  WebPChunkIterator it;
  if (!demux || !WebPDemuxGetChunk(demux.get(), "EXIF", 1, &it)) return false;
  *offset = static_cast<size_t>(it.chunk.bytes - data.data());
  *size = it.chunk.size;
  WebPDemuxReleaseChunkIterator(&it);
  return true;
}

uint64_t webp_peak_bytes(const WebpHeader& h, Size scaled) {
  const bool scale = !h.animated && scaled.width > 0 && scaled.height > 0;
  const uint64_t channels = h.animated || h.alpha ? 4 : 3;
  const uint64_t out = scale ? uint64_t(scaled.width) * scaled.height * channels
                             : uint64_t(h.width) * h.height * channels;
  const uint64_t frame = uint64_t(h.frame_width) * h.frame_height;
  // VP8L: one 32-bit ARGB value a pixel. ALPH: the alpha plane, and its own lossless decode
  // (ARGB again unless it takes the 8-bit path).
  const uint64_t inner = h.lossless ? 4 * frame : h.frame_alpha ? 5 * frame : 0;
  // Row caches (VP8L keeps 32 rows of ARGB, VP8 a macroblock row with its filter context) and
  // the rescaler's rows.
  const uint64_t rows = uint64_t(h.frame_width) * 256 + (1 << 20);
  return out + inner + rows;
}

namespace {

// The first frame, decoded straight onto a zeroed (transparent) canvas: what WebPAnimDecoder
// gives for it (a key frame: canvas cleared, frame decoded in place, no blending).
bool decode_first_frame(const std::vector<uint8_t>& data, const WebPBitstreamFeatures& f,
                        Image* out, std::string* why) {
  FirstFrame frame;
  *why = "animated WebP is corrupt";
  if (!first_frame(data, f.width, f.height, &frame)) return false;
  const size_t stride = size_t(f.width) * 4;
  PixelBuffer canvas(static_cast<uint8_t*>(std::calloc(stride, f.height)));
  WebPDecoderConfig config;
  if (!canvas || !WebPInitDecoderConfig(&config)) return false;
  config.options.use_threads = 0;  // we are already one of N workers
  config.output.colorspace = MODE_RGBA;
  config.output.is_external_memory = 1;
  config.output.u.RGBA.rgba = canvas.get() + frame.y * stride + size_t(frame.x) * 4;
  config.output.u.RGBA.stride = static_cast<int>(stride);
  config.output.u.RGBA.size = stride * (frame.height - 1) + size_t(frame.width) * 4;
  if (WebPDecode(frame.bitstream.bytes, frame.bitstream.size, &config) != VP8_STATUS_OK)
    return false;
  out->pixels = std::move(canvas);
  out->width = f.width;
  out->height = f.height;
  out->channels = 4;
  return true;
}

}  // namespace

bool webp_decode(const std::vector<uint8_t>& data, Size scaled, Image* out, std::string* why) {
  WebPDecoderConfig config;
  if (!WebPInitDecoderConfig(&config) ||
      WebPGetFeatures(data.data(), data.size(), &config.input) != VP8_STATUS_OK) {
    *why = "WebP header is corrupt";
    return false;
  }
  if (config.input.has_animation) return decode_first_frame(data, config.input, out, why);
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

std::vector<uint8_t> webp_icc_profile(const std::vector<uint8_t>& data, std::string* warning) {
  // RIFF header (12), then VP8X: its tag, size, and the flags byte, where 0x20 announces ICCP.
  // Simple files have no VP8X and cannot carry a profile: they cost no demuxing.
  if (data.size() < 21 || std::memcmp(&data[12], "VP8X", 4) != 0 || !(data[20] & 0x20)) return {};
  WebPData wd{data.data(), data.size()};
  Demux demux(WebPDemux(&wd));
  WebPChunkIterator it;
  if (!demux || !WebPDemuxGetChunk(demux.get(), "ICCP", 1, &it)) return {};
  std::vector<uint8_t> profile;
  if (it.chunk.size > kMaxIccBytes)
    *warning = "the embedded ICC profile was ignored: " + std::to_string(it.chunk.size) +
               " bytes, over the limit of " + std::to_string(kMaxIccBytes);
  else
    profile.assign(it.chunk.bytes, it.chunk.bytes + it.chunk.size);
  WebPDemuxReleaseChunkIterator(&it);
  return profile;
}

bool webp_embed_icc(std::vector<uint8_t>* webp, const std::vector<uint8_t>& profile) {
  std::unique_ptr<WebPMux, void (*)(WebPMux*)> mux(WebPMuxNew(), WebPMuxDelete);
  const WebPData image{webp->data(), webp->size()};
  const WebPData icc{profile.data(), profile.size()};
  WebPData out{nullptr, 0};
  // copy_data 0: the mux points into our buffers, which outlive it.
  if (!mux || WebPMuxSetImage(mux.get(), &image, 0) != WEBP_MUX_OK ||
      WebPMuxSetChunk(mux.get(), "ICCP", &icc, 0) != WEBP_MUX_OK ||
      WebPMuxAssemble(mux.get(), &out) != WEBP_MUX_OK)
    return false;
  webp->assign(out.bytes, out.bytes + out.size);
  WebPDataClear(&out);
  return true;
}

}  // namespace imgpipe

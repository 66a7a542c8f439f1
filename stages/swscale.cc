// libswscale resizing for opaque images.
#include "stages/swscale.h"

#include <cstring>
#include <vector>

extern "C" {
#include <libswscale/swscale.h>
}

namespace imgpipe {
namespace {

// One cached context per thread: sws_getCachedContext reuses it while sizes and formats repeat
// and rebuilds it when they change.
struct CachedContext {
  SwsContext* ctx = nullptr;
  ~CachedContext() { sws_freeContext(ctx); }
};

}  // namespace

// libswscale's SIMD readers and writers may touch bytes past a row's end, the last row's included
// (FFmpeg pads its own buffers by AV_INPUT_BUFFER_PADDING_SIZE, 64): with exactly-sized buffers
// that read crossed into an unmapped page now and then (a SEGV under ASan on 2 of 8 runs of 3000
// tiny PNGs). So both sides get spare bytes, four times FFmpeg's padding for wider filters.
constexpr size_t kPadding = 256;

bool swscale_resize(Image& image, Size target) {
  if (image.channels != 1 && image.channels != 3) return false;
  const AVPixelFormat fmt = image.channels == 1 ? AV_PIX_FMT_GRAY8 : AV_PIX_FMT_RGB24;
  // Full chroma in and out: without these swscale filters RGB through subsampled YUV and blurs
  // colour edges.
  const int flags = SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT | SWS_FULL_CHR_H_INP;
  thread_local CachedContext cache;
  cache.ctx = sws_getCachedContext(cache.ctx, image.width, image.height, fmt, target.width,
                                   target.height, fmt, flags, nullptr, nullptr, nullptr);
  if (!cache.ctx) return false;
  // The input is small by now (within 2× of the thumbnail), so a padded copy costs little.
  thread_local std::vector<uint8_t> padded;
  padded.resize(image.bytes() + kPadding);
  std::memcpy(padded.data(), image.pixels.get(), image.bytes());
  PixelBuffer out(static_cast<uint8_t*>(
      std::malloc(size_t(target.width) * target.height * image.channels + kPadding)));
  if (!out) return false;
  const uint8_t* src[1] = {padded.data()};
  const int src_stride[1] = {image.width * image.channels};
  uint8_t* dst[1] = {out.get()};
  const int dst_stride[1] = {target.width * image.channels};
  if (sws_scale(cache.ctx, src, src_stride, 0, image.height, dst, dst_stride) != target.height)
    return false;
  image.pixels = std::move(out);
  image.width = target.width;
  image.height = target.height;
  return true;
}

}  // namespace imgpipe

// libswscale resizing for opaque images.
#include "stages/swscale.h"

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
  PixelBuffer out(
      static_cast<uint8_t*>(std::malloc(size_t(target.width) * target.height * image.channels)));
  if (!out) return false;
  const uint8_t* src[1] = {image.pixels.get()};
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

// TurboJPEG decode/encode.
#include "image/jpeg.h"

#include <turbojpeg.h>

namespace imgpipe {
namespace {

// One TurboJPEG handle per thread and direction: creating one costs more than a small decode.
// After a fatal error the handle is replaced: a handle that failed on a corrupt file was seen
// to fail the next, valid one with the same error.
class TjHandle {
 public:
  explicit TjHandle(bool compress) : compress_(compress) { reset(); }
  ~TjHandle() {
    if (h_) tjDestroy(h_);
  }
  tjhandle get() const { return h_; }
  void reset() {
    if (h_) tjDestroy(h_);
    h_ = compress_ ? tjInitCompress() : tjInitDecompress();
  }

 private:
  const bool compress_;
  tjhandle h_ = nullptr;
};

TjHandle& decompressor_handle() {
  thread_local TjHandle h(false);
  return h;
}

tjhandle decompressor() { return decompressor_handle().get(); }

tjhandle compressor() {
  thread_local TjHandle h(true);
  return h.get();
}

// The error text for the last call on the decompressor, which is then replaced (see TjHandle).
std::string decompress_error(const char* what) {
  std::string why = std::string(what) + tjGetErrorStr2(decompressor());
  decompressor_handle().reset();
  return why;
}

// Adobe CMYK JPEGs store inverted ink values: R = C·K/255 and so on.
void cmyk_to_rgb(const uint8_t* in, uint8_t* out, size_t pixels) {
  for (size_t i = 0; i < pixels; ++i, in += 4, out += 3) {
    unsigned k = in[3];
    out[0] = static_cast<uint8_t>(in[0] * k / 255);
    out[1] = static_cast<uint8_t>(in[1] * k / 255);
    out[2] = static_cast<uint8_t>(in[2] * k / 255);
  }
}

}  // namespace

bool jpeg_header(const std::vector<uint8_t>& data, JpegHeader* out, std::string* why) {
  int w = 0, h = 0, subsamp = 0, colorspace = 0;
  if (tjDecompressHeader3(decompressor(), data.data(), data.size(), &w, &h, &subsamp,
                          &colorspace) != 0) {
    *why = decompress_error("JPEG header: ");
    return false;
  }
  out->width = w;
  out->height = h;
  out->gray = colorspace == TJCS_GRAY;
  out->cmyk = colorspace == TJCS_CMYK || colorspace == TJCS_YCCK;
  return true;
}

bool jpeg_decode(const std::vector<uint8_t>& data, int denominator, Image* out, std::string* why) {
  JpegHeader hdr;
  if (!jpeg_header(data, &hdr, why)) return false;
  const tjscalingfactor scale{1, denominator};
  const int w = TJSCALED(hdr.width, scale), h = TJSCALED(hdr.height, scale);
  const int channels = hdr.gray ? 1 : 3;
  const int decoded_channels = hdr.cmyk ? 4 : channels;
  const int format = hdr.gray ? TJPF_GRAY : hdr.cmyk ? TJPF_CMYK : TJPF_RGB;
  PixelBuffer pixels(static_cast<uint8_t*>(std::malloc(size_t(w) * h * decoded_channels)));
  if (!pixels) {
    *why = "out of memory";
    return false;
  }
  // LIMITSCANS: refuse progressive files with absurd scan counts (a CPU-exhaustion trick).
  // FASTDCT: the integer IDCT's small error vanishes in a thumbnail, its speed does not.
  int rc = tjDecompress2(decompressor(), data.data(), data.size(), pixels.get(), w, 0, h, format,
                         TJFLAG_LIMITSCANS | TJFLAG_FASTDCT);
  if (rc != 0 && tjGetErrorCode(decompressor()) != TJERR_WARNING) {
    *why = decompress_error("JPEG: ");
    return false;
  }
  if (hdr.cmyk) cmyk_to_rgb(pixels.get(), pixels.get(), size_t(w) * h);  // in place: 4 → 3 bytes
  out->pixels = std::move(pixels);
  out->width = w;
  out->height = h;
  out->channels = channels;
  return true;
}

bool jpeg_encode(const Image& image, int quality, std::vector<uint8_t>* out, std::string* why) {
  if (image.channels != 1 && image.channels != 3) {
    *why = "JPEG encode wants 1 or 3 channels";
    return false;
  }
  unsigned char* buf = nullptr;
  unsigned long size = 0;
  const bool gray = image.channels == 1;
  int rc = tjCompress2(compressor(), image.pixels.get(), image.width, 0, image.height,
                       gray ? TJPF_GRAY : TJPF_RGB, &buf, &size, gray ? TJSAMP_GRAY : TJSAMP_420,
                       quality, 0);
  if (rc != 0) {
    *why = std::string("JPEG encode: ") + tjGetErrorStr2(compressor());
    tjFree(buf);
    return false;
  }
  out->assign(buf, buf + size);
  tjFree(buf);
  return true;
}

}  // namespace imgpipe

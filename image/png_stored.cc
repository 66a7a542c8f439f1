// The stored-layout PNG decode: chunk walk, libdeflate, row unfiltering templated on the pixel
// size so each channel's chain stays in a register.
#include "image/png_stored.h"

#include <libdeflate.h>
#include <lodepng.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "image/simd.h"

namespace imgpipe {
namespace {

// The Paeth predictor (PNG spec §9.4) without branches: a left, b above, c above-left.
inline uint8_t paeth(int a, int b, int c) {
  const int pa = std::abs(b - c), pb = std::abs(a - c), pc = std::abs(a + b - 2 * c);
  return static_cast<uint8_t>(pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
}

IMGPIPE_SIMD_CLONES void unfilter_up(uint8_t* __restrict cur, const uint8_t* __restrict prev,
                                     size_t n) {
  for (size_t i = 0; i < n; ++i) cur[i] += prev[i];
}

// Paeth for RGB and RGBA with a pixel's channels as the lanes of one vector: the scalar form ran
// one chain of ~14 operations per channel, so it was bound by the instruction count, not by the
// chain from each pixel to the next.
using Lanes = int32_t __attribute__((vector_size(16)));

template <int B>
inline Lanes load_pixel(const uint8_t* p) {
  return Lanes{p[0], p[1], p[2], B == 4 ? p[3] : 0};
}

template <int B>
IMGPIPE_SIMD_CLONES_TEMPLATE void paeth_row(uint8_t* __restrict cur, const uint8_t* __restrict prev,
                                            size_t n) {
  Lanes left = {}, upleft = {};
  for (size_t i = 0; i < n; i += B) {
    const Lanes up = load_pixel<B>(prev + i);
    const Lanes pa_ = up - upleft, d = left - upleft;
    const Lanes pa = pa_ < 0 ? -pa_ : pa_, pb = d < 0 ? -d : d;
    const Lanes pc_ = d + pa_, pc = pc_ < 0 ? -pc_ : pc_;
    const Lanes predictor = (pa <= pb) & (pa <= pc) ? left : pb <= pc ? up : upleft;
    left = (load_pixel<B>(cur + i) + predictor) & 255;
    for (int k = 0; k < B; ++k) cur[i + k] = uint8_t(left[k]);
    upleft = up;
  }
}

// One row; prev is the row above, already unfiltered (zeros above the first). n is a multiple of
// B. `left` and `upleft` hold the previous pixel: B independent chains, none through memory.
template <int B>
void unfilter_row(int type, uint8_t* __restrict cur, const uint8_t* __restrict prev, size_t n) {
  uint8_t left[B] = {}, upleft[B] = {};
  switch (type) {
    case 1:  // Sub: + the pixel to the left
      for (size_t i = 0; i < n; i += B)
        for (int k = 0; k < B; ++k) left[k] = cur[i + k] = uint8_t(cur[i + k] + left[k]);
      return;
    case 2:  // Up: + the pixel above
      return unfilter_up(cur, prev, n);
    case 3:  // Average: + the floor of the mean of left and above
      for (size_t i = 0; i < n; i += B)
        for (int k = 0; k < B; ++k)
          left[k] = cur[i + k] = uint8_t(cur[i + k] + ((left[k] + prev[i + k]) >> 1));
      return;
    case 4:  // Paeth: + whichever of left, above, above-left is nearest left + above - above-left
      if constexpr (B == 3 || B == 4) return paeth_row<B>(cur, prev, n);
      for (size_t i = 0; i < n; i += B)
        for (int k = 0; k < B; ++k) {
          const uint8_t up = prev[i + k];
          left[k] = cur[i + k] = uint8_t(cur[i + k] + paeth(left[k], up, upleft[k]));
          upleft[k] = up;
        }
      return;
    default:  // None
      return;
  }
}

// Row y is unfiltered where it lies, against row y - 1 already moved down to (y - 1) × row_bytes
// (which ends before row y's bytes start), then moved down to y × row_bytes itself.
template <int B>
bool unfilter_rows(uint8_t* data, size_t rows, size_t row_bytes) {
  const std::vector<uint8_t> zeros(row_bytes);  // the row above the first
  const uint8_t* prev = zeros.data();
  for (size_t y = 0; y < rows; ++y) {
    uint8_t* row = data + y * (row_bytes + 1);
    if (row[0] > 4) return false;
    unfilter_row<B>(row[0], row + 1, prev, row_bytes);
    uint8_t* packed = data + y * row_bytes;
    std::memmove(packed, row + 1, row_bytes);
    prev = packed;
  }
  return true;
}

}  // namespace

bool unfilter_png_rows(uint8_t* data, size_t rows, size_t row_bytes, int bytes_per_pixel) {
  if (bytes_per_pixel < 1 || row_bytes % bytes_per_pixel != 0) return false;
  switch (bytes_per_pixel) {
    case 1:
      return unfilter_rows<1>(data, rows, row_bytes);
    case 2:
      return unfilter_rows<2>(data, rows, row_bytes);
    case 3:
      return unfilter_rows<3>(data, rows, row_bytes);
    case 4:
      return unfilter_rows<4>(data, rows, row_bytes);
    case 6:
      return unfilter_rows<6>(data, rows, row_bytes);
    case 8:
      return unfilter_rows<8>(data, rows, row_bytes);
    default:  // no PNG layout has it
      return false;
  }
}

libdeflate_decompressor* thread_inflater() {
  thread_local std::unique_ptr<libdeflate_decompressor, void (*)(libdeflate_decompressor*)>
      inflater(libdeflate_alloc_decompressor(), libdeflate_free_decompressor);
  return inflater.get();
}

bool decode_stored_png(const uint8_t* png, size_t size, size_t rows, size_t row_bytes, int channels,
                       uint8_t** pixels, const char** why) {
  // IDAT may come in many chunks (libpng writes 8 KB ones): deflate wants them joined.
  std::vector<uint8_t> idat;
  const uint8_t* end = png + size;
  for (const uint8_t* c = png + 8; end - c >= 12; c = lodepng_chunk_next_const(c, end)) {
    const size_t length = lodepng_chunk_length(c);
    if (length > size_t(end - c) - 12) {
      *why = "a chunk runs past the end of the file";
      return false;
    }
    if (lodepng_chunk_type_equals(c, "IDAT"))
      idat.insert(idat.end(), c + 8, c + 8 + length);
    else if (lodepng_chunk_type_equals(c, "IEND"))
      break;
  }
  std::unique_ptr<uint8_t, void (*)(void*)> out(
      static_cast<uint8_t*>(std::malloc(rows * (row_bytes + 1))), std::free);
  if (!out) {
    *why = "out of memory";
    return false;
  }
  libdeflate_decompressor* inflater = thread_inflater();
  // No actual-size out-parameter: libdeflate then fails unless the stream fills the buffer
  // exactly, and never writes past it.
  if (!inflater ||
      libdeflate_zlib_decompress(inflater, idat.data(), idat.size(), out.get(),
                                 rows * (row_bytes + 1), nullptr) != LIBDEFLATE_SUCCESS) {
    *why = "corrupt or truncated image data";
    return false;
  }
  if (!unfilter_png_rows(out.get(), rows, row_bytes, channels)) {
    *why = "invalid filter type";
    return false;
  }
  *pixels = out.release();
  return true;
}

}  // namespace imgpipe

// The box pre-shrink: column sums per band of k rows, then one rounded mean per k×k block.
#include "image/box.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "image/simd.h"
#include "image/srgb.h"

namespace imgpipe {

namespace {

// x / n rounded down as a multiply and a shift, because a division costs 20–40 multiplies and the
// box averages did one per channel per pixel (over half the pre-shrink's time). With m =
// ceil(2^40 / n) the result is exact for x < 2^40 / n; the averages here have x < 256·n, which
// is below that for n < 2^16 (blocks of under 65536 pixels). Larger n divides.
struct Divider {
  uint32_t n;
  uint64_t m;
  explicit Divider(uint32_t n) : n(n), m(n < (1u << 16) ? ((uint64_t(1) << 40) + n - 1) / n : 0) {}
  uint32_t operator()(uint32_t x) const { return m ? uint32_t((x * m) >> 40) : x / n; }
};

// Adds one opaque row to the column sums, in 16 bits: a band has at most kMaxBlock rows and
// 256 × 255 < 2^16. That halves the memory traffic and doubles the SIMD width of 32-bit sums.
// A band's first row stores instead, so the sums are never zeroed.
IMGPIPE_SIMD_CLONES void add_row_sums(const uint8_t* __restrict p, size_t n,
                                      uint16_t* __restrict acc, bool first) {
  if (first)
    for (size_t i = 0; i < n; ++i) acc[i] = p[i];
  else
    for (size_t i = 0; i < n; ++i) acc[i] += p[i];
}

// With alpha, colour is weighted by alpha (a premultiplied average) so transparent pixels do not
// tint their neighbours.
template <int C>
void add_alpha_row_sums(const uint8_t* p, size_t n, uint32_t* acc, bool first) {
  if (first) std::fill(acc, acc + n, 0u);
  for (size_t i = 0; i < n; i += C) {
    const uint32_t a = p[i + C - 1];
    for (int ch = 0; ch < C - 1; ++ch) acc[i + ch] += p[i + ch] * a;
    acc[i + C - 1] += a;
  }
}

// One output pixel from the sums of its block (n pixels): the rounded mean.
template <int C, bool kAlpha>
void put_mean(const uint32_t* sum, const Divider& n, uint8_t* o) {
  if (!kAlpha) {
    for (int ch = 0; ch < C; ++ch) o[ch] = uint8_t(n(sum[ch] + n.n / 2));
    return;
  }
  const uint32_t a = sum[C - 1];  // the colour sums are alpha-weighted: divide by the alpha sum
  for (int ch = 0; ch < C - 1; ++ch) o[ch] = a ? uint8_t((sum[ch] + a / 2) / a) : 0;
  o[C - 1] = uint8_t(n(a + n.n / 2));
}

// One output row from a band of `rows` summed rows: k adjacent column sums per output pixel.
// K is k when known at compile time (the common 2, 3, 4: unrolled), else 0. A partial block at
// the right edge counts its last column k − rest more times (BoxShrinker's edge copies).
template <int C, bool kAlpha, int K, typename Acc>
void emit(const Acc* acc, int width, int k, uint32_t rows, uint8_t* out) {
  const int step = K > 0 ? K : k, whole_blocks = width / step;
  const Divider whole(uint32_t(step) * rows);
  for (int ox = 0; ox < whole_blocks; ++ox) {
    const Acc* a = acc + size_t(ox) * step * C;
    uint32_t sum[C] = {};
    for (int x = 0; x < step; ++x)
      for (int ch = 0; ch < C; ++ch) sum[ch] += a[x * C + ch];
    put_mean<C, kAlpha>(sum, whole, out + size_t(ox) * C);
  }
  const int rest = width - whole_blocks * step;
  if (rest == 0) return;
  uint32_t sum[C] = {};
  for (int x = whole_blocks * step; x < width; ++x)
    for (int ch = 0; ch < C; ++ch) sum[ch] += acc[size_t(x) * C + ch];
  const Acc* last = acc + size_t(width - 1) * C;
  for (int ch = 0; ch < C; ++ch) sum[ch] += uint32_t(step - rest) * last[ch];
  put_mean<C, kAlpha>(sum, whole, out + size_t(whole_blocks) * C);
}

// The opaque fast path, for blocks of up to kMaxFastPixels: a block's sum is at most 256 × 255
// < 2^16, and its mean divides exactly as ((x + n/2) × ceil(2^24 / n)) >> 24 in 32 bits (for
// n ≤ 256 and x ≤ 255 n; checked for every pair). So a band's output comes from three plain
// loops that vectorise, where emit's per-pixel sums and 64-bit divides were most of the pre-shrink.
constexpr int kMaxFastPixels = 256;

// wide[i] = acc[i] + acc[i + stride] + … (k terms) for every i < n: a block's sums start at its
// first pixel's values. Only every k-th pixel's are used; computing them all keeps loops simple.
IMGPIPE_SIMD_CLONES void sum_k_columns(const uint16_t* __restrict acc, size_t n, size_t stride,
                                       int k, uint16_t* __restrict wide) {
  for (size_t i = 0; i < n; ++i) wide[i] = acc[i];
  for (int x = 1; x < k; ++x)
    for (size_t i = 0; i < n; ++i) wide[i] += acc[i + x * stride];
}

// sum_k_columns does k adds per value, which, vectorised, beats a loop per block for the blocks of
// ordinary images (k ≤ 16 where k × rows ≤ kMaxFastPixels and blocks are square). A thin image's
// blocks can be 256 wide over one row: there it did 256 times the work a block sum needs (a fuzzed
// 63760×13 BMP took 36 s under ASan with coverage), so wider blocks are summed one by one.
constexpr int kMaxSlidingK = 16;

// The sums of every block of k pixels of acc, side by side in picked: each at most k × rows × 255
// ≤ kMaxFastPixels × 255, so they fit 16 bits.
template <int C>
void sum_blocks(const uint16_t* acc, int blocks, int k, uint16_t* picked) {
  for (int ox = 0; ox < blocks; ++ox)
    for (int c = 0; c < C; ++c) {
      uint32_t sum = 0;
      for (int x = 0; x < k; ++x) sum += acc[(size_t(ox) * k + x) * C + c];
      picked[size_t(ox) * C + c] = uint16_t(sum);
    }
}

// The first pixel's sums of every block of k, side by side. RGB moves 8 bytes (one load and one
// store): the extra value read is the next pixel's (past the last pixel when k is 1: `wide` has
// one spare value at the end), and the one written is overwritten next; `picked` has one spare.
template <int C>
void pick_every_k(const uint16_t* wide, int blocks, int k, uint16_t* picked) {
  constexpr size_t kBytes = C == 3 ? 8 : C * sizeof(uint16_t);
  for (int ox = 0; ox < blocks; ++ox)
    std::memcpy(picked + size_t(ox) * C, wide + size_t(ox) * k * C, kBytes);
}

// out[j] = the rounded mean of sums[j] over `count` values, for count ≤ 256.
IMGPIPE_SIMD_CLONES void divide_sums(const uint16_t* __restrict sums, size_t n, uint32_t count,
                                     uint8_t* __restrict out) {
  const uint32_t half = count / 2, m = ((1u << 24) + count - 1) / count;
  for (size_t j = 0; j < n; ++j) out[j] = uint8_t(((sums[j] + half) * m) >> 24);
}

// emit for opaque images with k × rows ≤ kMaxFastPixels; wide holds width × C + 1 values, picked
// (width / k) × C + 1.
template <int C>
void emit_opaque(const uint16_t* acc, int width, int k, uint32_t rows, uint8_t* out, uint16_t* wide,
                 uint16_t* picked) {
  const int blocks = width / k;
  if (blocks > 0) {
    if (k <= kMaxSlidingK) {
      sum_k_columns(acc, size_t(blocks - 1) * k * C + C, C, k, wide);
      pick_every_k<C>(wide, blocks, k, picked);
    } else {
      sum_blocks<C>(acc, blocks, k, picked);
    }
    divide_sums(picked, size_t(blocks) * C, uint32_t(k) * rows, out);
  }
  const int done = blocks * k;  // a partial block at the right edge, emit's way
  if (done < width)
    emit<C, false, 0>(acc + size_t(done) * C, width - done, k, rows, out + size_t(blocks) * C);
}

template <int C, bool kAlpha, typename Acc>
void emit_k(const Acc* acc, int width, int k, uint32_t rows, uint8_t* out) {
  switch (k) {
    case 2:
      return emit<C, kAlpha, 2>(acc, width, k, rows, out);
    case 3:
      return emit<C, kAlpha, 3>(acc, width, k, rows, out);
    case 4:
      return emit<C, kAlpha, 4>(acc, width, k, rows, out);
    default:
      return emit<C, kAlpha, 0>(acc, width, k, rows, out);
  }
}

template <typename Acc>
void emit_band(int channels, const Acc* acc, int width, int k, uint32_t rows, uint8_t* out) {
  switch (channels) {
    case 1:
      return emit_k<1, false>(acc, width, k, rows, out);
    case 2:
      return emit_k<2, true>(acc, width, k, rows, out);
    case 3:
      return emit_k<3, false>(acc, width, k, rows, out);
    default:
      return emit_k<4, true>(acc, width, k, rows, out);
  }
}

// --linear: each value through the 16-bit linear-light table, alpha-weighted with alpha.
template <int C, bool kAlpha>
void add_linear_row_sums(const uint8_t* p, size_t n, uint64_t* acc, bool first,
                         const uint16_t* to_linear) {
  if (first) std::fill(acc, acc + n, uint64_t{0});
  constexpr int kColours = kAlpha ? C - 1 : C;
  for (size_t i = 0; i < n; i += C) {
    const uint32_t a = kAlpha ? p[i + C - 1] : 1;
    for (int ch = 0; ch < kColours; ++ch) acc[i + ch] += uint64_t(to_linear[p[i + ch]]) * a;
    if (kAlpha) acc[i + C - 1] += a;
  }
}

void add_linear_row_sums(int channels, const uint8_t* p, size_t n, uint64_t* acc, bool first) {
  const uint16_t* lin = srgb_tables().to_linear16;
  switch (channels) {
    case 2:
      return add_linear_row_sums<2, true>(p, n, acc, first, lin);
    case 4:
      return add_linear_row_sums<4, true>(p, n, acc, first, lin);
    default:  // opaque: every value alike
      return add_linear_row_sums<1, false>(p, n, acc, first, lin);
  }
}

// emit for --linear: each block's linear mean (alpha-weighted colour with alpha) → sRGB. Plain
// divides: --linear trades speed for light, and its shrink-on-load is off anyway.
template <int C, bool kAlpha>
void emit_linear(const uint64_t* acc, int width, int k, uint32_t rows, uint8_t* out) {
  const SrgbTables& t = srgb_tables();
  const uint64_t n = uint64_t(k) * rows;
  for (int x0 = 0; x0 < width; x0 += k, out += C) {
    uint64_t sum[C] = {};
    for (int x = x0; x < x0 + k; ++x) {  // past the right edge: copies of the last column
      const uint64_t* a = acc + size_t(std::min(x, width - 1)) * C;
      for (int ch = 0; ch < C; ++ch) sum[ch] += a[ch];
    }
    const uint64_t a = kAlpha ? sum[C - 1] : n;
    for (int ch = 0; ch < (kAlpha ? C - 1 : C); ++ch)
      out[ch] = a ? t.from_linear16[(sum[ch] + a / 2) / a] : 0;
    if (kAlpha) out[C - 1] = uint8_t((a + n / 2) / n);
  }
}

void emit_linear(int channels, const uint64_t* acc, int width, int k, uint32_t rows, uint8_t* out) {
  switch (channels) {
    case 1:
      return emit_linear<1, false>(acc, width, k, rows, out);
    case 2:
      return emit_linear<2, true>(acc, width, k, rows, out);
    case 3:
      return emit_linear<3, false>(acc, width, k, rows, out);
    default:
      return emit_linear<4, true>(acc, width, k, rows, out);
  }
}

}  // namespace

int box_factor(double ratio) {
  const double k = std::floor(ratio / kFinalFilterMargin);
  return k < 1 ? 1 : static_cast<int>(std::min<double>(k, BoxShrinker::kMaxBlock));
}

bool BoxShrinker::start(int width, int height, int channels, int kx, int ky, bool linear) {
  width_ = width;
  height_ = height;
  channels_ = channels;
  kx_ = std::clamp(kx, 1, kMaxBlock);
  ky_ = std::clamp(ky, 1, kMaxBlock);
  linear_ = linear;
  rows_in_ = band_rows_ = 0;
  out_ = Image{};
  out_.width = (width + kx_ - 1) / kx_;
  out_.height = (height + ky_ - 1) / ky_;
  out_.channels = channels;
  out_.pixels.reset(
      static_cast<uint8_t*>(std::malloc(size_t(out_.width) * out_.height * channels)));
  const size_t n = size_t(width) * channels;
  // Each band's first row initialises its sums.
  linear_acc_.resize(linear ? n : 0);
  acc_.resize(!linear && alpha() ? n : 0);
  sums_.resize(!linear && !alpha() ? n : 0);
  const bool fast = !linear && !alpha() && kx_ * ky_ <= kMaxFastPixels;
  wide_.resize(fast ? n + 1 : 0);
  picked_.resize(fast ? size_t(out_.width) * channels + 1 : 0);
  return out_.pixels != nullptr;
}

void BoxShrinker::add_sums(const uint8_t* row, bool first) {
  const size_t n = size_t(width_) * channels_;
  if (linear_)
    add_linear_row_sums(channels_, row, n, linear_acc_.data(), first);
  else if (channels_ == 2)
    add_alpha_row_sums<2>(row, n, acc_.data(), first);
  else if (channels_ == 4)
    add_alpha_row_sums<4>(row, n, acc_.data(), first);
  else
    add_row_sums(row, n, sums_.data(), first);
}

void BoxShrinker::emit_row(uint8_t* out) {
  const uint32_t rows = uint32_t(ky_);
  if (linear_)
    emit_linear(channels_, linear_acc_.data(), width_, kx_, rows, out);
  else if (alpha())
    emit_band(channels_, acc_.data(), width_, kx_, rows, out);
  else if (kx_ * ky_ > kMaxFastPixels)
    emit_band(channels_, sums_.data(), width_, kx_, rows, out);
  else if (channels_ == 1)
    emit_opaque<1>(sums_.data(), width_, kx_, rows, out, wide_.data(), picked_.data());
  else
    emit_opaque<3>(sums_.data(), width_, kx_, rows, out, wide_.data(), picked_.data());
}

void BoxShrinker::add_row(const uint8_t* row) {
  ++rows_in_;
  // The last band of a height that ky does not divide takes the last row again for each row it
  // lacks: the edge copies that keep the grid uniform.
  const int times = rows_in_ == height_ ? ky_ - band_rows_ : 1;
  for (int t = 0; t < times; ++t, ++band_rows_) add_sums(row, band_rows_ == 0);
  if (band_rows_ < ky_) return;
  emit_row(out_.pixels.get() + size_t((rows_in_ - 1) / ky_) * out_.width * channels_);
  band_rows_ = 0;
}

Image BoxShrinker::finish() { return std::move(out_); }

bool box_shrink(Image& image, int kx, int ky, bool linear) {
  if (kx < 2 && ky < 2) return true;
  BoxShrinker box;
  if (!box.start(image.width, image.height, image.channels, kx, ky, linear)) return false;
  const size_t stride = size_t(image.width) * image.channels;
  for (int y = 0; y < image.height; ++y) box.add_row(image.pixels.get() + y * stride);
  image = box.finish();
  return true;
}

}  // namespace imgpipe

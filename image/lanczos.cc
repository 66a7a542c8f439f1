// Separable Lanczos-3 resampling: a vertical pass, a transpose, and the horizontal pass run as a
// second vertical one, so both inner loops walk contiguous memory and vectorise.
#include "image/lanczos.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <utility>
#include <vector>

#include "image/fixed_filter.h"
#include "image/simd.h"
#include "image/srgb.h"

namespace imgpipe {
namespace {

constexpr int kLobes = 3;  // Lanczos-3, the thumbnail filter of libvips and Pillow
// Scratch kept per thread between calls, per buffer: enough for thumbnails up to ~400 px from a
// 4× input (RGB; ~590 px from 2×), so the common sizes reuse it, while a rare huge --size does not
// pin its memory in every worker.
constexpr size_t kKeepBytes = size_t(8) << 20;
// Output rows per band of the vertical pass. Each band converts its source rows to float, taps − 1
// of them shared with the next band: at 32 rows and 9 taps that is a quarter more conversion than
// one copy of the whole source, in 41 rows of memory instead of all of them.
constexpr int kBand = 32;

double lanczos_exact(double x) {
  if (x < 1e-9) return 1;
  const double px = M_PI * x;
  return kLobes * std::sin(px) * std::sin(px / kLobes) / (px * px);
}

// The kernel from a table with linear interpolation: two sines per tap made the weights cost as
// much as the filtering for thumbnail-sized images. Floats at 1024 steps per unit: the 12 KB
// table stays in L1 (a 96 KB table of doubles did not, and the weights were 1% of a run's CPU),
// and the interpolation error, under h²/8 · max|f''| ≈ 1.4e-6, is far below a float weight's
// effect on an 8-bit result.
float lanczos(float x) {
  constexpr int kSteps = 1024, kEnd = kLobes * kSteps;
  using Table = std::array<float, kEnd + 1>;
  static const Table table = [] {
    Table t{};  // t[kEnd] stays 0: the kernel's end
    for (int i = 0; i < kEnd; ++i) t[i] = float(lanczos_exact(double(i) / kSteps));
    return t;
  }();
  x = std::abs(x) * kSteps;
  if (x >= kEnd) return 0;
  const int i = static_cast<int>(x);
  return table[i] + (x - i) * (table[i + 1] - table[i]);
}

// The filter along one axis: output i reads `taps` source samples from first[i], weighted by
// w[i * taps ...]. Every output has the same tap count (zero weights pad the short ones), so the
// inner loops have no edge cases.
struct Axis {
  int taps = 0;
  std::vector<int> first;
  std::vector<float> w;
};

// Output i is centred on start + (i + 0.5) × extent / out in source pixel coordinates.
Axis make_axis(int in, int out, double start, double extent) {
  const double scale = extent / out;
  const double stretch = std::max(scale, 1.0);  // shrinking widens the kernel so it also averages
  const double radius = kLobes * stretch, inv_stretch = 1 / stretch;
  Axis a;
  // Sample s sits at s + 0.5 and weighs nothing unless it is less than radius from the centre:
  // an open interval of length 2 × radius holds at most ceil(2 × radius) of them. (2 ceil(radius)
  // + 1 taps, the loose bound, was 9 instead of 7 taps at the common scale 1.04.)
  a.taps = std::clamp(static_cast<int>(std::ceil(2 * radius)), 1, in);
  a.first.resize(out);
  a.w.assign(size_t(out) * a.taps, 0.f);
  for (int i = 0; i < out; ++i) {
    const double center = start + (i + 0.5) * scale;
    // The first sample inside the support; at the edges the window slides in, over samples that
    // are outside the support or outside the image, and so weigh nothing either way.
    const int inside = static_cast<int>(std::floor(center - radius - 0.5)) + 1;
    const int first = std::clamp(inside, 0, in - a.taps);
    float* w = &a.w[size_t(i) * a.taps];
    // Multiplications, not divisions, per tap: the divides were most of this function's time.
    double sum = 0;
    for (int t = 0; t < a.taps; ++t)
      sum += w[t] = lanczos(float((first + t + 0.5 - center) * inv_stretch));
    // Past the image edge there are no samples: the weights that remain are renormalised.
    const double norm = sum > 0 ? 1 / sum : 0;
    for (int t = 0; t < a.taps; ++t) w[t] = float(w[t] * norm);
    if (sum <= 0) w[std::clamp(static_cast<int>(std::floor(center)) - first, 0, a.taps - 1)] = 1.f;
    a.first[i] = first;
  }
  return a;
}

// N taps in one pass over acc, the first pass storing instead of adding: acc is loaded and stored
// once per pass, not per tap, and needs no zeroing (its memset was ~3% of a JPEG-only run's CPU).
template <int N>
IMGPIPE_SIMD_CLONES_TEMPLATE void add_weighted(float* __restrict acc, const float* __restrict row,
                                               size_t stride, const float* w, size_t n,
                                               bool first) {
  float wt[N];
  for (int t = 0; t < N; ++t) wt[t] = w[t];
  for (size_t i = 0; i < n; ++i) {
    float sum = 0;
    for (int t = 0; t < N; ++t) sum += wt[t] * row[t * stride + i];
    acc[i] = first ? sum : acc[i] + sum;
  }
}

void add_weighted(int taps, float* acc, const float* row, size_t stride, const float* w, size_t n,
                  bool first) {
  switch (taps) {
    case 1:
      return add_weighted<1>(acc, row, stride, w, n, first);
    case 2:
      return add_weighted<2>(acc, row, stride, w, n, first);
    case 3:
      return add_weighted<3>(acc, row, stride, w, n, first);
    case 4:
      return add_weighted<4>(acc, row, stride, w, n, first);
    case 5:
      return add_weighted<5>(acc, row, stride, w, n, first);
    case 6:
      return add_weighted<6>(acc, row, stride, w, n, first);
    default:
      return add_weighted<7>(acc, row, stride, w, n, first);
  }
}

// Filters along rows: out holds output rows [begin, end) of n values, each a weighted sum of
// `taps` rows of `src`, which holds source rows from src_row on (row stride n). Passes take 4
// taps, the first up to 7 (4 plus the remainder), so 9 taps are 2 passes over acc, not 3.
void filter_rows(const float* src, int src_row, size_t n, const Axis& axis, int begin, int end,
                 float* out) {
  const int first_taps = axis.taps <= 7 ? axis.taps : 4 + axis.taps % 4;
  for (int o = begin; o < end; ++o) {
    float* acc = out + size_t(o - begin) * n;
    const float* row = src + size_t(axis.first[o] - src_row) * n;
    const float* w = &axis.w[o * axis.taps];
    add_weighted(first_taps, acc, row, n, w, n, true);
    for (int t = first_taps; t < axis.taps; t += 4)
      add_weighted<4>(acc, row + size_t(t) * n, n, w + t, n, false);
  }
}

// rows × cols pixels of C values (floats or bytes) → cols × rows, in 16×16 tiles so both sides
// stay in cache. RGB moves 4 values a pixel, a load and a store instead of three of each (the
// transposes were a quarter of this filter's time): the extra value read is the next one in `in`,
// and the extra value written starts output pixel (c, r + 1), which is written after (c, r). Input
// row r = rows − 1 ends each output row, so it moves exactly 3 and nothing reads or writes past
// the end.
template <int C, typename T>
void transpose(const T* in, int rows, int cols, T* out) {
  constexpr int kTile = 16;
  constexpr size_t kMove = (C == 3 ? 4 : C) * sizeof(T);
  const size_t in_step = size_t(cols) * C;
  for (int r0 = 0; r0 < rows; r0 += kTile) {
    const int r_end = std::min(rows, r0 + kTile);
    const int wide_end = std::min(r_end, rows - 1);  // rows before the last move kMove bytes
    for (int c0 = 0; c0 < cols; c0 += kTile)
      for (int c = c0; c < std::min(cols, c0 + kTile); ++c) {
        const T* src = in + (size_t(r0) * cols + c) * C;
        T* dst = out + (size_t(c) * rows + r0) * C;
        for (int r = r0; r < wide_end; ++r, src += in_step, dst += C) std::memcpy(dst, src, kMove);
        if (wide_end < r_end) std::memcpy(dst, src, C * sizeof(T));
      }
  }
}

template <typename T>
void transpose(const T* in, int rows, int cols, int C, T* out) {
  switch (C) {
    case 1:
      return transpose<1>(in, rows, cols, out);
    case 2:
      return transpose<2>(in, rows, cols, out);
    case 3:
      return transpose<3>(in, rows, cols, out);
    default:
      return transpose<4>(in, rows, cols, out);
  }
}

// Rounded, then clamped as an int: float comparisons would stay branches (NaN rules) and keep the
// loops below from vectorising. The sums are far inside int range.
inline uint8_t to_byte(float v) {
  return static_cast<uint8_t>(std::min(std::max(static_cast<int>(v + 0.5f), 0), 255));
}

// The source as floats, colour weighted by alpha (the last channel) with kAlpha, so transparent
// pixels do not tint their neighbours. Converting once costs less than converting inside the
// vertical pass, which reads every source row once per tap (a 267×178 → 256×171 RGB resize: −13%).
template <int C, bool kAlpha>
IMGPIPE_SIMD_CLONES_TEMPLATE void to_floats(const uint8_t* __restrict p, size_t pixels,
                                            float* __restrict out) {
  for (size_t i = 0; i < pixels; ++i) {
    const float a = kAlpha ? p[i * C + C - 1] / 255.f : 1.f;
    for (int ch = 0; ch < C; ++ch)
      out[i * C + ch] = kAlpha && ch < C - 1 ? p[i * C + ch] * a : p[i * C + ch];
  }
}

// --linear: colour through the linear-light table (a lookup per value, which does not vectorise;
// --linear is the slower mode), alpha as it is, colour weighted by it.
template <int C, bool kAlpha>
void to_linear_floats(const uint8_t* p, size_t pixels, float* out) {
  const float* lin = srgb_tables().to_linear;
  for (size_t i = 0; i < pixels; ++i) {
    const float a = kAlpha ? p[i * C + C - 1] / 255.f : 1.f;
    for (int ch = 0; ch < C; ++ch)
      out[i * C + ch] = kAlpha && ch == C - 1 ? p[i * C + ch] : lin[p[i * C + ch]] * a;
  }
}

// Rows [y0, y1) of img as floats (in linear light with `linear`).
void to_floats(const Image& img, int y0, int y1, bool linear, float* out) {
  const size_t pixels = size_t(img.width) * (y1 - y0);
  const uint8_t* p = img.pixels.get() + size_t(y0) * img.width * img.channels;
  if (linear) switch (img.channels) {
      case 2:
        return to_linear_floats<2, true>(p, pixels, out);
      case 4:
        return to_linear_floats<4, true>(p, pixels, out);
      default:
        return to_linear_floats<1, false>(p, pixels * img.channels, out);
    }
  switch (img.channels) {
    case 2:
      return to_floats<2, true>(p, pixels, out);
    case 4:
      return to_floats<4, true>(p, pixels, out);
    default:  // opaque: every byte converts alike
      return to_floats<1, false>(p, pixels * img.channels, out);
  }
}

// Filtered values → bytes; with alpha, colour comes back from premultiplied.
IMGPIPE_SIMD_CLONES void to_bytes(const float* __restrict v, size_t n, uint8_t* __restrict out) {
  for (size_t i = 0; i < n; ++i) out[i] = to_byte(v[i]);
}

void to_bytes_unpremultiplied(const float* v, size_t n, int C, uint8_t* out) {
  for (size_t i = 0; i < n; i += C) {
    const float a = std::clamp(v[i + C - 1], 0.f, 255.f);
    for (int ch = 0; ch < C - 1; ++ch) out[i + ch] = to_byte(a > 0 ? v[i + ch] * 255.f / a : 0.f);
    out[i + C - 1] = to_byte(a);
  }
}

// --linear: linear light back to sRGB codes; with alpha (C 2 or 4), from premultiplied first.
void linear_to_bytes(const float* v, size_t n, int C, uint8_t* out) {
  const SrgbTables& t = srgb_tables();
  if (C != 2 && C != 4) {
    for (size_t i = 0; i < n; ++i) out[i] = linear_to_srgb(t, v[i]);
    return;
  }
  for (size_t i = 0; i < n; i += C) {
    const float a = std::clamp(v[i + C - 1], 0.f, 255.f);
    for (int ch = 0; ch < C - 1; ++ch)
      out[i + ch] = linear_to_srgb(t, a > 0 ? v[i + ch] * 255.f / a : 0.f);
    out[i + C - 1] = to_byte(a);
  }
}

// A buffer kept per thread between calls: fresh allocations this size come from mmap, and
// page-faulting them in cost more than the filtering. Unlike a std::vector it never zero-fills
// (every value is written before it is read; a vector's growth memset was 1.7% of a run's CPU),
// and one over kKeepBytes is released after use, so a rare huge --size does not stay pinned.
template <typename T>
class Scratch {
 public:
  // Room for n values; false when out of memory.
  bool reserve(size_t n) {
    if (n <= size_) return true;
    data_.reset(static_cast<T*>(std::malloc(n * sizeof(T))));
    size_ = data_ ? n : 0;
    return data_ != nullptr;
  }
  T* get() const { return data_.get(); }
  void trim() {
    if (size_ * sizeof(T) > kKeepBytes) data_.reset(), size_ = 0;
  }

 private:
  struct Free {
    void operator()(T* p) const { std::free(p); }
  };
  std::unique_ptr<T, Free> data_;
  size_t size_ = 0;
};

// The vertical pass into out (axis.first.size() rows of image.width pixels), kBand output rows
// at a time, converting to float only the source rows a band reads: a float copy of the whole
// source was 3 MB per thread for a 256-px thumbnail. False when out of memory.
bool vertical_pass(const Image& image, const Axis& axis, bool linear, float* out) {
  const int out_rows = int(axis.first.size());
  auto band = [&](int o0) {  // output rows [o0, o1) read source rows [y0, y1)
    const int o1 = std::min(out_rows, o0 + kBand);
    return std::array<int, 3>{o1, axis.first[o0], axis.first[o1 - 1] + axis.taps};
  };
  int most_rows = 0;
  for (int o0 = 0; o0 < out_rows; o0 += kBand) {
    const auto [o1, y0, y1] = band(o0);
    most_rows = std::max(most_rows, y1 - y0);
  }
  const size_t row_values = size_t(image.width) * image.channels;
  thread_local Scratch<float> source;
  if (!source.reserve(size_t(most_rows) * row_values)) return false;
  for (int o0 = 0; o0 < out_rows; o0 += kBand) {
    const auto [o1, y0, y1] = band(o0);
    to_floats(image, y0, y1, linear, source.get());
    filter_rows(source.get(), y0, row_values, axis, o0, o1, out + size_t(o0) * row_values);
  }
  source.trim();
  return true;
}

// Opaque images in sRGB codes (the default) take a fixed-point path: both passes in 16-bit
// integers (image/fixed_filter.h), as Pillow and libvips do for 8-bit images. It does the float
// path's work in about half the time (no float conversion, half the memory traffic, two taps per
// multiply-add) and stays within 0.52 of a step of the exact filter (tests/lanczos_test.cc), as
// float does. Its scratch (two int16 copies and a byte one) is under the float path's, which
// --decode-memory reserves for. False when the weights do not fit (the float path takes over) or
// memory runs out.
bool fixed_resize(const Image& image, const Axis& vertical, const Axis& horizontal, uint8_t* out) {
  const std::vector<int16_t> wv = to_fixed(vertical.w, vertical.taps);
  const std::vector<int16_t> wh = to_fixed(horizontal.w, horizontal.taps);
  if (wv.empty() || wh.empty()) return false;
  const int C = image.channels, W = image.width;
  const int oh = int(vertical.first.size()), ow = int(horizontal.first.size());
  const size_t row = size_t(W) * C, column = size_t(oh) * C;
  // Scratch: the vertical pass's oh rows of W pixels, then its transpose (W columns of oh
  // pixels); the horizontal pass's ow × oh result goes to bytes, the last transpose to `out`.
  thread_local Scratch<int16_t> rows, columns;
  thread_local Scratch<uint8_t> result;
  if (!rows.reserve(size_t(oh) * W * C) || !columns.reserve(size_t(oh) * W * C) ||
      !result.reserve(size_t(ow) * oh * C))
    return false;
  for (int o = 0; o < oh; ++o)
    fixed_filter(image.pixels.get() + size_t(vertical.first[o]) * row, row,
                 &wv[size_t(o) * vertical.taps], vertical.taps, row, rows.get() + o * row);
  transpose(rows.get(), oh, W, C, columns.get());
  for (int o = 0; o < ow; ++o)
    fixed_filter(columns.get() + size_t(horizontal.first[o]) * column, column,
                 &wh[size_t(o) * horizontal.taps], horizontal.taps, column,
                 result.get() + o * column);
  transpose(result.get(), ow, oh, C, out);
  rows.trim(), columns.trim(), result.trim();
  return true;
}

// Everything else — alpha, filtered premultiplied; --linear, in linear light — in float.
bool float_resize(Image& image, const Axis& vertical, const Axis& horizontal, bool linear,
                  uint8_t* out) {
  const int C = image.channels, W = image.width;
  const int oh = int(vertical.first.size()), ow = int(horizontal.first.size());
  // Scratch: oh rows of W pixels, and its transpose (the second holds the ow × oh result after it).
  thread_local Scratch<float> rows, columns;
  const size_t row_floats = size_t(oh) * std::max(W, ow) * C;
  if (!rows.reserve(row_floats) || !columns.reserve(row_floats) ||
      !vertical_pass(image, vertical, linear, rows.get()))
    return false;
  const size_t column_values = size_t(oh) * C;
  // Each source column becomes a row of oh pixels; filtering those rows is the horizontal pass.
  transpose(rows.get(), oh, W, C, columns.get());
  filter_rows(columns.get(), 0, column_values, horizontal, 0, ow, rows.get());
  // To bytes before the last transpose, which then moves a quarter of the data.
  const size_t n = size_t(ow) * oh * C;
  uint8_t* bytes = reinterpret_cast<uint8_t*>(columns.get());
  if (linear)
    linear_to_bytes(rows.get(), n, C, bytes);
  else if (C == 2 || C == 4)
    to_bytes_unpremultiplied(rows.get(), n, C, bytes);
  else
    to_bytes(rows.get(), n, bytes);
  transpose(bytes, ow, oh, C, out);
  for (Scratch<float>* s : {&rows, &columns}) s->trim();
  return true;
}

}  // namespace

bool lanczos_resize(Image& image, Size target, const Region& from, bool linear) {
  const int C = image.channels, W = image.width, H = image.height;
  const int ow = target.width, oh = target.height;
  const bool whole = from.x == 0 && from.y == 0 && from.width == W && from.height == H;
  if (whole && W == ow && H == oh) return true;  // Lanczos at unit scale is the identity
  const Axis vertical = make_axis(H, oh, from.y, from.height);
  const Axis horizontal = make_axis(W, ow, from.x, from.width);
  PixelBuffer out(static_cast<uint8_t*>(std::malloc(size_t(ow) * oh * C)));
  const bool bytes = C != 2 && C != 4 && !linear;
  if (!out || !((bytes && fixed_resize(image, vertical, horizontal, out.get())) ||
                float_resize(image, vertical, horizontal, linear, out.get())))
    return false;
  image.pixels = std::move(out);
  image.width = ow;
  image.height = oh;
  return true;
}

}  // namespace imgpipe

// fixed_filter: the inner loops of the fixed-point Lanczos path — weighted sums of rows in 16-bit
// fixed point, two taps per multiply-add, with an AVX2 copy chosen at run time.
//
// Plain functions on caller-owned memory; any number of threads may call them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace imgpipe {

// Weights carry 14 fractional bits: a weight of 1 (an output copying one source sample) is
// 16384, which int16 holds, and the rounding of a whole set of taps stays below 0.2 of an 8-bit
// step (24 taps × 255 × 2^-15).
constexpr int kWeightBits = 14;
// The first pass keeps 6 bits below the 8-bit step: its results (255 × 64 × at most 4 of weight,
// see to_fixed) fit int16, and the second pass's sums (that × 2^14 × at most 4) fit int32. With
// bytes between the passes, as Pillow keeps them, ringing clamped there and a second rounding
// put results up to 1.2 steps from the exact filter, instead of 0.5.
constexpr int kExtraBits = 6;

// Float weights, `taps` per output, as fixed point whose every set sums to exactly
// 1 << kWeightBits (the rounding error goes to each set's largest weight), so flat areas stay
// exactly flat. Empty when a set's absolute weights sum to 4 or more, which the bounds above do
// not allow (Lanczos-3 sets, renormalised at the edges or not, stay under 1.5).
std::vector<int16_t> to_fixed(const std::vector<float>& weights, int taps);

// The first pass: out[i] = Σ_t w[t] · src[t · stride + i], in units of 2^-kExtraBits of a byte
// step, rounded, for i < n.
void fixed_filter(const uint8_t* src, size_t stride, const int16_t* w, int taps, size_t n,
                  int16_t* out);
// The second pass: the same sums over the first pass's results, rounded and clamped to bytes.
void fixed_filter(const int16_t* src, size_t stride, const int16_t* w, int taps, size_t n,
                  uint8_t* out);

}  // namespace imgpipe

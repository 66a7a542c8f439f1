// The AVX2 loops keep a block of outputs in registers across all taps, so nothing but the source
// rows and one store per output touch memory (the float path loads and stores its sums once per
// four taps, and converts every source byte to a float first).
#include "image/fixed_filter.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace imgpipe {
namespace {

// Right shifts of each pass's sums, and the halves that make them round to nearest.
constexpr int kFirstShift = kWeightBits - kExtraBits, kSecondShift = kWeightBits + kExtraBits;
constexpr int32_t kFirstHalf = 1 << (kFirstShift - 1), kSecondHalf = 1 << (kSecondShift - 1);

// Outputs [begin, n): the whole pass where the CPU lacks AVX2, and the tail of a row otherwise.
// Same sums, same rounding (>> on a negative sum floors, as the AVX2 shift does), same
// saturation, so both give identical results.
template <typename In, typename Out>
void filter_scalar(const In* src, size_t stride, const int16_t* w, int taps, size_t begin, size_t n,
                   Out* out) {
  constexpr bool kFirst = sizeof(In) == 1;
  constexpr int kShift = kFirst ? kFirstShift : kSecondShift;
  constexpr int32_t kLow = kFirst ? INT16_MIN : 0, kHigh = kFirst ? INT16_MAX : 255;
  for (size_t i = begin; i < n; ++i) {
    int32_t sum = kFirst ? kFirstHalf : kSecondHalf;
    for (int t = 0; t < taps; ++t) sum += w[t] * src[t * stride + i];
    out[i] = static_cast<Out>(std::clamp(sum >> kShift, kLow, kHigh));
  }
}

#if defined(__x86_64__)
#define IMGPIPE_AVX2 __attribute__((target("avx2")))

// Both weights of a tap pair in every 32-bit lane, as _mm256_madd_epi16 wants them.
IMGPIPE_AVX2 inline __m256i weight_pair(int16_t a, int16_t b) {
  return _mm256_set1_epi32(int32_t(uint16_t(a)) | int32_t(uint32_t(uint16_t(b)) << 16));
}

// 32 bytes of tap t's row from output i on.
IMGPIPE_AVX2 inline __m256i load(const void* row, size_t offset) {
  return _mm256_loadu_si256(
      reinterpret_cast<const __m256i*>(static_cast<const char*>(row) + offset));
}

// Bytes, 32 outputs at a time. Per 128-bit lane, a holds samples j = 0..15 of one tap and b of
// the next: unpacking the interleaved bytes against zero gives 16-bit (a_j, b_j) pairs, and one
// madd sums both taps' products for four outputs; s[0..3] hold outputs 0–3, 4–7, 8–11, 12–15
// of each lane.
IMGPIPE_AVX2 inline void add_pair(__m256i a, __m256i b, __m256i w, __m256i s[4]) {
  const __m256i zero = _mm256_setzero_si256();
  const __m256i lo = _mm256_unpacklo_epi8(a, b), hi = _mm256_unpackhi_epi8(a, b);
  s[0] = _mm256_add_epi32(s[0], _mm256_madd_epi16(_mm256_unpacklo_epi8(lo, zero), w));
  s[1] = _mm256_add_epi32(s[1], _mm256_madd_epi16(_mm256_unpackhi_epi8(lo, zero), w));
  s[2] = _mm256_add_epi32(s[2], _mm256_madd_epi16(_mm256_unpacklo_epi8(hi, zero), w));
  s[3] = _mm256_add_epi32(s[3], _mm256_madd_epi16(_mm256_unpackhi_epi8(hi, zero), w));
}

IMGPIPE_AVX2 void first_pass_avx2(const uint8_t* src, size_t stride, const int16_t* w, int taps,
                                  size_t n, int16_t* out) {
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    __m256i s[4];
    for (__m256i& v : s) v = _mm256_set1_epi32(kFirstHalf);
    int t = 0;
    for (; t + 1 < taps; t += 2)
      add_pair(load(src, t * stride + i), load(src, (t + 1) * stride + i),
               weight_pair(w[t], w[t + 1]), s);
    if (t < taps)
      add_pair(load(src, t * stride + i), _mm256_setzero_si256(), weight_pair(w[t], 0), s);
    for (__m256i& v : s) v = _mm256_srai_epi32(v, kFirstShift);
    // The packs undo the unpacks lane by lane, which leaves outputs 0–7 and 16–23 in one vector
    // and 8–15 and 24–31 in the other.
    const __m256i a = _mm256_packs_epi32(s[0], s[1]), b = _mm256_packs_epi32(s[2], s[3]);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i), _mm256_permute2x128_si256(a, b, 0x20));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i + 16),
                        _mm256_permute2x128_si256(a, b, 0x31));
  }
  filter_scalar(src, stride, w, taps, i, n, out);
}

// 16-bit values, 16 outputs at a time: unpacking two taps' values interleaves them into the
// pairs madd wants; s[0] holds outputs 0–3 and 8–11, s[1] 4–7 and 12–15.
IMGPIPE_AVX2 void second_pass_avx2(const int16_t* src, size_t stride, const int16_t* w, int taps,
                                   size_t n, uint8_t* out) {
  const size_t bytes = stride * sizeof(int16_t);
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m256i s0 = _mm256_set1_epi32(kSecondHalf), s1 = s0;
    for (int t = 0; t < taps; t += 2) {
      const __m256i a = load(src + i, t * bytes);
      const __m256i b = t + 1 < taps ? load(src + i, (t + 1) * bytes) : _mm256_setzero_si256();
      const __m256i wp = weight_pair(w[t], t + 1 < taps ? w[t + 1] : 0);
      s0 = _mm256_add_epi32(s0, _mm256_madd_epi16(_mm256_unpacklo_epi16(a, b), wp));
      s1 = _mm256_add_epi32(s1, _mm256_madd_epi16(_mm256_unpackhi_epi16(a, b), wp));
    }
    s0 = _mm256_srai_epi32(s0, kSecondShift);
    s1 = _mm256_srai_epi32(s1, kSecondShift);
    // Packed to 16 bits the lanes hold outputs 0–7 and 8–15; to bytes, each lane's low half.
    const __m256i words = _mm256_packs_epi32(s0, s1);
    const __m256i bytes8 = _mm256_permute4x64_epi64(_mm256_packus_epi16(words, words), 0x08);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), _mm256_castsi256_si128(bytes8));
  }
  filter_scalar(src, stride, w, taps, i, n, out);
}

bool has_avx2() {
  static const bool yes = __builtin_cpu_supports("avx2");
  return yes;
}
#endif

}  // namespace

std::vector<int16_t> to_fixed(const std::vector<float>& weights, int taps) {
  std::vector<int16_t> fixed(weights.size());
  for (size_t set = 0; set + taps <= weights.size(); set += taps) {
    int32_t sum = 0, magnitude = 0;
    size_t largest = set;
    for (size_t t = set; t < set + taps; ++t) {
      if (!(std::abs(weights[t]) < 1.5f)) return {};  // also NaN
      fixed[t] = static_cast<int16_t>(std::lround(weights[t] * (1 << kWeightBits)));
      sum += fixed[t];
      magnitude += std::abs(fixed[t]);
      if (std::abs(weights[t]) > std::abs(weights[largest])) largest = t;
    }
    if (magnitude >= 4 << kWeightBits) return {};
    fixed[largest] = static_cast<int16_t>(fixed[largest] + (1 << kWeightBits) - sum);
  }
  return fixed;
}

void fixed_filter(const uint8_t* src, size_t stride, const int16_t* w, int taps, size_t n,
                  int16_t* out) {
#if defined(__x86_64__)
  if (has_avx2()) return first_pass_avx2(src, stride, w, taps, n, out);
#endif
  filter_scalar(src, stride, w, taps, 0, n, out);
}

void fixed_filter(const int16_t* src, size_t stride, const int16_t* w, int taps, size_t n,
                  uint8_t* out) {
#if defined(__x86_64__)
  if (has_avx2()) return second_pass_avx2(src, stride, w, taps, n, out);
#endif
  filter_scalar(src, stride, w, taps, 0, n, out);
}

}  // namespace imgpipe

// fixed_filter: the AVX2 loops against the formula they implement, in exact integers, at lengths
// that exercise whole vector blocks and the scalar tail; and the weight conversion's invariants.
#include "image/fixed_filter.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

namespace imgpipe {
namespace {

// Exactly what fixed_filter.h promises, written out in int64.
int64_t reference_sum(const std::vector<int64_t>& samples, const std::vector<int16_t>& w) {
  int64_t sum = 0;
  for (size_t t = 0; t < w.size(); ++t) sum += w[t] * samples[t];
  return sum;
}

int64_t floor_shift(int64_t v, int bits) { return v >= 0 ? v >> bits : -((-v - 1) >> bits) - 1; }

// A random set of `taps` weights summing to 1 << kWeightBits, with Lanczos-like negative lobes.
std::vector<int16_t> random_weights(std::mt19937& rng, int taps) {
  std::vector<float> w(taps);
  std::uniform_real_distribution<float> d(-0.2f, 1.f);
  float sum = 0;
  for (float& v : w) sum += v = d(rng);
  for (float& v : w) v /= sum;
  return to_fixed(w, taps);
}

TEST(FixedFilter, BothPassesEqualTheFormulaAtEveryLengthAndTapCount) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> byte(0, 255), word(-5000, 21000);
  for (int taps : {1, 2, 3, 7, 12, 13, 24}) {
    std::vector<int16_t> w = random_weights(rng, taps);
    if (w.empty()) continue;  // too large a set for the bounds; covered below
    for (size_t n : {1, 15, 16, 31, 32, 33, 47, 64, 100, 771}) {
      const size_t stride = n + 5;  // rows apart by more than their used length
      std::vector<uint8_t> bytes(stride * taps);
      std::vector<int16_t> words(stride * taps);
      for (auto& b : bytes) b = uint8_t(byte(rng));
      for (auto& v : words) v = int16_t(word(rng));
      std::vector<int16_t> first(n);
      std::vector<uint8_t> second(n);
      fixed_filter(bytes.data(), stride, w.data(), taps, n, first.data());
      fixed_filter(words.data(), stride, w.data(), taps, n, second.data());
      for (size_t i = 0; i < n; ++i) {
        std::vector<int64_t> a(taps), b(taps);
        for (int t = 0; t < taps; ++t) a[t] = bytes[t * stride + i], b[t] = words[t * stride + i];
        const int shift1 = kWeightBits - kExtraBits, shift2 = kWeightBits + kExtraBits;
        const int64_t want1 = std::clamp<int64_t>(
            floor_shift(reference_sum(a, w) + (1 << (shift1 - 1)), shift1), INT16_MIN, INT16_MAX);
        const int64_t want2 = std::clamp<int64_t>(
            floor_shift(reference_sum(b, w) + (1 << (shift2 - 1)), shift2), 0, 255);
        ASSERT_EQ(first[i], want1) << "first pass, taps " << taps << " n " << n << " i " << i;
        ASSERT_EQ(second[i], want2) << "second pass, taps " << taps << " n " << n << " i " << i;
      }
    }
  }
}

TEST(FixedFilter, FlatRowsStayExactlyFlat) {
  // Every weight set sums to exactly one, so a flat source comes back unchanged, through both
  // passes, whatever the rounding of each weight.
  std::mt19937 rng(3);
  for (int taps : {5, 12, 19, 24}) {
    const std::vector<int16_t> w = random_weights(rng, taps);
    ASSERT_FALSE(w.empty());
    for (int level : {0, 1, 127, 254, 255}) {
      std::vector<uint8_t> src(64 * taps, uint8_t(level));
      std::vector<int16_t> mid(64);
      std::vector<uint8_t> out(64);
      fixed_filter(src.data(), 64, w.data(), taps, 64, mid.data());
      std::vector<int16_t> mids(64 * taps);
      for (int t = 0; t < taps; ++t) std::copy(mid.begin(), mid.end(), mids.begin() + t * 64);
      fixed_filter(mids.data(), 64, w.data(), taps, 64, out.data());
      for (int i = 0; i < 64; ++i) {
        ASSERT_EQ(mid[i], level << kExtraBits);
        ASSERT_EQ(out[i], level);
      }
    }
  }
}

TEST(FixedFilter, WeightSetsSumToOneOrAreRefused) {
  const std::vector<float> sets = {0.3333f, 0.3333f, 0.3334f, -0.1f, 1.2f, -0.1f, 0.f, 1.f, 0.f};
  const std::vector<int16_t> fixed = to_fixed(sets, 3);
  ASSERT_EQ(fixed.size(), sets.size());
  for (size_t s = 0; s < sets.size(); s += 3)
    EXPECT_EQ(fixed[s] + fixed[s + 1] + fixed[s + 2], 1 << kWeightBits);
  EXPECT_TRUE(to_fixed({2.f, -1.f}, 2).empty());                      // a weight int16 cannot hold
  EXPECT_TRUE(to_fixed({1.4f, -1.4f, 1.4f, -1.4f, 1.f}, 5).empty());  // sums could overflow
}

}  // namespace
}  // namespace imgpipe

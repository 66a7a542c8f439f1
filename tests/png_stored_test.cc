// Tests for PNG row unfiltering: every filter type at every pixel size, against rows filtered by
// the PNG spec's own definitions (written out here), and bad input.
#include "image/png_stored.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <random>
#include <vector>

namespace imgpipe {
namespace {

int paeth_reference(int a, int b, int c) {  // PNG spec §9.4, as written there
  const int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
  if (pa <= pb && pa <= pc) return a;
  if (pb <= pc) return b;
  return c;
}

// Filters `raw` (rows × row_bytes) with types[y % types.size()] per row, as an encoder would:
// each row's filter byte, then its bytes minus their predictor from the unfiltered image.
std::vector<uint8_t> filtered(const std::vector<uint8_t>& raw, size_t rows, size_t row_bytes,
                              int bpp, const std::vector<int>& types) {
  std::vector<uint8_t> out;
  auto at = [&](size_t y, long x) -> int {  // unfiltered sample; 0 outside the image
    return x < 0 ? 0 : raw[y * row_bytes + x];
  };
  for (size_t y = 0; y < rows; ++y) {
    const int type = types[y % types.size()];
    out.push_back(uint8_t(type));
    for (size_t x = 0; x < row_bytes; ++x) {
      const int a = at(y, long(x) - bpp), b = y ? at(y - 1, long(x)) : 0;
      const int c = y ? at(y - 1, long(x) - bpp) : 0;
      const int predictor[] = {0, a, b, (a + b) / 2, paeth_reference(a, b, c)};
      out.push_back(uint8_t(raw[y * row_bytes + x] - predictor[type]));
    }
  }
  return out;
}

TEST(PngUnfilter, EveryFilterTypeAtEveryPixelSize) {
  std::mt19937 rng(3);
  std::uniform_int_distribution<int> byte(0, 255);
  const std::vector<std::vector<int>> type_sets = {{0}, {1}, {2}, {3}, {4}, {4, 2, 1, 3, 0, 4}};
  for (int bpp : {1, 2, 3, 4, 6, 8})
    for (const std::vector<int>& types : type_sets) {
      const size_t rows = 7, row_bytes = size_t(bpp) * 37;
      std::vector<uint8_t> raw(rows * row_bytes);
      for (uint8_t& v : raw) v = uint8_t(byte(rng));
      std::vector<uint8_t> data = filtered(raw, rows, row_bytes, bpp, types);
      ASSERT_TRUE(unfilter_png_rows(data.data(), rows, row_bytes, bpp));
      for (size_t y = 0; y < rows; ++y) {
        SCOPED_TRACE(testing::Message()
                     << "bpp " << bpp << " row " << y << " type " << types[y % types.size()]);
        for (size_t x = 0; x < row_bytes; ++x)  // packed: no filter bytes in between
          ASSERT_EQ(data[y * row_bytes + x], raw[y * row_bytes + x]) << "byte " << x;
      }
    }
}

TEST(PngUnfilter, RefusesABadFilterType) {
  const size_t rows = 3, row_bytes = 6;
  std::vector<uint8_t> raw(rows * row_bytes, 9);
  std::vector<uint8_t> data = filtered(raw, rows, row_bytes, 3, {1});
  data[1 * (row_bytes + 1)] = 5;  // row 1: no such filter
  EXPECT_FALSE(unfilter_png_rows(data.data(), rows, row_bytes, 3));
}

TEST(PngUnfilter, RefusesPixelSizesNoPngHasWithoutTouchingTheRows) {
  std::vector<uint8_t> data(2 * 11, 1);
  const std::vector<uint8_t> before = data;
  EXPECT_FALSE(unfilter_png_rows(data.data(), 2, 10, 5));  // no PNG pixel is 5 bytes
  EXPECT_FALSE(unfilter_png_rows(data.data(), 2, 10, 0));
  EXPECT_FALSE(unfilter_png_rows(data.data(), 2, 10, 4));  // 10 bytes are not whole 4-byte pixels
  EXPECT_EQ(data, before);
}

}  // namespace
}  // namespace imgpipe

// Tests for EXIF orientation applied to pixels.
#include "image/orientation.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <random>

#include "fixtures/pixels.h"

namespace imgpipe {
namespace {

TEST(ApplyOrientation, AllEightMapCornersCorrectly) {
  // A 3×2 image with distinct values: where does the stored top-left pixel (value 1) land?
  // EXIF: for 5..8 the stored 0th row becomes the visual left (5, 8) or right (6, 7) side, and the
  // stored 0th column the visual top (5, 6) or bottom (7, 8).
  const int expected_corner[9] = {0, 0, 2, 5, 3, 0, 1, 5, 4};  // index into the upright image
  for (int o = 1; o <= 8; ++o) {
    Image item = solid_image(3, 2, 1, 0);
    for (int i = 0; i < 6; ++i) item.pixels[i] = static_cast<uint8_t>(i + 1);
    apply_orientation(item, o);
    EXPECT_EQ(item.width, swaps_axes(o) ? 2 : 3) << o;
    EXPECT_EQ(item.pixels[expected_corner[o]], 1) << "orientation " << o;
  }
}

}  // namespace
}  // namespace imgpipe

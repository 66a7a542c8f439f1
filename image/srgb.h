// srgb: the sRGB transfer curve as lookup tables, for resampling in linear light (--linear).
//
// The tables are built once, on first use (a function-local static: thread-safe), then only read;
// any number of threads may use them.
#pragma once

#include <cstdint>

namespace imgpipe {

struct SrgbTables {
  // An 8-bit sRGB-encoded value → linear light, on the same 0..255 scale (so 8-bit code 188 is
  // 127.5: half the light of white).
  float to_linear[256];
  // The same in 16 bits, 0..65535, for integer sums.
  uint16_t to_linear16[256];
  // Linear light in 16 bits → the nearest 8-bit sRGB code. 65536 steps: the curve is steepest at
  // black (slope 12.92), where 4096 steps would still be 0.8 code values apart.
  uint8_t from_linear16[65536];
};

// IEC 61966-2-1's curve, the one sRGB images (and untagged ones, which browsers take as sRGB)
// are encoded with.
const SrgbTables& srgb_tables();

// Linear light on the 0..255 scale → the nearest 8-bit sRGB code; out-of-range values clamp.
inline uint8_t linear_to_srgb(const SrgbTables& t, float v) {
  const float i = v * (65535.f / 255.f) + 0.5f;
  return t.from_linear16[i <= 0 ? 0 : i >= 65535 ? 65535 : static_cast<int>(i)];
}

}  // namespace imgpipe

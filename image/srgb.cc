// The sRGB curve's tables, computed in double precision from IEC 61966-2-1's formulas.
#include "image/srgb.h"

#include <cmath>

namespace imgpipe {
namespace {

double decode(double s) {  // encoded 0..1 → linear 0..1
  return s <= 0.04045 ? s / 12.92 : std::pow((s + 0.055) / 1.055, 2.4);
}

double encode(double l) {  // linear 0..1 → encoded 0..1
  return l <= 0.0031308 ? l * 12.92 : 1.055 * std::pow(l, 1 / 2.4) - 0.055;
}

}  // namespace

const SrgbTables& srgb_tables() {
  static const SrgbTables* tables = [] {
    auto* t = new SrgbTables;  // 66 KB, built once and kept for the process's life
    for (int i = 0; i < 256; ++i) {
      const double l = decode(i / 255.0);
      t->to_linear[i] = float(l * 255);
      t->to_linear16[i] = static_cast<uint16_t>(std::lround(l * 65535));
    }
    for (int i = 0; i < 65536; ++i)
      t->from_linear16[i] = static_cast<uint8_t>(std::lround(encode(i / 65535.0) * 255));
    return t;
  }();
  return *tables;
}

}  // namespace imgpipe

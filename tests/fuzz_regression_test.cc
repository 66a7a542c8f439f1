// Replays every input the fuzzers ever crashed on (fuzz/regressions/TARGET/*) and every seed kind,
// through the same target bodies, so a fixed crash stays fixed in the ordinary test run (and in
// the sanitizer build CI runs).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "fuzz/fuzz_targets.h"

namespace imgpipe {
namespace {

namespace fs = std::filesystem;

int replay(const std::string& target, void (*body)(const uint8_t*, size_t)) {
  int n = 0;
  fs::path dir = fs::path(IMGPIPE_SOURCE_DIR) / "fuzz" / "regressions" / target;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (!e.is_regular_file() || e.path().filename().string()[0] == '.') continue;
    std::ifstream in(e.path(), std::ios::binary);
    std::string bytes{std::istreambuf_iterator<char>(in), {}};
    SCOPED_TRACE(e.path().string());
    body(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    ++n;
  }
  return n;
}

TEST(FuzzRegression, ImageInputsThatOnceCrashed) {
  std::cout << replay("fuzz_image", fuzz_image) << " inputs replayed\n";
}

TEST(FuzzRegression, ListInputsThatOnceCrashed) {
  std::cout << replay("fuzz_list", fuzz_list) << " inputs replayed\n";
}

// The targets themselves must take what they are given without throwing: empty, one byte, junk.
TEST(FuzzRegression, TargetsTakeDegenerateInputs) {
  const uint8_t junk[] = {0xFF, 0xD8, 0xFF, 0x89, 'P', 'N', 'G', 0, 0, 0};
  for (size_t n = 0; n <= sizeof junk; ++n) {
    fuzz_image(junk, n);
    fuzz_list(junk, n);
    fuzz_robots(junk, n);
  }
}

}  // namespace
}  // namespace imgpipe

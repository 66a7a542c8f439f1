// libFuzzer target: untrusted bytes as a robots.txt, parsed and matched against paths (one of
// them from the input itself), as a URL whose path robots.txt matching would use, and as an
// X-Robots-Tag header value.
#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  imgpipe::fuzz_robots(data, size);
  return 0;
}

// libFuzzer target: untrusted bytes through decode → every fit mode's thumbnails → encode, the
// path every downloaded body takes. The first byte picks codec, fit, format and sizes, so one
// target covers every decoder (JPEG, PNG, WebP, GIF, BMP, TGA, PSD, PNM) and encoder.
#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  imgpipe::fuzz_image(data, size);
  return 0;
}

// The bodies of the fuzz targets, shared by the libFuzzer binaries (fuzz/) and the regression test
// that replays every input a fuzzer ever crashed on (tests/fuzz_regression_test.cc).
//
// Plain functions; safe from any thread.
#pragma once
#include <cstddef>
#include <cstdint>

namespace imgpipe {

// Decode, thumbnail and encode `data` as a downloaded body; never throws on bad input.
void fuzz_image(const uint8_t* data, size_t size);
// Read `data` as a URL list in each format until it ends.
void fuzz_list(const uint8_t* data, size_t size);
// Parse `data` as a robots.txt and match paths against it; also read it as a URL's path.
void fuzz_robots(const uint8_t* data, size_t size);

}  // namespace imgpipe

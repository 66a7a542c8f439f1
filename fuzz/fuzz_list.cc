// libFuzzer target: untrusted list bytes through the reader in every format (text, CSV, TSV,
// JSONL; gzip when the bytes say so), the way a URL list from a stranger is read.
#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  imgpipe::fuzz_list(data, size);
  return 0;
}

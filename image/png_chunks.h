// A walk over a PNG's chunk structure, before any decoder runs: where its eXIf block is, whether
// every chunk's CRC-32 matches, and whether the file ends before its IEND chunk.
//
// A plain function on caller-owned bytes; safe from any number of threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace imgpipe {

struct PngChunks {
  size_t exif_offset = 0, exif_size = 0;  // the first eXIf chunk's data; size 0: none
  // The file ends inside a chunk (its length runs past the end) or before IEND.
  bool ends_early = false;
  std::string bad_crc;  // the type of the first chunk whose CRC-32 does not match; empty: none
};

// `data` starts with the PNG signature (the caller checked it).
PngChunks scan_png_chunks(const std::vector<uint8_t>& data);

}  // namespace imgpipe

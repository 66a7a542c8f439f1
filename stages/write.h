// write: the thumbnail's bytes → a file in the output folder, atomically.
//
// Names come from the line number only (never from the URL), so no input can choose a path.
// Plain functions; safe from any number of threads on different items.
#pragma once

#include <cstdint>
#include <string>

#include "pipeline/item.h"
#include "pipeline/options.h"

namespace imgpipe {

// "00000042.jpg": the line number zero-padded to 8 digits, so names sort in list order and never
// collide; lists past 10^8 lines simply get longer names.
std::string output_name(uint64_t line, Format format);

// Writes item.encoded to dir/output_name() through a temporary file and rename, so the folder
// never holds a half-written thumbnail. Sets item.output_path and bytes_out, or write_error.
void write_output(Item& item, const std::string& dir, Format format);

}  // namespace imgpipe

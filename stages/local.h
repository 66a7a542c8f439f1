// local: list lines that name local files (a path, or a file:// URL) and reading them.
//
// Local files skip the curl thread: a processing worker reads them, so a slow disk never stalls
// the transfers. Plain functions; safe from any number of threads.
#pragma once
#include <cstdint>
#include <string>

#include "core/item.h"

namespace imgpipe {

// True if `text` names a local file: a file:// URL (host empty or "localhost"; percent-escapes
// decoded) or anything without a "scheme://" prefix. Sets *path, or *why for a file:// URL that
// cannot be used (another host, malformed).
bool local_input_path(const std::string& text, std::string* path, std::string* why);

// Reads item.local_path into item.body. Fails the item with read_error (missing, not a regular
// file, unreadable) or too_large (over max_bytes, judged before reading).
void read_local(Item& item, int64_t max_bytes);

}  // namespace imgpipe

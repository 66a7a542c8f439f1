// Manifest: OUTDIR/manifest.jsonl, one JSON object per input line, appended as items finish.
//
// Each row is one write(2), so a killed run leaves at most a torn last row (which --resume
// drops) and a failed write leaves none. Ownership: owns its file descriptor. Thread-safety:
// append() may be called from any thread (a mutex serialises rows); open/close from one thread.
#pragma once

#include <sys/types.h>

#include <cstdio>
#include <memory>
#include <mutex>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "core/item.h"

namespace imgpipe {

// The manifest row for an item (also what tests compare against).
nlohmann::ordered_json manifest_row(const Item& item);

// --resume: rewrites the manifest at `path` (via a temporary file and rename) to hold only the
// rows of lines that are done — the line's last row is ok and every file it names exists under
// `dir` — and returns those lines, sorted. No manifest: nothing is done. Torn rows (a killed
// run's last line) are dropped. Memory: 24 bytes per row while it works, 8 per done line after.
bool keep_done_rows(const std::string& path, const std::string& dir, std::vector<uint64_t>* done,
                    std::string* why);

class Manifest {
 public:
  // Creates (truncates) the file, or appends to it; nullptr with *why set if it cannot.
  static std::unique_ptr<Manifest> create(const std::string& path, std::string* why,
                                          bool append = false);
  ~Manifest();
  // Writes the item's row with one write(2). False once a write failed (disk full, file size
  // limit): the file is cut back to its last whole row and every later append is refused, so the
  // manifest never holds a torn row and --resume can complete the run once there is room.
  bool append(const Item& item);
  // Closes the file; false with *why set if any row failed to reach it.
  bool close(std::string* why);

 private:
  Manifest(int fd, off_t size) : fd_(fd), good_size_(size) {}
  std::mutex mu_;
  int fd_;             // -1 once closed
  off_t good_size_;    // bytes up to the end of the last whole row
  std::string error_;  // first write failure, reported by close()
};

}  // namespace imgpipe

// Manifest: OUTDIR/manifest.jsonl, one JSON object per input line, appended as items finish.
//
// Rows are written whole and flushed one at a time, so a killed run leaves only complete rows.
// Ownership: owns its FILE*. Thread-safety: append() may be called from any thread (a mutex
// serialises rows); open/close from one thread.
#pragma once

#include <cstdio>
#include <memory>
#include <mutex>
#include <nlohmann/json_fwd.hpp>
#include <string>

#include "pipeline/item.h"

namespace imgpipe {

// The manifest row for an item (also what tests compare against).
nlohmann::ordered_json manifest_row(const Item& item);

class Manifest {
 public:
  // Creates (truncates) the file; nullptr with *why set if it cannot.
  static std::unique_ptr<Manifest> create(const std::string& path, std::string* why);
  ~Manifest();
  void append(const Item& item);
  // Closes the file; false with *why set if any row failed to reach it (e.g. disk full).
  bool close(std::string* why);

 private:
  explicit Manifest(std::FILE* f) : file_(f) {}
  std::mutex mu_;
  std::FILE* file_;
  std::string error_;  // first write failure, reported by close()
};

}  // namespace imgpipe

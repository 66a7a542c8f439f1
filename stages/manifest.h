// Manifest: OUTDIR/manifest.jsonl, one JSON object per input line, appended as items finish.
//
// Each row is one write(2), so a killed run leaves at most a torn last row (which --resume
// drops) and a failed write leaves none. Ownership: owns its file descriptor. Thread-safety:
// append() may be called from any thread (a mutex serialises rows); open/close from one thread.
#pragma once

#include <sys/types.h>

#include <cstdio>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "core/item.h"

namespace imgpipe {

// Its name in OUTDIR.
constexpr const char* kManifestName = "manifest.jsonl";

// The manifest row for an item (also what tests compare against).
nlohmann::ordered_json manifest_row(const Item& item);
// The same as one line of JSON, without the newline: what append() writes, and what a webdataset
// sample's KEY.json holds, byte for byte.
std::string manifest_text(const Item& item);

// A line an earlier run finished, as --resume reads it from the manifest: the line number and a
// hash of the URL its row names, so a list that changed since is noticed (resume.h). 24 bytes.
struct DoneLine {
  uint64_t line = 0;
  uint64_t url_hash = 0;
  uint32_t row = 0;     // its row's position in the manifest (4 G rows is far past any list)
  uint8_t state = 0;    // free for resume.h's bookkeeping (it fits in the padding)
  bool failed = false;  // a failure kept as final (not retryable), not an ok line
};

// Done lines, sorted by line. A deque, not a vector: it grows without the moment a vector has when
// it doubles (old and new buffer both alive, 3× the rows), so a 2-million-row manifest costs its
// 24 bytes a row and no more (ResumeE2eTest.AHugeManifestCostsWhatTheReadmePromises).
using DoneLines = std::deque<DoneLine>;

// The hash DoneLine keeps: 64-bit FNV-1a, stable across runs and machines. Only ever compared for
// one line number, so 64 bits leave no practical chance of a false match.
uint64_t url_hash(const std::string& url);

// --resume: rewrites OUTDIR/manifest.jsonl (dir_fd is OUTDIR; via a temporary file and rename) to
// hold only the rows of lines that are done — the line's last row is ok and every file it names
// is a regular file in OUTDIR, or, with keep_final_failures, it failed and says
// "retryable": false — and returns those lines, sorted by line number. No manifest: nothing is
// done. A torn last row (no newline: a killed run's last write) is dropped, never kept to be
// glued to the next. Memory: 24 bytes per row while it reads, 24 per done line after.
bool keep_done_rows(int dir_fd, bool keep_final_failures, DoneLines* done, std::string* why);

// After a --resume run: rewrites the manifest without the rows among its first `kept_bytes` (the
// rows keep_done_rows kept) whose line is `stale` — a line the list now gives another URL, or no
// longer has — so the manifest again holds one row per line. Rows appended by the run are kept.
bool drop_stale_rows(int dir_fd, uint64_t kept_bytes, const std::function<bool(uint64_t)>& stale,
                     std::string* why);

class Manifest {
 public:
  // Creates (truncates) OUTDIR/manifest.jsonl (dir_fd is OUTDIR), or appends to it; refuses a
  // symlink there (O_NOFOLLOW). nullptr with *why set if it cannot.
  static std::unique_ptr<Manifest> create(int dir_fd, std::string* why, bool append = false);
  // Bytes in the file when it was opened: with append, the rows kept from an earlier run.
  uint64_t initial_bytes() const { return initial_bytes_; }
  ~Manifest();
  // Writes the item's row with one write(2). False once a write failed (disk full, file size
  // limit): the file is cut back to its last whole row and every later append is refused, so the
  // manifest never holds a torn row and --resume can complete the run once there is room.
  bool append(const Item& item);
  // The same with the row's text already made (manifest_text).
  bool append_text(std::string row);
  // Closes the file; false with *why set if any row failed to reach it.
  bool close(std::string* why);

 private:
  Manifest(int fd, off_t size) : fd_(fd), initial_bytes_(size), good_size_(size) {}
  std::mutex mu_;
  int fd_;  // -1 once closed
  const uint64_t initial_bytes_;
  off_t good_size_;    // bytes up to the end of the last whole row
  std::string error_;  // first write failure, reported by close()
};

}  // namespace imgpipe

// ResumeSet: --resume's view of the lines an earlier run finished, so a changed list is noticed.
//
// A list line is skipped only if an earlier row for the same line number is done AND names the
// same URL. A done line that the list now gives another URL (a line inserted above it, an edited
// list) is stale: it is redone, and its old row is dropped once the run ends (drop_stale_rows in
// manifest.h), so the manifest again holds exactly one row per line. So is a done line past the
// end of a list that got shorter. Memory: 24 bytes per done line (DoneLine), nothing per skip.
// Ownership: a value owned by the run. Thread-safety: skip() and list_ended() from the one thread
// that reads the list; skipped() from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <string>

#include "stages/manifest.h"

namespace imgpipe {

class ResumeSet {
 public:
  // The done lines, sorted by line as keep_done_rows gives them. Before the run's threads start.
  void assign(DoneLines done);

  // True if list line `number`, naming `url`, is done: skip it. A done line with another URL is
  // marked stale and false is returned.
  bool skip(uint64_t number, const std::string& url);
  // The whole list has been read: done lines it never reached are stale too.
  void list_ended();

  // Whether `line`'s old row must go (see above).
  bool stale(uint64_t line) const;
  bool any_stale() const { return any_stale_; }
  uint64_t done() const { return done_.size(); }        // done lines found in the manifest
  uint64_t skipped() const { return skipped_.load(); }  // of those, skipped this run
  // Of the skipped, lines whose row is a failure kept as final (not retryable).
  uint64_t skipped_failed() const { return skipped_failed_.load(); }

 private:
  enum State : uint8_t { kUnseen = 0, kSkipped, kStale };
  DoneLine* find(uint64_t line);
  DoneLines done_;  // `state` holds a State
  std::atomic<uint64_t> skipped_{0}, skipped_failed_{0};
  bool any_stale_ = false;
};

}  // namespace imgpipe

// TraceWriter: --trace FILE, per-item stage intervals as Chrome trace-event JSON (Perfetto,
// chrome://tracing), one track per download slot and one per processing worker.
//
// Events are streamed through buffered stdio as they come, so memory stays flat however long the
// input list is; only the set of tracks already named is kept, and that is bounded by slots +
// workers. Ownership: owns its FILE*; one writer per run, owned by whoever runs the pipeline and
// outliving the curl thread and the graph. Thread-safety: interval() and close() may be called
// from any thread (a mutex serialises writes; formatting happens outside it); create() is a
// factory. Intervals arriving after close() are dropped so the file stays valid JSON.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>

#include "core/item.h"

namespace imgpipe {

// One track per download slot and one per processing worker thread.
struct Track {
  enum Kind { kDownload, kWorker };
  Kind kind;
  int index;  // 0-based download slot, or current_worker_index() for kWorker
};

// The calling thread's slot in the current TBB arena: 0..concurrency-1 on threads running graph
// work, tbb::task_arena::not_initialized (-2) elsewhere (such events get their own "worker -2"
// track). A slot is held by one thread at a time, so intervals on one worker track never overlap.
int current_worker_index();

class TraceWriter {
 public:
  // Creates/truncates path; nullptr and *why on failure. `origin` is time zero (run start).
  static std::unique_ptr<TraceWriter> create(const std::string& path, Clock::time_point origin,
                                             std::string* why);
  // Closes the file if close() was not called, dropping any error.
  ~TraceWriter();
  TraceWriter(const TraceWriter&) = delete;
  TraceWriter& operator=(const TraceWriter&) = delete;

  // Thread-safe. One complete event ("ph":"X") named `name` (e.g. "download", "decode") on
  // `track`, with args {"line": line, "url": url, "status": status}. A track's metadata (process
  // and thread names, sort order) is written the first time the track is used. end < start is
  // written as a zero-length interval.
  void interval(Track track, const char* name, Clock::time_point start, Clock::time_point end,
                uint64_t line, const std::string& url, const char* status);

  // Writes the closing brackets; false and *why if any write failed. Idempotent: later calls
  // return the first call's result. why may be null.
  bool close(std::string* why);

 private:
  TraceWriter(std::FILE* file, std::unique_ptr<char[]> buffer, Clock::time_point origin);
  void name_track(Track track);                // caller holds mu_
  void write_event(const std::string& event);  // caller holds mu_
  void write(const std::string& bytes);        // caller holds mu_

  const Clock::time_point origin_;
  std::mutex mu_;
  std::unique_ptr<char[]> buffer_;              // stdio's buffer for file_: must outlive it
  std::FILE* file_;                             // null once closed
  bool first_event_ = true;                     // no comma before the first event
  std::set<std::pair<int, int>> named_tracks_;  // (kind, index) whose metadata is written
  bool named_process_[2] = {false, false};      // by Track::Kind: process metadata written
  std::string error_;                           // first write failure, reported by close()
};

}  // namespace imgpipe

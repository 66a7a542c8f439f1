// Downloader: the concurrent download stage — one thread, one curl multi handle, many transfers.
//
// run() reads list lines through a callback, keeps up to `concurrency` transfers going (at most
// `per_host` to one host), retries transient failures with backoff, and hands every item — ok or
// failed, invalid URLs included — to the `done` callback exactly once. Local files (paths and
// file:// URLs) are handed on at once with local_path set, for a processing worker to read.
// Backpressure: each item holds one in-flight slot from the moment its line is read until the
// consumer calls release_slot(); no new line is read while max_in_flight slots are taken, so a
// slow consumer pauses downloading instead of filling memory.
// Ownership and thread-safety: the thread that calls run() owns every curl handle; nothing else
// touches curl. release_slot() and wake() are safe to call from other threads at any time, even
// after run() returned.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "core/item.h"
#include "core/options.h"
#include "stages/reader.h"

namespace imgpipe {

// Checks that `url` is an absolute http(s) URL with a host; on success sets *host (lower case).
bool parse_http_url(const std::string& url, std::string* host, std::string* why);

// How the downloader talks to its consumer; all are called on the run() thread. The downloader
// records nothing itself: the consumer times and traces transfers from these calls.
struct DownloadCallbacks {
  std::function<NextLine(ListLine*)> next_line;  // must not block: kNotYet if no line yet
  // Every item, exactly once. item.stage_ms[download] holds its transfer time summed over
  // attempts (backoff excluded); item.started its first attempt's start; attempts 0 when none ran.
  std::function<void(std::shared_ptr<Item>)> done;
  std::function<bool()> cancelled;  // the consumer gave up: stop at once
  // Optional: each transfer attempt as it starts, and as it ends with its slot
  // (0..concurrency-1) and times.
  std::function<void()> attempt_started;
  std::function<void(int slot, const Item&, Clock::time_point start, Clock::time_point end)>
      attempt_done;
};

class Downloader {
 public:
  Downloader(const DownloadOptions& options, int max_in_flight);
  ~Downloader();
  Downloader(const Downloader&) = delete;
  Downloader& operator=(const Downloader&) = delete;

  // Blocks until the list is exhausted and every item has been handed to `done`, or until
  // `cancelled` returns true. Call once.
  void run(const DownloadCallbacks& callbacks);
  // An item handed to `done` has left the pipeline: its slot may be reused. Thread-safe.
  void release_slot();
  // Something changed outside (e.g. a new list line is ready): poll again now. Thread-safe.
  void wake();
  // Transfers running now (for the progress line). Thread-safe.
  int running() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace imgpipe

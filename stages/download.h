// Downloader: the concurrent download stage — one thread, one curl multi handle, many transfers.
//
// run() reads list lines ahead into one queue per host (a window bounded in bytes,
// DownloadOptions::read_ahead_bytes), starts transfers from hosts that have room (at most
// `per_host` to one host, `concurrency` in all), follows redirects itself, retries transient
// failures with backoff, and hands every item — ok or failed, invalid URLs included — to the
// `done` callback exactly once. Local files (paths and file:// URLs) are handed on with
// local_path set, for a processing worker to read.
// Backpressure: an item takes one in-flight slot when its first transfer starts, or when it is
// handed on without one (invalid lines, local files), and keeps it until the consumer calls
// release_slot(); nothing starts or is handed on while max_in_flight slots are taken, so a slow
// consumer pauses downloading instead of filling memory. Lines waiting in the read-ahead window
// hold no slot, so a dead host's lines cannot keep other hosts' lines from starting. Bodies
// handed on and not yet released are the backlog: while it holds backlog_bytes, no new line
// starts (the CPU stages are behind; more downloads would only wait in memory), and the
// transfers running at once grow from 256 toward `concurrency` by one per transfer that ends
// while the backlog is below it (TCP's slow start: doubling per round trip when downloads are
// the bottleneck, stopping where the CPU is), so memory is bodies in flight, not concurrency ×
// body size.
// Failure: if the loop itself fails (out of memory), every item it holds — running, waiting to
// retry, queued — is handed to `done` as failed, and run() rethrows.
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

// Checks that `url` is an absolute http(s) URL with a host that libcurl can use; on success sets
// *host (lower case), else *why.
bool parse_http_url(const std::string& url, std::string* host, std::string* why);

// The list line as recorded (manifest, trace, --name url): `text` with any user:password@ of a
// URL removed, so credentials never reach an output. Text without a "scheme://" is returned as is.
std::string without_userinfo(const std::string& text);

// Checks one --resolve entry, HOST:PORT:ADDR[,ADDR...] (an IPv6 ADDR in brackets or not); ""
// if libcurl may have it, else why not.
std::string resolve_entry_problem(const std::string& entry);

// The proxy rules at setup. Under --block-private, a proxy named by the environment (http_proxy,
// https_proxy, HTTPS_PROXY, all_proxy, ALL_PROXY: the variables libcurl reads) is refused: the
// address check would see only the proxy. Returns the message to refuse the run with (it says
// what to pass), or "" if the run may go on; *note gets what to tell the user when --proxy is
// used together with --block-private.
std::string proxy_setup_problem(const DownloadOptions& options, std::string* note);

// How the downloader talks to its consumer; all are called on the run() thread. The downloader
// records nothing itself: the consumer times and traces transfers from these calls.
struct DownloadCallbacks {
  std::function<NextLine(ListLine*)> next_line;  // must not block: kNotYet if no line yet
  // Every item, exactly once. item.stage_ms[download] holds its transfer time summed over
  // attempts (backoff excluded); item.started its first attempt's start; attempts 0 when none ran.
  std::function<void(std::shared_ptr<Item>)> done;
  std::function<bool()> cancelled;  // the consumer gave up: stop at once
  // Optional: each transfer attempt as it starts, and as it ends with its slot
  // (0..concurrency-1), its own outcome (an attempt that will be retried is not ok, though the
  // item may still end ok) and times. Redirects are part of the attempt.
  std::function<void()> attempt_started;
  std::function<void(int slot, const Item&, Status attempt, Clock::time_point start,
                     Clock::time_point end)>
      attempt_done;
};

class Downloader {
 public:
  Downloader(const DownloadOptions& options, int max_in_flight);
  ~Downloader();
  Downloader(const Downloader&) = delete;
  Downloader& operator=(const Downloader&) = delete;

  // Blocks until the list is exhausted and every item has been handed to `done`, or until
  // `cancelled` returns true (items still held are then dropped). Call once. Throws only if the
  // loop itself failed, after handing every item it held to `done` as failed.
  void run(const DownloadCallbacks& callbacks);
  // An item handed to `done` has left the pipeline: its slot may be reused, and its downloaded
  // bytes leave the backlog (DownloadOptions::backlog_bytes). Thread-safe.
  void release_slot(const Item& item);
  // Something changed outside (e.g. a new list line is ready): poll again now. Thread-safe.
  void wake();
  // Transfers running now (for the progress line). Thread-safe.
  int running() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace imgpipe

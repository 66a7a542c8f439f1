// ProgressLine: a status line on stderr, redrawn twice a second while a run goes on.
//
// Only for people watching: the pipeline turns it on when stderr is a terminal and --quiet is
// off, so scripts and pipes never see it. Ownership: owns its drawing thread, joined (and the
// line cleared) by the destructor. Thread-safety: the sampler runs on the drawing thread and
// must be safe to call from there.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace imgpipe {

struct ProgressCounts {
  uint64_t done = 0;      // lines with a manifest row (resumed lines included)
  uint64_t failed = 0;    // of those, not ok
  uint64_t total = 0;     // lines in the list; 0 while unknown (stdin, or still counting)
  int transfers = 0;      // transfers running now
  uint64_t in_graph = 0;  // downloaded items waiting for or inside the CPU stages
};

// The line itself, e.g. "  812/2000  40.6%  203.1/s  ETA 0:06  failed 3  transfers 64  queued 9".
// Pure: `rate` is lines per second; colour marks failures red (off with NO_COLOR).
std::string format_progress(const ProgressCounts& c, double rate, bool color);

// True when a progress line helps: stderr is a terminal and the user did not ask for quiet.
bool progress_wanted(bool quiet, bool enabled);

class ProgressLine {
 public:
  explicit ProgressLine(std::function<ProgressCounts()> sample);
  ~ProgressLine();
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

 private:
  void draw_loop();

  std::function<ProgressCounts()> sample_;
  const bool color_;
  std::mutex mu_;
  std::condition_variable stop_cv_;
  bool stop_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace imgpipe

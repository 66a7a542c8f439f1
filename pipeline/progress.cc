// The progress line: formatting and the drawing thread.
#include "pipeline/progress.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

namespace imgpipe {

std::string format_progress(const ProgressCounts& c, double rate, bool color) {
  char buf[256];
  int n = 0;
  if (c.total > 0) {
    n = std::snprintf(buf, sizeof buf, "%8llu/%llu %5.1f%%", (unsigned long long)c.done,
                      (unsigned long long)c.total, 100.0 * c.done / c.total);
  } else {
    n = std::snprintf(buf, sizeof buf, "%8llu done", (unsigned long long)c.done);
  }
  std::string line(buf, n);
  std::snprintf(buf, sizeof buf, "  %.1f/s", rate);
  line += buf;
  if (c.total > c.done && rate > 0) {
    auto eta = static_cast<long long>((c.total - c.done) / rate);
    std::snprintf(buf, sizeof buf, "  ETA %lld:%02lld", eta / 60, eta % 60);
    line += buf;
  }
  std::snprintf(buf, sizeof buf, "failed %llu", (unsigned long long)c.failed);
  line += "  ";
  line += color && c.failed ? std::string("\033[31m") + buf + "\033[0m" : std::string(buf);
  std::snprintf(buf, sizeof buf, "  transfers %d  queued %llu", c.transfers,
                (unsigned long long)c.in_graph);
  return line + buf;
}

bool progress_wanted(bool quiet, bool enabled) { return !quiet && enabled && ::isatty(2); }

namespace {

// https://no-color.org: any non-empty NO_COLOR turns colour off; so does a dumb terminal.
bool colour_allowed() {
  const char* no = std::getenv("NO_COLOR");
  const char* term = std::getenv("TERM");
  return !(no && *no) && !(term && std::string(term) == "dumb");
}

}  // namespace

ProgressLine::ProgressLine(std::function<ProgressCounts()> sample)
    : sample_(std::move(sample)), color_(colour_allowed()), thread_([this] { draw_loop(); }) {}

ProgressLine::~ProgressLine() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  stop_cv_.notify_all();
  thread_.join();
}

void ProgressLine::draw_loop() {
  using namespace std::chrono;
  const auto start = steady_clock::now();
  std::unique_lock<std::mutex> lock(mu_);
  // 500 ms: fresh enough to watch, rare enough to cost nothing.
  while (!stop_cv_.wait_for(lock, milliseconds(500), [this] { return stop_; })) {
    ProgressCounts c = sample_();
    double elapsed = duration<double>(steady_clock::now() - start).count();
    std::string line = "\r\033[K" + format_progress(c, elapsed > 0 ? c.done / elapsed : 0, color_);
    std::fputs(line.c_str(), stderr);
    std::fflush(stderr);
  }
  std::fputs("\r\033[K", stderr);  // leave the terminal clean for the table
  std::fflush(stderr);
}

}  // namespace imgpipe

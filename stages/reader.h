// ListReader: streams the URL list one line at a time, so memory never depends on its length.
// LineFeeder: runs a ListReader on its own thread, so a slow producer (stdin) never stalls the
// download loop, which only ever takes lines without waiting.
//
// Blank lines and lines starting with '#' are skipped (they are not inputs and get no manifest
// row); every other line is returned with its 1-based line number, trimmed. Ownership: borrows the
// stream, which must outlive the reader. Thread-safety: none; one thread reads.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <istream>
#include <mutex>
#include <string>
#include <thread>

namespace imgpipe {

struct ListLine {
  uint64_t number = 0;  // 1-based position in the file, counting skipped lines too
  std::string text;
  bool too_long = false;  // the line exceeded kMaxLineBytes; text holds its start
};

class ListReader {
 public:
  // A longer line is no URL anyone serves (browsers stop near 64 KiB too); capping it keeps a
  // hostile list from costing unbounded memory.
  static constexpr size_t kMaxLineBytes = 64 * 1024;

  explicit ListReader(std::istream& in) : in_(in) {}
  // The next input line; false at the end of the list.
  bool next(ListLine* out);

 private:
  bool read_raw(ListLine* out);  // one physical line, capped; false at EOF
  std::istream& in_;
  uint64_t line_number_ = 0;
};

enum class NextLine { kLine, kEnd, kNotYet };

// Ownership: borrows the stream (which must outlive the feeder) and owns the reading thread, which
// it joins on destruction. Thread-safety: try_next() from one consumer thread; the reading thread
// calls on_line after each line it queues (the consumer's wake-up).
class LineFeeder {
 public:
  // 256 lines amortise the hand-off while bounding what waits here: 256 × 64 KiB at the very worst
  // (overlong lines), ~25 KB for ordinary URLs.
  static constexpr size_t kQueueLines = 256;

  LineFeeder(std::istream& in, std::function<void()> on_line);
  ~LineFeeder();
  LineFeeder(const LineFeeder&) = delete;
  LineFeeder& operator=(const LineFeeder&) = delete;

  // Never blocks: a line, the end of the list, or nothing yet.
  NextLine try_next(ListLine* out);

 private:
  void read_all();
  ListReader reader_;
  std::function<void()> on_line_;
  std::mutex mu_;
  std::condition_variable space_;  // the reader waits here while the queue is full
  std::deque<ListLine> queue_;     // guarded by mu_
  bool ended_ = false;             // guarded by mu_
  bool stopping_ = false;          // guarded by mu_: the destructor wants the reader to quit
  std::thread thread_;
};

}  // namespace imgpipe

// ListReader: streams the URL list one line at a time, so memory never depends on its length.
//
// Blank lines and lines starting with '#' are skipped (they are not inputs and get no manifest
// row); every other line is returned with its 1-based line number, trimmed. Ownership: borrows the
// stream, which must outlive the reader. Thread-safety: none; one thread reads.
#pragma once

#include <cstdint>
#include <istream>
#include <string>

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

}  // namespace imgpipe

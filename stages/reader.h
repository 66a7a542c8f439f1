// ListReader: streams the URL list one record at a time, so memory never depends on its length.
// LineFeeder: runs a ListReader on its own thread, so a slow producer (stdin) never stalls the
// download loop, which only ever takes lines without waiting.
// open_list: opens a list file or stdin, decompressing gzip on the fly.
//
// Formats (ListFormat): plain text, one URL a line; CSV (RFC 4180) and TSV (IANA, no quoting)
// with a header row naming the URL column; JSONL, one object a line with the URL in a field.
// Blank lines are skipped in every format, '#' comment lines only in text; neither is an input and
// neither gets a manifest row. Every record is returned with the 1-based physical line number it
// starts on (the header is line 1), so `sed -n Np` finds it. A NUL byte anywhere in a record (or
// a JSONL URL holding "\u0000") makes it an error record: C strings would end at it.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <istream>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "core/options.h"

namespace imgpipe {

// ListFormat lives in core/options.h: it is part of the Options tree.

// The format a list's file name implies: .csv, .tsv/.tab, .jsonl/.ndjson, anything else (and "-",
// stdin) text. Case-insensitive; a trailing .gz is ignored, so urls.csv.gz is CSV.
ListFormat format_from_path(const std::string& path);

// Opens a list: "-" is stdin, anything else a file. Gzip data is recognised by its magic bytes,
// not its name, and inflated on the fly. Plain input is handed on as soon as read() returns it, so
// a producer that writes one line and waits has that line read at once. Detection happens on the
// first read, so opening never blocks. Null with *why set if the file cannot be opened or is a
// directory. Ownership: the stream owns its file descriptor (stdin's is borrowed, never closed)
// and its buffers. Read errors and corrupt gzip data surface as exceptions from the stream buffer,
// which ListReader turns into an error record.
std::unique_ptr<std::istream> open_list(const std::string& path, std::string* why);

struct ListLine {
  uint64_t number = 0;  // 1-based physical line the record starts on, counting skipped lines too
  std::string text;     // the URL, trimmed
  // The record's other columns: strings keyed by header name (CSV, TSV), or every field but the
  // URL's with its JSON value (JSONL). Always an object; empty for text lists.
  nlohmann::ordered_json extra = nlohmann::ordered_json::object();
  // Non-empty: the record is malformed (not JSON, nested deeper than kMaxJsonDepth, a NUL byte,
  // no URL field, wrong field count, ...) and has no usable URL; the pipeline reports it as
  // invalid input.
  std::string error;
  // The record exceeded kMaxLineBytes; text holds its first bytes (raw, not parsed, for CSV, TSV
  // and JSONL) and error is empty.
  bool too_long = false;
};

// One line of a shard input file (ListFormat::kShard, written by `imgpipe plan`): the record as
// ListReader parsed it from the original list, as a JSON object on one line with its newline:
// {"line": N, "url": "...", "input": {...}, "error": "...", "too_long": true}, empty fields left
// out. A URL (or error) that is not valid UTF-8 — a Latin-1 file name — is kept byte for byte as
// hex ("url_hex", "error_hex"), so reading the line back gives exactly the ListLine written;
// the other columns are only ever shown in the manifest, which replaces bad UTF-8 anyway.
std::string shard_record(const ListLine& line);

struct CsvState;  // reader.cc: the libcsv parser and the record it is assembling

// Ownership: borrows the stream, which must outlive the reader. Thread-safety: none; one thread
// reads.
class ListReader {
 public:
  // A longer record is no URL anyone serves (browsers stop near 64 KiB too); capping it keeps a
  // hostile list from costing unbounded memory.
  static constexpr size_t kMaxLineBytes = 64 * 1024;
  // JSONL: the deepest nesting a record may have, its own object being level 1; deeper is an
  // error record. nlohmann parses and frees iteratively, but writing, copying and comparing a value
  // recurse once per level: a 64 KiB line of '[' is 65,536 levels, enough to overflow a worker's
  // stack when its manifest row is written. Real metadata nests a handful of levels. Measured on
  // a manifest row holding 64 levels (dump, copy, compare): under 16 KiB of stack in a release
  // build, ~256 KiB under ASan+UBSan; a oneTBB worker has 4 MiB.
  static constexpr size_t kMaxJsonDepth = 64;
  // A shard record holds a record of at most kMaxLineBytes, its text and its other columns each
  // JSON-escaped (at most 6 bytes per byte, "\u0001"), plus a few field names: 1 MiB covers the
  // worst; a longer line is not one `imgpipe plan` wrote.
  static constexpr size_t kMaxShardRecordBytes = 1 << 20;

  // url_column names the URL's column (CSV, TSV) or field (JSONL); text lists ignore it.
  explicit ListReader(std::istream& in, ListFormat format = ListFormat::kTxt,
                      std::string url_column = "url");
  ~ListReader();
  ListReader(const ListReader&) = delete;
  ListReader& operator=(const ListReader&) = delete;

  // Reads the header row of a CSV or TSV list; true at once for text and JSONL. Call it before
  // next() to report a bad header as a fatal error; on failure *why says why (an empty list, or
  // the URL column missing, naming the columns found). If it was not called, next() calls it and
  // turns a failure into one error record (or, for an empty list, just ends).
  bool read_header(std::string* why);
  // The next record; false at the end of the list. A read error (corrupt gzip, I/O error) ends
  // the list with one error record.
  bool next(ListLine* out);
  // The header's column names (CSV, TSV) once read_header() succeeded; empty for other formats.
  const std::vector<std::string>& columns() const { return columns_; }

 private:
  enum class Header { kUnread, kOk, kFailed };
  bool next_record(ListLine* out);
  bool next_txt(ListLine* out);
  bool next_tsv(ListLine* out);
  bool next_jsonl(ListLine* out);
  bool next_csv(ListLine* out);
  bool next_shard(ListLine* out);
  bool read_tsv_header(std::string* why);
  bool read_csv_header(std::string* why);
  bool read_csv_record(ListLine* out);
  bool finish_csv_record(ListLine* out);
  bool set_columns(std::vector<std::string> names, std::string* why);
  void fill_from_fields(std::vector<std::string>* fields, const char* kind, ListLine* out) const;
  void fill_from_json(nlohmann::ordered_json* record, ListLine* out) const;
  // One physical line, capped at `cap` bytes; false at EOF.
  bool read_raw(ListLine* out, size_t cap = kMaxLineBytes);
  bool read_chunk(std::string* chunk);  // bytes up to a CR or LF, at most 4 KiB; false at EOF
  void skip_rest_of_line();
  void strip_bom(std::string* s);

  std::istream& in_;
  ListFormat format_;
  std::string url_column_;
  std::vector<std::string> columns_;  // header names, CSV and TSV
  size_t url_index_ = 0;              // columns_[url_index_] == url_column_
  std::unique_ptr<CsvState> csv_;
  Header header_ = Header::kUnread;
  std::string header_error_;  // why read_header() failed
  uint64_t header_line_ = 0;  // where the header starts; 0 if the list is empty
  uint64_t lines_read_ = 0;   // newlines consumed so far
  bool at_start_ = true;      // nothing read yet: a UTF-8 byte-order mark may come
  bool ended_ = false;        // a read error ended the list
  bool nul_ = false;          // the line (CSV: record) being read holds a NUL byte
};

enum class NextLine { kLine, kEnd, kNotYet };

// Ownership: shares its ListReader and the stream it reads with the reading thread. The
// destructor joins the thread if it is done; if it is still blocked reading (a producer that
// holds stdin open while we stop on SIGINT), it is detached instead and frees that state itself
// once its read returns, so stopping never waits for a producer. Thread-safety: try_next() from
// one consumer thread; the reading thread calls on_line (under the feeder's lock, never after
// the destructor began) after each line it queues: the consumer's wake-up.
class LineFeeder {
 public:
  // 256 lines amortise the hand-off while bounding what waits here: ~25 KB for ordinary URLs,
  // 256 × 64 KiB of text at the very worst (overlong lines); a JSONL record's parsed extra fields
  // can take several times its text.
  static constexpr size_t kQueueLines = 256;

  // A plain-text list; the stream must outlive the feeder's thread (tests use files and strings).
  LineFeeder(std::istream& in, std::function<void()> on_line);
  // Any format; call reader->read_header() first to report a bad header before the run starts.
  // `stream` (may be null) is what the reader reads, kept alive as long as the thread needs it.
  LineFeeder(std::unique_ptr<ListReader> reader, std::function<void()> on_line,
             std::shared_ptr<std::istream> stream = nullptr);
  ~LineFeeder();
  LineFeeder(const LineFeeder&) = delete;
  LineFeeder& operator=(const LineFeeder&) = delete;

  // Never blocks: a line, the end of the list, or nothing yet.
  NextLine try_next(ListLine* out);

 private:
  struct Shared {
    std::shared_ptr<std::istream> stream;  // declared first: destroyed after the reader
    std::unique_ptr<ListReader> reader;
    std::function<void()> on_line;
    std::mutex mu;
    std::condition_variable space;  // the reader waits here while the queue is full
    std::deque<ListLine> queue;     // guarded by mu
    bool ended = false;             // guarded by mu: the list is exhausted
    bool exited = false;            // guarded by mu: the thread is past its last use of `this`
    bool stopping = false;          // guarded by mu: the destructor wants the reader to quit
  };
  static void read_all(const std::shared_ptr<Shared>& s);

  std::shared_ptr<Shared> shared_;
  std::thread thread_;
};

}  // namespace imgpipe

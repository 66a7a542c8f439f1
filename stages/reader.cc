// Streaming URL-list reader: text, CSV (libcsv), TSV and JSONL records; gzip via zlib.
#include "stages/reader.h"

#include <csv.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <numeric>
#include <stdexcept>
#include <string_view>
#include <system_error>
#include <unordered_set>
#include <utility>

namespace imgpipe {
namespace {

using Json = nlohmann::ordered_json;

constexpr size_t kChunkBytes = 4096;  // CSV is fed to libcsv in chunks of at most this
constexpr const char* kBadQuoting =
    "malformed CSV quoting (a quote inside an unquoted field, or text after a closing quote)";
// A NUL byte is in no URL, path or column anyone means: C strings (libcurl's URL, open(2)'s path)
// end at it, so what would be fetched is not what the manifest records.
constexpr const char* kNulInLine = "NUL byte in the line";
constexpr const char* kNulInRecord = "NUL byte in the record";

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

void trim(std::string* s) {
  size_t b = 0, e = s->size();
  while (b < e && is_space((*s)[b])) ++b;
  while (e > b && is_space((*s)[e - 1])) --e;
  *s = s->substr(b, e - b);
}

bool is_blank(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return is_space(c); });
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string in_quotes(const std::string& s) { return "\"" + s + "\""; }

std::vector<std::string> split_tabs(const std::string& line) {
  std::vector<std::string> fields;
  size_t start = 0;
  for (size_t tab = line.find('\t'); tab != std::string::npos; tab = line.find('\t', start)) {
    fields.push_back(line.substr(start, tab - start));
    start = tab + 1;
  }
  fields.push_back(line.substr(start));
  return fields;
}

void strip_cr(std::string* line) {
  if (!line->empty() && line->back() == '\r') line->pop_back();
}

// nlohmann's messages start with "[json.exception.parse_error.101] " and end by quoting what was
// read, which can be most of a 64 KiB line: keep the readable middle, capped.
std::string json_error(const char* what) {
  std::string msg = what;
  size_t close = msg.find("] ");
  if (msg.rfind("[json.exception.", 0) == 0 && close != std::string::npos) msg.erase(0, close + 2);
  if (msg.size() > 200) msg = msg.substr(0, 200) + "...";
  return "invalid JSON: " + msg;
}

// ordered_json's object is a vector of pairs whose operator[] and emplace search the keys one by
// one: O(n²) for a record of n columns. Appending to the vector itself is O(1); the callers make
// sure each key is unique (or merge repeats afterwards).
Json::object_t::Container& pairs_of(Json::object_t& object) { return object; }

// Up to this many keys (the usual record), comparing every pair costs less than the sort's two
// allocations: 120 string comparisons at most.
constexpr size_t kPairwiseKeys = 16;

bool repeats_pairwise(const Json::object_t::Container& pairs) {
  for (size_t i = 1; i < pairs.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      if (pairs[i].first == pairs[j].first) return true;
  return false;
}

// Repeated keys in a JSON object: nlohmann keeps the key at its first position with its last value
// (a later value overwrites, a lookup finds the first). Same result, in n log n: sort the
// positions by key (stable, so each run of one key is in list order) and merge each run.
void merge_repeated_keys(Json::object_t* object) {
  Json::object_t::Container& pairs = pairs_of(*object);
  if (pairs.size() < 2 || (pairs.size() <= kPairwiseKeys && !repeats_pairwise(pairs))) return;
  std::vector<size_t> order(pairs.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&pairs](size_t a, size_t b) { return pairs[a].first < pairs[b].first; });
  std::vector<bool> repeat(pairs.size(), false);
  bool any = false;
  for (size_t i = 0, j = 1; i < order.size(); i = j++) {
    while (j < order.size() && pairs[order[j]].first == pairs[order[i]].first)
      repeat[order[j++]] = true;
    if (j - i == 1) continue;
    pairs[order[i]].second = std::move(pairs[order[j - 1]].second);
    any = true;
  }
  if (!any) return;
  Json::object_t::Container kept;
  kept.reserve(pairs.size());
  for (size_t i = 0; i < pairs.size(); ++i)
    if (!repeat[i]) kept.emplace_back(pairs[i].first, std::move(pairs[i].second));
  pairs.swap(kept);
}

// Builds a JSONL record from nlohmann's SAX events (its parser is iterative, its DOM builder is
// not what we need): each key is appended in O(1) instead of searched for, and nesting is refused
// past ListReader::kMaxJsonDepth before any deeper value exists.
class RecordBuilder {
 public:
  explicit RecordBuilder(Json* root) : root_(root) {}

  bool null() { return put(nullptr); }
  bool boolean(bool v) { return put(v); }
  bool number_integer(Json::number_integer_t v) { return put(v); }
  bool number_unsigned(Json::number_unsigned_t v) { return put(v); }
  bool number_float(Json::number_float_t v, const Json::string_t&) { return put(v); }
  bool string(Json::string_t& v) { return put(std::move(v)); }
  bool binary(Json::binary_t& v) { return put(Json::binary(std::move(v))); }
  bool start_object(std::size_t) { return open(Json::object()); }
  bool key(Json::string_t& k) {
    pairs_of(stack_.back()->get_ref<Json::object_t&>()).emplace_back(std::move(k), nullptr);
    return true;
  }
  bool end_object() {
    merge_repeated_keys(&stack_.back()->get_ref<Json::object_t&>());
    stack_.pop_back();
    return true;
  }
  bool start_array(std::size_t) { return open(Json::array()); }
  bool end_array() {
    stack_.pop_back();
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const Json::exception& e) {
    error_ = json_error(e.what());
    return false;
  }
  const std::string& error() const { return error_; }

 private:
  // Where the next value goes: the root, a new element at the end of the open array, or the value
  // of the open object's last key. The open containers never move while a child is being built
  // (only their last element grows), so the pointers on the stack stay valid.
  Json* slot() {
    if (stack_.empty()) return root_;
    Json* top = stack_.back();
    if (top->is_array()) {
      top->get_ref<Json::array_t&>().emplace_back();
      return &top->back();
    }
    return &pairs_of(top->get_ref<Json::object_t&>()).back().second;
  }
  bool put(Json v) {
    *slot() = std::move(v);
    return true;
  }
  bool open(Json container) {
    if (stack_.size() >= ListReader::kMaxJsonDepth) {
      error_ = "JSON nested deeper than " + std::to_string(ListReader::kMaxJsonDepth) + " levels";
      return false;
    }
    Json* s = slot();
    *s = std::move(container);
    stack_.push_back(s);
    return true;
  }

  Json* root_;
  std::vector<Json*> stack_;  // the open objects and arrays, outermost first
  std::string error_;
};

// A record that is nothing but empty fields (",,," — spreadsheet exports pad with them) is no more
// an input than a blank line.
bool all_empty(const std::vector<std::string>& fields) {
  return std::all_of(fields.begin(), fields.end(),
                     [](const std::string& f) { return is_blank(f); });
}

// ---- open_list's stream ----------------------------------------------------------------------

// Reads a file descriptor with read(2), which returns whatever a pipe holds, so plain input is
// handed on as soon as it arrives (an istream over stdio would do the same, but zlib's gzread
// waits for a full buffer). Input starting with the gzip magic is inflated instead; the magic is
// checked on the first read, not at open, so opening stdin never waits for the producer.
class ListBuf : public std::streambuf {
 public:
  ListBuf(int fd, bool owns_fd) : fd_(fd), owns_fd_(owns_fd), in_(kBufBytes) {}
  ~ListBuf() override {
    if (mode_ == Mode::kGzip) inflateEnd(&z_);
    if (owns_fd_) ::close(fd_);
  }
  ListBuf(const ListBuf&) = delete;
  ListBuf& operator=(const ListBuf&) = delete;

 protected:
  int_type underflow() override {
    if (gptr() < egptr()) return traits_type::to_int_type(*gptr());
    switch (mode_) {
      case Mode::kUnknown:
        return detect();
      case Mode::kPlain:
        return show(in_.data(), read_some(in_.data(), in_.size()));
      case Mode::kGzip:
        return next_inflated();
    }
    return traits_type::eof();
  }

 private:
  enum class Mode { kUnknown, kPlain, kGzip };
  static constexpr size_t kBufBytes = 64 * 1024;

  int_type show(char* data, size_t n) {
    if (n == 0) return traits_type::eof();
    setg(data, data, data + n);
    return traits_type::to_int_type(*data);
  }

  // Bytes read, 0 at the end; a read error throws (ListReader reports it as an error record).
  size_t read_some(char* dst, size_t len) {
    for (;;) {
      ssize_t n = ::read(fd_, dst, len);
      if (n >= 0) return static_cast<size_t>(n);
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {  // a non-blocking stdin: wait, don't fail
        pollfd p{fd_, POLLIN, 0};
        ::poll(&p, 1, -1);
        continue;
      }
      throw std::system_error(errno, std::generic_category(), "read");
    }
  }

  int_type detect() {
    size_t n = read_some(in_.data(), in_.size());
    if (n == 0) return traits_type::eof();
    // 0x1f starts no text line, so only then is a second byte worth waiting for.
    if (n == 1 && in_[0] == '\x1f') n += read_some(in_.data() + 1, in_.size() - 1);
    if (n < 2 || in_[0] != '\x1f' || in_[1] != '\x8b') {
      mode_ = Mode::kPlain;
      return show(in_.data(), n);
    }
    z_ = z_stream{};
    if (inflateInit2(&z_, 16 + MAX_WBITS) != Z_OK) throw std::runtime_error("zlib init failed");
    mode_ = Mode::kGzip;
    out_.resize(kBufBytes);
    z_.next_in = reinterpret_cast<Bytef*>(in_.data());
    z_.avail_in = static_cast<uInt>(n);
    return next_inflated();
  }

  int_type next_inflated() {
    for (;;) {
      if (z_.avail_in == 0 && !refill()) {
        if (member_open_) throw std::runtime_error("gzip data is truncated");
        return traits_type::eof();
      }
      if (!member_open_) {
        // Concatenated members (cat a.gz b.gz) are one stream; anything else after a member is
        // ignored, as gzip and gzread do (tape padding).
        if (*z_.next_in != 0x1f) return traits_type::eof();
        inflateReset(&z_);
        member_open_ = true;
      }
      z_.next_out = reinterpret_cast<Bytef*>(out_.data());
      z_.avail_out = static_cast<uInt>(out_.size());
      int rc = inflate(&z_, Z_NO_FLUSH);
      if (rc == Z_STREAM_END) {
        member_open_ = false;
      } else if (rc != Z_OK && !(rc == Z_BUF_ERROR && z_.avail_in == 0)) {
        throw std::runtime_error(std::string("gzip data is corrupt: ") +
                                 (z_.msg ? z_.msg : zError(rc)));
      }
      size_t produced = out_.size() - z_.avail_out;
      if (produced > 0) return show(out_.data(), produced);
    }
  }

  bool refill() {
    size_t n = read_some(in_.data(), in_.size());
    z_.next_in = reinterpret_cast<Bytef*>(in_.data());
    z_.avail_in = static_cast<uInt>(n);
    return n > 0;
  }

  int fd_;
  bool owns_fd_;
  Mode mode_ = Mode::kUnknown;
  std::vector<char> in_;   // raw bytes: the get area (plain) or inflate's input (gzip)
  std::vector<char> out_;  // inflated bytes, the get area (gzip only)
  z_stream z_{};
  bool member_open_ = true;  // inside a gzip member: its end has not been seen
};

// Ownership: owns the buffer, which the istream base only points at (and never touches when it
// is destroyed, after the buffer).
class ListStream : public std::istream {
 public:
  ListStream(int fd, bool owns_fd) : std::istream(nullptr), buf_(fd, owns_fd) { rdbuf(&buf_); }

 private:
  ListBuf buf_;
};

}  // namespace

ListFormat format_from_path(const std::string& path) {
  std::string name = path.substr(path.find_last_of('/') + 1);  // npos + 1 == 0: no directory
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (ends_with(name, ".gz")) name.resize(name.size() - 3);
  if (ends_with(name, ".csv")) return ListFormat::kCsv;
  if (ends_with(name, ".tsv") || ends_with(name, ".tab")) return ListFormat::kTsv;
  if (ends_with(name, ".jsonl") || ends_with(name, ".ndjson")) return ListFormat::kJsonl;
  return ListFormat::kTxt;
}

std::unique_ptr<std::istream> open_list(const std::string& path, std::string* why) {
  if (path == "-") return std::make_unique<ListStream>(STDIN_FILENO, false);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  int err = errno;
  struct stat st;
  // open(2) accepts a directory; only the first read would fail, far from here.
  if (fd >= 0 && ::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    ::close(fd);
    fd = -1;
    err = EISDIR;
  }
  if (fd < 0) {
    *why = "cannot open " + path + ": " + std::generic_category().message(err);
    return nullptr;
  }
  return std::make_unique<ListStream>(fd, true);
}

// ---- CSV ---------------------------------------------------------------------------------------

// libcsv's parser plus the record it is assembling. The caller feeds it byte chunks that end at a
// CR or LF (or are cut at kChunkBytes), so a record can only end on a chunk's last byte: that is
// how the reader knows which physical line each record starts on.
struct CsvState {
  csv_parser parser;
  std::vector<std::string> fields;  // completed fields of the current record
  std::string raw;                  // its first bytes, the text of a too-long record
  size_t bytes = 0;                 // bytes fed since the record started
  bool started = false;             // a non-blank byte of the record has been fed
  bool done = false;                // libcsv ended the record

  // Strict: a quote inside an unquoted field, or text after a closing quote, is an error (RFC
  // 4180), not silently kept; strict fini: so is a quote still open at the end of the list.
  CsvState() { csv_init(&parser, CSV_STRICT | CSV_STRICT_FINI); }
  ~CsvState() { csv_free(&parser); }
  CsvState(const CsvState&) = delete;  // the parser owns a buffer
  CsvState& operator=(const CsvState&) = delete;

  void begin_record() {
    fields.clear();
    raw.clear();
    bytes = 0;
    started = false;
    done = false;
  }
  // After an error or a too-long record the parser's state is garbage: start afresh.
  void reset_parser() {
    csv_free(&parser);
    csv_init(&parser, CSV_STRICT | CSV_STRICT_FINI);
  }
  // False if libcsv stopped at a quoting error.
  bool feed(const std::string& chunk) {
    return csv_parse(&parser, chunk.data(), chunk.size(), on_field, on_row, this) == chunk.size();
  }
  // Ends a record the list ends in; false if a quote is still open.
  bool finish() { return csv_fini(&parser, on_field, on_row, this) == 0; }

  static void on_field(void* data, size_t len, void* self) {
    auto* s = static_cast<CsvState*>(self);
    s->fields.emplace_back(len ? static_cast<const char*>(data) : "", len);
  }
  static void on_row(int, void* self) { static_cast<CsvState*>(self)->done = true; }
};

// ---- ListReader --------------------------------------------------------------------------------

ListReader::ListReader(std::istream& in, ListFormat format, std::string url_column)
    : in_(in), format_(format), url_column_(std::move(url_column)) {
  if (format_ == ListFormat::kCsv) csv_ = std::make_unique<CsvState>();
  if (format_ != ListFormat::kCsv && format_ != ListFormat::kTsv) header_ = Header::kOk;
}

ListReader::~ListReader() = default;

// Excel and Notepad start UTF-8 files with a byte-order mark; left in, it would glue itself to the
// first URL or header name.
void ListReader::strip_bom(std::string* s) {
  if (!at_start_) return;
  at_start_ = false;
  if (s->compare(0, 3, "\xEF\xBB\xBF") == 0) s->erase(0, 3);
}

bool ListReader::read_raw(ListLine* out, size_t cap) {
  std::streambuf* buf = in_.rdbuf();
  out->text.clear();
  out->too_long = false;
  out->number = lines_read_ + 1;
  nul_ = false;
  bool any = false;
  for (int c = buf->sbumpc(); c != std::char_traits<char>::eof(); c = buf->sbumpc()) {
    any = true;
    if (c == '\n') {
      ++lines_read_;
      break;
    }
    if (c == '\0') nul_ = true;  // past the cap too: the whole line is judged
    if (out->text.size() < cap)
      out->text.push_back(static_cast<char>(c));
    else
      out->too_long = true;
  }
  strip_bom(&out->text);
  return any;
}

bool ListReader::read_chunk(std::string* chunk) {
  std::streambuf* buf = in_.rdbuf();
  chunk->clear();
  for (int c = buf->sbumpc(); c != std::char_traits<char>::eof(); c = buf->sbumpc()) {
    chunk->push_back(static_cast<char>(c));
    if (c == '\0') nul_ = true;
    if (c == '\n') ++lines_read_;
    if (c == '\n' || c == '\r' || chunk->size() >= kChunkBytes) break;
  }
  strip_bom(chunk);
  return !chunk->empty();
}

// Up to and including the next CR or LF (a CRLF's LF then reads as a blank chunk).
void ListReader::skip_rest_of_line() {
  std::streambuf* buf = in_.rdbuf();
  for (int c = buf->sbumpc(); c != std::char_traits<char>::eof(); c = buf->sbumpc()) {
    if (c == '\n') ++lines_read_;
    if (c == '\n' || c == '\r') return;
  }
}

bool ListReader::read_header(std::string* why) {
  if (header_ == Header::kUnread) {
    bool ok = false;
    try {
      ok = format_ == ListFormat::kCsv ? read_csv_header(&header_error_)
                                       : read_tsv_header(&header_error_);
    } catch (const std::exception& e) {  // the stream's: an I/O error or corrupt gzip data
      header_error_ = std::string("cannot read the list: ") + e.what();
      header_line_ = lines_read_ + 1;
    }
    header_ = ok ? Header::kOk : Header::kFailed;
  }
  if (header_ == Header::kFailed) *why = header_error_;
  return header_ == Header::kOk;
}

bool ListReader::set_columns(std::vector<std::string> names, std::string* why) {
  for (std::string& name : names) trim(&name);
  std::string list;
  // A hash set, not a search of the names before each one: a 64 KiB header holds ~20,000 columns.
  std::unordered_set<std::string_view> seen(names.size());
  for (size_t i = 0; i < names.size(); ++i) {
    if (!seen.insert(names[i]).second) {
      *why = "duplicate column " + in_quotes(names[i]) + " in the header";
      return false;
    }
    list += (i ? ", " : "") + names[i];
  }
  auto url = std::find(names.begin(), names.end(), url_column_);
  if (url == names.end()) {
    *why = "no column " + in_quotes(url_column_) + " in the header (columns: " + list + ")";
    return false;
  }
  url_index_ = static_cast<size_t>(url - names.begin());
  columns_ = std::move(names);
  return true;
}

bool ListReader::read_tsv_header(std::string* why) {
  ListLine line;
  while (read_raw(&line) && !line.too_long && is_blank(line.text)) {
  }
  header_line_ = line.number;
  if (line.text.empty() && !line.too_long) {
    header_line_ = 0;
    *why = "the list is empty: a TSV list needs a header row naming its columns";
    return false;
  }
  if (line.too_long) {
    *why = "the TSV header row is longer than 64 KiB";
    return false;
  }
  if (nul_) {
    *why = "the TSV header row holds a NUL byte";
    return false;
  }
  strip_cr(&line.text);
  return set_columns(split_tabs(line.text), why);
}

bool ListReader::read_csv_header(std::string* why) {
  ListLine line;
  if (!read_csv_record(&line)) {
    *why = "the list is empty: a CSV list needs a header row naming its columns";
    return false;
  }
  header_line_ = line.number;
  if (line.too_long) {
    *why = "the CSV header row is longer than 64 KiB";
    return false;
  }
  if (!line.error.empty()) {
    *why = "the CSV header row is malformed: " + line.error;
    return false;
  }
  if (nul_) {
    *why = "the CSV header row holds a NUL byte";
    return false;
  }
  return set_columns(std::move(csv_->fields), why);
}

bool ListReader::next(ListLine* out) {
  if (ended_) return false;
  *out = ListLine();
  try {
    std::string why;
    if (!read_header(&why)) {
      ended_ = true;
      if (header_line_ == 0) return false;  // an empty list: nothing to report
      out->number = header_line_;
      out->error = why;
      return true;
    }
    return next_record(out);
  } catch (const std::exception& e) {  // the stream's: an I/O error or corrupt gzip data
    ended_ = true;
    *out = ListLine();
    out->number = lines_read_ + 1;
    out->error = std::string("cannot read the list: ") + e.what();
    return true;
  }
}

bool ListReader::next_record(ListLine* out) {
  switch (format_) {
    case ListFormat::kTxt:
      return next_txt(out);
    case ListFormat::kCsv:
      return next_csv(out);
    case ListFormat::kTsv:
      return next_tsv(out);
    case ListFormat::kJsonl:
      return next_jsonl(out);
    case ListFormat::kShard:
      return next_shard(out);
  }
  return false;
}

bool ListReader::next_txt(ListLine* out) {
  while (read_raw(out)) {
    trim(&out->text);
    if (out->text.empty() || out->text[0] == '#') continue;
    if (nul_ && !out->too_long) out->error = kNulInLine;  // too long says enough already
    return true;
  }
  return false;
}

// Splits a CSV or TSV record's fields into the URL and the extra columns.
void ListReader::fill_from_fields(std::vector<std::string>* fields, const char* kind,
                                  ListLine* out) const {
  if (fields->size() != columns_.size()) {
    out->error = std::string(kind) + " row has " + std::to_string(fields->size()) +
                 (fields->size() == 1 ? " field" : " fields") + ", header has " +
                 std::to_string(columns_.size());
    return;
  }
  Json::object_t extra;
  Json::object_t::Container& pairs = pairs_of(extra);
  pairs.reserve(fields->size() - 1);
  for (size_t i = 0; i < fields->size(); ++i) {
    if (i == url_index_)
      out->text = std::move((*fields)[i]);
    else
      pairs.emplace_back(columns_[i], std::move((*fields)[i]));  // set_columns made keys unique
  }
  out->extra = std::move(extra);
  trim(&out->text);
  if (out->text.empty()) out->error = "empty " + in_quotes(url_column_) + " column";
}

bool ListReader::next_tsv(ListLine* out) {
  while (read_raw(out)) {
    if (out->too_long) return true;
    if (is_blank(out->text)) continue;
    strip_cr(&out->text);
    std::vector<std::string> fields = split_tabs(out->text);
    out->text.clear();
    fill_from_fields(&fields, "TSV", out);
    if (nul_) out->error = kNulInLine;  // the URL and columns stay in the row, to show where
    return true;
  }
  return false;
}

bool ListReader::next_jsonl(ListLine* out) {
  while (read_raw(out)) {
    if (out->too_long) return true;
    trim(&out->text);
    if (out->text.empty()) continue;
    if (nul_) {  // not JSON either, but say what is wrong
      out->error = kNulInLine;
      return true;
    }
    Json record;
    RecordBuilder builder(&record);
    if (!Json::sax_parse(out->text, &builder)) {
      out->error = builder.error();
      return true;
    }
    out->text.clear();
    fill_from_json(&record, out);
    return true;
  }
  return false;
}

namespace {

// Whether `s` can be a JSON string as it is: nlohmann's strict dump throws on bad UTF-8.
bool valid_utf8(const std::string& s) {
  try {
    (void)Json(s).dump();
    return true;
  } catch (const Json::type_error&) {
    return false;
  }
}

std::string to_hex(const std::string& s) {
  static const char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(2 * s.size());
  for (unsigned char c : s) {
    hex.push_back(kHex[c >> 4]);
    hex.push_back(kHex[c & 15]);
  }
  return hex;
}

// The bytes of `hex`; false if it is not an even run of hex digits.
bool from_hex(const std::string& hex, std::string* out) {
  if (hex.size() % 2) return false;
  auto digit = [](char c) {
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
  };
  out->clear();
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = digit(hex[i]), lo = digit(hex[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out->push_back(static_cast<char>(hi << 4 | lo));
  }
  return true;
}

// Puts `value` under `key`, or its bytes as hex under key_hex when it is not valid UTF-8.
void put_text(Json* record, const char* key, const std::string& value) {
  if (value.empty()) return;
  if (valid_utf8(value))
    (*record)[key] = value;
  else
    (*record)[std::string(key) + "_hex"] = to_hex(value);
}

// Reads what put_text wrote; false if the hex form is damaged.
bool get_text(const Json& record, const char* key, std::string* out) {
  auto plain = record.find(key);
  if (plain != record.end() && plain->is_string()) {
    *out = plain->get<std::string>();
    return true;
  }
  auto hex = record.find(std::string(key) + "_hex");
  return hex == record.end() || (hex->is_string() && from_hex(hex->get<std::string>(), out));
}

// Whether `v` nests deeper than `limit` levels (a scalar is 0), walking no deeper than that.
bool deeper_than(const Json& v, size_t limit) {
  if (!v.is_structured()) return false;
  if (limit == 0) return true;
  for (const Json& child : v)
    if (deeper_than(child, limit - 1)) return true;
  return false;
}

}  // namespace

std::string shard_record(const ListLine& line) {
  Json record = {{"line", line.number}};
  put_text(&record, "url", line.text);
  if (!line.extra.empty()) record["input"] = line.extra;
  put_text(&record, "error", line.error);
  if (line.too_long) record["too_long"] = true;
  return record.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
}

// A shard file is imgpipe's own, so a line that does not read back is damage: an error record
// (the pipeline reports it as invalid input) on the shard file's own line number.
bool ListReader::next_shard(ListLine* out) {
  while (read_raw(out, kMaxShardRecordBytes)) {
    if (out->text.empty()) continue;
    const uint64_t physical = out->number;
    Json record = Json::parse(out->text, nullptr, false);
    *out = ListLine();
    out->number = physical;
    auto number = record.is_object() ? record.find("line") : record.end();
    if (number == record.end() || !number->is_number_unsigned() ||
        !get_text(record, "url", &out->text) || !get_text(record, "error", &out->error)) {
      out->text.clear();
      out->error = "shard file line " + std::to_string(physical) + " is damaged";
      return true;
    }
    out->number = number->get<uint64_t>();
    auto input = record.find("input");
    if (input != record.end() && input->is_object()) out->extra = std::move(*input);
    out->too_long = record.value("too_long", false);
    // What every record promises (kMaxJsonDepth, no NUL in a URL), kept even for a shard file
    // that something other than plan wrote.
    if (deeper_than(out->extra, kMaxJsonDepth) ||
        (out->error.empty() && !out->too_long && out->text.find('\0') != std::string::npos)) {
      *out = ListLine();
      out->number = physical;
      out->error = "shard file line " + std::to_string(physical) + " is damaged";
    }
    return true;
  }
  return false;
}

void ListReader::fill_from_json(nlohmann::ordered_json* record, ListLine* out) const {
  if (!record->is_object()) {
    out->error = "not a JSON object";
    return;
  }
  auto url = record->find(url_column_);
  if (url == record->end()) {
    out->error = "no " + in_quotes(url_column_) + " field";
    return;
  }
  if (!url->is_string()) {
    out->error = in_quotes(url_column_) + " field is not a string (" + url->type_name() + ")";
    return;
  }
  out->text = url->get<std::string>();
  trim(&out->text);
  record->erase(url);
  out->extra = std::move(*record);
  if (out->text.empty()) out->error = "empty " + in_quotes(url_column_) + " field";
  // "\u0000" is valid JSON, and fine in the other fields (the manifest escapes it again), but
  // the URL would be cut there when fetched.
  if (out->text.find('\0') != std::string::npos)
    out->error = in_quotes(url_column_) + " field holds a NUL character (\\u0000)";
}

bool ListReader::next_csv(ListLine* out) {
  while (read_csv_record(out)) {
    if (out->too_long || !out->error.empty()) return true;
    if (all_empty(csv_->fields)) continue;
    fill_from_fields(&csv_->fields, "CSV", out);
    if (nul_) out->error = kNulInRecord;  // in a quoted field too: libcsv keeps the byte
    return true;
  }
  return false;
}

// One CSV record into csv_->fields, or a too-long or malformed one reported in *out; false at the
// end of the list. After a bad record, parsing resumes on the next physical line: a quote left
// open can swallow at most kMaxLineBytes of the list, never all of it.
bool ListReader::read_csv_record(ListLine* out) {
  CsvState& s = *csv_;
  s.begin_record();
  nul_ = false;
  std::string chunk;
  for (;;) {
    uint64_t line = lines_read_ + 1;
    if (!read_chunk(&chunk)) return finish_csv_record(out);
    if (!s.started) {
      if (is_blank(chunk)) continue;  // libcsv skips blank lines too: no record starts here
      s.started = true;
      out->number = line;
    }
    bool ends_line = chunk.back() == '\n';
    s.bytes += chunk.size();
    size_t content = s.bytes - (ends_line || chunk.back() == '\r' ? 1 : 0);
    s.raw.append(chunk, 0, std::min(chunk.size(), kMaxLineBytes - s.raw.size()));
    if (content > kMaxLineBytes) {
      out->too_long = true;
      out->text = s.raw;
    } else if (!s.feed(chunk)) {
      out->error = kBadQuoting;
    } else if (s.done) {
      return true;
    } else {
      continue;
    }
    if (!ends_line && chunk.back() != '\r') skip_rest_of_line();
    s.reset_parser();
    return true;
  }
}

// The end of the list: a record still open there is complete unless a quote is still open.
bool ListReader::finish_csv_record(ListLine* out) {
  CsvState& s = *csv_;
  if (!s.started) return false;
  if (!s.finish()) {
    out->error = "unterminated quoted field at the end of the list";
    s.reset_parser();
  }
  return true;
}

// ---- LineFeeder --------------------------------------------------------------------------------

LineFeeder::LineFeeder(std::istream& in, std::function<void()> on_line)
    : LineFeeder(std::make_unique<ListReader>(in), std::move(on_line)) {}

LineFeeder::LineFeeder(std::unique_ptr<ListReader> reader, std::function<void()> on_line,
                       std::shared_ptr<std::istream> stream)
    : shared_(std::make_shared<Shared>()) {
  shared_->stream = std::move(stream);
  shared_->reader = std::move(reader);
  shared_->on_line = std::move(on_line);
  thread_ = std::thread([s = shared_] { read_all(s); });
}

LineFeeder::~LineFeeder() {
  bool exited;
  {
    std::lock_guard<std::mutex> lock(shared_->mu);
    shared_->stopping = true;
    exited = shared_->exited;
  }
  shared_->space.notify_all();
  // Still reading, perhaps blocked on a producer: let it go if it owns its stream (it frees
  // everything when its read returns); a borrowed stream may die with us, so wait for it then.
  if (!exited && shared_->stream)
    thread_.detach();
  else
    thread_.join();
}

void LineFeeder::read_all(const std::shared_ptr<Shared>& s) {
  ListLine line;
  bool more = true;
  while (more && (more = s->reader->next(&line))) {
    std::unique_lock<std::mutex> lock(s->mu);
    s->space.wait(lock, [&] { return s->stopping || s->queue.size() < kQueueLines; });
    if (s->stopping) break;
    s->queue.push_back(std::move(line));
    s->on_line();  // under the lock: the destructor cannot finish while the wake-up runs
  }
  std::lock_guard<std::mutex> lock(s->mu);
  s->ended = !more;
  if (!s->stopping) s->on_line();
  s->exited = true;
}

NextLine LineFeeder::try_next(ListLine* out) {
  std::lock_guard<std::mutex> lock(shared_->mu);
  if (shared_->queue.empty()) return shared_->ended ? NextLine::kEnd : NextLine::kNotYet;
  *out = std::move(shared_->queue.front());
  shared_->queue.pop_front();
  shared_->space.notify_one();
  return NextLine::kLine;
}

}  // namespace imgpipe

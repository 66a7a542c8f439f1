// Manifest rows as JSON Lines.
#include "stages/manifest.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

namespace imgpipe {
namespace {

double round_ms(double ms) { return std::round(ms * 1000) / 1000; }  // µs precision is plenty

nlohmann::ordered_json thumb_json(const Thumb* t) {
  bool written = t && !t->path.empty();
  nlohmann::ordered_json j = {{"output", written ? t->path : ""},
                              {"output_width", written ? t->width : 0},
                              {"output_height", written ? t->height : 0},
                              {"output_bytes", written ? t->bytes : 0}};
  if (written && !t->member.empty())
    j["member"] = t->member;  // webdataset: which member of the tar
  return j;
}

}  // namespace

nlohmann::ordered_json manifest_row(const Item& item) {
  nlohmann::ordered_json ms = nlohmann::ordered_json::object();
  for (int s = 0; s < kStageCount; ++s) ms[kStageNames[s]] = round_ms(item.stage_ms[s]);
  const TransferTimings& t = item.timings;
  nlohmann::ordered_json row = {{"line", item.line},
                                {"url", item.url},
                                {"status", status_name(item.status)},
                                {"error", item.error}};
  // A failed row says whether running the line again could change it: a transient download
  // failure (the server or the network may recover) or a write error (the disk may), not a 404,
  // an opt-out or a broken image.
  if (!item.ok()) row["retryable"] = item.transient || item.status == Status::kWriteError;
  row.update(nlohmann::ordered_json{{"warnings", item.warnings},
                                    {"http_status", item.http_status},
                                    {"attempts", item.attempts},
                                    {"bytes", item.bytes_in},
                                    {"sha256", item.sha256},
                                    {"width", item.source_width},
                                    {"height", item.source_height}});
  // The first (or only) size flat, as scripts expect; every size under "outputs" when several.
  row.update(thumb_json(item.thumbs.empty() ? nullptr : &item.thumbs[0]));
  if (item.thumbs.size() > 1) {
    row["outputs"] = nlohmann::ordered_json::array();
    for (const Thumb& th : item.thumbs) row["outputs"].push_back(thumb_json(&th));
  }
  if (item.duplicate_of) row["duplicate_of"] = item.duplicate_of;
  row["ms"] = ms;
  row["download_ms"] = {{"dns", round_ms(t.dns_ms)},   {"connect", round_ms(t.connect_ms)},
                        {"tls", round_ms(t.tls_ms)},   {"first_byte", round_ms(t.first_byte_ms)},
                        {"body", round_ms(t.body_ms)}, {"reused_connection", t.reused_connection}};
  if (!item.input_fields.empty()) row["input"] = item.input_fields;
  return row;
}

uint64_t url_hash(const std::string& url) {
  uint64_t h = 14695981039346656037ull;  // FNV-1a 64: offset basis and prime
  for (unsigned char c : url) h = (h ^ c) * 1099511628211ull;
  return h;
}

namespace {

// A row counts as done if it is ok and every output it names is a regular file in OUTDIR.
bool row_ok(const nlohmann::json& row, int dir_fd) {
  if (row.value("status", "") != "ok") return false;
  std::vector<std::string> paths = {row.value("output", "")};
  if (row.contains("outputs"))
    for (const auto& o : row["outputs"]) paths.push_back(o.value("output", ""));
  struct stat st {};
  for (const auto& p : paths)
    if (p.empty() || ::fstatat(dir_fd, p.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 ||
        !S_ISREG(st.st_mode))
      return false;
  return true;
}

// Reads the manifest's whole rows (a torn last row, with no newline, is not one), calling
// fn(index, row text with its newline) for each.
template <typename Fn>
void for_each_row(std::FILE* in, Fn fn) {
  char* buf = nullptr;
  size_t cap = 0;
  ssize_t n;
  for (uint32_t index = 0; (n = ::getline(&buf, &cap, in)) > 0; ++index)
    if (buf[n - 1] == '\n') fn(index, buf, static_cast<size_t>(n));
  std::free(buf);
}

// A failed row that says another run would fail the same way (a row without "retryable", from
// an older imgpipe, is redone).
bool row_failed_for_good(const nlohmann::json& row) {
  const auto r = row.find("retryable");
  return row.value("status", "ok") != "ok" && r != row.end() && r->is_boolean() && !r->get<bool>();
}

// Pass 1: the lines whose last row is done, sorted by line; *rows counts the rows read.
DoneLines done_lines(std::FILE* in, int dir_fd, bool keep_final_failures, uint32_t* rows) {
  DoneLines lines;  // first every parseable row (`state` 1 = done), then compacted
  for_each_row(in, [&](uint32_t index, const char* text, size_t n) {
    *rows = index + 1;
    nlohmann::json row = nlohmann::json::parse(text, text + n, nullptr, false);
    if (!row.is_object() || !row.contains("line") || !row["line"].is_number_unsigned()) return;
    const bool failed = keep_final_failures && row_failed_for_good(row);
    lines.push_back({row["line"].get<uint64_t>(), url_hash(row.value("url", "")), index,
                     uint8_t(failed || row_ok(row, dir_fd)), failed});
  });
  // By line, then by position: std::sort needs no buffer, where stable_sort takes one as big.
  std::sort(lines.begin(), lines.end(), [](const DoneLine& a, const DoneLine& b) {
    return a.line != b.line ? a.line < b.line : a.row < b.row;
  });
  size_t kept = 0;  // in place: the last row of each line, if it is done
  for (size_t i = 0; i < lines.size(); ++i)
    if ((i + 1 == lines.size() || lines[i + 1].line != lines[i].line) && lines[i].state)
      lines[kept++] = {lines[i].line, lines[i].url_hash, lines[i].row, 0, lines[i].failed};
  lines.resize(kept);
  lines.shrink_to_fit();
  return lines;
}

// Opens OUTDIR/NAME for reading, never through a symlink; null (errno set) if it cannot.
std::FILE* open_in(int dir_fd, const char* name) {
  int fd = ::openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  std::FILE* f = fd < 0 ? nullptr : ::fdopen(fd, "r");
  if (fd >= 0 && !f) ::close(fd);
  return f;
}

// Replaces the manifest with the rows of `in` that keep(index, line text) accepts, through a
// temporary file created afresh (O_EXCL | O_NOFOLLOW: a symlink planted at its name is refused)
// and renamed over the manifest.
template <typename Keep>
bool rewrite(int dir_fd, std::FILE* in, Keep keep, std::string* why) {
  const std::string tmp = std::string(kManifestName) + ".resume.tmp";
  ::unlinkat(dir_fd, tmp.c_str(), 0);  // a killed --resume's leftover
  int fd =
      ::openat(dir_fd, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  std::FILE* out = fd < 0 ? nullptr : ::fdopen(fd, "w");
  bool ok = out != nullptr;
  std::rewind(in);
  for_each_row(in, [&](uint32_t index, const char* text, size_t n) {
    if (ok && keep(index, text, n)) ok = std::fwrite(text, 1, n, out) == n;
  });
  if (out && std::fclose(out) != 0) ok = false;
  if (!out && fd >= 0) ::close(fd);
  if (!ok || ::renameat(dir_fd, tmp.c_str(), dir_fd, kManifestName) != 0) {
    *why =
        std::string("cannot rewrite ") + kManifestName + " for --resume: " + std::strerror(errno);
    ::unlinkat(dir_fd, tmp.c_str(), 0);
    return false;
  }
  return true;
}

}  // namespace

bool keep_done_rows(int dir_fd, bool keep_final_failures, DoneLines* done, std::string* why) {
  done->clear();
  std::FILE* in = open_in(dir_fd, kManifestName);
  if (!in) {
    if (errno == ENOENT) return true;  // a first run under --resume: nothing done yet
    *why = std::string("cannot read ") + kManifestName + ": " + std::strerror(errno);
    return false;
  }
  uint32_t rows = 0;
  *done = done_lines(in, dir_fd, keep_final_failures, &rows);
  std::vector<bool> keep(rows);  // by row position: one bit a row
  for (const DoneLine& d : *done) keep[d.row] = true;
  // Pass 2: copy the kept rows, in their old order.
  bool ok = rewrite(
      dir_fd, in, [&](uint32_t index, const char*, size_t) { return keep[index]; }, why);
  std::fclose(in);
  return ok;
}

bool drop_stale_rows(int dir_fd, uint64_t kept_bytes, const std::function<bool(uint64_t)>& stale,
                     std::string* why) {
  std::FILE* in = open_in(dir_fd, kManifestName);
  if (!in) {
    *why = std::string("cannot read ") + kManifestName + ": " + std::strerror(errno);
    return false;
  }
  uint64_t offset = 0;
  bool ok = rewrite(
      dir_fd, in,
      [&](uint32_t, const char* text, size_t n) {
        const bool kept_row = offset < kept_bytes;
        offset += n;
        if (!kept_row) return true;
        nlohmann::json row = nlohmann::json::parse(text, text + n, nullptr, false);
        return !(row.is_object() && row.contains("line") && row["line"].is_number_unsigned() &&
                 stale(row["line"].get<uint64_t>()));
      },
      why);
  std::fclose(in);
  return ok;
}

std::unique_ptr<Manifest> Manifest::create(int dir_fd, std::string* why, bool append) {
  int fd =
      ::openat(dir_fd, kManifestName,
               O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | (append ? O_APPEND : O_TRUNC), 0644);
  off_t size = fd < 0 ? -1 : ::lseek(fd, 0, SEEK_END);
  if (size < 0) {
    *why = std::string("cannot create ") + kManifestName + ": " + std::strerror(errno);
    if (fd >= 0) ::close(fd);
    return nullptr;
  }
  return std::unique_ptr<Manifest>(new Manifest(fd, size));
}

Manifest::~Manifest() {
  if (fd_ >= 0) ::close(fd_);
}

std::string manifest_text(const Item& item) {
  // replace: a URL line with invalid UTF-8 must still produce a valid JSON row, not an exception.
  return manifest_row(item).dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

bool Manifest::append(const Item& item) { return append_text(manifest_text(item)); }

bool Manifest::append_text(std::string row) {
  row += '\n';
  std::lock_guard<std::mutex> lock(mu_);
  if (!error_.empty()) return false;
  size_t done = 0;
  while (done < row.size()) {
    ssize_t n = ::write(fd_, row.data() + done, row.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      error_ = std::string("manifest write failed: ") +
               (n < 0 ? std::strerror(errno) : "no progress") +
               "; it keeps every row before that (free space, then rerun with --resume)";
      if (::ftruncate(fd_, good_size_) != 0) error_ += "; and cutting off the torn row failed too";
      return false;
    }
    done += static_cast<size_t>(n);
  }
  good_size_ += static_cast<off_t>(row.size());
  return true;
}

bool Manifest::close(std::string* why) {
  std::lock_guard<std::mutex> lock(mu_);
  if (fd_ >= 0 && ::close(fd_) != 0 && error_.empty())
    error_ = std::string("manifest close failed: ") + std::strerror(errno);
  fd_ = -1;
  *why = error_;
  return error_.empty();
}

}  // namespace imgpipe

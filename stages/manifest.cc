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
  return {{"output", written ? t->path : ""},
          {"output_width", written ? t->width : 0},
          {"output_height", written ? t->height : 0},
          {"output_bytes", written ? t->bytes : 0}};
}

}  // namespace

nlohmann::ordered_json manifest_row(const Item& item) {
  nlohmann::ordered_json ms = nlohmann::ordered_json::object();
  for (int s = 0; s < kStageCount; ++s) ms[kStageNames[s]] = round_ms(item.stage_ms[s]);
  const TransferTimings& t = item.timings;
  nlohmann::ordered_json row = {{"line", item.line},
                                {"url", item.url},
                                {"status", status_name(item.status)},
                                {"error", item.error},
                                {"http_status", item.http_status},
                                {"attempts", item.attempts},
                                {"bytes", item.bytes_in},
                                {"sha256", item.sha256},
                                {"width", item.source_width},
                                {"height", item.source_height}};
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

namespace {

// A row counts as done if it is ok and every output it names is a file under dir.
bool row_done(const nlohmann::json& row, const std::string& dir) {
  if (row.value("status", "") != "ok") return false;
  std::vector<std::string> paths = {row.value("output", "")};
  if (row.contains("outputs"))
    for (const auto& o : row["outputs"]) paths.push_back(o.value("output", ""));
  struct stat st {};
  for (const auto& p : paths)
    if (p.empty() || ::stat((dir + "/" + p).c_str(), &st) != 0 || !S_ISREG(st.st_mode))
      return false;
  return true;
}

struct RowRef {
  uint64_t line, index;
  bool done;
};

// Pass 1: every parseable row's line, position and done-ness; the last row of each line wins.
std::vector<RowRef> last_rows(std::FILE* in, const std::string& dir) {
  std::vector<RowRef> rows;
  char* buf = nullptr;
  size_t cap = 0;
  for (uint64_t index = 0; ::getline(&buf, &cap, in) > 0; ++index) {
    nlohmann::json row = nlohmann::json::parse(buf, nullptr, false);
    if (row.is_object() && row.contains("line") && row["line"].is_number_unsigned())
      rows.push_back({row["line"].get<uint64_t>(), index, row_done(row, dir)});
  }
  std::free(buf);
  std::stable_sort(rows.begin(), rows.end(),
                   [](const RowRef& a, const RowRef& b) { return a.line < b.line; });
  std::vector<RowRef> last;
  for (size_t i = 0; i < rows.size(); ++i)
    if (i + 1 == rows.size() || rows[i + 1].line != rows[i].line) last.push_back(rows[i]);
  return last;
}

}  // namespace

bool keep_done_rows(const std::string& path, const std::string& dir, std::vector<uint64_t>* done,
                    std::string* why) {
  done->clear();
  std::FILE* in = std::fopen(path.c_str(), "re");
  if (!in) {
    if (errno == ENOENT) return true;  // a first run under --resume: nothing done yet
    *why = "cannot read " + path + ": " + std::strerror(errno);
    return false;
  }
  std::vector<RowRef> last = last_rows(in, dir);
  std::vector<uint64_t> keep;  // row positions to copy, sorted
  for (const RowRef& r : last)
    if (r.done) {
      done->push_back(r.line);
      keep.push_back(r.index);
    }
  std::sort(keep.begin(), keep.end());
  // Pass 2: copy the kept rows, in their old order, to a temporary file that replaces the manifest.
  const std::string tmp = path + ".resume.tmp";
  std::FILE* out = std::fopen(tmp.c_str(), "we");
  bool ok = out != nullptr;
  std::rewind(in);
  char* buf = nullptr;
  size_t cap = 0;
  ssize_t n;
  size_t next = 0;
  for (uint64_t index = 0; ok && next < keep.size() && (n = ::getline(&buf, &cap, in)) > 0; ++index)
    if (index == keep[next]) {
      ++next;
      ok = std::fwrite(buf, 1, n, out) == static_cast<size_t>(n);
    }
  std::free(buf);
  std::fclose(in);
  if (out && std::fclose(out) != 0) ok = false;
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    *why = "cannot rewrite " + path + " for --resume: " + std::strerror(errno);
    std::remove(tmp.c_str());
    return false;
  }
  return true;
}

std::unique_ptr<Manifest> Manifest::create(const std::string& path, std::string* why, bool append) {
  int fd =
      ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC), 0644);
  off_t size = fd < 0 ? -1 : ::lseek(fd, 0, SEEK_END);
  if (size < 0) {
    *why = "cannot create " + path + ": " + std::strerror(errno);
    if (fd >= 0) ::close(fd);
    return nullptr;
  }
  return std::unique_ptr<Manifest>(new Manifest(fd, size));
}

Manifest::~Manifest() {
  if (fd_ >= 0) ::close(fd_);
}

bool Manifest::append(const Item& item) {
  // replace: a URL line with invalid UTF-8 must still produce a valid JSON row, not an exception.
  std::string row =
      manifest_row(item).dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
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

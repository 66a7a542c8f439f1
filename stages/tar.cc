// WebDataset tars through libarchive (tar.h).
#include "stages/tar.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "stages/write.h"

namespace imgpipe {

// libarchive's output: every block it hands over, written whole to the temporary file.
struct TarOutput {
  static la_ssize_t write(struct archive* a, void* self, const void* data, size_t size) {
    const int fd = static_cast<TarWriter*>(self)->fd_;
    size_t done = 0;
    while (done < size) {
      ssize_t n = ::write(fd, static_cast<const char*>(data) + done, size - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        archive_set_error(a, n < 0 ? errno : EIO, "%s",
                          n < 0 ? std::strerror(errno) : "no progress");
        return -1;
      }
      done += static_cast<size_t>(n);
    }
    return static_cast<la_ssize_t>(size);
  }
};

std::string tar_name(int64_t n) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%05lld.tar", static_cast<long long>(n));
  return buf;
}

TarWriter::TarWriter(int dir_fd, std::string name, int fd)
    : dir_fd_(dir_fd), name_(std::move(name)), tmp_(temporary_name(name_, 0)), fd_(fd) {}

std::unique_ptr<TarWriter> TarWriter::create(int dir_fd, const std::string& name,
                                             std::string* why) {
  const std::string tmp = temporary_name(name, 0);
  // O_NOFOLLOW: a symlink planted at the temporary name is refused, never written through.
  int fd =
      ::openat(dir_fd, tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) {
    *why = "cannot create " + tmp + ": " + std::strerror(errno);
    return nullptr;
  }
  std::unique_ptr<TarWriter> w(new TarWriter(dir_fd, name, fd));
  w->archive_ = archive_write_new();
  // pax restricted: ustar headers for our short names, readable by every tar and Python's tarfile.
  if (!w->archive_ || archive_write_set_format_pax_restricted(w->archive_) != ARCHIVE_OK ||
      archive_write_open2(w->archive_, w.get(), nullptr, &TarOutput::write, nullptr, nullptr) !=
          ARCHIVE_OK) {
    *why = w->failure("cannot start");
    return nullptr;  // the destructor removes the temporary
  }
  return w;
}

TarWriter::~TarWriter() {
  // A dropped tar: our descriptor goes first, so the end-of-archive blocks archive_write_free
  // still tries to write fail harmlessly (EBADF) instead of reaching the file. Not
  // archive_write_fail(): after it, libarchive 3.6 frees nothing of its output block (10 KiB).
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (archive_) archive_write_free(archive_);
  if (!finished_) ::unlinkat(dir_fd_, tmp_.c_str(), 0);
}

std::string TarWriter::failure(const char* what) const {
  const char* detail = archive_ ? archive_error_string(archive_) : nullptr;
  return std::string(what) + " " + tmp_ + ": " + (detail ? detail : std::strerror(errno));
}

bool TarWriter::add(const std::string& member, const void* data, size_t size, std::string* why) {
  struct archive_entry* e = archive_entry_new();
  archive_entry_set_pathname(e, member.c_str());
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_perm(e, 0644);
  archive_entry_set_size(e, static_cast<la_int64_t>(size));
  archive_entry_set_mtime(e, std::time(nullptr), 0);
  bool ok =
      archive_write_header(archive_, e) == ARCHIVE_OK &&
      (size == 0 || archive_write_data(archive_, data, size) == static_cast<la_ssize_t>(size));
  archive_entry_free(e);
  if (!ok) *why = failure(("cannot write " + member + " to").c_str());
  return ok;
}

bool TarWriter::finish(std::string* why) {
  // close writes the end-of-archive blocks and flushes libarchive's last block to fd_.
  bool ok = archive_write_close(archive_) == ARCHIVE_OK;
  if (!ok) *why = failure("cannot finish");
  if (ok && ::fsync(fd_) != 0) {
    ok = false;
    *why = "cannot fsync " + tmp_ + ": " + std::strerror(errno);
  }
  if (ok && ::close(fd_) != 0) {
    ok = false;
    *why = "cannot close " + tmp_ + ": " + std::strerror(errno);
  }
  fd_ = -1;
  // rename replaces the final name atomically: a symlink planted there is replaced, not followed.
  if (ok && ::renameat(dir_fd_, tmp_.c_str(), dir_fd_, name_.c_str()) != 0) {
    ok = false;
    *why = "cannot rename " + tmp_ + " to " + name_ + ": " + std::strerror(errno);
  }
  finished_ = ok;
  // The folder too, so the rename itself survives a crash of the machine.
  if (ok) ::fsync(dir_fd_);
  return ok;
}

TarSink::TarSink(int dir_fd, const ImageOptions& image, const OutputOptions& output)
    : dir_fd_(dir_fd), image_(image), output_(output), next_number_(output.first_tar) {}

bool TarSink::open_next() {
  struct stat st {};
  while (::fstatat(dir_fd_, tar_name(next_number_).c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0)
    ++next_number_;  // a complete tar of an earlier run: never reopened
  open_ = TarWriter::create(dir_fd_, tar_name(next_number_++), &error_);
  samples_ = 0;
  return open_ != nullptr;
}

bool TarSink::failed(std::string why) {
  if (error_.empty()) error_ = std::move(why);
  open_.reset();  // abandoned: its temporary goes, and its rows name a tar that does not exist
  return false;
}

void TarSink::add_images(Item& item) {
  if (error_.empty() && !open_) open_next();
  if (!error_.empty()) return item.fail(Status::kWriteError, "not written: " + error_);
  for (Thumb& t : item.thumbs) {
    const std::string member = member_name(item, t, image_);
    std::string why;
    if (!open_->add(member, t.encoded.data(), t.encoded.size(), &why)) {
      failed(why);
      return item.fail(Status::kWriteError, why);
    }
    t.path = open_->name();
    t.member = member;
    t.bytes = t.encoded.size();
    item.bytes_out += t.bytes;
    t.encoded = {};
  }
}

namespace {

// The caption column's value as text: a string as it is, any other JSON value as JSON, nothing
// (a JSONL record without the field, a null) as an empty caption, so every sample has its .txt.
std::string caption_text(const Item& item, const std::string& column) {
  const auto it = item.input_fields.find(column);
  if (it == item.input_fields.end() || it->is_null()) return {};
  if (it->is_string()) return it->get<std::string>();
  return it->dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace

bool TarSink::add_record(const Item& item, const std::string& row) {
  if (!open_) return false;
  const std::string key = sample_key(item.line);
  std::string why;
  bool ok = open_->add(key + ".json", row.data(), row.size(), &why);
  if (ok && !output_.caption_column.empty()) {
    const std::string caption = caption_text(item, output_.caption_column);
    ok = open_->add(key + ".txt", caption.data(), caption.size(), &why);
  }
  return ok || failed(why);
}

bool TarSink::end_sample() {
  if (!open_) return false;
  ++samples_;
  if (output_.samples_per_tar == 0 || samples_ < output_.samples_per_tar) return true;
  return finish();
}

bool TarSink::finish() {
  if (!open_) return error_.empty();
  std::string why;
  if (!open_->finish(&why)) return failed(why);
  open_.reset();
  return true;
}

}  // namespace imgpipe

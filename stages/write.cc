// Thumbnail paths and atomic, symlink-safe file writes.
#include "stages/write.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string_view>

#include "stages/hash.h"

namespace imgpipe {
namespace {

std::string stem(const Item& item, const OutputOptions& output) {
  switch (output.naming) {
    case Naming::kHash:
      return item.sha256;
    case Naming::kUrl:
      return url_stem(item.url);
    case Naming::kIndex:
      break;
  }
  return sample_key(item.line);
}

bool write_all(int fd, const std::vector<uint8_t>& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

// Opens dir/sub (creating it), refusing to follow a symlink. Takes ownership of dir_fd.
int open_subdir(int dir_fd, const std::string& sub) {
  if (::mkdirat(dir_fd, sub.c_str(), 0755) != 0 && errno != EEXIST) {
    int saved = errno;
    ::close(dir_fd);
    errno = saved;
    return -1;
  }
  int fd = ::openat(dir_fd, sub.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  int saved = errno;
  ::close(dir_fd);
  errno = saved;
  return fd;
}

// True if dir_fd/name is a regular file holding exactly `bytes`.
bool same_file(int dir_fd, const std::string& name, const std::vector<uint8_t>& bytes) {
  int fd = ::openat(dir_fd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat st {};
  bool same = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
              static_cast<uint64_t>(st.st_size) == bytes.size();
  std::vector<uint8_t> old(same ? bytes.size() : 0);
  size_t got = 0;
  for (ssize_t n; same && got < old.size(); got += static_cast<size_t>(n))
    if ((n = ::read(fd, old.data() + got, old.size() - got)) <= 0) same = false;
  ::close(fd);
  return same && old == bytes;
}

// Moves tmp to name only if name does not exist (atomically: renameat2's RENAME_NOREPLACE, or a
// hard link where the filesystem lacks it, NFS for one). EEXIST when it does.
int rename_no_replace(int dir_fd, const std::string& tmp, const std::string& name) {
  if (::renameat2(dir_fd, tmp.c_str(), dir_fd, name.c_str(), RENAME_NOREPLACE) == 0) return 0;
  if (errno != EINVAL && errno != ENOSYS) return errno;
  if (::linkat(dir_fd, tmp.c_str(), dir_fd, name.c_str(), 0) != 0) return errno;
  ::unlinkat(dir_fd, tmp.c_str(), 0);
  return 0;
}

// Writes bytes to dir/rel via a temporary name unique to the line (two lines may share a final
// name under --name hash|url), then renames it into place. With `replace` false an existing file
// is never replaced: one holding the same bytes is fine (the same thumbnail), another gives
// EEXIST. Returns 0 or an errno value.
int write_file(const std::string& dir, const std::string& rel, uint64_t line,
               const std::vector<uint8_t>& bytes, bool replace) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  size_t start = 0;
  for (size_t slash; fd >= 0 && (slash = rel.find('/', start)) != std::string::npos;
       start = slash + 1)
    fd = open_subdir(fd, rel.substr(start, slash - start));
  if (fd < 0) return errno;
  const std::string name = rel.substr(start);
  const std::string tmp = temporary_name(name, line);
  // O_NOFOLLOW: a symlink planted at the temporary name must not redirect the write.
  int out = ::openat(fd, tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
  int err = out < 0 ? errno : 0;
  if (out >= 0) {
    bool ok = write_all(out, bytes);
    err = ok ? 0 : errno ? errno : EIO;
    if (::close(out) != 0 && !err) err = errno;
    // rename replaces the final name atomically (a symlink there is replaced, not followed).
    if (!err && replace && ::renameat(fd, tmp.c_str(), fd, name.c_str()) != 0) err = errno;
    if (!err && !replace) err = rename_no_replace(fd, tmp, name);
    if (err == EEXIST && same_file(fd, name, bytes)) err = 0;
    ::unlinkat(fd, tmp.c_str(), 0);  // gone already unless something failed
  }
  ::close(fd);
  return err;
}

}  // namespace

std::string temporary_name(const std::string& name, uint64_t line) {
  return "." + name + "." + std::to_string(line) + ".tmp";
}

bool is_temporary_name(const std::string& name) {
  constexpr std::string_view kSuffix = ".tmp";
  if (name.size() < 2 + 1 + 1 + kSuffix.size() || name[0] != '.' ||
      name.compare(name.size() - kSuffix.size(), kSuffix.size(), kSuffix) != 0)
    return false;
  const size_t end = name.size() - kSuffix.size();  // ".NAME.LINE" ends here
  const size_t dot = name.rfind('.', end - 1);
  if (dot <= 1 || dot + 1 == end) return false;  // NAME and LINE must not be empty
  for (size_t i = dot + 1; i < end; ++i)
    if (!std::isdigit(static_cast<unsigned char>(name[i]))) return false;
  return true;
}

namespace {

namespace fs = std::filesystem;

// Folder names that numbered folders (--files-per-folder) have: 5 digits or more.
bool is_numbered_folder(const std::string& name) {
  return name.size() >= 5 &&
         std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Removes our temporaries directly in `dir`, and with `numbered` in its numbered subfolders too.
// Symlinks are neither followed nor removed: nothing imgpipe made is one.
void remove_temporaries_in(const fs::path& dir, bool numbered) {
  std::error_code ec;
  for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator();
       it.increment(ec)) {
    const std::string name = it->path().filename().string();
    const fs::file_status st = it->symlink_status(ec);
    if (fs::is_regular_file(st) && is_temporary_name(name)) fs::remove(it->path(), ec);
    if (numbered && fs::is_directory(st) && is_numbered_folder(name))
      remove_temporaries_in(it->path(), false);
  }
}

}  // namespace

void remove_temporaries(const std::string& dir, const ImageOptions& image,
                        const OutputOptions& output) {
  const bool numbered = output.files_per_folder > 0;
  // Tars are written to OUTDIR itself, whatever the sizes.
  if (image.sizes.size() == 1 || output.format == OutputFormat::kWebdataset)
    return remove_temporaries_in(dir, numbered);
  for (Size s : image.sizes) {
    const fs::path sub = fs::path(dir) / size_label(s);
    std::error_code ec;
    if (fs::is_directory(fs::symlink_status(sub, ec))) remove_temporaries_in(sub, numbered);
  }
}

std::string size_label(Size s) {
  return s.width == s.height ? std::to_string(s.width)
                             : std::to_string(s.width) + "x" + std::to_string(s.height);
}

std::string sample_key(uint64_t line) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%08llu", static_cast<unsigned long long>(line));
  return buf;
}

std::string output_name(uint64_t line, Format format) {
  return sample_key(line) + "." + word(format);
}

std::string member_name(const Item& item, const Thumb& thumb, const ImageOptions& image) {
  const std::string size = image.sizes.size() > 1 ? size_label(thumb.box) + "." : "";
  return sample_key(item.line) + "." + size + word(image.format);
}

std::string url_stem(const std::string& url) {
  size_t from = url.find("://");
  from = from == std::string::npos ? 0 : from + 3;
  std::string s;
  for (size_t i = from; i < url.size() && s.size() < 100; ++i) {
    char c = url[i];
    s += std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_' ? c : '_';
  }
  size_t dot = s.rfind('.');
  if (dot != std::string::npos && dot > 0 && s.size() - dot <= 6) s.resize(dot);  // ".jpeg"
  while (!s.empty() && (s[0] == '.' || s[0] == '_')) s.erase(0, 1);  // never hidden, never ".."
  // 32 hex digits, 128 bits of the sha256: no two URLs can be found that share a name (8 digits,
  // 32 bits, fell to a search in about a second).
  return s + (s.empty() ? "" : "-") + sha256_hex(url.data(), url.size()).substr(0, 32);
}

std::string output_path(const Item& item, const Thumb& thumb, const ImageOptions& image,
                        const OutputOptions& output) {
  std::string rel;
  if (image.sizes.size() > 1) rel += size_label(thumb.box) + "/";
  if (output.files_per_folder > 0) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "%05llu/",
                  static_cast<unsigned long long>((item.line - 1) / output.files_per_folder));
    rel += buf;
  }
  return rel + stem(item, output) + "." + word(image.format);
}

void write(Item& item, const std::string& dir, const ImageOptions& image,
           const OutputOptions& output) {
  for (Thumb& t : item.thumbs) {
    const std::string rel = output_path(item, t, image, output);
    // Index names are the line's own and hash names are the bytes' own, so replacing one can only
    // replace the same thumbnail. A URL name is shared by every line listing that URL: the first
    // writes it, and a later one that made different bytes fails rather than replace it.
    const bool replace = output.naming != Naming::kUrl;
    if (int err = write_file(dir, rel, item.line, t.encoded, replace)) {
      const std::string why =
          err == EEXIST ? "it already holds a different image (the same URL listed twice, or a "
                          "file an earlier run left); nothing was replaced"
                        : std::strerror(err);
      item.fail(Status::kWriteError, "cannot write " + dir + "/" + rel + ": " + why);
      return;
    }
    t.path = rel;
    t.bytes = t.encoded.size();
    item.bytes_out += t.bytes;
    t.encoded = {};
  }
}

}  // namespace imgpipe

// Thumbnail paths and atomic, symlink-safe file writes.
#include "stages/write.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string_view>

#include "stages/hash.h"

namespace imgpipe {
namespace {

const char* extension(Format format) {
  return format == Format::kJpeg ? "jpg" : format == Format::kPng ? "png" : "webp";
}

std::string size_label(Size s) {
  return s.width == s.height ? std::to_string(s.width)
                             : std::to_string(s.width) + "x" + std::to_string(s.height);
}

std::string stem(const Item& item, const OutputOptions& output) {
  switch (output.naming) {
    case Naming::kHash:
      return item.sha256;
    case Naming::kUrl:
      return url_stem(item.url);
    case Naming::kIndex:
      break;
  }
  char buf[24];
  std::snprintf(buf, sizeof buf, "%08llu", static_cast<unsigned long long>(item.line));
  return buf;
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

// Writes bytes to dir/rel via a temporary name unique to the line (two lines may share a final
// name under --name hash|url), then rename. Returns 0 or an errno value.
int write_file(const std::string& dir, const std::string& rel, uint64_t line,
               const std::vector<uint8_t>& bytes) {
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
    if (!err && ::renameat(fd, tmp.c_str(), fd, name.c_str()) != 0) err = errno;
    if (err) ::unlinkat(fd, tmp.c_str(), 0);
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

void remove_temporaries(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (is_temporary_name(it->path().filename().string()) && it->is_regular_file(ec))
      fs::remove(it->path(), ec);
  }
}

std::string output_name(uint64_t line, Format format) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%08llu.%s", static_cast<unsigned long long>(line),
                extension(format));
  return buf;
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
  return s + (s.empty() ? "" : "-") + sha256_hex(url.data(), url.size()).substr(0, 8);
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
  return rel + stem(item, output) + "." + extension(image.format);
}

void write(Item& item, const std::string& dir, const ImageOptions& image,
           const OutputOptions& output) {
  for (Thumb& t : item.thumbs) {
    const std::string rel = output_path(item, t, image, output);
    if (int err = write_file(dir, rel, item.line, t.encoded)) {
      item.fail(Status::kWriteError, "cannot write " + dir + "/" + rel + ": " + std::strerror(err));
      return;
    }
    t.path = rel;
    t.bytes = t.encoded.size();
    item.bytes_out += t.bytes;
    t.encoded = {};
  }
}

}  // namespace imgpipe

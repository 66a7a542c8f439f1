// Atomic thumbnail file writes.
#include "stages/write.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace imgpipe {

std::string output_name(uint64_t line, Format format) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%08llu.%s", static_cast<unsigned long long>(line),
                format == Format::kJpeg  ? "jpg"
                : format == Format::kPng ? "png"
                                         : "webp");
  return buf;
}

namespace {

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

}  // namespace

void write_output(Item& item, const std::string& dir, Format format) {
  const std::string name = output_name(item.line, format);
  const std::string final_path = dir + "/" + name;
  const std::string tmp_path = dir + "/." + name + ".tmp";
  // O_NOFOLLOW: a symlink planted at the temporary name must not redirect the write.
  int fd = ::open(tmp_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) {
    item.fail(Status::kWriteError, "cannot create " + tmp_path + ": " + std::strerror(errno));
    return;
  }
  bool ok = write_all(fd, item.encoded);
  int saved = errno;
  ok = (::close(fd) == 0) && ok;
  // rename replaces the final name atomically (a symlink there is replaced, not followed).
  if (!ok || ::rename(tmp_path.c_str(), final_path.c_str()) != 0) {
    if (ok) saved = errno;
    ::unlink(tmp_path.c_str());
    item.fail(Status::kWriteError, "cannot write " + final_path + ": " + std::strerror(saved));
    return;
  }
  item.output_path = name;
  item.bytes_out = item.encoded.size();
}

}  // namespace imgpipe

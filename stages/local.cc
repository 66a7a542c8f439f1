// Local-file inputs: recognising them and reading them whole.
#include "stages/local.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>

namespace imgpipe {
namespace {

bool has_scheme(const std::string& text) {
  size_t colon = text.find("://");
  if (colon == std::string::npos || colon == 0) return false;
  for (size_t i = 0; i < colon; ++i)
    if (!std::isalnum(static_cast<unsigned char>(text[i])) && !std::strchr("+-.", text[i]))
      return false;
  return std::isalpha(static_cast<unsigned char>(text[0]));
}

bool file_url_path(const std::string& url, std::string* path) {
  CURLU* u = curl_url();
  char* host = nullptr;
  char* p = nullptr;
  bool ok = u &&
            curl_url_set(u, CURLUPART_URL, url.c_str(), CURLU_NON_SUPPORT_SCHEME) == CURLUE_OK &&
            curl_url_get(u, CURLUPART_PATH, &p, CURLU_URLDECODE) == CURLUE_OK;
  if (ok && curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK)
    ok = !*host || std::strcmp(host, "localhost") == 0;  // another host's file is not ours
  if (ok) *path = p;
  curl_free(host);
  curl_free(p);
  curl_url_cleanup(u);
  return ok;
}

}  // namespace

bool local_input_path(const std::string& text, std::string* path, std::string* why) {
  if (text.compare(0, 7, "file://") == 0) {
    if (!file_url_path(text, path)) *why = "a file:// URL must name a file on this machine";
    return true;
  }
  if (has_scheme(text)) return false;
  *path = text;
  return true;
}

void read_local(Item& item, int64_t max_bytes) {
  const std::string& path = item.local_path;
  int fd =
      ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);  // NONBLOCK: a FIFO must not hang us
  struct stat st {};
  if (fd < 0 || ::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    std::string why = fd >= 0           ? "not a regular file"
                      : errno == ENOENT ? "no such file (and not a URL: those start with a "
                                          "scheme, e.g. https://)"
                                        : std::strerror(errno);
    if (fd >= 0) ::close(fd);
    item.fail(Status::kReadError, "cannot read " + path + ": " + why);
    return;
  }
  if (st.st_size > max_bytes) {
    ::close(fd);
    item.fail(Status::kTooLarge, "file larger than --max-bytes");
    return;
  }
  // Read what the file held when opened, plus one byte that tells if it grew past the cap.
  item.body.resize(static_cast<size_t>(st.st_size) + 1);
  size_t got = 0;
  ssize_t n = 0;
  while (got < item.body.size() &&
         ((n = ::read(fd, item.body.data() + got, item.body.size() - got)) > 0 ||
          (n < 0 && errno == EINTR)))
    got += n > 0 ? static_cast<size_t>(n) : 0;
  int saved = errno;
  ::close(fd);
  if (n < 0) {
    item.fail(Status::kReadError, "cannot read " + path + ": " + std::strerror(saved));
  } else if (static_cast<int64_t>(got) > max_bytes) {
    item.fail(Status::kTooLarge, "file larger than --max-bytes");
  }
  item.body.resize(got);
  item.bytes_in = got;
}

}  // namespace imgpipe

// Status: the outcome of one input line, as written in the manifest and counted in the metrics.
//
// A per-item failure is a value carried on the Item, never an exception: every item reaches the
// last graph node whatever happened to it. The names are part of the manifest format that scripts
// rely on, so they are stable: add new ones, never rename.
// Thread-safety: pure functions and constants only.
#pragma once

#include <string_view>

namespace imgpipe {

enum class Status {
  kOk,
  kInvalidUrl,        // the line is not an http(s) URL
  kHttpError,         // the server answered with a non-2xx status (http_status says which)
  kNetworkError,      // connection refused/reset, DNS failure, truncated body, TLS failure
  kTimeout,           // --timeout, --connect-timeout or the low-speed rule fired
  kTooManyRedirects,  // more than the redirect limit
  kBlockedProtocol,   // a redirect to something other than http/https
  kTooLarge,          // body over --max-bytes, or image over --max-pixels
  kNotAnImage,        // the bytes are no image format we decode (HTML, empty body, ...)
  kDecodeError,       // a known format whose data is corrupt or truncated
  kProcessError,      // resize or encode failed
  kWriteError,        // the output file could not be written
  kInvalidInput,      // a malformed list record (bad JSON, wrong CSV field count, no URL field)
  kReadError,         // a local file is missing, not a regular file, or unreadable
  kTooSmall,          // the source's shorter side is below --min-size
  kBadAspect,         // the source's long/short side ratio is above --max-aspect
  kBlockedAddress,    // --block-private refused the address a host resolved or redirected to
  kTruncated,         // the image's data ends before it should (--fail-on truncated or error)
  kOptedOut,          // the response's X-Robots-Tag asks not to be used (--disallowed-directives)
  kRobotsDisallowed,  // --robots: the host's robots.txt disallows the URL (or was unreachable)
  kCount              // not a status: the number of statuses
};

constexpr int kStatusCount = static_cast<int>(Status::kCount);

// The stable manifest name, e.g. "http_error".
std::string_view status_name(Status s);

}  // namespace imgpipe

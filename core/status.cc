// Stable manifest names for Status values.
#include "core/status.h"

namespace imgpipe {

std::string_view status_name(Status s) {
  switch (s) {
    case Status::kOk:
      return "ok";
    case Status::kInvalidUrl:
      return "invalid_url";
    case Status::kHttpError:
      return "http_error";
    case Status::kNetworkError:
      return "network_error";
    case Status::kTimeout:
      return "timeout";
    case Status::kTooManyRedirects:
      return "too_many_redirects";
    case Status::kBlockedProtocol:
      return "blocked_protocol";
    case Status::kTooLarge:
      return "too_large";
    case Status::kNotAnImage:
      return "not_an_image";
    case Status::kDecodeError:
      return "decode_error";
    case Status::kProcessError:
      return "process_error";
    case Status::kWriteError:
      return "write_error";
    case Status::kInvalidInput:
      return "invalid_input";
    case Status::kReadError:
      return "read_error";
    case Status::kTooSmall:
      return "too_small";
    case Status::kBadAspect:
      return "bad_aspect";
    case Status::kBlockedAddress:
      return "blocked_address";
    case Status::kTruncated:
      return "truncated";
    case Status::kOptedOut:
      return "opted_out";
    case Status::kRobotsDisallowed:
      return "robots_disallowed";
    case Status::kCount:
      break;
  }
  return "unknown";
}

}  // namespace imgpipe

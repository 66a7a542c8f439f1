// The curl-multi download loop: read ahead into per-host queues, start what has room, poll,
// finish, follow redirects, retry (after curl's 10-at-a-time.c).
#include "stages/download.h"

#include <curl/curl.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <random>
#include <set>
#include <stdexcept>
#include <unordered_map>
#include <vector>

#include "stages/local.h"
#include "stages/netguard.h"
#include "stages/robots_tag.h"
#include "stages/robots_txt.h"

namespace imgpipe {
namespace {

// A parsed URL, freed with its scope.
struct ParsedUrl {
  CURLU* handle = curl_url();
  ParsedUrl() = default;
  ParsedUrl(const ParsedUrl&) = delete;
  ParsedUrl& operator=(const ParsedUrl&) = delete;
  ~ParsedUrl() { curl_url_cleanup(handle); }
  bool set(const std::string& url, unsigned flags) {
    return handle && curl_url_set(handle, CURLUPART_URL, url.c_str(), flags) == CURLUE_OK;
  }
  // The part, or "" if absent.
  std::string get(CURLUPart part, unsigned flags = 0) const {
    char* text = nullptr;
    std::string out;
    if (curl_url_get(handle, part, &text, flags) == CURLUE_OK && text) out = text;
    curl_free(text);
    return out;
  }
  bool has(CURLUPart part) const {
    char* text = nullptr;
    bool present = curl_url_get(handle, part, &text, 0) == CURLUE_OK && text;
    curl_free(text);
    return present;
  }
};

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

bool valid_utf8(const std::string& s) {
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const size_t n = c < 0x80                 ? 1
                     : c >= 0xC2 && c <= 0xDF ? 2
                     : (c & 0xF0) == 0xE0     ? 3
                     : c >= 0xF0 && c <= 0xF4 ? 4
                                              : 0;  // a continuation byte, overlong or out of range
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    i += n;
  }
  return true;
}

// What a line's URL says about where it goes and what it may carry there.
struct LineUrl {
  std::string host;  // lower case: the --per-host key
  int port = 0;      // the scheme's default when the URL names none
  bool credentials = false;
  std::string user, password;  // from the URL's userinfo, decoded
};

bool split_http_url(const std::string& url, LineUrl* out, std::string* why) {
  ParsedUrl u;
  if (!u.handle) {
    *why = "out of memory";
    return false;
  }
  if (!u.set(url, 0)) {
    *why = "not a valid URL";
    return false;
  }
  const std::string scheme = u.get(CURLUPART_SCHEME);
  if (scheme != "http" && scheme != "https") {
    *why = "only http:// and https:// URLs are fetched";
    return false;
  }
  out->host = lower(u.get(CURLUPART_HOST));
  if (out->host.empty()) {
    *why = "URL has no host";
    return false;
  }
  // libcurl's parser lets any byte above 0x7F through in a host name, but the transfer converts
  // the name with libidn2 in the C locale imgpipe runs in, and so fails on every such byte
  // (CURLE_URL_MALFORMAT, no message): say so now, as invalid_url with the reason.
  if (std::any_of(out->host.begin(), out->host.end(), [](char c) { return c & 0x80; })) {
    *why = valid_utf8(out->host) ? "a non-ASCII host name: write it in its xn-- (IDNA) form"
                                 : "the host name is not valid UTF-8";
    return false;
  }
  if (u.get(CURLUPART_PORT) == "0") {  // parses, but nothing can be reached there
    *why = "port 0";
    return false;
  }
  out->port = std::atoi(u.get(CURLUPART_PORT, CURLU_DEFAULT_PORT).c_str());
  out->credentials = u.has(CURLUPART_USER) || u.has(CURLUPART_PASSWORD);
  if (out->credentials) {
    out->user = u.get(CURLUPART_USER, CURLU_URLDECODE);
    out->password = u.get(CURLUPART_PASSWORD, CURLU_URLDECODE);
  }
  return true;
}

// scheme://host:port, the unit --header and credentials are scoped to; "" if unparsable.
std::string origin_of(const std::string& url) {
  ParsedUrl u;
  if (!u.set(url, CURLU_NON_SUPPORT_SCHEME)) return {};
  return lower(u.get(CURLUPART_SCHEME)) + "://" + lower(u.get(CURLUPART_HOST)) + ":" +
         u.get(CURLUPART_PORT, CURLU_DEFAULT_PORT);
}

}  // namespace

bool parse_http_url(const std::string& url, std::string* host, std::string* why) {
  LineUrl parts;
  if (!split_http_url(url, &parts, why)) return false;
  *host = std::move(parts.host);
  return true;
}

std::string without_userinfo(const std::string& text) {
  const size_t scheme_end = text.find("://");
  if (scheme_end == std::string::npos) return text;
  const size_t start = scheme_end + 3;
  const size_t end = std::min(text.find_first_of("/?#", start), text.size());
  // The last '@': libcurl splits at the first, but a line it rejects may hold more than one,
  // and everything before the last may be a secret.
  const size_t at = text.rfind('@', end == 0 ? 0 : end - 1);
  if (at == std::string::npos || at < start) return text;
  return text.substr(0, start) + text.substr(at + 1);
}

std::string resolve_entry_problem(const std::string& entry) {
  const size_t a = entry.find(':');
  const size_t b = a == std::string::npos ? a : entry.find(':', a + 1);
  if (b == std::string::npos) return "expected HOST:PORT:ADDR, got '" + entry + "'";
  const std::string host = entry.substr(0, a), port = entry.substr(a + 1, b - a - 1);
  if (host.empty() || host[0] == '+' || host[0] == '-' ||
      host.find_first_of("/[]@ \t") != std::string::npos)
    return "'" + host + "' is not a host name";
  if (port.empty() || port.size() > 5 ||
      port.find_first_not_of("0123456789") != std::string::npos || std::stoi(port) < 1 ||
      std::stoi(port) > 65535)
    return "'" + port + "' is not a port";
  for (size_t start = b + 1; start <= entry.size();) {
    size_t comma = entry.find(',', start);
    if (comma == std::string::npos) comma = entry.size();
    std::string addr = entry.substr(start, comma - start);
    if (addr.size() > 2 && addr.front() == '[' && addr.back() == ']')
      addr = addr.substr(1, addr.size() - 2);
    IpAddress ip;
    if (!parse_ip(addr, &ip)) return "'" + addr + "' is not an IP address";
    start = comma + 1;
  }
  return "";
}

std::string proxy_setup_problem(const DownloadOptions& o, std::string* note) {
  if (!o.block_private || o.no_proxy) return {};
  if (!o.proxy.empty()) {
    *note =
        "--proxy with --block-private: only the proxy's address is checked; what the proxy "
        "then connects to is up to the proxy";
    return {};
  }
  // libcurl's own order (url.c): <scheme>_proxy, its upper-case form except HTTP_PROXY, all_proxy.
  for (const char* name : {"http_proxy", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"}) {
    const char* value = std::getenv(name);
    if (value && *value)
      return std::string(name) +
             " is set: through a proxy, --block-private would check only the proxy's address, "
             "not the targets. Pass --no-proxy to connect directly, or --proxy URL to use a "
             "proxy anyway (the check then covers only the proxy)";
  }
  return {};
}

namespace {

// libcurl's receive buffer, allocated per easy handle and written by every recv: 64 KiB a
// handle (a quarter of the recv calls of curl's 16 KiB default), while the handles' buffers
// together stay within 64 MiB, so thousands in flight cost 16 KiB each (curl's default) and
// memory follows the bodies actually held, not the buffers. See receive_buffer().
constexpr long kReceiveBufferMax = 64 * 1024, kReceiveBufferMin = 16 * 1024;
constexpr long kReceiveBuffersBudget = 64 << 20;
long receive_buffer(int concurrency) {
  return std::clamp(kReceiveBuffersBudget / std::max(1, concurrency), kReceiveBufferMin,
                    kReceiveBufferMax);
}
// What Content-Length may reserve for a body up front: a hint, never trusted beyond 1 MiB. A
// truthful one (nearly every web image is smaller) spares the body vector's doublings, which
// copied each body about once more and cost ~8% of a download-only run's CPU; a lying one can
// claim at most concurrency × 1 MiB (64 MiB at the default) of address space, and past 1 MiB the
// body grows only with the bytes that really arrive.
constexpr curl_off_t kBodyHint = 1 << 20;
// Lines read per pass of the loop before curl gets its turn again: reading ahead must not delay
// the transfers already running (1024 short lines cost well under a millisecond).
constexpr int kLinesPerPass = 1024;
// --robots: the parsed robots.txt of origins seen, at most this many bytes together (the first
// cached goes first). An origin's rules are typically well under 1 KiB (~50,000 origins fit);
// a hostile 500 KiB file parses to at most ~1.5 MiB. An origin dropped is fetched again if its
// lines come back.
constexpr size_t kRobotsCacheBytes = 64 << 20;
// Names remembered as not resolving (Impl::unresolvable_): 100,000 × ~100 B = ~10 MB at most.
constexpr size_t kUnresolvableHosts = 100'000;
// Transfers that may run at once when a run starts, before slow start raises it (see
// download.h): 256 bodies (~45 MB of web images) is what a first wave may leave waiting for the
// CPU; up to -j256 a run starts as it always did, and -j4096 is reached in 4 round trips.
constexpr int kStartingTransfers = 256;

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

size_t heap_bytes(const std::string& s) { return s.capacity() > 15 ? s.capacity() + 16 : 0; }

// What a record's extra fields cost in memory, roughly (node sizes plus text), walked without
// recursion: a JSONL record can nest thousands deep.
size_t json_bytes(const nlohmann::ordered_json& root) {
  size_t n = 0;
  std::vector<const nlohmann::ordered_json*> todo = {&root};
  while (!todo.empty()) {
    const nlohmann::ordered_json* j = todo.back();
    todo.pop_back();
    n += sizeof(*j) + 16;
    if (j->is_string()) n += heap_bytes(j->get_ref<const std::string&>());
    if (!j->is_structured()) continue;
    for (auto it = j->begin(); it != j->end(); ++it) {
      if (j->is_object()) n += sizeof(std::string) + heap_bytes(it.key());
      todo.push_back(&it.value());
    }
  }
  return n;
}

struct Host;

// The credentials of a line's URL, sent only to the line's own origin.
struct Credentials {
  std::string user, password;
};

// A list line read ahead, waiting in its host's queue: only what a transfer needs, so the window
// holds many lines (the Item is made when the transfer starts).
struct QueuedLine {
  uint64_t number = 0;
  std::string url;  // userinfo removed
  nlohmann::ordered_json extra;
  std::unique_ptr<Credentials> credentials;  // null when the URL has none
  size_t bytes = 0;                          // its share of the read-ahead window
  int port = 0;                              // of its URL (Host::warm_ports)
  std::unique_ptr<QueuedLine> next;
};

// One item's transfer state, from its first start until it is handed on.
struct Transfer {
  std::shared_ptr<Item> item;
  Host* host = nullptr;
  std::unique_ptr<Credentials> credentials;
  std::string origin;   // the line's scheme://host:port, computed at the first redirect
  std::string hop_url;  // where the latest redirect pointed; the line's URL while empty
  int redirects = 0;    // followed in this attempt
  CURL* easy = nullptr;
  Clock::time_point attempt_start;
  Clock::time_point retry_at;  // when a scheduled retry may start
  int slot = -1;               // which of the `concurrency` transfer slots it runs in
  // --block-private: the exempt addresses (null when not blocking), and the address refused.
  const std::vector<IpAddress>* allowed = nullptr;
  std::string blocked;
  bool socket_failed = false;  // the socket callback itself failed (out of memory)
  double busy_ms = 0;          // summed over attempts, backoff excluded
  bool over_limit = false;     // the write callback refused the body as too large
  bool out_of_memory = false;  // the write callback could not grow the body
  int port = 0;                // of the line's URL: its name:port is warm once this transfer ends
  bool probe = false;          // started while that name:port was not warm (Host::probing)
  // Non-empty: this transfer fetches that origin's robots.txt for --robots; its item is not a
  // list line and is never handed on.
  std::string robots_origin;
  // --disallowed-directives (null when off), and the one the response's X-Robots-Tag held.
  const std::vector<std::string>* disallowed = nullptr;
  std::string opted_out;
  int64_t max_bytes = 0;
  char error[CURL_ERROR_SIZE] = {};

  const std::string& url() const { return hop_url.empty() ? item->url : hop_url; }
};

// One host's lines and transfers. A host exists while it has work or a --rate-per-host wait, so
// a list of a million hosts does not leave a million entries.
struct Host {
  const std::string* name = nullptr;  // the key in Impl::hosts_
  std::unique_ptr<QueuedLine> head;   // lines waiting for a start, in list order
  QueuedLine* tail = nullptr;
  uint64_t queued = 0;  // lines in `head`'s chain: its place in Impl::line_ready_
  std::vector<std::unique_ptr<Transfer>> due;  // retries whose time has come
  int running = 0;
  int parked = 0;          // retries waiting for their time or in `due`
  uint64_t ready_seq = 0;  // while line_listed: its key in Impl::line_ready_ (with ready_queued)
  uint64_t ready_queued = 0;
  Clock::time_point next_start;  // --rate-per-host: no start before this
  double crawl_delay_s = 0;      // --robots: its robots.txt's Crawl-delay
  bool line_listed = false, retry_listed = false, timer_set = false;
  bool robots_wait = false;  // --robots: its head line's origin's robots.txt is being fetched
  // Ports a transfer to it has ended on, so libcurl's DNS cache (keyed by name and port) holds
  // name:port, or the name is known not to resolve: until then one transfer at a time to such a
  // port (`probing`), since libcurl 7.88 resolves once per transfer that finds the name
  // uncached, and --per-host transfers starting together to a new host would each look it up.
  // Transfers to its warm ports go on meanwhile. Usually one port.
  std::vector<int> warm_ports;
  bool probing = false;  // a transfer to a port not in warm_ports is running

  Host() = default;
  Host(Host&&) = default;
  ~Host() {  // one by one: a long chain must not free itself recursively
    while (head) head = std::move(head->next);
  }
};

// A host in line for a start, most queued lines first, then in the order they became ready. The
// host with the most lines left bounds the run (it never gets more than --per-host transfers at
// once), so it gets a free transfer slot first; one start per host in turn instead left the
// heaviest host of the WAN benchmark one transfer in flight while 300 light hosts took their
// turns, and then alone for the run's last seconds (bench/RESULTS-wan.md). A light host waits
// at most until the heavier queues are running at their share or drained to its size, and the
// read-ahead window bounds how many lines can queue ahead of it.
struct ReadyHost {
  uint64_t queued, seq;
  Host* host;
  bool operator<(const ReadyHost& o) const {
    return queued != o.queued ? queued > o.queued : seq < o.seq;
  }
};

// The X-Robots-Tag directive that opts the response now arriving out, or "" (also for a response
// that is not 2xx: a redirect hop is a transfer of its own, and an error is an error anyway).
std::string robots_opt_out(Transfer* t) {
  if (!t->disallowed) return "";
  long code = 0;
  curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &code);
  if (code < 200 || code >= 300) return "";
  // request -1: the last request of this transfer; headers of a 100-continue or of a proxy's
  // CONNECT are not the response's. Each header is judged as it is read: nothing is kept.
  curl_header* h = nullptr;
  for (size_t i = 0;
       curl_easy_header(t->easy, "X-Robots-Tag", i, CURLH_HEADER, -1, &h) == CURLHE_OK; ++i) {
    std::string directive = robots_tag_opt_out(h->value, *t->disallowed);
    if (!directive.empty() || i + 1 >= h->amount) return directive;
  }
  return "";
}

// The write callback. Nothing may be thrown through libcurl's C frames: a body that cannot grow
// fails the transfer instead. The body grows with the bytes that arrive; Content-Length only
// sizes the first allocation, capped at kBodyHint.
size_t on_body(char* data, size_t size, size_t count, void* user) noexcept {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * count;
  std::vector<uint8_t>& body = t->item->body;
  // Content-Length may be absent or lie; this check is the one that always holds.
  if (static_cast<int64_t>(body.size() + n) > t->max_bytes) {
    t->over_limit = true;
    return 0;  // makes curl fail the transfer with CURLE_WRITE_ERROR
  }
  try {
    if (body.empty()) {
      // Checked before the first byte is kept, so an opted-out body is never held in full.
      t->opted_out = robots_opt_out(t);
      if (!t->opted_out.empty()) return 0;
      curl_off_t announced = -1;
      curl_easy_getinfo(t->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &announced);
      if (announced > 0)
        body.reserve(static_cast<size_t>(std::min<curl_off_t>(announced, kBodyHint)));
    }
    body.insert(body.end(), data, data + n);
  } catch (...) {
    t->out_of_memory = true;
    return 0;
  }
  return n;
}

// CURLOPT_OPENSOCKETFUNCTION: the one place every connection starts, after DNS and for every
// redirect hop, so this is where --block-private looks at the real address.
curl_socket_t open_socket(void* user, curlsocktype, curl_sockaddr* address) noexcept {
  auto* t = static_cast<Transfer*>(user);
  try {
    IpAddress ip;
    if (t->allowed) {
      bool known = ip_of(&address->addr, &ip);
      bool exempt = known && std::any_of(t->allowed->begin(), t->allowed->end(),
                                         [&](const IpAddress& a) { return a.bytes == ip.bytes; });
      if (!known || (is_private(ip) && !exempt)) {
        t->blocked = known ? ip_text(ip) : "an address of an unknown family";
        return CURL_SOCKET_BAD;
      }
    }
  } catch (...) {
    t->socket_failed = true;
    return CURL_SOCKET_BAD;
  }
  return ::socket(address->family, address->socktype, address->protocol);
}

struct Verdict {
  Status status = Status::kOk;
  std::string error;
  bool transient = false;  // worth another attempt
  bool later = false;      // transient, but only in a later run (--resume), not after a backoff
};

Verdict classify_http(long code) {
  if (code >= 200 && code < 300) return {};
  bool transient = code == 408 || code == 429 || code >= 500;
  return {Status::kHttpError, "HTTP " + std::to_string(code), transient};
}

// libcurl 7.88 reports a response header line over its 100 KB limit (CURL_MAX_HTTP_HEADER) as
// CURLE_OUT_OF_MEMORY, with no message. A status line read and no body byte yet means it failed
// inside the headers: say that, not "out of memory".
Verdict classify_out_of_memory(const Transfer& t, long http_code) {
  if (http_code > 0 && t.item->body.empty())
    return {Status::kNetworkError,
            "a response header line is longer than libcurl accepts (100 KB)"};
  return {Status::kNetworkError,
          "out of memory in libcurl (or a response status line over 100 KB)"};
}

Verdict classify(CURLcode rc, Transfer& t, long http_code, bool retry_refused) {
  // A response with a body was judged by on_body before its first byte; one without, here.
  if (rc == CURLE_OK && t.item->body.empty() && http_code / 100 == 2)
    t.opted_out = robots_opt_out(&t);
  if (!t.opted_out.empty())
    return {Status::kOptedOut,
            "X-Robots-Tag says " + t.opted_out + " (see --disallowed-directives)", false};
  if (rc == CURLE_OK) return classify_http(http_code);
  if (!t.blocked.empty())
    return {Status::kBlockedAddress,
            "refused to connect to " + t.blocked + ": not a public address (--block-private)"};
  if (t.out_of_memory)
    return {Status::kTooLarge, "not enough memory for the body (" +
                                   std::to_string(t.item->body.size()) + " bytes so far)"};
  std::string detail = t.error[0] ? t.error : curl_easy_strerror(rc);
  switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
      return {Status::kTimeout, detail, true};
    case CURLE_FILESIZE_EXCEEDED:
      return {Status::kTooLarge, "body larger than --max-bytes", false};
    case CURLE_WRITE_ERROR:
      if (t.over_limit) return {Status::kTooLarge, "body larger than --max-bytes", false};
      return {Status::kNetworkError, detail, false};
    case CURLE_URL_MALFORMAT:  // what the parser let through but the transfer refused
      if (t.redirects > 0) return {Status::kNetworkError, "redirect to a bad URL: " + detail};
      return {Status::kInvalidUrl, detail, false};
    case CURLE_OUT_OF_MEMORY:
      return classify_out_of_memory(t, http_code);
    case CURLE_UNSUPPORTED_PROTOCOL:
      return {Status::kBlockedProtocol, detail, false};
    case CURLE_COULDNT_CONNECT:
      if (t.socket_failed) return {Status::kNetworkError, "out of memory checking the address"};
      // Refused or unreachable: a definite answer, which a second later is most likely the same
      // (curl retries it only with --retry-connrefused); a later run may find the host back.
      return {Status::kNetworkError, detail, true, !retry_refused};
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return {Status::kNetworkError, detail, true};
    default:  // DNS failures, TLS verification, malformed responses: retrying will not help
      return {Status::kNetworkError, detail, false};
  }
}

TransferTimings read_timings(CURL* easy) {
  curl_off_t dns = 0, connect = 0, tls = 0, first = 0, total = 0, connects = 0;
  curl_easy_getinfo(easy, CURLINFO_NAMELOOKUP_TIME_T, &dns);
  curl_easy_getinfo(easy, CURLINFO_CONNECT_TIME_T, &connect);
  curl_easy_getinfo(easy, CURLINFO_APPCONNECT_TIME_T, &tls);
  curl_easy_getinfo(easy, CURLINFO_STARTTRANSFER_TIME_T, &first);
  curl_easy_getinfo(easy, CURLINFO_TOTAL_TIME_T, &total);
  long n = 0, version = 0;
  curl_easy_getinfo(easy, CURLINFO_NUM_CONNECTS, &n);
  curl_easy_getinfo(easy, CURLINFO_HTTP_VERSION, &version);
  connects = n;
  // The *_TIME_T values are µs from the start, each including the ones before: subtract.
  TransferTimings t;
  t.dns_ms = dns / 1000.0;
  t.connect_ms = std::max<curl_off_t>(0, connect - dns) / 1000.0;
  t.tls_ms = tls > 0 ? std::max<curl_off_t>(0, tls - connect) / 1000.0 : 0;
  t.first_byte_ms = std::max<curl_off_t>(0, first - std::max(connect, tls)) / 1000.0;
  // No address at all: the transfer never reached a server (refused, not resolved), so it
  // neither reused a connection nor spent time on a body.
  char* ip = nullptr;
  curl_easy_getinfo(easy, CURLINFO_PRIMARY_IP, &ip);
  const bool connected = ip && *ip;
  t.body_ms = connected && first > 0 ? std::max<curl_off_t>(0, total - first) / 1000.0 : 0;
  t.reused_connection = connected && connects == 0;
  t.connections = static_cast<int>(connects);
  switch (version) {
    case CURL_HTTP_VERSION_1_0:
      t.http = HttpVersion::k1_0;
      break;
    case CURL_HTTP_VERSION_1_1:
      t.http = HttpVersion::k1_1;
      break;
    case CURL_HTTP_VERSION_2_0:
      t.http = HttpVersion::k2;
      break;
    case CURL_HTTP_VERSION_3:
      t.http = HttpVersion::k3;
      break;
    default:
      t.http = HttpVersion::kNone;
  }
  return t;
}

bool later_retry(const std::unique_ptr<Transfer>& a, const std::unique_ptr<Transfer>& b) {
  return a->retry_at > b->retry_at;
}
using RateTimer = std::pair<Clock::time_point, Host*>;
bool later_timer(const RateTimer& a, const RateTimer& b) { return a.first > b.first; }

// What finish() makes of a 3xx response.
enum class Hop { kNone, kFollowed, kRefused };

}  // namespace

class Downloader::Impl {
 public:
  Impl(const DownloadOptions& o, int max_in_flight)
      : opt_(o),
        max_in_flight_(max_in_flight),
        user_agent_(o.user_agent.empty() ? default_user_agent(o.contact) : o.user_agent),
        rng_(std::random_device{}()) {
    for (const std::string& a : o.allow_addresses) {
      IpAddress ip;
      if (parse_ip(a, &ip)) allowed_.push_back(ip);  // the CLI has checked each one
    }
    for (const std::string& d : o.disallowed_directives)
      if (!d.empty()) disallowed_.push_back(d);  // --disallowed-directives '' turns the check off
    // Sized once, so that moving a transfer between them never allocates (and so never throws
    // halfway, losing the item): at most `concurrency` run, at most max_in_flight are parked.
    slots_.resize(o.concurrency);
    free_slots_.reserve(o.concurrency);
    for (int s = o.concurrency - 1; s >= 0; --s) free_slots_.push_back(s);
    idle_easy_.reserve(o.concurrency);
    backoff_.reserve(max_in_flight);
    cap_ = std::min(o.concurrency, kStartingTransfers);
  }

  void run(const DownloadCallbacks& cb);
  void release_slot(const Item& item) {
    // Local files' bytes were read after they left (never counted); a download's were counted
    // by hand_on.
    if (item.local_path.empty()) backlog_bytes_.fetch_sub(static_cast<int64_t>(item.bytes_in));
    in_flight_.fetch_sub(1);
    wake();
  }
  int running() const { return running_count_.load(); }
  void wake() {
    std::lock_guard<std::mutex> lock(wake_mu_);
    if (multi_) curl_multi_wakeup(multi_);
  }

 private:
  void loop(const DownloadCallbacks& cb);
  bool all_done() const;
  void fill(const DownloadCallbacks& cb);
  bool read_line(const DownloadCallbacks& cb);
  void take_line();
  void hand_on_now(Status status, const std::string& why, std::string local_path = {});
  void enqueue(const LineUrl& url);
  void consider(Host* h, Clock::time_point now);
  void start_ready(const DownloadCallbacks& cb);
  void start_line(Host* h, const DownloadCallbacks& cb);
  void start_retry(Host* h, const DownloadCallbacks& cb);
  void launch(std::unique_ptr<Transfer> t, const DownloadCallbacks& cb);
  void configure(Transfer* t);
  void add_to_multi(Transfer* t);
  void fire_timers(Clock::time_point now);
  void watchdog(Clock::time_point now, const DownloadCallbacks& cb);
  void finish(CURLMsg* msg, const DownloadCallbacks& cb);
  Hop next_hop(Transfer* t, Verdict* v);
  void park(std::unique_ptr<Transfer> t);
  void ensure_idle_easy();
  static bool is_warm(const Host* h, int port) {
    return std::find(h->warm_ports.begin(), h->warm_ports.end(), port) != h->warm_ports.end();
  }
  // A new line may start to h: fewer than --per-host running, and no other transfer to a port
  // not yet warm running if its port is not warm either (the name is looked up once). Its
  // retries waiting out their backoff (which hold in-flight slots) count only against a second
  // --per-host, so a failing host holds at most twice that many in-flight slots: counted
  // against the first, refused lines waiting to retry left the WAN benchmark's heaviest host
  // 11-13 of its 16.
  bool line_may_start(const Host* h) const {
    return h->head && h->running < opt_.per_host && h->running + h->parked < 2 * opt_.per_host &&
           (!h->probing || is_warm(h, h->head->port));
  }
  // A due retry may start: its name:port is warm (its first attempt ended), so --per-host.
  bool retry_may_start(const Host* h) const {
    return !h->due.empty() && h->running < opt_.per_host;
  }
  void list_line(Host* h);
  Host* pop_line_ready();
  // A transfer ended: its name:port is warm from now on.
  static void warm(Transfer* t) {
    if (!is_warm(t->host, t->port)) t->host->warm_ports.push_back(t->port);
    if (t->probe) t->host->probing = t->probe = false;
  }
  bool refuse_unresolvable(Host* h, const DownloadCallbacks& cb);
  void note_unresolvable(const Transfer& t, CURLcode rc);
  bool robots_ready(Host* h, const DownloadCallbacks& cb);
  void fetch_robots(const std::string& origin, Host* h, const DownloadCallbacks& cb);
  void finish_robots(Transfer* t, CURLcode rc, Clock::time_point now);
  std::unique_ptr<Transfer> take_head(Host* h);
  void hand_on(std::unique_ptr<Transfer> t, const DownloadCallbacks& cb);
  double backoff_ms(int attempt, CURL* easy);
  int poll_timeout_ms() const;
  void fail_all(const std::string& why, const DownloadCallbacks& cb);
  void drop_all();

  const DownloadOptions opt_;
  const int max_in_flight_;
  const std::string user_agent_;  // --user-agent, or the default naming the --contact
  std::mt19937 rng_;

  std::atomic<int> in_flight_{0};          // started or handed on, not yet released by the consumer
  std::atomic<int> running_count_{0};      // transfers running now, for the progress line
  std::atomic<int64_t> backlog_bytes_{0};  // bodies handed on, not yet released
  int cap_ = 0;         // transfers that may run at once now: slow start toward concurrency
  std::mutex wake_mu_;  // lets release_slot() wake the poll without racing teardown
  CURLM* multi_ = nullptr;

  // Everything below belongs to the run() thread. Every item it holds is in exactly one of:
  // line_ (taken, not yet placed), handoff_, a host's queue or `due`, backoff_, or slots_.
  ListLine line_;
  bool line_taken_ = false;
  std::deque<std::shared_ptr<Item>> handoff_;  // invalid lines and local files, awaiting a slot
  std::unordered_map<std::string, Host> hosts_;
  std::set<ReadyHost> line_ready_;                  // hosts that can start a queued line now
  uint64_t ready_seq_ = 0;                          // ReadyHost::seq of the latest listed
  std::deque<Host*> retry_ready_;                   // hosts with a retry due (may be stale)
  std::vector<std::unique_ptr<Transfer>> backoff_;  // retries by time: a heap on later_retry
  std::vector<RateTimer> rate_timers_;              // --rate-per-host waits: a heap
  std::vector<std::unique_ptr<Transfer>> slots_;    // running transfers, by slot
  std::vector<int> free_slots_;                     // slot numbers not in use
  std::vector<CURL*> idle_easy_;                    // reused handles: at most `concurrency`
  int64_t window_bytes_ = 0;                        // queued lines' and handoff_'s share
  uint64_t queued_ = 0;                             // lines in host queues
  uint64_t parked_ = 0;                             // retries in backoff_ or a host's `due`
  curl_slist* headers_ = nullptr;                   // --header, built once
  curl_slist* resolve_ = nullptr;                   // --resolve, built once
  // TLS sessions, shared by every handle (the multi shares connections and DNS, not these), so a
  // handle's first connection to a host resumes the session another handle made: one full
  // handshake per host, not one per handle. Only the run() thread uses it: no locks.
  CURLSH* share_ = nullptr;
  std::vector<IpAddress> allowed_;       // --allow-address, parsed once
  std::vector<std::string> disallowed_;  // --disallowed-directives, none empty
  Clock::time_point next_watch_;         // when the watchdog looks at the running transfers again
  // --robots: each origin's rules, once fetched (bounded by kRobotsCacheBytes, oldest dropped
  // first), and the hosts waiting for an origin's fetch to end.
  struct RobotsEntry {
    RobotsRules rules;
    std::string unreachable;  // why, when the fetch got no answer or a 5xx: disallowed for now
  };
  std::unordered_map<std::string, RobotsEntry> robots_;
  std::deque<std::string> robots_order_;  // cache order, for dropping the oldest
  size_t robots_bytes_ = 0;
  std::unordered_map<std::string, std::vector<Host*>> robots_waiting_;
  // Host names that did not resolve in this run, with libcurl's message: their other lines fail
  // at once instead of asking DNS again (libcurl caches only answers). At most
  // kUnresolvableHosts (~100 B each), the oldest forgotten first.
  std::unordered_map<std::string, std::string> unresolvable_;
  std::deque<std::string> unresolvable_order_;
  bool list_done_ = false;
  bool lines_pending_ = false;  // a pass stopped reading with window room left: poll without sleep
};

void Downloader::Impl::run(const DownloadCallbacks& cb) {
  {
    std::lock_guard<std::mutex> lock(wake_mu_);
    multi_ = curl_multi_init();
  }
  try {
    if (!multi_) throw std::bad_alloc();
    // HTTP/2 multiplexing where the server offers it (over TLS); harmless otherwise.
    curl_multi_setopt(multi_, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
    for (const std::string& h : opt_.headers) headers_ = curl_slist_append(headers_, h.c_str());
    for (const std::string& r : opt_.resolve) resolve_ = curl_slist_append(resolve_, r.c_str());
    share_ = curl_share_init();
    if (!share_) throw std::bad_alloc();
    curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    loop(cb);
  } catch (const std::exception& e) {
    fail_all(std::string("the download thread failed: ") + e.what(), cb);
    drop_all();
    throw;
  } catch (...) {
    fail_all("the download thread failed", cb);
    drop_all();
    throw;
  }
  drop_all();
}

void Downloader::Impl::loop(const DownloadCallbacks& cb) {
  while (!cb.cancelled()) {
    fire_timers(Clock::now());
    watchdog(Clock::now(), cb);
    fill(cb);
    if (all_done()) break;
    int still = 0;
    curl_multi_perform(multi_, &still);
    int queued = 0;
    bool finished_any = false;
    while (CURLMsg* msg = curl_multi_info_read(multi_, &queued)) {
      if (msg->msg != CURLMSG_DONE) continue;
      finish(msg, cb);
      finished_any = true;
    }
    // A finished transfer frees a transfer slot: refill at once instead of sleeping in poll.
    if (!finished_any) curl_multi_poll(multi_, nullptr, 0, poll_timeout_ms(), nullptr);
  }
}

bool Downloader::Impl::all_done() const {
  return list_done_ && !lines_pending_ && queued_ == 0 && handoff_.empty() && parked_ == 0 &&
         running_count_.load() == 0;
}

// Starts what can start, and reads lines into the window while it has room, a bounded number
// per pass.
void Downloader::Impl::fill(const DownloadCallbacks& cb) {
  start_ready(cb);
  lines_pending_ = false;
  for (int n = 0; window_bytes_ < opt_.read_ahead_bytes && !list_done_; ++n) {
    if (n == kLinesPerPass) {
      lines_pending_ = true;
      break;
    }
    if (!read_line(cb)) break;
    start_ready(cb);
  }
}

// Takes one list line into the window: a URL into its host's queue, anything else into
// handoff_. False if there is no line to take now (the list ended, or the producer has not
// written the next one yet).
bool Downloader::Impl::read_line(const DownloadCallbacks& cb) {
  line_ = ListLine();
  NextLine next = cb.next_line(&line_);
  if (next != NextLine::kLine) {
    list_done_ = next == NextLine::kEnd;
    return false;
  }
  line_taken_ = true;
  take_line();
  return true;
}

void Downloader::Impl::take_line() {
  std::string why, path;
  LineUrl url;
  const bool local_files = opt_.allow_local && !opt_.block_private;
  if (!line_.error.empty()) {
    hand_on_now(Status::kInvalidInput, line_.error);
  } else if (line_.too_long) {
    hand_on_now(Status::kInvalidUrl, "line longer than 64 KiB");
  } else if (local_input_path(line_.text, &path, &why)) {
    // A local file: a processing worker reads it, so the disk never stalls this thread.
    if (why.empty() && !local_files)
      why = opt_.allow_local ? "local files are not read with --block-private"
                             : "local files are not read with --no-local";
    hand_on_now(why.empty() ? Status::kOk : Status::kInvalidUrl, why, std::move(path));
  } else if (!split_http_url(line_.text, &url, &why)) {
    hand_on_now(Status::kInvalidUrl, why);
  } else {
    enqueue(url);
  }
}

// An item that needs no transfer (a failed line, or a local file) waits in handoff_ for an
// in-flight slot.
void Downloader::Impl::hand_on_now(Status status, const std::string& why, std::string local_path) {
  std::string url = without_userinfo(line_.text);
  std::string error = why;
  handoff_.emplace_back();  // first, so that nothing below can fail with the line half moved
  auto item = std::make_shared<Item>();
  item->line = line_.number;
  item->url = std::move(url);
  item->input_fields = std::move(line_.extra);
  item->local_path = std::move(local_path);
  item->status = status;
  item->error = std::move(error);
  handoff_.back() = std::move(item);
  line_taken_ = false;
  window_bytes_ += sizeof(Item) + heap_bytes(handoff_.back()->url);
}

void Downloader::Impl::enqueue(const LineUrl& url) {
  auto q = std::make_unique<QueuedLine>();
  q->url = without_userinfo(line_.text);
  q->port = url.port;
  if (url.credentials) q->credentials.reset(new Credentials{url.user, url.password});
  q->bytes = sizeof(QueuedLine) + heap_bytes(q->url) + json_bytes(line_.extra) +
             (url.credentials ? sizeof(Credentials) + url.user.size() + url.password.size() : 0);
  auto [it, added] = hosts_.try_emplace(url.host);
  Host& h = it->second;
  if (added) h.name = &it->first;
  // Nothing below throws: the line moves into the queue whole.
  q->number = line_.number;
  q->extra = std::move(line_.extra);
  // A new host's first line also carries the host: its hosts_ node and its line_ready_ node.
  if (added) q->bytes += sizeof(Host) + 128 + heap_bytes(it->first);
  window_bytes_ += q->bytes;
  ++queued_;
  QueuedLine* raw = q.get();
  if (h.tail)
    h.tail->next = std::move(q);
  else
    h.head = std::move(q);
  h.tail = raw;
  ++h.queued;
  line_taken_ = false;
  if (h.line_listed) {  // its place moves up with its queue (the same node: no allocation)
    auto node = line_ready_.extract({h.ready_queued, h.ready_seq, &h});
    node.value().queued = h.ready_queued = h.queued;
    line_ready_.insert(std::move(node));
  }
  consider(&h, Clock::now());
}

// Puts a host on the ready lists it now belongs to, sets its rate timer, or forgets it when it
// has nothing left. Called whenever something about the host changed.
void Downloader::Impl::consider(Host* h, Clock::time_point now) {
  if (h->next_start > now) {  // --rate-per-host: come back when the wait is over
    if (!h->timer_set) {
      rate_timers_.emplace_back(h->next_start, h);
      std::push_heap(rate_timers_.begin(), rate_timers_.end(), later_timer);
      h->timer_set = true;
    }
    return;
  }
  if (retry_may_start(h) && !h->retry_listed) {
    retry_ready_.push_back(h);
    h->retry_listed = true;
  }
  if (line_may_start(h) && !h->line_listed && !h->robots_wait) {
    h->ready_seq = ++ready_seq_;
    list_line(h);
  }
  const bool idle = !h->head && h->due.empty() && h->running == 0 && h->parked == 0;
  if (idle && !h->line_listed && !h->retry_listed && !h->timer_set)
    hosts_.erase(hosts_.find(*h->name));
}

void Downloader::Impl::list_line(Host* h) {
  h->ready_queued = h->queued;
  line_ready_.insert({h->ready_queued, h->ready_seq, h});
  h->line_listed = true;
}

Host* Downloader::Impl::pop_line_ready() {
  Host* h = line_ready_.begin()->host;
  line_ready_.erase(line_ready_.begin());
  h->line_listed = false;
  return h;
}

// Hands on what waits for an in-flight slot, then starts transfers while there is room: retries
// first (they already hold a slot), then queued lines, the longest queue first (ReadyHost).
void Downloader::Impl::start_ready(const DownloadCallbacks& cb) {
  while (!handoff_.empty() && in_flight_.load() < max_in_flight_) {
    std::shared_ptr<Item> item = std::move(handoff_.front());
    handoff_.pop_front();
    if (!item) continue;  // a line that failed to arrive whole (out of memory while reading)
    window_bytes_ -= sizeof(Item) + heap_bytes(item->url);
    in_flight_.fetch_add(1);
    cb.done(std::move(item));
  }
  const auto now = Clock::now();
  while (!free_slots_.empty() && running_count_.load() < cap_) {
    const bool retry = !retry_ready_.empty();
    if (!retry && (line_ready_.empty() || in_flight_.load() >= max_in_flight_ ||
                   backlog_bytes_.load() >= opt_.backlog_bytes))
      break;
    Host* h = nullptr;
    if (retry) {
      h = retry_ready_.front();
      retry_ready_.pop_front();
      h->retry_listed = false;
    } else {
      h = pop_line_ready();
    }
    if (h->next_start <= now) {
      if (retry && retry_may_start(h))
        start_retry(h, cb);
      else if (!retry && line_may_start(h))
        start_line(h, cb);
    }
    consider(h, now);
  }
}

// Handles are made as the transfers running at once grow, never more than `concurrency`.
void Downloader::Impl::ensure_idle_easy() {
  if (!idle_easy_.empty()) return;
  CURL* easy = curl_easy_init();
  if (!easy) throw std::bad_alloc();
  idle_easy_.push_back(easy);  // reserved: at most `concurrency` handles exist
}

// The host's first queued line, out of its queue, as a transfer not yet started (holding an
// in-flight slot from here on).
std::unique_ptr<Transfer> Downloader::Impl::take_head(Host* h) {
  auto t = std::make_unique<Transfer>();
  t->item = std::make_shared<Item>();
  std::unique_ptr<QueuedLine> q = std::move(h->head);
  h->head = std::move(q->next);
  if (!h->head) h->tail = nullptr;
  --h->queued;
  window_bytes_ -= q->bytes;
  --queued_;
  Item& item = *t->item;
  item.line = q->number;
  item.url = std::move(q->url);
  item.input_fields = std::move(q->extra);
  t->credentials = std::move(q->credentials);
  t->host = h;
  t->port = q->port;
  t->max_bytes = opt_.max_bytes;
  in_flight_.fetch_add(1);
  return t;
}

void Downloader::Impl::start_line(Host* h, const DownloadCallbacks& cb) {
  ensure_idle_easy();  // what can fail comes first, while the line is still in its queue
  if (refuse_unresolvable(h, cb)) return;
  if (opt_.robots && !robots_ready(h, cb)) return;
  launch(take_head(h), cb);
}

// A line to a host whose name did not resolve earlier in the run ends as that lookup did,
// without another.
bool Downloader::Impl::refuse_unresolvable(Host* h, const DownloadCallbacks& cb) {
  if (unresolvable_.empty()) return false;
  const auto it = unresolvable_.find(*h->name);
  if (it == unresolvable_.end()) return false;
  std::unique_ptr<Transfer> t = take_head(h);
  t->item->fail(Status::kNetworkError, it->second + " (looked up once in this run)");
  hand_on(std::move(t), cb);
  return true;
}

// Remembers the line's host as not resolving, when that is how its transfer (not a redirect's)
// failed and no proxy did the resolving.
void Downloader::Impl::note_unresolvable(const Transfer& t, CURLcode rc) {
  if (rc != CURLE_COULDNT_RESOLVE_HOST || t.redirects > 0 || !opt_.proxy.empty()) return;
  if (!unresolvable_.emplace(*t.host->name, t.error[0] ? t.error : "Could not resolve host").second)
    return;
  unresolvable_order_.push_back(*t.host->name);
  if (unresolvable_order_.size() > kUnresolvableHosts) {
    unresolvable_.erase(unresolvable_order_.front());
    unresolvable_order_.pop_front();
  }
}

// --robots: whether the host's first line may start now. Its origin's robots.txt unknown: it is
// fetched (in the transfer slot this start would have used) and the host waits. Known and
// disallowing the URL: the line ends robots_disallowed here, unfetched.
bool Downloader::Impl::robots_ready(Host* h, const DownloadCallbacks& cb) {
  const std::string origin = origin_of(h->head->url);
  const auto it = robots_.find(origin);
  if (it == robots_.end()) {
    auto waiting = robots_waiting_.try_emplace(origin);
    waiting.first->second.push_back(h);
    h->robots_wait = true;
    if (waiting.second) fetch_robots(origin, h, cb);
    return false;
  }
  const RobotsEntry& robots = it->second;
  h->crawl_delay_s = robots.rules.crawl_delay();
  const std::string path = robots_path_of(h->head->url);
  if (robots.rules.allowed(path)) return true;
  std::unique_ptr<Transfer> t = take_head(h);
  if (!robots.unreachable.empty()) {
    t->item->fail(Status::kRobotsDisallowed, robots.unreachable);
    t->item->transient = true;  // the site may answer later
  } else {
    const std::string rule = robots.rules.deciding_rule(path);
    t->item->fail(Status::kRobotsDisallowed,
                  "robots.txt disallows it" + (rule.empty() ? "" : " (" + rule + ")"));
  }
  hand_on(std::move(t), cb);
  return false;
}

// One robots.txt fetch for `origin`, counted against the host that needs it. It holds a
// transfer slot but no in-flight slot: it never becomes a row.
void Downloader::Impl::fetch_robots(const std::string& origin, Host* h,
                                    const DownloadCallbacks& cb) {
  auto t = std::make_unique<Transfer>();
  t->item = std::make_shared<Item>();
  t->item->url = origin + "/robots.txt";
  t->robots_origin = origin;
  t->host = h;
  t->port = h->head->port;
  t->max_bytes = static_cast<int64_t>(kRobotsTxtMaxBytes);
  launch(std::move(t), cb);
}

// A robots.txt fetch ended (redirects followed): its rules go into the cache, and the hosts
// waiting for them are looked at again.
void Downloader::Impl::finish_robots(Transfer* t, CURLcode rc, Clock::time_point now) {
  long code = 0;
  curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &code);
  // A body over kRobotsTxtMaxBytes was cut there: what arrived is what RFC 9309 asks us to read.
  const bool answered = rc == CURLE_OK || (t->over_limit && code / 100 == 2);
  if (!answered) code = 0;
  RobotsEntry e;
  const std::string_view body(reinterpret_cast<const char*>(t->item->body.data()),
                              t->item->body.size());
  e.rules = RobotsRules::from_response(code, body);
  if (code == 0)
    e.unreachable = "robots.txt could not be fetched (" +
                    std::string(t->error[0] ? t->error : curl_easy_strerror(rc)) +
                    "): RFC 9309 says to fetch nothing meanwhile";
  else if (code >= 500 || code == 429)
    e.unreachable = "robots.txt answered HTTP " + std::to_string(code) +
                    ": RFC 9309 says to fetch nothing meanwhile";
  const std::string& origin = t->robots_origin;
  robots_bytes_ += e.rules.memory_bytes() + 2 * origin.size() + 64;
  robots_order_.push_back(origin);
  robots_[origin] = std::move(e);
  while (robots_bytes_ > kRobotsCacheBytes && robots_order_.size() > 1) {
    auto old = robots_.find(robots_order_.front());
    robots_bytes_ -= old->second.rules.memory_bytes() + 2 * old->first.size() + 64;
    robots_.erase(old);
    robots_order_.pop_front();
  }
  auto waiting = robots_waiting_.find(origin);
  if (waiting == robots_waiting_.end()) return;
  std::vector<Host*> hosts = std::move(waiting->second);
  robots_waiting_.erase(waiting);
  for (Host* w : hosts) {
    w->robots_wait = false;
    consider(w, now);
  }
}

void Downloader::Impl::start_retry(Host* h, const DownloadCallbacks& cb) {
  ensure_idle_easy();
  std::unique_ptr<Transfer> t = std::move(h->due.back());
  h->due.pop_back();
  --h->parked;
  --parked_;
  launch(std::move(t), cb);
}

// Starts one attempt. An easy handle is idle (ensure_idle_easy() made sure), so nothing here
// allocates before the transfer is in its slot.
void Downloader::Impl::launch(std::unique_ptr<Transfer> t, const DownloadCallbacks& cb) {
  t->easy = idle_easy_.back();
  idle_easy_.pop_back();
  t->slot = free_slots_.back();
  free_slots_.pop_back();
  t->item->body.clear();
  t->over_limit = t->out_of_memory = t->socket_failed = false;
  t->blocked.clear();
  t->hop_url.clear();
  t->redirects = 0;
  t->error[0] = 0;
  t->attempt_start = Clock::now();
  if (t->item->attempts++ == 0) t->item->started = t->attempt_start;
  Host& host = *t->host;
  ++host.running;
  if (!is_warm(&host, t->port)) host.probing = t->probe = true;
  const double gap_s = std::max(opt_.rate_per_host > 0 ? 1 / opt_.rate_per_host : 0.0,
                                host.crawl_delay_s);  // --rate-per-host, Crawl-delay
  if (gap_s > 0)
    host.next_start = t->attempt_start + std::chrono::duration_cast<Clock::duration>(
                                             std::chrono::duration<double>(gap_s));
  Transfer* raw = t.get();
  slots_[raw->slot] = std::move(t);
  ++running_count_;
  configure(raw);
  add_to_multi(raw);
  if (cb.attempt_started && raw->robots_origin.empty()) cb.attempt_started();
}

void Downloader::Impl::configure(Transfer* t) {
  CURL* e = t->easy;
  curl_easy_reset(e);  // keeps the connection cache, which lives in the multi handle
  curl_easy_setopt(e, CURLOPT_URL, t->url().c_str());
  curl_easy_setopt(e, CURLOPT_PRIVATE, t);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
  t->disallowed = disallowed_.empty() || !t->robots_origin.empty() ? nullptr : &disallowed_;
  // Up to 64 KB receive buffer, not curl's 16 KB: a quarter of the recv calls and write
  // callbacks (download-only run of the benchmark corpus, 172 MB: 0.29 → 0.26 CPU-s). It is
  // allocated per handle: receive_buffer() keeps them within 64 MiB together.
  curl_easy_setopt(e, CURLOPT_BUFFERSIZE, receive_buffer(opt_.concurrency));
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->error);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  // Redirects are followed by finish(), not by libcurl: libcurl 7.88 sends custom headers to
  // whatever host a redirect names, and --header must reach only the line's own origin.
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  // The attempt's time limit spans its redirects: each hop gets what is left.
  const double left_ms = opt_.timeout_s * 1000 - ms_since(t->attempt_start);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(std::max(1.0, left_ms)));
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(opt_.connect_timeout_s * 1000));
  curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, opt_.low_speed_bytes);
  curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, opt_.low_speed_s);
  curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(opt_.max_bytes));
  curl_easy_setopt(e, CURLOPT_USERAGENT, user_agent_.c_str());
  // No CURLOPT_PIPEWAIT: with it, a transfer waits ("pending") for a connection being set up to
  // the same host, to learn whether it can multiplex on it. When that connection is reset,
  // libcurl 7.88 never wakes the waiting transfers, and a pending transfer is not subject to
  // CURLOPT_TIMEOUT: an origin that resets connections hung imgpipe for good
  // (E2eTest.ThousandsOfLinesToAResettingOriginEachGetOneNetworkErrorRow; curl issue #13227).
  // Without it, HTTP/2 transfers still multiplex once a connection is known to allow it.
  const bool home = t->redirects == 0 || origin_of(t->hop_url) == t->origin;
  if (resolve_) curl_easy_setopt(e, CURLOPT_RESOLVE, resolve_);
  if (home && headers_) curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers_);
  if (home && t->credentials) {
    curl_easy_setopt(e, CURLOPT_USERNAME, t->credentials->user.c_str());
    curl_easy_setopt(e, CURLOPT_PASSWORD, t->credentials->password.c_str());
  }
  if (share_) curl_easy_setopt(e, CURLOPT_SHARE, share_);
  if (!opt_.cacert.empty()) curl_easy_setopt(e, CURLOPT_CAINFO, opt_.cacert.c_str());
  if (opt_.insecure) {
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (opt_.no_proxy) curl_easy_setopt(e, CURLOPT_PROXY, "");  // "" overrides the environment
  if (!opt_.proxy.empty()) curl_easy_setopt(e, CURLOPT_PROXY, opt_.proxy.c_str());
  if (opt_.block_private) {
    t->allowed = &allowed_;
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, open_socket);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, t);
  }
}

// A handle the multi refuses would never finish: fail the loop instead (the transfer is in its
// slot, so fail_all() still gives its item a row).
void Downloader::Impl::add_to_multi(Transfer* t) {
  if (curl_multi_add_handle(multi_, t->easy) != CURLM_OK)
    throw std::runtime_error("libcurl refused a transfer (curl_multi_add_handle)");
}

// Retries whose backoff is over join their host's `due`; hosts whose rate wait is over are
// looked at again.
void Downloader::Impl::fire_timers(Clock::time_point now) {
  while (!backoff_.empty() && backoff_.front()->retry_at <= now) {
    Host* h = backoff_.front()->host;
    h->due.emplace_back();  // may throw: done before the transfer leaves backoff_
    std::pop_heap(backoff_.begin(), backoff_.end(), later_retry);
    h->due.back() = std::move(backoff_.back());
    backoff_.pop_back();
    consider(h, now);
  }
  while (!rate_timers_.empty() && rate_timers_.front().first <= now) {
    Host* h = rate_timers_.front().second;
    std::pop_heap(rate_timers_.begin(), rate_timers_.end(), later_timer);
    rate_timers_.pop_back();
    h->timer_set = false;
    consider(h, now);
  }
}

// Fails, as timed out, every transfer running past --timeout plus the grace (see
// DownloadOptions::watchdog_grace_s), through finish() as if libcurl had said so. Once a second:
// a pass looks at every slot, and the poll wakes at least that often.
void Downloader::Impl::watchdog(Clock::time_point now, const DownloadCallbacks& cb) {
  if (now < next_watch_) return;
  next_watch_ = now + std::chrono::seconds(1);
  const auto limit = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(opt_.timeout_s + opt_.watchdog_grace_s));
  for (const std::unique_ptr<Transfer>& t : slots_) {
    if (!t || now - t->attempt_start <= limit) continue;
    std::snprintf(t->error, sizeof t->error,
                  "still running %.0f s after it started, past --timeout (%.0f s): stopped by "
                  "imgpipe's watchdog",
                  std::chrono::duration<double>(now - t->attempt_start).count(), opt_.timeout_s);
    CURLMsg msg{};
    msg.msg = CURLMSG_DONE;
    msg.easy_handle = t->easy;
    msg.data.result = CURLE_OPERATION_TIMEDOUT;
    finish(&msg, cb);  // moves the transfer out of its slot: `t` is empty after
  }
}

void Downloader::Impl::finish(CURLMsg* msg, const DownloadCallbacks& cb) {
  CURL* easy = msg->easy_handle;
  const CURLcode rc = msg->data.result;
  Transfer* raw = nullptr;
  curl_easy_getinfo(easy, CURLINFO_PRIVATE, reinterpret_cast<char**>(&raw));
  curl_multi_remove_handle(multi_, easy);
  Verdict v;
  const Hop hop = rc == CURLE_OK ? next_hop(raw, &v) : Hop::kNone;
  if (hop == Hop::kFollowed) return;  // the same attempt goes on, in the same slot
  if (!raw->robots_origin.empty()) {
    std::unique_ptr<Transfer> t = std::move(slots_[raw->slot]);
    warm(t.get());
    note_unresolvable(*t, rc);
    finish_robots(t.get(), rc, Clock::now());
    free_slots_.push_back(t->slot);
    --running_count_;
    --t->host->running;
    idle_easy_.push_back(easy);
    consider(t->host, Clock::now());
    return;
  }

  // The verdict first, while the transfer is still in its slot: should anything here fail, the
  // item is still where fail_all() finds it.
  Item& item = *raw->item;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &item.http_status);
  item.timings = read_timings(easy);
  if (hop == Hop::kNone) v = classify(rc, *raw, item.http_status, opt_.retry_refused);
  const bool retry = v.transient && !v.later && item.attempts <= opt_.retries;
  if (!retry && v.status == Status::kOk && item.body.empty())
    v = {Status::kNotAnImage, "empty body"};
  const auto end = Clock::now();
  if (retry)
    raw->retry_at =
        end + std::chrono::duration_cast<Clock::duration>(
                  std::chrono::duration<double, std::milli>(backoff_ms(item.attempts, easy)));
  if (cb.attempt_done) cb.attempt_done(raw->slot, item, v.status, raw->attempt_start, end);
  if (!retry && v.status != Status::kOk) {
    item.fail(v.status, std::move(v.error));
    item.transient = v.transient;  // retries used up: a later run may still succeed
  }

  // Out of its slot; nothing below allocates (the vectors are reserved) until it is parked or
  // handed on.
  std::unique_ptr<Transfer> t = std::move(slots_[raw->slot]);
  free_slots_.push_back(t->slot);
  --running_count_;
  Host* host = t->host;
  --host->running;
  warm(t.get());
  // Slow start: one more transfer at once for each that ends while the CPU stages keep up.
  if (backlog_bytes_.load() < opt_.backlog_bytes) cap_ = std::min(opt_.concurrency, cap_ + 1);
  note_unresolvable(*t, rc);
  t->busy_ms += std::chrono::duration<double, std::milli>(end - t->attempt_start).count();
  idle_easy_.push_back(easy);
  t->easy = nullptr;
  if (retry)
    park(std::move(t));
  else
    hand_on(std::move(t), cb);
  consider(host, Clock::now());
}

// A 3xx with a Location: follow it in the same attempt, if it is allowed. The line's headers and
// credentials go only to the line's origin (configure()); --block-private still judges every
// connection as it opens.
Hop Downloader::Impl::next_hop(Transfer* t, Verdict* v) {
  long code = 0;
  char* location = nullptr;
  curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &code);
  curl_easy_getinfo(t->easy, CURLINFO_REDIRECT_URL, &location);
  if (code < 300 || code > 399 || !location) return Hop::kNone;
  if (t->redirects >= opt_.max_redirects) {
    *v = {Status::kTooManyRedirects,
          "more than " + std::to_string(opt_.max_redirects) + " redirects"};
    return Hop::kRefused;
  }
  ParsedUrl target;
  if (!target.set(location, CURLU_NON_SUPPORT_SCHEME)) {
    *v = {Status::kNetworkError, "redirect to a URL that cannot be parsed"};
    return Hop::kRefused;
  }
  const std::string scheme = lower(target.get(CURLUPART_SCHEME));
  if (scheme != "http" && scheme != "https") {
    *v = {Status::kBlockedProtocol,
          "redirect to a " + scheme + ": URL refused: only http and https"};
    return Hop::kRefused;
  }
  if (t->origin.empty()) t->origin = origin_of(t->item->url);
  t->hop_url = location;
  ++t->redirects;
  t->item->body.clear();  // the 3xx response's own body
  t->over_limit = false;
  t->blocked.clear();
  t->error[0] = 0;
  configure(t);
  add_to_multi(t);
  return Hop::kFollowed;
}

// A transient failure: the transfer waits in backoff_, holding its in-flight slot and its share
// of the host, with no body.
void Downloader::Impl::park(std::unique_ptr<Transfer> t) {
  std::vector<uint8_t>().swap(t->item->body);
  ++t->host->parked;
  ++parked_;
  backoff_.push_back(std::move(t));  // reserved for max_in_flight: never reallocates
  std::push_heap(backoff_.begin(), backoff_.end(), later_retry);
}

// Exponential backoff with ±50% jitter, or the server's Retry-After if longer (capped).
double Downloader::Impl::backoff_ms(int attempt, CURL* easy) {
  std::uniform_real_distribution<double> jitter(0.5, 1.5);
  double ms = opt_.retry_backoff_s * 1000 * std::pow(2.0, attempt - 1) * jitter(rng_);
  curl_off_t retry_after = 0;
  curl_easy_getinfo(easy, CURLINFO_RETRY_AFTER, &retry_after);
  if (retry_after > 0)
    ms = std::max(ms, std::min<double>(retry_after, opt_.max_retry_after_s) * 1000);
  return ms;
}

void Downloader::Impl::hand_on(std::unique_ptr<Transfer> t, const DownloadCallbacks& cb) {
  Item& item = *t->item;
  item.bytes_in = item.body.size();
  item.stage_ms[static_cast<int>(Stage::kDownload)] = t->busy_ms;
  backlog_bytes_.fetch_add(static_cast<int64_t>(item.bytes_in));  // release_slot takes it off
  cb.done(std::move(t->item));
}

int Downloader::Impl::poll_timeout_ms() const {
  // Wake for the earliest retry or rate wait still in the future. Work that waits for a transfer
  // slot or an in-flight slot is woken by a transfer ending or by release_slot(), and new list
  // lines wake us too. The 1 s ceiling bounds how late we notice cancellation.
  if (lines_pending_) return 0;
  const auto now = Clock::now();
  auto next = now + std::chrono::seconds(1);
  if (!backoff_.empty()) next = std::min(next, backoff_.front()->retry_at);
  if (!rate_timers_.empty()) next = std::min(next, rate_timers_.front().first);
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(next - now).count();
  return static_cast<int>(std::clamp<int64_t>(ms, 0, 1000));
}

// The loop failed: every item still held becomes a failed row rather than vanishing. Best effort
// (memory may be short): an item that cannot even be made is skipped.
void Downloader::Impl::fail_all(const std::string& why, const DownloadCallbacks& cb) {
  auto give = [&](std::shared_ptr<Item> item, const std::string* url = nullptr, uint64_t line = 0) {
    try {
      if (!item) {
        item = std::make_shared<Item>();
        item->line = line;
        item->url = *url;
      }
      item->fail(Status::kProcessError, why);
      in_flight_.fetch_add(1);
      cb.done(std::move(item));
    } catch (...) {
    }
  };
  if (line_taken_) {
    std::string url = without_userinfo(line_.text);
    give(nullptr, &url, line_.number);
  }
  for (auto& item : handoff_)
    if (item) give(std::move(item));
  for (auto& t : slots_) {
    if (!t) continue;
    curl_multi_remove_handle(multi_, t->easy);
    if (!t->robots_origin.empty()) continue;  // a robots.txt fetch: no line of the list
    try {
      if (cb.attempt_done)
        cb.attempt_done(t->slot, *t->item, Status::kProcessError, t->attempt_start, Clock::now());
    } catch (...) {
    }
    give(std::move(t->item));
  }
  for (auto& t : backoff_) give(std::move(t->item));
  for (auto& [name, host] : hosts_) {
    for (auto& t : host.due)
      if (t) give(std::move(t->item));
    for (QueuedLine* q = host.head.get(); q; q = q->next.get()) give(nullptr, &q->url, q->number);
  }
}

// Tears everything down; items still here are abandoned (only on cancellation).
void Downloader::Impl::drop_all() {
  std::lock_guard<std::mutex> lock(wake_mu_);
  for (auto& t : slots_) {
    if (!t) continue;
    if (multi_) curl_multi_remove_handle(multi_, t->easy);
    curl_easy_cleanup(t->easy);
    t.reset();
  }
  for (CURL* e : idle_easy_) curl_easy_cleanup(e);
  idle_easy_.clear();
  handoff_.clear();
  backoff_.clear();
  line_ready_.clear();
  retry_ready_.clear();
  hosts_.clear();
  if (multi_) curl_multi_cleanup(multi_);
  multi_ = nullptr;
  curl_slist_free_all(headers_);
  headers_ = nullptr;
  curl_slist_free_all(resolve_);
  resolve_ = nullptr;
  curl_share_cleanup(share_);  // after the handles that used it
  share_ = nullptr;
}

Downloader::Downloader(const DownloadOptions& options, int max_in_flight)
    : impl_(std::make_unique<Impl>(options, max_in_flight)) {}
Downloader::~Downloader() = default;
void Downloader::run(const DownloadCallbacks& callbacks) { impl_->run(callbacks); }
void Downloader::release_slot(const Item& item) { impl_->release_slot(item); }
void Downloader::wake() { impl_->wake(); }
int Downloader::running() const { return impl_->running(); }

}  // namespace imgpipe

// The curl-multi download loop: refill, poll, finish, retry (after curl's 10-at-a-time.c).
#include "stages/download.h"

#include <curl/curl.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <deque>
#include <mutex>
#include <random>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "stages/local.h"
#include "stages/netguard.h"

namespace imgpipe {

bool parse_http_url(const std::string& url, std::string* host, std::string* why) {
  CURLU* u = curl_url();
  char* scheme = nullptr;
  char* h = nullptr;
  bool ok = false;
  if (!u) {
    *why = "out of memory";
  } else if (curl_url_set(u, CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) {
    *why = "not a valid URL";
  } else if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
             (std::string(scheme) != "http" && std::string(scheme) != "https")) {
    *why = "only http:// and https:// URLs are fetched";
  } else if (curl_url_get(u, CURLUPART_HOST, &h, 0) != CURLUE_OK || !*h) {
    *why = "URL has no host";
  } else {
    *host = h;
    std::transform(host->begin(), host->end(), host->begin(), ::tolower);
    ok = true;
  }
  curl_free(scheme);
  curl_free(h);
  curl_url_cleanup(u);
  return ok;
}

namespace {

constexpr long kReceiveBuffer = 64 * 1024;  // bytes per handle; see configure()

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

// One item's transfer state; lives from its line being read until it is handed on.
struct Transfer {
  std::shared_ptr<Item> item;
  std::string host;
  CURL* easy = nullptr;
  Clock::time_point attempt_start;
  Clock::time_point retry_at;  // when a scheduled retry may start
  int slot = -1;               // which of the `concurrency` transfer slots it runs in (for traces)
  // --block-private: the exempt addresses (null when not blocking), and the address refused.
  const std::vector<IpAddress>* allowed = nullptr;
  std::string blocked;
  double busy_ms = 0;       // summed over attempts, backoff excluded
  bool over_limit = false;  // the write callback refused the body as too large
  int64_t max_bytes = 0;
  char error[CURL_ERROR_SIZE] = {};
};

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t n = size * count;
  std::vector<uint8_t>& body = t->item->body;
  // Content-Length may be absent or lie; this check is the one that always holds.
  if (static_cast<int64_t>(body.size() + n) > t->max_bytes) {
    t->over_limit = true;
    return 0;  // makes curl fail the transfer with CURLE_WRITE_ERROR
  }
  if (body.empty()) {
    curl_off_t announced = -1;
    curl_easy_getinfo(t->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &announced);
    if (announced > 0)
      body.reserve(static_cast<size_t>(std::min<curl_off_t>(announced, t->max_bytes)));
  }
  body.insert(body.end(), data, data + n);
  return n;
}

// CURLOPT_OPENSOCKETFUNCTION: the one place every connection starts, after DNS and for every
// redirect hop, so this is where --block-private looks at the real address.
curl_socket_t open_socket(void* user, curlsocktype, curl_sockaddr* address) {
  auto* t = static_cast<Transfer*>(user);
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
  return ::socket(address->family, address->socktype, address->protocol);
}

struct Verdict {
  Status status = Status::kOk;
  std::string error;
  bool transient = false;  // worth another attempt
};

Verdict classify_http(long code) {
  if (code >= 200 && code < 300) return {};
  bool transient = code == 408 || code == 429 || code >= 500;
  return {Status::kHttpError, "HTTP " + std::to_string(code), transient};
}

Verdict classify(CURLcode rc, const Transfer& t, long http_code) {
  if (rc == CURLE_OK) return classify_http(http_code);
  if (!t.blocked.empty())
    return {Status::kBlockedAddress,
            "refused to connect to " + t.blocked + ": not a public address (--block-private)"};
  std::string detail = t.error[0] ? t.error : curl_easy_strerror(rc);
  switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
      return {Status::kTimeout, detail, true};
    case CURLE_FILESIZE_EXCEEDED:
      return {Status::kTooLarge, "body larger than --max-bytes", false};
    case CURLE_WRITE_ERROR:
      if (t.over_limit) return {Status::kTooLarge, "body larger than --max-bytes", false};
      return {Status::kNetworkError, detail, false};
    case CURLE_TOO_MANY_REDIRECTS:
      return {Status::kTooManyRedirects, detail, false};
    case CURLE_UNSUPPORTED_PROTOCOL:
      return {Status::kBlockedProtocol, detail, false};
    case CURLE_COULDNT_CONNECT:
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
  long n = 0;
  curl_easy_getinfo(easy, CURLINFO_NUM_CONNECTS, &n);
  connects = n;
  // The *_TIME_T values are µs from the start, each including the ones before: subtract.
  TransferTimings t;
  t.dns_ms = dns / 1000.0;
  t.connect_ms = std::max<curl_off_t>(0, connect - dns) / 1000.0;
  t.tls_ms = tls > 0 ? std::max<curl_off_t>(0, tls - connect) / 1000.0 : 0;
  t.first_byte_ms = std::max<curl_off_t>(0, first - std::max(connect, tls)) / 1000.0;
  t.body_ms = std::max<curl_off_t>(0, total - first) / 1000.0;
  t.reused_connection = connects == 0;
  return t;
}

}  // namespace

class Downloader::Impl {
 public:
  Impl(const DownloadOptions& o, int max_in_flight)
      : opt_(o), max_in_flight_(max_in_flight), rng_(std::random_device{}()) {
    for (const std::string& a : o.allow_addresses) {
      IpAddress ip;
      if (parse_ip(a, &ip)) allowed_.push_back(ip);  // the CLI has checked each one
    }
  }

  void run(const DownloadCallbacks& cb);
  void release_slot() {
    in_flight_.fetch_sub(1);
    wake();
  }
  int running() const { return running_count_.load(); }
  void wake() {
    std::lock_guard<std::mutex> lock(wake_mu_);
    if (multi_) curl_multi_wakeup(multi_);
  }

 private:
  bool read_line(const DownloadCallbacks& cb);
  void start_ready(const DownloadCallbacks& cb);
  void start(std::unique_ptr<Transfer> t, const DownloadCallbacks& cb);
  void configure(Transfer* t);
  void finish(CURLMsg* msg, const DownloadCallbacks& cb);
  void hand_on(std::unique_ptr<Transfer> t, const DownloadCallbacks& cb);
  double backoff_ms(int attempt, CURL* easy);
  int poll_timeout_ms() const;
  void drop_all();

  const DownloadOptions opt_;
  const int max_in_flight_;
  std::mt19937 rng_;

  std::atomic<int> in_flight_{0};      // lines read and not yet released by the consumer
  std::atomic<int> running_count_{0};  // transfers running now, for the progress line
  std::mutex wake_mu_;                 // lets release_slot() wake the poll without racing teardown
  CURLM* multi_ = nullptr;

  // Everything below belongs to the run() thread.
  std::vector<CURL*> idle_easy_;                   // reused handles: at most `concurrency`
  std::deque<std::unique_ptr<Transfer>> waiting_;  // read, waiting for a host or retry slot
  // Per host with a transfer running or a --rate-per-host wait pending; dropped when neither,
  // so a list of a million hosts does not leave a million entries.
  struct Host {
    int running = 0;
    Clock::time_point next_start;  // --rate-per-host: no start before this
  };
  std::unordered_map<std::string, Host> hosts_;
  std::vector<int> free_slots_;            // slot numbers not in use, for traces
  curl_slist* headers_ = nullptr;          // --header, built once, shared by every transfer
  std::vector<IpAddress> allowed_;         // --allow-address, parsed once
  std::unordered_set<Transfer*> running_;  // added to the multi handle; owned here
  bool list_done_ = false;
};

void Downloader::Impl::run(const DownloadCallbacks& cb) {
  {
    std::lock_guard<std::mutex> lock(wake_mu_);
    multi_ = curl_multi_init();
  }
  // HTTP/2 multiplexing where the server offers it (over TLS); harmless otherwise.
  curl_multi_setopt(multi_, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
  for (const std::string& h : opt_.headers) headers_ = curl_slist_append(headers_, h.c_str());
  while (!cb.cancelled()) {
    start_ready(cb);
    while (static_cast<int>(running_.size()) < opt_.concurrency &&
           in_flight_.load() < max_in_flight_ && read_line(cb)) {
      start_ready(cb);
    }
    if (list_done_ && running_.empty() && waiting_.empty()) break;
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
  drop_all();
}

// Takes one list line into waiting_, or hands an invalid one straight on. False if there is no
// line to take now (the list ended, or the producer has not written the next one yet).
bool Downloader::Impl::read_line(const DownloadCallbacks& cb) {
  if (list_done_) return false;
  ListLine line;
  NextLine next = cb.next_line(&line);
  if (next != NextLine::kLine) {
    list_done_ = next == NextLine::kEnd;
    return false;
  }
  auto t = std::make_unique<Transfer>();
  t->item = std::make_shared<Item>();
  t->item->line = line.number;
  t->item->url = std::move(line.text);
  t->item->input_fields = std::move(line.extra);
  t->max_bytes = opt_.max_bytes;
  in_flight_.fetch_add(1);
  Item& item = *t->item;
  std::string why;
  if (!line.error.empty()) {
    item.fail(Status::kInvalidInput, line.error);
  } else if (line.too_long) {
    item.fail(Status::kInvalidUrl, "line longer than 64 KiB");
  } else if (local_input_path(item.url, &item.local_path, &why)) {
    // A local file: a processing worker reads it, so the disk never stalls this thread.
    if (!opt_.allow_local) why = "local files are not read with --no-local";
    if (!why.empty()) item.fail(Status::kInvalidUrl, why);
  } else if (!parse_http_url(item.url, &t->host, &why)) {
    item.fail(Status::kInvalidUrl, why);
  }
  if (!item.ok() || !item.local_path.empty()) {
    hand_on(std::move(t), cb);
  } else {
    t->retry_at = Clock::now();
    waiting_.push_back(std::move(t));
  }
  return true;
}

// Starts every waiting transfer whose retry time has come and whose host has room, in order.
void Downloader::Impl::start_ready(const DownloadCallbacks& cb) {
  auto now = Clock::now();
  for (auto h = hosts_.begin(); h != hosts_.end();)  // idle, and past any rate wait
    h = h->second.running == 0 && h->second.next_start <= now ? hosts_.erase(h) : std::next(h);
  for (auto it = waiting_.begin();
       it != waiting_.end() && static_cast<int>(running_.size()) < opt_.concurrency;) {
    Transfer& t = **it;
    auto host = hosts_.find(t.host);
    const bool room = host == hosts_.end() ||
                      (host->second.running < opt_.per_host && host->second.next_start <= now);
    if (t.retry_at <= now && room) {
      start(std::move(*it), cb);
      it = waiting_.erase(it);
    } else {
      ++it;
    }
  }
}

void Downloader::Impl::start(std::unique_ptr<Transfer> t, const DownloadCallbacks& cb) {
  if (idle_easy_.empty()) idle_easy_.push_back(curl_easy_init());
  t->easy = idle_easy_.back();
  idle_easy_.pop_back();
  configure(t.get());
  t->item->body.clear();
  t->over_limit = false;
  t->blocked.clear();
  t->error[0] = 0;
  t->attempt_start = Clock::now();
  if (t->item->attempts++ == 0) t->item->started = t->attempt_start;
  Host& host = hosts_[t->host];
  ++host.running;
  if (opt_.rate_per_host > 0)
    host.next_start = t->attempt_start + std::chrono::duration_cast<Clock::duration>(
                                             std::chrono::duration<double>(1 / opt_.rate_per_host));
  t->slot = free_slots_.empty() ? static_cast<int>(running_.size()) : free_slots_.back();
  if (!free_slots_.empty()) free_slots_.pop_back();
  ++running_count_;
  if (cb.attempt_started) cb.attempt_started();
  curl_multi_add_handle(multi_, t->easy);
  running_.insert(t.release());  // back to a unique_ptr in finish()
}

void Downloader::Impl::configure(Transfer* t) {
  CURL* e = t->easy;
  curl_easy_reset(e);  // keeps the connection cache, which lives in the multi handle
  curl_easy_setopt(e, CURLOPT_URL, t->item->url.c_str());
  curl_easy_setopt(e, CURLOPT_PRIVATE, t);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
  // 64 KB receive buffer, not curl's 16 KB: a quarter of the recv calls and write callbacks
  // (download-only run of the benchmark corpus, 172 MB: 0.29 → 0.26 CPU-s). It is allocated per
  // handle, so memory stays concurrency × 64 KB (4 MB at the default, 64 MB at the most).
  curl_easy_setopt(e, CURLOPT_BUFFERSIZE, kReceiveBuffer);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->error);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(e, CURLOPT_MAXREDIRS, static_cast<long>(opt_.max_redirects));
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(opt_.timeout_s * 1000));
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(opt_.connect_timeout_s * 1000));
  curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, opt_.low_speed_bytes);
  curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, opt_.low_speed_s);
  curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(opt_.max_bytes));
  curl_easy_setopt(e, CURLOPT_USERAGENT, opt_.user_agent.c_str());
  // No CURLOPT_PIPEWAIT: with it, a transfer waits ("pending") for a connection being set up to
  // the same host, to learn whether it can multiplex on it. When that connection is reset,
  // libcurl 7.88 never wakes the waiting transfers, and a pending transfer is not subject to
  // CURLOPT_TIMEOUT: an origin that resets connections hung imgpipe for good
  // (E2eTest.ThousandsOfLinesToAResettingOriginEachGetOneNetworkErrorRow; curl issue #13227).
  // Without it, HTTP/2 transfers still multiplex once a connection is known to allow it.
  if (headers_) curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers_);
  if (opt_.block_private) {
    t->allowed = &allowed_;
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, open_socket);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, t);
  }
}

void Downloader::Impl::finish(CURLMsg* msg, const DownloadCallbacks& cb) {
  CURL* easy = msg->easy_handle;
  CURLcode rc = msg->data.result;
  Transfer* raw = nullptr;
  curl_easy_getinfo(easy, CURLINFO_PRIVATE, reinterpret_cast<char**>(&raw));
  std::unique_ptr<Transfer> t(raw);
  running_.erase(raw);
  curl_multi_remove_handle(multi_, easy);
  auto host = hosts_.find(t->host);
  if (--host->second.running == 0 && host->second.next_start <= Clock::now()) hosts_.erase(host);
  free_slots_.push_back(t->slot);
  --running_count_;
  t->busy_ms += ms_since(t->attempt_start);
  if (cb.attempt_done) cb.attempt_done(t->slot, *t->item, t->attempt_start, Clock::now());

  Item& item = *t->item;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &item.http_status);
  item.timings = read_timings(easy);
  Verdict v = classify(rc, *t, item.http_status);
  bool retry = v.transient && item.attempts <= opt_.retries;
  if (retry) {
    auto wait = std::chrono::duration<double, std::milli>(backoff_ms(item.attempts, easy));
    t->retry_at = Clock::now() + std::chrono::duration_cast<Clock::duration>(wait);
  }
  idle_easy_.push_back(easy);
  if (retry) {
    waiting_.push_back(std::move(t));  // keeps its in-flight slot while it waits
    return;
  }
  if (v.status != Status::kOk) item.fail(v.status, v.error);
  if (item.ok() && item.body.empty()) item.fail(Status::kNotAnImage, "empty body");
  hand_on(std::move(t), cb);
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
  cb.done(std::move(t->item));
}

int Downloader::Impl::poll_timeout_ms() const {
  // Wake for the earliest retry still in the future. Items whose time has come but whose host (or
  // the transfer budget) is full wait for a transfer to end, which wakes the poll anyway: counting
  // them here would make the timeout 0 and spin a core. release_slot() and new list lines wake us
  // too. The 1 s ceiling bounds how late we notice cancellation.
  const auto now = Clock::now();
  auto next = now + std::chrono::seconds(1);
  for (const auto& t : waiting_)
    if (t->retry_at > now) next = std::min(next, t->retry_at);
  for (const auto& [name, host] : hosts_)  // --rate-per-host: the next allowed start
    if (host.next_start > now) next = std::min(next, host.next_start);
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(next - now).count();
  return static_cast<int>(std::clamp<int64_t>(ms, 0, 1000));
}

// Tears everything down; items still here are abandoned (only on cancellation).
void Downloader::Impl::drop_all() {
  std::lock_guard<std::mutex> lock(wake_mu_);
  for (Transfer* t : running_) {
    curl_multi_remove_handle(multi_, t->easy);
    curl_easy_cleanup(t->easy);
    delete t;
  }
  running_.clear();
  for (CURL* e : idle_easy_) curl_easy_cleanup(e);
  idle_easy_.clear();
  waiting_.clear();
  curl_multi_cleanup(multi_);
  multi_ = nullptr;
  curl_slist_free_all(headers_);
  headers_ = nullptr;
}

Downloader::Downloader(const DownloadOptions& options, int max_in_flight)
    : impl_(std::make_unique<Impl>(options, max_in_flight)) {}
Downloader::~Downloader() = default;
void Downloader::run(const DownloadCallbacks& callbacks) { impl_->run(callbacks); }
void Downloader::release_slot() { impl_->release_slot(); }
void Downloader::wake() { impl_->wake(); }
int Downloader::running() const { return impl_->running(); }

}  // namespace imgpipe

// Tests for the download stage against a real loopback HTTP server: statuses, retries, limits,
// redirects, and the in-flight bound.
#include "stages/download.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include "fixtures/fixture_server.h"

namespace imgpipe {
namespace {

using Items = std::vector<std::shared_ptr<Item>>;

DownloadOptions fast_options() {
  DownloadOptions o;
  o.retry_backoff_s = 0.01;  // keep retry tests quick; Retry-After still applies
  o.timeout_s = 5;
  return o;
}

// The time each line's transfer started and its row arrived, by URL.
struct Timeline {
  std::map<std::string, Clock::time_point> started, done;
  Clock::time_point t0 = Clock::now();
  double s(Clock::time_point t) const { return std::chrono::duration<double>(t - t0).count(); }
};

// Runs the downloader over `urls` as fetch() does, and says when each line started and ended.
Timeline fetch_timeline(const std::vector<std::string>& urls, const DownloadOptions& o,
                        Items* items) {
  Timeline tl;
  Downloader d(o, o.concurrency + 4);
  size_t next = 0;
  DownloadCallbacks cb;
  cb.next_line = [&](ListLine* line) {
    if (next == urls.size()) return NextLine::kEnd;
    line->number = next + 1;
    line->text = urls[next++];
    return NextLine::kLine;
  };
  cb.done = [&](std::shared_ptr<Item> item) {
    tl.started[item->url] = item->started;
    tl.done[item->url] = Clock::now();
    d.release_slot(*item);
    items->push_back(std::move(item));
  };
  cb.cancelled = [] { return false; };
  d.run(cb);
  return tl;
}

// Runs the downloader over `urls`, releasing each slot as soon as the item arrives.
Items fetch(const std::vector<std::string>& urls, const DownloadOptions& o) {
  Items out;
  fetch_timeline(urls, o, &out);
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a->line < b->line; });
  return out;
}

Item fetch_one(const std::string& url, const DownloadOptions& o = fast_options()) {
  Items items = fetch({url}, o);
  EXPECT_EQ(items.size(), 1u);
  return std::move(*items.at(0));
}

class DownloadTest : public ::testing::Test {
 protected:
  fixtures::FixtureServer server_;
};

TEST(ParseHttpUrl, AcceptsHttpAndHttpsOnly) {
  std::string host, why;
  EXPECT_TRUE(parse_http_url("http://Example.COM/a.jpg", &host, &why));
  EXPECT_EQ(host, "example.com");
  EXPECT_TRUE(parse_http_url("https://127.0.0.1:8080/x?y=1", &host, &why));
  EXPECT_EQ(host, "127.0.0.1");
  for (const char* bad : {"", "not a url", "ftp://host/x", "file:///etc/passwd", "gopher://h/",
                          "http://", "//host/x", "javascript:alert(1)"})
    EXPECT_FALSE(parse_http_url(bad, &host, &why)) << bad;
}

// What libcurl's parser accepts but its transfer refuses is an invalid URL, with the reason:
// any byte above 0x7F in the host name (libcurl converts names in the C locale), and port 0.
TEST(ParseHttpUrl, RefusesWhatTheTransferWouldRefuse) {
  std::string host, why;
  EXPECT_FALSE(parse_http_url("http://\xff\xfe.example/x.jpg", &host, &why));
  EXPECT_NE(why.find("UTF-8"), std::string::npos) << why;
  EXPECT_FALSE(
      parse_http_url("http://b\xc3\xbc"
                     "cher.example/x.jpg",
                     &host, &why));
  EXPECT_NE(why.find("xn--"), std::string::npos) << why;
  EXPECT_FALSE(parse_http_url("http://127.0.0.1:0/x.jpg", &host, &why));
  EXPECT_TRUE(parse_http_url("http://xn--bcher-kva.example/x.jpg", &host, &why));
  EXPECT_TRUE(
      parse_http_url("http://h.example/caf\xc3\xa9.jpg", &host, &why));  // path bytes go as sent
}

TEST_F(DownloadTest, IllegalHostBytesAreAnInvalidUrlNotANetworkError) {
  const std::string port = std::to_string(server_.port());
  Items items = fetch({"http://\xff.localhost:" + port + "/image/8x8.jpg",
                       "http://b\xc3\xbc"
                       "cher.localhost:" +
                           port + "/image/8x8.jpg"},
                      fast_options());
  ASSERT_EQ(items.size(), 2u);
  for (const auto& item : items) {
    EXPECT_EQ(item->status, Status::kInvalidUrl) << item->error;
    EXPECT_EQ(item->attempts, 0);
  }
}

TEST_F(DownloadTest, ImageArrivesWithBodyAndTimings) {
  Item item = fetch_one(server_.url("/image/64x48.jpg"));
  ASSERT_TRUE(item.ok()) << item.error;
  EXPECT_EQ(item.http_status, 200);
  EXPECT_EQ(item.attempts, 1);
  EXPECT_GT(item.body.size(), 100u);
  EXPECT_EQ(item.bytes_in, item.body.size());
  EXPECT_GT(item.stage_ms[static_cast<int>(Stage::kDownload)], 0);
}

TEST_F(DownloadTest, ClientErrorIsNotRetried) {
  Item item = fetch_one(server_.url("/status/404"));
  EXPECT_EQ(item.status, Status::kHttpError);
  EXPECT_EQ(item.http_status, 404);
  EXPECT_EQ(item.attempts, 1);
  EXPECT_EQ(server_.hits("/status/404"), 1);
}

TEST_F(DownloadTest, ServerErrorIsRetriedThenReported) {
  Item item = fetch_one(server_.url("/status/500"));
  EXPECT_EQ(item.status, Status::kHttpError);
  EXPECT_EQ(item.http_status, 500);
  EXPECT_EQ(item.attempts, 3);  // 1 + --retries 2
  EXPECT_EQ(server_.hits("/status/500"), 3);
}

TEST_F(DownloadTest, FlakyServerSucceedsAfterRetryAfter) {
  auto start = Clock::now();
  Item item = fetch_one(server_.url("/flaky/a/2"));
  double s = std::chrono::duration<double>(Clock::now() - start).count();
  ASSERT_TRUE(item.ok()) << item.error;
  EXPECT_EQ(item.attempts, 3);
  EXPECT_GE(s, 1.9) << "Retry-After: 1 was not honoured";
}

TEST_F(DownloadTest, RetryAfterIsCapped) {
  DownloadOptions o = fast_options();
  o.max_retry_after_s = 0.05;
  auto start = Clock::now();
  Item item = fetch_one(server_.url("/flaky/b/1"), o);
  ASSERT_TRUE(item.ok()) << item.error;
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - start).count(), 0.9);
}

TEST_F(DownloadTest, NoRetriesWhenZero) {
  DownloadOptions o = fast_options();
  o.retries = 0;
  Item item = fetch_one(server_.url("/flaky/c/1"), o);
  EXPECT_EQ(item.status, Status::kHttpError);
  EXPECT_EQ(item.http_status, 503);
  EXPECT_EQ(item.attempts, 1);
}

TEST_F(DownloadTest, Redirects) {
  EXPECT_TRUE(fetch_one(server_.url("/redirect/4")).ok());
  EXPECT_EQ(fetch_one(server_.url("/redirect/7")).status, Status::kTooManyRedirects);
  EXPECT_EQ(fetch_one(server_.url("/loop")).status, Status::kTooManyRedirects);
}

TEST_F(DownloadTest, RedirectToOtherProtocolsIsBlocked) {
  for (const char* target : {"file:///etc/passwd", "gopher://127.0.0.1/", "ftp://127.0.0.1/x"}) {
    Item item = fetch_one(server_.url(std::string("/redirect-to?u=") + target));
    EXPECT_EQ(item.status, Status::kBlockedProtocol) << target << ": " << item.error;
    EXPECT_TRUE(item.body.empty());
  }
}

TEST_F(DownloadTest, BodyCapHoldsWithAndWithoutContentLength) {
  DownloadOptions o = fast_options();
  o.max_bytes = 100'000;
  EXPECT_EQ(fetch_one(server_.url("/big/100001"), o).status, Status::kTooLarge);
  Item chunked = fetch_one(server_.url("/big-chunked/5000000"), o);
  EXPECT_EQ(chunked.status, Status::kTooLarge);
  EXPECT_LE(chunked.body.size(), 100'000u);
  EXPECT_TRUE(fetch_one(server_.url("/big/100000"), o).ok());
  EXPECT_TRUE(fetch_one(server_.url("/big-chunked/100000"), o).ok());
}

TEST_F(DownloadTest, StalledResponseTimesOut) {
  DownloadOptions o = fast_options();
  o.timeout_s = 1;
  o.retries = 0;
  auto start = Clock::now();
  EXPECT_EQ(fetch_one(server_.url("/stall"), o).status, Status::kTimeout);
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - start).count(), 3);
}

// The watchdog stands in for libcurl's timeout should libcurl forget a transfer. A grace below
// zero makes it fire first here (after 1 s, where libcurl would wait 10), as it would for a
// transfer libcurl never times out.
TEST_F(DownloadTest, TheWatchdogFailsATransferLibcurlDoesNotEnd) {
  DownloadOptions o = fast_options();
  o.timeout_s = 10;
  o.watchdog_grace_s = -9;
  o.retries = 0;
  auto start = Clock::now();
  Item item = fetch_one(server_.url("/stall"), o);
  EXPECT_EQ(item.status, Status::kTimeout);
  EXPECT_NE(item.error.find("watchdog"), std::string::npos) << item.error;
  EXPECT_TRUE(item.transient);
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - start).count(), 5);
}

TEST_F(DownloadTest, TruncatedBodyIsANetworkError) {
  DownloadOptions o = fast_options();
  o.retries = 0;
  EXPECT_EQ(fetch_one(server_.url("/truncated.jpg"), o).status, Status::kNetworkError);
}

TEST_F(DownloadTest, EmptyBodyIsNotAnImage) {
  EXPECT_EQ(fetch_one(server_.url("/empty")).status, Status::kNotAnImage);
}

// A refused connection is retryable in a later run, and retried in this one only when asked
// (curl's --retry-connrefused).
TEST(Download, ConnectionRefusedIsANetworkError) {
  int port;
  {
    fixtures::FixtureServer gone;  // a port that was free a moment ago and is closed now
    port = gone.port();
  }
  DownloadOptions o = fast_options();
  o.retries = 1;
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/x.jpg";
  Item once = fetch_one(url, o);
  EXPECT_EQ(once.status, Status::kNetworkError);
  EXPECT_EQ(once.attempts, 1);
  EXPECT_TRUE(once.transient);
  o.retry_refused = true;
  Item item = fetch_one(url, o);
  EXPECT_EQ(item.status, Status::kNetworkError);
  EXPECT_EQ(item.attempts, 2);
  EXPECT_TRUE(item.transient);
  // It never reached a server: no connection to have reused, no body time.
  EXPECT_FALSE(item.timings.reused_connection);
  EXPECT_EQ(item.timings.connections, 0);
  EXPECT_EQ(item.timings.body_ms, 0);
}

TEST_F(DownloadTest, InvalidLinesBecomeItemsWithoutTransfers) {
  Items items = fetch({"http://", server_.url("/image/8x8.png"), "ftp://x/y"}, fast_options());
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[0]->status, Status::kInvalidUrl);
  EXPECT_EQ(items[0]->attempts, 0);
  EXPECT_TRUE(items[1]->ok());
  EXPECT_EQ(items[2]->status, Status::kInvalidUrl);
}

TEST_F(DownloadTest, NoLocalRefusesPathsAndFileUrls) {
  DownloadOptions o = fast_options();
  o.allow_local = false;
  Items items = fetch({"photos/a.jpg", "file:///etc/passwd", server_.url("/image/8x8.png")}, o);
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[0]->status, Status::kInvalidUrl);
  EXPECT_EQ(items[1]->status, Status::kInvalidUrl);
  EXPECT_NE(items[1]->error.find("--no-local"), std::string::npos);
  EXPECT_TRUE(items[2]->ok());
}

// Paths and file:// URLs are handed on untouched for a worker to read: no transfer, no wait.
TEST_F(DownloadTest, LocalFilesAreHandedOnWithTheirPath) {
  Items items =
      fetch({"photos/a b.jpg", "file:///tmp/x%20y.png", "file://otherhost/z.png"}, fast_options());
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[0]->local_path, "photos/a b.jpg");
  EXPECT_EQ(items[1]->local_path, "/tmp/x y.png");
  EXPECT_EQ(items[2]->status, Status::kInvalidUrl);  // another host's file is not ours to read
  for (const auto& item : items) EXPECT_EQ(item->attempts, 0);
  EXPECT_TRUE(items[0]->ok() && items[1]->ok());
}

// A consumer that holds items: the downloader must start or hand on nothing more once
// max_in_flight are out, invalid lines and local files (which need no transfer) included.
TEST_F(DownloadTest, NeverMoreThanMaxInFlightOutstanding) {
  DownloadOptions o = fast_options();
  o.concurrency = 8;
  const int max_in_flight = 5;
  Downloader d(o, max_in_flight);
  std::vector<std::string> urls(40, server_.url("/image/16x16.jpg"));
  for (size_t i = 0; i < urls.size(); i += 3) urls[i] = i % 2 ? "not a url" : "photos/a.jpg";
  size_t next = 0;
  std::atomic<int> held{0}, max_held{0}, delivered{0};
  std::atomic<bool> finished{false};
  std::mutex mu;
  std::deque<std::shared_ptr<Item>> holding;  // guarded by mu
  std::thread releaser([&] {                  // a slow consumer: frees one slot every 5 ms
    while (!finished || held > 0) {
      std::shared_ptr<Item> item;
      {
        std::lock_guard<std::mutex> lock(mu);
        if (!holding.empty()) {
          item = holding.front();
          holding.pop_front();
        }
      }
      if (item) {
        --held;
        d.release_slot(*item);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
  DownloadCallbacks cb;
  cb.next_line = [&](ListLine* line) {
    if (next == urls.size()) return NextLine::kEnd;
    line->number = ++next;
    line->text = urls[next - 1];
    return NextLine::kLine;
  };
  cb.done = [&](std::shared_ptr<Item> item) {
    {
      std::lock_guard<std::mutex> lock(mu);
      holding.push_back(item);
    }
    int h = ++held;
    max_held = std::max(max_held.load(), h);
    ++delivered;
  };
  cb.cancelled = [] { return false; };
  d.run(cb);
  finished = true;
  releaser.join();
  EXPECT_EQ(delivered, 40);
  EXPECT_LE(max_held, max_in_flight);
  EXPECT_GE(max_held, 2) << "the consumer was never behind: the test did not exercise the bound";
}

// A host that accepts connections and never answers: a dead origin, as seen from here. It
// counts the connections open at once (one closes when the client gives up on it).
class SilentServer {
 public:
  SilentServer() {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), len) != 0 ||
        ::listen(listen_fd_, 1024) != 0 ||
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0)
      throw std::runtime_error("SilentServer: cannot listen");
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~SilentServer() {
    stop_ = true;
    thread_.join();
    ::close(listen_fd_);
  }
  int port() const { return port_; }
  int peak() const { return peak_; }

 private:
  void serve() {
    std::vector<pollfd> fds = {{listen_fd_, POLLIN, 0}};
    while (!stop_) {
      if (::poll(fds.data(), fds.size(), 20) <= 0) continue;
      for (size_t i = fds.size(); i-- > 1;) {  // closes first: a client hangs up, then reconnects
        char buf[4096];
        if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        if (::recv(fds[i].fd, buf, sizeof buf, MSG_DONTWAIT) > 0) continue;  // a request: ignored
        ::close(fds[i].fd);
        fds.erase(fds.begin() + i);
      }
      if (fds[0].revents & POLLIN) {
        int c = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (c >= 0) fds.push_back({c, POLLIN, 0});
      }
      peak_ = std::max<int>(peak_, static_cast<int>(fds.size()) - 1);
    }
    for (size_t i = 1; i < fds.size(); ++i) ::close(fds[i].fd);
  }

  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> peak_{0};
  std::thread thread_;
};

// Lines to a dead host wait in their host's queue, not in the global budget: the healthy lines
// after a thousand dead ones all finish long before the dead host's timeouts, and the dead host
// never gets more than its --per-host connections.
TEST(Download, ADeadHostUsesOnlyItsShareAndStallsNoOtherHost) {
  SilentServer dead;
  fixtures::FixtureServer healthy;
  DownloadOptions o = fast_options();
  o.timeout_s = o.connect_timeout_s = 30;
  o.per_host = 4;
  o.concurrency = 16;
  o.retries = 0;
  std::vector<std::string> urls;
  const std::string dead_base = "http://localhost:" + std::to_string(dead.port()) + "/";
  for (int i = 0; i < 1000; ++i) urls.push_back(dead_base + std::to_string(i) + ".jpg");
  for (int i = 0; i < 50; ++i) {
    urls.push_back(healthy.url("/image/" + std::to_string(10 + i) + "x10.jpg"));
    urls.push_back(dead_base + "late" + std::to_string(i) + ".jpg");  // interleaved too
  }
  Downloader d(o, o.concurrency + 4);
  size_t next = 0;
  int healthy_ok = 0;
  const auto start = Clock::now();
  double last_healthy_s = -1;
  DownloadCallbacks cb;
  cb.next_line = [&](ListLine* line) {
    if (next == urls.size()) return NextLine::kEnd;
    line->number = next + 1;
    line->text = urls[next++];
    return NextLine::kLine;
  };
  cb.done = [&](std::shared_ptr<Item> item) {
    if (item->url.find("/image/") != std::string::npos && item->ok() && ++healthy_ok == 50)
      last_healthy_s = std::chrono::duration<double>(Clock::now() - start).count();
    d.release_slot(*item);
  };
  cb.cancelled = [&] {
    return healthy_ok == 50 || Clock::now() - start > std::chrono::seconds(10);
  };
  d.run(cb);
  EXPECT_EQ(healthy_ok, 50) << "the healthy host's lines waited behind the dead host's";
  EXPECT_GE(last_healthy_s, 0);
  EXPECT_LT(last_healthy_s, 5);
  EXPECT_LE(dead.peak(), 4) << "the dead host got more than --per-host connections";
  EXPECT_GE(dead.peak(), 1) << "the dead host was never tried: the test proved nothing";
}

// --rate-per-host spaces the starts to each host, and one host's wait holds up no other host:
// two hosts at 5 starts/s each finish together, in about the time of one.
TEST_F(DownloadTest, RatePerHostSpacesEachHostOnItsOwn) {
  DownloadOptions o = fast_options();
  o.rate_per_host = 5;
  const std::string port = std::to_string(server_.port());
  std::vector<std::string> urls;
  for (int i = 0; i < 5; ++i) {
    urls.push_back(server_.url("/image/" + std::to_string(10 + i) + "x10.jpg"));
    urls.push_back("http://localhost:" + port + "/image/" + std::to_string(20 + i) + "x10.jpg");
  }
  const auto start = Clock::now();
  Items items = fetch(urls, o);
  const double wall = std::chrono::duration<double>(Clock::now() - start).count();
  ASSERT_EQ(items.size(), 10u);
  std::map<bool, std::vector<Clock::time_point>> starts;  // by host: localhost or not
  for (const auto& item : items) {
    EXPECT_TRUE(item->ok()) << item->error;
    starts[item->url.find("localhost") != std::string::npos].push_back(item->started);
  }
  for (auto& [local, times] : starts) {
    std::sort(times.begin(), times.end());
    for (size_t i = 1; i < times.size(); ++i)
      EXPECT_GE(std::chrono::duration<double>(times[i] - times[i - 1]).count(), 0.19)
          << (local ? "localhost" : "127.0.0.1") << " start " << i;
  }
  EXPECT_GE(wall, 0.79);
  EXPECT_LT(wall, 1.5) << "the hosts waited for each other";
}

// The host with the most queued lines gets a free transfer slot first: it bounds the run, since it
// never gets more than --per-host at once. Here one heavy host's 40 lines come after 64 light
// hosts' single lines, with 8 transfers at once: the heavy host runs its 4 while light lines are
// still waiting. Taking the hosts in turn, it got its first start only after every light line.
TEST(Download, TheHostWithTheMostQueuedLinesStartsFirst) {
  fixtures::FixtureServer server({0, /*latency_ms=*/100, 0});
  DownloadOptions o = fast_options();
  o.concurrency = 8;
  o.per_host = 4;
  const std::string port = std::to_string(server.port());
  std::vector<std::string> light, heavy;
  for (int i = 0; i < 64; ++i) {
    const std::string name = "light" + std::to_string(i) + ".test";
    o.resolve.push_back(name + ":" + port + ":127.0.0.1");
    light.push_back("http://" + name + ":" + port + "/image/12x" + std::to_string(10 + i) + ".jpg");
  }
  o.resolve.push_back("heavy.test:" + port + ":127.0.0.1");
  for (int i = 0; i < 40; ++i)
    heavy.push_back("http://heavy.test:" + port + "/image/10x" + std::to_string(10 + i) + ".jpg");
  std::vector<std::string> urls = light;
  urls.insert(urls.end(), heavy.begin(), heavy.end());
  Items items;
  Timeline tl = fetch_timeline(urls, o, &items);
  ASSERT_EQ(items.size(), urls.size());
  for (const auto& item : items) EXPECT_TRUE(item->ok()) << item->url << ": " << item->error;
  std::vector<Clock::time_point> heavy_starts;
  for (const auto& u : heavy) heavy_starts.push_back(tl.started[u]);
  std::sort(heavy_starts.begin(), heavy_starts.end());
  Clock::time_point last_light{};
  for (const auto& u : light) last_light = std::max(last_light, tl.started[u]);
  EXPECT_LT(tl.s(heavy_starts[4]), tl.s(last_light))
      << "the heavy host did not get its --per-host share while light lines waited";
  // And never more than its share: the intervals [start, row) of its lines overlap at most 4.
  int most = 0;
  for (const auto& u : heavy) {
    int at_once = 0;
    for (const auto& v : heavy)
      at_once += tl.started[v] <= tl.started[u] && tl.done[v] > tl.started[u];
    most = std::max(most, at_once);
  }
  EXPECT_LE(most, 4);
}

// Retries waiting out their backoff do not take the places of running transfers: a host's
// refused lines (another port of the same name) wait to retry while its good lines run at
// --per-host. Counted against the share, they held the good lines back until they ended.
TEST(Download, RetriesWaitingForTheirTimeLeaveTheHostsShareToItsOtherLines) {
  fixtures::FixtureServer server({0, /*latency_ms=*/100, 0});
  int closed;
  {
    fixtures::FixtureServer gone;
    closed = gone.port();
  }
  DownloadOptions o = fast_options();
  o.concurrency = 16;
  o.per_host = 4;
  o.retries = 1;
  o.retry_refused = true;
  o.retry_backoff_s = 2;  // the retry comes 1-3 s after the refusal
  const std::string port = std::to_string(server.port()), shut = std::to_string(closed);
  o.resolve = {"h.test:" + port + ":127.0.0.1", "h.test:" + shut + ":127.0.0.1"};
  std::vector<std::string> refused, good;
  for (int i = 0; i < 4; ++i) refused.push_back("http://h.test:" + shut + "/" + std::to_string(i));
  for (int i = 0; i < 20; ++i)
    good.push_back("http://h.test:" + port + "/image/10x" + std::to_string(10 + i) + ".jpg");
  std::vector<std::string> urls = refused;
  urls.insert(urls.end(), good.begin(), good.end());
  Items items;
  Timeline tl = fetch_timeline(urls, o, &items);
  ASSERT_EQ(items.size(), urls.size());
  Clock::time_point last_good{}, first_refused = Clock::time_point::max();
  for (const auto& item : items) {
    if (item->url.find(":" + shut + "/") != std::string::npos) {
      EXPECT_EQ(item->status, Status::kNetworkError);
      EXPECT_EQ(item->attempts, 2) << "the refused line was not retried: the test proved nothing";
      first_refused = std::min(first_refused, tl.done[item->url]);
    } else {
      EXPECT_TRUE(item->ok()) << item->url << ": " << item->error;
      last_good = std::max(last_good, tl.done[item->url]);
    }
  }
  EXPECT_LT(tl.s(last_good), tl.s(first_refused)) << "the good lines waited for the retries";
  EXPECT_LE(server.peak_concurrent(), 4) << "more than --per-host transfers to the host at once";
}

// One transfer at a time to a name:port not yet used (so the name is looked up once), but
// transfers to the host's other, warm ports do not hold it back: here the line to a second port
// starts while the first port's lines still run. Counted against the whole host, it waited for
// all of them.
TEST(Download, ANewPortOfAHostDoesNotWaitForItsWarmPortsTransfers) {
  fixtures::FixtureServer slow({0, /*latency_ms=*/200, 0});
  fixtures::FixtureServer other;
  DownloadOptions o = fast_options();
  o.per_host = 4;
  const std::string a = std::to_string(slow.port()), b = std::to_string(other.port());
  o.resolve = {"h.test:" + a + ":127.0.0.1", "h.test:" + b + ":127.0.0.1"};
  std::vector<std::string> urls;
  for (int i = 0; i < 8; ++i)
    urls.push_back("http://h.test:" + a + "/image/10x" + std::to_string(10 + i) + ".jpg");
  const std::string second_port = "http://h.test:" + b + "/image/20x20.jpg";
  urls.push_back(second_port);
  Items items;
  Timeline tl = fetch_timeline(urls, o, &items);
  ASSERT_EQ(items.size(), urls.size());
  Clock::time_point last_slow{};
  for (const auto& item : items) {
    EXPECT_TRUE(item->ok()) << item->url << ": " << item->error;
    if (item->url != second_port) last_slow = std::max(last_slow, tl.done[item->url]);
  }
  EXPECT_LT(tl.s(tl.started[second_port]), tl.s(last_slow))
      << "the second port's line waited for the first port's transfers to end";
}

// Bodies handed on and not released are the backlog: past backlog_bytes no new line starts, so a
// consumer that falls behind holds a bounded amount, whatever --concurrency and max_in_flight
// allow. Here one byte: the first body (a new host gets one transfer until it ends) stops it.
TEST_F(DownloadTest, NoNewTransferStartsWhileTheBacklogIsFull) {
  DownloadOptions o = fast_options();
  o.concurrency = 16;
  o.per_host = 16;
  o.backlog_bytes = 1;
  Downloader d(o, 100);
  std::vector<std::shared_ptr<Item>> held;
  int next = 0;
  DownloadCallbacks cb;
  cb.next_line = [&](ListLine* line) {
    if (next == 20) return NextLine::kEnd;
    line->number = ++next;
    line->text = server_.url("/image/" + std::to_string(20 + next) + "x20.jpg");
    return NextLine::kLine;
  };
  cb.done = [&](std::shared_ptr<Item> item) { held.push_back(item); };  // never released
  const auto start = Clock::now();
  cb.cancelled = [&] { return Clock::now() - start > std::chrono::milliseconds(800); };
  d.run(cb);
  ASSERT_EQ(held.size(), 1u) << "nothing starts while the backlog is full";
  EXPECT_TRUE(held[0]->ok()) << held[0]->error;
}

// The read-ahead window is bounded in bytes: a consumer that holds everything stops the reading
// after about read_ahead_bytes of lines, however long the list.
TEST_F(DownloadTest, ReadAheadStopsAtItsByteBound) {
  DownloadOptions o = fast_options();
  o.read_ahead_bytes = 64 * 1024;
  Downloader d(o, 2);
  std::atomic<uint64_t> taken{0};
  std::atomic<int> delivered{0};
  const std::string url = server_.url("/image/8x8.jpg");
  DownloadCallbacks cb;
  cb.next_line = [&](ListLine* line) {
    line->number = ++taken;  // an endless list
    line->text = url;
    return NextLine::kLine;
  };
  std::atomic<int64_t> second_at{0};      // when the second item came (steady clock ticks)
  cb.done = [&](std::shared_ptr<Item>) {  // never released
    if (++delivered == 2) second_at = Clock::now().time_since_epoch().count();
  };
  // Stop 300 ms after the second item (time for a third, were the bound broken), or after 10 s
  // (a sanitizer build on a loaded machine can take seconds for two transfers).
  const auto start = Clock::now();
  cb.cancelled = [&] {
    const auto now = Clock::now();
    const int64_t second = second_at;
    return now - start > std::chrono::seconds(10) ||
           (second != 0 &&
            now.time_since_epoch().count() - second >
                std::chrono::duration_cast<Clock::duration>(std::chrono::milliseconds(300))
                    .count());
  };
  d.run(cb);
  EXPECT_EQ(delivered, 2) << "max_in_flight is 2";
  EXPECT_GT(taken, 100u) << "lines should be read ahead";
  EXPECT_LT(taken, 64u * 1024 / 50) << "each queued line costs more than 50 bytes";
}

// If the loop itself fails (here the list source runs out of memory at line 30), every line it
// had taken still reaches `done` exactly once, failed, and run() rethrows.
TEST_F(DownloadTest, AFailingLoopHandsEveryLineItTookOn) {
  DownloadOptions o = fast_options();
  o.per_host = 4;  // some transfers running, the rest queued behind them
  Downloader d(o, o.concurrency + 4);
  int next = 0;
  std::map<uint64_t, int> seen;
  DownloadCallbacks cb;
  cb.next_line = [&](ListLine* line) {
    if (++next == 30) throw std::bad_alloc();
    line->number = next;
    line->text = next % 10 == 0 ? "not a url" : server_.url("/stall");
    return NextLine::kLine;
  };
  cb.done = [&](std::shared_ptr<Item> item) {
    ++seen[item->line];
    d.release_slot(*item);
  };
  cb.cancelled = [] { return false; };
  EXPECT_THROW(d.run(cb), std::bad_alloc);
  ASSERT_EQ(seen.size(), 29u);
  for (const auto& [line, times] : seen) EXPECT_EQ(times, 1) << "line " << line;
}

TEST(WithoutUserinfo, RemovesWhateverPrecedesTheHost) {
  EXPECT_EQ(without_userinfo("http://u:p@h/x"), "http://h/x");
  EXPECT_EQ(without_userinfo("https://u@h:1/x?y@z"), "https://h:1/x?y@z");
  EXPECT_EQ(without_userinfo("http://a@b@h/x#f@g"), "http://h/x#f@g");
  EXPECT_EQ(without_userinfo("http://u:p@"), "http://");
  EXPECT_EQ(without_userinfo("http://h/x@y"), "http://h/x@y");
  EXPECT_EQ(without_userinfo("photos/a@b.jpg"), "photos/a@b.jpg");
}

// The URL's user:password is used for the line's own host and kept out of Item::url, which every
// output (manifest, trace, --name url) records.
TEST_F(DownloadTest, UserinfoIsUsedButNotRecorded) {
  const std::string rest = std::to_string(server_.port()) +
                           "/need-header/Authorization/Basic%20aW1ncGlwZTpwQHNzIHcwcmQh/8x8.jpg";
  Item item = fetch_one("http://imgpipe:p%40ss%20w0rd%21@127.0.0.1:" + rest);
  EXPECT_TRUE(item.ok()) << item.error;
  EXPECT_EQ(item.url, "http://127.0.0.1:" + rest);
}

// --header and the URL's credentials go to the line's origin only: a redirect to another port (or
// host) gets neither, a redirect within the origin keeps them.
TEST_F(DownloadTest, HeadersAndCredentialsStayWithTheLinesOrigin) {
  fixtures::FixtureServer other;
  DownloadOptions o = fast_options();
  o.headers = {"X-Token: s3cret"};
  const std::string need = "/need-header/X-Token/s3cret/8x8.jpg";
  Item same = fetch_one(server_.url("/redirect-to?u=" + server_.url(need)), o);
  EXPECT_TRUE(same.ok()) << same.error;
  Item away = fetch_one(server_.url("/redirect-to?u=" + other.url(need)), o);
  EXPECT_EQ(away.status, Status::kHttpError) << away.error;
  EXPECT_EQ(away.http_status, 403);
  ASSERT_EQ(other.hits(need), 1);
  EXPECT_EQ(other.last_headers(need).count("x-token"), 0u) << "the token went to another origin";

  // %2520: the query value decodes to %20, the space of "Basic ...".
  const std::string auth = "/need-header/Authorization/Basic%2520aW1ncGlwZTpwQHNzIHcwcmQh/8x8.jpg";
  const std::string creds = "http://imgpipe:p%40ss%20w0rd%21@127.0.0.1:";
  Item creds_away =
      fetch_one(creds + std::to_string(server_.port()) + "/redirect-to?u=" + other.url(auth), o);
  EXPECT_EQ(creds_away.http_status, 403) << creds_away.error;
  const auto sent =
      other.last_headers("/need-header/Authorization/Basic aW1ncGlwZTpwQHNzIHcwcmQh/8x8.jpg");
  EXPECT_FALSE(sent.empty()) << "the redirect never reached the other origin";
  EXPECT_EQ(sent.count("authorization"), 0u) << "the password went to another origin";
}

// Redirects are followed by imgpipe itself: the limit, http/https only, and a loop all still hold.
TEST_F(DownloadTest, RedirectLimitCountsHops) {
  DownloadOptions o = fast_options();
  o.max_redirects = 2;
  EXPECT_TRUE(fetch_one(server_.url("/redirect/1"), o).ok());  // two hops
  Item three = fetch_one(server_.url("/redirect/2"), o);
  EXPECT_EQ(three.status, Status::kTooManyRedirects) << three.error;
  EXPECT_EQ(three.attempts, 1);
}

TEST_F(DownloadTest, BlockPrivateRefusesLocalFilesToo) {
  DownloadOptions o = fast_options();
  o.block_private = true;
  Items items = fetch({"photos/a.jpg", "file:///etc/passwd"}, o);
  ASSERT_EQ(items.size(), 2u);
  for (const auto& item : items) {
    EXPECT_EQ(item->status, Status::kInvalidUrl) << item->url;
    EXPECT_NE(item->error.find("--block-private"), std::string::npos) << item->error;
    EXPECT_TRUE(item->body.empty());
  }
}

// libcurl 7.88 reports a header line over its limit as "out of memory"; the row says what it was.
TEST_F(DownloadTest, AnOverlongResponseHeaderIsReportedAsSuch) {
  Item item = fetch_one(server_.url("/long-header/1048576"));
  EXPECT_EQ(item.status, Status::kNetworkError);
  EXPECT_NE(item.error.find("header"), std::string::npos) << item.error;
  EXPECT_EQ(item.error.find("Out of memory"), std::string::npos) << item.error;
  EXPECT_EQ(item.attempts, 1);
}

}  // namespace
}  // namespace imgpipe

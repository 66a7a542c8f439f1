// Tests for the download stage against a real loopback HTTP server: statuses, retries, limits,
// redirects, and the in-flight bound.
#include "stages/download.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
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

// Runs the downloader over `urls`, releasing each slot as soon as the item arrives.
Items fetch(const std::vector<std::string>& urls, const DownloadOptions& o) {
  Downloader d(o, o.concurrency + 4);
  size_t next = 0;
  Items out;
  DownloadCallbacks cb;
  cb.next_line = [&](ListLine* line) {
    if (next == urls.size()) return NextLine::kEnd;
    line->number = next + 1;
    line->text = urls[next++];
    line->too_long = false;
    return NextLine::kLine;
  };
  cb.done = [&](std::shared_ptr<Item> item) {
    out.push_back(std::move(item));
    d.release_slot();
  };
  cb.cancelled = [] { return false; };
  d.run(cb);
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

TEST_F(DownloadTest, TruncatedBodyIsANetworkError) {
  DownloadOptions o = fast_options();
  o.retries = 0;
  EXPECT_EQ(fetch_one(server_.url("/truncated.jpg"), o).status, Status::kNetworkError);
}

TEST_F(DownloadTest, EmptyBodyIsNotAnImage) {
  EXPECT_EQ(fetch_one(server_.url("/empty")).status, Status::kNotAnImage);
}

TEST(Download, ConnectionRefusedIsANetworkError) {
  int port;
  {
    fixtures::FixtureServer gone;  // a port that was free a moment ago and is closed now
    port = gone.port();
  }
  DownloadOptions o = fast_options();
  o.retries = 1;
  Item item = fetch_one("http://127.0.0.1:" + std::to_string(port) + "/x.jpg", o);
  EXPECT_EQ(item.status, Status::kNetworkError);
  EXPECT_EQ(item.attempts, 2);  // connection errors are transient
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

// A consumer that holds items: the downloader must stop reading once max_in_flight are out.
TEST_F(DownloadTest, NeverMoreThanMaxInFlightOutstanding) {
  DownloadOptions o = fast_options();
  o.concurrency = 8;
  const int max_in_flight = 5;
  Downloader d(o, max_in_flight);
  std::vector<std::string> urls(40, server_.url("/image/16x16.jpg"));
  size_t next = 0;
  std::atomic<int> held{0}, max_held{0}, delivered{0};
  std::atomic<bool> finished{false};
  std::thread releaser([&] {  // a slow consumer: frees one slot every 5 ms
    while (!finished || held > 0) {
      if (held > 0) {
        --held;
        d.release_slot();
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
  cb.done = [&](std::shared_ptr<Item>) {
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

}  // namespace
}  // namespace imgpipe

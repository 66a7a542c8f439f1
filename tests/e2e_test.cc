// End-to-end tests: the real imgpipe binary against a loopback HTTP server started by the test.
#include <lcms2.h>
#include <libdeflate.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <thread>

#include "fixtures/e2e_fixture.h"
#include "fixtures/images.h"
#include "fixtures/kinds.h"
#include "fixtures/profiles.h"
#include "fixtures/reset_server.h"
#include "image/png.h"
#include "stages/resize.h"

namespace imgpipe {
namespace {

TEST_F(E2eTest, EveryLineGetsOneRowWithTheRightStatus) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"/image/640x480.jpg", "ok"},
      {"/image/200x150.png", "ok"},
      {"/image/120x80.gif", "ok"},
      {"/image/200x100.bmp", "ok"},
      {"/image/100x100-rgba.png", "ok"},
      {"/image/90x60-gray.jpg", "ok"},
      {"/flaky/e2e/1", "ok"},
      {"/redirect/3", "ok"},
      {"/status/404", "http_error"},
      {"/status/500", "http_error"},
      {"/loop", "too_many_redirects"},
      {"/redirect-to?u=file:///etc/passwd", "blocked_protocol"},
      {"/big/3000000", "too_large"},
      {"/big-chunked/3000000", "too_large"},
      {"/stall", "timeout"},
      {"/truncated.jpg", "network_error"},
      {"/html", "not_an_image"},
      {"/empty", "not_an_image"},
      {"/huge-dims.png", "too_large"},              // refused by stb's own header limit
      {"/huge-dims/16000x12000.png", "too_large"},  // within stb's limit, over --max-pixels
      {"/corrupt.jpg", "decode_error"},
  };
  // The failures another run may not repeat: a 5xx, a stall, a body cut short.
  const std::set<std::string> retryable = {"/status/500", "/stall", "/truncated.jpg"};
  std::vector<std::string> lines = {"# a comment, skipped", "not a url", ""};
  for (const auto& c : cases) lines.push_back(server_.url(c.first));
  fs::path out = dir_ / "out";
  Outcome r =
      run({"-i", write_list(lines).string(), "-o", out.string(), "--max-bytes", "2MB", "--timeout",
           "2", "--retry-backoff", "0.01", "--metrics-json", (dir_ / "m.json").string()});
  EXPECT_EQ(r.exit_code, 1) << r.err;

  auto rows = manifest(out);
  ASSERT_EQ(rows.size(), cases.size() + 1) << "blank and comment lines get no row";
  EXPECT_EQ(rows[2]["status"], "read_error");  // no scheme: a local path, and no such file
  for (size_t i = 0; i < cases.size(); ++i) {
    const json& row = rows[static_cast<int>(i) + 4];
    EXPECT_EQ(row["status"], cases[i].second) << cases[i].first << ": " << row.dump();
    if (row["status"] != "ok") {
      EXPECT_FALSE(row["error"].get<std::string>().empty()) << cases[i].first;
      EXPECT_EQ(row["output"], "") << cases[i].first;
      EXPECT_EQ(row["retryable"], retryable.count(cases[i].first) == 1) << cases[i].first;
      continue;
    }
    EXPECT_FALSE(row.contains("retryable")) << "failed rows only: " << row.dump();
    Item thumb = decode_file(out / row["output"].get<std::string>());
    ASSERT_TRUE(thumb.ok()) << cases[i].first << ": " << thumb.error;
    EXPECT_LE(std::max(thumb.image.width, thumb.image.height), 256) << cases[i].first;
    EXPECT_EQ(thumb.image.width, row["output_width"]) << cases[i].first;
    EXPECT_EQ(thumb.image.height, row["output_height"]) << cases[i].first;
  }
  EXPECT_EQ(rows[4]["output_width"], 256);  // 640x480 → 256x192
  EXPECT_EQ(rows[4]["output_height"], 192);
  EXPECT_EQ(rows[10]["attempts"], 2);  // flaky: 503 then 200

  json m = json::parse(slurp(dir_ / "m.json"));
  EXPECT_EQ(m["inputs"], rows.size());
  EXPECT_EQ(m["total"]["ok"].get<int>() + m["total"]["failed"].get<int>(), (int)rows.size());
  EXPECT_EQ(m["total"]["ok"], 8);
  int by_status_sum = 0;
  for (auto& [k, v] : m["by_status"].items()) by_status_sum += v.get<int>();
  EXPECT_EQ(by_status_sum, (int)rows.size());
  EXPECT_EQ(m["stages"][0]["name"], "download");
  EXPECT_EQ(m["stages"][5]["name"], "write");
  EXPECT_EQ(m["stages"][5]["ok"], 8);
  // No temporary files left behind: only thumbnails, the manifest and imgpipe's own records.
  for (auto& f : fs::directory_iterator(out))
    EXPECT_TRUE(f.path().filename().string()[0] != '.' || f.path().filename() == ".imgpipe.lock" ||
                f.path().filename() == ".imgpipe-options.json")
        << f.path();
  EXPECT_NE(r.out.find("download"), std::string::npos);
  EXPECT_NE(r.out.find("failures:"), std::string::npos);
}

TEST_F(E2eTest, AllOkExitsZeroAndThreadsOrConcurrencyDoNotChangeOutputs) {
  std::vector<std::string> lines;
  for (int i = 0; i < 30; ++i)
    lines.push_back(server_.url("/image/" + std::to_string(300 + i * 7) + "x200.jpg"));
  fs::path list = write_list(lines);
  Outcome a = run({"-i", list.string(), "-o", (dir_ / "a").string(), "-j", "1", "-t", "1"});
  Outcome b = run({"-i", list.string(), "-o", (dir_ / "b").string(), "-j", "16"});
  ASSERT_EQ(a.exit_code, 0) << a.err;
  ASSERT_EQ(b.exit_code, 0) << b.err;
  for (int i = 1; i <= 30; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "%08d.jpg", i);
    EXPECT_EQ(slurp(dir_ / "a" / name), slurp(dir_ / "b" / name)) << name;
    EXPECT_FALSE(slurp(dir_ / "a" / name).empty()) << name;
  }
}

// Every codec path and output format gives decodable thumbnails of the same geometry: the size
// comes from the source, not from how much the decoder shrank on load.
TEST_F(E2eTest, CodecsAndFormatsAgreeOnGeometry) {
  fs::path list =
      write_list({server_.url("/image/1600x1200.jpg"), server_.url("/image/300x500.png"),
                  server_.url("/image/120x80.gif"), server_.url("/image/100x100-rgba.png"),
                  server_.url("/image/90x60-gray.jpg")});
  const std::vector<std::vector<std::string>> variants = {{"--codec", "fast", "-f", "jpg"},
                                                          {"--codec", "stb", "-f", "jpg"},
                                                          {"--resizer", "stb", "-f", "jpg"},
                                                          {"--codec", "fast", "-f", "webp"},
                                                          {"--codec", "stb", "-f", "png"}};
  std::map<int, std::pair<int, int>> first_sizes;
  for (size_t v = 0; v < variants.size(); ++v) {
    fs::path out = dir_ / ("out" + std::to_string(v));
    std::vector<std::string> args = {"-i", list.string(), "-o", out.string(), "--quiet"};
    args.insert(args.end(), variants[v].begin(), variants[v].end());
    Outcome r = run(args);
    ASSERT_EQ(r.exit_code, 0) << variants[v][1] << " " << variants[v][3] << ": " << r.err;
    for (auto& [line, row] : manifest(out)) {
      Item thumb = decode_file(out / row["output"].get<std::string>());
      ASSERT_TRUE(thumb.ok()) << row.dump();
      std::pair<int, int> size{thumb.image.width, thumb.image.height};
      if (v == 0) first_sizes[line] = size;
      EXPECT_EQ(size, first_sizes[line]) << "line " << line << " with " << variants[v][1];
    }
  }
  EXPECT_EQ(first_sizes[1], std::make_pair(256, 192));
}

TEST_F(E2eTest, ReadsStdinAndHonoursSizeFormatQuiet) {
  fs::path list =
      write_list({server_.url("/image/400x100-rgba.png"), server_.url("/image/50x400.jpg")});
  fs::path out = dir_ / "out";
  Outcome r =
      run({"-i", "-", "-o", out.string(), "-s", "100x60", "-f", "png", "--quiet"}, list.string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "") << "--quiet prints nothing on stdout";
  auto rows = manifest(out);
  ASSERT_EQ(rows.size(), 2u);
  Item wide = decode_file(out / "00000001.png");
  ASSERT_TRUE(wide.ok());
  EXPECT_EQ(wide.image.width, 100);
  EXPECT_EQ(wide.image.height, 25);
  EXPECT_EQ(wide.image.channels, 4) << "PNG keeps alpha";
  Item tall = decode_file(out / "00000002.png");
  ASSERT_TRUE(tall.ok());
  EXPECT_EQ(tall.image.width, 8);  // 50x400 in 100x60 → 7.5 rounds to 8
  EXPECT_EQ(tall.image.height, 60);
}

TEST_F(E2eTest, UsageAndSetupErrorsExitTwoWithAMessage) {
  fs::path list = write_list({server_.url("/image/8x8.jpg")});
  std::ofstream(dir_ / "a_file") << "x";
  struct Bad {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<Bad> bad = {
      {{"-i", list.string(), "-o", (dir_ / "o").string(), "--size", "0"}, "size"},
      {{"-i", list.string(), "-o", (dir_ / "o").string(), "--bogus"}, "bogus"},
      {{"-i", (dir_ / "missing.txt").string(), "-o", (dir_ / "o").string()}, "missing.txt"},
      {{"-i", dir_.string(), "-o", (dir_ / "o").string()}, "directory"},
      {{"-i", list.string(), "-o", (dir_ / "a_file" / "sub").string()}, "output folder"},
      {{"-o", (dir_ / "o").string()}, "input"},
  };
  for (const Bad& b : bad) {
    Outcome r = run(b.args);
    EXPECT_EQ(r.exit_code, 2) << b.message << ": " << r.err;
    EXPECT_NE(r.err.find(b.message), std::string::npos) << r.err;
  }
}

TEST_F(E2eTest, HelpAndVersion) {
  Outcome help = run({"--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("Examples:"), std::string::npos);
  EXPECT_NE(help.out.find("--concurrency"), std::string::npos);
  Outcome version = run({"--version"});
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_NE(version.out.find("imgpipe 0."), std::string::npos);
}

TEST_F(E2eTest, EmptyListIsASuccessWithAnEmptyManifest) {
  fs::path out = dir_ / "out";
  Outcome r = run({"-i", write_list({"# nothing"}).string(), "-o", out.string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(fs::exists(out / "manifest.jsonl"));
  EXPECT_TRUE(manifest(out).empty());
}

// Concurrency is real, and --per-host caps it per origin.
TEST_F(E2eTest, ConcurrencyAndPerHostLimit) {
  // Peak connections a run with these flags keeps open at once, seen by a server where every
  // request waits 100 ms (so parallel requests overlap there).
  auto peak_with = [this](const std::string& per_host, const std::string& out) {
    fixtures::ServerOptions slow;
    slow.latency_ms = 100;
    fixtures::FixtureServer server(slow);
    Outcome r = run({"-i", write_list(small_images(server, 24)).string(), "-o",
                     (dir_ / out).string(), "-j", "16", "--per-host", per_host, "--quiet"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return server.peak_concurrent();
  };
  int capped = peak_with("3", "a");
  EXPECT_LE(capped, 3);
  EXPECT_GE(capped, 2);
  EXPECT_GE(peak_with("16", "b"), 8) << "downloads should overlap";
}

// Waiting is not working: while transfers are slow and most items wait for a host slot, the curl
// thread must sleep in poll, not spin a core.
TEST_F(E2eTest, WaitingOnSlowTransfersCostsNoCpu) {
  fixtures::ServerOptions slow;
  slow.latency_ms = 400;
  fixtures::FixtureServer server(slow);
  Outcome r = run({"-i", write_list(small_images(server, 16)).string(), "-o",
                   (dir_ / "out").string(), "-j", "16", "--per-host", "2", "--quiet"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_GT(r.wall_s, 3.0);  // 8 rounds of 400 ms
  EXPECT_LT(r.cpu_s, 0.25 * r.wall_s) << "cpu " << r.cpu_s << " s over " << r.wall_s << " s";
}

// A slow producer on stdin must not stall transfers already started: line 1 is finished while
// the producer is still thinking about line 2.
TEST_F(E2eTest, SlowStdinDoesNotStallDownloads) {
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);  // the child gets only its stdin copy of the read end
  fs::path out = dir_ / "out";
  pid_t pid = spawn({"-i", "-", "-o", out.string(), "--quiet"}, fds[0]);
  ASSERT_GT(pid, 0);
  ::close(fds[0]);
  std::string first = server_.url("/image/64x48.jpg") + "\n";
  ASSERT_EQ(::write(fds[1], first.data(), first.size()), (ssize_t)first.size());
  bool first_done = false;
  for (int tries = 0; tries < 100 && !first_done; ++tries) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    first_done = manifest(out).count(1) == 1;
  }
  std::string second = server_.url("/image/48x64.jpg") + "\n";
  ASSERT_EQ(::write(fds[1], second.data(), second.size()), (ssize_t)second.size());
  ::close(fds[1]);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(first_done) << "line 1 waited for the producer";
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(manifest(out).size(), 2u);
}

// A long list through a small in-flight budget: nothing lost, nothing duplicated.
TEST_F(E2eTest, ThousandsOfLinesAllAccountedFor) {
  std::vector<std::string> lines;
  for (int i = 0; i < 3000; ++i)
    lines.push_back(i % 10 == 9 ? server_.url("/status/404")
                                : server_.url("/image/" + std::to_string(20 + i % 50) + "x20.png"));
  fs::path out = dir_ / "out";
  Outcome r =
      run({"-i", write_list(lines).string(), "-o", out.string(), "-j", "8", "-s", "16", "--quiet"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  auto rows = manifest(out);
  int first_missing = 0;
  for (int n = 1; n <= 3000 && !first_missing; ++n)
    if (!rows.count(n)) first_missing = n;
  ASSERT_EQ(rows.size(), 3000u) << "first missing line " << first_missing << "; stderr: " << r.err;
  int ok = 0;
  for (auto& [n, row] : rows) ok += row["status"] == "ok";
  EXPECT_EQ(ok, 2700);
}

// Thousands of lines to an origin that cuts every connection (RST at once, RST after the request,
// or a close with no reply): each line ends as exactly one network_error row after all its
// attempts, the run finishes in bounded time, and it exits 1, not with a crash or a hang.
TEST_F(E2eTest, ThousandsOfLinesToAResettingOriginEachGetOneNetworkErrorRow) {
  fixtures::ResetServer origin;
  std::vector<std::string> lines;
  for (int i = 0; i < 3000; ++i)
    lines.push_back(origin.url("/image/" + std::to_string(i) + ".jpg"));
  fs::path out = dir_ / "out";
  // Resets are transient failures, so every line is tried 1 + --retries (default 2) times; a
  // short backoff keeps the test fast without skipping the retry path. The origin's accept queue
  // overflows now and then, which refuses a connection: --retry-connrefused retries those too.
  Outcome r = run({"-i", write_list(lines).string(), "-o", out.string(), "--per-host", "64",
                   "--retry-backoff", "0.01", "--retry-connrefused", "--quiet"},
                  "/dev/null", std::chrono::seconds(60));
  auto rows = manifest(out);
  ASSERT_NE(r.exit_code, -1) << "hung: " << rows.size() << " rows after 60 s; " << r.err;
  EXPECT_EQ(r.exit_code, 1) << r.err;
  ASSERT_EQ(rows.size(), 3000u) << r.err;
  EXPECT_EQ(rows.begin()->first, 1);
  EXPECT_EQ(rows.rbegin()->first, 3000);
  std::map<std::string, int> errors;  // curl's message, for the failure output
  for (const auto& [line, row] : rows) {
    ASSERT_EQ(row["status"], "network_error") << row.dump();
    EXPECT_EQ(row["attempts"], 3) << row.dump();
    EXPECT_EQ(row["http_status"], 0) << row.dump();
    EXPECT_EQ(row["output"], "") << row.dump();
    ++errors[row["error"].get<std::string>().substr(0, 40)];
  }
  EXPECT_GE(origin.accepted(), 9000);
  // The three ways of cutting a connection reach imgpipe as different curl errors.
  EXPECT_GE(errors.size(), 2u) << ::testing::PrintToString(errors);
}

// A gzip Content-Encoding bomb (100 MB of zeros in ~100 KB): imgpipe asks for no compression and
// inflates nothing it did not ask for, so the line is the ~100 KB of gzip that arrived (not an
// image) and memory stays flat. --max-bytes is raised above the inflated size, so the body cap
// cannot be what keeps the 100 MB out.
TEST_F(E2eTest, GzipBombIsNeitherRequestedNorInflated) {
  fs::path out = dir_ / "out";
  Outcome r = run({"-i", write_list({server_.url("/gzip-bomb.png")}).string(), "-o", out.string(),
                   "--max-bytes", "200M", "--quiet"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  auto rows = manifest(out);
  ASSERT_EQ(rows.size(), 1u);
  const json& row = rows[1];
  EXPECT_EQ(row["status"], "not_an_image") << row.dump();
  EXPECT_LT(row["bytes"].get<int64_t>(), 200'000) << "the body was inflated: " << row.dump();

  auto sent = server_.last_headers("/gzip-bomb.png");
  ASSERT_FALSE(sent.empty()) << "the request never reached the server";
  EXPECT_EQ(sent.count("accept-encoding"), 0u) << "Accept-Encoding: " << sent["accept-encoding"];
  EXPECT_EQ(sent.count("te"), 0u) << "TE: " << sent["te"];  // compressed Transfer-Encoding
  if (!kSanitizedBuild) {
    EXPECT_LT(r.max_rss_kb, 100 * 1024) << "peak RSS " << r.max_rss_kb << " kB";
  }
}

// --resolve sends a name DNS has never heard of to the address given (the server sees the name in
// Host:), and --block-private still judges that address.
TEST_F(E2eTest, ResolvePinsANameToAnAddressStillCheckedByBlockPrivate) {
  const std::string port = std::to_string(server_.port());
  const std::string pin = "images.imgpipe-test.invalid:" + port + ":127.0.0.1";
  fs::path list = write_list({"http://images.imgpipe-test.invalid:" + port + "/image/33x20.jpg"});
  Outcome r = run({"-i", list.string(), "-o", (dir_ / "a").string(), "--resolve", pin});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(manifest(dir_ / "a")[1]["status"], "ok");
  EXPECT_EQ(server_.last_headers("/image/33x20.jpg")["host"],
            "images.imgpipe-test.invalid:" + port);

  r = run({"-i", list.string(), "-o", (dir_ / "b").string(), "--resolve", pin, "--block-private"});
  EXPECT_EQ(manifest(dir_ / "b")[1]["status"], "blocked_address");
  EXPECT_EQ(server_.hits("/image/33x20.jpg"), 1);

  for (const char* bad : {"images.test:80", "images.test:http:127.0.0.1", "images.test:0:127.0.0.1",
                          "images.test:80:not-an-ip", "+images.test:80:127.0.0.1"}) {
    r = run({"-i", list.string(), "-o", (dir_ / "c").string(), "--resolve", bad});
    EXPECT_EQ(r.exit_code, 2) << bad;
    EXPECT_NE(r.err.find("--resolve"), std::string::npos) << r.err;
  }
}

// --block-private refuses at connect time: the loopback origin itself, a name that resolves to
// loopback, and — with the origin exempted — a redirect into another loopback address.
TEST_F(E2eTest, BlockPrivateRefusesLoopbackOriginsAndRedirectsIntoThem) {
  std::string port = std::to_string(server_.port());
  std::vector<std::string> lines = {
      server_.url("/image/30x20.jpg"),
      "http://localhost:" + port + "/image/31x20.jpg",
      server_.url("/redirect-to?u=http://127.0.0.2:" + port + "/image/32x20.jpg"),
  };
  fs::path list = write_list(lines);
  Outcome r = run({"-i", list.string(), "-o", (dir_ / "a").string(), "--block-private"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  auto rows = manifest(dir_ / "a");
  ASSERT_EQ(rows.size(), 3u);
  for (auto& [line, row] : rows) EXPECT_EQ(row["status"], "blocked_address") << row.dump();
  EXPECT_EQ(server_.hits("/image/30x20.jpg"), 0) << "no request may reach a blocked address";

  r = run({"-i", list.string(), "-o", (dir_ / "b").string(), "--block-private", "--allow-address",
           "127.0.0.1"});
  rows = manifest(dir_ / "b");
  EXPECT_EQ(rows[1]["status"], "ok");
  EXPECT_EQ(rows[3]["status"], "blocked_address") << "the redirect must be checked too";
  EXPECT_NE(rows[3]["error"].get<std::string>().find("127.0.0.2"), std::string::npos);

  // Without the flag the same redirect is just a connection attempt (refused: nobody listens).
  r = run({"-i", list.string(), "-o", (dir_ / "c").string(), "--retries", "0"});
  rows = manifest(dir_ / "c");
  EXPECT_EQ(rows[1]["status"], "ok");
  EXPECT_EQ(rows[3]["status"], "network_error");
}

// Runs the real binary under an address-space limit (what `prlimit --as` sets), for tests of
// what imgpipe allocates.
class E2eLimitTest : public E2eTest {
 protected:
  Outcome run_limited(rlim_t address_space, std::vector<std::string> args) {
    args.insert(args.begin(), IMGPIPE_BINARY);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const std::string out = (dir_ / "stdout").string(), err = (dir_ / "stderr").string();
    Outcome r;
    pid_t pid = ::fork();
    if (pid == 0) {  // only async-signal-safe calls until exec: the parent has threads
      int in = ::open("/dev/null", O_RDONLY);
      int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      int e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(in, 0), ::dup2(o, 1), ::dup2(e, 2);
      struct rlimit limit {
        address_space, address_space
      };
      ::setrlimit(RLIMIT_AS, &limit);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    int status = 0;
    if (pid > 0) ::waitpid(pid, &status, 0);
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r.out = slurp(out);
    r.err = slurp(err);
    return r;
  }
};

// A Content-Length is a claim, not a size. 114 lines whose responses announce 40 MB each and
// send 64 KiB, 64 transfers at once, under a 1 GiB address-space limit: a client that reserves
// what is announced (64 × 40 MB) runs out of memory inside libcurl's write callback. Every line
// must still get its row, with the truncated body reported as such.
TEST_F(E2eLimitTest, AnnouncedContentLengthIsNeverAllocated) {
  if (kSanitizedBuild) GTEST_SKIP() << "sanitizers reserve terabytes of address space";
  fixtures::ServerOptions slow;
  slow.rate_bytes_per_sec = 64 * 1024;  // each body takes ~1 s, so the transfers overlap
  fixtures::FixtureServer origin(slow);
  std::vector<std::string> lines(114, origin.url("/lying-length/40000000"));
  fs::path out = dir_ / "out";
  Outcome r = run_limited(rlim_t{1} << 30,
                          {"-i", write_list(lines).string(), "-o", out.string(), "-j", "64",
                           "--per-host", "64", "--retries", "0", "-t", "2", "--quiet"});
  auto rows = manifest(out);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  ASSERT_EQ(rows.size(), 114u) << r.err;
  for (const auto& [line, row] : rows) EXPECT_EQ(row["status"], "network_error") << row.dump();
}

// --trace shows every download attempt with its own outcome: a 404 is http_error, a 503 that is
// retried is http_error and the retry that succeeds is ok.
TEST_F(E2eTest, TraceShowsEachDownloadAttemptsOwnStatus) {
  fs::path list = write_list({server_.url("/status/404"), server_.url("/flaky/trace/1")});
  fs::path trace = dir_ / "t.json";
  Outcome r = run({"-i", list.string(), "-o", (dir_ / "out").string(), "--quiet", "--trace",
                   trace.string(), "--retry-backoff", "0.01"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  json t = json::parse(slurp(trace), nullptr, false);
  ASSERT_FALSE(t.is_discarded()) << slurp(trace);
  std::map<int, std::vector<std::string>> attempts;  // line → statuses, in the file's order
  for (const json& e : t["traceEvents"])
    if (e.value("name", "") == "download" && e.value("ph", "") == "X")
      attempts[e["args"]["line"].get<int>()].push_back(e["args"]["status"]);
  EXPECT_EQ(attempts[1], std::vector<std::string>{"http_error"});
  EXPECT_EQ(attempts[2], (std::vector<std::string>{"http_error", "ok"}));
}

// user:password in a list URL is used for that host, and reaches no output: not the manifest,
// not the trace, not a --name url file name; a line that is not a valid URL is recorded without
// it too.
TEST_F(E2eTest, CredentialsInAListUrlReachNoOutput) {
  const std::string secret = "s3cr3tp";
  const std::string rest = "@127.0.0.1:" + std::to_string(server_.port()) +
                           "/need-header/Authorization/Basic%20aW1ncGlwZTpzM2NyM3Rw/40x30.jpg";
  fs::path out = dir_ / "out", trace = dir_ / "t.json";
  Outcome r =
      run({"-i",
           write_list({"http://imgpipe:" + secret + rest, "http://imgpipe:" + secret + "@/no-host"})
               .string(),
           "-o", out.string(), "--name", "url", "--trace", trace.string(), "--quiet"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  auto rows = manifest(out);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1]["status"], "ok") << rows[1].dump();  // the credentials were sent
  EXPECT_EQ(rows[1]["url"], "http://" + rest.substr(1));
  EXPECT_EQ(rows[2]["status"], "invalid_url");
  EXPECT_EQ(slurp(out / "manifest.jsonl").find(secret), std::string::npos);
  EXPECT_EQ(slurp(trace).find(secret), std::string::npos);
  for (const auto& f : fs::recursive_directory_iterator(out))
    EXPECT_EQ(f.path().string().find(secret), std::string::npos) << f.path();
  EXPECT_EQ(r.err.find(secret), std::string::npos) << r.err;
}

// Sets an environment variable for the imgpipe processes a test starts, and restores it.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string* value) : name_(name) {
    const char* old = std::getenv(name);
    had_ = old != nullptr;
    if (had_) old_ = old;
    if (value)
      ::setenv(name, value->c_str(), 1);
    else
      ::unsetenv(name);
  }
  ~ScopedEnv() {
    if (had_)
      ::setenv(name_, old_.c_str(), 1);
    else
      ::unsetenv(name_);
  }

 private:
  const char* name_;
  bool had_ = false;
  std::string old_;
};

// libcurl honours http_proxy, and a proxy fetches whatever it is asked for: under
// --block-private that would reach 169.254.169.254 through the proxy, the check seeing only the
// proxy. The environment's proxy is refused at setup; --no-proxy connects directly (refused at
// connect); --proxy is the explicit opt-in, with a warning. server_ plays the proxy: a request
// for an absolute URL reaching it is a request it would forward.
TEST_F(E2eTest, BlockPrivateRefusesAnEnvironmentProxy) {
  const std::string target = "http://169.254.169.254/latest/x.jpg";
  const std::string proxy = "http://127.0.0.1:" + std::to_string(server_.port());
  ScopedEnv http_proxy("http_proxy", &proxy);
  ScopedEnv no_proxy("no_proxy", nullptr), no_proxy_upper("NO_PROXY", nullptr);
  fs::path list = write_list({target});
  const std::vector<std::string> common = {
      "-i",        list.string(), "--block-private", "--allow-address",
      "127.0.0.1",  // the proxy itself
      "--retries", "0",           "--timeout",       "5",
      "--quiet"};
  auto with = [&](std::vector<std::string> extra, const std::string& out) {
    extra.insert(extra.end(), {"-o", (dir_ / out).string()});
    extra.insert(extra.begin(), common.begin(), common.end());
    return run(extra);
  };
  Outcome refused = with({}, "a");
  EXPECT_EQ(refused.exit_code, 2) << refused.err;
  EXPECT_NE(refused.err.find("http_proxy"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("--no-proxy"), std::string::npos) << refused.err;
  EXPECT_EQ(server_.hits(target), 0) << "the proxy was asked for a link-local address";

  Outcome direct = with({"--no-proxy"}, "b");
  EXPECT_EQ(direct.exit_code, 1) << direct.err;
  EXPECT_EQ(manifest(dir_ / "b")[1]["status"], "blocked_address");
  EXPECT_EQ(server_.hits(target), 0);

  Outcome explicit_proxy = with({"--proxy", proxy}, "c");
  EXPECT_EQ(explicit_proxy.exit_code, 1) << explicit_proxy.err;
  EXPECT_NE(explicit_proxy.err.find("only the proxy's address"), std::string::npos);
  EXPECT_EQ(server_.hits(target), 1) << "--proxy was not used";
}

// --- Trust (issue 13): decoders neither leak memory nor pin it for a few bytes. ---

// Writes each file into dir_ and lists it `copies` times.
fs::path write_files(const fs::path& dir,
                     const std::vector<std::pair<std::string, fixtures::Bytes>>& files,
                     int copies) {
  fs::path list = dir / "hostile.txt";
  std::ofstream out(list);
  for (int c = 0; c < copies; ++c)
    for (const auto& [name, bytes] : files) {
      if (c == 0)
        std::ofstream(dir / name, std::ios::binary)
            .write(reinterpret_cast<const char*>(bytes.data()), bytes.size());
      out << (dir / name).string() << "\n";
    }
  return list;
}

// Headers whose data cannot fill them were decoded anyway: a 13-byte PNM came out "ok" showing old
// heap bytes, and each header-only file pinned 100-300 MB while stb or libjpeg-turbo filled it
// with nothing. Now each is refused before a pixel buffer exists, and its row says the size the
// header claimed. The animated WebP is legal (a 1x1 frame on a 8000x6000 canvas): it is decoded
// straight onto a zeroed canvas, whose untouched pages cost nothing, instead of through three
// canvases WebPAnimDecoder clears (PNG output: JPEG's alpha flattening would write every page).
TEST_F(E2eTest, HostileHeadersAreRefusedBeforeTheyCostMemory) {
  const std::vector<std::pair<std::string, fixtures::Bytes>> files = {
      {"leak.ppm", fixtures::make_pnm(64, 64, 3, 0)},
      {"big.ppm", fixtures::make_pnm(6000, 6000, 3, 0)},
      {"big.bmp", fixtures::make_bmp_header_only(6000, 6000)},
      {"raw.tga", fixtures::make_tga(6000, 6000, false, false)},
      {"rle.tga", fixtures::make_tga(6000, 6000, true, false)},
      {"raw.psd", fixtures::make_psd(6000, 6000, false, false)},
      {"rle.psd", fixtures::make_psd(6000, 6000, true, false)},
      {"cut.jpg", fixtures::make_truncated_progressive_jpeg(10000, 10000)},
      {"canvas.webp", fixtures::make_animated_webp_on_canvas(8000, 6000, 0, 0)},
  };
  // Four copies on four threads for the RSS check; sanitized builds (no RSS check, and TSan did
  // 31 of 36 rows in 60 s) take one.
  const int copies = kSanitizedBuild ? 1 : 4;
  fs::path out = dir_ / "out";
  Outcome r = run({"-i", write_files(dir_, files, copies).string(), "-o", out.string(), "-f", "png",
                   "--threads", "4", "--quiet"},
                  "/dev/null", std::chrono::seconds(90));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  auto rows = manifest(out);
  ASSERT_EQ(rows.size(), files.size() * copies);
  for (const auto& [line, row] : rows) {
    const bool webp = (line - 1) % files.size() == files.size() - 1;
    // Short files are truncated (--fail-on's default); the other refusals are decode_error.
    const std::string status = row["status"];
    EXPECT_TRUE(webp ? status == "ok" : status == "decode_error" || status == "truncated")
        << row.dump();
    EXPECT_GT(row["width"].get<int>(), 0) << row.dump();
    if (!webp) {
      EXPECT_NE(row["error"].get<std::string>().find("shorter than the header claims"),
                std::string::npos)
          << row.dump();
    }
  }
  if (!kSanitizedBuild) {
    EXPECT_LT(r.max_rss_kb, 100 * 1024) << "peak RSS " << r.max_rss_kb << " kB";
  }
}

// --decode-memory bounds the decoded pixels of all threads together. Each GIF is legal (a 1x1
// frame on a 5000x5000 screen) and reserves ~225 MB by its estimate (stb's three screens); with
// 300 MB, four threads must take turns, which the trace shows: no two GIFs are ever between
// resize and the end of encode at once. An item's decode, resize and encode run in one node while
// it holds its share, so workers waiting for memory never wait on items parked in a queue: the
// run ends with one row per line (the time limit turns a hang into a failure).
TEST_F(E2eTest, DecodeMemoryBoundsAllThreadsTogetherWithoutDeadlock) {
  // Sanitized builds decode several times slower (CI's ASan build did 10 25-Mpx screens in 90 s,
  // TSan 3): there, fewer copies of a quarter of the screen with a quarter of the budget, which
  // still admits one screen and never two while four threads contend for it.
  const int side = kSanitizedBuild ? 2500 : 5000, copies = kSanitizedBuild ? 4 : 12;
  const char* budget = kSanitizedBuild ? "75M" : "300M";
  const std::vector<std::pair<std::string, fixtures::Bytes>> files = {
      {"screen.gif", fixtures::make_gif_on_screen(side, side)},
      {"small.jpg", fixtures::make_jpeg(300, 200)},
  };
  const auto patience = std::chrono::seconds(90);  // under ctest's 120-s TIMEOUT
  fs::path out = dir_ / "out", trace = dir_ / "trace.json";
  Outcome r = run({"-i", write_files(dir_, files, copies).string(), "-o", out.string(), "--threads",
                   "4", "--decode-memory", budget, "--trace", trace.string(), "--quiet"},
                  "/dev/null", patience);
  ASSERT_NE(r.exit_code, -1) << "hung: " << manifest(out).size() << " rows after "
                             << patience.count() << " s";
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto rows = manifest(out);
  ASSERT_EQ(rows.size(), 2u * copies);
  for (const auto& [line, row] : rows) EXPECT_EQ(row["status"], "ok") << row.dump();
  std::map<int, std::pair<double, double>> held;  // GIF line → [resize start, encode end] in µs
  const json events = json::parse(slurp(trace))["traceEvents"];
  for (const json& e : events) {
    if (e["ph"] != "X" || e["args"]["line"].get<int>() % 2 == 0) continue;
    auto& [from, to] = held[e["args"]["line"].get<int>()];
    if (e["name"] == "resize") from = e["ts"].get<double>();
    if (e["name"] == "encode") to = e["ts"].get<double>() + e["dur"].get<double>();
  }
  ASSERT_EQ(held.size(), size_t(copies));
  std::vector<std::pair<double, double>> spans;
  for (const auto& [line, span] : held) spans.push_back(span);
  std::sort(spans.begin(), spans.end());
  for (size_t i = 1; i < spans.size(); ++i)
    EXPECT_LE(spans[i - 1].second, spans[i].first) << "two GIFs held memory at once";
  // One screen at a time: ~20 MB of imgpipe and ~75 MB of pages the JPEG flattening writes, and
  // their thumbnails' work. Unbounded, four threads on two cores reached 216 MB.
  if (!kSanitizedBuild) {
    EXPECT_LT(r.max_rss_kb, 180 * 1024) << "peak RSS " << r.max_rss_kb << " kB";
  }
}

// An image whose estimated peak exceeds the whole budget fails at once, naming the flag, with the
// size its header claimed.
TEST_F(E2eTest, ImageLargerThanDecodeMemoryIsTooLarge) {
  fs::path out = dir_ / "out";
  Outcome r = run({"-i", write_list({server_.url("/image/2000x1500.jpg")}).string(), "-o",
                   out.string(), "--decode-memory", "1M", "--quiet"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  auto rows = manifest(out);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[1]["status"], "too_large") << rows[1].dump();
  EXPECT_NE(rows[1]["error"].get<std::string>().find("--decode-memory"), std::string::npos);
  EXPECT_EQ(rows[1]["width"], 2000);
  EXPECT_EQ(rows[1]["height"], 1500);
}

// --- Colour (issue 14): embedded ICC profiles are converted to sRGB, or kept with --keep-profile.

// CIEDE2000 between sRGB pixels, through CIE Lab (D50) by lcms's own sRGB profile.
class DeltaE {
 public:
  DeltaE() {
    cmsHPROFILE srgb = cmsCreate_sRGBProfile(), lab = cmsCreateLab4Profile(nullptr);
    to_lab_ = cmsCreateTransform(srgb, TYPE_RGB_8, lab, TYPE_Lab_DBL, INTENT_RELATIVE_COLORIMETRIC,
                                 cmsFLAGS_NOCACHE);
    cmsCloseProfile(srgb);
    cmsCloseProfile(lab);
  }
  ~DeltaE() { cmsDeleteTransform(to_lab_); }
  double operator()(const uint8_t* a, const uint8_t* b) const {
    cmsCIELab la, lb;
    cmsDoTransform(to_lab_, a, &la, 1);
    cmsDoTransform(to_lab_, b, &lb, 1);
    return cmsCIE2000DeltaE(&la, &lb, 1, 1, 1);
  }

 private:
  cmsHTRANSFORM to_lab_;
};

// The pixel at (x, y) of a decoded thumbnail as sRGB RGB (gray widened).
std::array<uint8_t, 3> rgb_at(const Image& img, int x, int y) {
  const uint8_t* p = &img.pixels[(size_t(y) * img.width + x) * img.channels];
  return img.channels < 3 ? std::array<uint8_t, 3>{p[0], p[0], p[0]}
                          : std::array<uint8_t, 3>{p[0], p[1], p[2]};
}

// The worst CIEDE2000 between two thumbnails of a cols × rows patch grid, over each patch's
// central half (away from the edges, where the two resamplers' ringing differs).
double worst_delta_e(const Image& a, const Image& b, int cols, int rows) {
  EXPECT_EQ(a.width, b.width);
  EXPECT_EQ(a.height, b.height);
  static const DeltaE delta_e;
  double worst = 0;
  const int pw = a.width / cols, ph = a.height / rows;
  for (int y = 0; y < a.height; ++y)
    for (int x = 0; x < a.width; ++x) {
      const int px = x % pw, py = y % ph;
      if (px < pw / 4 || px >= pw * 3 / 4 || py < ph / 4 || py >= ph * 3 / 4) continue;
      worst = std::max(worst, delta_e(rgb_at(a, x, y).data(), rgb_at(b, x, y).data()));
    }
  return worst;
}

// 512 × 384, 4 × 3 patches of saturated and neutral colours.
constexpr int kPatchW = 512, kPatchH = 384, kPatchCols = 4, kPatchRows = 3;
const std::vector<uint8_t> kPatchColours = {
    220, 30,  30,  30,  200, 40,  40, 50, 210, 230, 210, 40,  40, 200, 210, 200, 40,  190,
    128, 128, 128, 200, 150, 120, 90, 60, 40,  250, 250, 250, 20, 20,  20,  100, 180, 100};

struct Tagged {
  std::string name;
  fixtures::Bytes bytes;
};

class E2eColourTest : public E2eTest {
 protected:
  // The vips comparisons need libvips-tools (.ci/setup.sh installs it); without it they are
  // skipped, and say so on stderr too, so a run without vips cannot pass unnoticed.
  static bool have_vips() {
    static const bool found = std::system("vips --version >/dev/null 2>&1") == 0;
    if (!found)
      std::fprintf(stderr, "*** vips not found: colour comparisons with vips SKIPPED ***\n");
    return found;
  }

  // libvips's colour-managed thumbnail of `in` (what the conformance test compares with),
  // decoded; a failed vips run fails the test. With `convert_first`, vips converts the whole
  // image to sRGB through its embedded profile before the thumbnail: vips 8.14's thumbnail
  // refuses every embedded CMYK profile ("profile incompatible with image", even its own) and
  // falls back to a generic press profile of its own.
  Image vips_thumbnail(const fs::path& in, bool convert_first = false) {
    const fs::path mid = in.string() + ".srgb.png", out = in.string() + ".vips.png";
    std::string cmd;
    if (convert_first)
      cmd = "vips icc_transform '" + in.string() + "' '" + mid.string() +
            "' srgb --embedded --intent relative 2>&1 && ";
    cmd += "vips thumbnail '" + (convert_first ? mid : in).string() + "' '" + out.string() +
           "' 256 --height 256 --size down --export-profile srgb 2>&1";
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
    Item item = decode_file(out);
    EXPECT_TRUE(item.ok()) << item.error;
    return std::move(item.image);
  }

  // Writes the files into dir_ and lists them.
  fs::path write_files(const std::vector<Tagged>& files) {
    std::vector<std::string> lines;
    for (const Tagged& f : files) {
      std::ofstream(dir_ / f.name, std::ios::binary)
          .write(reinterpret_cast<const char*>(f.bytes.data()),
                 static_cast<std::streamsize>(f.bytes.size()));
      lines.push_back((dir_ / f.name).string());
    }
    return write_list(lines);
  }

  // The thumbnail imgpipe makes of `pixels` stored untagged: the stored numbers taken as sRGB.
  static Image as_stored(const fixtures::Bytes& pixels, int w, int h, int channels) {
    Item plain;
    plain.body = fixtures::make_tagged_png(pixels, w, h, channels, {});
    ImageOptions o;
    o.format = Format::kPng;
    decode(plain, o);
    resize(plain, o);
    return std::move(plain.thumbs[0].image);
  }

  // Runs imgpipe on the files (PNG out) and vips on each, and checks imgpipe's thumbnails against
  // vips's: within 2 ΔE (CIEDE2000) everywhere inside the patches. Also checks that vips's differ
  // from `stored` (the untagged thumbnail: what imgpipe made before) by more than 5 ΔE somewhere,
  // so the check means something.
  void expect_like_vips(const std::vector<Tagged>& files, const Image& stored,
                        bool convert_first = false) {
    const fs::path out = dir_ / "out";
    Outcome r =
        run({"-i", write_files(files).string(), "-o", out.string(), "-f", "png", "--quiet"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto rows = manifest(out);
    for (size_t i = 0; i < files.size(); ++i) {
      const json& row = rows[static_cast<int>(i) + 1];
      ASSERT_EQ(row["status"], "ok") << files[i].name << ": " << row.dump();
      Item ours = decode_file(out / row["output"].get<std::string>());
      ASSERT_TRUE(ours.ok()) << files[i].name << ": " << ours.error;
      Image vips = vips_thumbnail(dir_ / files[i].name, convert_first);
      EXPECT_LE(worst_delta_e(ours.image, vips, kPatchCols, kPatchRows), 2.0) << files[i].name;
      EXPECT_GT(worst_delta_e(stored, vips, kPatchCols, kPatchRows), 5.0) << files[i].name;
    }
  }
};

// Adobe RGB, ProPhoto and Display P3 photos in JPEG, PNG and WebP come out as vips makes them
// (it converts to sRGB with the embedded profile); imgpipe used to write the stored numbers as
// sRGB, ~20% (Adobe) to ~37% (ProPhoto) less saturated.
TEST_F(E2eColourTest, TaggedImagesComeOutWithinTwoDeltaEOfVips) {
  if (!have_vips()) GTEST_SKIP() << "vips (libvips-tools) not installed";
  const fixtures::Bytes px =
      fixtures::make_patches(kPatchW, kPatchH, kPatchCols, kPatchRows, kPatchColours, 3);
  std::vector<Tagged> files;
  for (auto [space, name] : {std::pair{fixtures::RgbSpace::kAdobeRgb, "adobe"},
                             std::pair{fixtures::RgbSpace::kProPhoto, "prophoto"},
                             std::pair{fixtures::RgbSpace::kDisplayP3, "p3"}}) {
    const fixtures::Bytes profile = fixtures::make_rgb_profile(space);
    const std::string n = name;
    files.push_back({n + ".jpg", fixtures::make_tagged_jpeg(px, kPatchW, kPatchH, 3, profile)});
    files.push_back({n + ".png", fixtures::make_tagged_png(px, kPatchW, kPatchH, 3, profile)});
    files.push_back({n + ".webp", fixtures::make_tagged_webp(px, kPatchW, kPatchH, profile)});
  }
  expect_like_vips(files, as_stored(px, kPatchW, kPatchH, 3));
}

// A gray JPEG with a linear-light gray profile comes out as vips makes it.
TEST_F(E2eColourTest, GrayProfilesComeOutWithinTwoDeltaEOfVips) {
  if (!have_vips()) GTEST_SKIP() << "vips (libvips-tools) not installed";
  const fixtures::Bytes gray =
      fixtures::make_patches(kPatchW, kPatchH, kPatchCols, kPatchRows, kPatchColours, 1);
  expect_like_vips({{"gray.jpg", fixtures::make_tagged_jpeg(gray, kPatchW, kPatchH, 1,
                                                            fixtures::make_gray_profile(1.0))}},
                   as_stored(gray, kPatchW, kPatchH, 1));
}

// Ink (0 = none) per patch: white, C, M, Y, K 50%, C+M, M+Y, rich brown, 3 grays, full black.
const std::vector<uint8_t> kInks = {0, 0,   0,   0,   255, 0,   0,   0,   0,   255, 0, 0,
                                    0, 0,   255, 0,   0,   0,   0,   128, 200, 200, 0, 0,
                                    0, 128, 200, 0,   60,  120, 160, 40,  0,   0,   0, 64,
                                    0, 0,   0,   160, 90,  90,  90,  90,  0,   0,   0, 255};

fixtures::Bytes ink_patches() {
  fixtures::Bytes cmyk(size_t(kPatchW) * kPatchH * 4);
  for (int y = 0; y < kPatchH; ++y)
    for (int x = 0; x < kPatchW; ++x) {
      const size_t patch = size_t(y * kPatchRows / kPatchH) * kPatchCols + x * kPatchCols / kPatchW;
      std::copy_n(&kInks[4 * patch], 4, &cmyk[(size_t(y) * kPatchW + x) * 4]);
    }
  return cmyk;
}

// The naive conversion, R = (1 - C)(1 - K) and so on: what browsers show of a CMYK JPEG without
// a profile, and what imgpipe made of one with a profile before.
fixtures::Bytes naive_rgb(const fixtures::Bytes& cmyk) {
  fixtures::Bytes rgb(cmyk.size() / 4 * 3);
  for (size_t i = 0; i < rgb.size() / 3; ++i)
    for (int c = 0; c < 3; ++c)
      rgb[3 * i + c] =
          static_cast<uint8_t>((255 - cmyk[4 * i + c]) * (255 - cmyk[4 * i + 3]) / 255);
  return rgb;
}

// CMYK and YCCK JPEGs (Adobe's inverted samples) with a printer profile come out as vips converts
// them through it (icc_transform: its thumbnail ignores CMYK profiles); imgpipe used to apply the
// naive formula, ~60 levels off in the mid-tones here.
TEST_F(E2eColourTest, CmykProfilesComeOutWithinTwoDeltaEOfVips) {
  if (!have_vips()) GTEST_SKIP() << "vips (libvips-tools) not installed";
  const fixtures::Bytes cmyk = ink_patches(), profile = fixtures::make_cmyk_profile();
  expect_like_vips(
      {{"cmyk.jpg", fixtures::make_tagged_cmyk_jpeg(cmyk, kPatchW, kPatchH, profile)},
       {"ycck.jpg", fixtures::make_tagged_cmyk_jpeg(cmyk, kPatchW, kPatchH, profile, true)}},
      as_stored(naive_rgb(cmyk), kPatchW, kPatchH, 3), true);
}

// Without a profile a CMYK or YCCK JPEG gets the naive formula (vips would use a generic press
// profile of its own; browsers and Pillow do this): each patch within 2 ΔE of it. So does one
// whose CMYK profile lcms cannot read, with one warning in its row (not a second one when resize
// meets the leftover profile).
TEST_F(E2eColourTest, UntaggedCmykGetsTheNaiveFormula) {
  const fixtures::Bytes cmyk = ink_patches();
  const Image want = as_stored(naive_rgb(cmyk), kPatchW, kPatchH, 3);
  fixtures::Bytes broken = fixtures::make_cmyk_profile();
  std::fill(broken.begin() + 128, broken.end(), 0x5a);  // a CMYK header, then garbage
  const fs::path list = write_files(
      {{"cmyk.jpg", fixtures::make_tagged_cmyk_jpeg(cmyk, kPatchW, kPatchH, {})},
       {"ycck.jpg", fixtures::make_tagged_cmyk_jpeg(cmyk, kPatchW, kPatchH, {}, true)},
       {"broken.jpg", fixtures::make_tagged_cmyk_jpeg(cmyk, kPatchW, kPatchH, broken)}});
  const fs::path out = dir_ / "out";
  Outcome r = run({"-i", list.string(), "-o", out.string(), "-f", "png", "--quiet"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto rows = manifest(out);
  for (int line = 1; line <= 3; ++line) {
    ASSERT_EQ(rows[line]["status"], "ok") << rows[line].dump();
    Item ours = decode_file(out / rows[line]["output"].get<std::string>());
    ASSERT_TRUE(ours.ok()) << ours.error;
    EXPECT_LE(worst_delta_e(ours.image, want, kPatchCols, kPatchRows), 2.0) << line;
  }
  EXPECT_EQ(rows[1]["warnings"], json::array());
  ASSERT_EQ(rows[3].value("warnings", json::array()).size(), 1u) << rows[3].dump();
  EXPECT_NE(rows[3]["warnings"][0].get<std::string>().find("naive"), std::string::npos);
}

// --keep-profile: the thumbnail carries the source's profile, byte for byte, over the stored
// pixels (the same thumbnail as of an untagged copy), in all three output formats.
TEST_F(E2eColourTest, KeepProfileEmbedsTheSourceProfileOverTheStoredPixels) {
  const fixtures::Bytes px =
      fixtures::make_patches(kPatchW, kPatchH, kPatchCols, kPatchRows, kPatchColours, 3);
  const fixtures::Bytes adobe = fixtures::make_rgb_profile(fixtures::RgbSpace::kAdobeRgb);
  const fs::path list =
      write_files({{"adobe.png", fixtures::make_tagged_png(px, kPatchW, kPatchH, 3, adobe)},
                   {"plain.png", fixtures::make_tagged_png(px, kPatchW, kPatchH, 3, {})}});
  for (const std::string format : {"jpg", "png", "webp"}) {
    const fs::path out = dir_ / ("out-" + format);
    Outcome r =
        run({"-i", list.string(), "-o", out.string(), "-f", format, "--keep-profile", "--quiet"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string tagged = slurp(out / ("00000001." + format));
    const std::string plain = slurp(out / ("00000002." + format));
    const fixtures::Bytes t(tagged.begin(), tagged.end()), p(plain.begin(), plain.end());
    const fixtures::Bytes carried = format == "jpg"   ? fixtures::read_jpeg_icc(t)
                                    : format == "png" ? fixtures::read_png_icc(t)
                                                      : fixtures::read_webp_icc(t);
    EXPECT_EQ(carried, adobe) << format;
    Item a = decode_file(out / ("00000001." + format)),
         b = decode_file(out / ("00000002." + format));
    ASSERT_TRUE(a.ok() && b.ok()) << format;
    EXPECT_EQ(a.image.bytes(), b.image.bytes());
    EXPECT_TRUE(std::equal(a.image.pixels.get(), a.image.pixels.get() + a.image.bytes(),
                           b.image.pixels.get()))
        << format << ": the stored pixels, unconverted";
  }
}

// Rewrites the CRC-32 of the PNG chunk whose type is at png[type_at], so a chunk changed on
// purpose passes the CRC check and reaches the code under test.
void reseal_png_chunk(uint8_t* png, size_t type_at) {
  uint8_t* type = png + type_at;
  const uint32_t length = uint32_t(type[-4]) << 24 | type[-3] << 16 | type[-2] << 8 | type[-1];
  const uint32_t crc = libdeflate_crc32(0, type, 4 + length);
  for (int i = 0; i < 4; ++i) type[4 + length + i] = static_cast<uint8_t>(crc >> (24 - 8 * i));
}

// Profiles that cannot be used never fail the image: garbage after a valid header, a truncated
// profile, a 7-byte one, a corrupt iCCP stream in a 16-bit PNG (lodepng used to fail the whole
// image on it), and an iCCP that inflates to 12 MB (dropped at 4 MiB, before it is all
// inflated). Each thumbnail is the untagged image's, and --keep-profile embeds nothing.
TEST_F(E2eColourTest, UnusableProfilesLeaveThePixelsAsStored) {
  const fixtures::Bytes px =
      fixtures::make_patches(kPatchW, kPatchH, kPatchCols, kPatchRows, kPatchColours, 3);
  const fixtures::Bytes adobe = fixtures::make_rgb_profile(fixtures::RgbSpace::kAdobeRgb);
  fixtures::Bytes garbage(3000, 0x5a);
  std::copy(adobe.begin(), adobe.begin() + 128, garbage.begin());
  const fixtures::Bytes truncated(adobe.begin(), adobe.begin() + 200);
  std::vector<uint8_t> png16(fixtures::make_png16(64, 48));
  const std::vector<uint8_t> plain16 = png16;
  ASSERT_TRUE(png_embed_icc(&png16, adobe));
  const size_t at = std::search(png16.begin(), png16.end(), "iCCP", "iCCP" + 4) - png16.begin();
  png16[at + 4 + 12 + 2 + 30] ^= 0xFF;  // inside the zlib stream, with a CRC that matches
  reseal_png_chunk(png16.data(), at);
  // The same in an 8-bit PNG, which libspng decodes.
  fixtures::Bytes png8 = fixtures::make_tagged_png(px, kPatchW, kPatchH, 3, adobe);
  const size_t at8 = std::search(png8.begin(), png8.end(), "iCCP", "iCCP" + 4) - png8.begin();
  png8[at8 + 4 + 5 + 2 + 30] ^= 0xFF;
  reseal_png_chunk(png8.data(), at8);
  const std::vector<Tagged> files = {
      {"garbage.jpg", fixtures::make_tagged_jpeg(px, kPatchW, kPatchH, 3, garbage)},
      {"plain.jpg", fixtures::make_tagged_jpeg(px, kPatchW, kPatchH, 3, {})},
      {"truncated.png", fixtures::make_tagged_png(px, kPatchW, kPatchH, 3, truncated)},
      {"tiny.webp", fixtures::make_tagged_webp(px, kPatchW, kPatchH, fixtures::Bytes(7, 1))},
      {"plain.png", fixtures::make_tagged_png(px, kPatchW, kPatchH, 3, {})},
      {"corrupt16.png", fixtures::Bytes(png16.begin(), png16.end())},
      {"plain16.png", fixtures::Bytes(plain16.begin(), plain16.end())},
      {"huge.png", fixtures::make_png_with_iccp(64, 48, 12 << 20)},
      {"plain-huge.png", fixtures::make_png_with_iccp(64, 48, 0)},
      {"corrupt8.png", png8},
  };
  const fs::path list = write_files(files);
  // Each tagged file's line, and the line of its untagged twin.
  const std::vector<std::pair<int, int>> twins = {{1, 2}, {3, 5}, {4, 5}, {6, 7}, {8, 9}, {10, 5}};
  for (bool keep : {false, true}) {
    const fs::path out = dir_ / (keep ? "keep" : "convert");
    std::vector<std::string> args = {"-i", list.string(), "-o",     out.string(),
                                     "-f", "png",         "--quiet"};
    if (keep) args.push_back("--keep-profile");
    Outcome r = run(args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto rows = manifest(out);
    for (auto [tagged, plain] : twins) {
      ASSERT_EQ(rows[tagged]["status"], "ok") << rows[tagged].dump();
      // The row says why the profile was not used; an untagged twin's row has nothing to say.
      EXPECT_NE(rows[tagged].value("warnings", json::array()).dump().find("ICC"), std::string::npos)
          << rows[tagged].dump();
      EXPECT_EQ(rows[plain]["warnings"], json::array()) << rows[plain].dump();
      const fs::path file = out / rows[tagged]["output"].get<std::string>();
      Item a = decode_file(file), b = decode_file(out / rows[plain]["output"].get<std::string>());
      ASSERT_TRUE(a.ok() && b.ok()) << tagged;
      EXPECT_TRUE(a.image.bytes() == b.image.bytes() &&
                  std::equal(a.image.pixels.get(), a.image.pixels.get() + a.image.bytes(),
                             b.image.pixels.get()))
          << files[tagged - 1].name;
      const std::string bytes = slurp(file);
      EXPECT_TRUE(fixtures::read_png_icc(fixtures::Bytes(bytes.begin(), bytes.end())).empty())
          << files[tagged - 1].name << ": nothing worth embedding";
    }
  }
}

}  // namespace
}  // namespace imgpipe

namespace imgpipe {
namespace {

// --fail-on end to end: a JPEG with junk before a marker passes with its warning in the row, a
// cut-off one is truncated (exit 1, like other per-item failures); --fail-on none passes both,
// error refuses both; the choice is in the options record.
TEST_F(E2eTest, FailOnDecidesTruncatedAndWarnings) {
  auto junk = fixtures::make_jpeg(64, 48);
  junk.insert(junk.begin() + 4 + (junk[4] << 8 | junk[5]), {0x00, 0x11, 0x22});
  const auto whole = fixtures::make_jpeg(256, 256);
  const std::vector<unsigned char> cut(whole.begin(), whole.begin() + whole.size() / 2);
  for (const auto& [name, bytes] : {std::pair{"junk.jpg", junk}, std::pair{"cut.jpg", cut}}) {
    std::ofstream f(dir_ / name, std::ios::binary);
    f.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  }
  const fs::path list = write_list({(dir_ / "junk.jpg").string(), (dir_ / "cut.jpg").string()});
  const std::pair<const char*, std::array<const char*, 3>> runs[] = {
      {"truncated", {"ok", "truncated", "1"}},
      {"none", {"ok", "ok", "0"}},
      {"error", {"decode_error", "truncated", "1"}}};
  for (const auto& [mode, expect] : runs) {
    const fs::path out = dir_ / mode;
    Outcome r = run({"-i", list.string(), "-o", out.string(), "--quiet", "--fail-on", mode});
    EXPECT_EQ(r.exit_code, std::stoi(expect[2])) << mode << r.err;
    auto rows = manifest(out);
    ASSERT_EQ(rows.size(), 2u) << mode;
    EXPECT_EQ(rows[1]["status"], expect[0]) << mode << rows[1].dump();
    EXPECT_EQ(rows[2]["status"], expect[1]) << mode << rows[2].dump();
    if (expect[0] == std::string("ok")) {
      ASSERT_EQ(rows[1]["warnings"].size(), 1u) << rows[1].dump();
      EXPECT_NE(rows[1]["warnings"][0].get<std::string>().find("3 extraneous bytes"),
                std::string::npos);
    }
    EXPECT_EQ(json::parse(slurp(out / ".imgpipe-options.json"))["fail-on"], mode);
  }
}

}  // namespace
}  // namespace imgpipe

// Interruption and --resume through the real binary: SIGINT/SIGTERM/SIGKILL a running imgpipe,
// resume it, and compare the result with an uninterrupted run.
#include <httplib.h>
#include <signal.h>
#include <sys/resource.h>

#include <set>
#include <thread>

#include "fixtures/e2e_fixture.h"

namespace imgpipe {
namespace {

using namespace std::chrono_literals;

class ResumeE2eTest : public E2eTest {
 protected:
  ResumeE2eTest() : slow_(fixtures::ServerOptions{0, 40, 0}) {}

  // The exit code; 1000 + the signal if a signal killed it (so a graceful exit 130 is told apart
  // from death by SIGINT); -1 if it did not end within `limit`.
  static int wait_exit(pid_t pid, std::chrono::milliseconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    int status = 0;
    while (waitpid(pid, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        ::kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        return -1;
      }
      std::this_thread::sleep_for(10ms);
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1000 + WTERMSIG(status);
  }

  // Waits until the manifest has at least n rows (the run is well under way).
  void wait_rows(const fs::path& out, size_t n) {
    for (int i = 0; i < 500 && count_lines(out / "manifest.jsonl") < n; ++i)
      std::this_thread::sleep_for(10ms);
  }
  static size_t count_lines(const fs::path& p) {
    std::ifstream in(p);
    return std::count(std::istreambuf_iterator<char>(in), {}, '\n');
  }

  // Every file under `out` but the manifest and imgpipe's own records (the lock holds a pid),
  // relative, with its bytes.
  static std::map<std::string, std::string> files(const fs::path& out) {
    std::map<std::string, std::string> f;
    for (const auto& e : fs::recursive_directory_iterator(out))
      if (e.is_regular_file() && e.path().filename() != "manifest.jsonl" &&
          e.path().filename().string().rfind(".imgpipe", 0) != 0)
        f[fs::relative(e.path(), out).string()] = slurp(e.path());
    return f;
  }

  // A list whose run takes a few seconds: 120 images behind 40 ms of latency, 4 at a time.
  std::vector<std::string> slow_list() {
    std::vector<std::string> lines = small_images(slow_, 120);
    lines[7] = slow_.url("/status/503");  // a retryable failure is done again by --resume
    lines[9] = slow_.url("/status/404");  // one that is not is kept as it was
    return lines;
  }

  std::vector<std::string> args(const fs::path& list, const fs::path& out) {
    return {"-i", list.string(), "-o",      out.string(), "-j", "4",
            "-s", "16",          "--quiet", "--retries",  "0"};
  }

  // Interrupts a run with `sig` once some rows exist, resumes it, and checks the result against an
  // uninterrupted run: same rows, same files, and no line that was done fetched twice.
  void interrupt_and_resume(int sig, int expected_exit) {
    fs::path list = write_list(slow_list());
    fs::path out = dir_ / "out", ref = dir_ / "ref";
    pid_t pid = spawn(args(list, out));
    wait_rows(out, 20);
    ::kill(pid, sig);
    ASSERT_EQ(wait_exit(pid, 10s), expected_exit) << slurp(dir_ / "stderr");
    auto first = manifest(out);
    ASSERT_GE(first.size(), 20u);
    ASSERT_LT(first.size(), 120u) << "the run ended before the signal: nothing to resume";
    for (const auto& [name, bytes] : files(out)) {  // SIGKILL may cut a write: a hidden .tmp
      if (sig != SIGKILL) {
        EXPECT_EQ(name.find(".tmp"), std::string::npos) << "left: " << name;
      }
    }

    std::vector<std::string> resume = args(list, out);
    resume.push_back("--resume");
    Outcome r = run(resume);
    EXPECT_EQ(r.exit_code, 1) << r.err;  // lines 8 and 10 failed
    EXPECT_NE(r.err.find(std::to_string(first.size() - (first.count(8) ? 1 : 0)) +
                         " lines were already done"),
              std::string::npos)
        << r.err;
    for (const auto& [line, row] : first)
      if (row["status"] == "ok" || line == 10) {
        std::string path = row["url"].get<std::string>().substr(slow_.url("").size());
        EXPECT_EQ(slow_.hits(path), 1) << "line " << line << " was done, yet fetched again";
      }

    Outcome whole = run(args(list, ref));
    EXPECT_EQ(whole.exit_code, 1) << whole.err;
    auto resumed = manifest(out), reference = manifest(ref);
    ASSERT_EQ(resumed.size(), 120u) << "exactly one row per line after --resume";
    for (const auto& [line, row] : reference) {
      EXPECT_EQ(resumed[line]["status"], row["status"]) << line;
      EXPECT_EQ(resumed[line]["output"], row["output"]) << line;
    }
    EXPECT_EQ(files(out), files(ref)) << "the same thumbnails, byte for byte, and no leftovers";
  }

  fixtures::FixtureServer slow_;
};

TEST_F(ResumeE2eTest, SigintThenResumeMatchesAnUninterruptedRun) {
  interrupt_and_resume(SIGINT, 130);
}

TEST_F(ResumeE2eTest, SigtermThenResumeMatchesAnUninterruptedRun) {
  interrupt_and_resume(SIGTERM, 130);
}

// SIGKILL gives no chance to clean up: rows are whole and files complete all the same.
TEST_F(ResumeE2eTest, SigkillThenResumeMatchesAnUninterruptedRun) {
  interrupt_and_resume(SIGKILL, 1000 + SIGKILL);
}

// A row says ok but its file is gone: --resume must redo that line, not trust the row.
TEST_F(ResumeE2eTest, ResumeRedoesOkLinesWhoseFileIsMissing) {
  fs::path list = write_list(small_images(server_, 5));
  fs::path out = dir_ / "out";
  ASSERT_EQ(run({"-i", list.string(), "-o", out.string(), "--quiet"}).exit_code, 0);
  fs::remove(out / "00000003.jpg");
  Outcome r = run({"-i", list.string(), "-o", out.string(), "--quiet", "--resume"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("4 lines were already done"), std::string::npos) << r.err;
  EXPECT_TRUE(fs::exists(out / "00000003.jpg"));
  EXPECT_EQ(manifest(out).size(), 5u);
  EXPECT_EQ(server_.hits("/image/22x20.jpg"), 2);
  EXPECT_EQ(server_.hits("/image/20x20.jpg"), 1);
}

// --resume does again what may now succeed (a 503) and keeps what would fail the same way (a
// 404, a broken image), still exiting 1 for them; --retry-failed all does every failure again.
TEST_F(ResumeE2eTest, ResumeRedoesOnlyRetryableFailuresUnlessRetryFailedAll) {
  fs::path list = write_list({server_.url("/image/20x20.jpg"), server_.url("/status/404"),
                              server_.url("/status/503"), server_.url("/corrupt.jpg")});
  fs::path out = dir_ / "out";
  const std::vector<std::string> args = {"-i",        list.string(), "-o",     out.string(),
                                         "--retries", "0",           "--quiet"};
  auto with = [&args](std::vector<std::string> more) {
    more.insert(more.begin(), args.begin(), args.end());
    return more;
  };
  ASSERT_EQ(run(args).exit_code, 1);
  Outcome r = run(with({"--resume"}));
  EXPECT_EQ(r.exit_code, 1) << "the kept failures are still failures: " << r.err;
  EXPECT_NE(r.err.find("3 lines were already done (2 of them failed"), std::string::npos) << r.err;
  EXPECT_EQ(server_.hits("/status/503"), 2);
  EXPECT_EQ(server_.hits("/status/404"), 1);
  EXPECT_EQ(server_.hits("/corrupt.jpg"), 1);
  EXPECT_EQ(server_.hits("/image/20x20.jpg"), 1);
  auto rows = manifest(out);
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[2]["status"], "http_error");

  r = run(with({"--resume", "--retry-failed", "all"}));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("1 lines were already done\n"), std::string::npos) << r.err;
  EXPECT_EQ(server_.hits("/status/404"), 2);
  EXPECT_EQ(server_.hits("/corrupt.jpg"), 2);
  EXPECT_EQ(server_.hits("/status/503"), 3);
  EXPECT_EQ(manifest(out).size(), 4u);
}

// A torn last row (a killed run mid-write) is dropped, and its line redone.
TEST_F(ResumeE2eTest, ResumeDropsATornRow) {
  fs::path list = write_list(small_images(server_, 3));
  fs::path out = dir_ / "out";
  ASSERT_EQ(run({"-i", list.string(), "-o", out.string(), "--quiet"}).exit_code, 0);
  std::ofstream(out / "manifest.jsonl", std::ios::app) << R"({"line":2,"url":"x","status":"o)";
  Outcome r = run({"-i", list.string(), "-o", out.string(), "--quiet", "--resume"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(manifest(out).size(), 3u);
}

// Stopping must not wait for a producer that keeps stdin open and silent.
TEST_F(ResumeE2eTest, SigintWithAnOpenSilentStdinStillExits) {
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);  // the child gets only its stdin copy of the read end
  fs::path out = dir_ / "out";
  pid_t pid = spawn({"-i", "-", "-o", out.string(), "--quiet"}, fds[0]);
  ::close(fds[0]);
  std::string line = server_.url("/image/30x20.jpg") + "\n";
  ASSERT_EQ(::write(fds[1], line.data(), line.size()), static_cast<ssize_t>(line.size()));
  wait_rows(out, 1);
  ::kill(pid, SIGINT);
  EXPECT_EQ(wait_exit(pid, 5s), 130) << slurp(dir_ / "stderr");
  ::close(fds[1]);
  EXPECT_EQ(manifest(out).size(), 1u);
}

// The first SIGINT drains the graph; a second one while that is still going exits at once with
// 130 (the watcher thread _exits), so nobody has to wait for work they asked to abandon. Rows
// written by then are whole: each is one write(2) under the manifest's mutex.
TEST_F(ResumeE2eTest, SecondSigintWhileDrainingExitsAtOnceWithWholeRows) {
  // Slow to drain: one worker, ~70 items in flight (64 transfers + 4 per core), each a 12 MP JPEG
  // decoded at full size (--codec stb has no shrink-on-load): seconds of work even in release.
  const std::string path = "/image/4000x3000.jpg";
  httplib::Client warm("127.0.0.1", server_.port());  // encode it once, not once per transfer
  warm.set_read_timeout(60, 0);  // encoding 12 MP takes seconds in a sanitizer build under load
  ASSERT_TRUE(warm.Get(path.c_str()));
  fs::path out = dir_ / "out";
  pid_t pid = spawn({"-i", write_list(std::vector<std::string>(300, server_.url(path))).string(),
                     "-o", out.string(), "-t", "1", "--codec", "stb", "-s", "16", "--quiet"});
  ASSERT_GT(pid, 0);
  for (int i = 0; i < 3000 && count_lines(out / "manifest.jsonl") < 1; ++i)
    std::this_thread::sleep_for(10ms);
  ASSERT_GE(count_lines(out / "manifest.jsonl"), 1u) << slurp(dir_ / "stderr");

  ::kill(pid, SIGINT);
  for (int i = 0; i < 500 && slurp(dir_ / "stderr").find("finishing") == std::string::npos; ++i)
    std::this_thread::sleep_for(10ms);  // the watcher has taken the first signal
  const auto second = std::chrono::steady_clock::now();
  ::kill(pid, SIGINT);
  EXPECT_EQ(wait_exit(pid, 20s), 130) << slurp(dir_ / "stderr");
  const auto took = std::chrono::steady_clock::now() - second;
  // _exit is immediate; sanitizer builds spend a moment on their own exit reports.
  EXPECT_LT(took, kSanitizedBuild ? 5s : 1s)
      << std::chrono::duration<double>(took).count() << " s after the second signal";
  const std::string err = slurp(dir_ / "stderr");
  EXPECT_NE(err.find("interrupted again: exiting now"), std::string::npos)
      << "the drain ended before the second signal, so it was not tested: " << err;

  // Whole rows only, one per line at most, and far from all 300 lines.
  const std::string text = slurp(out / "manifest.jsonl");
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n') << "a torn last row";
  auto rows = manifest(out);  // parses every row, fails on a duplicate line
  EXPECT_EQ(rows.size(), count_lines(out / "manifest.jsonl"));
  EXPECT_LT(rows.size(), 300u);
  for (const auto& [line, row] : rows) EXPECT_EQ(row["status"], "ok") << row.dump();
}

// A full disk, stood in for by a file size limit (RLIMIT_FSIZE, which makes a write past it fail
// like ENOSPC does): the run stops with a clear error and exit 2, the manifest holds only whole
// rows, and --resume completes the run once there is room.
TEST_F(ResumeE2eTest, DiskFullStopsCleanlyAndResumeCompletes) {
  fs::path list = write_list(small_images(server_, 60));
  fs::path out = dir_ / "out";
  rlimit old{};
  getrlimit(RLIMIT_FSIZE, &old);
  rlimit small = old;
  small.rlim_cur = 4000;  // room for a dozen rows; every thumbnail is far smaller
  setrlimit(RLIMIT_FSIZE, &small);
  Outcome r = run({"-i", list.string(), "-o", out.string(), "--quiet", "-j", "2"});
  setrlimit(RLIMIT_FSIZE, &old);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("manifest write failed: File too large"), std::string::npos) << r.err;
  std::string text = slurp(out / "manifest.jsonl");
  EXPECT_LE(text.size(), 4000u);
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n') << "the torn row must be cut off";
  auto first = manifest(out);  // parses every row: none is torn
  EXPECT_LT(first.size(), 60u);

  r = run({"-i", list.string(), "-o", out.string(), "--quiet", "--resume"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(manifest(out).size(), 60u);
}

// --resume keeps a done line in 24 bytes (README, "Resume"): a 2-million-row manifest must not
// cost more than that, plus what any run costs, and every line is skipped without a transfer.
TEST_F(ResumeE2eTest, AHugeManifestCostsWhatTheReadmePromises) {
  const int rows = kSanitizedBuild ? 200'000 : 2'000'000;  // sanitizers: time, not memory
  fs::path out = dir_ / "out", list = dir_ / "list.txt";
  fs::create_directories(out);
  std::ofstream(out / "a.jpg") << "x";
  {
    std::ofstream m(out / "manifest.jsonl"), l(list);
    for (int line = 1; line <= rows; ++line) {
      m << R"({"line":)" << line << R"(,"url":"http://127.0.0.1:9/)" << line
        << R"(.jpg","status":"ok","output":"a.jpg"})"
        << "\n";
      l << "http://127.0.0.1:9/" << line << ".jpg\n";
    }
  }
  Outcome r = run({"-i", list.string(), "-o", out.string(), "--quiet", "--resume"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find(std::to_string(rows) + " lines were already done"), std::string::npos)
      << r.err;
  EXPECT_EQ(count_lines(out / "manifest.jsonl"), static_cast<size_t>(rows));
  if (kSanitizedBuild) return;
  Outcome empty = run({"-i", "/dev/null", "-o", (dir_ / "empty").string(), "--quiet"});
  const long promised_kb = 24L * rows / 1024;
  EXPECT_LT(r.max_rss_kb, empty.max_rss_kb + promised_kb + 16 * 1024)
      << "resume " << r.max_rss_kb << " KB, an empty run " << empty.max_rss_kb << " KB";
}

}  // namespace
}  // namespace imgpipe

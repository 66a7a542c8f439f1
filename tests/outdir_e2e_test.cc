// OUTDIR's rules through the real binary: one run at a time, no silent reuse, --resume that notices
// a changed list or changed options, no symlink followed, and every output error reported.
#include <signal.h>

#include <thread>

#include "fixtures/e2e_fixture.h"

namespace imgpipe {
namespace {

using namespace std::chrono_literals;

class OutdirE2eTest : public E2eTest {
 protected:
  std::vector<std::string> args(const fs::path& list, const fs::path& out,
                                std::vector<std::string> more = {}) {
    std::vector<std::string> a = {"-i", list.string(), "-o", out.string(), "--quiet"};
    a.insert(a.end(), more.begin(), more.end());
    return a;
  }
};

// Two runs on one OUTDIR would interleave rows and overwrite each other's thumbnails: the second
// is refused at once, naming the first one's pid, and the first is undisturbed.
TEST_F(OutdirE2eTest, ASecondRunOnTheSameFolderIsRefusedWithTheHoldersPid) {
  fixtures::FixtureServer slow(fixtures::ServerOptions{0, 300, 0});
  std::vector<std::string> lines;
  for (int i = 0; i < 8; ++i)
    lines.push_back(slow.url("/image/" + std::to_string(30 + i) + "x20.jpg"));
  fs::path list = write_list(lines), out = dir_ / "out";
  pid_t first = spawn(args(list, out, {"-j", "2"}), -1, "/dev/null");
  ASSERT_GT(first, 0);
  for (int i = 0; i < 300 && !fs::exists(out / "manifest.jsonl"); ++i)
    std::this_thread::sleep_for(10ms);
  Outcome second = run(args(list, out, {"--resume"}));
  int status = 0;
  waitpid(first, &status, 0);
  EXPECT_EQ(second.exit_code, 2) << second.err;
  EXPECT_NE(second.err.find("pid " + std::to_string(first)), std::string::npos) << second.err;
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_EQ(manifest(out).size(), 8u);
}

// Running again into a used folder without saying how must not throw the earlier manifest away.
TEST_F(OutdirE2eTest, ReusingAFolderNeedsResumeOrOverwrite) {
  fs::path list = write_list(small_images(server_, 3)), out = dir_ / "out";
  ASSERT_EQ(run(args(list, out)).exit_code, 0);
  const std::string before = slurp(out / "manifest.jsonl");
  Outcome r = run(args(list, out));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--resume"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--overwrite"), std::string::npos) << r.err;
  EXPECT_EQ(slurp(out / "manifest.jsonl"), before);
  EXPECT_EQ(run(args(list, out, {"--resume", "--overwrite"})).exit_code, 2) << "one or the other";
}

// --overwrite starts afresh: the old run's thumbnails go (a line that fails now leaves no stale
// file behind), files imgpipe did not make stay.
TEST_F(OutdirE2eTest, OverwriteRemovesTheEarlierRunsFilesOnly) {
  fs::path out = dir_ / "out";
  ASSERT_EQ(run(args(write_list(small_images(server_, 3)), out)).exit_code, 0);
  std::ofstream(out / "notes.txt") << "mine";
  fs::path list = write_list({server_.url("/image/20x20.jpg"), server_.url("/status/404")});
  Outcome r = run(args(list, out, {"--overwrite"}));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(manifest(out).size(), 2u);
  EXPECT_TRUE(fs::exists(out / "00000001.jpg"));
  EXPECT_FALSE(fs::exists(out / "00000002.jpg")) << "line 2 failed this time: no old thumbnail";
  EXPECT_FALSE(fs::exists(out / "00000003.jpg"));
  EXPECT_EQ(slurp(out / "notes.txt"), "mine");
}

// A line inserted at the top shifts every line number: --resume must redo the shifted lines (their
// URLs changed) instead of keeping rows for the wrong URLs, and end with one row per line.
TEST_F(OutdirE2eTest, ResumeNoticesAChangedListByUrl) {
  std::vector<std::string> lines = small_images(server_, 4);
  fs::path out = dir_ / "out";
  ASSERT_EQ(run(args(write_list(lines), out)).exit_code, 0);
  lines.insert(lines.begin(), server_.url("/image/90x20.jpg"));
  fs::path list = write_list(lines);
  Outcome r = run(args(list, out, {"--resume"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("0 lines were already done"), std::string::npos) << r.err;
  std::map<int, json> rows = manifest(out);
  ASSERT_EQ(rows.size(), 5u);
  for (int line = 1; line <= 5; ++line) {
    EXPECT_EQ(rows[line]["url"], lines[line - 1]) << line;
    Item t = decode_file(out / rows[line]["output"].get<std::string>());
    EXPECT_EQ(t.source_width, line == 1 ? 90 : 20 + line - 2) << "thumbnail of line " << line;
  }
}

// The manifest records a URL without its user:password@; --resume must still know the line.
TEST_F(OutdirE2eTest, ResumeKnowsLinesWhoseUrlsCarryCredentials) {
  std::vector<std::string> lines = small_images(server_, 3);
  lines[1].insert(lines[1].find("://") + 3, "user:secret@");
  fs::path list = write_list(lines), out = dir_ / "out";
  ASSERT_EQ(run(args(list, out)).exit_code, 0);
  Outcome r = run(args(list, out, {"--resume"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("3 lines were already done"), std::string::npos) << r.err;
  EXPECT_EQ(manifest(out).size(), 3u);
}

// A shorter list: rows of lines it no longer has go too.
TEST_F(OutdirE2eTest, ResumeDropsRowsOfLinesTheListNoLongerHas) {
  std::vector<std::string> lines = small_images(server_, 4);
  fs::path out = dir_ / "out";
  ASSERT_EQ(run(args(write_list(lines), out)).exit_code, 0);
  lines.resize(2);
  Outcome r = run(args(write_list(lines), out, {"--resume"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("2 lines were already done"), std::string::npos) << r.err;
  EXPECT_EQ(manifest(out).size(), 2u);
}

// Changing what the files look like and resuming would mix two kinds of thumbnail in one folder
// (or skip every line and keep the old ones): refused, naming the options that differ.
TEST_F(OutdirE2eTest, ResumeWithOtherOutputOptionsIsRefused) {
  fs::path list = write_list(small_images(server_, 2)), out = dir_ / "out";
  ASSERT_EQ(run(args(list, out, {"-s", "64"})).exit_code, 0);
  Outcome r = run(args(list, out, {"-s", "128", "-f", "png", "--resume"}));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--size"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--format"), std::string::npos) << r.err;
  EXPECT_EQ(run(args(list, out, {"-s", "64", "--resume"})).exit_code, 0) << "same options: fine";
}

// A torn last row that happens to be whole JSON (cut just before its newline) is still dropped,
// never glued to the next row the resumed run appends.
TEST_F(OutdirE2eTest, ATornRowWithoutItsNewlineIsNotGluedToTheNext) {
  fs::path list = write_list(small_images(server_, 3)), out = dir_ / "out";
  ASSERT_EQ(run(args(list, out)).exit_code, 0);
  std::string text = slurp(out / "manifest.jsonl");
  const size_t last = text.rfind('\n', text.size() - 2);
  text.pop_back();  // the last row loses its newline: whole JSON, but torn
  std::ofstream(out / "manifest.jsonl", std::ios::trunc) << text;
  const json torn = json::parse(text.substr(last + 1));
  // Another line's file goes missing, so the resumed run appends a row after the torn one.
  const json first = json::parse(text.substr(0, text.find('\n')));
  fs::remove(out / first["output"].get<std::string>());
  ASSERT_EQ(run(args(list, out, {"--resume"})).exit_code, 0);
  std::map<int, json> rows = manifest(out);  // parses every line: a glued row would throw
  EXPECT_EQ(rows.size(), 3u);
  EXPECT_TRUE(rows.count(torn["line"].get<int>()));
}

// A symlink planted at the manifest (or at the --resume temporary) must not redirect the write.
TEST_F(OutdirE2eTest, SymlinksPlantedAtTheManifestAreNotFollowed) {
  fs::path list = write_list(small_images(server_, 2)), out = dir_ / "out";
  fs::create_directories(out);
  std::ofstream(dir_ / "victim") << "precious";
  fs::create_symlink(dir_ / "victim", out / "manifest.jsonl");
  Outcome r = run(args(list, out, {"--overwrite"}));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(slurp(dir_ / "victim"), "precious");

  fs::path out2 = dir_ / "out2";
  ASSERT_EQ(run(args(list, out2)).exit_code, 0);
  fs::create_symlink(dir_ / "victim", out2 / "manifest.jsonl.resume.tmp");
  r = run(args(list, out2, {"--resume"}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(slurp(dir_ / "victim"), "precious");
  EXPECT_EQ(manifest(out2).size(), 2u);
}

// Results a script asked for that cannot be written are an error, not a silent exit 0.
TEST_F(OutdirE2eTest, JsonToAFullStdoutIsAnError) {
  fs::path list = write_list(small_images(server_, 2));
  stdout_path_ = "/dev/full";
  Outcome r = run({"-i", list.string(), "-o", (dir_ / "a").string(), "--json"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("stdout"), std::string::npos) << r.err;
  r = run({"-i", list.string(), "-o", (dir_ / "b").string()});  // the table, likewise
  EXPECT_EQ(r.exit_code, 2) << r.err;
}

// Out of file descriptors showed up as hundreds of "Couldn't connect" rows. The soft limit is
// raised to the hard one at start; if --concurrency still cannot fit, setup says so.
TEST_F(OutdirE2eTest, TooFewFileDescriptorsIsASetupErrorAndTheSoftLimitIsRaised) {
  fs::path list = write_list(small_images(server_, 40));
  prefix_ = {"prlimit", "--nofile=100:100"};
  Outcome r = run(args(list, dir_ / "a", {"-j", "200"}));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("--concurrency 200 needs about 464 open files"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir_ / "a" / "manifest.jsonl"));

  prefix_ = {"prlimit", "--nofile=100:4096"};  // the soft limit alone is too low
  r = run(args(list, dir_ / "b", {"-j", "200", "--per-host", "200"}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(manifest(dir_ / "b").size(), 40u);
}

}  // namespace
}  // namespace imgpipe

// The shard contract through the real binary: plan, run (all shards, killed ones, two workers on
// one, --worker and --shard auto from a scheduler's variables), status, and plan's memory.
#include <signal.h>
#include <stdlib.h>

#include <set>
#include <thread>

#include "fixtures/e2e_fixture.h"
#include "pipeline/shards.h"

namespace imgpipe {
namespace {

class ShardsE2eTest : public E2eTest {
 protected:
  void TearDown() override {
    for (const char* v : kArrayIndexVariables) ::unsetenv(v);
    E2eTest::TearDown();
  }

  fs::path job() const { return dir_ / "job"; }
  fs::path shard_dir(int k) const { return job() / "shards" / shard_name(k); }

  Outcome plan(const fs::path& list, int size, std::vector<std::string> more = {}) {
    std::vector<std::string> a = {"plan",         "-i",           list.string(),       "-o",
                                  job().string(), "--shard-size", std::to_string(size)};
    a.insert(a.end(), more.begin(), more.end());
    return run(a);
  }
  Outcome run_shards(std::vector<std::string> more) {
    std::vector<std::string> a = {"run", job().string(), "--no-progress"};
    a.insert(a.end(), more.begin(), more.end());
    return run(a);
  }
  Outcome status(bool as_json = false) {
    return as_json ? run({"status", job().string(), "--json"}) : run({"status", job().string()});
  }

  // Every row of every shard's manifest, keyed by line; a line twice fails the test.
  std::map<int, json> union_of_manifests(int shards) {
    std::map<int, json> all;
    for (int k = 0; k < shards; ++k)
      for (auto& [line, row] : manifest(shard_dir(k))) {
        EXPECT_FALSE(all.count(line)) << "line " << line << " in two shards";
        row["shard"] = k;
        all[line] = row;
      }
    return all;
  }
};

// The contract's promise: the shards together are the plain run — one row per input line, each
// in the shard that holds the line, and every thumbnail byte for byte the same.
TEST_F(ShardsE2eTest, AllShardsTogetherEqualOnePlainRun) {
  std::vector<std::string> lines = {"# a comment, then a blank line", ""};
  for (const std::string& url : small_images(server_, 16)) lines.push_back(url);
  lines.insert(lines.begin() + 7, server_.url("/status/404"));
  lines.insert(lines.begin() + 11, "not a url");
  const fs::path list = write_list(lines);
  const std::vector<std::string> shaping = {"-s", "40x30", "--fit", "cover", "-f", "png"};
  ASSERT_EQ(plan(list, 5, shaping).exit_code, 0);
  const json plan_file = json::parse(slurp(job() / "plan.json"));
  EXPECT_EQ(plan_file["lines"], 18);
  EXPECT_EQ(plan_file["shards"], 4);
  EXPECT_EQ(plan_file["options"]["fit"], "cover");

  Outcome r = run_shards({"--shard", "0", "--shard", "1-3", "-j", "4"});
  EXPECT_EQ(r.exit_code, 1) << r.err;  // the 404 and the bad line are failed lines
  for (int k = 0; k < 4; ++k) EXPECT_TRUE(fs::exists(shard_dir(k) / "done.json")) << k;

  std::vector<std::string> plain = {"-i", list.string(), "-o", (dir_ / "plain").string(),
                                    "--quiet"};
  plain.insert(plain.end(), shaping.begin(), shaping.end());
  ASSERT_EQ(run(plain).exit_code, 1);
  const std::map<int, json> want = manifest(dir_ / "plain"), got = union_of_manifests(4);
  ASSERT_EQ(got.size(), want.size());
  int ok = 0;
  for (const auto& [line, row] : want) {
    ASSERT_TRUE(got.count(line)) << "line " << line << " has no row";
    const json& g = got.at(line);
    EXPECT_EQ(g["status"], row["status"]) << line;
    EXPECT_EQ(g["url"], row["url"]) << line;
    if (row["status"] != "ok") continue;
    ++ok;
    EXPECT_EQ(g["output"], row["output"]);
    const std::string shard_file = slurp(shard_dir(g["shard"]) / g["output"].get<std::string>());
    EXPECT_FALSE(shard_file.empty());
    EXPECT_EQ(shard_file, slurp(dir_ / "plain" / row["output"].get<std::string>())) << line;
  }
  EXPECT_EQ(ok, 16);

  Outcome s = status();
  EXPECT_EQ(s.exit_code, 0) << s.out << s.err;
  EXPECT_NE(s.out.find("every shard is done"), std::string::npos) << s.out;
  EXPECT_NE(s.out.find("ok=16"), std::string::npos) << s.out;
  Outcome again = run_shards({"--shard", "2"});
  EXPECT_NE(again.err.find("shard 2: already done"), std::string::npos) << again.err;
  EXPECT_EQ(server_.hits("/image/20x20.jpg"), 2) << "once for the shards, once for the plain run";
}

// A worker killed outright (no chance to clean up) leaves a shard without its done marker; the
// next run of that shard resumes it: at the end one row per line, nothing lost, nothing twice.
TEST_F(ShardsE2eTest, AShardKilledWithSigkillIsRedoneWithNothingLostOrDoubled) {
  fixtures::FixtureServer slow(fixtures::ServerOptions{0, 40, 0});
  std::vector<std::string> lines;
  for (int i = 0; i < 60; ++i)
    lines.push_back(slow.url("/image/" + std::to_string(20 + i) + "x20.jpg"));
  ASSERT_EQ(plan(write_list(lines), 60).exit_code, 0);
  pid_t pid = spawn({"run", job().string(), "--shard", "0", "-j", "2", "--quiet"});
  ASSERT_GT(pid, 0);
  wait_rows(shard_dir(0) / "manifest.jsonl", 10);
  ::kill(pid, SIGKILL);
  ASSERT_EQ(wait_exit(pid), 1000 + SIGKILL);
  const size_t before = rows_in(shard_dir(0) / "manifest.jsonl");
  ASSERT_GE(before, 10u);
  ASSERT_LT(before, 60u) << "the shard finished before the kill: nothing to redo";
  EXPECT_FALSE(fs::exists(shard_dir(0) / "done.json"));
  Outcome s = status();
  EXPECT_NE(s.exit_code, 0);
  EXPECT_NE(s.out.find("done 0, running 0, failed 1, missing 0"), std::string::npos) << s.out;

  Outcome r = run_shards({"--shard", "0", "-j", "8"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("shard 0: done, 60 lines, 0 failed"), std::string::npos) << r.err;
  std::map<int, json> rows = manifest(shard_dir(0));  // fails on a line twice
  ASSERT_EQ(rows.size(), 60u);
  EXPECT_EQ(rows.begin()->first, 1);
  EXPECT_EQ(rows.rbegin()->first, 60);
  for (const auto& [line, row] : rows) {
    EXPECT_EQ(row["status"], "ok") << line;
    EXPECT_TRUE(fs::exists(shard_dir(0) / row["output"].get<std::string>())) << line;
  }
  const json marker = json::parse(slurp(shard_dir(0) / "done.json"));
  EXPECT_EQ(marker["lines"], 60);
  EXPECT_GE(marker["resumed"].get<int>(), 1) << "the killed run's finished lines were kept";
  EXPECT_EQ(status().exit_code, 0);
}

// Two workers given the same shard: the second is refused at once, saying so, and exits
// non-zero; the first finishes the shard undisturbed.
// While a worker runs a shard, status says it is running (not failed, and not in the spec to
// resubmit), and a second worker given that shard is refused without touching it.
TEST_F(ShardsE2eTest, ARunningShardIsShownRunningAndASecondWorkerIsRefused) {
  fixtures::FixtureServer slow(fixtures::ServerOptions{0, 200, 0});
  std::vector<std::string> lines;
  for (int i = 0; i < 8; ++i)
    lines.push_back(slow.url("/image/" + std::to_string(30 + i) + "x20.jpg"));
  ASSERT_EQ(plan(write_list(lines), 8).exit_code, 0);
  pid_t first = spawn({"run", job().string(), "--shard", "0", "-j", "2", "--quiet"});
  ASSERT_GT(first, 0);
  wait_rows(shard_dir(0) / "manifest.jsonl", 1);
  Outcome running = status();
  EXPECT_NE(running.out.find("done 0, running 1, failed 0, missing 0"), std::string::npos)
      << running.out;
  EXPECT_NE(running.out.find("running: --array=0"), std::string::npos) << running.out;
  EXPECT_EQ(running.out.find("not done"), std::string::npos) << running.out;
  EXPECT_EQ(json::parse(status(true).out)["array"], "");
  Outcome second = run_shards({"--shard", "0"});
  EXPECT_EQ(wait_exit(first), 0);
  EXPECT_EQ(second.exit_code, 2) << second.err;
  EXPECT_NE(second.err.find("shard 0: failed: another imgpipe run (pid " + std::to_string(first)),
            std::string::npos)
      << second.err;
  EXPECT_EQ(manifest(shard_dir(0)).size(), 8u);
  EXPECT_TRUE(fs::exists(shard_dir(0) / "done.json"));
  EXPECT_EQ(status().exit_code, 0);
}

// status names the shards still to run as a Slurm --array spec and exits non-zero until all are
// done; --worker I/W and --worker auto/W (the index from SLURM_ARRAY_TASK_ID) fill in the rest.
TEST_F(ShardsE2eTest, StatusGivesTheArraySpecOfWhatIsLeft) {
  ASSERT_EQ(plan(write_list(small_images(server_, 7)), 1).exit_code, 0);
  ASSERT_EQ(run_shards({"--shard", "1", "--shard", "3"}).exit_code, 0);
  Outcome s = status();
  EXPECT_EQ(s.exit_code, 1);
  EXPECT_NE(s.out.find("done 2, running 0, failed 0, missing 5"), std::string::npos) << s.out;
  EXPECT_NE(s.out.find("--array=0,2,4-6"), std::string::npos) << s.out;
  const json j = json::parse(status(true).out);
  EXPECT_EQ(j["array"], "0,2,4-6");
  EXPECT_EQ(j["done"], json::array({1, 3}));
  EXPECT_EQ(j["missing"], json::array({0, 2, 4, 5, 6}));
  EXPECT_EQ(j["by_status"]["ok"], 2);
  EXPECT_EQ(j["done_lines"], 2);

  ASSERT_EQ(run_shards({"--worker", "0/2"}).exit_code, 0);  // 0, 2, 4, 6
  EXPECT_EQ(json::parse(status(true).out)["array"], "5");
  ::setenv("SLURM_ARRAY_TASK_ID", "1", 1);
  ::setenv("SLURM_ARRAY_TASK_COUNT", "1", 1);      // a partial re-run: never the worker count
  Outcome w = run_shards({"--worker", "auto/2"});  // 1, 3 (already done), 5
  EXPECT_EQ(w.exit_code, 0) << w.err;
  EXPECT_NE(w.err.find("shard 3: already done"), std::string::npos) << w.err;
  EXPECT_NE(w.err.find("shard 5: done"), std::string::npos) << w.err;
  Outcome all = status();
  EXPECT_EQ(all.exit_code, 0) << all.out;
  EXPECT_NE(all.out.find("ok=7"), std::string::npos) << all.out;
}

// A done marker edited or damaged by hand neither crashes status nor passes for done: the shard is
// not done, and its next run resumes it (nothing to redo: every row is kept) and writes the marker
// again.
TEST_F(ShardsE2eTest, ADamagedDoneMarkerIsNotDone) {
  ASSERT_EQ(plan(write_list(small_images(server_, 4)), 2).exit_code, 0);
  ASSERT_EQ(run_shards({"--worker", "0/1"}).exit_code, 0);
  const std::string good = slurp(shard_dir(0) / "done.json");
  for (const std::string& bad :
       {std::string(R"({"lines": "2", "bytes": 1, "by_status": {}})"), std::string("[1, 2]"),
        std::string(R"({"lines": 2, "bytes": 1, "by_status": {}, "metrics": {"stages": [7]}})"),
        good.substr(0, good.size() / 2)}) {
    std::ofstream(shard_dir(0) / "done.json", std::ios::trunc) << bad;
    Outcome s = status();
    // The third is a marker whose metrics lack stages: done, with no busy time to add.
    const bool usable = bad.find("[7]") != std::string::npos;
    EXPECT_EQ(s.exit_code, usable ? 0 : 1) << bad << "\n" << s.out << s.err;
    if (!usable) {
      EXPECT_NE(s.out.find("--array=0\n"), std::string::npos) << bad << "\n" << s.out;
    }
  }
  Outcome redo = run_shards({"--shard", "0"});
  EXPECT_EQ(redo.exit_code, 0) << redo.err;
  EXPECT_NE(redo.err.find("shard 0: done"), std::string::npos) << redo.err;
  EXPECT_EQ(json::parse(slurp(shard_dir(0) / "done.json"))["lines"], 2);
  EXPECT_EQ(status().exit_code, 0);
}

// --shard auto takes the shard from whichever scheduler variable is set, and refuses to guess
// when none is.
TEST_F(ShardsE2eTest, ShardAutoReadsTheSchedulersIndex) {
  ASSERT_EQ(plan(write_list(small_images(server_, 3)), 1).exit_code, 0);
  Outcome none = run_shards({"--shard", "auto"});
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_NE(none.err.find("SLURM_ARRAY_TASK_ID"), std::string::npos) << none.err;
  ::setenv("JOB_COMPLETION_INDEX", "2", 1);
  EXPECT_EQ(run_shards({"--shard", "auto"}).exit_code, 0);
  ::unsetenv("JOB_COMPLETION_INDEX");
  ::setenv("AWS_BATCH_JOB_ARRAY_INDEX", "0", 1);
  EXPECT_EQ(run_shards({"--shard", "auto"}).exit_code, 0);
  EXPECT_EQ(json::parse(status(true).out)["array"], "1");
  ::setenv("AWS_BATCH_JOB_ARRAY_INDEX", "3", 1);
  Outcome past = run_shards({"--shard", "auto"});
  EXPECT_EQ(past.exit_code, 2);
  EXPECT_NE(past.err.find("not a shard of this plan"), std::string::npos) << past.err;
}

// plan streams: a million-line list costs the same memory as a small one. Held whole, its 40 MB of
// text alone (more as parsed records) would be in the resident set. --shard-by host, the harder
// case: two passes, records buffered for 100 shards at once.
TEST_F(ShardsE2eTest, PlanStreamsAMillionLinesInBoundedMemory) {
  if (kSanitizedBuild) GTEST_SKIP() << "RSS means nothing under a sanitizer";
  const fs::path list = dir_ / "big.txt";
  {
    std::ofstream out(list);
    for (int i = 0; i < 1'000'000; ++i)
      out << "http://host" << i % 997 << ".example/images/" << i << ".jpg\n";
  }
  const auto list_bytes = fs::file_size(list);
  Outcome small = plan(write_list(small_images(server_, 3)), 10);
  ASSERT_EQ(small.exit_code, 0) << small.err;
  fs::remove_all(job());
  Outcome big = plan(list, 10'000, {"--shard-by", "host"});
  ASSERT_EQ(big.exit_code, 0) << big.err;
  const json p = json::parse(slurp(job() / "plan.json"));
  EXPECT_EQ(p["lines"], 1'000'000);
  EXPECT_EQ(p["shards"], 100);
  uint64_t sum = 0;
  for (uint64_t n : p["shard_lines"].get<std::vector<uint64_t>>()) sum += n;
  EXPECT_EQ(sum, 1'000'000u);
  // The 16 MiB record buffer plus a few MiB of slack over the small plan: far below the list.
  const long growth_kb = big.max_rss_kb - small.max_rss_kb;
  EXPECT_LT(growth_kb, 24 * 1024) << "small " << small.max_rss_kb << " kB, big " << big.max_rss_kb
                                  << " kB";
  EXPECT_LT(growth_kb * 1024, static_cast<long>(list_bytes) / 2);
  EXPECT_LT(big.wall_s, 30) << "plan of 1M lines took " << big.wall_s << " s";
}

}  // namespace
}  // namespace imgpipe

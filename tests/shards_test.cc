// Tests for the shard contract's plain functions: the plan's shard files (original line numbers,
// whole records, one host per shard), which shards a worker takes, and the --array spec.
#include "pipeline/shards.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "fixtures/temp_dir.h"
#include "pipeline/outdir.h"
#include "pipeline/pipeline.h"
#include "stages/download.h"
#include "stages/hash.h"
#include "stages/reader.h"

namespace imgpipe {
namespace {

namespace fs = std::filesystem;

class ShardsTest : public TempDirTest {
 protected:
  fs::path write(const std::string& name, const std::string& text) {
    fs::path p = dir_ / name;
    std::ofstream(p, std::ios::binary) << text;
    return p;
  }
  Options plan_options(const fs::path& list, int64_t size, ShardBy by = ShardBy::kLine) {
    Options o;
    o.input = list.string();
    o.output_dir = (dir_ / "job").string();
    o.shard.size = size;
    o.shard.by = by;
    return o;
  }
  // Shard k's records as `imgpipe run` will read them.
  std::vector<ListLine> shard_lines(int64_t k) {
    std::ifstream in(dir_ / "job" / kInputsDir / (shard_name(k) + ".jsonl"), std::ios::binary);
    EXPECT_TRUE(in) << "no input file for shard " << k;
    ListReader reader(in, ListFormat::kShard);
    std::vector<ListLine> lines;
    ListLine line;
    while (reader.next(&line)) lines.push_back(line);
    return lines;
  }
  static std::string refusal(const std::function<void()>& f) {
    try {
      f();
    } catch (const SetupError& e) {
      return e.what();
    }
    return "";
  }
};

// Comments and blank lines are no records but still count as lines: every record keeps the line
// number it has in the original list, so a shard's manifest rows name lines of that list.
TEST_F(ShardsTest, PlanSplitsByLineKeepingOriginalLineNumbers) {
  std::string text = "# urls\n";
  for (int i = 1; i <= 10; ++i) text += "http://h/" + std::to_string(i) + (i == 4 ? "\n\n" : "\n");
  fs::path list = write("list.txt", text);
  Plan plan = make_plan(plan_options(list, 3));
  EXPECT_EQ(plan.lines, 10u);
  EXPECT_EQ(plan.shard_lines, (std::vector<uint64_t>{3, 3, 3, 1}));
  EXPECT_EQ(plan.list_sha256, sha256_hex(text.data(), text.size()));
  std::vector<uint64_t> numbers;
  std::vector<std::string> urls;
  for (int k = 0; k < 4; ++k)
    for (const ListLine& l : shard_lines(k)) {
      numbers.push_back(l.number);
      urls.push_back(l.text);
    }
  EXPECT_EQ(numbers, (std::vector<uint64_t>{2, 3, 4, 5, 7, 8, 9, 10, 11, 12}));
  EXPECT_EQ(urls.front(), "http://h/1");
  EXPECT_EQ(urls.back(), "http://h/10");
  const Plan back = read_plan((dir_ / "job").string());
  EXPECT_EQ(back.shard_lines, plan.shard_lines);
  EXPECT_EQ(back.list_sha256, plan.list_sha256);
  EXPECT_EQ(back.options, plan.options);
}

// The plan records the options that shape outputs, and a shard runs with exactly those.
TEST_F(ShardsTest, ShardsRunWithThePlansOptions) {
  Options o = plan_options(write("list.txt", "http://h/1\n"), 5);
  o.image.sizes = {Size{64, 48}, Size{128, 128}};
  o.image.fit = Fit::kCover;
  o.image.format = Format::kPng;
  o.output.dedup = true;
  o.output.naming = Naming::kHash;
  const Plan plan = make_plan(o);
  Options machine;  // this worker's own flags
  machine.output_dir = o.output_dir;
  machine.download.concurrency = 7;
  machine.threads = 3;
  const Options s = shard_options(read_plan(o.output_dir), machine, 0);
  EXPECT_EQ(options_record(s), options_record(o));
  EXPECT_TRUE(s.output.dedup);
  EXPECT_EQ(s.download.concurrency, 7);
  EXPECT_EQ(s.threads, 3);
  EXPECT_TRUE(s.resume);
  EXPECT_EQ(s.output_dir, o.output_dir + "/shards/00000");
  EXPECT_EQ(s.input, o.output_dir + "/inputs/00000.jsonl");
  EXPECT_EQ(*s.input_format, ListFormat::kShard);
}

// Webdataset: every shard writes one tar, named after it, whatever --samples-per-shard a plain
// run would use (plan.json does not record it); the caption column comes from the plan.
TEST_F(ShardsTest, AWebdatasetShardWritesOneTarNamedAfterIt) {
  std::string records;  // 6 records: two shards of 5
  for (int i = 0; i < 6; ++i) records += "{\"url\": \"http://h/" + std::to_string(i) + "\"}\n";
  Options o = plan_options(write("list.jsonl", records), 5);
  o.output.format = OutputFormat::kWebdataset;
  o.output.caption_column = "text";
  make_plan(o);
  const Plan plan = read_plan(o.output_dir);
  EXPECT_FALSE(plan.options.contains("samples-per-shard"));
  Options machine;
  machine.output_dir = o.output_dir;
  const Options s = shard_options(plan, machine, 1);
  EXPECT_EQ(s.output.format, OutputFormat::kWebdataset);
  EXPECT_EQ(s.output.caption_column, "text");
  EXPECT_EQ(s.output.samples_per_tar, 0);
  EXPECT_EQ(s.output.first_tar, 1);
  Options dedup = o;
  dedup.output_dir += "-2";
  dedup.output.dedup = true;
  EXPECT_THROW(make_plan(dedup), SetupError) << "refused before any shard runs";
}

// A shard file gives back exactly the records the list gave: other columns, error records and
// bytes that are not UTF-8 (a Latin-1 file name) included.
TEST_F(ShardsTest, ShardFilesKeepWholeRecords) {
  fs::path list = write(
      "list.csv", "url,title\nhttp://h/a,\"two\nlines\"\nhttp://h/b\n/photos/caf\xe9.jpg,x\n");
  make_plan(plan_options(list, 10));
  std::vector<ListLine> got = shard_lines(0);
  ASSERT_EQ(got.size(), 3u);
  std::ifstream in(list);
  ListReader reader(in, ListFormat::kCsv);
  for (const ListLine& g : got) {
    ListLine want;
    ASSERT_TRUE(reader.next(&want));
    EXPECT_EQ(g.number, want.number);
    EXPECT_EQ(g.text, want.text);
    EXPECT_EQ(g.extra, want.extra);
    EXPECT_EQ(g.error, want.error);
  }
  EXPECT_EQ(got[0].extra["title"], "two\nlines");
  EXPECT_FALSE(got[1].error.empty()) << "the wrong field count stays an error record";
  EXPECT_EQ(got[2].text, "/photos/caf\xe9.jpg");
}

// --shard-by host: all of a host's lines in one shard, in list order; the shard count is
// ceil(lines / size); every shard has its file, even one the hash left empty.
TEST_F(ShardsTest, PlanByHostPutsEveryLineOfAHostInOneShard) {
  std::string text;
  for (int i = 0; i < 60; ++i)
    text += "http://host" + std::to_string(i % 7) + ".example/" + std::to_string(i) + "\n";
  Plan plan = make_plan(plan_options(write("list.txt", text), 10, ShardBy::kHost));
  ASSERT_EQ(plan.shard_lines.size(), 6u);
  std::map<std::string, std::set<int64_t>> shards_of_host;
  uint64_t total = 0;
  for (int64_t k = 0; k < 6; ++k) {
    uint64_t previous = 0;
    for (const ListLine& l : shard_lines(k)) {
      std::string host, why;
      ASSERT_TRUE(parse_http_url(l.text, &host, &why));
      shards_of_host[host].insert(k);
      EXPECT_GT(l.number, previous) << "list order kept within a shard";
      previous = l.number;
      ++total;
    }
    EXPECT_EQ(shard_lines(k).size(), plan.shard_lines[k]);
  }
  EXPECT_EQ(total, 60u);
  EXPECT_EQ(shards_of_host.size(), 7u);
  for (const auto& [host, shards] : shards_of_host) EXPECT_EQ(shards.size(), 1u) << host;
}

TEST_F(ShardsTest, PlanByHostNeedsAFileAndNoPlanIsOverwritten) {
  fs::path list = write("list.txt", "http://h/1\n");
  Options o = plan_options("-", 10, ShardBy::kHost);
  EXPECT_NE(refusal([&] { make_plan(o); }).find("regular file"), std::string::npos);
  make_plan(plan_options(list, 10));
  EXPECT_NE(refusal([&] { make_plan(plan_options(list, 10)); }).find("already holds a plan"),
            std::string::npos);
}

// The shards one worker takes: named ones, the array index's, every W-th; the count is the
// plan's, never the scheduler's (SLURM_ARRAY_TASK_COUNT is 2 on a re-run of --array=3,5).
TEST(SelectShards, NamedAutoAndWorkers) {
  std::map<std::string, std::string> vars;
  EnvLookup env = [&vars](const char* name) -> const char* {
    auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  };
  ShardOptions s;
  s.ranges = {{3, 5}, {1, 1}, {4, 4}};
  EXPECT_EQ(select_shards(s, 10, env), (std::vector<int64_t>{1, 3, 4, 5}));
  s = ShardOptions();
  s.worker_index = 1;
  s.worker_count = 3;
  EXPECT_EQ(select_shards(s, 10, env), (std::vector<int64_t>{1, 4, 7}));
  s = ShardOptions();
  s.shard_auto = true;
  vars = {{"AWS_BATCH_JOB_ARRAY_INDEX", "2"}};
  EXPECT_EQ(select_shards(s, 10, env), std::vector<int64_t>{2});
  vars["JOB_COMPLETION_INDEX"] = "6";
  EXPECT_EQ(select_shards(s, 10, env), std::vector<int64_t>{6});
  vars["SLURM_ARRAY_TASK_ID"] = "5";
  vars["SLURM_ARRAY_TASK_COUNT"] = "2";
  EXPECT_EQ(select_shards(s, 10, env), std::vector<int64_t>{5});
  s = ShardOptions();
  s.worker_auto = true;
  s.worker_count = 4;
  vars["SLURM_ARRAY_TASK_ID"] = "1";
  EXPECT_EQ(select_shards(s, 10, env), (std::vector<int64_t>{1, 5, 9})) << "I from the index";
  vars["SLURM_ARRAY_TASK_ID"] = "4";
  EXPECT_THROW(select_shards(s, 10, env), SetupError) << "an index past W is no worker";
}

TEST(SelectShards, RefusesWhatIsNotAShardOfThePlan) {
  EnvLookup none = [](const char*) -> const char* { return nullptr; };
  auto refusal = [](const ShardOptions& s, int64_t count, const EnvLookup& env) -> std::string {
    try {
      select_shards(s, count, env);
    } catch (const SetupError& e) {
      return e.what();
    }
    return "";
  };
  ShardOptions s;
  s.ranges = {{2, 8}};
  EXPECT_NE(refusal(s, 8, none).find("8 is not a shard"), std::string::npos);
  s = ShardOptions();
  s.shard_auto = true;
  EXPECT_NE(refusal(s, 8, none).find("SLURM_ARRAY_TASK_ID"), std::string::npos);
  EnvLookup eight = [](const char* n) -> const char* {
    return std::string(n) == "JOB_COMPLETION_INDEX" ? "8" : nullptr;
  };
  EXPECT_NE(refusal(s, 8, eight).find("not a shard"), std::string::npos);
  EnvLookup junk = [](const char*) -> const char* { return "3x"; };
  EXPECT_NE(refusal(s, 8, junk).find("not an array index"), std::string::npos);
}

TEST(ArraySpec, RunsBecomeRanges) {
  EXPECT_EQ(array_spec({3, 5, 17, 18, 19}), "3,5,17-19");
  EXPECT_EQ(array_spec({0}), "0");
  EXPECT_EQ(array_spec({0, 1}), "0-1");
  EXPECT_EQ(array_spec({}), "");
}

}  // namespace
}  // namespace imgpipe

// Tests for compare(): four real runs against a loopback server with latency, their options and
// outputs, the table and JSON, and the refusal of lists that cannot be read four times.
#include "pipeline/compare.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "fixtures/fixture_server.h"
#include "fixtures/temp_dir.h"
#include "pipeline/pipeline.h"

namespace imgpipe {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int kImages = 24;
const char* const kNames[] = {"a-sequential", "b-concurrent", "c-parallel", "d-pipeline"};

class CompareTest : public TempDirTest {
 protected:
  // kImages distinct small JPEGs on `server`, listed in a file.
  fs::path write_list(const fixtures::FixtureServer& server) {
    fs::path p = dir_ / "list.txt";
    std::ofstream out(p);
    for (int i = 0; i < kImages; ++i)
      out << server.url("/image/" + std::to_string(40 + i) + "x30.jpg") << "\n";
    return p;
  }

  // Settings that differ from every run's forced values, so each override is visible.
  Options base_options(const fs::path& list) {
    Options o;
    o.input = list.string();
    o.output_dir = (dir_ / "out").string();
    o.threads = 2;
    o.download.concurrency = 12;
    o.download.per_host = 8;
    o.metrics_json = (dir_ / "metrics.json").string();
    o.quiet = false;
    o.trace = (dir_ / "trace.json").string();
    o.json = true;
    o.resume = true;
    o.image.sizes = {Size{32, 32}};
    return o;
  }

  // Manifest rows with status "ok" in one run's folder.
  static int ok_rows(const fs::path& folder) {
    std::ifstream in(folder / "manifest.jsonl");
    int ok = 0;
    for (std::string line; std::getline(in, line);) ok += json::parse(line)["status"] == "ok";
    return ok;
  }
};

// The one real compare: 4 runs of 24 images, each transfer waiting 30 ms at the server, so one
// transfer at a time costs ~0.7 s of downloading and concurrency visibly helps.
TEST_F(CompareTest, FourRealRunsWithTheirOwnOptionsAndFolders) {
  fixtures::ServerOptions slow;
  slow.latency_ms = 30;
  fixtures::FixtureServer server(slow);
  Options base = base_options(write_list(server));

  CompareResult r = compare(base);

  ASSERT_EQ(r.runs.size(), 4u);
  const int expect[4][3] = {{1, 1, 1}, {12, 8, 1}, {1, 1, 2}, {12, 8, 2}};  // conc, host, threads
  for (int i = 0; i < 4; ++i) {
    const CompareRun& run = r.runs[i];
    SCOPED_TRACE(run.name);
    EXPECT_EQ(run.name, kNames[i]);
    EXPECT_FALSE(run.description.empty());
    EXPECT_EQ(run.options.download.concurrency, expect[i][0]);
    EXPECT_EQ(run.options.download.per_host, expect[i][1]);
    EXPECT_EQ(run.options.threads, expect[i][2]);
    EXPECT_EQ(fs::path(run.options.output_dir), dir_ / "out" / kNames[i]);
    EXPECT_TRUE(run.options.metrics_json.empty());
    EXPECT_TRUE(run.options.quiet);
    EXPECT_TRUE(run.options.trace.empty());
    EXPECT_FALSE(run.options.json);
    EXPECT_FALSE(run.options.resume);
    EXPECT_EQ(run.options.input, base.input);
    ASSERT_EQ(run.options.image.sizes.size(), 1u);  // everything else is the user's
    EXPECT_EQ(run.options.image.sizes[0].width, 32);
    EXPECT_EQ(ok_rows(dir_ / "out" / kNames[i]), kImages);
    EXPECT_EQ(run.report.total.ok, static_cast<uint64_t>(kImages));
  }
  EXPECT_FALSE(fs::exists(base.metrics_json));
  // No cache: every run fetched every image.
  EXPECT_EQ(server.hits("/image/40x30.jpg"), 4);

  const StageReport& dl_a = r.runs[0].report.stages[static_cast<int>(Stage::kDownload)];
  const StageReport& dl_b = r.runs[1].report.stages[static_cast<int>(Stage::kDownload)];
  EXPECT_GE(dl_a.span_s, kImages * 0.030);  // one at a time: at least the summed latency
  EXPECT_LT(dl_b.span_s, dl_a.span_s) << "concurrent downloads should beat one at a time";
  EXPECT_LE(dl_a.effective_concurrency, 1.1);

  std::string table = format_compare(r);
  for (const char* name : kNames) EXPECT_NE(table.find(name), std::string::npos) << name;
  EXPECT_NE(table.find("speedup"), std::string::npos) << table;
  EXPECT_NE(table.find("1.00x"), std::string::npos) << "(a) over itself\n" << table;
  EXPECT_NE(table.find("(a->b)"), std::string::npos) << table;
  EXPECT_NE(table.find("(a->d)"), std::string::npos) << table;

  json j = json::parse(compare_json(r).dump());
  EXPECT_EQ(j["baseline"], "a-sequential");
  ASSERT_EQ(j["runs"].size(), 4u);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(j["runs"][i]["name"], kNames[i]);
    EXPECT_EQ(j["runs"][i]["report"]["total"]["ok"], kImages);
    EXPECT_TRUE(j["runs"][i]["speedup"]["download"].is_number());
  }
  EXPECT_DOUBLE_EQ(j["runs"][0]["speedup"]["wall"].get<double>(), 1.0);
  EXPECT_GT(j["runs"][1]["speedup"]["download"].get<double>(), 1.0);
}

TEST_F(CompareTest, RefusesStdinWithAMessage) {
  Options o;
  o.input = "-";
  o.output_dir = (dir_ / "out").string();
  try {
    compare(o);
    FAIL() << "stdin accepted";
  } catch (const SetupError& e) {
    EXPECT_NE(std::string(e.what()).find("list file"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(dir_ / "out")) << "nothing should run";
}

// A pipe reads once like stdin does; /dev/null is a device that stands in for it here.
TEST_F(CompareTest, RefusesAListThatIsNotARegularFile) {
  Options o;
  o.input = "/dev/null";
  o.output_dir = (dir_ / "out").string();
  EXPECT_THROW(compare(o), SetupError);
  EXPECT_FALSE(fs::exists(dir_ / "out"));
}

TEST_F(CompareTest, AMissingListFailsNamingTheRun) {
  Options o;
  o.input = (dir_ / "no-such-list.txt").string();
  o.output_dir = (dir_ / "out").string();
  try {
    compare(o);
    FAIL() << "missing list accepted";
  } catch (const SetupError& e) {
    EXPECT_NE(std::string(e.what()).find("a-sequential"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("no-such-list.txt"), std::string::npos) << e.what();
  }
}

// Reports with zero spans (nothing ran) must print "-", never inf or nan.
TEST(FormatCompare, ZeroSpansPrintDashes) {
  CompareResult r;
  for (const char* name : kNames) r.runs.push_back({name, "nothing", Options{}, Report{}, {}});
  std::string table = format_compare(r);
  EXPECT_EQ(table.find("inf"), std::string::npos) << table;
  EXPECT_EQ(table.find("nan"), std::string::npos) << table;
  EXPECT_NE(table.find(" - "), std::string::npos) << table;
  json j = json::parse(compare_json(r).dump());
  EXPECT_TRUE(j["runs"][3]["speedup"]["wall"].is_null());
}

TEST(FormatCompare, SummaryComesFromTheReports) {
  CompareResult r;
  // Spans chosen so the ratios are exact: downloads 8 s -> 2 s, processing 3 s -> 1.5 s.
  const double wall[] = {10, 4, 9, 2.5}, dl[] = {8, 2, 8, 2}, proc[] = {3, 3, 1.5, 1.5};
  for (int i = 0; i < 4; ++i) {
    Report rep;
    rep.stages.resize(kStageCount);
    rep.stages[static_cast<int>(Stage::kDownload)].span_s = dl[i];
    rep.stages[static_cast<int>(Stage::kDownload)].effective_concurrency = 1;
    rep.processing.span_s = proc[i];
    rep.processing.effective_concurrency = 0.9;  // processing, not downloads, held (a) back
    rep.total.span_s = wall[i];
    rep.total.ok = 10;
    Options o;
    o.threads = 2;
    r.runs.push_back({kNames[i], "", o, rep, {}});
  }
  std::string table = format_compare(r);
  EXPECT_NE(table.find("downloads: 4.0x faster with 64 at once (a->b)"), std::string::npos)
      << table;
  EXPECT_NE(table.find("processing: 2.0x faster on 2 threads (a->c)"), std::string::npos) << table;
  EXPECT_NE(table.find("4.0x faster end to end (a->d)"), std::string::npos) << table;
  EXPECT_EQ(table.find("note:"), std::string::npos) << table;

  r.runs[1].report.total.ok = 7;
  EXPECT_NE(format_compare(r).find("unequal work"), std::string::npos);

  // A starved single thread makes the processing span a download measure: the table says so.
  r.runs[0].report.processing.effective_concurrency = 0.1;
  table = format_compare(r);
  EXPECT_NE(table.find("processing was busy 10% of its span"), std::string::npos) << table;
  EXPECT_EQ(table.find("downloading was busy"), std::string::npos) << table;
}

// An interrupted compare prints what finished and says it stopped; no summary without all four.
TEST(FormatCompare, InterruptedShowsTheRunsThatFinished) {
  CompareResult r;
  r.runs.push_back({kNames[0], "", Options{}, Report{}, {}});
  r.interrupted = true;
  std::string table = format_compare(r);
  EXPECT_NE(table.find("a-sequential"), std::string::npos) << table;
  EXPECT_NE(table.find("interrupted: 1 of 4 runs finished"), std::string::npos) << table;
  EXPECT_EQ(table.find("end to end (a->d)"), std::string::npos) << table;
  EXPECT_EQ(compare_json(r)["interrupted"], true);
}

}  // namespace
}  // namespace imgpipe

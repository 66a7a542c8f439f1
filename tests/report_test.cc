// Tests for the HTML report: every labelled number is the metrics JSON's, user strings cannot
// inject markup, the page loads nothing and stays small for any run length, and the file is
// written whole or not at all.
#include "pipeline/report.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "fixtures/report_labels.h"
#include "fixtures/temp_dir.h"
#include "pipeline/compare.h"
#include "pipeline/metrics.h"

namespace imgpipe {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

// A report with a distinct value in every field, failures of two kinds, and a connection count.
Report sample_report(double scale = 1) {
  Report r;
  for (int i = 0; i < kStageCount; ++i) {
    StageReport s;
    s.name = kStageNames[i];
    s.ok = 190 - i;
    s.failed = 10 + i;
    s.bytes_in = 131'400'000 + i * 1'234'567;
    s.bytes_out = 1'000'000 + i * 7'654'321;
    s.busy_s = scale * (i == 0 ? 26.2834 : 0.161 * (i + 1));
    s.span_s = scale * (1.2217 - 0.01 * i);
    s.items_per_s = 164.123 - i;
    s.mb_per_s = 107.81 + i;
    s.p50_ms = 96.34 / (i + 1);
    s.p95_ms = 393.05 / (i + 1);
    s.max_ms = 510.0 / (i + 1);
    s.effective_concurrency = s.busy_s / s.span_s;
    r.stages.push_back(s);
  }
  r.processing = r.stages[1];
  r.processing.name = "process";
  r.processing.effective_concurrency = 1.7712;
  r.total = r.stages[0];
  r.total.name = "total";
  r.total.span_s = scale * 1.2531;
  r.inputs = 200;
  r.by_status[static_cast<int>(Status::kOk)] = 190;
  r.by_status[static_cast<int>(Status::kHttpError)] = 7;
  r.by_status[static_cast<int>(Status::kTimeout)] = 3;
  r.download_active_s = 1.2211;
  r.process_active_s = 1.1033;
  r.overlap_s = 1.0712;
  r.transfers = 60;
  r.connections = 3;
  return r;
}

RunInfo sample_info() {
  RunInfo info;
  info.command_line = "imgpipe -i demo.txt -o out --report r.html";
  info.version = "0.1.0";
  info.date = "2026-12-07 22:40:11 +0000";
  info.cores = 2;
  info.machine = "Linux 6.1.0 x86_64";
  info.list = "demo.txt";
  info.concurrency = 64;
  info.threads = 2;
  return info;
}

TimelineSamples sample_timeline(double run_s = 1.25, int intervals = 2000) {
  Timeline t(Clock::now());
  for (int i = 0; i < intervals; ++i) {
    const double s = run_s * i / intervals;
    t.add_s(i % 3 ? Track::kDownload : Track::kWorker, s, s + run_s / 20);
  }
  return t.samples();
}

using fixtures::Labelled;
using fixtures::labelled;

// Each labelled number is the JSON's value at its pointer, and its text is that value (times its
// scale) rounded to the decimals shown.
void expect_matches_json(const std::string& html, const Json& json) {
  const std::vector<Labelled> numbers = labelled(html);
  ASSERT_FALSE(numbers.empty());
  for (const Labelled& n : numbers) {
    const Json::json_pointer p(n.pointer);
    ASSERT_TRUE(json.contains(p)) << n.pointer;
    EXPECT_EQ(json.at(p).dump(), n.value) << n.pointer;
    if (json.at(p).is_null()) {
      EXPECT_EQ(n.text, "-") << n.pointer;
      continue;
    }
    const double scale = n.scale.empty() ? 1 : std::stod(n.scale);
    const size_t dot = n.text.find('.');
    const int decimals = dot == std::string::npos ? 0 : static_cast<int>(n.text.size() - dot - 1);
    EXPECT_NEAR(std::stod(n.text), json.at(p).get<double>() * scale,
                0.5 * std::pow(10.0, -decimals) + 1e-9)
        << n.pointer << " shows " << n.text;
  }
}

bool has(const std::vector<Labelled>& numbers, const std::string& pointer) {
  return std::any_of(numbers.begin(), numbers.end(),
                     [&](const Labelled& n) { return n.pointer == pointer; });
}

TEST(ReportTest, EveryLabelledNumberIsTheMetricsJsons) {
  const Json json = to_json(sample_report());
  const std::string html = run_report_html(sample_info(), json, sample_timeline());
  expect_matches_json(html, json);
  const std::vector<Labelled> numbers = labelled(html);
  EXPECT_GE(numbers.size(), 8u * 12);  // the numbers table alone has 8 rows of 12
  for (const char* p :
       {"/stages/0/effective_concurrency", "/processing/effective_concurrency",
        "/stages/3/latency_p95_ms", "/total/latency_max_ms", "/by_status/ok",
        "/by_status/http_error", "/by_status/timeout", "/overlap/both_percent_of_wall", "/wall_s",
        "/connections/opened", "/stages/2/bytes_in", "/stages/5/busy_s", "/total/span_s"})
    EXPECT_TRUE(has(numbers, p)) << p << " is not on the page";
}

TEST(ReportTest, TheCompareLessonAndBarsAreTheCompareJsons) {
  CompareResult result;
  const char* names[] = {"a-sequential", "b-concurrent", "c-parallel", "d-pipeline"};
  const double scales[] = {20, 1.2, 12, 1};
  for (int k = 0; k < 4; ++k) {
    CompareRun run{
        names[k], "setting <" + std::to_string(k) + ">", {}, sample_report(scales[k]), {}};
    run.options.download.concurrency = k % 2 ? 64 : 1;
    run.options.threads = k < 2 ? 1 : 2;
    if (k == 0) run.report.processing.effective_concurrency = 0.36;  // (a) waited for downloads
    result.runs.push_back(run);
  }
  const Json json = compare_json(result);
  const std::string html =
      compare_report_html(sample_info(), json, std::vector<TimelineSamples>(4, sample_timeline()));
  expect_matches_json(html, json);
  const std::vector<Labelled> numbers = labelled(html);
  for (const char* p : {"/runs/1/speedup/download", "/runs/2/speedup/processing",
                        "/runs/3/speedup/wall", "/runs/0/report/wall_s", "/runs/3/report/wall_s",
                        "/runs/2/report/processing/effective_concurrency"})
    EXPECT_TRUE(has(numbers, p)) << p << " is not on the page";
  EXPECT_NE(html.find("from concurrency"), std::string::npos);
  EXPECT_NE(html.find("In (a) processing was busy"), std::string::npos);
  EXPECT_EQ(html.find("In (a) downloading was busy"), std::string::npos);
  EXPECT_NE(html.find("setting &lt;2&gt;"), std::string::npos) << "descriptions are escaped";
}

TEST(ReportTest, UserStringsCannotInjectMarkup) {
  RunInfo info = sample_info();
  const std::string hostile = "</code><script>alert(1)</script><img src=x onerror=alert(2)>\"'&";
  info.list = hostile;
  info.command_line = "imgpipe -i '" + hostile + "'";
  info.machine = hostile;
  const std::string html = run_report_html(info, to_json(sample_report()), sample_timeline());
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("<img"), std::string::npos);
  // Every tag on the page is one the report writes.
  static const std::regex kTag("<(/?)([!A-Za-z][A-Za-z0-9-]*)");
  const std::set<std::string> ours = {
      "!DOCTYPE",   "html",  "head",   "meta",   "title", "style", "body", "main",
      "h1",         "h2",    "p",      "dl",     "dt",    "dd",    "code", "figure",
      "figcaption", "div",   "svg",    "text",   "tspan", "rect",  "line", "path",
      "circle",     "table", "thead",  "tbody",  "tr",    "th",    "td",   "details",
      "summary",    "pre",   "footer", "strong", "span"};
  for (std::sregex_iterator it(html.begin(), html.end(), kTag), end; it != end; ++it)
    EXPECT_TRUE(ours.count((*it)[2])) << (*it)[0];
  EXPECT_NE(html.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(html.find("&quot;&#39;&amp;"), std::string::npos);
  EXPECT_EQ(html_escape("a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&#39;");
}

// Self-contained: nothing to fetch, no script, and a policy that forbids loading anything.
TEST(ReportTest, ThePageLoadsNothing) {
  const std::string html = run_report_html(sample_info(), to_json(sample_report()), {});
  for (const char* banned :
       {"<script", "<link", "<img", "<iframe", "@import", "url(", "src=", "href="})
    EXPECT_EQ(html.find(banned), std::string::npos) << banned;
  EXPECT_NE(html.find("Content-Security-Policy\" content=\"default-src 'none'"), std::string::npos);
  EXPECT_NE(html.find("prefers-color-scheme:dark"), std::string::npos);
  // Only the SVG namespace names a web address, and it is never fetched.
  std::string rest = html;
  for (size_t at; (at = rest.find("http://www.w3.org/2000/svg")) != std::string::npos;)
    rest.erase(at, 26);
  EXPECT_EQ(rest.find("http://"), std::string::npos);
  EXPECT_EQ(rest.find("https://"), std::string::npos);
  EXPECT_NE(html.find("no activity recorded"), std::string::npos) << "an empty timeline says so";
}

// The sampling bound at work: a ten-hour run of a million lines gives a page as small as a
// second-long one's, far under 1 MB, for a run and for compare's four.
TEST(ReportTest, AMillionLineRunGivesASmallPage) {
  const TimelineSamples big = sample_timeline(36000, 1000000);
  const std::string run = run_report_html(sample_info(), to_json(sample_report()), big);
  EXPECT_LT(run.size(), 200'000u);
  CompareResult result;
  for (int k = 0; k < 4; ++k) result.runs.push_back({"run", "", {}, sample_report(), {}});
  const std::string cmp = compare_report_html(sample_info(), compare_json(result),
                                              std::vector<TimelineSamples>(4, big));
  EXPECT_LT(cmp.size(), 400'000u);
}

// -j 4096 with one transfer running: the bound would flatten the chart, so it is named instead.
TEST(ReportTest, ABoundFarAboveThePeakIsNamedNotDrawn) {
  Timeline t(Clock::now());
  t.add_s(Track::kDownload, 0, 1.25);
  RunInfo info = sample_info();
  info.concurrency = 4096;
  const std::string html = run_report_html(info, to_json(sample_report()), t.samples());
  EXPECT_NE(html.find(">-j 4096</text>"), std::string::npos);
  EXPECT_NE(html.find("↑ above"), std::string::npos);
  info.concurrency = 2;
  const std::string drawn = run_report_html(info, to_json(sample_report()), t.samples());
  EXPECT_EQ(drawn.find("↑ above"), std::string::npos);
  EXPECT_NE(drawn.find("class=\"bound\""), std::string::npos);
}

TEST(ReportTest, AnEmptyRunStillGivesAPage) {
  const std::string html = run_report_html(sample_info(), to_json(Report{}), {});
  EXPECT_NE(html.find("No lines were processed"), std::string::npos);
  EXPECT_EQ(html.find("nan"), std::string::npos);
  EXPECT_EQ(html.find("inf"), std::string::npos);
  const std::string cmp = compare_report_html(sample_info(), compare_json(CompareResult{}), {});
  EXPECT_NE(cmp.find("</html>"), std::string::npos);
}

TEST(ReportTest, TheCommandLineIsQuotedAndItsSecretsHidden) {
  Options o;
  o.input = "my list.txt";
  const RunInfo info =
      describe_run({"imgpipe", "-i", "my list.txt", "--header", "Authorization: Bearer SECRET1",
                    "--proxy=http://u:SECRET2@p", "--user-agent", "it's me"},
                   o);
  EXPECT_EQ(info.command_line,
            "imgpipe -i 'my list.txt' --header '(hidden)' '--proxy=(hidden)' --user-agent "
            "'it'\\''s me'");
  EXPECT_GE(info.cores, 1);
  EXPECT_EQ(info.list, "my list.txt");
  EXPECT_FALSE(info.date.empty());
  EXPECT_FALSE(info.version.empty());
}

class ReportFileTest : public TempDirTest {
 protected:
  std::vector<std::string> files() const {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir_)) names.push_back(e.path().filename());
    return names;
  }
};

TEST_F(ReportFileTest, WrittenWholeThroughARename) {
  const std::string path = (dir_ / "r.html").string();
  std::string why;
  ASSERT_TRUE(check_report_path(path, &why)) << why;
  EXPECT_TRUE(files().empty()) << "the check leaves nothing behind";
  ASSERT_TRUE(write_report(path, "first", &why)) << why;
  ASSERT_TRUE(write_report(path, "second", &why)) << why;
  std::ifstream in(path);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "second");
  EXPECT_EQ(files(), std::vector<std::string>{"r.html"}) << "no temporary file left";
}

TEST_F(ReportFileTest, AnUnwritablePathIsRefusedWithTheReason) {
  std::string why;
  EXPECT_FALSE(check_report_path((dir_ / "missing" / "r.html").string(), &why));
  EXPECT_NE(why.find("No such file"), std::string::npos) << why;
  EXPECT_FALSE(check_report_path(dir_.string(), &why));
  EXPECT_NE(why.find("folder"), std::string::npos) << why;
  std::ofstream(dir_ / "file") << "x";
  EXPECT_FALSE(check_report_path((dir_ / "file" / "r.html").string(), &why));
  EXPECT_NE(why.find("Not a directory"), std::string::npos) << why;
  EXPECT_FALSE(write_report((dir_ / "missing" / "r.html").string(), "x", &why));
  EXPECT_NE(why.find("cannot write the report"), std::string::npos) << why;
  EXPECT_FALSE(check_report_path("", &why));
}

}  // namespace
}  // namespace imgpipe

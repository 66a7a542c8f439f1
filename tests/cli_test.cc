// Tests for flag parsing into the Options tree.
#include "cli/cli.h"

#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace imgpipe {
namespace {

CommandLine parse(std::vector<const char*> args) {
  args.insert(args.begin(), "imgpipe");
  return parse_command_line(static_cast<int>(args.size()), args.data());
}

TEST(ParseSize, Forms) {
  EXPECT_EQ(parse_size("256")->width, 256);
  EXPECT_EQ(parse_size("256")->height, 256);
  EXPECT_EQ(parse_size("320x200")->width, 320);
  EXPECT_EQ(parse_size("320x200")->height, 200);
  EXPECT_EQ(parse_size("320X200")->height, 200);
  for (const char* bad :
       {"", "0", "-5", "x200", "320x", "320x200x1", "abc", "70000", "1.5", " 5", "+5", "320*200"})
    EXPECT_FALSE(parse_size(bad)) << bad;
}

TEST(CommandLine, DefaultsMatchTheDocumentation) {
  CommandLine cl = parse({"-i", "list.txt", "-o", "out"});
  ASSERT_FALSE(cl.exit_code);
  const Options& o = cl.options;
  EXPECT_EQ(o.input, "list.txt");
  EXPECT_EQ(o.output_dir, "out");
  EXPECT_EQ(o.image.sizes[0].width, 256);
  EXPECT_EQ(o.image.format, Format::kJpeg);
  EXPECT_EQ(o.image.quality, 85);
  EXPECT_EQ(o.image.max_pixels, 100'000'000);
  EXPECT_EQ(o.download.concurrency, 64);
  EXPECT_EQ(o.download.per_host, 16);
  EXPECT_EQ(o.download.retries, 2);
  EXPECT_EQ(o.download.timeout_s, 30);
  EXPECT_EQ(o.download.connect_timeout_s, 10);
  EXPECT_EQ(o.download.max_bytes, 50'000'000);
  EXPECT_EQ(o.threads, 0);
  EXPECT_FALSE(o.quiet);
}

TEST(CommandLine, EveryFlagReachesTheOptions) {
  CommandLine cl = parse({"--input",
                          "-",
                          "--output",
                          "o",
                          "-s",
                          "100x50",
                          "-j",
                          "8",
                          "--per-host",
                          "2",
                          "-t",
                          "3",
                          "-f",
                          "png",
                          "-q",
                          "70",
                          "--retries",
                          "0",
                          "--timeout",
                          "5",
                          "--connect-timeout",
                          "2",
                          "--max-bytes",
                          "2MB",
                          "--max-pixels",
                          "5M",
                          "--metrics-json",
                          "m.json",
                          "--quiet",
                          "--retry-backoff",
                          "0.1"});
  ASSERT_FALSE(cl.exit_code);
  const Options& o = cl.options;
  EXPECT_EQ(o.input, "-");
  EXPECT_EQ(o.image.sizes[0].width, 100);
  EXPECT_EQ(o.image.sizes[0].height, 50);
  EXPECT_EQ(o.download.concurrency, 8);
  EXPECT_EQ(o.download.per_host, 2);
  EXPECT_EQ(o.threads, 3);
  EXPECT_EQ(o.image.format, Format::kPng);
  EXPECT_EQ(o.image.quality, 70);
  EXPECT_EQ(o.download.retries, 0);
  EXPECT_EQ(o.download.timeout_s, 5);
  EXPECT_EQ(o.download.connect_timeout_s, 2);
  EXPECT_EQ(o.download.max_bytes, 2'000'000);
  EXPECT_EQ(o.image.max_pixels, 5'000'000);
  EXPECT_EQ(o.metrics_json, "m.json");
  EXPECT_TRUE(o.quiet);
  EXPECT_DOUBLE_EQ(o.download.retry_backoff_s, 0.1);
}

TEST(CommandLine, CodecResizerAndWebp) {
  CommandLine def = parse({"-i", "l", "-o", "o"});
  EXPECT_EQ(def.options.image.codec, Codec::kFast);
  EXPECT_EQ(def.options.image.resizer, Resizer::kLanczos);
  CommandLine cl =
      parse({"-i", "l", "-o", "o", "--codec", "stb", "--resizer", "stb", "-f", "webp"});
  ASSERT_FALSE(cl.exit_code);
  EXPECT_EQ(cl.options.image.codec, Codec::kStb);
  EXPECT_EQ(cl.options.image.resizer, Resizer::kStb);
  EXPECT_EQ(cl.options.image.format, Format::kWebp);
  EXPECT_EQ(parse({"-i", "l", "-o", "o", "--codec", "vips"}).exit_code, kExitUsage);
  EXPECT_EQ(parse({"-i", "l", "-o", "o", "--resizer", "swscale"}).exit_code, kExitUsage);
}

TEST(CommandLine, BadValuesExitWithUsageCode) {
  const std::vector<std::vector<const char*>> bad = {
      {"-o", "out"},  // missing --input
      {"-i", "l"},    // missing --output
      {"-i", "l", "-o", "o", "-s", "0"},
      {"-i", "l", "-o", "o", "-j", "0"},
      {"-i", "l", "-o", "o", "-j", "10001"},
      {"-i", "l", "-o", "o", "--retry-failed", "all"},  // only with --resume
      {"-i", "l", "-o", "o", "--resume", "--retry-failed", "some"},
      {"-i", "l", "-o", "o", "-q", "101"},
      {"-i", "l", "-o", "o", "-f", "gif"},
      {"-i", "l", "-o", "o", "--max-bytes", "lots"},
      {"-i", "l", "-o", "o", "--bogus"},
      {"-i", "l", "-o", "o", "-t", "0"},
      {"-i", "l", "-o", "o", "--fit", "squash"},
      {"-i", "l", "-o", "o", "--background", "#12345"},
      {"-i", "l", "-o", "o", "--name", "random"},
      {"-i", "l", "-o", "o", "--input-format", "xml"},
      {"-i", "l", "-o", "o", "--header", "no colon"},
      {"-i", "l", "-o", "o", "--header", "X: a\r\nInjected: 1"},
      {"-i", "l", "-o", "o", "--header", "Bad Name: v"},
      {"-i", "l", "-o", "o", "--allow-address", "example.com"},
      {"-i", "l", "-o", "o", "--max-aspect", "0.5"},
  };
  for (const auto& args : bad) {
    CommandLine cl = parse(args);
    ASSERT_TRUE(cl.exit_code) << args.back();
    EXPECT_EQ(*cl.exit_code, kExitUsage) << args.back();
  }
}

TEST(CommandLine, RetryFailedChoosesWhatResumeRedoes) {
  EXPECT_EQ(parse({"-i", "l", "-o", "o", "--resume"}).options.retry_failed,
            RetryFailed::kRetryable);
  CommandLine cl = parse({"-i", "l", "-o", "o", "--resume", "--retry-failed", "ALL"});
  ASSERT_FALSE(cl.exit_code);
  EXPECT_EQ(cl.options.retry_failed, RetryFailed::kAll);
}

TEST(CommandLine, TheContactGoesIntoTheDefaultUserAgent) {
  CommandLine cl = parse({"-i", "l", "-o", "o", "--contact", "mailto:me@example.org"});
  ASSERT_FALSE(cl.exit_code);
  EXPECT_EQ(cl.options.download.contact, "mailto:me@example.org");
  EXPECT_EQ(default_user_agent("mailto:me@example.org"),
            std::string("imgpipe/") + IMGPIPE_VERSION + " (+mailto:me@example.org)");
  EXPECT_EQ(parse({"-i", "l", "-o", "o", "--contact", "x)\r\nEvil: 1"}).exit_code, kExitUsage);
  EXPECT_EQ(parse({"-i", "l", "-o", "o", "--contact", "c", "--user-agent", "u"}).exit_code,
            kExitUsage)
      << "a User-Agent of one's own says what it wants";
}

TEST(CommandLine, TenThousandTransfersMayBeAskedFor) {
  CommandLine cl = parse({"-i", "l", "-o", "o", "-j", "10000", "--per-host", "10000"});
  ASSERT_FALSE(cl.exit_code);
  EXPECT_EQ(cl.options.download.concurrency, 10000);
  EXPECT_EQ(cl.options.download.per_host, 10000);
}

TEST(CommandLine, BatchFlagsReachTheOptionsTree) {
  CommandLine cl = parse({"-i",
                          "l.dat",
                          "-o",
                          "o",
                          "-s",
                          "128",
                          "-s",
                          "320x200",
                          "-s",
                          "128x128",
                          "--fit",
                          "PAD",
                          "--upscale",
                          "--background",
                          "#ff000080",
                          "--name",
                          "hash",
                          "--files-per-folder",
                          "1000",
                          "--dedup",
                          "--min-size",
                          "50",
                          "--max-aspect",
                          "3",
                          "--input-format",
                          "csv",
                          "--url-column",
                          "link",
                          "--resume",
                          "--json",
                          "--trace",
                          "t.json",
                          "--no-progress",
                          "--rate-per-host",
                          "2.5",
                          "--user-agent",
                          "me/1",
                          "--header",
                          "A: 1",
                          "--header",
                          "B: 2",
                          "--block-private",
                          "--allow-address",
                          "10.0.0.1",
                          "--no-local"});
  ASSERT_FALSE(cl.exit_code);
  const Options& o = cl.options;
  ASSERT_EQ(o.image.sizes.size(), 2u) << "128 and 128x128 are one size";
  EXPECT_EQ(o.image.sizes[1].width, 320);
  EXPECT_EQ(o.image.fit, Fit::kPad);
  EXPECT_TRUE(o.image.upscale);
  EXPECT_EQ(o.image.background.r, 255);
  EXPECT_EQ(o.image.background.a, 0x80);
  EXPECT_EQ(o.output.naming, Naming::kHash);
  EXPECT_EQ(o.output.files_per_folder, 1000);
  EXPECT_TRUE(o.output.dedup);
  EXPECT_EQ(o.image.min_size, 50);
  EXPECT_EQ(o.image.max_aspect, 3);
  ASSERT_TRUE(o.input_format);
  EXPECT_EQ(*o.input_format, ListFormat::kCsv);
  EXPECT_EQ(o.url_column, "link");
  EXPECT_TRUE(o.resume && o.json && !o.progress);
  EXPECT_EQ(o.trace, "t.json");
  EXPECT_EQ(o.download.rate_per_host, 2.5);
  EXPECT_EQ(o.download.user_agent, "me/1");
  EXPECT_EQ(o.download.headers, (std::vector<std::string>{"A: 1", "B: 2"}));
  EXPECT_TRUE(o.download.block_private);
  EXPECT_EQ(o.download.allow_addresses, std::vector<std::string>{"10.0.0.1"});
  EXPECT_FALSE(o.download.allow_local);
  EXPECT_FALSE(cl.compare);
}

TEST(CommandLine, ProxyFlags) {
  CommandLine def = parse({"-i", "l", "-o", "o"});
  EXPECT_EQ(def.options.download.proxy, "");
  EXPECT_FALSE(def.options.download.no_proxy);
  CommandLine with = parse({"-i", "l", "-o", "o", "--proxy", "http://127.0.0.1:3128"});
  ASSERT_FALSE(with.exit_code);
  EXPECT_EQ(with.options.download.proxy, "http://127.0.0.1:3128");
  CommandLine direct = parse({"-i", "l", "-o", "o", "--no-proxy"});
  ASSERT_FALSE(direct.exit_code);
  EXPECT_TRUE(direct.options.download.no_proxy);
  EXPECT_EQ(parse({"-i", "l", "-o", "o", "--proxy", "http://p:1", "--no-proxy"}).exit_code,
            kExitUsage);
  EXPECT_EQ(parse({"-i", "l", "-o", "o", "--proxy", ""}).exit_code, kExitUsage);
}

TEST(CommandLine, CompareIsAWordBeforeTheOptions) {
  CommandLine cl = parse({"compare", "-i", "l", "-o", "o", "-j", "8"});
  ASSERT_FALSE(cl.exit_code);
  EXPECT_TRUE(cl.compare);
  EXPECT_EQ(cl.options.download.concurrency, 8);
  EXPECT_FALSE(parse({"-i", "compare", "-o", "o"}).compare) << "only as the first word";
}

TEST(CommandLine, HelpAndVersionExitZero) {
  EXPECT_EQ(parse({"--help"}).exit_code, kExitOk);
  EXPECT_EQ(parse({"--version"}).exit_code, kExitOk);
}

std::set<std::string> long_flags(const std::string& text) {
  static const std::regex flag("--[a-z][a-z-]*");
  std::set<std::string> found;
  for (std::sregex_iterator it(text.begin(), text.end(), flag), end; it != end; ++it)
    found.insert(it->str());
  return found;
}

// The README's Usage block is an abridged --help, written for reading: it must still name every
// flag there is, and none that is gone.
TEST(CommandLine, ReadmeUsageNamesExactlyTheFlagsOfHelp) {
  testing::internal::CaptureStdout();
  parse({"--help"});
  const std::string help = testing::internal::GetCapturedStdout();
  std::ifstream in(IMGPIPE_SOURCE_DIR "/README.md");
  ASSERT_TRUE(in) << "README.md not found";
  std::stringstream readme;
  readme << in.rdbuf();
  const std::string text = readme.str();
  const size_t begin = text.find("## Usage"), end = text.find("\nExamples:", begin);
  ASSERT_NE(begin, std::string::npos);
  ASSERT_NE(end, std::string::npos);
  const std::set<std::string> in_help = long_flags(help);
  const std::set<std::string> in_readme = long_flags(text.substr(begin, end - begin));
  EXPECT_GT(in_help.size(), 30u);  // the help really was captured
  for (const std::string& f : in_help) EXPECT_TRUE(in_readme.count(f)) << f << " not in README";
  for (const std::string& f : in_readme) EXPECT_TRUE(in_help.count(f)) << f << " not in --help";
}

// The subcommands' flags are documented too: each one in the Usage block (the flags they share
// with a plain run) or in "Running on a cluster", and that section names no flag they lack.
TEST(CommandLine, ReadmeDocumentsTheFlagsOfPlanRunAndStatus) {
  std::set<std::string> in_help;
  for (const char* word : {"plan", "run", "status"}) {
    testing::internal::CaptureStdout();
    EXPECT_EQ(parse({word, "--help"}).exit_code, kExitOk) << word;
    const std::set<std::string> flags = long_flags(testing::internal::GetCapturedStdout());
    EXPECT_GT(flags.size(), 1u) << word << " --help was captured";
    in_help.insert(flags.begin(), flags.end());
  }
  std::ifstream in(IMGPIPE_SOURCE_DIR "/README.md");
  std::stringstream readme;
  readme << in.rdbuf();
  const std::string text = readme.str();
  const size_t usage = text.find("## Usage"), usage_end = text.find("\nExamples:", usage);
  const size_t cluster = text.find("### Running on a cluster");
  const size_t cluster_end = text.find("\n### ", cluster + 1);
  ASSERT_NE(usage_end, std::string::npos);
  ASSERT_NE(cluster, std::string::npos);
  const std::set<std::string> documented = long_flags(text.substr(usage, usage_end - usage));
  std::set<std::string> in_section = long_flags(text.substr(cluster, cluster_end - cluster));
  for (const std::string& f : in_help)
    EXPECT_TRUE(documented.count(f) || in_section.count(f)) << f << " not in README";
  testing::internal::CaptureStdout();
  parse({"--help"});
  const std::set<std::string> main_help = long_flags(testing::internal::GetCapturedStdout());
  const std::set<std::string> sbatchs = {"--array", "--export", "--wrap"};  // sbatch's
  for (const std::string& f : in_section)
    EXPECT_TRUE(in_help.count(f) || main_help.count(f) || sbatchs.count(f)) << f << " is no flag";
}

TEST(CommandLine, ShardFlags) {
  CommandLine plan = parse({"plan", "-i", "l", "-o", "o", "--shard-size", "100", "--shard-by",
                            "host", "-s", "64", "--dedup"});
  ASSERT_FALSE(plan.exit_code);
  EXPECT_EQ(plan.command, Command::kPlan);
  EXPECT_EQ(plan.options.shard.size, 100);
  EXPECT_EQ(plan.options.shard.by, ShardBy::kHost);
  EXPECT_EQ(plan.options.image.sizes[0].width, 64);
  EXPECT_TRUE(plan.options.output.dedup);
  EXPECT_EQ(parse({"plan", "-i", "l", "-o", "o"}).exit_code, kExitUsage) << "--shard-size needed";
  EXPECT_EQ(parse({"plan", "-i", "l", "-o", "o", "--shard-size", "0"}).exit_code, kExitUsage);

  CommandLine run = parse({"run", "job", "--shard", "3", "--shard", "5-7", "--shard", "auto",
                           "--worker", "auto/4", "-j", "9"});
  ASSERT_FALSE(run.exit_code);
  EXPECT_EQ(run.command, Command::kRun);
  EXPECT_EQ(run.options.output_dir, "job");
  const ShardOptions& s = run.options.shard;
  EXPECT_EQ(s.ranges, (std::vector<std::pair<int64_t, int64_t>>{{3, 3}, {5, 7}}));
  EXPECT_TRUE(s.shard_auto && s.worker_auto);
  EXPECT_EQ(s.worker_count, 4);
  EXPECT_EQ(run.options.download.concurrency, 9);
  CommandLine worker = parse({"run", "job", "--worker", "2/8"});
  ASSERT_FALSE(worker.exit_code);
  EXPECT_EQ(worker.options.shard.worker_index, 2);
  EXPECT_FALSE(worker.options.shard.worker_auto);
  for (const char* bad : {"7-5", "-1", "x", "3-", ""})
    EXPECT_EQ(parse({"run", "job", "--shard", bad}).exit_code, kExitUsage) << bad;
  for (const char* bad : {"8/8", "1", "auto", "1/0", "a/2"})
    EXPECT_EQ(parse({"run", "job", "--worker", bad}).exit_code, kExitUsage) << bad;
  EXPECT_EQ(parse({"run", "job"}).exit_code, kExitUsage) << "which shards?";
  EXPECT_EQ(parse({"run", "job", "--shard", "1", "-s", "64"}).exit_code, kExitUsage)
      << "output options come from the plan";

  CommandLine status = parse({"status", "job", "--json"});
  ASSERT_FALSE(status.exit_code);
  EXPECT_EQ(status.command, Command::kStatus);
  EXPECT_TRUE(status.options.json);
}

// --decode-memory: sizes with suffixes, 0 (the machine's default) unless given, and at least 1 MB.
TEST(CommandLine, WebdatasetFlags) {
  EXPECT_EQ(parse({"-i", "l", "-o", "o"}).options.output.format, OutputFormat::kFiles);
  EXPECT_EQ(parse({"-i", "l", "-o", "o"}).options.output.samples_per_tar, 10000);
  CommandLine cl = parse({"-i", "l.csv", "-o", "o", "--output-format", "WebDataset",
                          "--samples-per-shard", "500", "--caption-column", "caption"});
  ASSERT_FALSE(cl.exit_code);
  EXPECT_EQ(cl.options.output.format, OutputFormat::kWebdataset);
  EXPECT_EQ(cl.options.output.samples_per_tar, 500);
  EXPECT_EQ(cl.options.output.caption_column, "caption");
  CommandLine plan = parse({"plan", "-i", "l", "-o", "o", "--shard-size", "10", "--output-format",
                            "webdataset", "--caption-column", "text"});
  ASSERT_FALSE(plan.exit_code);
  EXPECT_EQ(plan.options.output.format, OutputFormat::kWebdataset);
  EXPECT_EQ(plan.options.output.caption_column, "text");
  for (std::vector<const char*> bad :
       {std::vector<const char*>{"-i", "l", "-o", "o", "--output-format", "tar"},
        {"-i", "l", "-o", "o", "--output-format", "webdataset", "--samples-per-shard", "0"},
        {"-i", "l", "-o", "o", "--samples-per-shard", "5"},  // files: no tars to size
        {"plan", "-i", "l", "-o", "o", "--shard-size", "10", "--output-format", "webdataset",
         "--samples-per-shard", "5"}}) {  // a shard writes one tar
    testing::internal::CaptureStderr();
    EXPECT_EQ(parse(bad).exit_code, kExitUsage) << bad.back();
    testing::internal::GetCapturedStderr();
  }
}

TEST(CommandLine, DecodeMemoryTakesASizeOfAtLeastOneMegabyte) {
  EXPECT_EQ(parse({"-i", "l", "-o", "o"}).options.image.decode_memory, 0);
  CommandLine cl = parse({"-i", "l", "-o", "o", "--decode-memory", "2G"});
  ASSERT_FALSE(cl.exit_code);
  EXPECT_EQ(cl.options.image.decode_memory, 2'000'000'000);
  EXPECT_EQ(parse({"-i", "l", "-o", "o", "--decode-memory", "500M"}).options.image.decode_memory,
            500'000'000);
  for (const char* bad : {"0", "500k", "lots", "-1G"})
    EXPECT_EQ(parse({"-i", "l", "-o", "o", "--decode-memory", bad}).exit_code, kExitUsage) << bad;
}

}  // namespace
}  // namespace imgpipe

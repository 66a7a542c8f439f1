// The HTML run report (--report FILE): one self-contained page — inline SVG and CSS, no script,
// nothing fetched (its Content-Security-Policy forbids it) — that shows where a run's time went,
// or what `imgpipe compare`'s four runs measured.
//
// Every figure on the page is read from the metrics JSON (metrics.h: to_json, or compare.h:
// compare_json), the very object --metrics-json and --json write, never computed again from the
// run. Each such number carries its JSON pointer and exact value (data-metric, data-value), so a
// test or a reader's tool can check the page against the JSON. The timeline is the sampled one of
// timeline.h: a fixed number of buckets, so the page is tens of KiB whatever the list's length.
// Every string that comes from the user (command line, list name) is HTML-escaped.
//
// Ownership: everything is returned by value. Thread-safety: pure functions, except that
// describe_run() reads the clock and uname, and the two file functions touch the file system.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/options.h"
#include "pipeline/timeline.h"

namespace imgpipe {

// What makes a report stand alone: how and where it was made.
struct RunInfo {
  std::string command_line;  // argv, shell-quoted; --header and --proxy values hidden
  std::string version;       // imgpipe's
  std::string date;          // when the run started: local time with its UTC offset
  int cores = 0;             // cores imgpipe may use here (what -t defaults to)
  std::string machine;       // "Linux 6.1.0-18-amd64 x86_64"; no host name, since reports travel
  std::string list;          // -i as given
  int concurrency = 0;       // --concurrency: the in-flight bound drawn on the transfers chart
  int threads = 0;           // processing threads used: drawn beside the cores
  uint64_t resumed = 0;      // --resume: lines done by an earlier run, absent from the figures
  bool interrupted = false;  // SIGINT/SIGTERM stopped the run: the figures cover what was done
};

// The RunInfo of a run about to start with these arguments and options (date: now).
RunInfo describe_run(const std::vector<std::string>& args, const Options& options);

// The page of one run, from to_json(report) and the run's timeline.
std::string run_report_html(const RunInfo& info, const nlohmann::ordered_json& metrics,
                            const TimelineSamples& timeline);

// The page of `imgpipe compare`, from compare_json(result) and each run's timeline (a..d).
std::string compare_report_html(const RunInfo& info, const nlohmann::ordered_json& compare,
                                const std::vector<TimelineSamples>& timelines);

// Before the run: false and *why unless a report can be written at path (its folder exists and
// takes a new file; path is not a folder). A long run must not end in a report it cannot write.
bool check_report_path(const std::string& path, std::string* why);

// Writes html to path through a temporary file in the same folder and a rename, so the path never
// holds half a report. False and *why on failure (the temporary file is removed).
bool write_report(const std::string& path, const std::string& html, std::string* why);

// & < > " ' as entities: safe in text and in quoted attributes.
std::string html_escape(std::string_view text);

}  // namespace imgpipe

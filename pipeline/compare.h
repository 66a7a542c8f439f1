// compare(): one URL list run four ways, so the user sees on their own data that downloads want
// concurrency and resizing wants parallelism.
//
// Ownership: everything is returned by value; nothing is kept between calls. Thread-safety: like
// run(), which it calls four times in a row, compare() is called from one thread at a time.
// format_compare() and compare_json() only read their argument.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "core/options.h"
#include "pipeline/metrics.h"
#include "pipeline/timeline.h"

namespace imgpipe {

// One of the four runs: what it changed, with the exact options it ran with, and what it measured.
struct CompareRun {
  std::string name;         // a-sequential, b-concurrent, c-parallel, d-pipeline: its subfolder
  std::string description;  // the setting in words, with the real numbers
  Options options;
  Report report;
  TimelineSamples timeline;  // with base.report set: this run over time, for the HTML report
};

struct CompareResult {
  std::vector<CompareRun> runs;  // a..d in that order; (a) is the baseline of every speedup
  // SIGINT/SIGTERM stopped a run: that run and the later ones are missing from `runs`, since a cut
  // short run would show a bogus speedup. The caller exits as an interrupted run does.
  bool interrupted = false;
};

// Runs base.input four times, into base.output_dir/<name>, downloading every time (a cache would
// hide the very cost being measured). Every run has metrics_json and trace cleared, quiet set,
// json and resume off, overwrite on (a second compare into the same OUTDIR measures afresh); the
// rest of base is kept (report too: each run then keeps its timeline; the caller writes one report
// of all four) except:
//   a-sequential  download.concurrency = per_host = 1, threads = 1
//   b-concurrent  threads = 1
//   c-parallel    download.concurrency = per_host = 1
//   d-pipeline    unchanged
// Throws SetupError (pipeline.h) if the list is stdin or not a regular file (it is read four
// times), if a run cannot start, or if a run reports a run-wide error; the message names the run.
// An interrupted run ends the comparison early (see CompareResult::interrupted), not with a throw.
CompareResult compare(const Options& base);

// The human table: one row per run with wall time, items/s, effective concurrency of downloads
// and of processing, CPU busy seconds, and speedups over (a); then a short summary in words.
// Ratios that would divide by zero print as "-".
std::string format_compare(const CompareResult& r);

// The machine form: {"baseline", "interrupted", "runs": [{name, description, options, speedup,
// report}]}, each report as to_json() gives it, and a speedup that cannot be computed as null.
nlohmann::ordered_json compare_json(const CompareResult& r);

}  // namespace imgpipe

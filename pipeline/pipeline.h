// run(): one imgpipe run — the curl thread feeding the oneTBB flow graph, start to finish.
//
// pipeline/ is the only folder that knows TBB (pipeline.cc wires the graph; trace.cc asks the task
// arena which worker it runs on): stages stay plain functions. Thread-safety: run() is called from
// one thread at a time; it starts and joins every thread it uses (listed atop pipeline.cc).
#pragma once

#include <stdexcept>
#include <string>

#include "core/options.h"
#include "pipeline/metrics.h"
#include "pipeline/timeline.h"

namespace imgpipe {

// A problem with the setup (unreadable list, output folder not writable): nothing was processed.
struct SetupError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct RunResult {
  Report report;
  std::string error;         // a run-wide failure after setup (e.g. the manifest hit a full disk)
  bool interrupted = false;  // SIGINT/SIGTERM stopped it early; --resume completes it
  uint64_t resumed = 0;      // --resume: lines skipped as already done
  uint64_t resumed_failed = 0;  // of those, failures kept as final (not retryable)
  TimelineSamples timeline;     // with options.report: the run over time, for the HTML report
};

// Processes options.input into options.output_dir. Throws SetupError before doing any work if the
// input or output cannot be used; per-line failures are manifest rows, never exceptions.
RunResult run(const Options& options);

class OutputDir;
// The same, into an OUTDIR the caller opened (OutputDir::open(options)) and keeps locked after the
// run: `imgpipe run` checks a shard's done marker under the lock before, and writes it under the
// lock after, so a second worker can never slip in between. Borrowed, never closed here.
RunResult run(const Options& options, OutputDir* outdir);

// Options that cannot go together (--output-format webdataset with --dedup, --name hash|url or
// --files-per-folder; --caption-column without webdataset): SetupError saying why.
void check_output_options(const Options& o);

class ListReader;
// --caption-column against the list's header: a text list has no columns, and a CSV/TSV header
// must name it (JSONL records are checked one by one: a missing field is an empty caption).
// SetupError otherwise. `reader` has read its header.
void check_caption_column(const Options& o, ListFormat format, const ListReader& reader);

// Thread count actually used: options.threads, or every core when it is 0.
int effective_threads(const Options& options);

}  // namespace imgpipe

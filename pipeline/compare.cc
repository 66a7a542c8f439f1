// compare(): the four runs (sequential, concurrent downloads, parallel processing, both) and the
// speedup table and JSON built from their reports.
#include "pipeline/compare.h"

#include <cstdio>
#include <filesystem>
#include <iterator>
#include <nlohmann/json.hpp>
#include <optional>

#include "pipeline/pipeline.h"

namespace imgpipe {
namespace {

namespace fs = std::filesystem;

// What each run changes; the other half of its setting is the user's.
struct Variant {
  const char* name;
  bool one_transfer;  // concurrency = per_host = 1
  bool one_thread;    // threads = 1
};
constexpr Variant kVariants[] = {{"a-sequential", true, true},
                                 {"b-concurrent", false, true},
                                 {"c-parallel", true, false},
                                 {"d-pipeline", false, false}};

// Each run re-reads the list, so it must be a file that reads the same four times: stdin, a pipe
// or /dev/stdin would give the first run everything and the others nothing — and huge "speedups".
void check_input(const std::string& input) {
  if (input == "-")
    throw SetupError(
        "compare needs a list file (-i FILE): it reads the list once per run, "
        "four times, and stdin can be read only once");
  std::error_code ec;
  fs::file_status st = fs::status(input, ec);  // a missing file is left to run()'s own message
  if (fs::exists(st) && !fs::is_regular_file(st))
    throw SetupError("compare needs a regular list file: it reads the list four times, and " +
                     input + " is not one (a pipe or device can be read only once)");
}

std::string threads_words(int n) { return std::to_string(n) + (n == 1 ? " thread" : " threads"); }

std::string describe(const Options& o) {
  const DownloadOptions& d = o.download;
  std::string downloads = d.concurrency == 1
                              ? "one transfer at a time"
                              : std::to_string(d.concurrency) + " transfers at once (" +
                                    std::to_string(d.per_host) + " per host)";
  return downloads + ", processing on " + threads_words(effective_threads(o));
}

Options options_for(const Options& base, const Variant& v) {
  Options o = base;
  o.output_dir = (fs::path(base.output_dir) / v.name).string();
  // Per-run outputs meant for one run: a single file for four runs would keep only the last.
  o.metrics_json.clear();
  o.trace.clear();
  o.quiet = true;  // compare prints its own table, after all four runs
  o.json = false;
  o.resume = false;  // resuming would skip the lines a previous compare finished: nothing measured
  // Each run's subfolder is compare's own scratch: a second compare into the same OUTDIR measures
  // afresh, replacing the first one's (only in those four subfolders).
  o.overwrite = true;
  if (v.one_transfer) o.download.concurrency = o.download.per_host = 1;
  if (v.one_thread) o.threads = 1;
  return o;
}

// run() with the run's name on any failure, so the user knows how far compare got.
RunResult run_named(const std::string& name, const Options& options) {
  RunResult result;
  try {
    result = run(options);
  } catch (const SetupError& e) {
    throw SetupError("compare: " + name + ": " + e.what());
  }
  if (!result.error.empty()) throw SetupError("compare: " + name + ": " + result.error);
  return result;
}

}  // namespace

CompareResult compare(const Options& base) {
  check_input(base.input);
  CompareResult r;
  for (const Variant& v : kVariants) {
    CompareRun run{v.name, "", options_for(base, v), {}, {}};
    run.description = describe(run.options);
    RunResult result = run_named(run.name, run.options);
    if (result.interrupted) {
      r.interrupted = true;
      break;
    }
    run.report = std::move(result.report);
    run.timeline = std::move(result.timeline);
    r.runs.push_back(std::move(run));
  }
  return r;
}

namespace {

// The three spans a speedup is measured on, and the rows they come from.
const StageReport& download_row(const Report& r) {
  static const StageReport kNone;  // a hand-built Report may have no stage rows
  size_t i = static_cast<size_t>(Stage::kDownload);
  return i < r.stages.size() ? r.stages[i] : kNone;
}

struct Speedups {
  std::optional<double> wall, download, processing;
};

std::optional<double> ratio(double baseline_s, double s) {
  if (baseline_s > 0 && s > 0) return baseline_s / s;
  return std::nullopt;
}

Speedups speedups(const Report& baseline, const Report& r) {
  return {ratio(baseline.total.span_s, r.total.span_s),
          ratio(download_row(baseline).span_s, download_row(r).span_s),
          ratio(baseline.processing.span_s, r.processing.span_s)};
}

std::string fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

// A rate or busy/span ratio only means something over a nonzero span.
std::string per_span(const char* format, double v, double span_s) {
  return span_s > 0 ? fmt(format, v) : "-";
}

std::string times(const std::optional<double>& x) { return x ? fmt("%.2fx", *x) : "-"; }

std::string row(const std::string& c0, const std::string& c1, const std::string& c2,
                const std::string& c3, const std::string& c4, const std::string& c5,
                const std::string& c6, const std::string& c7, const std::string& c8) {
  char buf[256];
  std::snprintf(buf, sizeof buf, "%-13s %7s %8s %9s %8s %10s %8s %9s %8s\n", c0.c_str(), c1.c_str(),
                c2.c_str(), c3.c_str(), c4.c_str(), c5.c_str(), c6.c_str(), c7.c_str(), c8.c_str());
  return buf;
}

std::string run_row(const CompareRun& run, const Speedups& s) {
  const Report& r = run.report;
  const StageReport& dl = download_row(r);
  return row(
      run.name, fmt("%.2f", r.total.span_s), per_span("%.1f", r.total.items_per_s, r.total.span_s),
      per_span("%.2f", dl.effective_concurrency, dl.span_s),
      per_span("%.2f", r.processing.effective_concurrency, r.processing.span_s),
      fmt("%.2f", r.processing.busy_s), times(s.wall), times(s.download), times(s.processing));
}

// "18.3x faster", "1.2x slower", "no faster (1.0x)", or why there is no number.
std::string change(const std::optional<double>& x) {
  if (!x) return "not measured (a zero span)";
  if (*x >= 0.95 && *x < 1.05) return fmt("no faster (%.2fx)", *x);  // within run-to-run noise
  return *x >= 1 ? fmt("%.1fx faster", *x) : fmt("%.1fx slower", 1 / *x);
}

// The lesson in words, every figure taken from the runs (a..d in order).
std::string summary(const std::vector<CompareRun>& runs) {
  const CompareRun &a = runs[0], &b = runs[1], &c = runs[2], &d = runs[3];
  std::string out = "downloads: " + change(speedups(a.report, b.report).download) + " with " +
                    std::to_string(b.options.download.concurrency) + " at once (a->b); " +
                    "processing: " + change(speedups(a.report, c.report).processing) + " on " +
                    threads_words(effective_threads(c.options)) + " (a->c)\n";
  out += "together: " + change(speedups(a.report, d.report).wall) + " end to end (a->d), " +
         fmt("%.2f s", a.report.total.span_s) + " -> " + fmt("%.2f s", d.report.total.span_s) +
         " wall\n";
  return out;
}

// A stage's span runs from its first start to its last end. In (a), one transfer and one thread,
// a stage busy under half its span spent the rest waiting on the other one: processing waits for
// items to arrive, downloads wait for processing to free in-flight room. Its speedups then measure
// the other stage, and "1.0x" would wrongly read as "more threads do not help": say so.
std::string waiting_note(const char* stage, const StageReport& s, const char* waited_for) {
  if (s.span_s <= 0 || s.effective_concurrency >= 0.5) return "";
  return std::string("note: in (a) ") + stage + " was busy " +
         fmt("%.0f%%", 100 * s.effective_concurrency) + " of its span and waited " + waited_for +
         " the rest,\nso its speedups measure the other stage more than its own.\n";
}

std::string waiting_notes(const Report& a) {
  std::string out = waiting_note("downloading", download_row(a), "for processing to free room") +
                    waiting_note("processing", a.processing, "for downloads");
  return out.empty() ? "" : "\n" + out;
}

// Speedups over unequal work mislead (e.g. a server that rate-limits only the concurrent runs).
std::string unequal_work_note(const std::vector<CompareRun>& runs) {
  bool same = true;
  std::string counts;
  for (const CompareRun& run : runs) {
    same = same && run.report.total.ok == runs[0].report.total.ok;
    counts += (counts.empty() ? "" : ", ") + std::to_string(run.report.total.ok);
  }
  if (same) return "";
  return "\nnote: the runs did not finish the same number of items ok (" + counts +
         "), so the speedups compare unequal work; see each run's manifest.jsonl\n";
}

}  // namespace

std::string format_compare(const CompareResult& r) {
  std::string stopped = r.interrupted
                            ? "interrupted: " + std::to_string(r.runs.size()) + " of " +
                                  std::to_string(std::size(kVariants)) + " runs finished\n"
                            : "";
  if (r.runs.empty()) return stopped.empty() ? "no runs\n" : stopped;
  char groups[128];  // column groups over the header: eff. concurrency (2), speedup over a (3)
  std::snprintf(groups, sizeof groups, "%31s%-30s%s\n", "", "--- eff.conc ---",
                "---- speedup over a ----");
  std::string out = groups;
  out += row("run", "wall s", "items/s", "download", "process", "cpu busy s", "wall", "download",
             "process");
  for (const CompareRun& run : r.runs) out += run_row(run, speedups(r.runs[0].report, run.report));
  out += "\n";
  for (const CompareRun& run : r.runs) out += run.name + ": " + run.description + "\n";
  out +=
      "wall = total span; cpu busy s = time in hash..write, summed over threads; speedups are\n"
      "(a)'s span over this run's: end to end, of the download stage, of processing.\n";
  if (r.runs.size() >= 4) out += "\n" + summary(r.runs);
  out += waiting_notes(r.runs[0].report) + unequal_work_note(r.runs);
  return stopped.empty() ? out : out + "\n" + stopped;
}

namespace {

nlohmann::ordered_json optional_json(const std::optional<double>& x) {
  return x ? nlohmann::ordered_json(*x) : nlohmann::ordered_json(nullptr);
}

nlohmann::ordered_json run_json(const CompareRun& run, const Speedups& s) {
  const Options& o = run.options;
  return {{"name", run.name},
          {"description", run.description},
          {"options",
           {{"output_dir", o.output_dir},
            {"download_concurrency", o.download.concurrency},
            {"download_per_host", o.download.per_host},
            {"threads", o.threads},
            {"threads_used", effective_threads(o)}}},
          {"speedup",
           {{"wall", optional_json(s.wall)},
            {"download", optional_json(s.download)},
            {"processing", optional_json(s.processing)}}},
          {"report", to_json(run.report)}};
}

}  // namespace

nlohmann::ordered_json compare_json(const CompareResult& r) {
  nlohmann::ordered_json j;
  j["baseline"] = nullptr;
  if (!r.runs.empty()) j["baseline"] = r.runs[0].name;
  j["interrupted"] = r.interrupted;
  j["runs"] = nlohmann::ordered_json::array();
  for (const CompareRun& run : r.runs)
    j["runs"].push_back(run_json(run, speedups(r.runs[0].report, run.report)));
  return j;
}

}  // namespace imgpipe

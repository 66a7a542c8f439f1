// imgpipe's entry point: parse, run, report, exit code — a table of contents, nothing more.
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/cli.h"
#include "pipeline/compare.h"
#include "pipeline/pipeline.h"
#include "pipeline/report.h"
#include "pipeline/shards.h"

using namespace imgpipe;

namespace {

bool write_metrics_json(const std::string& path, const nlohmann::ordered_json& metrics) {
  std::ofstream out(path);
  out << metrics.dump(2) << "\n";
  return static_cast<bool>(out);
}

// --report is checked before the run, so a long run never ends unable to write it.
bool report_path_ok(const Options& options) {
  std::string why;
  if (options.report.empty() || check_report_path(options.report, &why)) return true;
  std::cerr << "imgpipe: " << why << "\n";
  return false;
}

bool write_report_file(const std::string& path, const std::string& html) {
  std::string why;
  if (write_report(path, html, &why)) return true;
  std::cerr << "imgpipe: " << why << "\n";
  return false;
}

// Flushes stdout and says whether everything written to it arrived: a full disk, a closed pipe or
// a closed descriptor make the results a script asked for go missing, which is an error.
bool stdout_ok() {
  std::cout.flush();
  if (std::cout && std::fflush(stdout) == 0 && !std::ferror(stdout)) return true;
  std::cerr << "imgpipe: cannot write the results to stdout\n";
  return false;
}

int run_compare(const Options& options, const RunInfo& info) {
  if (!report_path_ok(options)) return kExitUsage;
  CompareResult result;
  try {
    result = compare(options);
  } catch (const SetupError& e) {
    std::cerr << "imgpipe compare: " << e.what() << "\n";
    return kExitUsage;
  }
  const nlohmann::ordered_json json = compare_json(result);  // the report's numbers too
  if (options.json)
    std::cout << json.dump(2) << "\n";
  else
    std::cout << format_compare(result);
  if (!stdout_ok()) return kExitUsage;
  std::vector<TimelineSamples> timelines;
  for (const CompareRun& run : result.runs) timelines.push_back(run.timeline);
  if (!options.report.empty() &&
      !write_report_file(options.report, compare_report_html(info, json, timelines)))
    return kExitUsage;
  return result.interrupted ? kExitInterrupted : kExitOk;
}

int run_plan(const Options& options) {
  try {
    const Plan plan = make_plan(options);
    if (!options.quiet)
      std::cerr << "imgpipe plan: " << plan.lines << " lines in " << plan.shard_lines.size()
                << " shards in " << options.output_dir << "; run them with: imgpipe run "
                << options.output_dir << " --shard K (0 <= K < " << plan.shard_lines.size()
                << ")\n";
  } catch (const SetupError& e) {
    std::cerr << "imgpipe plan: " << e.what() << "\n";
    return kExitUsage;
  }
  return kExitOk;
}

const char* state_word(ShardState s) {
  switch (s) {
    case ShardState::kDone:
      return "done";
    case ShardState::kAlreadyDone:
      return "already done";
    case ShardState::kInterrupted:
      return "interrupted";
    case ShardState::kFailed:
      break;
  }
  return "failed";
}

// One line per shard on stderr as it ends; the exit code of them all: 130 interrupted, 2 a shard
// not done, 1 some lines failed, 0 every line ok.
int run_shards_command(const Options& options) {
  std::vector<ShardOutcome> outcomes;
  try {
    outcomes = run_shards(options, [&options](const ShardOutcome& o) {
      if (options.quiet) return;
      std::cerr << "imgpipe run: shard " << o.shard << ": " << state_word(o.state);
      if (o.state == ShardState::kDone || o.state == ShardState::kAlreadyDone)
        std::cerr << ", " << o.lines << " lines, " << o.failed_lines << " failed";
      std::cerr << (o.message.empty() ? "" : ": ") << o.message << "\n";
    });
  } catch (const SetupError& e) {
    std::cerr << "imgpipe run: " << e.what() << "\n";
    return kExitUsage;
  }
  nlohmann::ordered_json json = nlohmann::ordered_json::array();
  int rc = kExitOk;
  for (const ShardOutcome& o : outcomes) {
    json.push_back({{"shard", o.shard},
                    {"state", state_word(o.state)},
                    {"lines", o.lines},
                    {"failed", o.failed_lines},
                    {"message", o.message}});
    if (o.state == ShardState::kInterrupted) rc = kExitInterrupted;
    if (o.state == ShardState::kFailed && rc != kExitInterrupted) rc = kExitUsage;
    if (o.failed_lines > 0 && rc == kExitOk) rc = kExitSomeFailed;
  }
  if (options.json) std::cout << json.dump(2) << "\n";
  return stdout_ok() ? rc : kExitUsage;
}

int run_status(const Options& options) {
  ShardStatus status;
  try {
    status = shard_status(options.output_dir);
  } catch (const SetupError& e) {
    std::cerr << "imgpipe status: " << e.what() << "\n";
    return kExitUsage;
  }
  if (options.json)
    std::cout << status_json(status).dump(2) << "\n";
  else
    std::cout << format_status(status);
  if (!stdout_ok()) return kExitUsage;
  return status.done.size() == status.plan.shard_lines.size() ? kExitOk : kExitSomeFailed;
}

// What a plain run prints and writes after it ended: the --resume line, the table or JSON, the
// metrics file, the report.
bool report_run(const Options& options, const RunResult& result, RunInfo info) {
  if (options.resume) {
    std::cerr << "imgpipe: --resume: " << result.resumed << " lines were already done";
    if (result.resumed_failed > 0)
      std::cerr << " (" << result.resumed_failed
                << " of them failed in a way another try would not change: kept; "
                   "--retry-failed all does them again)";
    std::cerr << "\n";
  }
  // One JSON for --json, --metrics-json and --report: the report draws these very numbers.
  const nlohmann::ordered_json metrics = to_json(result.report);
  if (options.json)
    std::cout << metrics.dump(2) << "\n";
  else if (!options.quiet)
    std::cout << format_table(result.report);
  if (!stdout_ok()) return false;
  if (!options.metrics_json.empty() && !write_metrics_json(options.metrics_json, metrics)) {
    std::cerr << "imgpipe: cannot write " << options.metrics_json << "\n";
    return false;
  }
  info.resumed = result.resumed;
  info.interrupted = result.interrupted;
  return options.report.empty() ||
         write_report_file(options.report, run_report_html(info, metrics, result.timeline));
}

int run_thumbnails(const Options& options, const RunInfo& info) {
  if (!report_path_ok(options)) return kExitUsage;
  RunResult result;
  try {
    result = run(options);
  } catch (const SetupError& e) {
    std::cerr << "imgpipe: " << e.what() << "\n";
    return kExitUsage;
  }
  if (!report_run(options, result, info)) return kExitUsage;
  if (!result.error.empty()) {
    std::cerr << "imgpipe: " << result.error << "\n";
    return kExitUsage;
  }
  if (result.interrupted) return kExitInterrupted;
  // A failure kept from an earlier run is still a line that failed.
  return result.report.total.failed + result.resumed_failed == 0 ? kExitOk : kExitSomeFailed;
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);  // a peer closing a socket must not kill us
  std::signal(SIGXFSZ, SIG_IGN);  // a file size limit is a write error to report, not a kill
  CommandLine cl = parse_command_line(argc, argv);
  if (cl.exit_code) return *cl.exit_code;
  const Options& options = cl.options;
  // Read before the run: the report's date is when it started.
  const RunInfo info = describe_run(std::vector<std::string>(argv, argv + argc), options);
  switch (cl.command) {
    case Command::kCompare:
      return run_compare(options, info);
    case Command::kPlan:
      return run_plan(options);
    case Command::kRun:
      return run_shards_command(options);
    case Command::kStatus:
      return run_status(options);
    case Command::kThumbnails:
      break;
  }
  return run_thumbnails(options, info);
}

// imgpipe's entry point: parse, run, report, exit code — a table of contents, nothing more.
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/cli.h"
#include "pipeline/compare.h"
#include "pipeline/pipeline.h"

using namespace imgpipe;

namespace {

bool write_metrics_json(const std::string& path, const Report& report) {
  std::ofstream out(path);
  out << to_json(report).dump(2) << "\n";
  return static_cast<bool>(out);
}

// Flushes stdout and says whether everything written to it arrived: a full disk, a closed pipe or
// a closed descriptor make the results a script asked for go missing, which is an error.
bool stdout_ok() {
  std::cout.flush();
  if (std::cout && std::fflush(stdout) == 0 && !std::ferror(stdout)) return true;
  std::cerr << "imgpipe: cannot write the results to stdout\n";
  return false;
}

int run_compare(const Options& options) {
  CompareResult result;
  try {
    result = compare(options);
  } catch (const SetupError& e) {
    std::cerr << "imgpipe compare: " << e.what() << "\n";
    return kExitUsage;
  }
  if (options.json)
    std::cout << compare_json(result).dump(2) << "\n";
  else
    std::cout << format_compare(result);
  if (!stdout_ok()) return kExitUsage;
  return result.interrupted ? kExitInterrupted : kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);  // a peer closing a socket must not kill us
  std::signal(SIGXFSZ, SIG_IGN);  // a file size limit is a write error to report, not a kill
  CommandLine cl = parse_command_line(argc, argv);
  if (cl.exit_code) return *cl.exit_code;
  const Options& options = cl.options;
  if (cl.compare) return run_compare(options);

  RunResult result;
  try {
    result = run(options);
  } catch (const SetupError& e) {
    std::cerr << "imgpipe: " << e.what() << "\n";
    return kExitUsage;
  }
  if (options.resume)
    std::cerr << "imgpipe: --resume: " << result.resumed << " lines were already done\n";
  if (options.json)
    std::cout << to_json(result.report).dump(2) << "\n";
  else if (!options.quiet)
    std::cout << format_table(result.report);
  if (!stdout_ok()) return kExitUsage;
  if (!options.metrics_json.empty() && !write_metrics_json(options.metrics_json, result.report)) {
    std::cerr << "imgpipe: cannot write " << options.metrics_json << "\n";
    return kExitUsage;
  }
  if (!result.error.empty()) {
    std::cerr << "imgpipe: " << result.error << "\n";
    return kExitUsage;
  }
  if (result.interrupted) return kExitInterrupted;
  return result.report.total.failed == 0 ? kExitOk : kExitSomeFailed;
}

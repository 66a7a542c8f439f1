// The command line: binds flags to the Options tree and nothing else.
//
// Stateless; parse_command_line may be called from any thread (tests call it directly).
#pragma once

#include <optional>
#include <string>

#include "core/options.h"

namespace imgpipe {

// Exit codes scripts rely on.
constexpr int kExitOk = 0;             // every line produced a thumbnail
constexpr int kExitSomeFailed = 1;     // the run finished, some lines failed (see the manifest)
constexpr int kExitUsage = 2;          // bad flag, unreadable list, output folder not writable
constexpr int kExitInterrupted = 130;  // SIGINT/SIGTERM (128 + SIGINT, as shells report it)

// "256" → 256×256, "320x200" → 320×200; nullopt if malformed or a side is outside 1..65535.
std::optional<Size> parse_size(const std::string& text);

// The first word: none (thumbnail a list), or compare, plan, run, status.
enum class Command { kThumbnails, kCompare, kPlan, kRun, kStatus };

struct CommandLine {
  Options options;
  std::optional<int> exit_code;  // set when the program should exit now (help, version, error)
  bool compare = false;          // `imgpipe compare ...`: run the four-way comparison
  Command command = Command::kThumbnails;
};

// --shard's values: "K", "A-B" (inclusive), or "auto" (the scheduler's array index), added to *s;
// false with *why set otherwise.
bool parse_shard_value(const std::string& text, ShardOptions* s, std::string* why);
// --worker's value: "I/W" or "auto/W" with 0 <= I < W; false with *why set otherwise.
bool parse_worker_value(const std::string& text, ShardOptions* s, std::string* why);

// Parses argv. Help and version are printed to stdout, errors to stderr, with the exit code set.
CommandLine parse_command_line(int argc, const char* const* argv);

}  // namespace imgpipe

// The shard contract: `imgpipe plan` splits a URL list into shards, `imgpipe run OUTDIR` processes
// some of them anywhere (a Slurm array task, a Kubernetes indexed pod, a shell loop), and
// `imgpipe status OUTDIR` says which are done. Any scheduler that hands out an index can drive it.
//
// OUTDIR after a plan:
//   plan.json                 the list's sha256 and line count, the shards, the options of the run
//   inputs/00003.jsonl        shard 3's records, each with its original line number (ListFormat::
//                             kShard), so manifest rows name the line of the original list
//   shards/00003/             shard 3's OUTDIR: its thumbnails, manifest.jsonl, lock, and last
//   shards/00003/00003.tar    --output-format webdataset: the shard's one tar, named after it
//   shards/00003/done.json    its done marker: written atomically once the shard is complete
// Names have 5 digits (more past 99,999 shards). Every file is created relative to a directory
// handle with O_NOFOLLOW, as OutputDir does for a run's files.
//
// A shard is one ordinary run (pipeline.h) with --resume always on, so a killed or interrupted
// shard is resumed item by item on its next run: its ok rows with their files are kept, the rest
// redone, and the manifest again holds one row per line. With webdataset output a shard without
// its done marker is redone whole instead, so its tar stays one file (shards.cc: restart_tar).
// Two workers on one shard: the second finds the shard's OUTDIR locked (outdir.h) and fails,
// saying so.
//
// Thread-safety: plain functions, called from one thread (the shards run one after another).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/options.h"

namespace imgpipe {

constexpr const char* kPlanName = "plan.json";
constexpr const char* kInputsDir = "inputs";
constexpr const char* kShardsDir = "shards";
constexpr const char* kDoneName = "done.json";

// The environment variables a scheduler puts a task's array index in, tried in this order: Slurm
// job arrays, Kubernetes Indexed Jobs, AWS Batch array jobs. The count of tasks never comes from
// the environment (SLURM_ARRAY_TASK_COUNT is 2 on a re-run of --array=3,5), only from the plan or
// --worker's W.
constexpr const char* kArrayIndexVariables[] = {"SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX",
                                                "AWS_BATCH_JOB_ARRAY_INDEX"};

// Shard k's name in inputs/ (with ".jsonl") and shards/: zero-padded to 5 digits.
std::string shard_name(int64_t k);

struct Plan {
  std::string list;         // the list's path as given to plan
  std::string list_sha256;  // of the list's text (gzip inflated), so a plan names its list
  uint64_t lines = 0;       // records: the manifest rows the shards will hold in all
  int64_t shard_size = 0;
  ShardBy by = ShardBy::kLine;
  std::vector<uint64_t> shard_lines;  // records per shard; its size is the shard count
  // options_record (outdir.h) plus "dedup": every option that shapes outputs. A shard runs with
  // exactly these; download and thread options come from `imgpipe run`'s own flags.
  nlohmann::ordered_json options;
};

nlohmann::ordered_json plan_json(const Plan& plan);

// `imgpipe plan`: streams o.input once (--shard-by host: twice, counting first, so it must be a
// file) and writes the shard inputs and OUTDIR/plan.json, last. Memory stays fixed whatever the
// list's length: records are buffered per shard up to kPlanBufferBytes in all, then appended to
// their files, one file open at a time. Throws SetupError (an unreadable list, a bad header, an
// OUTDIR that already holds a plan, a write error).
Plan make_plan(const Options& o);

// Reads OUTDIR/plan.json; throws SetupError if it is missing or not one this imgpipe wrote.
Plan read_plan(const std::string& outdir);

// The run options of shard k: `base` (download, threads, output to the terminal) with the plan's
// options, the shard's input file and OUTDIR, and --resume on.
Options shard_options(const Plan& plan, const Options& base, int64_t k);

// Which shards a worker processes, ascending and distinct: --shard K / A-B, --shard auto (the
// array index), --worker I/W or auto/W. `env` looks a variable up (getenv; tests pass their own).
// Throws SetupError for a shard past the plan's count or an array index that is missing or not a
// number.
using EnvLookup = std::function<const char*(const char*)>;
std::vector<int64_t> select_shards(const ShardOptions& s, int64_t shard_count,
                                   const EnvLookup& env);

enum class ShardState {
  kDone,         // processed now; its done marker written
  kAlreadyDone,  // it had a done marker: skipped
  kFailed,       // could not start (locked by another worker, setup error) or did not complete
  kInterrupted,  // SIGINT/SIGTERM: the next run resumes it
};

struct ShardOutcome {
  int64_t shard = 0;
  ShardState state = ShardState::kFailed;
  std::string message;        // why it failed
  uint64_t lines = 0;         // manifest rows, from its done marker
  uint64_t failed_lines = 0;  // of those, not ok
};

// `imgpipe run OUTDIR`: runs the selected shards one after another (o.output_dir is OUTDIR); a
// shard that fails does not stop the others, an interrupt does. `report` is called after each.
std::vector<ShardOutcome> run_shards(const Options& o,
                                     const std::function<void(const ShardOutcome&)>& report);

// The sorted shard numbers as a Slurm --array spec: "3,5,17-19".
std::string array_spec(const std::vector<int64_t>& shards);

struct ShardStatus {
  Plan plan;
  std::vector<int64_t> done;
  std::vector<int64_t> running;  // a worker holds its lock now
  std::vector<int64_t> failed;   // started (its folder exists), no done marker, not running:
                                 // killed, interrupted, or failed
  std::vector<int64_t> missing;  // never started
  // Summed over the done shards. Lines, statuses and bytes are counted from their manifests when
  // they completed, so exact; busy seconds per stage come from each shard's last run (a resumed
  // shard's earlier runs are not in them).
  uint64_t lines = 0, bytes = 0;
  std::map<std::string, uint64_t> by_status;
  std::vector<std::pair<std::string, double>> busy_s;  // per stage, in data-flow order
};

// `imgpipe status OUTDIR`. Throws SetupError without a readable plan.
ShardStatus shard_status(const std::string& outdir);
std::string format_status(const ShardStatus& s);
nlohmann::ordered_json status_json(const ShardStatus& s);

}  // namespace imgpipe

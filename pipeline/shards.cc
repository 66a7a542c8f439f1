// The shard contract: plan, run, status (shards.h).
#include "pipeline/shards.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <istream>
#include <streambuf>

#include "pipeline/metrics.h"
#include "pipeline/outdir.h"
#include "pipeline/pipeline.h"
#include "stages/download.h"
#include "stages/hash.h"
#include "stages/manifest.h"
#include "stages/reader.h"
#include "stages/tar.h"

namespace imgpipe {
namespace {

using Json = nlohmann::ordered_json;

// Record bytes `imgpipe plan` holds before appending them to the shard files: 16 MiB keeps plan's
// memory fixed whatever the list, and makes each append of a busy shard a large write. Each flush
// opens every shard file with records waiting, one at a time, so at most one is ever open.
constexpr size_t kPlanBufferBytes = 16 << 20;

// The largest plan.json read back: 12 bytes a shard for its line count, so ~5 million shards.
constexpr size_t kMaxPlanBytes = 64 << 20;

// Closes a descriptor when it goes out of scope.
struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// ---- plan ----------------------------------------------------------------------------------

// Passes the list's bytes on unchanged, hashing them as they go by, so the checksum costs no
// second read. A read error (corrupt gzip, I/O) is kept to fail the plan, not made a record.
class HashingBuf : public std::streambuf {
 public:
  HashingBuf(std::streambuf* in, Sha256* sha) : in_(in), sha_(sha) {}
  const std::string& error() const { return error_; }

 protected:
  int_type underflow() override {
    std::streamsize n = 0;
    try {
      n = in_->sgetn(buf_, sizeof buf_);
    } catch (const std::exception& e) {
      error_ = e.what();
      throw;
    }
    if (n <= 0) return traits_type::eof();
    sha_->update(buf_, static_cast<size_t>(n));
    setg(buf_, buf_, buf_ + n);
    return traits_type::to_int_type(buf_[0]);
  }

 private:
  std::streambuf* in_;
  Sha256* sha_;
  char buf_[64 * 1024];  // one read's worth: what the gzip layer hands over at a time
  std::string error_;
};

// Reads every record of o.input once, calling each(line, index) in list order; returns the
// sha256 of the list's text.
std::string read_list(const Options& o,
                      const std::function<void(const ListLine&, uint64_t)>& each) {
  std::string why;
  std::unique_ptr<std::istream> raw = open_list(o.input, &why);
  if (!raw) throw SetupError(why);
  Sha256 sha;
  HashingBuf hashing(raw->rdbuf(), &sha);
  std::istream in(&hashing);
  ListReader reader(in, o.input_format ? *o.input_format : format_from_path(o.input), o.url_column);
  if (!reader.read_header(&why)) throw SetupError(o.input + ": " + why);
  check_caption_column(o, o.input_format ? *o.input_format : format_from_path(o.input), reader);
  ListLine line;
  for (uint64_t i = 0; reader.next(&line); ++i) each(line, i);
  if (!hashing.error().empty()) throw SetupError("cannot read " + o.input + ": " + hashing.error());
  return sha.hex();
}

// The shard input files, appended to from per-shard buffers (see kPlanBufferBytes).
class ShardFiles {
 public:
  ShardFiles(int dir_fd, std::string shown) : dir_fd_(dir_fd), shown_(std::move(shown)) {}

  void add(int64_t k, const std::string& record) {
    grow(k + 1);
    std::string& b = buffers_[k];
    const size_t before = b.capacity();
    b += record;
    ++lines_[k];
    held_ += b.capacity() - before;  // capacity, not size: what the buffer really holds
    if (held_ > kPlanBufferBytes) flush_all();
  }
  // Appends shard k's waiting records now (--shard-by line: k is complete).
  void flush(int64_t k) {
    const std::string name = shard_name(k) + ".jsonl";
    const int flags = O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC |
                      (created_[k] ? 0 : O_TRUNC);  // a failed earlier plan's file starts over
    Fd fd{::openat(dir_fd_, name.c_str(), flags, 0644)};
    const std::string& b = buffers_[k];
    bool ok = fd.fd >= 0;
    for (size_t done = 0; ok && done < b.size();) {
      ssize_t n = ::write(fd.fd, b.data() + done, b.size() - done);
      ok = n > 0;
      done += ok ? static_cast<size_t>(n) : 0;
    }
    if (!ok || ::close(fd.fd) != 0)
      throw SetupError("cannot write " + shown_ + "/" + name + ": " + std::strerror(errno));
    fd.fd = -1;
    created_[k] = true;
    held_ -= b.capacity() - std::string().capacity();  // what add() counted
    std::string().swap(buffers_[k]);  // clear() would keep the capacity: memory would add up
  }
  // Every shard file up to `count` written, empty ones too (a host hash may leave one empty).
  std::vector<uint64_t> finish(int64_t count) {
    grow(count);
    for (int64_t k = 0; k < count; ++k)
      if (!buffers_[k].empty() || !created_[k]) flush(k);
    return lines_;
  }

 private:
  void grow(int64_t n) {
    if (static_cast<int64_t>(buffers_.size()) >= n) return;
    buffers_.resize(n);
    created_.resize(n, false);
    lines_.resize(n, 0);
  }
  void flush_all() {
    for (size_t k = 0; k < buffers_.size(); ++k)
      if (!buffers_[k].empty()) flush(k);
  }

  int dir_fd_;
  std::string shown_;
  // Per shard: 32 + 8 + 1 bytes however many lines, so memory grows with lines / --shard-size,
  // never with the list itself.
  std::vector<std::string> buffers_;
  std::vector<bool> created_;
  std::vector<uint64_t> lines_;
  size_t held_ = 0;
};

// The shard --shard-by host gives a line: a stable hash of its host (FNV-1a, then a 64-bit mixer
// so every bit reaches the modulus). Lines without an http(s) host (local paths, malformed lines)
// are placed by position, as --shard-by line would, so they do not all pile into one shard.
int64_t host_shard(const ListLine& line, uint64_t index, int64_t size, int64_t count) {
  std::string host, why;
  if (!line.error.empty() || line.too_long || !parse_http_url(line.text, &host, &why))
    return std::min<int64_t>(static_cast<int64_t>(index / size), count - 1);
  uint64_t h = url_hash(host);
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;  // MurmurHash3's fmix64 constants
  h ^= h >> 33;
  return static_cast<int64_t>(h % static_cast<uint64_t>(count));
}

int64_t shards_for(uint64_t lines, int64_t size) {
  return static_cast<int64_t>((lines + size - 1) / static_cast<uint64_t>(size));
}

// Reads the list into the shard files; fills the plan's checksum, line count and shard lines.
void split_list(const Options& o, ShardFiles* files, Plan* plan) {
  const int64_t size = o.shard.size;
  if (o.shard.by == ShardBy::kLine) {
    int64_t open_shard = 0;
    plan->list_sha256 = read_list(o, [&](const ListLine& line, uint64_t i) {
      const int64_t k = static_cast<int64_t>(i / size);
      if (k != open_shard) files->flush(open_shard);  // a line shard is complete: write it out
      open_shard = k;
      files->add(k, shard_record(line));
      plan->lines = i + 1;
    });
  } else {
    // The shard count must be known before any line is placed: a counting pass first, so the
    // list must be a file that can be read twice.
    struct stat st {};
    if (o.input == "-" || ::stat(o.input.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
      throw SetupError("--shard-by host reads the list twice (counting, then placing): " + o.input +
                       " must be a regular file, not stdin or a pipe");
    plan->list_sha256 = read_list(o, [&](const ListLine&, uint64_t i) { plan->lines = i + 1; });
    const int64_t count = shards_for(plan->lines, size);
    uint64_t placed = 0;
    const std::string again = read_list(o, [&](const ListLine& line, uint64_t i) {
      if (i < plan->lines) files->add(host_shard(line, i, size, count), shard_record(line));
      placed = i + 1;
    });
    if (again != plan->list_sha256 || placed != plan->lines)
      throw SetupError(o.input + " changed while it was planned; plan again");
  }
  plan->shard_lines = files->finish(shards_for(plan->lines, size));
}

// ---- run -----------------------------------------------------------------------------------

struct ManifestCounts {
  uint64_t rows = 0, bytes = 0;
  std::map<std::string, uint64_t> by_status;
};

// Counts a complete shard's manifest, a row at a time (its rows are what the shard delivered,
// whichever runs wrote them).
bool count_manifest(int dir_fd, ManifestCounts* c, std::string* why) {
  Fd fd{::openat(dir_fd, kManifestName, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)};
  std::FILE* in = fd.fd < 0 ? nullptr : ::fdopen(fd.fd, "r");
  if (!in) {
    *why = std::string("cannot read its manifest: ") + std::strerror(errno);
    return false;
  }
  fd.fd = -1;  // the FILE owns it now
  char* buf = nullptr;
  size_t cap = 0;
  for (ssize_t n; (n = ::getline(&buf, &cap, in)) > 0;) {
    const nlohmann::json row = nlohmann::json::parse(buf, buf + n, nullptr, false);
    if (!row.is_object()) continue;  // counted short below
    ++c->rows;
    ++c->by_status[row.value("status", "unknown")];
    c->bytes += row.value("bytes", uint64_t{0});
  }
  std::free(buf);
  std::fclose(in);
  return true;
}

Json done_marker(int64_t k, const ManifestCounts& c, const RunResult& r) {
  return {{"shard", k},       {"lines", c.rows},      {"by_status", c.by_status},
          {"bytes", c.bytes}, {"resumed", r.resumed}, {"metrics", to_json(r.report)}};
}

// The shard's done marker, or null when it has none or one that is not as run_locked writes it
// (edited or damaged by hand): such a shard counts as not done, and its next run resumes it and
// writes the marker again, so a bad marker can neither crash status nor pass for done.
Json read_marker(int shard_fd) {
  std::string text;
  if (shard_fd < 0 || !read_small(shard_fd, kDoneName, &text)) return Json();
  Json m = Json::parse(text, nullptr, false);
  auto is = [&m](const char* key, bool (Json::*kind)() const noexcept) {
    return m.contains(key) && (m[key].*kind)();
  };
  const bool valid = m.is_object() && is("lines", &Json::is_number_unsigned) &&
                     is("bytes", &Json::is_number_unsigned) && is("by_status", &Json::is_object) &&
                     (!m.contains("metrics") || is("metrics", &Json::is_object));
  return valid ? m : Json();
}

void fill_from_marker(const Json& marker, ShardOutcome* out) {
  out->lines = marker.value("lines", uint64_t{0});
  const Json statuses = marker.value("by_status", Json::object());
  out->failed_lines = out->lines - std::min(out->lines, statuses.value("ok", uint64_t{0}));
}

// Webdataset: a shard's tar counts only beside its done marker. Without one, the shard is redone
// whole, into a new tar: the tar a run finished before it was killed or interrupted is removed
// here, so every ok row names a tar that does not exist and --resume drops them all (a killed
// run's unfinished tar is a temporary, which --resume removes). The cost: the whole shard is
// downloaded again, so keep shards to minutes of work. Resumed line by line instead, the lines a
// retry brings back would need a second tar, and a shard's tar would no longer be one file.
void restart_tar(const Options& so, int dir_fd) {
  if (so.output.format != OutputFormat::kWebdataset) return;
  const std::string name = tar_name(so.output.first_tar);
  struct stat st {};
  if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
      ::unlinkat(dir_fd, name.c_str(), 0) != 0)
    throw SetupError("cannot remove the unfinished shard's " + so.output_dir + "/" + name + ": " +
                     std::strerror(errno));
}

// Runs shard k (its OUTDIR already made) and writes its done marker, under its lock throughout.
void run_locked(const Plan& plan, const Options& so, int64_t k, ShardOutcome* out) {
  std::unique_ptr<OutputDir> dir = OutputDir::open(so);  // the second worker fails here
  const Json done = read_marker(dir->fd());
  if (!done.is_null()) {
    fill_from_marker(done, out);
    out->state = ShardState::kAlreadyDone;
    return;
  }
  restart_tar(so, dir->fd());
  const RunResult r = run(so, dir.get());
  out->message = r.error;
  if (r.interrupted) out->state = ShardState::kInterrupted;
  if (r.interrupted || !r.error.empty()) return;
  ManifestCounts c;
  if (!count_manifest(dir->fd(), &c, &out->message)) return;
  if (c.rows != plan.shard_lines[k]) {  // the check that nothing was lost or doubled
    out->message = "its manifest holds " + std::to_string(c.rows) + " rows for " +
                   std::to_string(plan.shard_lines[k]) + " lines; not marked done";
    return;
  }
  const Json marker = done_marker(k, c, r);
  if (!write_small(dir->fd(), kDoneName, marker.dump(2) + "\n", /*durable=*/true)) {
    out->message = std::string("cannot write its done marker: ") + std::strerror(errno);
    return;
  }
  fill_from_marker(marker, out);
  out->state = ShardState::kDone;
}

// The shard's input must be the regular file plan wrote, not a symlink planted in its place (the
// run reads it by path, as any list).
void check_input(int inputs_fd, int64_t k, const std::string& shown) {
  struct stat st {};
  const std::string name = shard_name(k) + ".jsonl";
  if (::fstatat(inputs_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
    throw SetupError(shown + " is missing or not a regular file");
}

ShardOutcome run_shard(const Plan& plan, const Options& base, int shards_fd, int inputs_fd,
                       int64_t k) {
  ShardOutcome out;
  out.shard = k;
  const Options so = shard_options(plan, base, k);
  try {
    // Made here, so never through a symlink; the run opens it again by path as its OUTDIR.
    ::close(open_own_subfolder(shards_fd, shard_name(k), so.output_dir));
    check_input(inputs_fd, k, so.input);
    run_locked(plan, so, k, &out);
  } catch (const SetupError& e) {
    out.state = ShardState::kFailed;
    out.message = e.what();
  }
  return out;
}

// The first array index the environment holds (kArrayIndexVariables).
int64_t array_index(const EnvLookup& env) {
  for (const char* name : kArrayIndexVariables) {
    const char* text = env(name);
    if (!text || !*text) continue;
    char* end = nullptr;
    errno = 0;
    const long long v = std::strtoll(text, &end, 10);
    if (*end || errno || v < 0 || !std::isdigit(static_cast<unsigned char>(text[0])))
      throw SetupError(std::string(name) + "='" + text + "' is not an array index");
    return v;
  }
  std::string names;
  for (const char* name : kArrayIndexVariables)
    names += (names.empty() ? "" : ", ") + std::string(name);
  throw SetupError("auto: none of " + names + " is set (not inside an array job?)");
}

void check_shard(int64_t k, int64_t count, const std::string& what) {
  if (k < 0 || k >= count)
    throw SetupError(what + " " + std::to_string(k) + " is not a shard of this plan (it has " +
                     std::to_string(count) + ": 0-" + std::to_string(count - 1) + ")");
}

}  // namespace

std::string shard_name(int64_t k) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%05lld", static_cast<long long>(k));
  return buf;
}

Json plan_json(const Plan& p) {
  return {{"imgpipe", IMGPIPE_VERSION},
          {"list", p.list},
          {"list_sha256", p.list_sha256},
          {"lines", p.lines},
          {"shard_size", p.shard_size},
          {"shard_by", word(p.by)},
          {"shards", p.shard_lines.size()},
          {"shard_lines", p.shard_lines},
          {"options", p.options}};
}

Plan make_plan(const Options& o) {
  check_output_options(o);
  Fd dir{open_output_folder(o.output_dir, true)};
  struct stat st {};
  if (::fstatat(dir.fd, kPlanName, &st, AT_SYMLINK_NOFOLLOW) == 0)
    throw SetupError(o.output_dir + " already holds a plan (" + kPlanName +
                     "): plan into another folder, or remove it first");
  Fd inputs{open_own_subfolder(dir.fd, kInputsDir, o.output_dir + "/" + kInputsDir)};
  Plan plan;
  plan.list = o.input;
  plan.shard_size = o.shard.size;
  plan.by = o.shard.by;
  plan.options = options_record(o);
  plan.options["dedup"] = o.output.dedup;
  plan.options.erase("samples-per-shard");  // a shard writes one tar, whatever its size
  ShardFiles files(inputs.fd, o.output_dir + "/" + kInputsDir);
  split_list(o, &files, &plan);
  // Last: a plan.json means every shard file is complete.
  if (!write_small(dir.fd, kPlanName, plan_json(plan).dump(2) + "\n", /*durable=*/true))
    throw SetupError("cannot write " + o.output_dir + "/" + kPlanName + ": " +
                     std::strerror(errno));
  return plan;
}

Plan read_plan(const std::string& outdir) {
  Fd dir{open_output_folder(outdir, false)};
  std::string text;
  if (!read_small(dir.fd, kPlanName, &text, kMaxPlanBytes))
    throw SetupError("cannot read " + outdir + "/" + kPlanName +
                     " (run imgpipe plan first): " + std::strerror(errno));
  const Json j = Json::parse(text, nullptr, false);
  Plan p;
  try {
    p.list = j.at("list");
    p.list_sha256 = j.at("list_sha256");
    p.lines = j.at("lines");
    p.shard_size = j.at("shard_size");
    p.by = j.at("shard_by") == "host" ? ShardBy::kHost : ShardBy::kLine;
    p.shard_lines = j.at("shard_lines").get<std::vector<uint64_t>>();
    p.options = j.at("options");
  } catch (const nlohmann::json::exception& e) {
    throw SetupError(outdir + "/" + kPlanName +
                     " is not a plan this imgpipe can read: " + e.what());
  }
  Options check;
  std::string why;
  if (!options_from_record(p.options, &check, &why))
    throw SetupError(outdir + "/" + kPlanName + ": " + why);
  return p;
}

Options shard_options(const Plan& plan, const Options& base, int64_t k) {
  Options o = base;
  std::string why;
  options_from_record(plan.options, &o, &why);  // read_plan checked it
  const std::string name = shard_name(k);
  o.input = base.output_dir + "/" + kInputsDir + "/" + name + ".jsonl";
  o.input_format = ListFormat::kShard;
  o.output_dir = base.output_dir + "/" + kShardsDir + "/" + name;
  o.resume = true;  // a shard a killed worker left is finished item by item, never doubled
  o.overwrite = false;
  // Webdataset: one tar per shard, named after the shard (00003.tar), so the tars of every shard
  // can be gathered into one folder.
  o.output.samples_per_tar = 0;
  o.output.first_tar = k;
  o.metrics_json.clear();  // each shard's metrics go into its done marker
  o.trace.clear();
  return o;
}

std::vector<int64_t> select_shards(const ShardOptions& s, int64_t count, const EnvLookup& env) {
  std::vector<int64_t> out;
  for (const auto& [first, last] : s.ranges) {
    check_shard(first, count, "--shard");
    check_shard(last, count, "--shard");
    for (int64_t k = first; k <= last; ++k) out.push_back(k);
  }
  if (s.shard_auto) {
    const int64_t k = array_index(env);
    check_shard(k, count, "--shard auto: the array index");
    out.push_back(k);
  }
  if (s.worker_count > 0) {
    const int64_t i = s.worker_auto ? array_index(env) : s.worker_index;
    if (i >= s.worker_count)
      throw SetupError("--worker: index " + std::to_string(i) + " is not below the count " +
                       std::to_string(s.worker_count));
    for (int64_t k = i; k < count; k += s.worker_count) out.push_back(k);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<ShardOutcome> run_shards(const Options& o,
                                     const std::function<void(const ShardOutcome&)>& report) {
  const Plan plan = read_plan(o.output_dir);
  const std::vector<int64_t> shards =
      select_shards(o.shard, static_cast<int64_t>(plan.shard_lines.size()), std::getenv);
  Fd dir{open_output_folder(o.output_dir, false)};
  Fd shards_fd{open_own_subfolder(dir.fd, kShardsDir, o.output_dir + "/" + kShardsDir)};
  Fd inputs_fd{::openat(dir.fd, kInputsDir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)};
  if (inputs_fd.fd < 0)
    throw SetupError("cannot open " + o.output_dir + "/" + kInputsDir + ": " +
                     std::strerror(errno));
  std::vector<ShardOutcome> outcomes;
  for (int64_t k : shards) {
    outcomes.push_back(run_shard(plan, o, shards_fd.fd, inputs_fd.fd, k));
    report(outcomes.back());
    if (outcomes.back().state == ShardState::kInterrupted) break;
  }
  return outcomes;
}

std::string array_spec(const std::vector<int64_t>& shards) {
  std::string spec;
  for (size_t i = 0; i < shards.size();) {
    size_t j = i;
    while (j + 1 < shards.size() && shards[j + 1] == shards[j] + 1) ++j;
    spec += (spec.empty() ? "" : ",") + std::to_string(shards[i]);
    if (j > i) spec += "-" + std::to_string(shards[j]);
    i = j + 1;
  }
  return spec;
}

namespace {

// Adds a done shard's marker to the sums.
void add_marker(const Json& m, ShardStatus* s) {
  s->lines += m.value("lines", uint64_t{0});
  s->bytes += m.value("bytes", uint64_t{0});
  const Json statuses = m.value("by_status", Json::object());  // items() would outlive a temporary
  for (const auto& [status, n] : statuses.items())
    if (n.is_number_unsigned()) s->by_status[status] += n.get<uint64_t>();
  const Json stages = m.contains("metrics") ? m["metrics"].value("stages", Json()) : Json();
  if (!stages.is_array()) return;
  for (const Json& stage : stages) {
    if (!stage.is_object() || !stage.value("name", Json()).is_string() ||
        !stage.value("busy_s", Json()).is_number())
      continue;  // not a stage as metrics.cc writes it
    const std::string name = stage.value("name", "");
    auto it = std::find_if(s->busy_s.begin(), s->busy_s.end(),
                           [&name](const auto& b) { return b.first == name; });
    if (it == s->busy_s.end()) it = s->busy_s.insert(s->busy_s.end(), {name, 0.0});
    it->second += stage.value("busy_s", 0.0);
  }
}

// The shards to submit again: failed and missing, in order. Not the running ones: a task given
// one of those would only find it locked.
std::vector<int64_t> not_done(const ShardStatus& s) {
  std::vector<int64_t> todo = s.failed;
  todo.insert(todo.end(), s.missing.begin(), s.missing.end());
  std::sort(todo.begin(), todo.end());
  return todo;
}

}  // namespace

ShardStatus shard_status(const std::string& outdir) {
  ShardStatus s;
  s.plan = read_plan(outdir);
  Fd dir{open_output_folder(outdir, false)};
  Fd shards{::openat(dir.fd, kShardsDir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)};
  for (int64_t k = 0; k < static_cast<int64_t>(s.plan.shard_lines.size()); ++k) {
    Fd shard{shards.fd < 0 ? -1
                           : ::openat(shards.fd, shard_name(k).c_str(),
                                      O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)};
    const Json marker = read_marker(shard.fd);
    if (!marker.is_null()) {
      s.done.push_back(k);
      add_marker(marker, &s);
    } else if (shard.fd < 0) {
      s.missing.push_back(k);
    } else {
      (lock_is_held(shard.fd) ? s.running : s.failed).push_back(k);
    }
  }
  return s;
}

std::string format_status(const ShardStatus& s) {
  const size_t count = s.plan.shard_lines.size();
  char buf[256];
  std::snprintf(buf, sizeof buf, "%zu shards of %llu lines (--shard-size %lld, by %s)\n", count,
                static_cast<unsigned long long>(s.plan.lines),
                static_cast<long long>(s.plan.shard_size), word(s.plan.by));
  std::string out = buf;
  std::snprintf(buf, sizeof buf, "done %zu, running %zu, failed %zu, missing %zu\n", s.done.size(),
                s.running.size(), s.failed.size(), s.missing.size());
  out += buf;
  std::snprintf(buf, sizeof buf, "done shards: %llu lines, %.1f MB in;",
                static_cast<unsigned long long>(s.lines), s.bytes / 1e6);
  out += buf;
  for (const auto& [status, n] : s.by_status) out += " " + status + "=" + std::to_string(n);
  out += "\nbusy s:";
  for (const auto& [stage, busy] : s.busy_s) {
    std::snprintf(buf, sizeof buf, " %s %.2f", stage.c_str(), busy);
    out += buf;
  }
  const std::vector<int64_t> todo = not_done(s);
  out += "\n";
  if (!s.running.empty()) out += "running: --array=" + array_spec(s.running) + "\n";
  if (!todo.empty()) out += "not done: --array=" + array_spec(todo) + "\n";
  if (s.done.size() == count) out += "every shard is done\n";
  return out;
}

Json status_json(const ShardStatus& s) {
  Json busy = Json::object();
  for (const auto& [stage, b] : s.busy_s) busy[stage] = b;
  return {{"shards", s.plan.shard_lines.size()},
          {"lines", s.plan.lines},
          {"done", s.done},
          {"running", s.running},
          {"failed", s.failed},
          {"missing", s.missing},
          {"array", array_spec(not_done(s))},
          {"done_lines", s.lines},
          {"by_status", s.by_status},
          {"bytes", s.bytes},
          {"busy_s", busy}};
}

}  // namespace imgpipe

// OUTDIR setup: the lock, the earlier run's manifest and options, the record for the next run.
#include "pipeline/outdir.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <type_traits>

#include "pipeline/pipeline.h"
#include "stages/manifest.h"

namespace imgpipe {
namespace {

using Json = nlohmann::ordered_json;

std::string errno_text() { return std::strerror(errno); }

std::string color_text(Rgba c) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "#%02x%02x%02x%02x", c.r, c.g, c.b, c.a);
  return buf;
}

// Takes OUTDIR's lock for the life of the returned descriptor, writing our pid into the lock file
// so a second run can say who holds it. flock is released by the kernel however we exit.
int take_lock(int dir_fd, const std::string& dir) {
  int fd = ::openat(dir_fd, kLockName, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) throw SetupError("cannot create " + dir + "/" + kLockName + ": " + errno_text());
  // `imgpipe status` holds the lock shared for a moment to see whether a shard is running
  // (lock_is_held): try for up to 100 ms before taking a busy lock for another run's.
  int err = EWOULDBLOCK;
  for (int tries = 0; tries < 10 && err == EWOULDBLOCK; ++tries) {
    if (tries > 0) ::usleep(10'000);
    err = ::flock(fd, LOCK_EX | LOCK_NB) == 0 ? 0 : errno;
  }
  if (err != 0) {
    char pid[32] = {};
    ssize_t n = ::pread(fd, pid, sizeof pid - 1, 0);
    ::close(fd);
    if (err != EWOULDBLOCK) throw SetupError("cannot lock " + dir + ": " + std::strerror(err));
    std::string holder = n > 0 ? std::string(pid, std::strcspn(pid, "\n")) : "unknown";
    throw SetupError("another imgpipe run (pid " + holder + ") is writing to " + dir +
                     ": wait for it to finish, or choose another output folder");
  }
  const std::string text = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, text.data(), text.size(), 0) < 0) {
    // The lock holds all the same; only the pid in the message of a second run is missing.
  }
  return fd;
}

// Opens `rel` (a path relative to OUTDIR) component by component without following a symlink,
// and removes its last component if that is a regular file. Names that could leave OUTDIR (empty,
// absolute, "..", hidden) are not imgpipe's and are left alone.
void remove_output(int dir_fd, const std::string& rel) {
  if (rel.empty() || rel[0] == '/') return;
  int fd = ::dup(dir_fd);
  size_t start = 0;
  for (size_t slash; fd >= 0; start = slash + 1) {
    slash = rel.find('/', start);
    const std::string part = rel.substr(start, slash == std::string::npos ? slash : slash - start);
    if (part.empty() || part[0] == '.') break;
    if (slash == std::string::npos) {
      struct stat st {};
      if (::fstatat(fd, part.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
        ::unlinkat(fd, part.c_str(), 0);
      break;
    }
    int next = ::openat(fd, part.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    ::close(fd);
    fd = next;
  }
  if (fd >= 0) ::close(fd);
}

// --overwrite: removes the files the earlier run's manifest names (streamed, a row at a time), so
// OUTDIR holds no thumbnail of the old run that no row of the new one points at.
void remove_listed_outputs(int dir_fd) {
  int fd = ::openat(dir_fd, kManifestName, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  std::FILE* in = fd < 0 ? nullptr : ::fdopen(fd, "r");
  if (!in) {
    if (fd >= 0) ::close(fd);
    return;
  }
  char* buf = nullptr;
  size_t cap = 0;
  ssize_t n;
  while ((n = ::getline(&buf, &cap, in)) > 0) {
    nlohmann::json row = nlohmann::json::parse(buf, buf + n, nullptr, false);
    if (!row.is_object()) continue;
    if (row.contains("output") && row["output"].is_string()) remove_output(dir_fd, row["output"]);
    if (row.contains("outputs") && row["outputs"].is_array())
      for (const auto& o : row["outputs"])
        if (o.is_object() && o.contains("output") && o["output"].is_string())
          remove_output(dir_fd, o["output"]);
  }
  std::free(buf);
  std::fclose(in);
}

// What an earlier run left, and what this run may do about it (see OutputDir::open).
void check_earlier_run(int dir_fd, const Options& o) {
  struct stat st {};
  if (::fstatat(dir_fd, kManifestName, &st, AT_SYMLINK_NOFOLLOW) != 0) return;  // a fresh folder
  const std::string manifest = o.output_dir + "/" + kManifestName;
  if (!S_ISREG(st.st_mode))
    throw SetupError(manifest + " is not a regular file; refusing to use it");
  if (st.st_size == 0 || o.overwrite) return;
  if (!o.resume)
    throw SetupError(manifest + " holds the rows of an earlier run: pass --resume to finish that " +
                     "run, or --overwrite to start afresh (its thumbnails are removed)");
  std::string text;
  if (!read_small(dir_fd, kOptionsName, &text)) {
    std::cerr << "imgpipe: --resume: " << o.output_dir << " has no record of the options its "
              << "files were made with (an older imgpipe?); they are not checked\n";
    return;
  }
  const Json before = Json::parse(text, nullptr, false);
  const std::string diff =
      before.is_discarded() ? "unreadable record" : options_difference(before, options_record(o));
  if (!diff.empty())
    throw SetupError("--resume with other options than the files in " + o.output_dir +
                     " were made with: " + diff +
                     "; pass the same options, or --overwrite to start afresh");
}

}  // namespace

bool read_small(int dir_fd, const char* name, std::string* out, size_t max) {
  int fd = ::openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return false;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0 && out->size() < max) out->append(buf, n);
  ::close(fd);
  return n >= 0;
}

bool write_small(int dir_fd, const char* name, const std::string& text, bool durable) {
  const std::string tmp = std::string(name) + ".tmp";
  ::unlinkat(dir_fd, tmp.c_str(), 0);
  int fd =
      ::openat(dir_fd, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  if (durable) ok = ok && ::fsync(fd) == 0;
  ok = ::close(fd) == 0 && ok;
  ok = ok && ::renameat(dir_fd, tmp.c_str(), dir_fd, name) == 0;
  return ok && (!durable || ::fsync(dir_fd) == 0);
}

Json options_record(const Options& o) {
  const ImageOptions& im = o.image;
  Json sizes = Json::array();
  for (Size s : im.sizes) sizes.push_back(std::to_string(s.width) + "x" + std::to_string(s.height));
  Json record = {{"size", sizes},
                 {"fit", word(im.fit)},
                 {"upscale", im.upscale},
                 {"background", color_text(im.background)},
                 {"format", word(im.format)},
                 {"quality", im.quality},
                 {"codec", word(im.codec)},
                 {"resizer", word(im.resizer)},
                 {"linear", im.linear},
                 {"name", word(o.output.naming)},
                 {"files-per-folder", o.output.files_per_folder},
                 {"min-size", im.min_size},
                 {"max-aspect", im.max_aspect},
                 {"max-pixels", im.max_pixels},
                 {"fail-on", word(im.fail_on)},
                 {"keep-profile", im.keep_profile},
                 {"output-format", word(o.output.format)},
                 {"caption-column", o.output.caption_column}};
  // Only where it means something, so a files run never differs from another by it.
  if (o.output.format == OutputFormat::kWebdataset)
    record["samples-per-shard"] = o.output.samples_per_tar;
  return record;
}

namespace {

// The enum value whose word() is `text`, among `choices`.
template <typename Enum>
bool from_word(const Json& text, std::initializer_list<Enum> choices, Enum* out) {
  for (Enum e : choices)
    if (text.is_string() && text.get<std::string>() == word(e)) {
      *out = e;
      return true;
    }
  return false;
}

bool sizes_from(const Json& list, std::vector<Size>* out) {
  if (!list.is_array() || list.empty()) return false;
  out->clear();
  for (const Json& t : list) {
    int w = 0, h = 0;
    char extra = 0;
    if (!t.is_string() || std::sscanf(t.get<std::string>().c_str(), "%dx%d%c", &w, &h, &extra) != 2)
      return false;
    out->push_back(Size{w, h});
  }
  return true;
}

bool color_from(const Json& text, Rgba* c) {
  unsigned r = 0, g = 0, b = 0, a = 0;
  char extra = 0;
  if (!text.is_string() ||
      std::sscanf(text.get<std::string>().c_str(), "#%2x%2x%2x%2x%c", &r, &g, &b, &a, &extra) != 4)
    return false;
  *c = Rgba{uint8_t(r), uint8_t(g), uint8_t(b), uint8_t(a)};
  return true;
}

// Sets one option from its record key; false if the value is not one this imgpipe writes.
bool set_from_record(const std::string& key, const Json& v, Options* o) {
  ImageOptions& im = o->image;
  OutputOptions& out = o->output;
  auto get = [&v](auto* field) {
    using T = std::remove_pointer_t<decltype(field)>;
    if (std::is_same<T, bool>::value ? !v.is_boolean() : !v.is_number()) return false;
    *field = v.get<T>();
    return true;
  };
  if (key == "size") return sizes_from(v, &im.sizes);
  if (key == "fit")
    return from_word(v, {Fit::kContain, Fit::kCover, Fit::kPad, Fit::kStretch}, &im.fit);
  if (key == "upscale") return get(&im.upscale);
  if (key == "background") return color_from(v, &im.background);
  if (key == "format")
    return from_word(v, {Format::kJpeg, Format::kPng, Format::kWebp, Format::kAvif}, &im.format);
  if (key == "quality") return get(&im.quality);
  if (key == "codec") return from_word(v, {Codec::kFast, Codec::kStb}, &im.codec);
  if (key == "resizer") return from_word(v, {Resizer::kLanczos, Resizer::kStb}, &im.resizer);
  if (key == "linear") return get(&im.linear);
  if (key == "name")
    return from_word(v, {Naming::kIndex, Naming::kHash, Naming::kUrl}, &out.naming);
  if (key == "files-per-folder") return get(&out.files_per_folder);
  if (key == "min-size") return get(&im.min_size);
  if (key == "max-aspect") return get(&im.max_aspect);
  if (key == "max-pixels") return get(&im.max_pixels);
  if (key == "fail-on")
    return from_word(v, {FailOn::kNone, FailOn::kTruncated, FailOn::kError}, &im.fail_on);
  if (key == "keep-profile") return get(&im.keep_profile);
  if (key == "dedup") return get(&out.dedup);
  if (key == "output-format")
    return from_word(v, {OutputFormat::kFiles, OutputFormat::kWebdataset}, &out.format);
  if (key == "samples-per-shard") return get(&out.samples_per_tar);
  if (key == "caption-column" && v.is_string()) {
    out.caption_column = v.get<std::string>();
    return true;
  }
  return false;
}

}  // namespace

bool options_from_record(const Json& record, Options* o, std::string* why) {
  if (!record.is_object()) {
    *why = "the options record is not a JSON object";
    return false;
  }
  for (const auto& [key, value] : record.items())
    if (!set_from_record(key, value, o)) {
      *why = "option " + key + " " + value.dump() + " is not one this imgpipe knows";
      return false;
    }
  return true;
}

// A key the earlier run did not record is an option its imgpipe did not have yet: it matches
// when today's value is the default, so a newer imgpipe can resume an older run's folder.
std::string options_difference(const Json& before, const Json& now) {
  static const Json defaults = options_record(Options{});
  std::string diff;
  for (const auto& [key, value] : now.items()) {
    const auto was = before.find(key);
    if (was != before.end() ? *was == value : defaults.value(key, Json()) == value) continue;
    diff += (diff.empty() ? "" : ", ") + std::string("--") + key + " " + value.dump() + " (was " +
            (was == before.end() ? std::string("not recorded") : was->dump()) + ")";
  }
  return diff;
}

bool lock_is_held(int dir_fd) {
  int fd = ::openat(dir_fd, kLockName, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return false;  // no run ever took it
  const bool held = ::flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  ::close(fd);  // releases our shared lock, if we got it
  return held;
}

int open_output_folder(const std::string& dir, bool create) {
  std::error_code ec;
  if (create) std::filesystem::create_directories(dir, ec);
  if (ec) throw SetupError("cannot create output folder " + dir + ": " + ec.message());
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) throw SetupError("cannot open output folder " + dir + ": " + errno_text());
  return fd;
}

int open_own_subfolder(int parent_fd, const std::string& name, const std::string& shown) {
  if (::mkdirat(parent_fd, name.c_str(), 0755) != 0 && errno != EEXIST)
    throw SetupError("cannot create " + shown + ": " + errno_text());
  int fd = ::openat(parent_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) throw SetupError("cannot open " + shown + " (not a folder?): " + errno_text());
  return fd;
}

std::unique_ptr<OutputDir> OutputDir::open(const Options& o) {
  int fd = open_output_folder(o.output_dir, true);
  std::unique_ptr<OutputDir> dir(new OutputDir(fd, -1));
  dir->lock_fd_ = take_lock(fd, o.output_dir);  // before looking at what an earlier run left
  check_earlier_run(fd, o);
  if (o.overwrite) remove_listed_outputs(fd);
  if (!write_small(fd, kOptionsName, options_record(o).dump(2) + "\n"))
    throw SetupError("output folder " + o.output_dir + " is not writable: " + errno_text());
  return dir;
}

OutputDir::~OutputDir() {
  if (lock_fd_ >= 0) ::close(lock_fd_);
  ::close(fd_);
}

}  // namespace imgpipe

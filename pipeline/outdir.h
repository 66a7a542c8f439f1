// OutputDir: OUTDIR for one run — created if missing, locked so no second run writes into it at
// the same time, checked against the run that filled it before (--resume, --overwrite), and
// holding the record of the options that shaped its files.
//
// Every file imgpipe creates inside OUTDIR (manifest, lock, options record, thumbnails) is opened
// relative to the directory handle with O_NOFOLLOW, so a symlink planted there is refused, never
// followed. Ownership: owns the directory handle and the lock, both released by the destructor.
// Thread-safety: fd() from any thread; the rest from the thread that runs the pipeline.
#pragma once

#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>

#include "core/options.h"

namespace imgpipe {

// The files imgpipe keeps in OUTDIR besides the thumbnails and the manifest (manifest.h).
constexpr const char* kOptionsName = ".imgpipe-options.json";  // see options_record()
constexpr const char* kLockName = ".imgpipe.lock";

// The options that decide what a line's files look like and where they go: sizes, fit, upscale,
// background, format, quality, codec, resizer, naming, folders, the filters that decide
// whether a line gets files at all, and the output format (webdataset: its tar size and caption
// column). --resume refuses to mix files made with different ones.
nlohmann::ordered_json options_record(const Options& o);

// How the options in `now` differ from a recorded `before`, one "--flag: X (was Y)" per option;
// empty when they agree.
std::string options_difference(const nlohmann::ordered_json& before,
                               const nlohmann::ordered_json& now);

// The inverse of options_record (plus "dedup", which a plan records beside it): sets what a record
// names in *o, leaving the rest alone. False with *why set on a value this imgpipe cannot read
// (a record written by a newer one); a key it does not know is refused too, since its option
// would be silently dropped.
bool options_from_record(const nlohmann::ordered_json& record, Options* o, std::string* why);

// The whole of a small file in the folder dir_fd, never through a symlink; false (errno set) if
// unreadable. Reading stops past `max` bytes: a file that big is not one of ours.
bool read_small(int dir_fd, const char* name, std::string* out, size_t max = 1 << 20);
// Writes dir_fd/NAME whole through NAME.tmp and a rename, never through a symlink, so a reader sees
// the old file or the new one, never a part. durable: the data is fsync()ed before the rename and
// the folder after it, so the file survives a crash of the machine too (done markers, plans).
bool write_small(int dir_fd, const char* name, const std::string& text, bool durable = false);

// The output folder `dir` (created first, with its parents, when `create`), as an O_DIRECTORY
// handle. The user names it, so a symlink there is theirs and followed; below it, nothing is.
// Throws SetupError (pipeline.h).
int open_output_folder(const std::string& dir, bool create);
// parent_fd/name, a folder imgpipe makes inside OUTDIR (mkdirat if missing), opened O_NOFOLLOW so
// a symlink planted in its place is refused. `shown` names it in the SetupError thrown on failure.
int open_own_subfolder(int parent_fd, const std::string& name, const std::string& shown);

// True while a run holds the lock of the folder dir_fd (OutputDir::open). It takes the lock shared
// for a moment to find out, which a run starting at that instant waits out (take_lock retries).
bool lock_is_held(int dir_fd);

class OutputDir {
 public:
  // Creates the folder if missing, takes its lock, and checks what an earlier run left:
  //   - another imgpipe holds the lock: SetupError naming its pid;
  //   - a manifest with rows and neither --resume nor --overwrite: SetupError saying which to pass;
  //   - --resume with a record of different options: SetupError listing the differences;
  //   - --overwrite: the files the old manifest lists are removed, then the manifest is emptied.
  // Then records the options (for the next --resume). Throws SetupError (pipeline.h).
  static std::unique_ptr<OutputDir> open(const Options& o);
  ~OutputDir();
  OutputDir(const OutputDir&) = delete;
  OutputDir& operator=(const OutputDir&) = delete;

  int fd() const { return fd_; }

 private:
  OutputDir(int fd, int lock_fd) : fd_(fd), lock_fd_(lock_fd) {}
  int fd_;       // OUTDIR, O_DIRECTORY
  int lock_fd_;  // OUTDIR/.imgpipe.lock, flock()ed for the whole run
};

}  // namespace imgpipe

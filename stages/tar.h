// WebDataset output: the thumbnails of ok lines as samples in numbered tar files, written with
// libarchive, never outside OUTDIR.
//
// A sample is the members KEY.EXT (one per --size: KEY.SIZE.EXT when there are several), KEY.json
// (the line's manifest row) and, with --caption-column, KEY.txt, written back to back, so they are
// adjacent in the tar as the webdataset layout wants (a sample's files are consecutive and share
// the name up to its first dot). KEY is the line number zero-padded to 8 digits (sample_key): our
// own name (write.h: member_name), never anything from the URL or the list, so a member name can
// hold no '/' or "..".
//
// A tar is written under a hidden temporary name (write.h: temporary_name) and renamed into place
// only once complete, after an fsync, so a final name always holds a whole tar; every file is
// opened relative to OUTDIR's handle with O_NOFOLLOW, so a planted symlink is refused, not
// followed.
//
// Memory: the sink holds one sample's encoded thumbnails (the item's own bytes, released once
// written) and libarchive's one output block (10 KiB); nothing grows with the tar.
//
// Ownership: TarWriter owns its file descriptor and libarchive handle; TarSink owns the open
// TarWriter and borrows OUTDIR's handle. Thread-safety: none; the pipeline calls a sink from one
// serial node (pipeline.cc: emit).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>

#include "core/item.h"
#include "core/options.h"

struct archive;

namespace imgpipe {

// Tar number n's file name: "00003.tar" (5 digits, more past 99,999).
std::string tar_name(int64_t n);

// One tar file being written: members appended, then finish() renames it into place.
class TarWriter {
 public:
  // Creates dir_fd/temporary_name(name) and starts a tar there (POSIX pax, restricted: plain
  // ustar headers whenever a member fits them, which ours always do). nullptr with *why set.
  static std::unique_ptr<TarWriter> create(int dir_fd, const std::string& name, std::string* why);
  // Abandons an unfinished tar: its temporary file is removed.
  ~TarWriter();
  TarWriter(const TarWriter&) = delete;
  TarWriter& operator=(const TarWriter&) = delete;

  // Appends a regular-file member. False with *why set; the tar is then unusable.
  bool add(const std::string& member, const void* data, size_t size, std::string* why);
  // Writes the end of the archive, fsyncs, renames the temporary file to the final name and
  // fsyncs the folder. False with *why set (the temporary is then removed).
  bool finish(std::string* why);
  const std::string& name() const { return name_; }

 private:
  friend struct TarOutput;  // libarchive's write callback (tar.cc)
  TarWriter(int dir_fd, std::string name, int fd);
  std::string failure(const char* what) const;

  int dir_fd_;  // borrowed
  std::string name_, tmp_;
  int fd_;
  struct archive* archive_ = nullptr;
  bool finished_ = false;
};

// The numbered tars of one run: samples go into the open tar; it is finished after
// output.samples_per_tar samples (0: never, until finish()) and the next sample opens the next
// number whose final name is free, so a resumed run never touches a complete tar an earlier run
// left.
class TarSink {
 public:
  // Numbers start at output.first_tar; tars hold output.samples_per_tar samples each.
  TarSink(int dir_fd, const ImageOptions& image, const OutputOptions& output);

  // The item's thumbnails as members of the open tar (opened first if none is): sets each Thumb's
  // path (the tar's name), member, bytes and the item's bytes_out, releasing the encoded bytes; or
  // fails the item with write_error.
  void add_images(Item& item);
  // KEY.json (`row`, the item's manifest row) and KEY.txt (the caption), after add_images.
  bool add_record(const Item& item, const std::string& row);
  // After the sample's manifest row is written: finishes the tar once it holds samples_per_tar,
  // so every row of a complete tar is in the manifest before the tar has its final name.
  bool end_sample();
  // End of the run: finishes the open tar, if any.
  bool finish();
  // The first failure (a full disk, say). After one, the open tar is abandoned (its temporary
  // removed; --resume redoes its lines, whose rows name a tar that does not exist) and every later
  // sample fails: the run must stop.
  const std::string& error() const { return error_; }
  // The same from outside: the run cannot go on (the manifest failed), so neither can the tar.
  void abandon(std::string why) { failed(std::move(why)); }

 private:
  bool open_next();
  bool failed(std::string why);  // records the first failure; always false

  int dir_fd_;
  const ImageOptions& image_;
  const OutputOptions& output_;
  int64_t next_number_;
  std::unique_ptr<TarWriter> open_;
  int64_t samples_ = 0;  // in the open tar
  std::string error_;
};

}  // namespace imgpipe

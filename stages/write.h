// write: the thumbnails' bytes → files in the output folder, atomically, never outside it.
//
// Paths are built from the line number, the content hash or a sanitized URL, plus numbered
// folders: no input can choose a path component. Subfolders are opened with O_NOFOLLOW, so a
// symlink planted in the output folder cannot redirect a write. Plain functions; safe from any
// number of threads on different items.
#pragma once
#include <cstdint>
#include <string>

#include "core/item.h"
#include "core/options.h"

namespace imgpipe {

// "00000042": the line number zero-padded to 8 digits, so names sort in list order and never
// collide; lists past 10^8 lines simply get longer names. The stem of --name index files and the
// key of webdataset samples.
std::string sample_key(uint64_t line);
// "00000042.jpg".
std::string output_name(uint64_t line, Format format);
// A --size box as a name: "128" for a square, "320x200" otherwise.
std::string size_label(Size s);
// Webdataset member of thumbnail `thumb` of `item`: KEY.EXT, or KEY.SIZE.EXT with several --size,
// so every member of a sample shares the key up to its first dot.
std::string member_name(const Item& item, const Thumb& thumb, const ImageOptions& image);

// A file stem from a URL: scheme dropped, every byte outside [A-Za-z0-9._-] turned into '_', no
// leading dot, the last extension dropped, at most 100 bytes, then '-' and 32 hex digits (128 bits)
// of the URL's sha256, so different URLs never share a stem.
std::string url_stem(const std::string& url);

// Where thumbnail `thumb` of `item` goes, relative to the output folder:
// [SIZE/][NNNNN/]STEM.EXT — SIZE ("128" or "320x200") only when there are several sizes, NNNNN
// only with files_per_folder.
std::string output_path(const Item& item, const Thumb& thumb, const ImageOptions& image,
                        const OutputOptions& output);

// The hidden name a file is written under before its rename into `name`: ".NAME.LINE.tmp", unique
// to the line (two lines may share a final name under --name hash|url).
std::string temporary_name(const std::string& name, uint64_t line);
// True for a file name temporary_name() produces, and for nothing else.
bool is_temporary_name(const std::string& name);
// --resume after a SIGKILL: removes the temporaries a write cut short left in the folders this
// run's options write to (dir, its size folders, their numbered folders; webdataset: dir, where
// the tars are), and nowhere else: a
// user's hidden files, or a .git folder inside OUTDIR, are left alone.
void remove_temporaries(const std::string& dir, const ImageOptions& image,
                        const OutputOptions& output);

// The write stage: every thumbnail to dir/output_path() through a temporary file and rename, so
// the folder never holds a half-written file. Sets each Thumb's path and bytes and the item's
// bytes_out, or fails the item with write_error.
void write(Item& item, const std::string& dir, const ImageOptions& image,
           const OutputOptions& output);

}  // namespace imgpipe

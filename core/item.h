// Item: one input line on its way through the pipeline, from URL to thumbnail and manifest row.
//
// Ownership: created by the downloader, handed into the graph as std::shared_ptr<Item> (graph
// messages must be copyable), and dropped by the last node after the manifest row is written.
// Thread-safety: exactly one stage touches an item at a time; the hand-offs (curl thread → graph,
// node → node) are the synchronisation. No locking inside.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/image.h"
#include "core/status.h"

namespace imgpipe {

using Clock = std::chrono::steady_clock;

// The steps an item goes through, in data-flow order; every one is timed. Download is the I/O
// stage (local files are read there too); hash..write are the CPU stages.
enum class Stage { kDownload, kHash, kDecode, kResize, kEncode, kWrite, kCount };
constexpr int kStageCount = static_cast<int>(Stage::kCount);
constexpr Stage kFirstCpuStage = Stage::kHash;
constexpr const char* kStageNames[kStageCount] = {"download", "hash",   "decode",
                                                  "resize",   "encode", "write"};

// The HTTP version a response came in, as the metrics count them.
enum class HttpVersion { kNone, k1_0, k1_1, k2, k3, kCount };
constexpr const char* kHttpVersionNames[static_cast<int>(HttpVersion::kCount)] = {"none", "1.0",
                                                                                  "1.1", "2", "3"};

// Where the download time went, in ms, for the last attempt (from curl's *_TIME_T fields).
struct TransferTimings {
  double dns_ms = 0, connect_ms = 0, tls_ms = 0, first_byte_ms = 0, body_ms = 0;
  bool reused_connection = false;
  int connections = 0;                    // opened by its last hop (0: it reused one)
  HttpVersion http = HttpVersion::kNone;  // of its last response
};

// One output of an item: the thumbnail for one --size box.
struct Thumb {
  Size box;                      // the --size it answers
  Image image;                   // resized and upright; released once encoded
  int width = 0, height = 0;     // the thumbnail's size, kept after the pixels are released
  std::vector<uint8_t> encoded;  // the file's bytes; released once written
  std::string path;              // relative to the output folder; empty unless written
  uint64_t bytes = 0;            // file size once written
  std::string member;            // webdataset: its name inside the tar `path` names; else empty
};

struct Item {
  uint64_t line = 0;  // 1-based line number in the input list: the item's identity
  std::string url;

  Status status = Status::kOk;
  std::string error;     // human-readable reason when status != ok
  long http_status = 0;  // last HTTP status seen; 0 when no response
  int attempts = 0;      // transfers started for this item (1 + retries used)
  // The download failed in a way another try may not (timeout, reset, 408, 429, 5xx): the
  // manifest row's "retryable", with write errors (see manifest_row).
  bool transient = false;

  std::vector<uint8_t> body;  // downloaded bytes; released once decoded
  uint64_t bytes_in = 0;      // body size as downloaded (kept after body is released)
  TransferTimings timings;

  Image image;  // decoded (perhaps already shrunk on load), then resized in place
  // How much the decoder shrank `image` along its x and y axes (stored orientation): source
  // pixels per image pixel (the JPEG DCT denominator, the PNG box factor, the WebP scale; 1 at
  // full size). Pixel i covers source pixels [i × shrink, (i + 1) × shrink), the last one perhaps
  // reaching past the source's edge, so the image's true extent is the source size / shrink:
  // what resize maps onto the thumbnail.
  double shrink_x = 1, shrink_y = 1;
  // The source image as displayed: EXIF orientation applied, so 90° turns swap the sides.
  int source_width = 0, source_height = 0;
  int orientation = 1;  // EXIF orientation 1..8 of the source, applied after resizing
  // The source's embedded ICC profile (JPEG APP2, PNG iCCP, WebP ICCP) when it fits the pixels:
  // set by decode, used by resize to convert each thumbnail to sRGB, then cleared; left set only
  // with --keep-profile, for encode to embed beside the unconverted pixels.
  std::vector<uint8_t> icc_profile;
  // What went wrong without failing the item, for the manifest row's "warnings": a problem the
  // decoder recovered from (passed by --fail-on), a profile that could not be used.
  std::vector<std::string> warnings;

  std::vector<Thumb> thumbs;  // one per --size, in the order given
  uint64_t bytes_out = 0;     // all thumbnails' file bytes
  std::string local_path;     // set for a local file (path or file:// URL): read, not downloaded
  std::string sha256;         // hex digest of the source bytes (empty if none were read)
  uint64_t duplicate_of = 0;  // with --dedup: the earlier line with the same bytes (0: none)
  nlohmann::ordered_json input_fields;  // the list record's other columns (CSV/TSV/JSONL)

  double stage_ms[kStageCount] = {};  // time spent in each stage (download: all attempts)
  Clock::time_point started;          // first transfer start, for end-to-end latency

  bool ok() const { return status == Status::kOk; }
  void fail(Status s, std::string why) {
    status = s;
    error = std::move(why);
  }
};

}  // namespace imgpipe

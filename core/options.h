// Options: the one configuration tree of an imgpipe run, with every default and the reason for it.
//
// cli/ fills it from flags; tests fill it directly. Nothing else reads flags. A plain value type:
// copy it freely; it is never mutated once a run starts, so sharing a const reference across
// threads is safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/image.h"

namespace imgpipe {

enum class Format { kJpeg, kPng, kWebp, kAvif };

// Which libraries do the image work. kFast: libjpeg-turbo for JPEG (decoded straight at a reduced
// DCT scale), lodepng + libdeflate or libspng for PNG (image/png.h), libwebp for WebP, stb_image
// for the rest. kStb: no shrink-on-load, stb_image_resize and stb_image_write for the rest — the
// simple path, for comparison. Decoding never uses stb for JPEG or PNG (stb_image 2.27 is unsafe on
// hostile ones: stb_impl.cc), nor for WebP (stb has none).
enum class Codec { kFast, kStb };

// The final resize filter (after an integer box pre-shrink to within 2× of the thumbnail).
// kLanczos: imgpipe's own vectorised Lanczos-3 (image/lanczos.h), alpha filtered premultiplied.
// kStb: stb_image_resize's Mitchell filter. Codec::kStb implies kStb with no pre-shrink.
enum class Resizer { kLanczos, kStb };

// What a decoder's complaint costs the item (--fail-on; sharp's failOn). A truncated image's data
// ends before it should (a cut-off scan or short file); a warning is a problem the decoder
// recovered from (junk bytes before a JPEG marker).
enum class FailOn {
  kNone,       // accept both: a truncated image is ok, with a warning, if the decoder renders it
  kTruncated,  // truncated images fail (status truncated); warnings pass, listed in the row
  kError,      // warnings fail too (decode_error)
};

// Which failed lines --resume does again. kRetryable: those whose row says `retryable` (a
// timeout, a 5xx, a reset: the server or network may have recovered), not a 404 or a broken image
// that would fail the same way. kAll: every failed line.
enum class RetryFailed { kRetryable, kAll };

// How a thumbnail meets its box.
enum class Fit {
  kContain,  // fit inside the box, aspect kept (what target_size gives)
  kCover,    // fill the box, aspect kept, then centre-crop the overflow
  kPad,      // contain, then letterbox onto a box-sized canvas of the background colour, centred
  kStretch,  // exactly the box, aspect ignored
};

struct DownloadOptions {
  // Transfers in flight on the one curl thread. 64 hides ~100 ms of round trip at several hundred
  // images/s while staying far below the point where curl_multi_poll gets slow (thousands).
  int concurrency = 64;
  // Simultaneous connections to one host: polite to a single origin, yet enough to fill a fast one.
  int per_host = 16;
  // Extra attempts after a transient failure (a reset, timeout, 408, 429, 5xx).
  int retries = 2;
  // Retry refused (and unreachable) connections too, as curl's --retry-connrefused. Off: the
  // host's answer seconds later is almost always the same, and the retries' backoff (~2 s at
  // the defaults) only lengthens the run; the row says retryable, so --resume tries it later.
  bool retry_refused = false;
  // First retry waits about this long; each later one doubles it, with ±50% jitter so that many
  // failed transfers do not come back at the same instant.
  double retry_backoff_s = 0.5;
  // Cap on a server's Retry-After, so one server cannot park an in-flight slot for hours.
  double max_retry_after_s = 30;
  // Whole-transfer limit, queueing excluded (we only hand curl what it can start at once).
  double timeout_s = 30;
  double connect_timeout_s = 10;
  // The watchdog: a transfer still running this long past timeout_s is failed as a timeout,
  // whatever libcurl thinks. libcurl 7.88 has forgotten transfers before (a PIPEWAIT transfer
  // whose connection was reset waited forever, beyond any timeout), and one lost transfer holds
  // its slot and the run's end forever. 5 s: libcurl's own timeout has long fired by then.
  // Not a flag; a test sets it below zero to stand in for a libcurl that forgot.
  double watchdog_grace_s = 5;
  // Abort a transfer slower than low_speed_bytes/s for low_speed_s seconds: a server that stalls
  // mid-body would otherwise hold a slot for the whole --timeout.
  long low_speed_bytes = 1000;
  long low_speed_s = 10;
  // Largest body accepted, enforced while receiving (Content-Length can lie or be absent). 50 MB is
  // far above any web image and bounds worst-case memory at max_in_flight × max_bytes.
  int64_t max_bytes = 50'000'000;
  // Redirects followed per transfer; more is a loop or a trap.
  int max_redirects = 5;
  // The User-Agent header; empty: default_user_agent(contact), which names the tool (and the
  // robots.txt / X-Robots-Tag token sites address it by) and how to reach whoever runs it.
  std::string user_agent;
  // A URL or mailto: where a site operator can learn about this crawl or ask it to stop, put in
  // the default User-Agent. Empty: the one the build was configured with (IMGPIPE_CONTACT_URL).
  std::string contact;
  // Extra request headers, "Name: value". Sent only to the origin (scheme, host, port) the list
  // line names, like the URL's own user:password: a redirect to another origin gets neither, so a
  // token meant for one server never reaches the server it redirects to.
  std::vector<std::string> headers;
  // --resolve, curl's HOST:PORT:ADDR[,ADDR...]: connections to HOST:PORT go to ADDR, without
  // asking DNS (pinning a name, or a host DNS does not know). --block-private still checks ADDR.
  std::vector<std::string> resolve;
  // X-Robots-Tag directives that make a response unusable (stages/robots_tag.h), lower case:
  // img2dataset's set, honoured by default because a site that says noai means it. Empty: the
  // header is not looked at.
  std::vector<std::string> disallowed_directives = {"noai", "noimageai", "noindex", "noimageindex",
                                                    "noml"};
  // Honour each origin's robots.txt (stages/robots_txt.h): fetched once, before the origin's
  // first image, on the same transfers; a URL it disallows ends robots_disallowed unfetched, and
  // its Crawl-delay spaces that host's starts like rate_per_host. Off by default, as in
  // img2dataset: many image lists are of CDNs whose robots.txt speaks of pages, not images, and
  // X-Robots-Tag (checked by default) is how sites opt images out. Turn it on for crawls.
  bool robots = false;
  // Most transfer starts per second to one host (0 = no limit), beside per_host's connection cap.
  double rate_per_host = 0;
  // Refuse to connect to loopback, private, link-local, multicast and other non-public addresses,
  // checked on the resolved address of every connection (redirects included). Off by default:
  // lists of internal hosts are a normal use; turn it on for lists from strangers.
  bool block_private = false;
  std::vector<std::string> allow_addresses;  // exact IPs exempt from block_private
  // Read list lines that are paths or file:// URLs. Turn off for lists from strangers: a listed
  // path would otherwise turn a private image on this machine into a thumbnail in OUTDIR.
  // block_private implies it off: a list that may not reach the local network may not read
  // this machine's files either.
  bool allow_local = true;
  // The proxy every transfer goes through; empty = what libcurl finds in the environment
  // (http_proxy, https_proxy, all_proxy, ...), unless no_proxy. With block_private the address
  // check sees only the proxy, so an environment proxy is refused at setup and an explicit one
  // is used with a warning.
  std::string proxy;
  bool no_proxy = false;  // connect directly, whatever the environment says
  // Certificates (PEM) that TLS origins are verified against instead of the system's: a private
  // CA, or a test origin's self-signed certificate. Empty: the system's store.
  std::string cacert;
  // Skip TLS certificate and host name checks. Off: a list line's https:// means the bytes come
  // from that host; on, anyone on the path can serve them. Warned about on stderr and in the
  // metrics whenever it is on.
  bool insecure = false;
  // How far ahead of the transfers the list is read, in bytes of queued lines (~150 B for a
  // short URL, so ~50,000 lines): lines wait in per-host queues, so a dead or slow host holding
  // its --per-host share cannot keep the lines after it from starting. Bounded in bytes, not
  // lines or concurrency, so memory stays fixed (8 MiB) whatever the list or a record holds.
  int64_t read_ahead_bytes = 8 << 20;
  // Downloaded bodies waiting for (or in) the CPU stages, in bytes, past which no new transfer
  // starts (stages/download.h). 64 MiB is ~350 average web images: enough queued work to keep
  // dozens of cores busy, while --concurrency 4096 against a machine that cannot keep up no
  // longer holds thousands of finished bodies (~0.7 GB of them here).
  int64_t backlog_bytes = 64 << 20;
};

// How thumbnail files are named (the folder layout around the name is in OutputOptions).
// kIndex: the zero-padded line number. kHash: the sha256 of the downloaded bytes, so identical
// images share a name. kUrl: a sanitized, length-capped form of the URL plus a short hash of it,
// which can never hold a path separator or start with a dot.
enum class Naming { kIndex, kHash, kUrl };

// What a run writes for its ok lines. kFiles: one file per thumbnail (--name, --files-per-folder).
// kWebdataset: samples in numbered tar files (stages/tar.h), the layout PyTorch's webdataset and
// img2dataset use, so a dataset is a few large files instead of millions of small ones.
enum class OutputFormat { kFiles, kWebdataset };

struct ImageOptions {
  // --size, repeatable: one thumbnail per box from a single decode. With several, each goes to a
  // subfolder named after its size (OUTDIR/128/…).
  std::vector<Size> sizes = std::vector<Size>(1);  // one 256×256 box
  Fit fit = Fit::kContain;
  bool upscale = false;  // enlarge sources smaller than the box (off: thumbnails never upscale)
  Rgba background;       // --fit pad's fill colour (default white)
  Format format = Format::kJpeg;  // JPEG: small thumbnails, what web pages use
  int quality = 85;            // JPEG/WebP/AVIF quality: visually clean at a third of q100's size
  Codec codec = Codec::kFast;  // see Codec
  Resizer resizer = Resizer::kLanczos;  // see Resizer
  // --linear: resample in linear light (sRGB decoded to light, filtered, encoded again; alpha
  // premultiplied in light), so fine detail keeps its brightness: a 1-px black and white stripe
  // pattern averages to 188, the grey that emits half the light, not 128. Off by default, as in
  // libvips, Pillow and sharp: every value then goes through a table both ways, and shrink-on-load
  // is off (JPEG DCT scaling and the PNG row shrink average the stored values), so a large JPEG
  // decodes at full size, several times the CPU; photos rarely hold detail at the pixel scale.
  bool linear = false;
  // Largest source image accepted, width × height, checked from the header before any pixel buffer
  // is allocated: 100 MP decoded as RGBA is 400 MB, the most one item may cost.
  int64_t max_pixels = 100'000'000;
  // Most bytes of decoded images alive at once, over all threads (--decode-memory); 0 = the
  // default, a quarter of the machine's memory but never below the largest item the options allow
  // (stages/decode.h: default_decode_memory). Each item reserves its estimated peak before
  // decoding and waits while the budget is taken; without it, every thread could hold a
  // max_pixels image at once, so memory grew with the core count.
  int64_t decode_memory = 0;
  // Filters, judged from the header before decoding: a shorter side below min_size is too_small;
  // a long/short side ratio above max_aspect is bad_aspect. 0 = no filter.
  int min_size = 0;
  double max_aspect = 0;
  // A cut-off download shown half grey is a broken thumbnail: refused by default, like sharp's.
  FailOn fail_on = FailOn::kTruncated;
  // Keep the source's ICC profile and its pixels as they are, and embed the profile in the
  // thumbnail (--keep-profile), for workflows that manage colour themselves. Off: a tagged image
  // is converted to sRGB and written untagged, as sharp does by default, since sRGB is what every
  // browser assumes of an untagged image; an unconverted Adobe RGB photo without its profile
  // loses ~20% of its saturation.
  bool keep_profile = false;
};

struct OutputOptions {
  Naming naming = Naming::kIndex;
  // Spread thumbnails over numbered subfolders of this many lines each (00000/, 00001/, …), so
  // no folder grows past what file managers and some filesystems handle well. 0 = one folder.
  int files_per_folder = 0;
  // Process identical downloaded bytes once: the first line whose bytes arrive is processed and
  // the others point at its files (which line that is can vary between runs when identical
  // images arrive in a different order; --name hash makes the file names order-free). Costs
  // a few hundred bytes per distinct image (its hash, outcome and file paths; estimated, not
  // measured): the one structure that grows with the list.
  bool dedup = false;
  OutputFormat format = OutputFormat::kFiles;
  // --samples-per-shard (webdataset): samples per tar; the first N samples to finish go into
  // 00000.tar, the next N into 00001.tar, and so on. 10,000 as in img2dataset: with ~10 KB
  // thumbnails, tars of ~100 MB, large enough for fast sequential reads, small enough to shuffle
  // and to redo. 0 = one tar for the whole run, what each shard of `imgpipe run` writes.
  int64_t samples_per_tar = 10000;
  // The first tar's number: 0 for a plain run; shard k's number under `imgpipe run`, so every
  // shard's tar has a name of its own (shards.h).
  int64_t first_tar = 0;
  // --caption-column: the list column (CSV/TSV header name, JSONL field) whose text becomes each
  // webdataset sample's KEY.txt. Empty = no captions.
  std::string caption_column;
};

// The URL list's format: text (one URL a line), CSV or TSV with a header, or JSONL. kShard is
// imgpipe's own: a shard input file that `imgpipe plan` wrote (stages/reader.h: shard_record),
// one parsed record a line with its original line number; never chosen from a file name.
enum class ListFormat { kTxt, kCsv, kTsv, kJsonl, kShard };

// How `imgpipe plan` splits a list into shards (pipeline/shards.h).
enum class ShardBy {
  kLine,  // consecutive runs of --shard-size lines: shard k holds records k·N .. k·N+N-1
  kHost,  // by a stable hash of the URL's host, so one host's lines are all in one shard
};

// The word each choice has on the command line, in the options record and in file extensions
// (Format: "jpg", "png", "webp", "avif"). cli/ parses these words; nothing else spells them.
const char* word(Format f);
const char* word(Codec c);
const char* word(Resizer r);
const char* word(Fit f);
const char* word(Naming n);
const char* word(ListFormat f);
const char* word(FailOn f);
const char* word(ShardBy b);
const char* word(OutputFormat f);
const char* word(RetryFailed r);

// "imgpipe/VERSION (+CONTACT)": `contact`, or the build's IMGPIPE_CONTACT_URL if empty; just
// "imgpipe/VERSION" when both are.
std::string default_user_agent(const std::string& contact);

// `imgpipe plan` and `imgpipe run OUTDIR` (pipeline/shards.h): how a list is split into shards,
// and which of them one worker processes.
struct ShardOptions {
  // plan: records per shard (--shard-by line: exactly, the last shard less; --shard-by host: the
  // average, since hosts differ in size). 0 = not a plan.
  int64_t size = 0;
  ShardBy by = ShardBy::kLine;
  // run: the shards named by --shard K / A-B (inclusive ranges, as given).
  std::vector<std::pair<int64_t, int64_t>> ranges;
  // run: --shard auto, the shard whose number the scheduler's array index names (shards.h:
  // kArrayIndexVariables); --worker I/W, every shard s with s mod W == I, and with worker_auto
  // (--worker auto/W) I is the array index. worker_count 0 = no --worker.
  bool shard_auto = false;
  int64_t worker_index = 0;
  int64_t worker_count = 0;
  bool worker_auto = false;
};

struct Options {
  std::string input;  // URL list; "-" is stdin; gzip is recognised and inflated
  std::optional<ListFormat> input_format;  // unset: from the file name (.csv, .tsv, .jsonl[.gz])
  std::string url_column = "url";          // CSV/TSV header name or JSONL field holding the URL
  std::string output_dir;  // created if missing; holds thumbnails and manifest.jsonl
  // Image-processing threads; 0 = every core. The curl thread comes on top and is mostly idle.
  int threads = 0;
  std::string metrics_json;  // where to write the metrics as JSON; empty = nowhere
  bool quiet = false;        // no metrics table on stdout, no progress line
  bool json = false;         // the metrics as JSON on stdout instead of the table
  std::string trace;         // Chrome trace-event file of every item's stages; empty = none
  // The HTML report's file (pipeline/report.h); empty = none. When set, run() also keeps the
  // report's sampled timeline (pipeline/timeline.h); the caller writes the file.
  std::string report;
  // Skip lines whose manifest row is ok and whose files exist; redo the rest. The manifest is
  // rewritten first to hold only those rows, so afterwards it has exactly one row per line.
  bool resume = false;
  RetryFailed retry_failed = RetryFailed::kRetryable;  // --resume: which failed lines to redo
  // Start afresh in an OUTDIR an earlier run used: its manifest is emptied and the files it lists
  // are removed. Without --resume or --overwrite, such an OUTDIR is refused, so a rerun can never
  // silently throw away a finished run's manifest.
  bool overwrite = false;
  bool progress = true;  // a progress line on stderr, when stderr is a terminal
  DownloadOptions download;
  ImageOptions image;
  OutputOptions output;
  ShardOptions shard;
};

}  // namespace imgpipe

// Options: the one configuration tree of an imgpipe run, with every default and the reason for it.
//
// cli/ fills it from flags; tests fill it directly. Nothing else reads flags. A plain value type:
// copy it freely; it is never mutated once a run starts, so sharing a const reference across
// threads is safe.
#pragma once

#include <cstdint>
#include <string>

namespace imgpipe {

enum class Format { kJpeg, kPng, kWebp };

// Which libraries do the image work. kFast: libjpeg-turbo for JPEG (decoded straight at a reduced
// DCT scale), libspng for PNG, libwebp for WebP, stb_image for the rest. kStb: stb_image,
// stb_image_resize and stb_image_write throughout (WebP still needs libwebp: stb has none).
enum class Codec { kFast, kStb };

// The final resize filter (after an integer box pre-shrink to within 2× of the thumbnail).
// kSwscale: libswscale bicubic, SIMD, for opaque images (alpha images always use stb, which
// filters premultiplied). kStb: stb_image_resize's Mitchell filter. Codec::kStb implies kStb with
// no pre-shrink.
enum class Resizer { kSwscale, kStb };

// A bounding box: thumbnails fit inside it, aspect ratio kept.
struct Size {
  int width = 256;
  int height = 256;
};

struct DownloadOptions {
  // Transfers in flight on the one curl thread. 64 hides ~100 ms of round trip at several hundred
  // images/s while staying far below the point where curl_multi_poll gets slow (thousands).
  int concurrency = 64;
  // Simultaneous connections to one host: polite to a single origin, yet enough to fill a fast one.
  int per_host = 16;
  // Extra attempts after a transient failure (connection error, timeout, 408, 429, 5xx).
  int retries = 2;
  // First retry waits about this long; each later one doubles it, with ±50% jitter so that many
  // failed transfers do not come back at the same instant.
  double retry_backoff_s = 0.5;
  // Cap on a server's Retry-After, so one server cannot park an in-flight slot for hours.
  double max_retry_after_s = 30;
  // Whole-transfer limit, queueing excluded (we only hand curl what it can start at once).
  double timeout_s = 30;
  double connect_timeout_s = 10;
  // Abort a transfer slower than low_speed_bytes/s for low_speed_s seconds: a server that stalls
  // mid-body would otherwise hold a slot for the whole --timeout.
  long low_speed_bytes = 1000;
  long low_speed_s = 10;
  // Largest body accepted, enforced while receiving (Content-Length can lie or be absent). 50 MB is
  // far above any web image and bounds worst-case memory at max_in_flight × max_bytes.
  int64_t max_bytes = 50'000'000;
  // Redirects followed per transfer; more is a loop or a trap.
  int max_redirects = 5;
  std::string user_agent = std::string("imgpipe/") + IMGPIPE_VERSION;
};

struct ImageOptions {
  Size box;                       // --size
  Format format = Format::kJpeg;  // JPEG: small thumbnails, what web pages use
  int quality = 85;               // JPEG/WebP quality: visually clean at a third of q100's size
  Codec codec = Codec::kFast;     // see Codec
  Resizer resizer = Resizer::kSwscale;  // see Resizer
  // Largest source image accepted, width × height, checked from the header before any pixel buffer
  // is allocated: 100 MP decoded as RGBA is 400 MB, the most one item may cost.
  int64_t max_pixels = 100'000'000;
};

struct Options {
  std::string input;       // URL list; "-" is stdin
  std::string output_dir;  // created if missing; holds thumbnails and manifest.jsonl
  // Image-processing threads; 0 = every core. The curl thread comes on top and is mostly idle.
  int threads = 0;
  std::string metrics_json;  // where to write the metrics as JSON; empty = nowhere
  bool quiet = false;        // no metrics table on stdout
  DownloadOptions download;
  ImageOptions image;
};

}  // namespace imgpipe

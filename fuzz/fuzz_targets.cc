// Fuzz target bodies: the same stage functions the pipeline calls, with small limits so each
// input runs in milliseconds.
#include "fuzz/fuzz_targets.h"

#include <algorithm>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "core/item.h"
#include "stages/decode.h"
#include "stages/encode.h"
#include "stages/reader.h"
#include "stages/resize.h"
#include "stages/robots_tag.h"
#include "stages/robots_txt.h"

namespace imgpipe {

void fuzz_image(const uint8_t* data, size_t size) {
  if (size < 1) return;
  const uint8_t knobs = data[0];
  ImageOptions o;
  o.codec = knobs & 1 ? Codec::kStb : Codec::kFast;
  o.resizer = knobs & 2 ? Resizer::kStb : Resizer::kLanczos;
  o.fit = static_cast<Fit>((knobs >> 2) & 3);
  o.format = static_cast<Format>((knobs >> 4) & 3);  // JPEG, PNG, WebP, AVIF
  o.upscale = knobs & 64;
  o.sizes = {{64, 64}, {40, 17}};
  // A fuzzer-made header may claim anything: keep each run quick (the stb resizer, with no
  // pre-shrink, takes seconds on a few megapixels under ASan).
  o.max_pixels = 1'000'000;
  o.background = {0, 0, 0, static_cast<uint8_t>(knobs & 128 ? 0 : 255)};
  // The last byte picks --fail-on: with none, files the others refuse as truncated are decoded.
  o.fail_on = static_cast<FailOn>(data[size - 1] % 3);
  Item item;
  item.body.assign(data + 1, data + size);
  decode(item, o);
  if (item.ok()) resize(item, o);
  if (item.ok()) encode(item, o);
}

namespace {

// How deep `v` nests (a scalar is 0), counted no further than `stop`: the walk recurses, and a
// value deeper than the reader's bound is already the finding.
size_t depth(const nlohmann::ordered_json& v, size_t stop) {
  if (!v.is_structured() || stop == 0) return 0;
  size_t deepest = 0;
  for (const auto& child : v) deepest = std::max(deepest, depth(child, stop - 1));
  return deepest + 1;
}

// What the reader promises of every record it returns, checked as the fuzzer runs: a crash (abort)
// names the input that breaks a promise.
void check(const ListLine& line) {
  // A record the pipeline would fetch holds no NUL: C strings would cut its URL short there.
  if (line.error.empty() && !line.too_long && line.text.find('\0') != std::string::npos)
    std::abort();
  // The record's object is level 1, so its fields nest at most kMaxJsonDepth - 1 below it.
  if (depth(line.extra, ListReader::kMaxJsonDepth + 1) > ListReader::kMaxJsonDepth) std::abort();
  // What the manifest writer does with the fields: copy them into the row and write it.
  nlohmann::ordered_json row = {{"input", line.extra}};
  (void)row.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace

void fuzz_list(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  for (ListFormat f : {ListFormat::kTxt, ListFormat::kCsv, ListFormat::kTsv, ListFormat::kJsonl,
                       ListFormat::kShard}) {
    std::istringstream in(bytes);
    ListReader reader(in, f, "url");
    std::string why;
    if (!reader.read_header(&why)) continue;
    ListLine line;
    while (reader.next(&line)) check(line);
  }
}

void fuzz_robots(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const RobotsRules rules = RobotsRules::parse(bytes);
  // The paths: fixed ones, the input's last line (so rules and path can be made to meet) and the
  // path the input gives as a URL.
  const std::string path = robots_path_of(bytes);
  if (path.empty() || path[0] != '/' || path.find('#') != std::string::npos) std::abort();
  const size_t last_line = bytes.find_last_of('\n');
  for (std::string_view p :
       {std::string_view("/"), std::string_view("/a/b.jpg?x=1"), std::string_view(path),
        bytes.substr(last_line == std::string_view::npos ? 0 : last_line + 1)}) {
    const bool allowed = rules.allowed(p);
    const std::string why = rules.deciding_rule(p);
    // A disallowed path names what disallowed it; an allowed one never names a Disallow.
    if (allowed == (why.rfind("Disallow: ", 0) == 0 || why.rfind("(", 0) == 0)) std::abort();
  }
  if (!rules.allowed("/robots.txt")) std::abort();
  const double delay = rules.crawl_delay();
  if (!(delay >= 0 && delay <= kRobotsMaxCrawlDelay)) std::abort();  // NaN fails both
  if (rules.memory_bytes() > 3 * kRobotsTxtMaxBytes + 12 * rules.rule_count() + 4096) std::abort();
  // The same bytes as an X-Robots-Tag value: what opts out is one of the directives asked for.
  static const std::vector<std::string> disallowed = {"noai", "noimageai", "noindex",
                                                      "noimageindex", "noml"};
  const std::string opted = robots_tag_opt_out(bytes, disallowed);
  if (!opted.empty() && std::find(disallowed.begin(), disallowed.end(), opted) == disallowed.end())
    std::abort();
}

}  // namespace imgpipe

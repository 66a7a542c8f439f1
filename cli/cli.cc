// CLI11 flag definitions for imgpipe.
#include "cli/cli.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <map>
#include <vector>

#include "image/fit.h"
#include "stages/download.h"
#include "stages/netguard.h"

namespace imgpipe {

std::optional<Size> parse_size(const std::string& text) {
  int w = 0, h = 0;
  char x = 0, extra = 0;
  int n = std::sscanf(text.c_str(), "%d%c%d%c", &w, &x, &h, &extra);
  if (n == 1)
    h = w;
  else if (n != 3 || (x != 'x' && x != 'X'))
    return std::nullopt;
  // Digits only: sscanf would accept "+5" or " 5"; a size is written plainly.
  if (text.find_first_not_of("0123456789xX") != std::string::npos) return std::nullopt;
  // ≤ 65535 a side: JPEG's limit, the largest of the formats we write (WebP stops at 16383).
  if (w < 1 || h < 1 || w > 65535 || h > 65535) return std::nullopt;
  return Size{w, h};
}

namespace {

constexpr const char* kExamples = R"(
Examples:
  imgpipe -i urls.txt -o thumbs                    256 px JPEG thumbnails of every URL
  imgpipe -i urls.txt -o thumbs -s 320x200 -f png  fit inside 320x200, PNG output
  imgpipe -i urls.csv -o t -s 128 -s 512 --fit cover   two sizes, square crops: t/128, t/512
  find photos -name '*.jpg' | imgpipe -i - -o thumbs   local files work too
  imgpipe -i urls.txt.gz -o t --resume             after Ctrl-C: do only what is left
  imgpipe compare -i urls.txt -o cmp               what concurrency and parallelism buy
  grep -v '^#' list | imgpipe -i - -o out --quiet  read stdin, no table
  imgpipe -i urls.txt -o out --metrics-json m.json; echo "exit $?"
  jq -r 'select(.status != "ok") | [.line, .status, .error] | @tsv' thumbs/manifest.jsonl

Exit codes: 0 all lines ok, 1 some lines failed (see OUTDIR/manifest.jsonl), 2 usage or setup
error, 130 interrupted (SIGINT/SIGTERM; --resume completes the run).
)";

void add_download_flags(CLI::App& app, DownloadOptions& d) {
  // ≤ 10,000: thousands hide long latencies (img2dataset users run 4,096); past that one curl
  // thread's poll over every socket costs more than it hides. Whether the open-file limit
  // allows it is checked at setup, where the limit is known (pipeline.cc).
  app.add_option("-j,--concurrency", d.concurrency, "Transfers in flight")
      ->check(CLI::Range(1, 10000))
      ->capture_default_str();
  // ≤ 10,000: as --concurrency, which caps it anyway.
  app.add_option("--per-host", d.per_host, "Most simultaneous connections to one host")
      ->check(CLI::Range(1, 10000))
      ->capture_default_str();
  // ≤ 10: with doubling backoff the tenth retry already waits minutes (0.5 s × 2^9 ≈ 4 min) while
  // holding an in-flight slot; more only hides a dead host.
  app.add_option("--retries", d.retries, "Extra attempts for transient failures")
      ->check(CLI::Range(0, 10))
      ->capture_default_str();
  app.add_flag("--retry-connrefused", d.retry_refused,
               "Retry refused connections too (as curl's flag); the row is retryable either way");
  // ≤ 60 s: the first delay; doubled per retry it reaches hours at 10 retries already.
  app.add_option("--retry-backoff", d.retry_backoff_s, "First retry delay in seconds, doubling")
      ->check(CLI::Range(0.0, 60.0))
      ->capture_default_str();
  // 0.1 s to an hour: below 0.1 s not even loopback completes; an hour is a 50 MB body at
  // 14 kB/s, slower than the low-speed rule allows anyway.
  app.add_option("--timeout", d.timeout_s, "Whole-transfer limit in seconds")
      ->check(CLI::Range(0.1, 3600.0))
      ->capture_default_str();
  // ≤ 10 min: TCP itself gives up on an unanswered SYN after about two minutes.
  app.add_option("--connect-timeout", d.connect_timeout_s, "Connect limit in seconds")
      ->check(CLI::Range(0.1, 600.0))
      ->capture_default_str();
  // 1 GB ceiling: stb_image takes int lengths, and no web image comes near it.
  app.add_option("--max-bytes", d.max_bytes, "Largest body accepted (e.g. 50MB, 800k)")
      ->transform(CLI::AsSizeValue(true))
      ->check(CLI::Range(int64_t{1}, int64_t{1'000'000'000}))
      ->default_str("50MB");
  app.add_flag("--block-private", d.block_private,
               "Refuse loopback, private, link-local and other non-public addresses "
               "(checked at connect time, redirects included)");
  app.add_flag("!--no-local", d.allow_local,
               "Refuse list lines that are paths or file:// URLs (implied by --block-private)");
  auto* proxy = app.add_option("--proxy", d.proxy,
                               "Send every transfer through this proxy (default: the http_proxy, "
                               "https_proxy, all_proxy variables)")
                    ->check([](const std::string& p) {
                      return p.empty() ? std::string("--proxy needs a URL") : std::string();
                    });
  app.add_flag("--no-proxy", d.no_proxy, "Connect directly, whatever the *_proxy variables say")
      ->excludes(proxy);
  app.add_option("--cacert", d.cacert,
                 "Verify TLS origins against the certificates in this PEM file, not the system's")
      ->check(CLI::ExistingFile);
  app.add_flag("--insecure", d.insecure,
               "Do not verify TLS certificates or host names (anyone on the path can then serve "
               "the images; warned about)");
  app.add_option("--allow-address", d.allow_addresses,
                 "An IP exempt from --block-private (repeatable)")
      ->check([](const std::string& a) {
        IpAddress ip;
        return parse_ip(a, &ip) ? std::string() : "'" + a + "' is not an IP address";
      });
  // ≤ 100000/s: far above what one curl thread starts (5–14k/s on loopback); 0 = no limit.
  app.add_option("--rate-per-host", d.rate_per_host, "Most transfer starts per second per host")
      ->check(CLI::Range(0.0, 100000.0));
  CLI::Option* ua = app.add_option("--user-agent", d.user_agent, "User-Agent header")
                        ->default_str(default_user_agent(""));
  // CR/LF would smuggle a header; a contact is one URL or address anyway.
  app.add_option("--contact", d.contact,
                 "URL or mailto: where sites can reach whoever runs this crawl, put in the "
                 "default User-Agent: imgpipe/VERSION (+CONTACT)")
      ->check([](const std::string& c) {
        return c.empty() || c.find_first_of("\r\n()") != std::string::npos
                   ? "--contact wants one URL or mailto: address, without ( ) or line breaks"
                   : std::string();
      })
      ->excludes(ua);
  app.add_option("--resolve", d.resolve,
                 "HOST:PORT:ADDR: connect to ADDR for HOST:PORT, without DNS (repeatable)")
      ->check([](const std::string& r) { return resolve_entry_problem(r); });
  app.add_flag("--robots", d.robots,
               "Honour each site's robots.txt (fetched once per site; Crawl-delay slows that "
               "site's starts); disallowed URLs end robots_disallowed");
  app.add_option("--disallowed-directives", d.disallowed_directives,
                 "X-Robots-Tag directives that make a response opted_out, comma-separated; '' "
                 "turns the check off")
      ->delimiter(',')
      ->transform([](std::string s) {
        s.erase(0, s.find_first_not_of(" \t"));
        s.erase(s.find_last_not_of(" \t") + 1);
        for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        return s;
      })
      ->capture_default_str();
  // CR/LF would let a header smuggle a second one (or a body) into the request.
  app.add_option("--header", d.headers,
                 "Extra request header 'Name: value' (repeatable); sent only to the line's own "
                 "origin (scheme, host, port), not to where it redirects")
      ->check([](const std::string& h) {
        size_t colon = h.find(':');
        bool ok = colon != std::string::npos && colon > 0 &&
                  h.find_first_of("\r\n") == std::string::npos && h.find_first_of(" \t") > colon;
        return ok ? std::string() : "expected 'Name: value' on one line, got '" + h + "'";
      });
}

// Maps a flag's words (any case; the words are core/options.h's word()) straight onto an enum in
// the Options tree, with an error that names the accepted words.
template <typename Enum>
CLI::Validator words(std::initializer_list<Enum> choices) {
  std::map<std::string, Enum> map;
  std::string names;
  for (Enum e : choices) {
    map[word(e)] = e;
    names += (names.empty() ? "" : "|") + std::string(word(e));
  }
  return CLI::Validator(
      [map, names](std::string& text) -> std::string {
        auto it = map.find(CLI::detail::to_lower(text));
        if (it == map.end()) return "'" + text + "' is not one of " + names;
        text = std::to_string(static_cast<int>(it->second));  // CLI11 reads enums as numbers
        return {};
      },
      "");
}

void add_image_flags(CLI::App& app, ImageOptions& im, std::vector<std::string>& size_texts,
                     std::string& background) {
  app.add_option("-s,--size", size_texts,
                 "Box N or WxH; repeat for several sizes from one decode (OUTDIR/N/...)")
      ->check([](const std::string& s) {
        return parse_size(s) ? std::string()
                             : "expected N or WxH with sides 1-65535, got '" + s + "'";
      })
      ->default_str("256");
  app.add_option("--fit", im.fit,
                 "contain: inside the box; cover: fill it, centre crop; pad: letterbox; "
                 "stretch: exactly the box")
      ->transform(words({Fit::kContain, Fit::kCover, Fit::kPad, Fit::kStretch}))
      ->type_name("contain|cover|pad|stretch")
      ->default_str("contain");
  app.add_flag("--upscale", im.upscale, "Enlarge images smaller than the box");
  app.add_flag("--keep-profile", im.keep_profile,
               "Keep a tagged image's pixels and embed its ICC profile (default: convert to sRGB)");
  app.add_option("--background", background, "Pad colour: a name, #rgb, #rrggbb or #rrggbbaa")
      ->check([](const std::string& c) {
        Rgba rgba;
        std::string why;
        return parse_color(c, &rgba, &why) ? std::string() : why;
      })
      ->default_str("white");
  // ≤ 65535: the largest side any format we decode can declare (JPEG's limit).
  app.add_option("--min-size", im.min_size, "Skip sources whose shorter side is below N px")
      ->check(CLI::Range(0, 65535));
  // ≥ 1: a ratio is long/short; ≤ 10^6: a 1-px strip 65535 long is 65535, so this never binds.
  app.add_option("--max-aspect", im.max_aspect, "Skip sources with long/short side ratio above R")
      ->check(CLI::Range(1.0, 1e6));
  app.add_option("-f,--format", im.format, "Output format")
      ->transform(words({Format::kJpeg, Format::kPng, Format::kWebp, Format::kAvif}))
      ->type_name("jpg|png|webp|avif")
      ->default_str("jpg");
  app.add_option("--codec", im.codec,
                 "fast: shrink-on-load, box pre-shrink, Lanczos; stb: full-size decode, stb resize "
                 "and encode")
      ->transform(words({Codec::kFast, Codec::kStb}))
      ->type_name("fast|stb")
      ->default_str("fast");
  app.add_option("--resizer", im.resizer,
                 "Final filter: lanczos (Lanczos-3, vectorised) or stb (stb_image_resize)")
      ->transform(words({Resizer::kLanczos, Resizer::kStb}))
      ->type_name("lanczos|stb")
      ->default_str("lanczos");
  app.add_flag("--linear", im.linear,
               "Resample in linear light: fine detail keeps its brightness (slower: no "
               "shrink-on-load)");
  // 1..100: the encoders' own scale.
  app.add_option("-q,--quality", im.quality, "JPEG quality")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
  // ≤ 2^32: 4 Gpx as RGBA is 16 GB per item; above it the pixel counts of our codecs overflow.
  app.add_option("--max-pixels", im.max_pixels, "Largest source image, width×height (e.g. 100M)")
      ->transform(CLI::AsNumberWithUnit(
          std::map<std::string, int64_t>{{"k", 1000}, {"m", 1000000}, {"g", 1000000000}}))
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 32))
      ->default_str("100M");
  app.add_option("--fail-on", im.fail_on,
                 "none: accept truncated images; truncated: refuse them; error: refuse warnings "
                 "too")
      ->transform(words({FailOn::kNone, FailOn::kTruncated, FailOn::kError}))
      ->type_name("none|truncated|error")
      ->default_str("truncated");
  // ≥ 1 MB: less holds not even one small image and its thumbnail; ≤ 1 PB: no machine has more.
  app.add_option("--decode-memory", im.decode_memory,
                 "Most memory for decoded images, all threads together (e.g. 2G; default: a "
                 "quarter of RAM, at least one --max-pixels image)")
      ->transform(CLI::AsSizeValue(true))
      ->check(CLI::Range(int64_t{1'000'000}, int64_t{1'000'000'000'000'000}))
      ->default_str("RAM/4");
}

void add_output_flags(CLI::App& app, OutputOptions& out) {
  app.add_option("--name", out.naming,
                 "File names: index (line number), hash (sha256 of the bytes), url (sanitized)")
      ->transform(words({Naming::kIndex, Naming::kHash, Naming::kUrl}))
      ->type_name("index|hash|url")
      ->default_str("index");
  // ≤ 10^8: the 8-digit line numbers of a folder's names; more is one folder anyway.
  app.add_option("--files-per-folder", out.files_per_folder,
                 "Spread outputs over numbered subfolders of N lines each")
      ->check(CLI::Range(1, 100000000));
  app.add_flag("--dedup", out.dedup, "Process identical bytes once; the other rows point at it");
  app.add_option("--output-format", out.format,
                 "files: a file per thumbnail; webdataset: samples (KEY.jpg, KEY.json, KEY.txt) "
                 "in tars")
      ->transform(words({OutputFormat::kFiles, OutputFormat::kWebdataset}))
      ->type_name("files|webdataset")
      ->default_str("files");
  app.add_option("--caption-column", out.caption_column,
                 "Webdataset: the CSV/TSV column or JSONL field written as each sample's KEY.txt");
}

// A plain run's webdataset tars (a shard of `imgpipe run` writes one tar, whatever its size).
CLI::Option* add_samples_flag(CLI::App& app, OutputOptions& out) {
  // ≤ 10^9: a tar that big is hundreds of GB; 1 works, for tests and tiny sets.
  return app
      .add_option("--samples-per-shard", out.samples_per_tar,
                  "Webdataset: samples per tar (00000.tar, 00001.tar, ...)")
      ->check(CLI::Range(int64_t{1}, int64_t{1'000'000'000}))
      ->capture_default_str();
}

void add_list_flags(CLI::App& app, Options& o) {
  app.add_option("--input-format", o.input_format, "List format (default: from the extension)")
      ->transform(words({ListFormat::kTxt, ListFormat::kCsv, ListFormat::kTsv, ListFormat::kJsonl}))
      ->type_name("txt|csv|tsv|jsonl");
  app.add_option("--url-column", o.url_column, "CSV/TSV column or JSONL field with the URL")
      ->capture_default_str();
}

void add_threads_flag(CLI::App& app, Options& o) {
  // ≤ 1024: far above any machine's cores; each thread may hold a few decoded images.
  app.add_option("-t,--threads", o.threads, "Image-processing threads (default: all cores)")
      ->check(CLI::Range(1, 1024));
}

void add_run_flags(CLI::App& app, Options& o) {
  add_list_flags(app, o);
  add_threads_flag(app, o);
  CLI::Option* resume =
      app.add_flag("--resume", o.resume, "Skip lines already done in OUTDIR/manifest.jsonl");
  app.add_option("--retry-failed", o.retry_failed,
                 "With --resume, the failed lines to do again: retryable (their row says so: a "
                 "timeout, 5xx, reset...) or all")
      ->transform(words({RetryFailed::kRetryable, RetryFailed::kAll}))
      ->type_name("retryable|all")
      ->default_str("retryable")
      ->needs(resume);
  app.add_flag("--overwrite", o.overwrite,
               "Start afresh in a used OUTDIR: empty its manifest, remove the files it lists")
      ->excludes(resume);
  app.add_option("--metrics-json", o.metrics_json, "Write the stage metrics as JSON here");
  app.add_flag("--json", o.json, "Print the metrics as JSON on stdout instead of the table");
  app.add_option("--trace", o.trace, "Write a Chrome trace (Perfetto, chrome://tracing) here");
  app.add_option("--report", o.report,
                 "Write an HTML report here: one self-contained page of charts showing where the "
                 "run's time went (with compare: the four runs side by side)")
      ->check([](const std::string& p) {
        return p.empty() ? std::string("--report needs a file name") : std::string();
      });
  app.add_flag("--quiet", o.quiet, "No metrics table, no progress line");
  app.add_flag("!--no-progress", o.progress, "No progress line on a terminal");
}

// Parses args into cl with app; false (cl.exit_code set) on help, version or an error.
bool parse_into(CLI::App& app, std::vector<const char*>& args, CommandLine* cl) {
  try {
    app.parse(static_cast<int>(args.size()), args.data());
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);  // prints help/version to stdout, errors to stderr
    cl->exit_code = rc == 0 ? kExitOk : kExitUsage;
    return false;
  }
  return true;
}

// The --size and --background texts into the Options tree.
void finish_image_options(const std::vector<std::string>& size_texts, const std::string& background,
                          ImageOptions* im) {
  im->sizes.clear();
  for (const auto& t : size_texts) {  // a size given twice is one size (one folder, one file)
    Size s = *parse_size(t);
    auto same = [s](Size x) { return x.width == s.width && x.height == s.height; };
    if (std::none_of(im->sizes.begin(), im->sizes.end(), same)) im->sizes.push_back(s);
  }
  parse_color(background, &im->background, nullptr);
}

// `imgpipe plan`: the list, the shard size and rule, and every option that shapes outputs.
CommandLine parse_plan(std::vector<const char*> args) {
  CommandLine cl;
  cl.command = Command::kPlan;
  Options& o = cl.options;
  CLI::App app(
      "imgpipe plan: split a URL list into shards, each processed on its own by "
      "`imgpipe run OUTDIR --shard K` (README: Running on a cluster).",
      "imgpipe plan");
  app.add_option("-i,--input", o.input,
                 "URL list (txt, csv, tsv, jsonl; .gz read directly); '-' reads stdin")
      ->required();
  app.add_option("-o,--output", o.output_dir, "Output folder of the whole job, created if missing")
      ->required();
  // ≤ 10^9: a shard is one run on one machine, and a billion lines is days of work there.
  app.add_option("--shard-size", o.shard.size, "Lines per shard (--shard-by host: on average)")
      ->required()
      ->check(CLI::Range(int64_t{1}, int64_t{1'000'000'000}));
  app.add_option("--shard-by", o.shard.by,
                 "line: consecutive lines; host: every line of a host in one shard (the list "
                 "must be a file)")
      ->transform(words({ShardBy::kLine, ShardBy::kHost}))
      ->type_name("line|host")
      ->default_str("line");
  add_list_flags(app, o);
  std::vector<std::string> size_texts = {"256"};
  std::string background = "white";
  add_image_flags(app, o.image, size_texts, background);
  add_output_flags(app, o.output);
  app.add_flag("--quiet", o.quiet, "No summary line");
  if (parse_into(app, args, &cl)) finish_image_options(size_texts, background, &o.image);
  return cl;
}

// `imgpipe run OUTDIR`: which shards, and the options of this machine (downloads, threads).
CommandLine parse_run(std::vector<const char*> args) {
  CommandLine cl;
  cl.command = Command::kRun;
  Options& o = cl.options;
  CLI::App app(
      "imgpipe run OUTDIR: process shards of the plan in OUTDIR with its options; a shard "
      "already done is skipped, one a killed worker left is resumed.",
      "imgpipe run");
  app.add_option("OUTDIR", o.output_dir, "The folder imgpipe plan wrote")->required();
  std::vector<std::string> shard_texts;
  std::string worker_text;
  auto* shard = app.add_option("--shard", shard_texts,
                               "Shard K, range A-B, or auto (the array index); repeatable")
                    ->check([](const std::string& t) {
                      std::string why;
                      ShardOptions probe;
                      return parse_shard_value(t, &probe, &why) ? std::string() : why;
                    });
  auto* worker = app.add_option("--worker", worker_text,
                                "I/W: every shard s with s mod W = I; auto/W: I is the array "
                                "index")
                     ->check([](const std::string& t) {
                       std::string why;
                       ShardOptions probe;
                       return parse_worker_value(t, &probe, &why) ? std::string() : why;
                     });
  add_threads_flag(app, o);
  add_download_flags(app, o.download);
  app.add_flag("--json", o.json, "Print each shard's outcome as JSON on stdout");
  app.add_flag("--quiet", o.quiet, "No line per shard, no progress line");
  app.add_flag("!--no-progress", o.progress, "No progress line on a terminal");
  if (!parse_into(app, args, &cl)) return cl;
  std::string why;
  for (const auto& t : shard_texts) parse_shard_value(t, &o.shard, &why);
  if (!worker_text.empty()) parse_worker_value(worker_text, &o.shard, &why);
  if (shard->count() == 0 && worker->count() == 0) {
    std::cerr << "imgpipe run: name the shards: --shard K, --shard auto or --worker I/W\n";
    cl.exit_code = kExitUsage;
  }
  return cl;
}

// `imgpipe status OUTDIR`.
CommandLine parse_status(std::vector<const char*> args) {
  CommandLine cl;
  cl.command = Command::kStatus;
  CLI::App app(
      "imgpipe status OUTDIR: shards done, failed and missing, the metrics of the done ones, "
      "and the shards to run again as a Slurm --array spec; exit 0 only when all are done.",
      "imgpipe status");
  app.add_option("OUTDIR", cl.options.output_dir, "The folder imgpipe plan wrote")->required();
  app.add_flag("--json", cl.options.json, "Print the status as JSON");
  parse_into(app, args, &cl);
  return cl;
}

// A whole decimal number in [0, 2^62]: no sign, no spaces, no suffix.
bool parse_index(const std::string& t, int64_t* out) {
  if (t.empty() || t.size() > 18 || t.find_first_not_of("0123456789") != std::string::npos)
    return false;
  *out = std::stoll(t);
  return true;
}

}  // namespace

bool parse_shard_value(const std::string& text, ShardOptions* s, std::string* why) {
  if (text == "auto") {
    s->shard_auto = true;
    return true;
  }
  const size_t dash = text.find('-');
  int64_t first = 0, last = 0;
  bool ok = dash == std::string::npos
                ? parse_index(text, &first) && parse_index(text, &last)
                : parse_index(text.substr(0, dash), &first) &&
                      parse_index(text.substr(dash + 1), &last) && first <= last;
  if (!ok) {
    *why = "expected a shard K, a range A-B (A <= B) or auto, got '" + text + "'";
    return false;
  }
  s->ranges.emplace_back(first, last);
  return true;
}

bool parse_worker_value(const std::string& text, ShardOptions* s, std::string* why) {
  const size_t slash = text.find('/');
  int64_t index = 0, count = 0;
  const std::string first = text.substr(0, slash);
  const bool is_auto = first == "auto";
  // ≤ 10^7 workers: past Slurm's largest array (MaxArraySize ≤ 4,000,001) and any real cluster.
  bool ok = slash != std::string::npos && (is_auto || parse_index(first, &index)) &&
            parse_index(text.substr(slash + 1), &count) && count >= 1 && count <= 10'000'000 &&
            (is_auto || index < count);
  if (!ok) {
    *why = "expected I/W (0 <= I < W) or auto/W, got '" + text + "'";
    return false;
  }
  s->worker_auto = is_auto;
  s->worker_index = index;
  s->worker_count = count;
  return true;
}

CommandLine parse_command_line(int argc, const char* const* argv) {
  const std::string first = argc > 1 ? argv[1] : "";
  if (first == "plan" || first == "run" || first == "status") {
    std::vector<const char*> rest(argv, argv + argc);
    rest.erase(rest.begin() + 1);
    return first == "plan"  ? parse_plan(rest)
           : first == "run" ? parse_run(rest)
                            : parse_status(rest);
  }
  CommandLine cl;
  Options& o = cl.options;
  CLI::App app(
      "imgpipe: download image URLs concurrently and thumbnail them on every core.\n"
      "imgpipe compare [OPTIONS]: the same list four ways, to show what concurrency and "
      "parallelism buy.\n"
      "imgpipe plan | run | status: split a list into shards and process them on many machines "
      "(see imgpipe plan --help).",
      "imgpipe");
  app.footer(kExamples);
  app.set_version_flag("--version", std::string("imgpipe ") + IMGPIPE_VERSION);
  // `imgpipe compare [same options]`: the word comes first and takes no options of its own.
  cl.compare = argc > 1 && std::string(argv[1]) == "compare";
  if (cl.compare) cl.command = Command::kCompare;
  std::vector<const char*> args(argv, argv + argc);
  if (cl.compare) args.erase(args.begin() + 1);
  app.add_option("-i,--input", o.input,
                 "URL list (txt, csv, tsv, jsonl; .gz read directly); '-' reads stdin")
      ->required();
  app.add_option("-o,--output", o.output_dir, "Output folder, created if missing")->required();
  std::vector<std::string> size_texts = {"256"};
  std::string background = "white";
  add_image_flags(app, o.image, size_texts, background);
  add_output_flags(app, o.output);
  CLI::Option* samples = add_samples_flag(app, o.output);
  add_download_flags(app, o.download);
  add_run_flags(app, o);
  if (!parse_into(app, args, &cl)) return cl;
  finish_image_options(size_texts, background, &o.image);
  if (samples->count() > 0 && o.output.format != OutputFormat::kWebdataset) {
    std::cerr << "imgpipe: --samples-per-shard sizes webdataset tars: it needs --output-format "
                 "webdataset\n";
    cl.exit_code = kExitUsage;
  }
  return cl;
}

}  // namespace imgpipe

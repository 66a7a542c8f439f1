// CLI11 flag definitions for imgpipe.
#include "cli/cli.h"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <map>

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
  if (w < 1 || h < 1 || w > 65535 || h > 65535) return std::nullopt;
  return Size{w, h};
}

namespace {

constexpr const char* kExamples = R"(
Examples:
  imgpipe -i urls.txt -o thumbs                    256 px JPEG thumbnails of every URL
  imgpipe -i urls.txt -o thumbs -s 320x200 -f png  fit inside 320x200, PNG output
  grep -v '^#' list | imgpipe -i - -o out --quiet  read stdin, no table
  imgpipe -i urls.txt -o out --metrics-json m.json; echo "exit $?"
  jq -r 'select(.status != "ok") | [.line, .status, .error] | @tsv' thumbs/manifest.jsonl

Exit codes: 0 all lines ok, 1 some lines failed (see OUTDIR/manifest.jsonl), 2 usage or setup error.
)";

void add_download_flags(CLI::App& app, DownloadOptions& d) {
  // Default ulimit -n is 1024 descriptors: a higher count would fail on connect, not here.
  app.add_option("-j,--concurrency", d.concurrency, "Transfers in flight")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  app.add_option("--per-host", d.per_host, "Most simultaneous connections to one host")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  app.add_option("--retries", d.retries, "Extra attempts for transient failures")
      ->check(CLI::Range(0, 10))
      ->capture_default_str();
  app.add_option("--retry-backoff", d.retry_backoff_s, "First retry delay in seconds, doubling")
      ->check(CLI::Range(0.0, 60.0))
      ->capture_default_str();
  app.add_option("--timeout", d.timeout_s, "Whole-transfer limit in seconds")
      ->check(CLI::Range(0.1, 3600.0))
      ->capture_default_str();
  app.add_option("--connect-timeout", d.connect_timeout_s, "Connect limit in seconds")
      ->check(CLI::Range(0.1, 600.0))
      ->capture_default_str();
  // 1 GB ceiling: stb_image takes int lengths, and no web image comes near it.
  app.add_option("--max-bytes", d.max_bytes, "Largest body accepted (e.g. 50MB, 800k)")
      ->transform(CLI::AsSizeValue(true))
      ->check(CLI::Range(int64_t{1}, int64_t{1'000'000'000}))
      ->default_str("50MB");
}

// Maps a flag's words (any case) straight onto an enum in the Options tree, with an error that
// names the accepted words.
template <typename Enum>
CLI::Validator words(std::map<std::string, Enum> map) {
  std::string names;
  for (const auto& entry : map) names += (names.empty() ? "" : "|") + entry.first;
  return CLI::Validator(
      [map, names](std::string& text) -> std::string {
        auto it = map.find(CLI::detail::to_lower(text));
        if (it == map.end()) return "'" + text + "' is not one of " + names;
        text = std::to_string(static_cast<int>(it->second));  // CLI11 reads enums as numbers
        return {};
      },
      "");
}

void add_image_flags(CLI::App& app, ImageOptions& im, std::string& size_text) {
  app.add_option("-s,--size", size_text, "Fit inside N×N or W×H (never upscaled)")
      ->check([](const std::string& s) {
        return parse_size(s) ? std::string()
                             : "expected N or WxH with sides 1-65535, got '" + s + "'";
      })
      ->capture_default_str();
  app.add_option("-f,--format", im.format, "Output format")
      ->transform(
          words<Format>({{"jpg", Format::kJpeg}, {"png", Format::kPng}, {"webp", Format::kWebp}}))
      ->type_name("jpg|png|webp")
      ->default_str("jpg");
  app.add_option("--codec", im.codec,
                 "fast: libjpeg-turbo (shrink-on-load), libspng, libwebp; stb: stb throughout")
      ->transform(words<Codec>({{"fast", Codec::kFast}, {"stb", Codec::kStb}}))
      ->type_name("fast|stb")
      ->default_str("fast");
  app.add_option("--resizer", im.resizer,
                 "Final filter: swscale (libswscale bicubic) or stb (stb_image_resize)")
      ->transform(words<Resizer>({{"swscale", Resizer::kSwscale}, {"stb", Resizer::kStb}}))
      ->type_name("swscale|stb")
      ->default_str("swscale");
  app.add_option("-q,--quality", im.quality, "JPEG quality")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
  app.add_option("--max-pixels", im.max_pixels, "Largest source image, width×height (e.g. 100M)")
      ->transform(CLI::AsNumberWithUnit(
          std::map<std::string, int64_t>{{"k", 1000}, {"m", 1000000}, {"g", 1000000000}}))
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 32))
      ->default_str("100M");
}

}  // namespace

CommandLine parse_command_line(int argc, const char* const* argv) {
  CommandLine cl;
  Options& o = cl.options;
  CLI::App app("imgpipe: download image URLs concurrently and thumbnail them on every core.",
               "imgpipe");
  app.footer(kExamples);
  app.set_version_flag("--version", std::string("imgpipe ") + IMGPIPE_VERSION);
  app.add_option("-i,--input", o.input, "URL list, one per line; '-' reads stdin")->required();
  app.add_option("-o,--output", o.output_dir, "Output folder, created if missing")->required();
  std::string size_text = "256";
  add_image_flags(app, o.image, size_text);
  add_download_flags(app, o.download);
  app.add_option("-t,--threads", o.threads, "Image-processing threads (default: all cores)")
      ->check(CLI::Range(1, 1024));
  app.add_option("--metrics-json", o.metrics_json, "Write the stage metrics as JSON here");
  app.add_flag("--quiet", o.quiet, "No metrics table on stdout");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);  // prints help/version to stdout, errors to stderr
    cl.exit_code = rc == 0 ? kExitOk : kExitUsage;
    return cl;
  }
  o.image.box = *parse_size(size_text);
  return cl;
}

}  // namespace imgpipe
